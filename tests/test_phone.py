# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import doctest

import pytest

from realtor_3cx.tools import phone
from realtor_3cx.tools.phone import to_e164

US = "+15550102030"
UK = "+442079460958"


def test_doctests():
    result = doctest.testmod(phone)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize(
    "raw, region, expected",
    [
        ("+1 (555) 010-2030", None, US),
        ("+1 (555) 010-2030", "GB", US),  # an international number ignores the region
        ("0015550102030", "US", US),
        ("0015550102030", "GB", US),
        ("011 1 555 010 2030", "US", US),  # the US dialling prefix
        ("555-010-2030", "US", US),
        ("(555) 010.2030", "us", US),
        ("15550102030", "US", US),
        ("+44 20 7946 0958", "US", UK),
        ("00 44 20 7946 0958", "US", UK),
        ("020 7946 0958", "GB", UK),
        ("+1 555 010 2030 ext. 12", None, US),
        ("555-010-2030 x12", "US", US),
        ("555-010-2030#12", "US", US),
        ("sip:+15550102030@pbx.example.com", None, US),
        ("tel:+1-555-010-2030", None, US),
        ("  +1 555 010 2030  ", None, US),
    ],
)
def test_formats_normalise_to_e164(raw, region, expected):
    assert to_e164(raw, region) == expected


@pytest.mark.parametrize(
    "raw, region",
    [
        ("garbage", "US"),
        ("", "US"),
        (None, "US"),
        (12345, "US"),
        ("555-010-2030", None),  # national, and no country to read it in
        ("+1 555", None),
        ("12", "US"),
        ("00", "US"),
        ("+", None),
        ("1" * 65, "US"),
        ("+1555010203012345678", None),  # too long for any country
        ("' OR 1=1 --", "US"),
    ],
)
def test_garbage_gives_none(raw, region):
    assert to_e164(raw, region) is None
