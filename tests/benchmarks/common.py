# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What every benchmark uses: the Odoo database, figures, timing."""
import statistics
import time


class Bench:
    """Collects figures; opens Odoo environments on the benchmark database."""

    def __init__(self, conf, db):
        self.conf = conf
        self.db = db
        self._registry = None
        self.figures = []

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

    def figure(self, name, value, unit, target=None, met=None):
        """Print and keep one figure; ``target`` is a text such as ``"< 2 ms"``."""
        shown = f"{value:.3f}" if isinstance(value, float) else value
        line = f"{name}: {shown} {unit}"
        if target is not None:
            line += f"  (target {target}: {'met' if met else 'NOT MET'})"
        print(line, flush=True)
        self.figures.append(
            {"name": name, "value": value, "unit": unit, "target": target, "met": met}
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
