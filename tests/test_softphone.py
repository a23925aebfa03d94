# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A browser call end to end, signalled through Odoo: the 'browser' is an aiortc peer playing
a tone; Odoo's controller carries its offer to the worker, whose bridge places the call from the
route point and answers on the user's bus; the simulator echoes; the tone comes back. Both
sides can hang up."""

import asyncio
import contextlib
import itertools
import json
import os
import time
import uuid

import pytest
import requests
from aiortc import RTCPeerConnection, RTCSessionDescription
from browser_env import PASSWORD, odoo_server
from threecx_sim import SECRET, control, running_simulator, wait_for
from webrtc_peer import ToneTrack, listen
from worker_env import OdooDb, Worker

DESTINATION = "+15550108701"
GRACE = 8
WORLDS = itertools.count()  # tests/test_softphone_async.py starts this world again


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    db = OdooDb()
    logs = tmp_path_factory.mktemp("softphone")
    with running_simulator(audio="echo") as sim:
        tag = f"{os.getpid()}_{next(WORLDS)}"

        def create(env):
            env.company.country_id = env.ref("base.us")
            realtor = env["res.users"].create({
                "name": "Sam Softphone", "login": f"sam_{tag}", "password": PASSWORD,
                "groups_id": [(6, 0, [env.ref("base.group_user").id,
                                      env.ref("realtor_3cx.realtor_3cx_group_user").id])]})
            server = env["threecx.server"].create({
                "name": "Softphone PBX", "base_url": sim.url, "client_id": "900",
                "api_secret": SECRET})
            colleague = env["res.users"].create({
                "name": "Pat Colleague", "login": f"pat_{tag}", "password": PASSWORD,
                "groups_id": [(6, 0, [env.ref("base.group_user").id,
                                      env.ref("realtor_3cx.realtor_3cx_group_user").id])]})
            env["threecx.extension"].create([
                {"server_id": server.id, "number": "101", "user_id": realtor.id},
                {"server_id": server.id, "number": "102", "user_id": colleague.id}])
            # Another file's contact on this number would make two candidates.
            env["res.partner"].search([("phone", "=", DESTINATION)]).write({"phone": False})
            partner = env["res.partner"].create({"name": "Quinn Seller", "phone": DESTINATION})
            return {"server": server.id, "login": realtor.login, "user": realtor.id,
                    "colleague": colleague.login, "partner": partner.id}

        ids = db.do(create)
        # A browser that went away keeps its 3CX call this long (short: one test waits it out).
        worker = Worker(db, ids["server"], logs / "worker.log",
                        REALTOR_3CX_WORKER_SOFTPHONE_GRACE=str(GRACE))
        try:
            with odoo_server(db.conf, db.db, logs / "odoo.log") as url:
                wait_for(lambda: db.do(lambda env: env["threecx.server"].browse(
                    ids["server"]).connection_state) == "connected", "the worker", timeout=30)
                yield {"db": db, "sim": sim, "url": url, "worker": worker, **ids,
                       "http": authenticated(url, db, ids["login"]),
                       "colleague_http": authenticated(url, db, ids["colleague"])}
        finally:
            worker.stop()
            print(worker.output()[-3000:])


def authenticated(url, db, login):
    session = requests.Session()
    auth = session.post(f"{url}/web/session/authenticate", timeout=10, json={
        "jsonrpc": "2.0", "params": {"db": db.db, "login": login, "password": PASSWORD}}).json()
    assert auth.get("result"), auth
    return session


def rpc(world, path, http="http", **params):
    response = world[http].post(f"{world['url']}{path}", timeout=30,
                                  json={"jsonrpc": "2.0", "params": params})
    body = response.json()
    assert "error" not in body, body
    return body["result"]


def bus_answers(db, client_ref):
    """The worker's answers to the offer ``client_ref`` on the bus (the payloads, in order),
    as the user's pages receive them."""
    def read(env):
        env.cr.execute(
            "SELECT message FROM bus_bus WHERE message::jsonb->>'type' = %s "
            "AND message::jsonb->'payload'->>'client_ref' = %s ORDER BY id",
            ("realtor_3cx.softphone/answer", client_ref))
        return [json.loads(message)["payload"] for (message,) in env.cr.fetchall()]

    return db.do(read)


def offer(world, sdp, http="http", timeout=20, **params):
    """Offer ``sdp`` as the page does (with a reference of its own) and wait for the worker's
    answer on the bus: the route's result, completed by that answer (``answer``, ``call_id``,
    ``ok`` / ``message`` / ``retry``). A refusal of the route itself comes back as it is."""
    params.setdefault("client_ref", str(uuid.uuid4()))
    started = rpc(world, "/realtor_3cx/softphone/offer", http=http, sdp=sdp, **params)
    if not started["ok"]:
        return started
    assert started["client_ref"] == params["client_ref"], started
    [answer] = wait_for(lambda: bus_answers(world["db"], params["client_ref"]),
                        "the worker's answer on the bus", timeout=timeout)
    assert answer["session_id"] == started["session_id"], answer
    return {**started, "ok": answer["state"] == "answered", "answer": answer["sdp"],
            "call_id": answer["call_id"], "message": answer["message"],
            "retry": answer["retry"]}


async def browser_call(world, destination=DESTINATION, **params):
    browser = RTCPeerConnection()
    mic = ToneTrack()
    browser.addTrack(mic)
    received, stop = [], asyncio.Event()
    browser.on("track", lambda track: asyncio.ensure_future(listen(track, received, stop)))
    await browser.setLocalDescription(await browser.createOffer())
    if "resume_session_id" not in params:
        params["destination"] = destination
    result = await asyncio.to_thread(offer, world, browser.localDescription.sdp, **params)
    if result["ok"]:
        await browser.setRemoteDescription(
            RTCSessionDescription(sdp=result["answer"], type="answer"))
    return browser, mic, received, stop, result


async def answered(world, browser, received, result, frames=25):
    """Wait until the callee picked up (its 2 s script), ICE and DTLS are done and the far
    end's audio arrives (``frames`` of 20 ms)."""
    await asyncio.to_thread(wait_for, lambda: control(
        world["sim"], f"calls/{result['call_id']}", method="GET")["answered_at"],
        "the callee to answer", timeout=15)
    start = len(received)
    await asyncio.to_thread(wait_for, lambda: browser.connectionState == "connected"
                            and len(received) >= start + frames,
                            "ICE, DTLS and the first audio frames", timeout=15)


def test_a_browser_call_carries_audio_both_ways_and_hangs_up_from_the_browser(world):
    async def scenario():
        browser, mic, received, stop, result = await browser_call(world)
        assert result["ok"], result
        await answered(world, browser, received, result)
        mic.tone_at = time.monotonic()

        def heard():
            return [t for t, level, peak in received if t > mic.tone_at and level > 0.5
                    and peak > 1000]

        with contextlib.suppress(AssertionError):  # asserted below
            await asyncio.to_thread(wait_for, heard, "the tone to come back", timeout=3)
        heard = heard()
        hung = await asyncio.to_thread(rpc, world, "/realtor_3cx/softphone/hangup",
                                       session_id=result["session_id"])
        stop.set()
        await browser.close()
        return result, heard, mic.tone_at, hung

    result, heard, tone_at, hung = asyncio.run(scenario())
    assert hung == {"ok": True}
    assert heard, "the tone did not come back through Odoo's bridge and 3CX"
    print(f"round trip: {(heard[0] - tone_at) * 1000:.0f} ms")
    db, sim = world["db"], world["sim"]
    session = db.do(lambda env: env["threecx.softphone.session"].browse(
        result["session_id"]).read(["state", "call_id"])[0])
    call = wait_for(lambda: control(sim, f"calls/{session['call_id']}", method="GET")
                    ["ended_at"] and control(sim, f"calls/{session['call_id']}", method="GET"),
                    "the hang-up to reach 3CX")
    assert (call["caller"], call["callee"], call["result"]) == ("900", DESTINATION, "answered")
    # Placed from the route point's first device, as 3CX's own apps call from a route point.
    [device] = sim.simulator.pbx.dns["900"].devices
    assert (call["makecall_form"], call["makecall_device"]) == ("device", device)
    record = wait_for(lambda: db.calls(world["server"]).get(session["call_id"], {}).get(
        "state") == "completed" and db.calls(world["server"])[session["call_id"]],
        "the call record")
    assert record["user_id"][0] == world["user"]  # the realtor, not the route point


def test_a_refused_device_path_falls_back_to_the_route_points_dn(world):
    """3CX refusing the call from the route point's device (422 here, injected on that path):
    the worker places it from the route point's DN instead, says so in its log, and the call
    carries audio both ways all the same."""
    sim = world["sim"]
    control(sim, "faults", {"http_errors": 1, "http_error_status": 422,
                            "http_error_path": "/callcontrol/900/devices/"})

    async def scenario():
        browser, mic, received, stop, result = await browser_call(world)
        assert result["ok"], result
        await answered(world, browser, received, result)
        heard = await hears_tone(mic, received)
        await asyncio.to_thread(rpc, world, "/realtor_3cx/softphone/hangup",
                                session_id=result["session_id"])
        stop.set()
        await browser.close()
        return result, heard

    result, heard = asyncio.run(scenario())
    assert heard, "the tone did not come back on the call placed from the DN"
    call = control(sim, f"calls/{result['call_id']}", method="GET")
    assert (call["caller"], call["makecall_form"], call["makecall_device"]) == ("900", "dn", "")
    assert "did not place the call from DN 900's device (injected failure): placing it from " \
        "the DN itself" in world["worker"].output()


def test_a_call_3cx_will_not_place_says_why(world):
    """3CX refusing the route point's call outright (finalstatus Failed, no participant): the
    page is told 3CX's reasontext, and nothing was placed."""
    refused = "+15550108702"
    control(world["sim"], "scripts", {"destination": refused, "refuse": "No free lines"})
    calls = len(control(world["sim"], "calls", method="GET"))

    async def scenario():
        browser, _mic, _received, stop, result = await browser_call(world, refused)
        stop.set()
        await browser.close()
        return result

    result = asyncio.run(scenario())
    assert not result["ok"] and result["call_id"] is False, result
    assert result["message"] == "3CX could not connect the call: No free lines", result
    assert len(control(world["sim"], "calls", method="GET")) == calls


def test_the_far_end_hanging_up_ends_the_browser_call(world):
    async def scenario():
        browser, mic, received, stop, result = await browser_call(world)
        assert result["ok"], result
        await answered(world, browser, received, result)
        call_id = world["db"].do(lambda env: env["threecx.softphone.session"].browse(
            result["session_id"]).call_id)
        control(world["sim"], f"calls/{call_id}/hangup", {"side": "callee"})
        state = await asyncio.to_thread(wait_for, lambda: world["db"].do(
            lambda env: env["threecx.softphone.session"].browse(result["session_id"]).state)
            == "ended", "the session to end")
        stop.set()
        await browser.close()
        return state

    assert asyncio.run(scenario())


def test_refusals_come_back_as_messages(world):
    bad = rpc(world, "/realtor_3cx/softphone/offer", destination=DESTINATION, sdp="hello")
    assert bad == {"ok": False, "retry": False,
                   "message": "The browser sent no valid WebRTC offer."}
    invalid = rpc(world, "/realtor_3cx/softphone/offer", destination="nope", sdp="v=0\r\n")
    assert not invalid["ok"] and "is not a phone number" in invalid["message"]
    other = rpc(world, "/realtor_3cx/softphone/hangup", session_id=999999)
    assert other == {"ok": False, "message": "This browser call is not yours."}
    anonymous = requests.post(f"{world['url']}/realtor_3cx/softphone/offer", timeout=10, json={
        "jsonrpc": "2.0", "params": {"destination": DESTINATION, "sdp": "v=0"}}).json()
    assert anonymous["error"]["data"]["name"] == "odoo.http.SessionExpiredException"


def test_a_browser_call_transferred_to_a_colleague(world):
    async def scenario():
        browser, mic, received, stop, result = await browser_call(world)
        assert result["ok"], result
        await answered(world, browser, received, result)
        moved = await asyncio.to_thread(rpc, world, "/realtor_3cx/softphone/transfer",
                                        session_id=result["session_id"], destination="102")
        state = await asyncio.to_thread(wait_for, lambda: world["db"].do(
            lambda env: env["threecx.softphone.session"].browse(result["session_id"]).state)
            == "ended", "the browser call to end once transferred")
        stop.set()
        await browser.close()
        return result, moved, state

    result, moved, state = asyncio.run(scenario())
    # Queued at once; the worker's answer (on the bus to the page) is in the request's row.
    assert moved["state"] == "pending" and state, moved
    wait_for(lambda: world["db"].do(lambda env: env["threecx.dial.request"].browse(
        moved["request_id"]).state) == "done", "the worker's answer to the transfer")
    call = control(world["sim"], f"calls/{result['call_id']}", method="GET")
    assert call["ended_at"] is None  # the caller stays, now with the colleague
    assert [(leg["dn"], leg["referred_by_dn"]) for leg in call["legs"]] == [("102", "900")]
    control(world["sim"], f"calls/{result['call_id']}/hangup", {"side": "callee"})


async def hears_tone(mic, received, timeout=5):
    """The microphone starts its tone now: True once it comes back through 3CX's echo."""
    mic.tone_at = time.monotonic()
    with contextlib.suppress(AssertionError):
        await asyncio.to_thread(wait_for, lambda: any(
            t > mic.tone_at and level > 0.5 and peak > 1000 for t, level, peak in received),
            "the tone to come back", timeout=timeout)
    return any(t > mic.tone_at and level > 0.5 and peak > 1000 for t, level, peak in received)


def sessions_of(world, call_id):
    return world["db"].do(lambda env: env["threecx.softphone.session"].search(
        [("call_id", "=", str(call_id))], order="id").read(["state", "message", "resumes_id"]))


def test_the_call_outlives_its_page_and_a_new_page_takes_it_back(world):
    """A reload drops the browser's peer, not the call: 3CX's leg stays up in the worker, the
    new page offers again for the same call and hears it; only the realtor may do that."""
    sim = world["sim"]

    async def scenario():
        first, mic, received, stop, result = await browser_call(world)
        assert result["ok"], result
        assert result["peer"] == {"number": DESTINATION, "name": "Quinn Seller",
                                  "partner_id": world["partner"], "company": False,
                                  "property": False, "candidates": 1}
        await answered(world, first, received, result)
        assert await hears_tone(mic, received)
        stop.set()
        await first.close()  # the page reloads
        # The worker's bridge lets the peer go; 3CX's call stays.
        await asyncio.to_thread(wait_for, lambda: control(sim, "stats", method="GET")[
            "open_streams"] == 0, "the old page's audio streams to close", timeout=30)
        assert control(sim, f"calls/{result['call_id']}", method="GET")["ended_at"] is None
        live = await asyncio.to_thread(rpc, world, "/realtor_3cx/softphone/live")
        assert (live["session_id"], live["call_id"], live["peer"]["name"]) == (
            result["session_id"], result["call_id"], "Quinn Seller")
        assert await asyncio.to_thread(rpc, world, "/realtor_3cx/softphone/live",
                                       http="colleague_http") is False

        # Nobody else may take it: not a colleague, not with a made-up session.
        refused = await asyncio.to_thread(
            offer, world, first.localDescription.sdp, http="colleague_http",
            resume_session_id=result["session_id"])
        assert refused == {"ok": False, "retry": False, "message": "This browser call is over."}

        second, mic2, received2, stop2, resumed = await browser_call(
            world, resume_session_id=result["session_id"])
        assert resumed["ok"], resumed
        assert resumed["call_id"] == result["call_id"]
        assert resumed["peer"]["name"] == "Quinn Seller"
        await asyncio.to_thread(wait_for, lambda: second.connectionState == "connected"
                                and len(received2) > 25, "the new page's audio", timeout=20)
        heard_again = await hears_tone(mic2, received2)
        rows = sessions_of(world, result["call_id"])
        hung = await asyncio.to_thread(rpc, world, "/realtor_3cx/softphone/hangup",
                                       session_id=resumed["session_id"])
        stop2.set()
        await second.close()
        return result, resumed, heard_again, rows, hung

    result, resumed, heard_again, rows, hung = asyncio.run(scenario())
    assert heard_again, "the tone did not come back in the page that took the call back"
    assert [(r["state"], r["message"] or "", r["resumes_id"] and r["resumes_id"][0])
            for r in rows] == [("ended", "moved", False), ("answered", "", result["session_id"])]
    assert hung == {"ok": True}
    wait_for(lambda: control(world["sim"], f"calls/{result['call_id']}", method="GET")[
        "ended_at"], "the hang-up to reach 3CX", timeout=10)
    record = wait_for(lambda: world["db"].calls(world["server"]).get(result["call_id"], {}).get(
        "state") == "completed" and world["db"].calls(world["server"])[result["call_id"]],
        "one call record for the whole call", timeout=15)
    assert record["user_id"][0] == world["user"]


def test_a_page_that_never_comes_back_hangs_up_after_the_grace(world):
    sim = world["sim"]

    async def scenario():
        browser, mic, received, stop, result = await browser_call(world)
        assert result["ok"], result
        await answered(world, browser, received, result)
        stop.set()
        await browser.close()
        gone = time.monotonic()
        await asyncio.to_thread(wait_for, lambda: control(sim, "stats", method="GET")[
            "open_streams"] == 0, "the audio streams to close", timeout=30)
        # Still up a few seconds on: a reload has time.
        await asyncio.sleep(max(0.0, gone + GRACE / 2 - time.monotonic()))
        kept = control(sim, f"calls/{result['call_id']}", method="GET")["ended_at"] is None
        ended = await asyncio.to_thread(wait_for, lambda: control(
            sim, f"calls/{result['call_id']}", method="GET")["ended_at"],
            "the worker to hang up once the grace is over", timeout=GRACE + 20)
        return result, kept, ended, time.monotonic() - gone

    result, kept, ended, after = asyncio.run(scenario())
    assert kept and ended
    assert after >= GRACE - 1, after
    assert [r["state"] for r in sessions_of(world, result["call_id"])] == ["ended"]


def test_only_failures_of_the_connection_offer_a_retry(world):
    """A refusal (do-not-call, calling hours, a wrong number, an offer that is no WebRTC
    offer) will be refused again: no retry. A worker that does not answer, or audio that
    could not connect, may work later (tests/test_softphone_async.py, test_day_softphone.py)."""
    dnc = world["db"].do(lambda env: env["res.partner"].create({
        "name": "No Calls Please", "phone": "+15550108777", "do_not_call": True}).id)
    refused = offer(world, "v=0\r\n", destination="+15550108777")
    assert refused["ok"] is False and refused["retry"] is False, refused
    wrong = offer(world, "v=0\r\n", destination="nope")
    assert wrong["retry"] is False
    # Refused by Odoo before the worker hears of it: no call placed, then dropped.
    broken = offer(world, "v=0\r\nnot really an offer\r\n", destination="+15550108778")
    assert broken == {"ok": False, "retry": False,
                      "message": "The browser sent no valid WebRTC offer."}, broken
    assert not [c for c in control(world["sim"], "calls", method="GET")
                if c["callee"] == "+15550108778"]
    world["db"].do(lambda env: env["res.partner"].browse(dnc).unlink())
