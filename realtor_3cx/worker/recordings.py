# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Recordings and voicemail messages: copied from 3CX onto their calls, in the background.

What
    A finished call that should have audio is marked ``recording_state = 'pending'`` by Odoo
    (``models/threecx_recording.py``). :class:`RecordingFetcher` finds those calls, asks the
    XAPI call log for the call's recording id, downloads it and hands the bytes to
    ``threecx.call._recording_store``, which keeps them as an attachment of the call.

How it works
    The session's work loop calls :meth:`RecordingFetcher.tick` on every turn. At most every
    ``POLL`` seconds it reads the due calls (one query) and submits each to a pool of its own,
    ``recording_threads`` wide: downloads can take a minute, and sharing the pool that reads
    call legs would let them delay the event processing. Each job writes its own result in
    its own transaction.

    3CX lists a recording only once it has written the file, so "no recording id yet", a 404
    on the download, a cut connection and bytes that are no audio all count as one failed
    try: the call is tried again after ``recording_retry`` seconds, doubling each time (capped
    at an hour), and given up after ``recording_attempts`` tries (10 by default, about three
    hours), with the reason on the call. Nothing is lost to a crash or a restart: what to do
    next is on the call, and a download that never reached the database is simply done again.

How to use
    Nothing to do: the session starts one while it acts for a server. The tries and the
    retry delay are worker settings (``worker_recording_*``, see config.py).

Caveats
    The published XAPI does not say which recording belongs to which call except through the
    call-log report (``Recordings[]``, ``RecordingUrl``): that is what is read.

Log lines: ``worker: recording of call N stored (B bytes)``, ``worker: recording of call N
not ready (try T): <why>``.
"""

import concurrent.futures
import datetime
import io
import logging
import time

import psycopg2

from ..threecx.errors import ThreecxError

_logger = logging.getLogger(__name__)

# The worker is a process of its own: every cursor here is one it opened for one unit of work,
# never an HTTP request's transaction, so committing it is the point (OCA's rule is about
# request transactions).
# pylint: disable=invalid-commit

POLL = 2.0  # seconds between two looks for due calls
RETRY_CAP = 3600.0
MAX_BYTES = 256 * 1024 * 1024  # an 8 kHz 16-bit hour is 58 MB; anything far beyond is wrong
DB_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)


class NotReady(Exception):
    """3CX has no recording for the call (yet)."""


def retry_delay(base, attempts):
    """Seconds before the next try after ``attempts`` failed ones: base, 2 base, 4 base...

    >>> [retry_delay(30, n) for n in (1, 2, 3)]
    [30.0, 60.0, 120.0]
    >>> retry_delay(30, 20)
    3600.0
    """
    return min(RETRY_CAP, float(base) * 2 ** max(0, attempts - 1))


class RecordingFetcher:
    """Fetches the pending recordings of one server for a :class:`~.pipeline.ServerSession`."""

    def __init__(self, session):
        self.session = session
        self.config = session.config
        self.pool = concurrent.futures.ThreadPoolExecutor(
            max(1, self.config.recording_threads),
            thread_name_prefix=f"{session.name}-rec")
        self.in_flight = {}  # threecx.call id -> Future
        self.next_poll = 0.0
        self.stats = {"stored": 0, "retries": 0}

    def tick(self):
        """Start the due fetches; never waits for one."""
        for record_id, future in list(self.in_flight.items()):
            if future.done():
                del self.in_flight[record_id]
        now = time.monotonic()
        free = self.config.recording_threads - len(self.in_flight)
        if now < self.next_poll or free <= 0:
            return
        self.next_poll = now + POLL
        try:
            with self.session.odoo.cursor() as cr:
                env = self.session.odoo.env(cr)
                server = env["threecx.server"].browse(self.session.server_id)
                due = env["threecx.call"]._recording_due(server, limit=free,
                                                         exclude=self.in_flight)
                # start_at is naive UTC, as Odoo stores datetimes.
                jobs = [(c.id, c.call_id, c.start_at.replace(tzinfo=datetime.timezone.utc)
                         .timestamp(), c.recording_attempts) for c in due]
        except DB_ERRORS:
            return  # the database is away: the session says so; try at the next poll
        for job in jobs:
            self.in_flight[job[0]] = self.pool.submit(self._run, *job)

    def stop(self):
        self.pool.shutdown(wait=False, cancel_futures=True)

    # -- one call, on a pool thread ------------------------------------------------------------

    def _run(self, record_id, call_id, start, attempts):
        try:
            data, recording_id = self._download(call_id, start)
            error = None
        except NotReady as exc:
            data, recording_id, error = None, None, str(exc)
        except ThreecxError as exc:
            data, recording_id, error = None, None, str(exc)
        except Exception as exc:  # noqa: BLE001 - a bug must not kill the pool thread silently
            _logger.exception("worker: recording of call %s failed", call_id)
            data, recording_id, error = None, None, f"{type(exc).__name__}: {exc}"
        try:
            self._write(record_id, call_id, data, recording_id, error, attempts)
        except DB_ERRORS as exc:
            # Still pending in the database: the next worker turn downloads it again.
            _logger.warning("worker: recording of call %s not written, database away: %s",
                            call_id, exc)

    def _download(self, call_id, start):
        xapi = self.session.client.xapi
        ids = xapi.call_recording_ids(call_id, start - 3600, time.time() + 60)
        if not ids:
            raise NotReady("3CX has not listed a recording for this call yet")
        recording_id = ids[-1]  # a transferred call may have several; the last has the end
        buffer = io.BytesIO()
        try:
            size, _content_type = xapi.download_recording(recording_id, buffer,
                                                          max_bytes=MAX_BYTES)
        except ThreecxError as exc:
            if getattr(exc, "status", None) == 404:
                raise NotReady(f"3CX has no file for recording {recording_id} yet") from None
            raise
        if not size:
            raise NotReady(f"3CX sent an empty file for recording {recording_id}")
        return buffer.getvalue(), recording_id

    def _write(self, record_id, call_id, data, recording_id, error, attempts):
        from odoo.exceptions import UserError  # Odoo loads in the worker process only

        with self.session.odoo.cursor() as cr:
            env = self.session.odoo.env(cr)
            call = env["threecx.call"].browse(record_id)
            if not call.exists():
                return
            if data is not None:
                try:
                    stored = call._recording_store(data, recording_id)
                except UserError as exc:
                    error = str(exc.args[0] if exc.args else exc)
                else:
                    cr.commit()
                    if stored:
                        self.stats["stored"] += 1
                        _logger.info("worker: recording of call %s stored (%s bytes)",
                                     call_id, len(data))
                    return
            self.stats["retries"] += 1
            call._recording_retry(error, self.config.recording_attempts,
                                  retry_delay(self.config.recording_retry, attempts + 1))
            cr.commit()
            _logger.info("worker: recording of call %s not ready (try %s): %s", call_id,
                         attempts + 1, error)
