# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""One 3CX server's pipeline: lock, event stream, batched reads, tracker, database writes.

See the package docstring for the whole picture. The order inside one batch matters:

1. a snapshot in the batch supersedes every earlier event (it is newer state);
2. Remove frames drop their legs;
3. the legs named by Upsets are read once each (coalesced), or, when there are more than
   ``SNAPSHOT_THRESHOLD`` of them, the whole state is read in one request;
4. calls whose legs stayed gone for ``end_grace`` are finalised; unanswered ones are looked up
   in the XAPI call log (answered after all? voicemail? busy?); legs that came and went before
   they could be read send the worker to the call log for their calls;
5. the changed views are written in one transaction (at most ``FLUSH_CHUNK``, live calls
   first, the rest at the next batch); if PostgreSQL is away they wait in ``pending`` (one
   per call) and the next batch tries again.
"""

import concurrent.futures
import contextlib
import datetime
import logging
import queue
import threading
import time
from collections import deque

import psycopg2
from psycopg2 import sql

from ..threecx.client import UNEXPECTED, ConnectionReport, Problem, ThreecxClient
from ..threecx.errors import (
    AuthenticationError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    ThreecxError,
)
from ..threecx.protocol import EventType, ProtocolError, parse_participant
from ..tools.sdp import offer_problem
from .phonebook import PhonebookSync
from .recordings import RecordingFetcher
from .sharing import worker_name
from .tracker import CallTracker, iso_seconds, with_call_log

_logger = logging.getLogger(__name__)

# The worker is a process of its own: every cursor here is one it opened for one unit of work,
# never an HTTP request's transaction, so committing it is the point (OCA's rule is about
# request transactions).
# pylint: disable=invalid-commit

LOCK_CLASS = 0x3C3C  # first key of our advisory locks; the second is the server id
SNAPSHOT_THRESHOLD = 64  # legs pending in one batch
SNAPSHOT_DNS = 16  # DNs pending in one batch
QUEUE_LIMIT = 100_000
FATAL_RETRY = 30.0  # after a refused secret or missing access: the admin must act first
HAND_OVER_WRITE = 10.0  # seconds a session handing its server over has to write what it read
DIAL_CHANNEL = "realtor_3cx_dial"  # NOTIFYed by threecx.call.realtor_3cx_dial
DIAL_ANSWER = "realtor_3cx.dial/answer"  # the bus notification of a dial request's progress
# seconds: an older dial request is never placed; the page gave up on it after a longer wait
# (PENDING_TIMEOUT_MS in static/src/core/dial_request.js) and told the realtor
DIAL_EXPIRY = 8
SOFTPHONE_CHANNEL = "realtor_3cx_softphone"  # NOTIFYed by /realtor_3cx/softphone/*
TEST_CHANNEL = "realtor_3cx_connection_test"  # NOTIFYed by threecx.server's Test connection
TEST_EXPIRY = 30  # seconds: an older request was reported unanswered to the admin (same value)
OFFER_MAX_AGE = 10  # seconds: an older browser offer is refused (threecx_softphone.py's value)
PRESENCE_INTERVAL = 30.0
DB_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)
LIVE_STATES = ("ringing", "dialing", "connected")
FLUSH_CHUNK = 200  # calls written per transaction (live ones first)
# An ended call's write waits while a withheld leg's next read is due within FINAL_SOON
# seconds, FINAL_WAIT seconds at most (see ServerSession._not_now): the ringing call first.
FINAL_SOON = 0.1
FINAL_WAIT = 0.5
CATCH_UP_INTERVAL = 1.0  # seconds between two reads of the call log for legs never seen
CATCH_UP_MARGIN = 60.0  # seconds before the first such leg that the read starts
# 3CX can send a leg's Upset before a GET shows the leg (404): such a leg is read again for
# this long, and the calls still in their end grace when it was first missed do not end
# meanwhile (the leg may be one's next leg, as in a transfer); calls that emptied earlier end
# as usual, so a steady stream of new legs delays no ending by more than this. Its Remove
# ends the wait; past it, the 404 is taken as the leg being gone.
UNREADABLE_FOR = 3.0
# When it is read again: not at every round (a dozen 404s per new leg under load), nor at
# 3CX's next repeat (750 ms late), but after the shortest wait that showed recent such legs,
# less a quarter step (so that the wait follows 3CX down as well as up), then every
# RETRY_STEP for RETRY_FAST_FOR, then after steps that grow to RETRY_STEP_MAX: two or three
# reads per new leg, the leg read a step at most after 3CX shows it. (Doubling steps from the
# first miss once made it 80-160 ms: other withheld legs' reads of the same DN's list counted
# as misses.) Before any leg has shown, steps that double from RETRY_STEP.
RETRY_STEP = 0.02
RETRY_FAST_FOR = 0.2
RETRY_STEP_MAX = 0.5
SHOWN_AFTER_KEPT = 20  # the last waits that showed a leg, of which the shortest is used
# Browser calls are set up and taken down off the main loop (ICE/DTLS up to BRIDGE_SETUP,
# the route point's hand-over up to HAND_OVER_WAIT, a close joining stream threads): the other
# calls' events are not kept waiting behind them. Their results come back to the main loop.
BRIDGE_THREADS = 4  # hand-overs to the route point under way at once
BRIDGE_SETUP = 20.0  # seconds for a browser peer's answer (ICE gathering, DTLS set-up)
HAND_OVER_WAIT = 5.0  # seconds for a diverted or transferred leg to show on the route point
BRIDGE_STOP_WAIT = 12.0  # seconds a stopping session gives its bridges to close


class Message(str):
    """A sentence for a realtor: English, and translated when the worker knows whose it is.

    Built with ``_()``, so Odoo's exporter puts it in the pot like any ``_()`` of the addon;
    the worker has no user's context while it talks to 3CX, so the answer is translated into
    the language of the user who asked (:meth:`in_lang`) when it is written.
    """

    def __new__(cls, source, **params):
        message = super().__new__(cls, source % params if params else source)
        message.source, message.params = source, params
        return message

    def in_lang(self, lang):
        if not lang or lang == "en_US":
            return str(self)
        from odoo.tools.translate import code_translations

        translations = code_translations.get_python_translations("realtor_3cx", lang)
        text = translations.get(self.source) or self.source
        try:
            return text % self.params if self.params else text
        except (KeyError, TypeError, ValueError):  # a broken translation: say it in English
            return str(self)


_ = Message


def in_lang(message, lang):
    return message.in_lang(lang) if isinstance(message, Message) else message


class AdvisoryLock:
    """``pg_try_advisory_lock`` on a connection of its own: held as long as that connection is.

    A worker that dies (even SIGKILL) loses its connection, and PostgreSQL releases the lock.
    """

    def __init__(self, dsn_params, server_id):
        self.params = dsn_params
        self.key = (LOCK_CLASS, server_id)
        self.conn = None

    def acquire(self):
        try:
            self.conn = psycopg2.connect(**self.params, connect_timeout=5)
            self.conn.autocommit = True
            with self.conn.cursor() as cr:
                cr.execute("SELECT pg_try_advisory_lock(%s, %s)", self.key)
                if cr.fetchone()[0]:
                    return True
        except DB_ERRORS as exc:
            _logger.debug("lock %s: %s", self.key, exc)
        self.release()
        return False

    def alive(self):
        try:
            with self.conn.cursor() as cr:
                cr.execute("SELECT 1")
            return True
        except (*DB_ERRORS, AttributeError):  # a nested tuple raises TypeError here
            return False

    def release(self):
        if self.conn is not None:
            with contextlib.suppress(DB_ERRORS):
                self.conn.close()  # closing releases the lock
            self.conn = None


class Fatal(Exception):
    """The PBX refused us for a reason only an admin can fix."""


class ServerSession(threading.Thread):
    """Acts for one ``threecx.server`` while it holds the lock and its worker's share
    (:class:`~.sharing.Share`) has room for it; stands by otherwise."""

    def __init__(self, odoo_env, db, server_id, config, stop, share=None):
        super().__init__(name=f"3cx-{db}-{server_id}", daemon=True)
        self.odoo = odoo_env  # a Database (runner.py): cursor(), dsn
        self.db = db
        self.server_id = server_id
        self.config = config
        self.stop_event = stop
        self.share = share
        self.retired = threading.Event()
        self.acting = False
        self.stats = {"batches": 0, "fetches": 0, "snapshots": 0, "writes": 0}
        self.event_times = deque()  # arrival times of the last minute's events
        self.bridges = {}  # softphone session id -> (bridge, 3CX call id)
        self._bridge_legs = {}  # softphone session id -> the route point's participant id
        self.softphone_calls = {}  # 3CX call id -> the realtor's extension
        self._detached = {}  # softphone session id -> when its browser peer went away
        # softphone session id -> a browser call being set up off the main loop (_open_bridge)
        self._starting = {}
        self._bridge_done = queue.Queue()  # (future, what to do with it on the main loop)
        self._bridge_jobs = set()  # futures of set-ups and tear-downs not handled yet
        self._media = None  # this session's media process (media_process.py), once needed
        self._media_lock = threading.Lock()  # started from the bridge pool or the main loop
        self.connected_since = None
        self.last_error = ""
        # Health is written even when the session fails before it reads anything (a secret
        # it cannot decrypt): nothing is committed through any event yet.
        self.synced_through = None

    def retire(self):
        self.retired.set()

    def _stopping(self):
        return self.stop_event.is_set() or self.retired.is_set()

    # -- outer loop: lock, act, fall back ----------------------------------------------------

    def run(self):
        standing_by = False
        share = self.share
        while not self._stopping():
            lock = AdvisoryLock(self.odoo.dsn, self.server_id)
            # This worker's share full: the lock is not even tried (another one's has room).
            reserved = share is None or share.may_take(self.server_id)
            if not reserved or not lock.acquire():
                if reserved and share is not None:
                    share.done(self.server_id)
                if not standing_by:
                    _logger.info("worker: standing by for 3CX server %s (%s)%s", self.server_id,
                                 self.db, f": this worker acts for {share.describe()}"
                                 if share is not None else "")
                    standing_by = True
                self._wait(self.config.lock_poll)
                continue
            standing_by = False
            _logger.info("worker: acting for 3CX server %s (%s)%s", self.server_id, self.db,
                         f", {share.describe()}" if share is not None else "")
            try:
                self.acting = True
                self._act(lock)
                if self._stopping():  # stopped: the form says so, not "Connected" forever
                    self._write_health(state="not_connected", error="")
            except Fatal as exc:
                _logger.error("worker: 3CX server %s refused us: %s", self.server_id, exc)
                self._write_health(state="error", error=str(exc))
                lock.release()
                self._wait_refused(FATAL_RETRY)
            except Exception:
                _logger.exception("worker: session of 3CX server %s failed", self.server_id)
                lock.release()
                self._wait(5)
            finally:
                self.acting = False
                lock.release()
                if share is not None:
                    share.done(self.server_id)
        _logger.info("worker: stopped for 3CX server %s", self.server_id)

    def _wait(self, seconds):
        deadline = time.monotonic() + seconds
        while not self._stopping() and time.monotonic() < deadline:
            self.stop_event.wait(0.2)

    def _wait_refused(self, seconds):
        """Wait before connecting again after 3CX refused us, answering the admin's connection
        tests meanwhile: nobody holds a token then, so the test may mint one. A test that
        passes ends the wait (the admin fixed what 3CX refused)."""
        deadline = time.monotonic() + seconds
        while not self._stopping() and time.monotonic() < deadline:
            if self._test_pending():
                lock = AdvisoryLock(self.odoo.dsn, self.server_id)
                # Taken by another worker: that one acts, holds the token, and answers.
                if lock.acquire():
                    try:
                        if self._answer_test(None):
                            return
                    finally:
                        lock.release()
            self.stop_event.wait(1)

    # -- acting ------------------------------------------------------------------------------

    def _act(self, lock):
        settings = self._load_server()
        client = ThreecxClient(settings["base_url"], settings["client_id"], settings["secret"])
        self.client = client
        self.tracker = CallTracker(end_grace=self.config.end_grace)
        self.pending = {}  # call id -> view dict waiting for the database
        self._lookups = {}  # call id -> (its call-log read under way, its ended view)
        self.notified = {}  # call id -> extensions already told it rings
        self.needs_reconcile = False
        self.catch_up_since = None  # a leg came and went unseen at this time: read the log
        self.next_catch_up = 0.0
        # Arrival time of the last event read / of the last one whose effects are all
        # committed. Only the second is stored (last_event_at): the next reconcile reads the
        # call log from there, so calls held in memory when this worker dies are not skipped.
        self.read_through = None
        self.synced_through = None
        self.db_retry_at = 0.0
        self.db_down_since = None
        self.inbox = queue.Queue(maxsize=QUEUE_LIMIT)
        self.overflowed = False
        # (dn, participant id) -> [entity path, its Upset's arrival, reads without it, next]
        self.unreadable = {}
        self.shown_after = deque(maxlen=SHOWN_AFTER_KEPT)  # Upset -> first read showing a leg
        self._upset_at = {}  # this batch's Upsets: (dn, participant id) -> arrival
        self._read_from = {}  # (dn, participant id) -> when the last read that showed it began
        stream = client.events(self._on_event, on_snapshot=self._on_snapshot,
                               on_state=self._on_state)
        stream_thread = threading.Thread(target=self._run_stream, args=(stream,),
                                         name=f"{self.name}-ws", daemon=True)
        stream_thread.start()
        pool = concurrent.futures.ThreadPoolExecutor(self.config.fetch_threads,
                                                     thread_name_prefix=f"{self.name}-get")
        recordings = RecordingFetcher(self)
        phonebook = PhonebookSync(self)
        self._write_health(state="connecting", error="")
        next_health = next_lock_check = next_dial = next_presence = time.monotonic()
        self._listen(lock, DIAL_CHANNEL)
        self._listen(lock, SOFTPHONE_CHANNEL)
        self._listen(lock, TEST_CHANNEL)
        self.route_point = settings["client_id"]
        self.ice_servers = settings["ice_servers"]
        self.bridges.clear()
        self._bridge_legs.clear()
        self.softphone_calls.clear()
        self._detached.clear()
        self._starting.clear()
        self._bridge_pool = concurrent.futures.ThreadPoolExecutor(
            BRIDGE_THREADS, thread_name_prefix=f"{self.name}-bridge")
        try:
            while not self._stopping():
                items = self._drain()
                self._process(items, pool)
                self._bridge_results()
                self._flush()
                recordings.tick()
                phonebook.tick()
                now = time.monotonic()
                if self._notified(lock) or now >= next_dial:
                    next_dial = now + 2
                    self._dial_pending()
                    self._softphone_pending()
                    # A SELECT, not the claiming UPDATE and its commit, on an idle round.
                    if self._test_pending():
                        self._answer_test(client)
                if now >= next_presence:
                    next_presence = now + PRESENCE_INTERVAL
                    self._refresh_presence()
                if now >= next_lock_check:
                    next_lock_check = now + 2
                    if not lock.alive():
                        _logger.warning("worker: lost the lock of 3CX server %s (database "
                                        "connection gone); standing down", self.server_id)
                        return
                    if self.share is not None and self.share.should_release(
                            self.server_id, busy=bool(self.bridges)):
                        self._hand_over(stream, stream_thread, pool)
                        return
                if now >= next_health:
                    next_health = now + self.config.health_interval
                    self._write_health()
        finally:
            try:
                self._stop_bridges()
            except Exception:  # whatever happened to a bridge, the rest stops below
                _logger.exception("worker: browser calls did not stop cleanly")
            stream.stop()
            stream_thread.join(5)
            pool.shutdown(wait=False, cancel_futures=True)
            recordings.stop()
            phonebook.stop()
            client.close()

    def _hand_over(self, stream, stream_thread, pool):
        """Let another worker act for this server: stop reading events, process and write
        what was read, then return (run() lets the lock go). The next actor's snapshot and
        call log pick up from ``last_event_at``, written here once nothing is left pending."""
        _logger.info("worker: handing 3CX server %s (%s) over to another worker; this one "
                     "acts for %s", self.server_id, self.db, self.share.describe())
        stream.stop()
        stream_thread.join(5)
        deadline = time.monotonic() + HAND_OVER_WRITE
        while time.monotonic() < deadline:
            items = self._drain()
            self._process(items, pool)
            self._flush()
            if not items and not self.pending and not self._lookups and self.inbox.empty():
                break
        self._write_health(state="not_connected", error="")  # "closed by 3CX" is no fault

    # -- click-to-call and presence (the worker holds the one token, so it dials) -------------

    def _listen(self, lock, channel):
        with lock.conn.cursor() as cr:
            cr.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))

    def _notified(self, lock):
        try:
            lock.conn.poll()
        except DB_ERRORS:
            return False
        if lock.conn.notifies:
            lock.conn.notifies.clear()
            return True
        return False

    def _dial_pending(self):
        """Place the realtors' click-to-call requests (``threecx.dial.request``), each once.

        A request is claimed (``pending`` -> ``dialing``) and the claim committed before 3CX
        is asked, so neither another worker nor this one after a crash places it again.
        Requests older than ``DIAL_EXPIRY`` are left alone: their page gave up on them. The
        answer is written, and sent on the bus to the realtor, in one transaction.
        """
        try:
            with self.odoo.cursor() as cr:
                cr.execute(
                    "UPDATE threecx_dial_request r SET state = 'dialing', "
                    "write_date = now() at time zone 'utc' "
                    "FROM res_users u JOIN res_partner p ON p.id = u.partner_id "
                    "WHERE u.id = r.user_id AND r.id IN (SELECT id FROM threecx_dial_request "
                    "WHERE server_id = %s AND state = 'pending' AND create_date > "
                    "(now() at time zone 'utc') - make_interval(secs => %s) "
                    "FOR UPDATE SKIP LOCKED) RETURNING r.id, r.client_ref, r.extension, "
                    "r.destination, r.user_id, r.action, r.call_id, p.lang",
                    (self.server_id, DIAL_EXPIRY))
                requests_ = sorted(cr.fetchall())
                if not requests_:
                    return
                env = self.odoo.env(cr)
                for request_id, client_ref, _extension, _destination, user_id, *_rest \
                        in requests_:
                    self._dial_answer(env, user_id, request_id, client_ref, "dialing", "")
                cr.commit()
        except DB_ERRORS as exc:
            _logger.warning("worker: cannot read click-to-call requests: %s", exc)
            return
        answers = []
        for request_id, client_ref, extension, destination, user_id, action, call_id, lang \
                in requests_:
            extra = {}
            if action == "makecall":
                ok, message, call_id = self._dial(extension, destination)
            elif action == "transfer":
                ok, message = self._transfer_browser_call(call_id, destination)
            else:
                ok, message, extra = self._leg_action(action, extension, call_id)
            answers.append((request_id, client_ref, user_id, "done" if ok else "failed",
                            in_lang(message, lang), call_id, extra))
        try:
            with self.odoo.cursor() as cr:
                env = self.odoo.env(cr)
                for request_id, client_ref, user_id, state, message, call_id, extra \
                        in answers:
                    cr.execute(
                        "UPDATE threecx_dial_request SET state = %s, message = %s, call_id = %s,"
                        " write_date = now() at time zone 'utc' WHERE id = %s",
                        (state, message, call_id, request_id))
                    self._dial_answer(env, user_id, request_id, client_ref, state, message,
                                      call_id=call_id, **extra)
                cr.commit()
        except DB_ERRORS as exc:
            # Placed (or not) all the same; the page says it had no answer.
            _logger.warning("worker: cannot record the answers of %d click-to-call requests: "
                            "%s", len(answers), exc)

    def _dial_answer(self, env, user_id, request_id, client_ref, state, message, **extra):
        """Tell the realtor's pages (the bus, at this transaction's commit) where a dial
        request is; call_service.js matches ``client_ref`` to its click."""
        env["res.users"].browse(user_id).partner_id._bus_send(
            DIAL_ANSWER, {"request_id": request_id, "client_ref": client_ref, "state": state,
                          "message": message, **extra})

    # -- the admin's *Test connection* (threecx.server.action_test_connection) ---------------

    def _test_pending(self):
        try:
            with self.odoo.cursor() as cr:
                cr.execute(
                    "SELECT 1 FROM threecx_connection_test WHERE server_id = %s AND "
                    "state = 'pending' AND create_date > "
                    "(now() at time zone 'utc') - make_interval(secs => %s) LIMIT 1",
                    (self.server_id, TEST_EXPIRY))
                return bool(cr.fetchone())
        except DB_ERRORS:
            return False

    def _answer_test(self, client):
        """Run the pending connection tests of this server and store the report; True if it
        passed, None when no test was waiting.

        ``client`` is the live session's: its token is reused, so 3CX revokes nothing and the
        event connection stays up. Without one (3CX refused us), a client of its own mints a
        token. Several requests waiting (a double click) share one test.
        """
        try:
            with self.odoo.cursor() as cr:
                # Claimed in a transaction of its own: two workers never run the same test,
                # and the admin's form shows "Testing" while 3CX answers.
                cr.execute(
                    "UPDATE threecx_connection_test SET state = 'running', "
                    "write_date = now() at time zone 'utc' WHERE server_id = %s AND "
                    "state = 'pending' AND create_date > "
                    "(now() at time zone 'utc') - make_interval(secs => %s) RETURNING id",
                    (self.server_id, TEST_EXPIRY))
                test_ids = [row[0] for row in cr.fetchall()]
                cr.commit()
        except DB_ERRORS as exc:
            _logger.warning("worker: cannot read connection tests: %s", exc)
            return None
        if not test_ids:
            return None
        own = None
        try:
            if client is None:
                settings = self._load_server()
                client = own = ThreecxClient(settings["base_url"], settings["client_id"],
                                             settings["secret"])
            report = client.test_connection()
        except Fatal as exc:  # archived meanwhile, or the worker cannot read the secret
            report = ConnectionReport(problems=[Problem(UNEXPECTED, str(exc))])
        except Exception as exc:  # noqa: BLE001 (the admin gets an answer whatever failed)
            _logger.exception("worker: connection test of 3CX server %s failed", self.server_id)
            report = ConnectionReport(problems=[Problem(UNEXPECTED, str(exc))])
        finally:
            if own is not None:
                own.close()
        try:
            with self.odoo.cursor() as cr:
                env = self.odoo.env(cr)
                for test in env["threecx.connection.test"].browse(test_ids):
                    test.with_context(lang=test.user_id.lang or "en_US")._done(report)
                env.flush_all()
                cr.commit()
        except DB_ERRORS as exc:
            _logger.warning("worker: cannot store the connection test of 3CX server %s: %s",
                            self.server_id, exc)
        return report.ok

    def _dial(self, extension, destination):
        try:
            result = self.client.callcontrol.makecall(extension, destination)
        except NotFoundError:
            return False, _("3CX does not know extension %(extension)s (or its phone "
                            "re-registered): check the extension map.",
                            extension=extension), None
        except ForbiddenError:
            return False, _("3CX does not let Odoo control extension %(extension)s: add it to "
                            "the API integration's extensions in 3CX.",
                            extension=extension), None
        except ThreecxError as exc:
            return False, _("3CX could not place the call: %(reason)s",
                            reason=exc.reason or exc), None
        leg = result.participant
        _logger.info("worker: click-to-call from %s to %s placed", extension, destination)
        return True, "", str(leg.callid) if leg and leg.callid is not None else None

    def _leg_action(self, action, extension, call_id):
        """Answer or drop the realtor's ringing leg of a 3CX call: (ok, message, what else
        the page is told).

        3CX answers a leg remotely only on a phone that accepts remote control: the leg says
        so in ``direct_control``, and ``answer`` on one that cannot is refused with 422
        (docs/3cx-api.md §9). Then 3CX is not asked at all, and the page is told
        ``remote_answer: false``, so the pop-up says to pick up the handset and offers to
        answer in the browser instead. Declining (``drop``) works on any phone.
        """
        legs = self.tracker.calls.get(str(call_id))
        leg = next((leg for (dn, _pid), leg in (legs.legs.items() if legs else ())
                    if dn == extension and leg.status == "Ringing"), None)
        if leg is None:
            return False, _("The call no longer rings on extension %(extension)s.",
                            extension=extension), {}
        no_remote = (False, _("Your phone cannot be answered from Odoo (3CX cannot control "
                              "it remotely): pick up the handset, or answer here in the "
                              "browser."), {"remote_answer": False})
        if action == "answer" and leg.direct_control is False:
            return no_remote
        try:
            if action == "answer":
                self.client.callcontrol.answer(extension, leg.id)
            else:
                self.client.callcontrol.drop(extension, leg.id)
        except InvalidRequestError as exc:
            if action == "answer" and exc.status == 422 and leg.direct_control is not True:
                return no_remote  # the leg did not say; 3CX's refusal does
            return False, _("3CX refused: %(reason)s", reason=exc.reason or exc), {}
        except ThreecxError as exc:
            return False, _("3CX refused: %(reason)s", reason=exc.reason or exc), {}
        return True, "", {}

    # -- browser calls (WebRTC bridged to the route point's audio streams) ---------------------

    def _softphone_pending(self):
        """Answer the browsers' offers: each claimed (``offered`` -> ``connecting``, committed)
        before its call is placed, so it is dialled once; an offer too old (its page gave up,
        or Odoo or this worker restarted meanwhile) or malformed is refused, never dialled.
        The set-up itself runs off the main loop (:meth:`_bridge_started` answers the page)."""
        claimed = []
        try:
            with self.odoo.cursor() as cr:
                cr.execute(
                    "SELECT s.id, s.extension, s.destination, s.offer, s.state, s.call_id, "
                    "s.resumes_id, s.create_date < "
                    "(now() at time zone 'utc') - make_interval(secs => %s) "
                    "FROM threecx_softphone_session s "
                    "WHERE s.server_id = %s AND (s.state = 'offered' "
                    "OR (s.state = 'ended' AND s.id = ANY(%s))) FOR UPDATE OF s SKIP LOCKED",
                    (OFFER_MAX_AGE, self.server_id, [*self.bridges, *self._starting] or [0]))
                for row in cr.fetchall():
                    session_id, offer, state, expired = row[0], row[3], row[4], row[7]
                    if state == "ended":
                        # The page hung up: on the line, or while its call is being set up.
                        self._end_bridge(session_id, "", write=False)
                        continue
                    problem = "expired" if expired else offer_problem(offer)
                    if problem:
                        _logger.info("worker: browser call %s refused, not dialled: %s",
                                     session_id, problem)
                        refusal = {"state": "failed", "retry": True, "message": _(
                            "The telephony service took too long to answer: call again.")} \
                            if expired else {"state": "failed", "message": _(
                                "The browser sent no valid WebRTC offer.")}
                        self._answer_offer(cr, session_id, refusal, expect="offered")
                        continue
                    cr.execute("UPDATE threecx_softphone_session SET state = 'connecting' "
                               "WHERE id = %s", (session_id,))
                    claimed.append(row)
                cr.commit()
        except DB_ERRORS as exc:
            _logger.warning("worker: cannot read browser calls: %s", exc)
            claimed = []  # not committed: still offered, for the next round
        for row in claimed:
            session_id, extension, destination, offer, _state, call_id, resumes_id = row[:7]
            if resumes_id:
                values = self._resume_bridge(session_id, resumes_id, offer)
            else:
                values = self._open_bridge(session_id, extension, destination, offer, call_id)
            if values is not None:  # refused at once; else set up off the main loop
                self._write_session(session_id, values)
        self._expire_detached()

    def _answer_offer(self, cr, session_id, values, expect="connecting", moved_from=None):
        """Record the worker's answer to an offer and send it to the user's pages (the bus,
        delivered at commit), only while the session is still ``expect``: False when its page
        cancelled it or gave up meanwhile."""
        cr.execute(
            "SELECT s.user_id, p.lang, s.client_ref FROM threecx_softphone_session s "
            "JOIN res_users u ON u.id = s.user_id "
            "JOIN res_partner p ON p.id = u.partner_id WHERE s.id = %s", (session_id,))
        row = cr.fetchone()
        if not row:
            return False
        user_id, lang, client_ref = row
        message = in_lang(values.get("message"), lang)
        cr.execute(
            "UPDATE threecx_softphone_session SET state = %s, answer = %s, message = %s, "
            "call_id = %s, retryable = %s WHERE id = %s AND state = %s RETURNING id",
            (values["state"], values.get("answer"), message, values.get("call_id"),
             values.get("retry", False), session_id, expect))
        if cr.fetchone() is None:
            return False
        if moved_from is not None and values["state"] == "answered":
            self._moved(cr, moved_from, session_id, user_id)
        self.odoo.env(cr)["res.users"].browse(user_id).partner_id._bus_send(
            "realtor_3cx.softphone/answer", {
                "session_id": session_id, "client_ref": client_ref, "state": values["state"],
                "sdp": values.get("answer") or False, "message": message or "",
                "call_id": values.get("call_id") or False,
                "retry": bool(values.get("retry"))})
        return True

    def _still_answered(self, session_id):
        try:
            with self.odoo.cursor() as cr:
                cr.execute("SELECT 1 FROM threecx_softphone_session WHERE id = %s "
                           "AND state = 'answered'", (session_id,))
                return bool(cr.fetchone())
        except DB_ERRORS:
            return False

    def _open_bridge(self, session_id, extension, destination, offer, answer_call_id=None):
        """Place the browser call (or take the ringing one to the route point) and start its
        bridge; None while that goes on off the main loop (the session is answered by
        :meth:`_bridge_started`), else the session's values (a refusal)."""
        if answer_call_id:
            hand_over = self._take_to_route_point(extension, answer_call_id)
            if hand_over is None:
                return {"state": "failed",
                        "message": _("The call no longer rings on your line.")}
            # Its wait for the leg on the route point (up to HAND_OVER_WAIT) is the pool's.
            self._starting[session_id] = {"call_id": str(answer_call_id), "leg_id": None,
                                          "ended": False, "resumes": None}
            self._bridge_job(self._bridge_pool.submit(hand_over), self._handed_over,
                             (session_id, extension, offer))
            return None
        try:
            # From the route point's device, as 3CX's own apps call (docs/3cx-api.md §9).
            leg = self.client.callcontrol.makecall_from_device(self.route_point,
                                                               destination).participant
        except ThreecxError as exc:
            # A refusal's reasontext says why ("reason" is only its category, e.g. "Failed").
            why = getattr(exc, "reasontext", "") or exc.reason or exc
            return {"state": "failed", "message": _("3CX could not connect the call: %(reason)s",
                                                    reason=why)}
        if leg is None:
            return {"state": "failed", "message": _("The call no longer rings on your line.")}
        self._starting[session_id] = {"call_id": str(leg.callid), "leg_id": leg.id,
                                      "ended": False, "resumes": None}
        self._start_bridge(session_id, extension, offer, leg)
        return None

    def _handed_over(self, future, session_id, extension, offer):
        """The realtor's leg reached the route point (or not): bridge it."""
        entry = self._starting[session_id]
        try:
            leg = future.result()
        except ThreecxError as exc:
            leg, failed = None, _("3CX could not connect the call: %(reason)s",
                                  reason=exc.reason or exc)
        except Exception as exc:  # cancelled by a stop, or a fault of our own: logged
            _logger.warning("worker: browser call %s not taken to the route point: %s",
                            session_id, str(exc) or type(exc).__name__)
            leg, failed = None, _("The call no longer rings on your line.")
        else:
            failed = None if leg else _("The call no longer rings on your line.")
        if leg is not None and entry["ended"]:
            self._drop_quietly(leg.id)
            failed = _("This call is over.")
        if failed:
            del self._starting[session_id]
            self._write_session(session_id, {"state": "failed", "message": failed})
            return
        entry["leg_id"] = leg.id
        self._start_bridge(session_id, extension, offer, leg)

    def _start_bridge(self, session_id, extension, offer, leg):
        """The 3CX side is up: the call counts as the realtor's from now on (its next view
        says so), and the browser's peer is answered on the media loop."""
        call_id = str(leg.callid)
        self.softphone_calls[call_id] = extension
        self.tracker.adopt(call_id, extension)
        # The first browser call starts the media process (a fork and exec): in the pool, as
        # the rest of the set-up, not on the main loop.
        self._bridge_job(self._bridge_pool.submit(self._media_open, leg.id, offer),
                         self._media_submitted, (session_id,))

    def _media_process(self):
        """This session's media process, started at its first browser call and again after
        one ended (:meth:`_media_ended`); aiortc and PyAV load there, not in the worker."""
        from .media_process import MediaProcess

        with self._media_lock:
            if self._media is None or not self._media.alive:
                self._media = MediaProcess(self.name, self.client.tokens, self.route_point,
                                           self.ice_servers, setup_timeout=BRIDGE_SETUP)
                self._bridge_job(self._media.ended, self._media_ended, (self._media,))
            return self._media

    def _media_open(self, leg_id, offer, previous=None):
        """A bridge for the route point's ``leg_id``: a future of (bridge, answer SDP)."""
        media = self._media_process()
        if previous is not None and previous.media is not media:
            previous = None  # its process ended: nothing of it is left to close
        return media.open(leg_id, offer, previous=previous)

    def _media_ended(self, future, media):
        """A media process ended by itself (a crash): its browser calls end with the reason;
        the next browser call starts another. The other calls' events never waited on it."""
        if future.cancelled():  # the session stops (_stop_bridges)
            return
        reason = future.result()
        with self._media_lock:
            if self._media is media:
                self._media = None
        for session_id, (bridge, _call_id) in list(self.bridges.items()):
            if bridge.media is media:
                self._end_bridge(session_id, reason)

    def _media_submitted(self, future, session_id):
        try:
            started = future.result()
        except Exception as exc:  # cancelled by a stop (the coroutine never ran), or no aiortc
            started = concurrent.futures.Future()
            started.set_exception(exc)
        self._bridge_job(started, self._bridge_started, (session_id,))

    def _bridge_started(self, future, session_id):
        """A set-up (new call, answer Here or resume) is over: answer the page, or fail it."""
        entry = self._starting.pop(session_id)
        previous = entry["resumes"]
        try:
            bridge, answer = future.result()
        except Exception as exc:  # a bad offer, ICE that never completes, a stop
            _logger.warning("worker: browser call %s failed to start: %s", session_id,
                            str(exc) or type(exc).__name__)
            if previous is None:  # the call we placed or took ends (a resume keeps its grace)
                self._drop_quietly(entry["leg_id"])
            self._write_session(session_id, {
                "state": "failed", "retry": not entry["ended"],
                "message": _("This call is over.") if entry["ended"]
                else _("The browser's audio could not be connected.")})
            return
        if entry["ended"]:  # the call ended, or the page hung up, during the set-up
            self._bridge_job(self._bridge_down(bridge, entry["leg_id"]))
            self._write_session(session_id, {"state": "failed",
                                             "message": _("This call is over.")})
            return
        self.bridges[session_id] = (bridge, entry["call_id"])
        self._bridge_legs[session_id] = entry["leg_id"]
        if previous is None:
            _logger.info("worker: browser call %s bridged to 3CX call %s", session_id,
                         entry["call_id"])
        else:
            self.bridges.pop(previous, None)
            self._bridge_legs.pop(previous, None)
            self._detached.pop(previous, None)
            _logger.info("worker: browser call %s resumes %s on 3CX call %s", session_id,
                         previous, entry["call_id"])
        if self._write_session(session_id, {"state": "answered", "answer": answer,
                                            "call_id": entry["call_id"]}, moved_from=previous):
            return
        # Nobody will hear it: the page hung up or gave up during the set-up.
        _logger.info("worker: browser call %s cancelled by its page", session_id)
        if previous is not None and self._still_answered(previous):
            # Only this page's audio is given up: the call stays the session it was, for a
            # page to take back within the grace.
            self.bridges[previous] = self.bridges.pop(session_id)
            self._bridge_legs[previous] = self._bridge_legs.pop(session_id)
        else:
            self._end_bridge(session_id, "")

    def _write_session(self, session_id, values, moved_from=None):
        """Answer a claimed browser call's session (its page waits on the bus): False when
        the page hung up or gave up meanwhile, or the answer could not be written (then the
        page gives up by itself)."""
        try:
            with self.odoo.cursor() as cr:
                if not self._answer_offer(cr, session_id, values, moved_from=moved_from):
                    return False
                cr.commit()
                return True
        except DB_ERRORS as exc:
            _logger.warning("worker: cannot answer browser call %s: %s", session_id, exc)
            return False

    def _bridge_down(self, bridge, leg_id):
        """Close a bridge in its media process (its threads joined), then end its 3CX leg:
        in the bridge pool, a future."""
        return self._bridge_pool.submit(self._close_and_drop, bridge, leg_id)

    def _close_and_drop(self, bridge, leg_id):
        try:
            bridge.close().result(BRIDGE_STOP_WAIT)
        finally:
            _logger.info("worker: bridge of leg %s closed (peer %s, %s B to 3CX, %s B from 3CX)",
                         leg_id, bridge.connection_state, bridge.stats["to_pbx_bytes"],
                         bridge.stats["from_pbx_bytes"])
            self._drop_quietly(leg_id)

    def _bridge_job(self, future, then=None, args=()):
        """``future`` runs off the main loop; once done, ``then(future, *args)`` runs on it
        (:meth:`_bridge_results`), in the order the jobs finished."""
        self._bridge_jobs.add(future)
        results = self._bridge_done  # this session's: a later one starts with its own

        def done(_future):
            results.put((future, then, args))
            self._put(("wake", None, time.time()))  # the main loop may be waiting for events

        future.add_done_callback(done)

    def _bridge_results(self, timeout=0.0):
        """Hand the finished set-ups and tear-downs to the code that waits for them."""
        while True:
            try:
                future, then, args = self._bridge_done.get(timeout=timeout)
            except queue.Empty:
                return
            timeout = 0.0
            self._bridge_jobs.discard(future)
            if then is not None:
                try:
                    then(future, *args)
                except Exception:  # one browser call's fault must not end the session's
                    _logger.exception("worker: a browser call's set-up or close failed")
            elif not future.cancelled() and future.exception() is not None:
                _logger.warning("worker: a browser call's bridge did not close cleanly: %s",
                                future.exception())

    def _stop_bridges(self):
        """The session stops: every bridge closes and its 3CX leg ends, set-ups included
        (cancelled), within ``BRIDGE_STOP_WAIT``."""
        for session_id in list(self.bridges):
            self._end_bridge(session_id, "the worker stopped")
        for entry in self._starting.values():
            entry["ended"] = True
        for future in list(self._bridge_jobs):
            future.cancel()  # a set-up on the media loop stops at once (and closes)
        deadline = time.monotonic() + BRIDGE_STOP_WAIT
        while self._bridge_jobs and time.monotonic() < deadline:
            self._bridge_results(timeout=0.1)
        self._bridge_pool.shutdown(wait=False, cancel_futures=True)
        if self._bridge_jobs:
            _logger.warning("worker: %s browser call set-up(s) or close(s) still running at "
                            "stop", len(self._bridge_jobs))
        self._bridge_done, self._bridge_jobs = queue.Queue(), set()
        with self._media_lock:
            media, self._media = self._media, None
        if media is not None:
            media.stop()  # what is still open closes there, then the process ends

    def _resume_bridge(self, session_id, previous_id, offer):
        """A new browser peer for a call already bridged (a reload, another tab, the realtor
        taking it back): the same 3CX leg, new audio streams; the old peer is let go. None
        while that goes on (in the media process), or the refusal."""
        entry = self.bridges.get(previous_id)
        if entry is None:
            return {"state": "failed", "message": _("This call is over.")}
        if any(starting["resumes"] == previous_id for starting in self._starting.values()):
            # Another page is taking it back right now: this one may try again after.
            return {"state": "failed", "retry": True,
                    "message": _("The browser's audio could not be connected.")}
        old, call_id = entry
        leg_id = self._bridge_legs[previous_id]
        self._starting[session_id] = {"call_id": call_id, "leg_id": leg_id, "ended": False,
                                      "resumes": previous_id}
        self._bridge_job(self._media_open(leg_id, offer, previous=old),
                         self._bridge_started, (session_id,))
        return None

    def _moved(self, cr, previous_id, session_id, user_id):
        """The page that had the call learns it plays elsewhere now (not that it ended)."""
        cr.execute("UPDATE threecx_softphone_session SET state = 'ended', message = 'moved' "
                   "WHERE id = %s", (previous_id,))
        self.odoo.env(cr)["res.users"].browse(user_id).partner_id._bus_send(
            "realtor_3cx.softphone/moved", {"session_id": previous_id, "to": session_id})

    def _expire_detached(self):
        """A browser peer that went away (a reload, a closed tab, a lost network) leaves its
        3CX leg up for ``softphone_grace`` seconds, for a page to take the call back; after
        that the call is hung up, as a desk phone's would be."""
        now = time.monotonic()
        resuming = {starting["resumes"] for starting in self._starting.values()}
        for session_id, (bridge, _call_id) in list(self.bridges.items()):
            if not bridge.closed.is_set() or session_id in resuming:
                self._detached.pop(session_id, None)
                continue
            since = self._detached.setdefault(session_id, now)
            if now - since >= self.config.softphone_grace:
                _logger.info("worker: browser call %s not taken back within %s s: hanging up",
                             session_id, self.config.softphone_grace)
                self._detached.pop(session_id, None)
                self._end_bridge(session_id, "")

    def _leg_gone(self, dn, participant_id):
        """A bridged leg left (hang-up, or transferred away): the browser call is over."""
        if dn != self.route_point:
            return
        for session_id, leg_id in list(self._bridge_legs.items()):
            if leg_id == participant_id:
                self._end_bridge(session_id, "")
        for starting in self._starting.values():
            if starting["leg_id"] == participant_id:
                starting["ended"] = True  # _bridge_started closes what was being set up

    def _transfer_browser_call(self, call_id, destination):
        """Hand a browser call over (to a colleague's extension or a number)."""
        session_id = next((sid for sid, (_bridge, cid) in self.bridges.items()
                           if cid == str(call_id)), None)
        if session_id is None:
            return False, _("This browser call is over.")
        try:
            self.client.callcontrol.transferto(self.route_point, self._bridge_legs[session_id],
                                               destination)
        except ThreecxError as exc:
            return False, _("3CX could not transfer the call: %(reason)s",
                            reason=exc.reason or exc)
        return True, ""

    def _take_to_route_point(self, extension, call_id):
        """Answer in the browser: divert the realtor's ringing leg to the route point, whose
        audio streams the bridge may use, and answer it there. A call the realtor has on the
        desk phone (Connected) comes back the same way, by a transfer to the route point."""
        tracked = self.tracker.calls.get(str(call_id))
        mine = [leg for (dn, _pid), leg in (tracked.legs.items() if tracked else ())
                if dn == extension and leg.status in ("Ringing", "Connected")]
        if not mine:
            return None
        self.tracker.adopt(str(call_id), extension)
        return lambda: self._to_route_point(extension, mine[0], call_id)

    def _to_route_point(self, extension, leg, call_id):
        """In the bridge pool (see _take_to_route_point): the route point's answered leg of
        ``call_id``, or None if it did not show there within ``HAND_OVER_WAIT``."""
        if leg.status == "Ringing":
            self.client.callcontrol.divert(extension, leg.id, self.route_point)
        else:
            self.client.callcontrol.transferto(extension, leg.id, self.route_point)
        deadline = time.monotonic() + HAND_OVER_WAIT
        while time.monotonic() < deadline and not self._stopping():
            for taken in self.client.callcontrol.participants(self.route_point):
                if str(taken.callid) == str(call_id):
                    self.client.callcontrol.answer(self.route_point, taken.id)
                    return taken
            self.stop_event.wait(0.05)
        return None

    def _end_bridge(self, session_id, message, write=True):
        """The browser call is over: the page is told at once; its bridge closes and its 3CX
        leg ends off the main loop (joining the bridge's threads takes seconds)."""
        entry = self.bridges.pop(session_id, None)
        self._detached.pop(session_id, None)
        starting = self._starting.get(session_id)
        if starting is not None:  # hung up during its set-up: _bridge_started ends it
            starting["ended"] = True
        if entry is None:
            return
        bridge, call_id = entry
        for starting in self._starting.values():
            if starting["call_id"] == call_id:  # a page taking it back: nothing to take
                starting["ended"] = True
        _logger.info("worker: browser call %s ended%s", session_id,
                     f": {bridge.reason}" if bridge.reason else "")
        leg_id = self._bridge_legs.pop(session_id, None)
        if write:
            try:
                with self.odoo.cursor() as cr:
                    cr.execute("UPDATE threecx_softphone_session SET state = 'ended', "
                               "message = %s WHERE id = %s RETURNING user_id",
                               (message or None, session_id))
                    row = cr.fetchone()
                    if row:
                        self.odoo.env(cr)["res.users"].browse(row[0]).partner_id._bus_send(
                            "realtor_3cx.softphone/ended", {"session_id": session_id})
                    cr.commit()
            except DB_ERRORS:  # pylint: disable=except-pass
                pass  # best effort: _flush and the lock check report a database outage
        # After the session says so: once 3CX shows the call over, Odoo does too.
        self._bridge_job(self._bridge_down(bridge, leg_id))

    def _drop_quietly(self, participant_id):
        if participant_id is None:
            return
        with contextlib.suppress(ThreecxError):  # already gone
            self.client.callcontrol.drop(self.route_point, participant_id)

    def _refresh_presence(self):
        """Realtors' presence from XAPI Users (profile, registered, queue login), and the
        teams (queues, ring groups) and their members, read as often."""
        try:
            users = list(self.client.xapi.users(select=(
                "Number", "CurrentProfileName", "IsRegistered", "QueueStatus")))
        except ThreecxError as exc:
            _logger.info("worker: presence unavailable: %s", exc)
            return
        try:
            teams = self.client.xapi.teams()
        except ThreecxError as exc:  # an integration role without the queues' read
            _logger.info("worker: queues and ring groups unavailable: %s", exc)
            teams = None
        try:
            with self.odoo.cursor() as cr:
                env = self.odoo.env(cr)
                server = env["threecx.server"].browse(self.server_id)
                env["threecx.extension"]._apply_presence(server, users)
                if teams is not None:
                    env["threecx.team"]._apply_teams(server, teams)
                cr.commit()
        except DB_ERRORS:  # pylint: disable=except-pass
            pass  # best effort: _flush and the lock check report a database outage

    def _run_stream(self, stream):
        try:
            stream.run()
        except (AuthenticationError, ForbiddenError) as exc:
            self._put(("fatal", exc, time.time()))
        except Exception as exc:  # never die silently: the session restarts on it
            self._put(("fatal", exc, time.time()))

    def _put(self, item):
        try:
            self.inbox.put_nowait(item)
        except queue.Full:
            # Too far behind: drop the events and read the whole state instead (same result).
            self.overflowed = True

    def _on_event(self, frame):
        self._put(("event", frame, time.time()))

    def _on_snapshot(self, snapshot):
        self._put(("snapshot", snapshot, time.time()))

    def _on_state(self, connected, detail):
        if connected:
            self.connected_since = time.time()
            self.last_error = ""  # the form must not show a cleared fault beside "Connected"
        else:
            self.connected_since = None
            self.last_error = detail or self.last_error

    def _drain(self):
        items = []
        wait = 0.2
        if self.unreadable:  # a quiet stream must not delay the next read of a withheld leg
            due = min(entry[3] for entry in self.unreadable.values())
            wait = min(wait, max(0.0, due - time.time()))
        try:
            items.append(self.inbox.get(timeout=wait))
        except queue.Empty:
            return items
        gather = self.config.batch_ms / 1000
        if self.unreadable:  # nor may the gathering: that leg's pop-up waits for its read
            due = min(entry[3] for entry in self.unreadable.values())
            gather = min(gather, max(0.0, due - time.time()))
        deadline = time.monotonic() + gather
        while len(items) < 20000:
            remaining = deadline - time.monotonic()
            try:
                items.append(self.inbox.get(timeout=max(0, remaining)) if remaining > 0
                             else self.inbox.get_nowait())
            except queue.Empty:
                break
        return items

    def _process(self, items, pool):
        tracker = self.tracker
        changed = set()
        upsets = {}  # (dn, participant id) -> entity path, coalesced
        upset_at = {}  # (dn, participant id) -> arrival of its first Upset in the batch
        upset_last = {}  # (dn, participant id) -> arrival of its last Upset in the batch
        removes = []
        for kind, payload, at in items:
            if kind == "wake":  # a browser call's set-up or tear-down is done
                continue
            if kind == "fatal":
                if isinstance(payload, (AuthenticationError, ForbiddenError)):
                    raise Fatal(str(payload))
                raise payload
            if kind == "snapshot":
                upsets.clear()
                removes.clear()
                self.unreadable.clear()  # the snapshot shows every leg
                changed |= tracker.apply_snapshot(payload, at)
                self.needs_reconcile = True
                self.stats["snapshots"] += 1
                continue
            self.event_times.append(at)
            entity = payload.entity
            if entity.kind != "participants" or payload.event_type == EventType.DTMF:
                continue
            key = (entity.dn, entity.participant_id)
            if payload.event_type == EventType.REMOVE:
                upsets.pop(key, None)
                removes.append(key)
            elif payload.event_type == EventType.UPSET:
                upsets[key] = entity.path
                upset_at.setdefault(key, at)
                upset_last[key] = at
        now = time.time()
        self._upset_at = upset_at
        # A leg read by a read that began after its last Upset arrived is known as that Upset
        # left it (or newer): no second read. When the worker falls behind, the repeats
        # queued behind a whole-state read cost nothing, instead of another whole-state read.
        read_from = self._read_from
        for key, at in upset_last.items():
            if read_from.get(key, -1.0) >= at and tracker.knows(*key):
                upsets.pop(key, None)  # (a Remove or a snapshot later in the batch took it)
        if len(read_from) > 4 * len(tracker.calls) + 1000:  # legs gone without a Remove
            self._read_from = read_from = {k: t for k, t in read_from.items()
                                           if tracker.knows(*k)}
        # Legs this batch names that no live call has: if they are still unknown after the
        # reads, they came and went between two reads (the worker was behind; an Upset and
        # its Remove in one batch are the common case).
        unseen = [key for key in (*upsets, *removes) if not tracker.knows(*key)]
        for dn, pid in removes:
            self.unreadable.pop((dn, pid), None)
            read_from.pop((dn, pid), None)
            changed.add(tracker.remove(dn, pid, now))
            self._leg_gone(dn, pid)
        for key, (path, _since, _misses, due) in self.unreadable.items():
            if due <= now:
                upsets.setdefault(key, path)  # not readable last time: again, as scheduled
        by_dn = {}
        for key, path in upsets.items():
            by_dn.setdefault(key[0], {})[key] = path
        if self.overflowed or len(upsets) > SNAPSHOT_THRESHOLD or len(by_dn) > SNAPSHOT_DNS:
            # Many legs moved (or repeated): one read of everything beats one read per leg.
            self.overflowed = False
            fresh = {key: path for key, path in upsets.items() if not tracker.knows(*key)}
            snapshot = self.client.callcontrol.snapshot()
            shown = {(p.dn or dn.dn, p.id) for dn in snapshot for p in dn.participants}
            changed |= tracker.apply_snapshot(snapshot, now)
            self.stats["snapshots"] += 1
            self._read_from = {key: now for key in shown}
            for key in shown:
                self._shown(key, now)
            for key, path in fresh.items():  # announced, not shown yet: read it again
                if key not in shown:
                    self._unreadable(key, path, now)
        elif upsets:
            # One read per DN: a DN's participant list when several of its legs are pending.
            jobs = [(dn, keys) for dn, keys in by_dn.items()]
            for (dn, keys), result in zip(jobs, pool.map(self._read_dn, jobs), strict=True):
                if isinstance(result, list):
                    shown = {(leg.dn or dn, leg.id) for leg in result}
                    waiting = {key for key in keys if key not in shown and self._unreadable(
                        key, keys[key], now)}
                    changed |= tracker.apply_dn(dn, result, now, keep=waiting)
                    for key in shown:
                        self._shown(key, now)
                        read_from[key] = now
                    continue
                for key, leg in result.items():
                    if leg is not None:
                        self._shown(key, now)
                        read_from[key] = now
                        changed.add(tracker.upsert(leg, now))
                    elif not self._unreadable(key, keys[key], now):
                        changed.add(tracker.remove(*key, now))
                        self._leg_gone(*key)
        vanished = [key for key in unseen if not tracker.knows(*key)]
        if vanished:
            # Their whole call may have gone by: the call log has it (see _catch_up).
            first = min(at for kind, _payload, at in items if kind == "event")
            self.catch_up_since = min(self.catch_up_since or first, first)
        hold_from = min((entry[1] for entry in self.unreadable.values()), default=None)
        changed |= set(tracker.tick(now, hold_from))
        changed.discard(None)
        if items:
            self.stats["batches"] += 1
            self.read_through = max(at for _kind, _payload, at in items)
        views = [tracker.view(cid) for cid in changed]
        finished = tracker.take_finished()
        for view in finished:
            for session_id, (_bridge, call_id) in list(self.bridges.items()):
                if call_id == view.call_id:  # the far end hung up: end the browser call
                    self._end_bridge(session_id, "")
            for starting in self._starting.values():
                if starting["call_id"] == view.call_id:  # over before its audio was up
                    starting["ended"] = True
            if view.answer_at is None:
                # How it ended (answered after all? voicemail? busy?) is 3CX's call log's to
                # say: read in the pool, not on this loop (a request per missed call, which
                # the next call's pop-up would wait for); queued once read (_looked_up).
                self._lookups[view.call_id] = (pool.submit(self._call_log_row, view.call_id),
                                               view)
                continue
            self._queue_view(view)
        for view in views:
            if view is not None:
                self._queue_view(view)
        self._looked_up()

    def _looked_up(self):
        """Queue the ended calls whose call-log row has been read."""
        for call_id, (future, view) in list(self._lookups.items()):
            if not future.done():
                continue
            del self._lookups[call_id]
            try:
                row = future.result()
            except Exception as exc:  # cancelled by a stop, or a fault of ours: as without
                _logger.info("worker: no call-log row for call %s: %s", call_id, exc)
                row = {}
            self._queue_view(with_call_log(view, row))

    def _unreadable(self, key, path, now):
        """A leg 3CX announced answered 404: True while it may still show up (see
        ``UNREADABLE_FOR``), with its next read scheduled (``RETRY_STEP``), False once it is
        taken as gone."""
        entry = self.unreadable.get(key)
        if entry is None:
            entry = self.unreadable[key] = [path, self._upset_at.get(key, now), 0, now]
        since = entry[1]
        if now - since >= UNREADABLE_FOR:
            self.unreadable.pop(key, None)
            return False
        entry[2] += 1
        step = min(RETRY_STEP * 2 ** max(0, entry[2] - 2), RETRY_STEP_MAX)
        if self.shown_after:
            expected = since + min(self.shown_after)
            if now < expected - RETRY_STEP:  # first, the moment such legs showed lately
                step = expected - RETRY_STEP / 4 - now
            else:
                # Around it every step, whatever read missed it meanwhile (another leg's read
                # of the DN's list counts too): the leg shows any moment. Past that, steps as
                # long as the time past it, up to RETRY_STEP_MAX.
                step = min(max(RETRY_STEP, now - expected - RETRY_FAST_FOR), RETRY_STEP_MAX)
        entry[3] = now + step
        return True

    def _shown(self, key, now):
        """A read showed the leg: if it was withheld, how long that took is learnt."""
        entry = self.unreadable.pop(key, None)
        if entry is not None:
            self.shown_after.append(now - entry[1])

    def _read_dn(self, job):
        """A DN's legs: its whole list (several pending) or the one leg, as {key: leg}."""
        dn, keys = job
        if len(keys) > 1:
            try:
                self.stats["fetches"] += 1
                return list(self.client.callcontrol.participants(dn))
            except NotFoundError:
                return []
        ((key, path),) = keys.items()
        return {key: self._fetch(path)}

    def _fetch(self, path):
        try:
            body = self.client.callcontrol.entity(path)
            self.stats["fetches"] += 1
            return parse_participant(body)
        except NotFoundError:
            return None  # gone already: the Upset raced its Remove
        except ProtocolError as exc:
            _logger.warning("worker: 3CX returned a malformed leg for %s: %s", path, exc)
            return None

    def _call_log_row(self, call_id):
        """3CX's call-log row of a call that ended unanswered as far as its legs told (was
        it answered after all? voicemail? busy?), or ``{}``."""
        try:
            rows = list(self.client.xapi.call_log(
                time.time() - 86400, time.time() + 60, filter=f"CallId eq {int(call_id)}",
                page_size=5))
        except (ThreecxError, ValueError) as exc:
            _logger.info("worker: no call-log row for call %s: %s", call_id, exc)
            return {}
        return rows[0] if rows else {}

    def _queue_view(self, view):
        data = view.as_dict()
        owner = self.softphone_calls.get(view.call_id)
        if owner and not data["extension"]:
            # A browser call runs on the route point: the realtor is who placed it.
            data["extension"] = owner
            data["chain"] = data["chain"] or (owner,)
        told = self.notified.setdefault(view.call_id, set())
        fresh = set(view.ringing) - told
        told |= fresh
        previous = self.pending.get(view.call_id)
        if previous:
            fresh |= set(previous.get("notify_ringing", ()))
        data["notify_ringing"] = sorted(fresh & set(view.ringing)) if view.live else []
        # Since when the call has waited for the database (see _not_now).
        data["queued_at"] = previous["queued_at"] if previous else time.monotonic()
        self.pending[view.call_id] = data
        if not view.live:
            self.notified.pop(view.call_id, None)

    # -- database ----------------------------------------------------------------------------

    def _flush(self):
        if time.monotonic() < self.db_retry_at:
            return
        catch_up = self.catch_up_since is not None and time.monotonic() >= self.next_catch_up
        if not self.pending and not self.needs_reconcile and not catch_up:
            if not self._lookups:  # an ended call's view still to come: not synced yet
                self.synced_through = self.read_through
            return
        try:
            with self.odoo.cursor() as cr:
                env = self.odoo.env(cr)
                server = env["threecx.server"].browse(self.server_id)
                # A backlog (thousands of calls after a long outage or a reconnect) is written
                # in steps, live calls first, each step committed: a fault midway loses none
                # of the steps already written, and events are read in between.
                views = sorted(self.pending.values(),
                               key=lambda view: view["state"] not in LIVE_STATES)[:FLUSH_CHUNK]
                # Calls that start ringing go first, committed on their own before anything
                # else of the round (a reconcile, the call log's catch-up, the other calls'
                # answers, ends and call-backs): a realtor's pop-up waits for none of them.
                ringing = [view for view in views if view.get("notify_ringing")]
                rest = [view for view in views if not view.get("notify_ringing")]
                if ringing and (rest or self.needs_reconcile or catch_up):
                    env["threecx.call"]._sync_from_3cx(server, ringing)
                    cr.commit()
                    self._flushed(ringing)
                    views = rest
                if self.needs_reconcile:
                    self._reconcile(env, server)
                elif catch_up:
                    self._catch_up(env, server)
                views = self._not_now(views)
                if views:
                    env["threecx.call"]._sync_from_3cx(server, views)
                cr.commit()
        except DB_ERRORS as exc:
            if self.db_down_since is None:
                self.db_down_since = time.monotonic()
            self.db_retry_at = time.monotonic() + min(5.0, 0.5 + (time.monotonic()
                                                                  - self.db_down_since) / 4)
            _logger.warning("worker: database unavailable, %s call(s) held: %s",
                            len(self.pending), str(exc).strip().splitlines()[0] if str(exc)
                            else type(exc).__name__)
            return
        if self.db_down_since is not None:
            _logger.info("worker: database back after %.1f s", time.monotonic()
                         - self.db_down_since)
            self.db_down_since = None
        self._flushed(views)
        if not self.pending and not self._lookups:
            self.synced_through = self.read_through
        if self.needs_reconcile or catch_up:  # the reconcile reads the log as far back
            self.catch_up_since = None
            self.next_catch_up = time.monotonic() + CATCH_UP_INTERVAL
        self.needs_reconcile = False

    def _not_now(self, views):
        """``views`` less the ended calls that wait for a later round: while a withheld leg is
        about to be read again (``FINAL_SOON``), each for ``FINAL_WAIT`` at most since it was
        queued. An ended call's write (a missed call's call-back activity and its e-mail,
        ~100 ms) would hold that read, and the pop-up of the call it rings, for as long."""
        if not self.unreadable or not any(view["state"] not in LIVE_STATES for view in views):
            return views
        due = min(entry[3] for entry in self.unreadable.values())
        if due - time.time() > FINAL_SOON:
            return views
        now = time.monotonic()
        return [view for view in views if view["state"] in LIVE_STATES
                or now - view.get("queued_at", 0.0) >= FINAL_WAIT]  # a reconcile's: now

    def _flushed(self, views):
        self.stats["writes"] += len(views)
        for view in views:
            self.pending.pop(view["call_id"], None)

    def _reconcile(self, env, server):
        """After (re)connecting: settle what happened while nobody listened.

        Calls logged live in Odoo that 3CX no longer has ended meanwhile; calls that began and
        ended entirely while we were away exist only in 3CX's call log: import them.
        """
        calls = env["threecx.call"]
        open_calls = calls.search([("server_id", "=", server.id), ("state", "in", LIVE_STATES)])
        gone = [c for c in open_calls if c.call_id not in self.tracker.calls
                and c.call_id not in self.pending and c.call_id not in self._lookups]
        for call in gone:
            self.pending[call.call_id] = self._ended_view(call)
        since = server.last_event_at or fields_now() - datetime.timedelta(hours=1)
        since = since.replace(tzinfo=datetime.timezone.utc).timestamp() - 300
        if self.catch_up_since is not None:
            since = min(since, self.catch_up_since - CATCH_UP_MARGIN)
        self._import_call_log(env, server, since, "happened while disconnected")

    def _catch_up(self, env, server):
        """Legs came and went before the worker could read them (it was behind): their calls
        are in 3CX's call log. Import those Odoo lacks, as after a reconnect."""
        self._import_call_log(env, server, self.catch_up_since - CATCH_UP_MARGIN,
                              "went by before its legs could be read")

    def _import_call_log(self, env, server, since, why):
        """Import the calls of the call log since ``since`` (UNIX seconds) that Odoo, the
        tracker and the pending writes all lack."""
        calls = env["threecx.call"]
        try:
            rows = list(self.client.xapi.call_log(
                since, datetime.datetime.now(datetime.timezone.utc)
                + datetime.timedelta(minutes=1)))
        except ThreecxError as exc:
            _logger.warning("worker: cannot read the 3CX call log to catch up: %s", exc)
            return
        ids = {str(row.get("CallId")) for row in rows}
        known = set(calls.search([("server_id", "=", server.id),
                                  ("call_id", "in", list(ids))]).mapped("call_id"))
        for row in rows:
            call_id = str(row.get("CallId"))
            if call_id in known or call_id in self.pending or call_id in self.tracker.calls \
                    or call_id in self._lookups:
                continue
            view = view_from_call_log(row)
            if view is not None:
                self.pending[call_id] = view
                _logger.info("worker: call %s %s: imported from the call log", call_id, why)

    def _ended_view(self, call):
        """The final view of a call that ended unseen, from the XAPI call log when it can."""
        row = {}
        try:
            rows = list(self.client.xapi.call_log(
                call.start_at.timestamp() - 3600, time.time() + 60,
                filter=f"CallId eq {int(call.call_id)}", page_size=5))
            row = rows[0] if rows else {}
        except (ThreecxError, ValueError) as exc:
            _logger.info("worker: call log unavailable for call %s: %s", call.call_id, exc)
        start = call.start_at.replace(tzinfo=datetime.timezone.utc).timestamp()
        answered = row.get("Answered", bool(call.answer_at))
        ringing = iso_seconds(row.get("RingingDuration"))
        talking = iso_seconds(row.get("TalkingDuration"))
        answer_at = (call.answer_at.replace(tzinfo=datetime.timezone.utc)
                     .timestamp() if call.answer_at else (start + ringing if answered else None))
        end_at = (answer_at + talking) if answer_at and row else (
            start + ringing if row else time.time())
        if answered:
            state = "completed"
        elif call.direction == "inbound":
            state = "voicemail" if row.get("Reason") == "Voicemail" else "missed"
        else:
            state = "busy" if row.get("Reason") == "Busy" else "failed"
        return {"call_id": call.call_id, "direction": call.direction, "state": state,
                "external_number": call.external_number or "", "external_name": "",
                "did_number": call.did_number or "", "extension": call.extension or "",
                "chain": tuple((call.transfer_path or "").split(" → ")) if call.transfer_path
                else (), "ringing": (), "rung": (call.extension,) if call.extension else (),
                "queue": call.queue or "", "start_at": start, "answer_at": answer_at,
                "end_at": max(end_at, answer_at or start), "notify_ringing": []}

    def _load_server(self):
        with self.odoo.cursor() as cr:
            server = self.odoo.env(cr)["threecx.server"].browse(self.server_id)
            if not server.exists() or not server.active:
                raise Fatal("the server record is archived or deleted")
            try:
                secret = server._get_api_secret()
            except Exception as exc:  # UserError: no secret, or no key to read it
                raise Fatal(str(exc)) from None
            return {"base_url": server.base_url, "client_id": server.client_id or "",
                    "secret": secret, "ice_servers": server._ice_servers()}

    def _write_health(self, state=None, error=None):
        now = time.time()
        while self.event_times and self.event_times[0] < now - 60:
            self.event_times.popleft()
        connected = self.connected_since
        values = {
            "connection_state": state or ("connected" if connected else "connecting"),
            "events_per_minute": len(self.event_times),
            "connected_since": _utc(connected) if connected else False,
            "acting_worker": worker_name() if state != "not_connected" else False,
        }
        if self.synced_through:
            values["last_event_at"] = _utc(self.synced_through)
        error = self.last_error if error is None else error
        if error is not None:
            values["last_error"] = error or False
        try:
            with self.odoo.cursor() as cr:
                server = self.odoo.env(cr)["threecx.server"].browse(self.server_id)
                if server.exists():
                    server.write(values)
                cr.commit()
        except DB_ERRORS:  # pylint: disable=except-pass
            pass  # health waits for the database like everything else


def _utc(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).replace(tzinfo=None)


def fields_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _epoch(value):
    """An XAPI DateTimeOffset (``2025-03-01T10:00:00Z``) as UNIX seconds."""
    text = str(value or "").replace("Z", "+00:00")
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.timestamp()


def view_from_call_log(row):
    """A final view from one ``GetCallLogData`` row (a call the worker never saw live)."""
    start = _epoch(row.get("StartTime"))
    if start is None or row.get("CallId") is None:
        return None
    direction = {"Inbound": "inbound", "Outbound": "outbound"}.get(row.get("Direction"),
                                                                    "internal")
    answered = bool(row.get("Answered"))
    ringing = iso_seconds(row.get("RingingDuration"))
    talking = iso_seconds(row.get("TalkingDuration"))
    answer_at = start + ringing if answered else None
    end_at = (answer_at + talking) if answered else start + ringing
    inbound = direction == "inbound"
    extension = str((row.get("DestinationDn") if inbound else row.get("SourceDn")) or "")
    external = str((row.get("SourceCallerId") if inbound else row.get("DestinationCallerId"))
                   or "")
    reason = row.get("Reason")
    if answered:
        state = "completed"
    elif inbound:
        state = "voicemail" if reason == "Voicemail" else "missed"
    else:
        state = "busy" if reason == "Busy" else "failed"
    return {"call_id": str(row["CallId"]), "direction": direction, "state": state,
            "external_number": external, "external_name": str(row.get("SourceDisplayName")
                                                              or "") if inbound else "",
            "did_number": "", "extension": extension, "chain": (extension,) if answered and
            extension else (), "ringing": (), "rung": (extension,) if extension else (),
            "queue": "", "start_at": start, "answer_at": answer_at, "end_at": end_at,
            "notify_ringing": []}
