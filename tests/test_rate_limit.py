# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The token buckets behind the CRM endpoints' 429s (``realtor_3cx/tools/rate_limit.py``), in
the PostgreSQL table of the test database ``make test`` prepares.

Properties over any sequence of requests and pauses (the limiter's clock given, so a slow
machine changes nothing): no window lets through more than a burst plus what the rate refills;
the ``Retry-After`` a refusal gives is enough and not too much; buckets never share tokens;
concurrent requests from many connections take exactly the tokens there are; idle buckets are
pruned. The endpoints' own 429 answers are tested in realtor_3cx/tests/test_crm_endpoints.py,
the limit across Odoo's prefork workers in tests/test_crm_limits.py.
"""

import contextlib
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from worker_env import OdooDb

from realtor_3cx.tools.rate_limit import IDLE_SECONDS, TABLE, SharedRateLimiter

PROPS = settings(derandomize=True, deadline=None, database=None, max_examples=100)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture(scope="module")
def db():
    return OdooDb()


@contextlib.contextmanager
def scratch(db):
    """A cursor whose writes are all undone at the end."""
    cr = db.registry.cursor()
    try:
        SharedRateLimiter.reset(cr)
        yield cr
    finally:
        cr.rollback()
        cr.close()


def limiter_at(clock):
    limiter = SharedRateLimiter()
    limiter.clock = clock
    return limiter


@pytest.mark.parametrize("rate", [0, -1])
def test_a_rate_must_be_positive(db, rate):
    with scratch(db) as cr, pytest.raises(ValueError):
        SharedRateLimiter().hit(cr, "k", rate)


@given(
    rate=st.integers(1, 600),
    burst=st.integers(1, 50),
    pauses=st.lists(st.floats(0, 30, allow_nan=False), min_size=1, max_size=80),
)
@PROPS
def test_never_more_than_the_burst_plus_the_refill(db, rate, burst, pauses):
    clock = Clock()
    limiter = limiter_at(clock)
    burst = min(burst, rate)  # a bucket holds at most a minute's worth
    allowed_at = []
    with scratch(db) as cr:
        for pause in pauses:
            clock.now += pause
            wait = limiter.hit(cr, "key", rate, burst)
            assert wait >= 0.0
            if wait == 0.0:
                allowed_at.append(clock.now)
    # In any window [a, b], at most burst + rate * (b - a) / 60 requests got through.
    for i, start in enumerate(allowed_at):
        for j in range(i, len(allowed_at)):
            assert j - i + 1 <= burst + rate * (allowed_at[j] - start) / 60.0 + 1e-6


@given(rate=st.integers(1, 600), burst=st.integers(1, 20), extra=st.integers(1, 5))
@PROPS
def test_retry_after_is_enough_and_not_too_much(db, rate, burst, extra):
    clock = Clock()
    limiter = limiter_at(clock)
    burst = min(burst, rate)
    with scratch(db) as cr:
        assert all(limiter.hit(cr, "k", rate, burst) == 0.0 for _ in range(burst))
        for _ in range(extra):
            wait = limiter.hit(cr, "k", rate, burst)
            assert 0.0 < wait <= 60.0 / rate + 1e-6  # one token's worth, at most
            clock.now += wait * 0.99
            again = limiter.hit(cr, "k", rate, burst)
            assert again > 0.0  # a little early: still refused
            clock.now += again
            assert limiter.hit(cr, "k", rate, burst) == 0.0  # as told: through


@given(keys=st.lists(st.text(st.characters(blacklist_categories=["Cs"],
                                           blacklist_characters="\x00"), max_size=4),
                     min_size=2, max_size=6, unique=True))
@PROPS
def test_buckets_never_share_tokens(db, keys):
    limiter = limiter_at(Clock())
    first, *others = keys
    with scratch(db) as cr:
        assert limiter.hit(cr, first, 10, 1) == 0.0
        assert limiter.hit(cr, first, 10, 1) > 0.0
        assert all(limiter.hit(cr, key, 10, 1) == 0.0 for key in others)


def test_concurrent_connections_take_exactly_the_tokens_there_are(db):
    """Many connections (as Odoo's workers are) at one bucket, time stopped: the burst and
    not one request more, whatever the interleaving; the row lock orders them."""
    bucket = "test:concurrent"
    limiter = limiter_at(Clock())
    granted = []
    start = threading.Barrier(8)

    def client():
        start.wait(30)
        mine = 0
        for _ in range(40):
            with db.registry.cursor() as cr:  # its own transaction, committed at once
                mine += limiter.hit(cr, bucket, 600, 50) == 0.0
        granted.append(mine)

    threads = [threading.Thread(target=client) for _ in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert len(granted) == 8
        assert sum(granted) == 50
    finally:
        with db.registry.cursor() as cr:
            cr.execute(f"DELETE FROM {TABLE} WHERE bucket = %s", (bucket,))


def test_idle_buckets_are_pruned_and_the_busy_kept(db):
    clock = Clock()
    limiter = limiter_at(clock)
    with scratch(db) as cr:
        limiter.hit(cr, "guesser", 10, 1)
        for n in range(500):
            limiter.hit(cr, f"address-{n}", 10, 1)
        clock.now += IDLE_SECONDS + 1
        assert limiter.hit(cr, "guesser", 10, 1) == 0.0  # refilled meanwhile
        limiter.prune(cr, clock())
        cr.execute(f"SELECT bucket FROM {TABLE}")
        assert cr.fetchall() == [("guesser",)]
        # A pruned bucket was full: the same answer as before the prune.
        assert limiter.hit(cr, "address-1", 10, 1) == 0.0


def test_the_table_is_unlogged(db):
    with scratch(db) as cr:
        cr.execute("SELECT relpersistence FROM pg_class WHERE relname = %s", (TABLE,))
        assert cr.fetchone() == ("u",)
