# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The token buckets behind the CRM endpoints' 429s (``realtor_3cx/tools/rate_limit.py``).

Properties over any sequence of requests and pauses: no window lets through more than a
burst plus what the rate refills; the ``Retry-After`` a refusal gives is enough and not too
much; keys never share a bucket; memory stays bounded however many addresses guess.
The endpoints' own 429 answers are tested in realtor_3cx/tests/test_crm_endpoints.py.
"""

import doctest

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realtor_3cx.tools import rate_limit
from realtor_3cx.tools.rate_limit import MAX_BUCKETS, RateLimiter

PROPS = settings(derandomize=True, deadline=None, database=None, max_examples=200)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_doctests():
    result = doctest.testmod(rate_limit)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("rate", [0, -1])
def test_a_rate_must_be_positive(rate):
    with pytest.raises(ValueError):
        RateLimiter(rate)


@given(
    rate=st.integers(1, 600),
    burst=st.integers(1, 50),
    pauses=st.lists(st.floats(0, 30, allow_nan=False), min_size=1, max_size=120),
)
@PROPS
def test_never_more_than_the_burst_plus_the_refill(rate, burst, pauses):
    clock = Clock()
    limiter = RateLimiter(rate, burst=burst, clock=clock)
    allowed_at = []
    for pause in pauses:
        clock.now += pause
        wait = limiter.hit("key")
        assert wait >= 0.0
        if wait == 0.0:
            allowed_at.append(clock.now)
    # In any window [a, b], at most burst + rate * (b - a) / 60 requests got through.
    for i, start in enumerate(allowed_at):
        for j in range(i, len(allowed_at)):
            assert j - i + 1 <= burst + rate * (allowed_at[j] - start) / 60.0 + 1e-9


@given(rate=st.integers(1, 600), burst=st.integers(1, 20), extra=st.integers(1, 5))
@PROPS
def test_retry_after_is_enough_and_not_too_much(rate, burst, extra):
    clock = Clock()
    limiter = RateLimiter(rate, burst=burst, clock=clock)
    assert all(limiter.hit("k") == 0.0 for _ in range(burst))
    for _ in range(extra):
        wait = limiter.hit("k")
        assert 0.0 < wait <= 60.0 / rate + 1e-9  # one token's worth, at most
        assert limiter.peek("k") == pytest.approx(wait)
        clock.now += wait * 0.99
        assert limiter.hit("k") > 0.0  # a little early: still refused
        clock.now += limiter.peek("k")
        assert limiter.hit("k") == 0.0  # as told: through


@given(keys=st.lists(st.text(max_size=4), min_size=2, max_size=6, unique=True))
@PROPS
def test_keys_never_share_a_bucket(keys):
    limiter = RateLimiter(10, burst=1, clock=Clock())
    first, *others = keys
    assert limiter.hit(first) == 0.0
    assert limiter.hit(first) > 0.0
    assert all(limiter.hit(key) == 0.0 for key in others)


def test_memory_stays_bounded_and_the_idle_go_first():
    clock = Clock()
    limiter = RateLimiter(10, burst=1, clock=clock)
    limiter.hit("guesser")
    limiter.hit("guesser")  # refused: its bucket is empty
    for n in range(MAX_BUCKETS + 50):
        limiter.hit(f"address-{n}")
    assert len(limiter._buckets) == MAX_BUCKETS
    assert "guesser" not in limiter._buckets  # forgotten as the least recently seen
    limiter.reset()
    assert limiter.peek("address-1") == 0.0
