# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Record ids as browsers send them, checked before they reach the database.

A JSON-RPC parameter can be anything: ``int("x")`` raises, ``browse("x")`` makes PostgreSQL
refuse the query, and a number past PostgreSQL's ``integer`` does too. Each of those is a 500
for what is only a bad request, so entry points read ids through :func:`as_record_id`.

>>> as_record_id(7), as_record_id("7"), as_record_id(" 7 ")
(7, 7, 7)
>>> [as_record_id(v) for v in (0, -1, 2**31, True, 7.0, "x", "٣", [7], None)]
[None, None, None, None, None, None, None, None, None]
"""

import re

MAX_ID = 2**31 - 1  # PostgreSQL's integer, the type of every id column
_DIGITS = re.compile(r"\d{1,10}", re.ASCII)


def as_record_id(value):
    """``value`` as a positive database id (an int, or ASCII digits), else ``None``."""
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 < value <= MAX_ID else None
