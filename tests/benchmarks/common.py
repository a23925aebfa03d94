# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What every benchmark uses: the Odoo database, figures, timing, the closing table."""
import json
import statistics
import time


class Bench:
    """Collects figures; opens Odoo environments on the benchmark database."""

    def __init__(self, conf, db):
        self.conf = conf
        self.db = db
        self._registry = None
        self.figures = []
        self.benchmark = ""  # the benchmark running now; each figure records it

    @property
    def registry(self):
        # Opened on first use: the client benchmark needs no database at all.
        if self._registry is None:
            import odoo
            from odoo.tools import config

            config.parse_config(["-c", self.conf, "-d", self.db, "--log-level=warn"])
            self._registry = odoo.modules.registry.Registry(self.db)
        return self._registry

    def env(self, cr, uid=None):
        from odoo import SUPERUSER_ID, api

        return api.Environment(cr, uid or SUPERUSER_ID, {})

    def cursor(self):
        return self.registry.cursor()

    def figure(self, name, value, unit, target=None, met=None, ratio=None, runs=None):
        """Print and keep one figure.

        :param target: a text such as ``"< 2 ms"``; ``met`` says whether it was
        :param ratio: how many times better ours is than the way measured beside it, in the
            same run (their time / our time, or our rate / their rate)
        :param runs: the value of each of the ``REPEATS`` runs when ``value`` is their median
            (the machines are shared: a target is judged on the median of three runs)
        """
        shown = f"{value:.3f}" if isinstance(value, float) else value
        line = f"{name}: {shown} {unit}"
        if runs is not None:
            line += f"  (median of {' / '.join(format_value(r) for r in runs)})"
        if ratio is not None:
            line += f"  ({ratio:.1f}x the way beside it)"
        if target is not None:
            line += f"  (target {target}: {'met' if met else 'NOT MET'})"
        print(line, flush=True)
        self.figures.append(
            {"benchmark": self.benchmark, "name": name, "value": value, "unit": unit,
             "target": target, "met": met, "ratio": ratio, "runs": runs}
        )


# Each absolute target is judged on the median of this many runs of its measurement.
REPEATS = 3
# A quantile is named after what it is only with enough samples behind it.
MIN_SAMPLES = {0.95: 100, 0.99: 1000}


def quantile(samples, q):
    """The ``q`` quantile (nearest rank) of ``samples`` in seconds, in milliseconds; a p95 or
    p99 needs ``MIN_SAMPLES`` samples, else it is not one.

    >>> quantile([0.001] * 99 + [0.1], 0.5)
    1.0
    >>> quantile([0.001] * 1000, 0.99)
    1.0
    >>> quantile([0.001] * 99, 0.95)
    Traceback (most recent call last):
    ...
    ValueError: a p95 needs at least 100 samples, not 99
    """
    needed = MIN_SAMPLES.get(q, 1)
    if len(samples) < needed:
        raise ValueError(f"a p{round(q * 100)} needs at least {needed} samples, not "
                         f"{len(samples)}")
    if q == 0.5:
        return statistics.median(samples) * 1000
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000


def median_of_runs(runs, measure):
    """(median, per-run values) of ``measure(run)`` over the runs.

    >>> median_of_runs([[3.0], [1.0], [2.0]], lambda run: run[0])
    (2.0, [3.0, 1.0, 2.0])
    """
    values = [measure(run) for run in runs]
    return statistics.median(values), values


def timed(fn, *args):
    return timed_result(fn, *args)[0]


def timed_result(fn, *args):
    """(seconds, what ``fn(*args)`` returned)."""
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


# -- the closing table and the results file ------------------------------------------------

COLUMNS = ("figure", "value", "unit", "target", "met", "ratio", "the runs (value: median)")


def format_value(value):
    """Figures as a reader wants them: ``1312``, ``45.3``, ``0.512``; text as is.

    >>> [format_value(v) for v in (1312, 284.27, 45.31, 0.5123, "45.0 / 186.0", None)]
    ['1312', '284', '45.3', '0.512', '45.0 / 186.0', '']
    """
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if value in (float("inf"), float("-inf")) or value != value:
        return str(value)  # a quantile of too few samples: shown, not a crash of the report
    if isinstance(value, int) or value == int(value) and abs(value) >= 100:
        return str(int(value))
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}"


def _met(figure):
    if figure.get("target") is None:
        return ""
    return "yes" if figure.get("met") else "NO"


def _ratio(figure):
    ratio = figure.get("ratio")
    if ratio is None:
        return ""
    return f"{ratio:.0f}x" if abs(ratio) >= 100 else f"{ratio:.1f}x"


def _runs(figure):
    return " / ".join(format_value(r) for r in figure.get("runs") or ())


def table(figures):
    """One aligned table of ``figures`` (the dicts ``Bench.figure`` keeps), as text."""
    rows = [COLUMNS] + [
        (f["name"], format_value(f["value"]), f["unit"], f.get("target") or "", _met(f),
         _ratio(f), _runs(f))
        for f in figures
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    # Numbers line up on the right, words on the left.
    right = {1, 5}

    def line(row):
        cells = [cell.rjust(w) if i in right else cell.ljust(w)
                 for i, (cell, w) in enumerate(zip(row, widths, strict=False))]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(rows[0]), rule, *(line(row) for row in rows[1:])])


def results(figures, durations, machine, date, only=""):
    """The results file: this run's figures and nothing else (a run with ``ONLY=`` holds that
    one benchmark's figures; figures of other runs, measured on other data and load, are never
    mixed in)."""
    return {
        "machine": machine,
        "date": date,
        "only": only or None,
        "durations_s": dict(durations),
        "targets_missed": sorted(f["name"] for f in figures if f.get("met") is False),
        "figures": list(figures),
    }


def write_results(path, results):
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
