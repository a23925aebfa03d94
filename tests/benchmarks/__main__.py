# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Run the benchmarks against the database ``tests/devenv.py bench`` prepared.

Each benchmark prints its figures as it goes; the run ends with one aligned table of every
figure (target, met, ratio, the three runs behind a median) and writes this run's figures,
and only them, to ``.bench/results.json``. A benchmark
that fails is reported as a missed figure and the others still run; the exit code is 1 when
a benchmark failed or a target was missed.
"""
import argparse
import os
import platform
import sys
import time
import traceback
from pathlib import Path

from . import (
    client,
    dialer,
    lookup,
    phonebook,
    pipeline,
    popup,
    prefork,
    report,
    rules,
    transcribe,
    transcript_search,
    webrtc,
)
from .common import Bench, results, table, write_results

BENCHMARKS = {module.NAME: module for module in (lookup, report, client, pipeline, popup, webrtc,
                                                  prefork, transcribe, phonebook, dialer,
                                                  # last: they load millions of calls
                                                  transcript_search, rules)}
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
    durations = {}
    started = time.monotonic()
    for name in names:
        print(f"== {name}", flush=True)
        bench.benchmark = name
        begin = time.monotonic()
        try:
            BENCHMARKS[name].run(bench)
        except Exception as exc:  # one broken benchmark must not cost the others' figures
            traceback.print_exc()
            bench.figure(f"{name} benchmark ran to the end", f"failed: {exc}"[:80], "",
                         target="runs", met=False)
        durations[name] = round(time.monotonic() - begin, 1)
        print(f"== {name}: {durations[name]:.0f} s", flush=True)
    total = time.monotonic() - started
    out = ROOT / ".bench" / "results.json"
    # One run per file: an ONLY= run replaces the file with its own figures.
    write_results(out, results(
        bench.figures, durations,
        {"cpus": os.cpu_count(), "python": platform.python_version(),
         "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        time.strftime("%Y-%m-%d %H:%M:%S"), args.only,
    ))
    missed = [f["name"] for f in bench.figures if f["met"] is False]
    print()
    print(table(bench.figures))
    print()
    print(f"{len(bench.figures)} figures, {sum(f['target'] is not None for f in bench.figures)} "
          f"with a target, {len(missed)} missed; {total / 60:.1f} min "
          f"({', '.join(f'{n} {s:.0f} s' for n, s in durations.items())})")
    print(f"figures written to {out.relative_to(ROOT)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
