# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The softphone's offer is queued, not waited for: what reaches the worker, and how often.

Odoo, the worker and the simulator are real (tests/test_softphone.py's world). The offer route
returns at once and the worker answers on the user's bus; these tests check what must never
happen on the way: a request Odoo replays after a serialization failure dialled twice (the
replay is forced, in an Odoo serving HTTP from this process so that its first attempt can be
made to fail), a call placed for an offer the worker cannot answer, and an offer dialled after
its page gave up, or was left behind by a restart, with nobody on the browser's end.
"""

import threading
import time
import uuid
from unittest import mock

import pytest
import requests
import test_softphone
from aiortc import RTCPeerConnection
from browser_env import free_port
from test_softphone import authenticated, bus_answers, offer, rpc
from threecx_sim import control, wait_for
from webrtc_peer import ToneTrack

world = test_softphone.world  # Odoo, the worker and the simulator, started for this file


async def _sdp():
    peer = RTCPeerConnection()
    peer.addTrack(ToneTrack())
    await peer.setLocalDescription(await peer.createOffer())
    sdp = peer.localDescription.sdp
    await peer.close()
    return sdp


@pytest.fixture(scope="module")
def sdp():
    """A real WebRTC offer (aiortc's, as a browser's), for calls whose audio nobody hears."""
    import asyncio

    return asyncio.run(_sdp())


def calls_to(world, number):
    """The calls 3CX placed to ``number`` (every MakeCall of the route point makes one)."""
    return [c for c in control(world["sim"], "calls", method="GET") if c["callee"] == number]


def session_of(world, session_id):
    return world["db"].do(lambda env: env["threecx.softphone.session"].browse(
        session_id).read(["state", "message", "call_id", "client_ref"])[0])


def hang_up_call(world, result):
    rpc(world, "/realtor_3cx/softphone/hangup", session_id=result["session_id"])
    wait_for(lambda: control(world["sim"], f"calls/{result['call_id']}", method="GET")[
        "ended_at"], "the hang-up to reach 3CX", timeout=10)


@pytest.fixture
def odoo_here(world):
    """Odoo serving HTTP from this process (the test database, the registry of ``OdooDb``),
    so that a test can patch the code a request runs; yields its URL."""
    from werkzeug.serving import make_server

    import odoo

    odoo.service.server.load_server_wide_modules()
    server = make_server("127.0.0.1", free_port(), odoo.http.root, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="odoo-http-here", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


def test_an_offer_replayed_after_a_serialization_failure_is_dialled_once(world, odoo_here,
                                                                          sdp):
    """The first attempt of the request queues the offer (committed: the worker is told) and
    then fails on a real serialization failure of its own transaction; Odoo replays the
    request, the replay finds the session the page's reference names, and 3CX gets one
    MakeCall."""
    number = "+15550108711"
    Session = world["db"].registry["threecx.softphone.session"]
    enqueue, by_ref = Session._enqueue, Session._by_client_ref
    queued, attempts = [], []

    def first_attempt_fails(self, *args, **kwargs):
        session_id = enqueue(self, *args, **kwargs)
        queued.append(session_id)
        if len(queued) == 1:
            # Another transaction changes the realtor's row after this request's began: the
            # request's own update of it is refused (REPEATABLE READ), as a real concurrent
            # write would make it.
            with self.env.registry.cursor() as other:
                other.execute("UPDATE res_users SET write_date = now() WHERE id = %s",
                              (self.env.uid,))
            self.env.cr.execute("UPDATE res_users SET write_date = now() WHERE id = %s",
                                (self.env.uid,), log_exceptions=False)
        return session_id

    def counted(self, client_ref):
        attempts.append(client_ref)
        return by_ref(self, client_ref)

    http = authenticated(odoo_here, world["db"], world["login"])
    client_ref = str(uuid.uuid4())
    with mock.patch.object(Session, "_enqueue", first_attempt_fails), \
            mock.patch.object(Session, "_by_client_ref", counted):
        response = http.post(f"{odoo_here}/realtor_3cx/softphone/offer", timeout=30, json={
            "jsonrpc": "2.0", "params": {"sdp": sdp, "destination": number,
                                         "client_ref": client_ref}}).json()
    result = response.get("result")
    assert result and result["ok"], response
    # The request ran twice; the offer was queued once, and the replay answered with it.
    assert attempts == [client_ref, client_ref], attempts
    assert queued == [result["session_id"]], (queued, result)
    [answer] = wait_for(lambda: bus_answers(world["db"], client_ref), "the worker's answer",
                        timeout=20)
    assert answer["state"] == "answered" and answer["session_id"] == result["session_id"]
    assert world["db"].do(lambda env: env["threecx.softphone.session"].search_count(
        [("client_ref", "=", client_ref)])) == 1
    time.sleep(1)  # a second MakeCall would come at once: none does
    placed = calls_to(world, number)
    assert len(placed) == 1, placed
    assert str(placed[0]["callid"]) == answer["call_id"]
    hang_up_call(world, {"session_id": result["session_id"], "call_id": answer["call_id"]})


MALFORMED = {
    "not SDP at all": "v=0\r\nthis is not an offer\r\n",
    "no audio": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n",
}


def _without(sdp, prefix):
    return "".join(line for line in sdp.splitlines(keepends=True)
                   if not line.startswith(prefix))


def test_a_malformed_offer_is_refused_before_any_call_is_placed(world, sdp):
    """Odoo refuses it before anything is queued; one that reaches the worker anyway (an
    older Odoo queued it) is refused there before it dials: no call placed, none logged."""
    offers = {
        **MALFORMED,
        "no ICE user fragment": _without(sdp, "a=ice-ufrag:"),
        "no ICE password": _without(sdp, "a=ice-pwd:"),
        "no DTLS fingerprint": _without(sdp, "a=fingerprint:"),
        "oversized": sdp + "a=x-padding:" + "x" * 70000 + "\r\n",
    }
    before = world["db"].do(lambda env: env["threecx.softphone.session"].search_count([]))
    for n, (what, bad) in enumerate(offers.items()):
        refused = offer(world, bad, destination=f"+1555010872{n}")
        assert refused == {"ok": False, "retry": False,
                           "message": "The browser sent no valid WebRTC offer."}, what
    assert world["db"].do(lambda env: env["threecx.softphone.session"].search_count(
        [])) == before, "a malformed offer was queued"

    # Past Odoo's check (written straight into the queue): the worker refuses it too.
    number = "+15550108729"

    def queue(env):
        session = env["threecx.softphone.session"].create({
            "server_id": world["server"], "user_id": world["user"], "extension": "101",
            "destination": number, "offer": _without(sdp, "a=fingerprint:"),
            "client_ref": str(uuid.uuid4())})
        session._notify_worker()
        return session.id, session.client_ref

    session_id, client_ref = world["db"].do(queue)
    [answer] = wait_for(lambda: bus_answers(world["db"], client_ref), "the worker's refusal",
                        timeout=20)
    assert answer == {"session_id": session_id, "client_ref": client_ref, "state": "failed",
                      "sdp": False, "message": "The browser sent no valid WebRTC offer.",
                      "call_id": False, "retry": False}
    assert session_of(world, session_id)["state"] == "failed"
    assert calls_to(world, number) == []
    assert world["db"].do(lambda env: env["threecx.call"].search_count(
        [("external_number", "=", number)])) == 0
    assert f"browser call {session_id} refused, not dialled" in world["worker"].output()
    assert f"browser call {session_id} failed to start" not in world["worker"].output()


def test_an_offer_its_page_gave_up_or_a_restart_left_is_never_dialled(world, sdp):
    """The worker is away: one page cancels its offer (its timeout, or a hang-up), another
    offer is left waiting past the age limit (Odoo or the worker restarted meanwhile). The
    worker back, neither is dialled: the cancelled one stays cancelled, the old one is refused
    on the bus with Retry (the connection's failure, not a refusal)."""
    worker, db = world["worker"], world["db"]
    cancelled_number, stale_number = "+15550108731", "+15550108732"
    connects = worker.output().count("3CX events connected")
    worker.stop()
    try:
        cancelled = rpc(world, "/realtor_3cx/softphone/offer", sdp=sdp,
                        destination=cancelled_number, client_ref=str(uuid.uuid4()))
        stale = rpc(world, "/realtor_3cx/softphone/offer", sdp=sdp, destination=stale_number,
                    client_ref=str(uuid.uuid4()))
        assert cancelled["ok"] and stale["ok"], (cancelled, stale)
        assert session_of(world, stale["session_id"])["state"] == "offered"
        assert rpc(world, "/realtor_3cx/softphone/hangup",
                   session_id=cancelled["session_id"]) == {"ok": True}

        def age(env):  # as if it had waited out the limit (a restart takes longer)
            env.cr.execute("UPDATE threecx_softphone_session SET create_date = create_date - "
                           "interval '1 minute' WHERE id = %s", (stale["session_id"],))

        db.do(age)
    finally:
        worker.restart()
    wait_for(lambda: worker.output().count("3CX events connected") > connects,
             "the worker back on 3CX's events", timeout=60)
    [answer] = wait_for(lambda: bus_answers(db, stale["client_ref"]), "the worker's refusal",
                        timeout=20)
    assert (answer["state"], answer["retry"], answer["sdp"]) == ("failed", True, False), answer
    assert "took too long" in answer["message"]
    assert session_of(world, cancelled["session_id"])["state"] == "failed"
    assert bus_answers(db, cancelled["client_ref"]) == []  # nothing to say: never taken
    time.sleep(1)
    assert calls_to(world, cancelled_number) == [] and calls_to(world, stale_number) == []


def test_an_offer_is_answered_on_the_bus_and_a_second_request_of_it_is_the_same(world, sdp):
    """The route returns before the worker acts; the answer arrives on the bus with the
    page's reference; the page sending the same offer again gets the same session."""
    number = "+15550108741"
    client_ref = str(uuid.uuid4())
    started_at = time.monotonic()
    started = rpc(world, "/realtor_3cx/softphone/offer", sdp=sdp, destination=number,
                  client_ref=client_ref)
    took = time.monotonic() - started_at
    assert started["ok"] and set(started) == {"ok", "session_id", "client_ref", "peer"}, started
    assert started["peer"]["number"] == number
    again = rpc(world, "/realtor_3cx/softphone/offer", sdp=sdp, destination=number,
                client_ref=client_ref)
    assert again["session_id"] == started["session_id"]
    [answer] = wait_for(lambda: bus_answers(world["db"], client_ref), "the worker's answer",
                        timeout=20)
    print(f"offer route: {took * 1000:.0f} ms")
    assert answer["state"] == "answered" and answer["sdp"].startswith("v=0"), answer
    assert session_of(world, started["session_id"])["state"] == "answered"
    # Someone else naming this reference gets nothing of it.
    stolen = rpc(world, "/realtor_3cx/softphone/offer", http="colleague_http", sdp=sdp,
                 destination=number, client_ref=client_ref)
    assert stolen == {"ok": False, "retry": False, "message": "This browser call is not yours."}
    assert len(calls_to(world, number)) == 1
    hang_up_call(world, {"session_id": started["session_id"], "call_id": answer["call_id"]})


def test_the_route_needs_the_pages_reference(world, sdp):
    old_page = rpc(world, "/realtor_3cx/softphone/offer", sdp=sdp, destination="+15550108751")
    assert old_page == {"ok": False, "retry": False,
                        "message": "This page is out of date: reload it, then call again."}
    anonymous = requests.post(f"{world['url']}/realtor_3cx/softphone/offer", timeout=10, json={
        "jsonrpc": "2.0", "params": {"sdp": sdp, "client_ref": str(uuid.uuid4())}}).json()
    assert anonymous["error"]["data"]["name"] == "odoo.http.SessionExpiredException"
