# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""``make bench``'s closing table and results file, without running a benchmark."""

import doctest
import json

from benchmarks import common
from benchmarks.common import Bench, format_value, merge_results, table, write_results


def figures():
    bench = Bench(None, None)
    bench.benchmark = "lookup"
    bench.figure("lookup_1m_worker_p99", 1.2734, "ms", target="< 2.0 ms", met=True, ratio=255.9)
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
    assert printed[0] == ("lookup_1m_worker_p99: 1.273 ms  (255.9x the naive way)  "
                          "(target < 2.0 ms: met)")
    assert printed[4] == "worker RSS (peak): 147.200 MB  (target < 200 MB: NOT MET)"
    assert kept[0] == {"benchmark": "lookup", "name": "lookup_1m_worker_p99", "value": 1.2734,
                       "unit": "ms", "target": "< 2.0 ms", "met": True, "ratio": 255.9}
    assert kept[3]["benchmark"] == "pipeline" and kept[3]["met"] is None


def test_table_aligns_every_column_and_says_met_or_not():
    lines = table(figures()).splitlines()
    assert lines[0].split() == ["figure", "value", "unit", "target", "met", "vs", "naive"]
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
    assert cells[0] == ["lookup_1m_worker_p99", "1.273", "ms", "< 2.0 ms", "yes", "256x"]
    assert cells[1] == ["lookup_1m_naive_ilike_p99", "325", "ms", "", "", ""]
    assert cells[2] == ["client REST GET participant, one session", "1026", "req/s", "", "",
                        "3.1x"]
    del cells[2], body[2]
    assert cells[2] == ["pipeline latency p50 / p99 at 1000 calls", "45.0 / 186.0", "ms", "", "",
                        ""]
    assert cells[3] == ["worker RSS (peak)", "147", "MB", "< 200 MB", "NO", ""]
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


def test_results_of_a_single_benchmark_keep_the_others_figures(tmp_path):
    first = merge_results({}, figures(), {"lookup": 200.0, "pipeline": 90.0},
                          {"cpus": 2}, "2026-11-25 12:00:00")
    assert first["targets_missed"] == ["worker RSS (peak)"]
    path = tmp_path / ".bench" / "results.json"
    write_results(path, first)
    again = [{"benchmark": "pipeline", "name": "worker RSS (peak)", "value": 150.0,
              "unit": "MB", "target": "< 200 MB", "met": True, "ratio": None}]
    merged = merge_results(json.loads(path.read_text()), again, {"pipeline": 95.0},
                           {"cpus": 2}, "2026-11-25 12:30:00")
    names = [f["name"] for f in merged["figures"]]
    assert names == [f["name"] for f in first["figures"]]  # same order, nothing lost
    assert merged["figures"][4]["value"] == 150.0
    assert merged["targets_missed"] == []
    assert merged["durations_s"] == {"lookup": 200.0, "pipeline": 95.0}
    assert merged["date"] == "2026-11-25 12:30:00"
