# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The 3CX servers of one database, shared out among the worker processes that serve it.

What
    N workers on M servers each act for at most ``ceil(M / N)`` of them: a second worker is
    capacity, not only a spare. A worker that appears gets servers handed over to it; one that
    dies (even SIGKILL) leaves its servers free, and the others take them within seconds (a
    standby looks every ``worker_lock_poll`` seconds). A worker started with ``--server``
    (``worker_server_ids``) acts for those servers only, whatever the share, and the others
    leave them to it while it lives.

How it works
    No coordinator and no table: PostgreSQL's own lock table is the roll call. Each worker
    holds, on a connection of its own, a session-level advisory lock ``(MEMBER_CLASS, its
    backend pid)``; a pinned one holds ``(PIN_CLASS, server id)`` (shared: two pinned
    workers may stand in for each other) for each of its servers instead. ``pg_locks`` lists
    the granted ones, so every worker counts the same live workers and sees the same pins, and
    a dead worker's locks go with its connection. The per-server lock
    (:class:`~.pipeline.AdvisoryLock`) stays the exclusion: whatever two workers' counts say
    while a third comes or goes, one server never has two actors.

    A session asks :meth:`Share.may_take` before it tries its server's lock (the place is
    reserved, so that two sessions of one worker do not both take the last one) and
    :meth:`Share.should_release` between two batches while it acts: a worker above its share
    hands one server over (the session writes what it read, then lets the lock go), one at a
    time; a session with a browser call bridged does not (its realtor would be cut off).

Caveats
    A worker whose host vanishes from the network (no TCP reset) holds its locks until
    PostgreSQL's TCP keepalive gives up on its connections; a process that dies on a living
    host loses them at once.
"""

import contextlib
import logging
import math
import os
import socket
import threading
import time

import psycopg2

_logger = logging.getLogger(__name__)

MEMBER_CLASS = 0x3C3D  # (MEMBER_CLASS, backend pid): a worker that shares the servers
PIN_CLASS = 0x3C3E  # (PIN_CLASS, server id), shared: a worker pinned to that server
DB_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)
ROLL_CALL = """
    SELECT classid::int, objid::int FROM pg_locks
     WHERE locktype = 'advisory' AND objsubid = 2 AND granted AND classid IN (%s, %s)
       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


def worker_name():
    """How the server form names the worker that acts for it."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Share:
    """One worker's part of one database's servers (thread-safe: every session asks it)."""

    def __init__(self, dsn_params, pinned=(), poll=2.0):
        self.params = dsn_params
        self.pinned = frozenset(pinned)
        self.poll = poll
        self.servers = frozenset()  # the servers there are to share (Runner._discover)
        self.acting = set()  # the servers this worker acts for, or is about to
        self.workers = 1  # live sharing workers, this one included
        self.pins = frozenset()  # servers a live pinned worker acts for
        self.conn = None
        self._read_at = 0.0
        self._mutex = threading.Lock()

    # -- what the sessions ask ---------------------------------------------------------------

    def set_servers(self, server_ids):
        with self._mutex:
            self.servers = frozenset(server_ids)

    def limit(self):
        """How many servers this worker may act for."""
        if self.pinned:
            return len(self.pinned)
        return math.ceil(len(self.servers - self.pins) / max(1, self.workers))

    def may_take(self, server_id):
        """True (and the place reserved) when this worker may try to act for ``server_id``."""
        with self._mutex:
            self._refresh()
            if server_id in self.acting:
                return False  # a session of this worker still acts for it (it is retiring)
            if not self.pinned and server_id in self.pins:
                return False  # its pinned worker lives
            if len(self.acting) >= self.limit():
                return False
            self.acting.add(server_id)
            return True

    def should_release(self, server_id, busy=False):
        """True when the session acting for ``server_id`` is to hand it over now: a worker
        appeared (this one is above its share), or a pinned worker for it did. The place is
        given up at once, so that the worker's other sessions do not release one too."""
        if self.pinned:
            return False
        with self._mutex:
            self._refresh()
            if busy or server_id not in self.acting:
                return False
            if server_id in self.pins or len(self.acting) > self.limit():
                self.acting.discard(server_id)
                return True
            return False

    def done(self, server_id):
        """The session no longer acts for ``server_id`` (or never got its lock)."""
        with self._mutex:
            self.acting.discard(server_id)

    def describe(self):
        return (f"{len(self.acting)} of {len(self.servers)} server(s), "
                f"{self.workers} worker(s) sharing")

    # -- the roll call -----------------------------------------------------------------------

    def _refresh(self, force=False):
        """Count the live workers and read the pins, at most every ``poll`` seconds. While
        PostgreSQL is away the last count stands (the sessions cannot act meanwhile anyway)."""
        now = time.monotonic()
        if not force and now - self._read_at < self.poll:
            return
        self._read_at = now
        try:
            if self.conn is None or self.conn.closed:
                self._announce()
            with self.conn.cursor() as cr:
                cr.execute(ROLL_CALL, (MEMBER_CLASS, PIN_CLASS))
                rows = cr.fetchall()
        except DB_ERRORS as exc:
            _logger.debug("worker: roll call failed: %s", exc)
            self.close()
            return
        workers = sum(1 for cls, _key in rows if cls == MEMBER_CLASS)
        pins = frozenset(key for cls, key in rows if cls == PIN_CLASS) - self.pinned
        if (workers, pins) != (self.workers, self.pins):
            _logger.info("worker: %s worker(s) share the 3CX servers%s", workers,
                         f"; pinned elsewhere: {sorted(pins)}" if pins else "")
        self.workers, self.pins = max(1, workers), pins

    def _announce(self):
        self.conn = psycopg2.connect(**self.params, connect_timeout=5)
        self.conn.autocommit = True
        with self.conn.cursor() as cr:
            if self.pinned:
                for server_id in sorted(self.pinned):
                    cr.execute("SELECT pg_advisory_lock_shared(%s, %s)", (PIN_CLASS, server_id))
            else:
                cr.execute("SELECT pg_advisory_lock(%s, pg_backend_pid())", (MEMBER_CLASS,))

    def close(self):
        if self.conn is not None:
            with contextlib.suppress(*DB_ERRORS):
                self.conn.close()  # closing lets the others count one worker less
            self.conn = None
