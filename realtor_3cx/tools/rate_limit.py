# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Token buckets kept in PostgreSQL, shared by every process of a database (no Odoo import).

Used by the CRM-template endpoints: one bucket per server's API key (``rate`` requests a
minute, bursts of ``burst``) and one per remote address for requests with a wrong or missing
key. Odoo in prefork mode runs several HTTP workers, and a worker may be recycled at any
time: buckets kept in a process would multiply the limit by the number of workers and be
forgotten at each restart. Here every request takes its token with one atomic UPSERT on a row
of an UNLOGGED table, in a transaction of its own (the caller passes a fresh cursor), so:

- the limit holds across processes: PostgreSQL's row lock orders concurrent requests of one
  bucket, each reading what the previous one wrote (READ COMMITTED, not Odoo's REPEATABLE
  READ, which would refuse the second with a serialization failure);
- the time is PostgreSQL's (``clock_timestamp()``, not the transaction's start, which may be
  older than the last refill when a request waited for the row lock), the same for all;
- it costs one statement on a table that writes no WAL and a commit that needs no flush (a
  transaction that wrote only unlogged rows); the request's own transaction is untouched, so a
  request that fails and rolls back keeps its count, and no lock outlives the statement.

PostgreSQL empties unlogged tables after a crash: every bucket is then full, as after a pause.
Rows idle longer than a refill of their bucket are full and deleted now and then (``prune``),
so the table holds only the buckets in use however many addresses guess.
"""

import time

from psycopg2.extensions import TRANSACTION_STATUS_IDLE

TABLE = "realtor_3cx_rate_bucket"
# A bucket refills entirely in burst / rate minutes, at most one (burst <= rate): a row idle
# for longer is a full bucket, the same as no row.
IDLE_SECONDS = 120
PRUNE_EVERY = 60  # seconds between prunes, per process
# Refills are computed in floating point: a client that waited exactly the time it was told
# may find 0.9999999 tokens (epoch seconds keep about a microsecond). That counts as one.
EPSILON = 1e-6

CREATE = f"""
    CREATE UNLOGGED TABLE IF NOT EXISTS {TABLE} (
        bucket VARCHAR PRIMARY KEY,
        tokens DOUBLE PRECISION NOT NULL,
        stamp DOUBLE PRECISION NOT NULL,
        allowed BOOLEAN NOT NULL
    )
"""
# The tokens a bucket has now: what it kept plus the refill since its last request.
_LEVEL = "LEAST(%(burst)s, b.tokens + GREATEST(0, %(now)s - b.stamp) * %(per_second)s)"
_NOW = "COALESCE(%(clock)s::float8, EXTRACT(EPOCH FROM clock_timestamp())::float8)"
HIT = f"""
    WITH t AS (SELECT {_NOW} AS now)
    INSERT INTO {TABLE} AS b (bucket, tokens, stamp, allowed)
    SELECT %(bucket)s, %(burst)s - 1, t.now, TRUE FROM t
    ON CONFLICT (bucket) DO UPDATE SET
        tokens = CASE WHEN {_LEVEL} >= 1 - {EPSILON} THEN GREATEST(0, {_LEVEL} - 1)
                      ELSE {_LEVEL} END,
        stamp = GREATEST(b.stamp, %(now)s),
        allowed = {_LEVEL} >= 1 - {EPSILON}
    RETURNING tokens, allowed
""".replace("%(now)s", "EXCLUDED.stamp")
READ_COMMITTED = "SET TRANSACTION ISOLATION LEVEL READ COMMITTED"
PRUNE = f"DELETE FROM {TABLE} WHERE stamp < {_NOW} - %(idle)s"
RESET = f"DELETE FROM {TABLE}"


class SharedRateLimiter:
    """Token buckets in the table :data:`TABLE` of the cursor's database.

    :attr clock: ``None`` (PostgreSQL's clock) or a function giving epoch seconds, for tests
        that stop time
    """

    def __init__(self):
        self.clock = None
        self._pruned_at = 0.0

    @staticmethod
    def create_table(cr):
        cr.execute(CREATE)

    def hit(self, cr, bucket, rate, burst=None):
        """Take a token from ``bucket`` (``rate`` tokens a minute, at most ``burst`` kept).

        ``cr`` should be a cursor of its own, committed right after: the row stays locked
        until then.

        :returns: 0.0 when allowed, else the seconds until a token is back (for Retry-After)
        """
        if rate <= 0:
            raise ValueError("rate must be positive")
        burst = min(float(rate), max(1.0, float(burst if burst is not None else rate)))
        per_second = rate / 60.0
        clock = self.clock() if self.clock else None
        query = HIT
        if cr.connection.get_transaction_status() == TRANSACTION_STATUS_IDLE:
            # A transaction of its own, as it should be: READ COMMITTED, so that a request
            # waiting for the row lock then reads the row the other one wrote (Odoo's
            # REPEATABLE READ would refuse it with a serialization failure instead). In the
            # same round trip: the answer is the last statement's.
            query = f"{READ_COMMITTED}; {HIT}"
        cr.execute(query, {"bucket": bucket, "burst": burst, "per_second": per_second,
                           "clock": clock})
        tokens, allowed = cr.fetchone()
        self._maybe_prune(cr, clock)
        return 0.0 if allowed else max(0.0, 1.0 - tokens) / per_second

    def _maybe_prune(self, cr, clock):
        now = time.monotonic()
        if now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        self.prune(cr, clock)

    def prune(self, cr, clock=None):
        """Forget the buckets idle long enough to be full again."""
        cr.execute(PRUNE, {"clock": clock, "idle": IDLE_SECONDS})

    @staticmethod
    def reset(cr):
        """Forget every bucket (tests, or an admin after changing the rate)."""
        cr.execute(RESET)
