# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Benchmarks: ``make bench`` (all) or ``make bench ONLY=name``; never part of ``make test``.

Each benchmark module has ``NAME`` and ``run(bench)``, and reports figures through
``bench.figure(name, value, unit, target=...)``: one line per figure on stdout
(``name: value unit``, then its target and whether it was met) and all of them in
``.bench/results.json`` (this run's, and only them). Ours and the anchor (the platform's own
way, e.g. Odoo's phone search) or the naive way are measured side by side, in one run, on the
same data; an absolute target is judged on the median of ``common.REPEATS`` (three) runs of
its measurement, with the ratio beside it taken in the same runs.
"""
