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

    def figure(self, name, value, unit, target=None, met=None, ratio=None):
        """Print and keep one figure.

        :param target: a text such as ``"< 2 ms"``; ``met`` says whether it was
        :param ratio: how many times better ours is than the naive way measured beside it
            (naive time / our time, or our rate / naive rate)
        """
        shown = f"{value:.3f}" if isinstance(value, float) else value
        line = f"{name}: {shown} {unit}"
        if ratio is not None:
            line += f"  ({ratio:.1f}x the naive way)"
        if target is not None:
            line += f"  (target {target}: {'met' if met else 'NOT MET'})"
        print(line, flush=True)
        self.figures.append(
            {"benchmark": self.benchmark, "name": name, "value": value, "unit": unit,
             "target": target, "met": met, "ratio": ratio}
        )


def percentiles(samples):
    """(p50, p99) of a list of durations in seconds, in milliseconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    return statistics.median(ordered) * 1000, p99 * 1000


def timed(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


# -- the closing table and the results file ------------------------------------------------

COLUMNS = ("figure", "value", "unit", "target", "met", "vs naive")


def format_value(value):
    """Figures as a reader wants them: ``1312``, ``45.3``, ``0.512``; text as is.

    >>> [format_value(v) for v in (1312, 284.27, 45.31, 0.5123, "45.0 / 186.0", None)]
    ['1312', '284', '45.3', '0.512', '45.0 / 186.0', '']
    """
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
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


def table(figures):
    """One aligned table of ``figures`` (the dicts ``Bench.figure`` keeps), as text."""
    rows = [COLUMNS] + [
        (f["name"], format_value(f["value"]), f["unit"], f.get("target") or "", _met(f),
         _ratio(f))
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


def merge_results(previous, figures, durations, machine, date):
    """The results file: this run's figures replace those of the same name from before (a
    run with ``ONLY=`` keeps the other benchmarks' last figures), in benchmark order."""
    kept = {f["name"]: f for f in (previous or {}).get("figures", [])}
    kept.update({f["name"]: f for f in figures})
    all_durations = dict((previous or {}).get("durations_s", {}))
    all_durations.update(durations)
    return {
        "machine": machine,
        "date": date,
        "durations_s": all_durations,
        "targets_missed": sorted(n for n, f in kept.items() if f.get("met") is False),
        "figures": list(kept.values()),
    }


def write_results(path, results):
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
