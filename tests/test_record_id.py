# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Record ids from browsers (``realtor_3cx/tools/record_id.py``): whatever arrives, an id
PostgreSQL accepts or None, never an exception."""

import doctest

from hypothesis import given, settings
from hypothesis import strategies as st

from realtor_3cx.tools import record_id
from realtor_3cx.tools.record_id import MAX_ID, as_record_id

anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)


def test_doctests():
    result = doctest.testmod(record_id)
    assert result.attempted > 0 and result.failed == 0


@given(anything)
@settings(derandomize=True, deadline=None, database=None, max_examples=300)
def test_anything_is_an_id_postgresql_takes_or_none(value):
    result = as_record_id(value)
    assert result is None or (type(result) is int and 0 < result <= MAX_ID)


@given(st.integers(min_value=1, max_value=MAX_ID), st.booleans())
@settings(derandomize=True, deadline=None, database=None, max_examples=100)
def test_every_valid_id_comes_back_as_sent(value, as_text):
    assert as_record_id(str(value) if as_text else value) == value
