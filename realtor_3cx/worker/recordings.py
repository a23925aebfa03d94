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

    Transcripts ride on the same loop, pool and retry schedule. Once a call's recording is
    stored (and the server reads 3CX's transcripts), or a realtor pressed "Request
    transcription", the call has ``transcript_state = 'requested'``: a job finds the call's
    recording id again, posts ``Pbx.TranscribeRecordings`` first when the realtor asked
    (``transcript_ask``), and reads the recording's ``IsTranscribed``, ``Transcription``,
    ``Summary`` and ``SentimentScore``; not transcribed yet is a failed try like a missing
    recording. 3CX saying it cannot transcribe (``CanBeTranscribed`` false: its transcription
    is off) or that its transcription failed (a non-zero ``TranscriptionResult``) ends the
    waiting at once, with the reason on the call.

    The server's *Transcripts by* decides who transcribes. With "This machine", or with "3CX,
    else this machine" once 3CX made none, the call has ``transcript_local``: a job reads the
    stored audio from Odoo and hands it to :mod:`.transcribe`'s engine, a process of its own
    that takes one recording at a time; its answer is written from the pool, so neither the
    event loop nor the pool's downloads wait for a transcription. Without the engine
    installed, the call says what to install.

How to use
    Nothing to do: the session starts one while it acts for a server. The tries and the
    retry delay are worker settings (``worker_recording_*``, see config.py).

Caveats
    The published XAPI does not say which recording belongs to which call except through the
    call-log report (``Recordings[]``, ``RecordingUrl``): that is what is read.

Log lines: ``worker: recording of call N stored (B bytes)``, ``worker: recording of call N
not ready (try T): <why>``, ``worker: transcript of call N stored``, ``worker: transcript of
call N not ready (try T): <why>``.
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


class NoTranscript(Exception):
    """3CX will not transcribe this recording: waiting longer changes nothing.

    ``state`` is what the call's transcript becomes: ``failed``, or ``none`` when nobody
    asked and 3CX simply does not transcribe (its transcription is off).
    """

    def __init__(self, message, state="failed"):
        super().__init__(message)
        self.state = state


def _epoch(start_at):
    """A datetime Odoo stores (naive UTC) as a Unix time."""
    return start_at.replace(tzinfo=datetime.timezone.utc).timestamp()


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
        self.in_flight = {}  # ("recording" | "transcript" | "local", call id) -> Future
        self.next_poll = 0.0
        self.stats = {"stored": 0, "retries": 0, "transcripts": 0, "local": 0}

    def tick(self):
        """Start the due fetches; never waits for one."""
        for key, future in list(self.in_flight.items()):
            if future.done():
                inner = None if future.cancelled() or future.exception() else future.result()
                if isinstance(inner, concurrent.futures.Future):
                    self.in_flight[key] = inner  # a local transcript: the engine has it now
                else:
                    del self.in_flight[key]
        now = time.monotonic()
        # A transcription in the engine's process holds no pool thread.
        free = self.config.recording_threads - sum(k != "local" for k, _i in self.in_flight)
        if now < self.next_poll or free <= 0:
            return
        self.next_poll = now + POLL
        busy = {kind: [i for k, i in self.in_flight if k == kind]
                for kind in ("recording", "transcript", "local")}
        try:
            with self.session.odoo.cursor() as cr:
                env = self.session.odoo.env(cr)
                server = env["threecx.server"].browse(self.session.server_id)
                Call = env["threecx.call"]
                due = Call._recording_due(server, limit=free, exclude=busy["recording"])
                # start_at is naive UTC, as Odoo stores datetimes.
                jobs = [("recording", self._run, c.id, c.call_id, _epoch(c.start_at),
                         c.recording_attempts) for c in due]
                if len(jobs) < free:
                    due = Call._transcript_due(server, limit=free - len(jobs),
                                               exclude=busy["transcript"])
                    jobs += [("transcript", self._run_transcript, c.id, c.call_id,
                              _epoch(c.start_at), c.transcript_attempts, c.transcript_ask)
                             for c in due]
                # One local transcription at a time: the engine takes them one by one, and
                # a queue of them would only hold the calls' state back from a restart.
                if len(jobs) < free and not busy["local"]:
                    due = Call._transcript_due(server, limit=1, local=True)
                    jobs += [("local", self._run_local, c.id, c.call_id) for c in due]
        except DB_ERRORS:
            return  # the database is away: the session says so; try at the next poll
        for kind, run, record_id, *job in jobs:
            self.in_flight[kind, record_id] = self.pool.submit(run, record_id, *job)

    def stop(self):
        self.pool.shutdown(wait=False, cancel_futures=True)

    # -- one transcript made here, from the pool and the engine's process ------------------------

    def _run_local(self, record_id, call_id):
        """Hand the stored audio to the engine; :meth:`_local_settled` writes its answer.
        Returns a Future settled once that is written (the job is in flight until then)."""
        from . import transcribe  # the engine's imports wait for a first local transcript

        missing = transcribe.unavailable()
        if missing:
            self._local_write(record_id, call_id, error=missing)
            return None
        try:
            with self.session.odoo.cursor() as cr:
                call = self.session.odoo.env(cr)["threecx.call"].browse(record_id)
                if (not call.exists() or call.transcript_state != "requested"
                        or call.recording_consent == "refused"):
                    return None  # the engine never hears a refused recording
                audio = call.recording_attachment_id.raw
                # The listing's street, which Whisper would otherwise spell its own way. Not
                # the contact's name: a bare name as the prompt derails tiny.en on a short
                # clip ("Rita Recorded" turned "three bedrooms" into "country man room").
                prompt = call.property_id.name or ""
        except DB_ERRORS as exc:
            _logger.warning("worker: transcript of call %s not started, database away: %s",
                            call_id, exc)
            return None
        if not audio:
            self._local_write(record_id, call_id, error="the call's audio is gone")
            return None
        done = concurrent.futures.Future()
        try:
            # The worker's one engine, whatever its number of servers (the runner stops it).
            future = transcribe.shared().submit(audio, "en", prompt=prompt or None)
        except Exception as exc:  # noqa: BLE001 - no process could be started: the call says so
            self._local_write(record_id, call_id, error=f"{type(exc).__name__}: {exc}")
            return None
        # Written from the pool once the engine answers; tick() keeps ``done`` in flight.
        future.add_done_callback(lambda f: self._settle_later(f, done, record_id, call_id))
        return done

    def _settle_later(self, future, done, record_id, call_id):
        try:
            self.pool.submit(self._local_settled, future, done, record_id, call_id)
        except RuntimeError:  # the session stopped: the call stays requested for the next
            done.set_result(None)

    def _local_settled(self, future, done, record_id, call_id):
        from . import transcribe

        try:
            text, error = future.result().text, None
        except (transcribe.TranscriptionError, transcribe.TranscriptionUnavailable) as exc:
            text, error = None, str(exc)
        except Exception as exc:  # noqa: BLE001 - the engine's bug is the call's failure
            text, error = None, f"{type(exc).__name__}: {exc}"
        try:
            self._local_write(record_id, call_id, text=text, error=error)
        finally:
            done.set_result(None)

    def _local_write(self, record_id, call_id, text=None, error=None):
        try:
            with self.session.odoo.cursor() as cr:
                call = self.session.odoo.env(cr)["threecx.call"].browse(record_id)
                if not call.exists() or call.transcript_state != "requested":
                    return
                if error is None and call._transcript_store(text, source="local"):
                    self.stats["local"] += 1
                    _logger.info("worker: transcript of call %s made here", call_id)
                elif error is not None:
                    call._transcript_retry(error[:250], 1, 0, give_up="failed")
                    _logger.info("worker: transcript of call %s not made here: %s", call_id,
                                 error)
                cr.commit()
        except DB_ERRORS as exc:
            # Still requested in the database: the next turn transcribes it again.
            _logger.warning("worker: transcript of call %s not written, database away: %s",
                            call_id, exc)

    # -- one transcript, on a pool thread -------------------------------------------------------

    def _run_transcript(self, record_id, call_id, start, attempts, ask):
        found, error, give_up = None, None, None
        try:
            found = self._read_transcript(record_id, call_id, start, ask)
        except NotReady as exc:
            error = str(exc)
        except NoTranscript as exc:
            error, give_up = str(exc), exc.state
        except ThreecxError as exc:
            error = str(exc)
        except Exception as exc:  # noqa: BLE001 - a bug must not kill the pool thread silently
            _logger.exception("worker: transcript of call %s failed", call_id)
            error = f"{type(exc).__name__}: {exc}"
        try:
            with self.session.odoo.cursor() as cr:
                call = self.session.odoo.env(cr)["threecx.call"].browse(record_id)
                if not call.exists():
                    return
                if found is not None:
                    if call.transcript_state == "requested" and call._transcript_store(
                            found.get("Transcription"), found.get("Summary"),
                            found.get("SentimentScore"), "threecx"):
                        self.stats["transcripts"] += 1
                        _logger.info("worker: transcript of call %s stored", call_id)
                    cr.commit()
                    return
                call._transcript_retry(error, self.config.recording_attempts,
                                       retry_delay(self.config.recording_retry, attempts + 1),
                                       give_up=give_up)
                cr.commit()
                _logger.info("worker: transcript of call %s not ready (try %s): %s", call_id,
                             attempts + 1, error)
        except DB_ERRORS as exc:
            _logger.warning("worker: transcript of call %s not written, database away: %s",
                            call_id, exc)

    def _read_transcript(self, record_id, call_id, start, ask):
        """3CX's transcription properties of the call's recording once it is transcribed;
        asks 3CX for a transcript first when ``ask`` (and says so on the call)."""
        xapi = self.session.client.xapi
        ids = xapi.call_recording_ids(call_id, start - 3600, time.time() + 60)
        if not ids:
            raise NotReady("3CX no longer lists a recording for this call")
        recording_id = ids[-1]  # the one whose audio the call has (see _download)
        row = xapi.recording_transcript(recording_id)
        if row is None:
            raise NotReady(f"3CX does not list recording {recording_id}")
        if row.get("IsTranscribed"):
            return row
        result = row.get("TranscriptionResult")
        if result not in (None, 0):
            raise NoTranscript(f"3CX could not transcribe recording {recording_id} "
                               f"(result {result})")
        if not row.get("CanBeTranscribed"):
            raise NoTranscript(f"3CX cannot transcribe recording {recording_id}: its "
                               "transcription is off (3CX's transcription settings)",
                               "failed" if ask else "none")
        if ask:
            xapi.transcribe_recordings([recording_id])
            with self.session.odoo.cursor() as cr:
                self.session.odoo.env(cr)["threecx.call"].browse(record_id)._transcript_asked()
                cr.commit()
            raise NotReady(f"3CX was asked to transcribe recording {recording_id}")
        raise NotReady(f"3CX has not transcribed recording {recording_id} yet")

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
