# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""3CX's company phonebook kept in step with Odoo's contacts, in the background.

What
    For a server with *Sync the 3CX phonebook* ticked, :class:`PhonebookSync` runs every
    ``phonebook_interval`` seconds (and within ``POLL`` seconds of *Sync now*): Odoo plans
    the changes (``models/threecx_phonebook.py``), they go to 3CX (``threecx/phonebook.py``:
    bulk deletions, other requests ``phonebook_threads`` at a time), and what 3CX did with
    each is written back, ``CHUNK`` changes per transaction.

How it works
    The session's work loop calls :meth:`PhonebookSync.tick` on every turn; a run happens on
    a thread of its own, one at a time, so a first sync of many thousand contacts never holds
    up the calls' events. No database transaction stays open while 3CX is asked. A worker
    that dies in the middle of a run loses at most the results of one chunk: those contacts
    are sent again (their 3CX ids were not recorded, so they may exist twice in 3CX until an
    administrator removes one; 3CX's spec offers nothing to find them by).

How to use
    Tick *Sync the 3CX phonebook* on the server's form. The interval and the width of the
    pool are worker settings (``worker_phonebook_*``, see config.py).

Log lines: ``worker: phonebook of 3CX server N: A added, C changed, R removed, F refused``.
"""

import concurrent.futures
import logging
import threading
import time

import psycopg2

from ..threecx import phonebook

_logger = logging.getLogger(__name__)

POLL = 2.0  # seconds between two looks at the server's switch and its Sync now
CHUNK = 1000  # changes sent, then recorded in one transaction
STOP_WAIT = 15.0  # seconds a stopping session waits for the requests under way
DB_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)


class PhonebookSync:
    """Syncs one server's phonebook for a :class:`~.pipeline.ServerSession`."""

    def __init__(self, session):
        self.session = session
        self.config = session.config
        self.pool = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix=f"{session.name}-phonebook")
        self.running = None
        # Set when the session stops acting: the run sends nothing more (the next actor
        # holds the token then, and a request of ours would take it back from it).
        self.stopping = threading.Event()
        self.next_poll = 0.0
        self.next_run = 0.0  # the first look after the session starts runs
        self.stats = {"runs": 0}

    def tick(self):
        """Start a due run; never waits for one."""
        if self.running is not None and not self.running.done():
            return
        now = time.monotonic()
        if now < self.next_poll:
            return
        self.next_poll = now + POLL
        try:
            with self.session.odoo.cursor() as cr:
                cr.execute("""
                    SELECT s.phonebook_sync, coalesce(st.requested, false)
                      FROM threecx_server s
                      LEFT JOIN threecx_phonebook_status st ON st.server_id = s.id
                     WHERE s.id = %s
                """, [self.session.server_id])
                row = cr.fetchone()
        except DB_ERRORS:
            return  # the database is away: the session says so; look again at the next poll
        except psycopg2.Error as exc:
            # New code on a database not upgraded yet (no status table): the calls go on.
            _logger.warning("worker: phonebook of 3CX server %s not read: %s",
                            self.session.server_id, str(exc).strip().splitlines()[0])
            self.next_poll = now + self.config.phonebook_interval
            return
        if not row or not row[0] or not (row[1] or now >= self.next_run):
            return
        self.next_run = now + self.config.phonebook_interval
        self.running = self.pool.submit(self.run)

    def stop(self, timeout=STOP_WAIT):
        """Stop the run under way (what 3CX did so far is recorded) and wait for it."""
        self.stopping.set()
        if self.running is not None:
            try:
                self.running.result(timeout)
            except concurrent.futures.TimeoutError:
                _logger.warning("worker: phonebook run of 3CX server %s still stopping",
                                self.session.server_id)
            except concurrent.futures.CancelledError:
                _logger.debug("worker: phonebook run cancelled before it started")
        self.pool.shutdown(wait=False, cancel_futures=True)

    def run(self):
        """One run, to its end: plan, send chunk by chunk, record. Returns the counts."""
        try:
            return self._run()
        except DB_ERRORS as exc:
            # Nothing is lost: what was not recorded is planned again by the next run.
            _logger.warning("worker: phonebook of 3CX server %s stopped, database away: %s",
                            self.session.server_id, exc)
        except Exception:
            _logger.exception("worker: phonebook of 3CX server %s failed",
                              self.session.server_id)
        return None

    def _run(self):
        odoo, server_id = self.session.odoo, self.session.server_id
        with odoo.cursor() as cr:
            server = odoo.env(cr)["threecx.server"].browse(server_id)
            due, forced = server._phonebook_claim()
            if not due:
                return None
            changes, fingerprint = server._phonebook_plan(force=forced)
        if changes is None:
            return None  # nothing changed since the last run
        self.stats["runs"] += 1
        counts = {"created": 0, "updated": 0, "deleted": 0, "refused": 0}
        fatal = None
        started = time.monotonic()
        xapi = self.session.client.xapi
        for start in range(0, len(changes), CHUNK):
            results, fatal = phonebook.apply(xapi, changes[start:start + CHUNK],
                                             threads=self.config.phonebook_threads,
                                             stop=self.stopping)
            with odoo.cursor() as cr:
                server = odoo.env(cr)["threecx.server"].browse(server_id)
                for key, value in server._phonebook_record(results).items():
                    counts[key] += value
            if fatal is not None:
                break
        if isinstance(fatal, phonebook.Stopped):
            _logger.info("worker: phonebook of 3CX server %s stopped with the session: %s "
                         "added, %s changed, %s removed so far", server_id, counts["created"],
                         counts["updated"], counts["deleted"])
            return counts  # the next actor plans what is left (no watermark was written)
        with odoo.cursor() as cr:
            # Held until the block commits: the transaction flushes only live environments.
            server = odoo.env(cr)["threecx.server"].browse(server_id)
            server._phonebook_done(counts, fingerprint,
                                   phonebook.problem(fatal) if fatal is not None else None,
                                   sent=bool(changes))
        _logger.info("worker: phonebook of 3CX server %s: %s added, %s changed, %s removed, "
                     "%s refused in %.1f s%s", server_id, counts["created"], counts["updated"],
                     counts["deleted"], counts["refused"], time.monotonic() - started,
                     f"; stopped: {fatal}" if fatal is not None else "")
        return counts
