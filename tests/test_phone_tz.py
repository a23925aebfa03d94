# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The time zone a new contact gets from its number (realtor_3cx/tools/phone_tz.py)."""

import doctest

import pytest
import pytz

from realtor_3cx.tools import phone_tz
from realtor_3cx.tools.phone_tz import time_zone_for


def test_doctests():
    result = doctest.testmod(phone_tz)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize(
    "raw, region, expected",
    [
        ("+1 212 555 0100", None, "America/New_York"),
        ("(310) 555-0100", "US", "America/Los_Angeles"),  # national, read in the company's
        ("+34 911 23 45 67", "US", "Europe/Madrid"),
        ("+61 2 1234 5678", None, "Australia/Sydney"),
        ("+55 11 98765 4321", None, "America/Sao_Paulo"),
        ("555-010-8301", "US", "America/New_York"),  # fictional: no area, the country's first
        ("", "US", None),
        ("101", "US", None),  # an extension has no time zone
    ],
)
def test_time_zone_for(raw, region, expected):
    assert time_zone_for(raw, region) == expected


@pytest.mark.parametrize("raw", ["+79161234567", "+15550108301", "+12125550100", "+4915112345678"])
def test_the_zone_is_one_odoo_accepts(raw):
    # res.partner's tz is a selection of pytz's names: anything else would not save.
    assert time_zone_for(raw) in pytz.all_timezones_set
