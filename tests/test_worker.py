# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""End to end: the real worker process, a real Odoo database and the 3CX simulator.

Every test checks the call records against the simulator's ground truth (``GET /_sim/calls``).
"""

import datetime
import itertools
import json
import os
import signal
import time
import zoneinfo

import pytest
from threecx_sim import SECRET, control, running_simulator, wait_for
from worker_env import QUIRKS, OdooDb, Worker, postgres

from realtor_3cx.threecx.client import ThreecxClient

CALLER = "+15550108001"
UNKNOWN = "+15550108777"
DID = "+15550108900"
SERIAL = itertools.count()
EPOCH = datetime.datetime(1970, 1, 1)
# PostgreSQL stopped under the worker: a query in flight at that moment fails, and Odoo logs
# it at ERROR before the worker's retry (what these tests check) takes over.
POSTGRESQL_STOPPED = pytest.mark.tolerates(
    r"odoo\.sql_db: bad query: [\s\S]*ERROR: (server closed the connection unexpectedly|"
    r"terminating connection due to administrator command)",
    why="the test stops PostgreSQL under the worker")


@pytest.fixture(scope="module")
def db():
    return OdooDb()


@pytest.fixture(scope="module")
def people(db):
    """Three realtors, a known caller and a listing with its own line (committed)."""
    # Other files use these people too (test_worker_team.py), in the same database.
    tag = f"{os.getpid()}_{next(SERIAL)}"

    def create(env):
        # An earlier file's listing line and caller, set aside: the line is unique, and a
        # second contact on the number would make the lookup ask who is calling.
        env["realtor.property"].search([("listing_phone", "=", DID)]).write(
            {"listing_phone": False})
        env["res.partner"].search([("phone", "=", CALLER)]).write({"phone": False})
        group = env.ref("realtor_3cx.realtor_3cx_group_user")
        users = env["res.users"].create([
            {"name": f"Realtor {n}", "login": f"w_realtor_{n}_{tag}",
             "groups_id": [(6, 0, [group.id, env.ref("base.group_user").id])]}
            for n in ("A", "B", "C")])
        env.company.country_id = env.ref("base.us")
        partner = env["res.partner"].create({"name": "Pat Caller", "phone": CALLER})
        listing = env["realtor.property"].create({
            "name": "1 Test Lane", "listing_phone": DID, "listing_agent_id": users[1].id})
        return {"users": users.ids, "partner": partner.id, "property": listing.id,
                "partners": users.mapped("partner_id").ids}

    return db.do(create)


@pytest.fixture
def pbx(db, people):
    """A simulator and a server record pointing at it: 101 -> A, 102 -> B, 100 -> C."""
    with running_simulator(**QUIRKS) as sim:
        def create(env):
            server = env["threecx.server"].create({
                "name": f"PBX {next(SERIAL)}", "base_url": sim.url, "client_id": "900",
                "api_secret": SECRET})
            env["threecx.extension"].create([
                {"server_id": server.id, "number": number, "user_id": user}
                for number, user in zip(("101", "102", "100"), people["users"], strict=True)])
            return server.id

        server_id = db.do(create)
        sim.server_id = server_id
        yield sim
        db.do(lambda env: env["threecx.server"].browse(server_id).write({"active": False}))


def start_worker(db, pbx, tmp_path, name="worker"):
    worker = Worker(db, pbx.server_id, tmp_path / f"{name}.log")
    return worker


@pytest.fixture
def worker(db, pbx, tmp_path):
    worker = start_worker(db, pbx, tmp_path)
    wait_connected(db, pbx, worker)
    yield worker
    worker.stop()
    print(worker.output()[-4000:])  # shown by pytest when the test failed


def wait_connected(db, pbx, worker, timeout=30):
    def state():
        assert worker.proc.poll() is None, worker.output()
        return db.do(lambda env: env["threecx.server"].browse(pbx.server_id)
                     .connection_state) == "connected"

    wait_for(state, "the worker to connect", timeout=timeout)


def record(db, pbx, callid, predicate=lambda r: True, what="the call record", timeout=10):
    def find():
        call = db.calls(pbx.server_id).get(str(callid))
        return call if call and predicate(call) else None

    return wait_for(find, what, timeout=timeout)


def truth(pbx, callid):
    return control(pbx, f"calls/{callid}", method="GET")


def inbound(pbx, to="101", frm=CALLER, **extra):
    return control(pbx, "calls/inbound", {"from": frm, "to": to, "did": DID, **extra})["callid"]


def bus_messages(db, kind, partner_id, pbx, callid):
    """Payloads of ``kind`` sent to a realtor's partner about one call of this server."""
    def read(env):
        found = []
        for row in env["bus.bus"].sudo().search([("message", "like", kind)]):
            channel, message = json.loads(row.channel), json.loads(row.message)
            payload = message["payload"]
            if channel[1:] == ["res.partner", partner_id] and message["type"] == kind and \
                    payload["server_id"] == pbx.server_id and payload["call_id"] == str(callid):
                found.append(payload)
        return found

    return db.do(read)


def health(db, pbx):
    """What the worker last wrote about its connection on the server record."""
    return db.do(lambda env: env["threecx.server"].browse(pbx.server_id).read(
        ["events_per_minute", "last_event_at"])[0])


def check_against_truth(call, t):
    """The record says what the PBX lived: answered or not, and the talk time."""
    assert (call["answer_at"] is not False) == (t["answered_at"] is not None)
    if t["answered_at"] and t["ended_at"]:
        assert abs(call["talk_seconds"] - (t["ended_at"] - t["answered_at"])) <= 1.5


def test_inbound_answered_pops_up_logs_and_posts(db, people, pbx, worker):
    callid = inbound(pbx, name="PAT CALLER", ring_seconds=600)
    ringing = record(db, pbx, callid, lambda r: r["state"] == "ringing")
    assert ringing["partner_id"][0] == people["partner"]
    assert ringing["property_id"][0] == people["property"]  # dialled on the listing's line
    assert ringing["user_id"][0] == people["users"][0] and ringing["direction"] == "inbound"
    pops = wait_for(lambda: bus_messages(db, "realtor_3cx.call/ringing", people["partners"][0],
                                         pbx, callid), "the ringing notification")
    assert pops[0]["match"]["partners"][0]["id"] == people["partner"]
    control(pbx, f"calls/{callid}/answer", {"dn": "101"})
    record(db, pbx, callid, lambda r: r["state"] == "connected", "connected")
    time.sleep(1.2)  # they talk: the talk time measured below
    control(pbx, f"calls/{callid}/hangup", {"side": "caller"})
    done = record(db, pbx, callid, lambda r: r["state"] == "completed", "completed")
    check_against_truth(done, truth(pbx, callid))
    assert done["talk_seconds"] >= 1
    assert bus_messages(db, "realtor_3cx.call/answered", people["partners"][0], pbx, callid)
    assert bus_messages(db, "realtor_3cx.call/ended", people["partners"][0], pbx, callid)
    posted = db.do(lambda env: [
        m.body for m in env["mail.message"].search([
            ("model", "in", ("res.partner", "realtor.property")),
            ("res_id", "in", (people["partner"], people["property"])),
            ("body", "like", "Inbound call with Realtor A")])])
    assert len(posted) == 2  # the contact's chatter and the listing's, once each


def far_from_utc_today():
    """A time zone whose day is not UTC's right now (UTC+14 from 10:00 UTC, UTC-11 before
    11:00): a deadline computed on the wrong day fails, whatever the hour of the run."""
    utc_day = datetime.datetime.now(datetime.timezone.utc).date()
    for tz in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
        if datetime.datetime.now(zoneinfo.ZoneInfo(tz)).date() != utc_day:
            return tz
    raise AssertionError("unreachable: one of the two zones is always on another day")


def test_inbound_missed_becomes_a_call_back_activity(db, people, pbx, worker):
    # The listing's agent works on another day than UTC's: "today" is theirs.
    tz = far_from_utc_today()
    db.do(lambda env: env["res.users"].browse(people["users"][1]).write({"tz": tz}))
    # The PBX's usual 20 s of ringing before voicemail (1 s at the tests' speed).
    voicemail = inbound(pbx, ring_seconds=20)
    queue_missed = inbound(pbx, to="800", frm=UNKNOWN, ring_seconds=20)
    one = record(db, pbx, voicemail, lambda r: r["state"] == "voicemail", "voicemail")
    two = record(db, pbx, queue_missed, lambda r: r["state"] == "missed", "missed")
    assert truth(pbx, voicemail)["result"] == "voicemail"
    assert truth(pbx, queue_missed)["result"] == "missed"
    check_against_truth(one, truth(pbx, voicemail))
    check_against_truth(two, truth(pbx, queue_missed))

    def activities(env):
        calls = env["threecx.call"].search([("server_id", "=", pbx.server_id),
                                            ("call_id", "in", [str(voicemail),
                                                               str(queue_missed)])])
        return {c.call_id: [(a.user_id.id, a.summary, a.date_deadline.isoformat())
                            for a in c.activity_ids] for c in calls}

    found = db.do(activities)
    today = datetime.datetime.now(zoneinfo.ZoneInfo(tz)).date().isoformat()
    # The listing's agent (B) calls back the caller who dialled the listing's line.
    assert found[str(voicemail)] == [(people["users"][1], "Call back Pat Caller", today)]
    assert found[str(queue_missed)][0][0] == people["users"][1]


def test_a_call_over_before_the_worker_could_read_it_is_logged(db, pbx, worker):
    # Answered and hung up within milliseconds: by the time the worker reads the legs its
    # Upsets announced, they are gone. 3CX's call log still has the call.
    callid = inbound(pbx, ring_seconds=600)
    control(pbx, f"calls/{callid}/answer", {"dn": "101"})
    control(pbx, f"calls/{callid}/hangup", {"side": "caller"})
    done = record(db, pbx, callid, lambda r: r["state"] == "completed", "completed", timeout=15)
    check_against_truth(done, truth(pbx, callid))


def test_outbound_from_makecall_and_a_busy_line(db, people, pbx, worker):
    client = ThreecxClient(pbx.url, "900", SECRET)
    control(pbx, "scripts", {"destination": "+15550108555", "busy": True})
    leg = client.callcontrol.makecall("100", CALLER).participant
    record(db, pbx, leg.callid, lambda r: r["state"] in ("dialing", "connected"), "dialing")
    record(db, pbx, leg.callid, lambda r: r["state"] == "connected", "the far end answering")
    client.callcontrol.drop("100", leg.id)
    done = record(db, pbx, leg.callid, lambda r: r["state"] == "completed", "completed")
    assert done["direction"] == "outbound" and done["user_id"][0] == people["users"][2]
    assert done["partner_id"][0] == people["partner"]
    check_against_truth(done, truth(pbx, leg.callid))
    busy = client.callcontrol.makecall("100", "+15550108555").participant
    assert record(db, pbx, busy.callid, lambda r: r["state"] == "busy", "busy")["answer_at"] \
        is False
    # The one token: the worker's was revoked by this client's; it re-minted and goes on.
    callid = inbound(pbx, ring_seconds=600)
    record(db, pbx, callid, what="a call after the token changed hands")


def test_transfer_keeps_one_record_and_the_chain(db, people, pbx, worker):
    callid = inbound(pbx, ring_seconds=600)
    control(pbx, f"calls/{callid}/answer", {"dn": "101"})
    record(db, pbx, callid, lambda r: r["state"] == "connected", "connected on 101")
    control(pbx, f"calls/{callid}/transfer", {"dn": "101", "destination": "102"})
    # B's pop-up opens for the transferred caller before B answers.
    wait_for(lambda: bus_messages(db, "realtor_3cx.call/ringing", people["partners"][1], pbx,
                                  callid), "the ringing notification to B")
    control(pbx, f"calls/{callid}/answer", {"dn": "102"})
    record(db, pbx, callid, lambda r: r["transfer_path"] == "101 → 102", "the transfer")
    control(pbx, f"calls/{callid}/hangup", {"side": "caller"})
    done = record(db, pbx, callid, lambda r: r["state"] == "completed", "completed")
    assert done["user_id"][0] == people["users"][1]  # the realtor who ended up with it
    assert len([c for c in db.calls(pbx.server_id) if c == str(callid)]) == 1


def test_upset_repeats_write_nothing(db, pbx, worker):
    callid = inbound(pbx, ring_seconds=600)
    control(pbx, f"calls/{callid}/answer", {"dn": "101"})
    connected = record(db, pbx, callid, lambda r: r["state"] == "connected", "connected")
    # 3CX repeats an Upset for every live leg (every 750 ms here). The worker reads each one
    # and says so in its health: events of the last minute, and how far it has synced.
    before = health(db, pbx)
    sent = control(pbx, "stats", method="GET")["frames_sent"]
    wait_for(lambda: control(pbx, "stats", method="GET")["frames_sent"] >= sent + 3,
             "three rounds of repeated Upsets", timeout=15)
    wait_for(lambda: (lambda now: now["events_per_minute"] >= before["events_per_minute"] + 3
                      and (now["last_event_at"] or EPOCH) > (before["last_event_at"] or EPOCH))(
                          health(db, pbx)),
             "the worker to read the repeats and sync past them", timeout=15)
    assert worker.proc.poll() is None, worker.output()
    assert db.calls(pbx.server_id)[str(callid)]["write_date"] == connected["write_date"]
    # The same worker still writes what changes: the hang-up, and only that.
    control(pbx, f"calls/{callid}/hangup", {"side": "caller"})
    done = record(db, pbx, callid, lambda r: r["state"] == "completed", "completed")
    assert done["write_date"] > connected["write_date"]


def test_websocket_dropped_mid_call(db, pbx, worker):
    callid = inbound(pbx, ring_seconds=600)
    control(pbx, f"calls/{callid}/answer", {"dn": "101"})
    record(db, pbx, callid, lambda r: r["state"] == "connected", "connected")
    control(pbx, "faults", {"refuse_upgrades": 3, "upgrade_status": 503})
    control(pbx, "faults", {"drop_ws": True})
    control(pbx, f"calls/{callid}/hangup", {"side": "caller"})
    during = inbound(pbx, ring_seconds=600)  # rings while the worker is away
    done = record(db, pbx, callid, lambda r: r["state"] == "completed", "the hang-up it missed")
    check_against_truth(done, truth(pbx, callid))
    assert record(db, pbx, during, lambda r: r["state"] == "ringing")


def test_token_revoked_mid_call(db, pbx, worker):
    callid = inbound(pbx, ring_seconds=600)
    record(db, pbx, callid, lambda r: r["state"] == "ringing", "ringing")
    minted = control(pbx, "stats", method="GET")["tokens_minted"]
    control(pbx, "faults", {"revoke_token": True})
    control(pbx, f"calls/{callid}/answer", {"dn": "101"})
    record(db, pbx, callid, lambda r: r["state"] == "connected", "the answer after revocation")
    assert control(pbx, "stats", method="GET")["tokens_minted"] == minted + 1


def test_worker_killed_mid_call_and_restarted(db, pbx, tmp_path):
    worker = start_worker(db, pbx, tmp_path, "first")
    wait_connected(db, pbx, worker)
    callid = inbound(pbx, ring_seconds=600)
    control(pbx, f"calls/{callid}/answer", {"dn": "101"})
    record(db, pbx, callid, lambda r: r["state"] == "connected", "connected")
    worker.kill()  # SIGKILL: no goodbye
    control(pbx, f"calls/{callid}/hangup", {"side": "caller"})
    unseen = inbound(pbx, to="102", ring_seconds=600)  # a whole call while no worker runs
    control(pbx, f"calls/{unseen}/answer", {"dn": "102"})
    time.sleep(0.3)  # they talk
    control(pbx, f"calls/{unseen}/hangup", {"side": "callee"})
    again = start_worker(db, pbx, tmp_path, "second")
    try:
        done = record(db, pbx, callid, lambda r: r["state"] == "completed", "completed",
                      timeout=30)
        check_against_truth(done, truth(pbx, callid))
        imported = record(db, pbx, unseen, lambda r: r["state"] == "completed",
                          "the call that happened while no worker ran", timeout=30)
        check_against_truth(imported, truth(pbx, unseen))
        calls = db.calls(pbx.server_id)
        assert sorted(calls) == sorted({str(callid), str(unseen)})  # none lost, none doubled
    finally:
        again.stop()


@pytest.mark.tolerates(r"realtor_3cx\.worker\.pipeline: worker: 3CX server \d+ refused us",
                       why="the server's secret cannot be read: the worker must say so at ERROR")
def test_a_secret_it_cannot_read_is_named_in_error_and_the_session_lives_on(db, pbx,
                                                                           tmp_path):
    """The session fails before it ever connects (a secret it cannot decrypt): the server says
    why (the health write used to raise there, and the session died with a traceback before
    writing it), and the session waits for the admin."""
    def create(env):
        server = env["threecx.server"].create({
            "name": f"PBX {next(SERIAL)} (another key's secret)", "base_url": pbx.url,
            "client_id": "900", "api_secret": SECRET})
        # As if encrypted with a key this Odoo does not have (a restored backup, a lost key).
        env.cr.execute("UPDATE threecx_server SET api_secret_enc = %s WHERE id = %s",
                       ("gAAAAABnot-a-token-of-this-key", server.id))
        return server.id

    server_id = db.do(create)
    worker = Worker(db, server_id, tmp_path / "nosecret.log")
    try:
        def health(env):
            server = env["threecx.server"].browse(server_id)
            return server.connection_state, server.last_error

        state = wait_for(lambda: (lambda h: h if h[0] == "error" else None)(db.do(health)),
                         "the server to show the error", timeout=30)
        assert state[1], "the error says nothing"
        output = worker.output()
        assert "Traceback" not in output, output[-3000:]
        assert output.count("refused us") == 1, output[-3000:]
        assert worker.proc.poll() is None
    finally:
        worker.stop()
        db.do(lambda env: env["threecx.server"].browse(server_id).write({"active": False}))


def test_two_workers_one_acts_and_the_other_takes_over(db, pbx, tmp_path):
    first = start_worker(db, pbx, tmp_path, "one")
    wait_connected(db, pbx, first)
    second = start_worker(db, pbx, tmp_path, "two")
    try:
        # Loading Odoo takes a new worker several seconds on a busy machine; that is not what
        # this test measures (the takeover below is).
        wait_for(lambda: "standing by" in second.output(), "the second worker to stand by",
                 timeout=60)
        callid = inbound(pbx, ring_seconds=600)
        record(db, pbx, callid, what="the call")
        assert "acting for" in first.output() and "acting for" not in second.output()
        assert control(pbx, "stats", method="GET")["ws_open"] == 1
        first.proc.send_signal(signal.SIGKILL)
        started = time.monotonic()
        wait_for(lambda: "acting for" in second.output(), "the takeover", timeout=15)
        assert time.monotonic() - started < 10
        control(pbx, f"calls/{callid}/answer", {"dn": "101"})
        record(db, pbx, callid, lambda r: r["state"] == "connected", "the takeover's update")
        assert len(db.calls(pbx.server_id)) == 1
    finally:
        first.stop()
        second.stop()


@POSTGRESQL_STOPPED
def test_postgresql_restarted_mid_call(db, pbx, worker):
    callid = inbound(pbx, ring_seconds=600)
    control(pbx, f"calls/{callid}/answer", {"dn": "101"})
    record(db, pbx, callid, lambda r: r["state"] == "connected", "connected")
    postgres("stop")
    try:
        control(pbx, f"calls/{callid}/hangup", {"side": "caller"})
        during = inbound(pbx, to="102", ring_seconds=600)
        control(pbx, f"calls/{during}/answer", {"dn": "102"})
        time.sleep(1)  # they talk
        control(pbx, f"calls/{during}/hangup", {"side": "caller"})
        # The worker saw it all happen and could not write it: it holds it until PostgreSQL
        # is back.
        wait_for(lambda: "database unavailable" in worker.output(),
                 "the worker to find PostgreSQL gone", timeout=30)
    finally:
        postgres("start")
    done = record(db, pbx, callid, lambda r: r["state"] == "completed", "completed", timeout=30)
    held = record(db, pbx, during, lambda r: r["state"] == "completed",
                  "the call held while PostgreSQL was down", timeout=30)
    check_against_truth(done, truth(pbx, callid))
    check_against_truth(held, truth(pbx, during))
    assert "database unavailable" in worker.output()
    assert len(db.calls(pbx.server_id)) == 2


def test_calls_that_go_by_while_the_worker_is_behind_are_logged_as_they_ended(db, pbx, worker):
    # Found by `make soak`: when the worker's reads lag (here: 3CX answers them late), a leg
    # can ring, be answered and hang up before it is read. The call log settles both cases.
    known = inbound(pbx, ring_seconds=600)
    record(db, pbx, known, lambda r: r["state"] == "ringing", "ringing")
    control(pbx, "faults", {"slow": 2, "slow_seconds": 1.5})
    control(pbx, f"calls/{known}/answer", {"dn": "101"})  # seen ringing, never talking
    unseen = inbound(pbx, to="102", ring_seconds=600)  # never seen at all
    control(pbx, f"calls/{unseen}/answer", {"dn": "102"})
    time.sleep(0.3)  # they talk
    control(pbx, f"calls/{known}/hangup", {"side": "caller"})
    control(pbx, f"calls/{unseen}/hangup", {"side": "callee"})
    for callid in (known, unseen):
        done = record(db, pbx, callid, lambda r: r["state"] == "completed",
                      f"call {callid} completed", timeout=20)
        check_against_truth(done, truth(pbx, callid))
    assert len(db.calls(pbx.server_id)) == 2


def test_the_lock_check_says_lost_when_postgresql_is_gone():
    # Found by `make soak`: the check raised TypeError (a nested tuple of exceptions) instead
    # of answering False, so the session died instead of standing down.
    import psycopg2

    from realtor_3cx.worker.pipeline import AdvisoryLock

    class GoneConnection:
        def cursor(self):
            raise psycopg2.OperationalError("server closed the connection unexpectedly")

    lock = AdvisoryLock({}, 1)
    lock.conn = GoneConnection()
    assert lock.alive() is False
    lock.conn = None
    assert lock.alive() is False


@POSTGRESQL_STOPPED
def test_a_worker_started_while_postgresql_is_down_waits_for_it(db, pbx, tmp_path):
    # Found by `make soak`: a worker (re)started while PostgreSQL restarted exited at once
    # (its registry could not load), so nothing was logged until someone started it again.
    postgres("stop")
    try:
        worker = start_worker(db, pbx, tmp_path, "early")
        wait_for(lambda: "unavailable" in worker.output(), "the worker to wait for PostgreSQL",
                 timeout=30)
        # It tries again rather than exiting: a second attempt, still alive.
        wait_for(lambda: worker.output().count("unavailable") >= 2 or worker.proc.poll()
                 is not None, "the worker to try again", timeout=30)
        assert worker.proc.poll() is None, worker.output()
    finally:
        postgres("start")
    try:
        wait_connected(db, pbx, worker)
        callid = inbound(pbx, ring_seconds=600)
        record(db, pbx, callid, what="a call once PostgreSQL is back")
    finally:
        worker.stop()


def test_a_backlog_is_written_in_steps_and_last_event_at_waits_for_the_last_one():
    # Found by the 10,000-call soak: a backlog went in one transaction that a fault could
    # undo, while last_event_at (where the next catch-up starts) moved on regardless.
    import threading

    import psycopg2

    from realtor_3cx.worker.pipeline import FLUSH_CHUNK, ServerSession

    down, written = [True], []

    class Cursor:
        def __enter__(self):
            if down[0]:
                raise psycopg2.OperationalError("connection refused")
            return self

        def __exit__(self, *exc):
            return False

        def commit(self):
            pass

    class Model:
        def browse(self, _id):
            return self

        def _sync_from_3cx(self, _server, views):
            written.append([view["call_id"] for view in views])

    class Odoo:
        def cursor(self):
            return Cursor()

        def env(self, _cr):
            return {"threecx.server": Model(), "threecx.call": Model()}

    session = ServerSession(Odoo(), "db", 1, None, threading.Event())
    session.pending = {str(n): {"call_id": str(n), "state": "completed"} for n in range(450)}
    session.pending["live"] = {"call_id": "live", "state": "ringing"}
    session.needs_reconcile, session.catch_up_since, session.next_catch_up = False, None, 0
    session.db_retry_at, session.db_down_since = 0.0, None
    session.read_through, session.synced_through = 1_764_000_000.0, None
    session.unreadable, session._lookups = {}, {}  # nothing withheld, no call-log read
    session._flush()
    assert written == [] and len(session.pending) == 451 and session.synced_through is None
    down[0] = False
    session.db_retry_at = 0.0
    session._flush()
    assert len(written[0]) == FLUSH_CHUNK and written[0][0] == "live"  # live calls first
    assert session.synced_through is None  # 251 calls still held
    while session.pending:
        session._flush()
    assert sum(map(len, written)) == 451 and len({c for step in written for c in step}) == 451
    assert session.synced_through == 1_764_000_000.0
