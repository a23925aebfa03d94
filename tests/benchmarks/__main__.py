# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Run the benchmarks against the database ``tests/devenv.py bench`` prepared."""
import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from . import client, lookup, pipeline, popup, report, webrtc
from .common import Bench

BENCHMARKS = {module.NAME: module for module in (lookup, report, client, pipeline, popup, webrtc)}
ROOT = Path(__file__).resolve().parents[2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    names = [args.only] if args.only else list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark {unknown[0]!r}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    bench = Bench(os.environ.get("REALTOR_3CX_BENCH_CONF"), os.environ.get("REALTOR_3CX_BENCH_DB"))
    for name in names:
        print(f"== {name}", flush=True)
        BENCHMARKS[name].run(bench)
    out = ROOT / ".bench" / "results.json"
    out.parent.mkdir(exist_ok=True)
    previous = json.loads(out.read_text()) if out.exists() and args.only else {}
    figures = {f["name"]: f for f in previous.get("figures", [])}
    figures.update({f["name"]: f for f in bench.figures})
    out.write_text(
        json.dumps(
            {
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "date": time.strftime("%Y-%m-%d %H:%M:%S"),
                "figures": list(figures.values()),
            },
            indent=2,
        )
    )
    missed = [f["name"] for f in bench.figures if f["met"] is False]
    print(f"figures written to {out.relative_to(ROOT)}; targets missed: {len(missed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
