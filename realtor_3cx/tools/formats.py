# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Durations as people read them on a phone: minutes and seconds.

Plain Python (no Odoo import); the browser's ``realtor_3cx_duration`` formatter
(static/src/core/formats.js) writes the same.

>>> format_duration(0), format_duration(65), format_duration(600)
('0:00', '1:05', '10:00')
>>> format_duration(3725)  # an hour or more shows the hours
'1:02:05'
>>> format_duration(None), format_duration(-3)
('0:00', '0:00')
"""


def format_duration(seconds):
    """``m:ss``, or ``h:mm:ss`` from an hour on, of a number of seconds (rounded down)."""
    total = max(0, int(seconds or 0))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"
