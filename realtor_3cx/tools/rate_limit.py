# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A small thread-safe token-bucket rate limiter (plain Python, no Odoo import).

Used by the CRM-template endpoints: one bucket per API key (a server's key may make
``rate`` requests a minute, with bursts up to ``burst``) and one per remote address for
requests with a wrong or missing key, so guessing keys is slow.

The state lives in the process. Odoo in prefork mode runs several HTTP workers, each with
its own buckets, so the effective limit is the configured one times the number of workers:
good enough to stop a runaway PBX or a key-guessing client, and it costs no database write
per request (which a shared counter would).

>>> clock = iter([0.0, 0.0, 0.0, 30.0]).__next__
>>> limiter = RateLimiter(rate=2, burst=2, clock=clock)
>>> [limiter.hit("k") for _ in range(3)]
[0.0, 0.0, 30.0]
>>> limiter.hit("k")  # 30 s later one token is back
0.0
"""

import threading
import time

# Buckets kept at most; the idle ones go first. Bounds memory against many source addresses.
MAX_BUCKETS = 10000
# Refills are computed in floating point: a client that waited exactly the time it was told
# may find 0.9999999999 tokens. That counts as one.
EPSILON = 1e-9


class RateLimiter:
    """Token buckets keyed by any hashable.

    :param float rate: tokens added per minute
    :param float burst: bucket size (the requests allowed at once)
    :param clock: a function giving seconds; ``time.monotonic`` (looked up at each call, so
        tests can stop the clock) by default
    """

    def __init__(self, rate, burst=None, clock=None):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else rate)
        self._clock = clock or (lambda: time.monotonic())
        self._lock = threading.Lock()
        self._buckets = {}  # key -> (tokens, last time)

    def hit(self, key):
        """Take a token for ``key``.

        :returns: 0.0 when allowed, else the seconds until a token is back (for Retry-After)
        """
        now = self._clock()
        per_second = self.rate / 60.0
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * per_second)
            if tokens >= 1.0 - EPSILON:
                self._store(key, max(0.0, tokens - 1.0), now)
                return 0.0
            self._store(key, tokens, now)
            return (1.0 - tokens) / per_second

    def peek(self, key):
        """Seconds until ``key`` may make a request (0.0: now), without taking a token."""
        now = self._clock()
        with self._lock:
            if key not in self._buckets:
                return 0.0
            tokens, last = self._buckets[key]
        tokens = min(self.burst, tokens + (now - last) * self.rate / 60.0)
        return 0.0 if tokens >= 1.0 - EPSILON else (1.0 - tokens) / (self.rate / 60.0)

    def _store(self, key, tokens, now):
        self._buckets.pop(key, None)  # re-insert: dict order is then least recently used first
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > MAX_BUCKETS:
            self._buckets.pop(next(iter(self._buckets)))

    def reset(self):
        with self._lock:
            self._buckets.clear()
