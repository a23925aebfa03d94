# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""``make bench``'s closing table and results file, without running a benchmark."""

import doctest
import json
import re
from pathlib import Path

import pytest
from benchmarks import common
from benchmarks.common import (
    REPEATS,
    Bench,
    format_value,
    median_of_runs,
    quantile,
    results,
    table,
    write_results,
)

BENCHMARKS = Path(common.__file__).parent


def figures():
    bench = Bench(None, None)
    bench.benchmark = "lookup"
    bench.figure("lookup_1m_worker_p99", 1.2734, "ms", target="< 2.0 ms", met=True, ratio=255.9,
                 runs=[1.2734, 1.402, 1.1])
    bench.figure("lookup_1m_naive_ilike_p99", 325.41, "ms")
    bench.benchmark = "client"
    bench.figure("client REST GET participant, one session", 1026, "req/s", ratio=3.071)
    bench.benchmark = "pipeline"
    bench.figure("pipeline latency p50 / p99 at 1000 calls", "45.0 / 186.0", "ms")
    bench.figure("worker RSS (peak)", 147.2, "MB", target="< 200 MB", met=False)
    return bench.figures


def test_the_doctests_of_the_formatting_hold():
    assert doctest.testmod(common).failed == 0


def test_figure_prints_its_line_and_keeps_everything(capsys):
    kept = figures()
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == ("lookup_1m_worker_p99: 1.273 ms  (median of 1.273 / 1.402 / 1.100)"
                          "  (255.9x the way beside it)  (target < 2.0 ms: met)")
    assert printed[4] == "worker RSS (peak): 147.200 MB  (target < 200 MB: NOT MET)"
    assert kept[0] == {"benchmark": "lookup", "name": "lookup_1m_worker_p99", "value": 1.2734,
                       "unit": "ms", "target": "< 2.0 ms", "met": True, "ratio": 255.9,
                       "runs": [1.2734, 1.402, 1.1]}
    assert kept[3]["benchmark"] == "pipeline" and kept[3]["met"] is None


def test_table_aligns_every_column_and_says_met_or_not():
    lines = table(figures()).splitlines()
    assert lines[0].split() == ["figure", "value", "unit", "target", "met", "ratio", "the",
                                "runs", "(value:", "median)"]
    assert set(lines[1]) == {"-", " "}
    body = lines[2:]
    assert len(body) == 5
    # the rule under the header gives each column's place; every line keeps to it
    edges = []
    position = 0
    for dashes in lines[1].split("  "):
        edges.append((position, position + len(dashes)))
        position += len(dashes) + 2
    cells = [[line[a:b].strip() for a, b in edges] for line in body]
    assert cells[0] == ["lookup_1m_worker_p99", "1.273", "ms", "< 2.0 ms", "yes", "256x",
                        "1.273 / 1.402 / 1.100"]
    assert cells[1] == ["lookup_1m_naive_ilike_p99", "325", "ms", "", "", "", ""]
    assert cells[2] == ["client REST GET participant, one session", "1026", "req/s", "", "",
                        "3.1x", ""]
    del cells[2], body[2]
    assert cells[2] == ["pipeline latency p50 / p99 at 1000 calls", "45.0 / 186.0", "ms", "", "",
                        "", ""]
    assert cells[3] == ["worker RSS (peak)", "147", "MB", "< 200 MB", "NO", "", ""]
    # numbers are right-aligned: each value ends where its column ends
    end = edges[1][1]
    assert all(line[end - len(row[1]):end] == row[1]
               for line, row in zip(body, cells, strict=False))


def test_format_value_keeps_small_figures_readable():
    assert format_value(0.2134) == "0.213"
    assert format_value(2810) == "2810"
    assert format_value(2810.0) == "2810"
    assert format_value(38.46) == "38.5"
    assert format_value(True) == "True"


def test_the_results_file_holds_one_run_and_nothing_older(tmp_path):
    path = tmp_path / ".bench" / "results.json"
    write_results(path, results(figures(), {"lookup": 200.0, "pipeline": 90.0}, {"cpus": 2},
                                "2026-11-25 12:00:00"))
    first = json.loads(path.read_text())
    assert first["targets_missed"] == ["worker RSS (peak)"]
    assert first["only"] is None and len(first["figures"]) == 5
    # a single benchmark's run (ONLY=pipeline) replaces the file: no figure of the run before
    again = [{"benchmark": "pipeline", "name": "worker RSS (peak)", "value": 150.0,
              "unit": "MB", "target": "< 200 MB", "met": True, "ratio": None, "runs": None}]
    write_results(path, results(again, {"pipeline": 95.0}, {"cpus": 2}, "2026-11-25 12:30:00",
                                "pipeline"))
    second = json.loads(path.read_text())
    assert second == {"machine": {"cpus": 2}, "date": "2026-11-25 12:30:00", "only": "pipeline",
                      "durations_s": {"pipeline": 95.0}, "targets_missed": [],
                      "figures": again}


def test_an_absolute_target_is_judged_on_the_median_of_three_runs():
    assert REPEATS == 3
    runs = [{"p99": 2.5}, {"p99": 1.4}, {"p99": 1.6}]  # one noisy run among three
    assert median_of_runs(runs, lambda run: run["p99"]) == (1.6, [2.5, 1.4, 1.6])


def test_a_quantile_is_named_only_with_enough_samples_behind_it():
    assert quantile([0.001] * 999 + [0.050], 0.99) == 1.0
    assert quantile([0.001] * 989 + [0.050] * 11, 0.99) == 50.0  # 1.1 % slow: p99 is slow
    assert quantile([0.002] * 100, 0.95) == 2.0
    with pytest.raises(ValueError, match="a p99 needs at least 1000 samples, not 150"):
        quantile([0.001] * 150, 0.99)
    with pytest.raises(ValueError, match="a p95 needs at least 100 samples, not 40"):
        quantile([0.001] * 40, 0.95)
    assert quantile([0.003, 0.001, 0.002], 0.5) == 2.0  # a median needs no minimum


def test_every_benchmark_names_its_quantiles_honestly():
    """No benchmark computes a p95/p99 by hand: they all go through quantile(), which refuses
    too few samples, and each one takes enough samples for the quantiles it names."""
    sources = {path.stem: path.read_text() for path in BENCHMARKS.glob("*.py")}
    for name, text in sources.items():
        assert "0.95 *" not in text and "0.99 *" not in text, name

    def constant(name, module):
        return int(re.search(rf"^{name} = ([0-9_]+)", sources[module], re.M)[1])

    assert constant("SAMPLES", "lookup") >= 1000  # its p99s
    # The pipeline's p99 is taken only on the browser-call load's runs of P99_PROBES (and
    # quantile() refuses it on fewer than 1,000 samples).
    assert constant("PROBES", "pipeline") >= 100 and constant("P99_PROBES", "pipeline") >= 1000
    assert constant("SAMPLES", "popup") >= 100 and "0.99)" not in sources["popup"]
    assert constant("SAMPLES", "prefork") >= 100 and "0.99)" not in sources["prefork"]
