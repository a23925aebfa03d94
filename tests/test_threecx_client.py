# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Contract tests: the 3CX client against the simulator, endpoint by endpoint, failure by failure.

Each test starts from a fresh simulator (127.0.0.1, free port) so faults never leak.
"""

import datetime
import http.server
import io
import json
import logging
import threading
import time
import urllib.parse
import wave

import pytest
import requests
import websocket
from threecx_sim import SECRET, control, running_simulator, streaming, wait_for
from xapi_schema import REPORT_CALL_LOG_PATH, USER_BY_NUMBER_PATH, validate_response

from realtor_3cx.threecx import client as client_module
from realtor_3cx.threecx.auth import TokenManager
from realtor_3cx.threecx.client import ThreecxClient
from realtor_3cx.threecx.errors import (
    ActionFailed,
    AuthenticationError,
    CertificateError,
    ConnectionFailed,
    ForbiddenError,
    InvalidRequestError,
    NoMediaError,
    NotFoundError,
    ServerError,
)
from realtor_3cx.threecx.protocol import FinalStatus
from realtor_3cx.threecx.xapi import quote

CALLER = "+15550108001"


@pytest.fixture
def sim():
    with running_simulator() as sim:
        yield sim


@pytest.fixture
def client(sim):
    client = ThreecxClient(sim.url, "900", SECRET)
    yield client
    client.close()


def ringing_inbound(sim, to="100", **extra):
    call = control(sim, "calls/inbound", {"from": CALLER, "to": to, "did": "+15550101001",
                                          "name": "PAT CALLER", **extra})
    return call["callid"], call["legs"]


def truth(sim, callid):
    return control(sim, f"calls/{callid}", method="GET")


# -- authentication -----------------------------------------------------------------------------


def test_token_endpoint_accepts_urlencoded_and_multipart(sim):
    form = {"client_id": "900", "client_secret": SECRET, "grant_type": "client_credentials"}
    urlencoded = requests.post(f"{sim.url}/connect/token", data=form, timeout=5)
    multipart = requests.post(f"{sim.url}/connect/token", timeout=5,
                              files={k: (None, v) for k, v in form.items()})
    for response in (urlencoded, multipart):
        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "Bearer" and body["refresh_token"] is None
        assert body["expires_in"] == 3600 and body["access_token"].count(".") == 2


def test_wrong_secret_gets_the_documented_401(sim):
    response = requests.post(f"{sim.url}/connect/token", timeout=5, data={
        "client_id": "900", "client_secret": "nope", "grant_type": "client_credentials"})
    assert response.status_code == 401
    assert response.json() == {
        "error": "unauthorized",
        "error_description": "The request requires valid user authentication."}
    with pytest.raises(AuthenticationError, match="Client ID and API key"):
        ThreecxClient(sim.url, "900", "nope").callcontrol.snapshot()


def test_expires_in_in_minutes_is_read_from_the_jwt(sim):
    control(sim, "config", {"expires_in_unit": "minutes"})
    response = requests.post(f"{sim.url}/connect/token", timeout=5, data={
        "client_id": "900", "client_secret": SECRET, "grant_type": "client_credentials"})
    assert response.json()["expires_in"] == 60
    tokens = TokenManager(sim.url, "900", SECRET)
    tokens.token()
    assert 3500 < tokens._token.expires_at - time.time() <= 3600


def test_a_401_mints_once_then_succeeds(sim, client):
    client.callcontrol.snapshot()
    control(sim, "faults", {"revoke_token": True})
    assert [dn.dn for dn in client.callcontrol.snapshot()][:2] == ["900", "100"]
    assert client.tokens.minted == 2


def test_a_second_client_minting_revokes_the_first_token(sim, client):
    other = ThreecxClient(sim.url, "900", SECRET)
    client.callcontrol.snapshot()
    other.callcontrol.snapshot()  # 3CX keeps one token per Client ID: ours is now dead
    client.callcontrol.snapshot()
    assert client.tokens.minted == 2 and other.tokens.minted == 1
    assert control(sim, "stats", method="GET")["tokens_minted"] == 3


def test_a_401_after_the_re_mint_is_a_clear_error(sim, client):
    client.callcontrol.snapshot()
    control(sim, "config", {"client_secret": "rotated-by-the-admin"})
    control(sim, "faults", {"revoke_token": True})
    with pytest.raises(AuthenticationError, match="refused the credentials of client 900"):
        client.callcontrol.snapshot()


def test_token_is_refreshed_before_it_expires(sim):
    now = [time.time()]
    tokens = TokenManager(sim.url, "900", SECRET, clock=lambda: now[0])
    first = tokens.token()
    now[0] = tokens._token.expires_at - 301
    assert tokens.token() == first and tokens.minted == 1
    now[0] += 2  # inside the five-minute margin
    assert tokens.token() != first and tokens.minted == 2
    with tokens.streaming():  # an open audio stream defers the early refresh ...
        now[0] = tokens._token.expires_at - 299
        tokens.token()
        assert tokens.minted == 2
        now[0] = tokens._token.expires_at - 29  # ... but not past the last moment
        tokens.token()
        assert tokens.minted == 3


def test_missing_or_malformed_authorization_is_401(sim):
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer x.y.z"}):
        response = requests.get(f"{sim.url}/callcontrol", headers=headers, timeout=5)
        assert response.status_code == 401
    with pytest.raises(websocket.WebSocketBadStatusException) as exc:
        websocket.create_connection(sim.url.replace("http", "ws") + "/callcontrol/ws",
                                    timeout=5)
    assert exc.value.status_code == 401


def test_the_secret_is_never_logged_or_shown(sim, caplog):
    caplog.set_level(logging.DEBUG)
    client = ThreecxClient(sim.url, "900", "a-very-secret-key")
    with pytest.raises(AuthenticationError):
        client.callcontrol.snapshot()
    good = ThreecxClient(sim.url, "900", SECRET)
    good.callcontrol.snapshot()
    assert "a-very-secret-key" not in caplog.text + repr(client) + repr(client.tokens)
    assert SECRET not in caplog.text + repr(good) + repr(good.tokens)
    assert "minted for client 900" in caplog.text


# -- Call Control REST --------------------------------------------------------------------------


def test_snapshot_dn_devices_and_scope(sim, client):
    snapshot = {dn.dn: dn for dn in client.callcontrol.snapshot()}
    assert snapshot["900"].type == "Wroutepoint" and snapshot["800"].type == "Wqueue"
    assert snapshot["100"].type == "Wextension"
    device = snapshot["101"].devices[1]
    assert ";" in device.device_id and device.user_agent == "Yealink T54W"
    assert client.callcontrol.device("101", device.device_id) == device
    assert client.callcontrol.devices("100") == list(snapshot["100"].devices)
    assert client.callcontrol.dn("102").dn == "102"
    sim.call(setattr, sim.simulator.pbx, "monitored", {"100"})
    assert [dn.dn for dn in client.callcontrol.snapshot()] == ["900", "100"]
    with pytest.raises(ForbiddenError, match="not assigned"):
        client.callcontrol.participants("101")
    with pytest.raises(NotFoundError, match="DN 555 not found") as exc:
        client.callcontrol.participants("555")
    assert exc.value.status == 404


def test_makecall_from_dn_and_device_then_far_end_answers(sim, client):
    result = client.callcontrol.makecall("100", "+15550102030", timeout=30,
                                         attached_data={"odoo_call": 7})
    assert result.final_status == FinalStatus.SUCCESS
    leg = result.participant
    assert (leg.dn, leg.status, leg.party_caller_id) == ("100", "Dialing", "+15550102030")
    wait_for(lambda: client.callcontrol.participant("100", leg.id).status == "Connected",
             "the far end to answer")
    device = client.callcontrol.devices("101")[1].device_id
    from_device = client.callcontrol.makecall("101", "+15550104040", device_id=device)
    assert from_device.participant.device_id == device
    client.callcontrol.drop("100", leg.id)
    call = truth(sim, leg.callid)
    assert (call["result"], call["ended_by"], call["direction"]) == ("answered", "100",
                                                                     "Outbound")


def test_busy_and_no_answer_destinations(sim, client):
    control(sim, "scripts", {"destination": "+15550109001", "busy": True})
    control(sim, "scripts", {"destination": "+15550109002", "answer_after": None})
    busy = client.callcontrol.makecall("100", "+15550109001").participant
    silent = client.callcontrol.makecall("101", "+15550109002").participant
    wait_for(lambda: truth(sim, busy.callid)["result"] == "busy", "busy")
    wait_for(lambda: truth(sim, silent.callid)["result"] == "not_answered", "no answer",
             timeout=5)
    with pytest.raises(NotFoundError):
        client.callcontrol.participant("100", busy.id)


def test_stale_device_and_bad_destination(sim, client):
    old = client.callcontrol.devices("100")[0].device_id
    control(sim, "dns/100/reregister")
    with pytest.raises(NotFoundError, match="not found on DN 100"):
        client.callcontrol.makecall("100", "+15550102030", device_id=old)
    with pytest.raises(InvalidRequestError, match="destination is required") as exc:
        client.callcontrol.makecall("100", " ")
    assert exc.value.status == 422


def test_route_point_and_queue_have_devices_and_call_from_them(sim, client):
    """As in 3CX: their devices are listed everywhere an extension's are, and a call placed from
    the first one starts as the DN's own Dialing leg, Connected once the far end answers."""
    snapshot = {dn.dn: dn for dn in client.callcontrol.snapshot()}
    for dn in ("900", "800"):
        [device] = snapshot[dn].devices
        assert ";" in device.device_id and "@" in device.device_id  # opaque, percent-encoded
        assert client.callcontrol.devices(dn) == [device]
        assert client.callcontrol.device(dn, device.device_id) == device
        assert client.callcontrol.dn(dn).devices == (device,)
        result = client.callcontrol.makecall(dn, "+15550102031", device_id=device.device_id)
        leg = result.participant
        assert (leg.dn, leg.status, leg.device_id, leg.party_caller_id) == (
            dn, "Dialing", device.device_id, "+15550102031")
        wait_for(lambda dn=dn, leg=leg: client.callcontrol.participant(
            dn, leg.id).status == "Connected", "the far end to answer")
        call = truth(sim, leg.callid)
        assert (call["caller"], call["makecall_form"], call["makecall_device"]) == (
            dn, "device", device.device_id)
        client.callcontrol.drop(dn, leg.id)
        with pytest.raises(NotFoundError):
            client.callcontrol.participant(dn, leg.id)
    # The DN form still works, and says so in the ground truth.
    leg = client.callcontrol.makecall("900", "+15550102032").participant
    assert truth(sim, leg.callid)["makecall_form"] == "dn"
    # A stale device is 404; a call 3CX refuses is finalstatus Failed with its reasontext.
    old = snapshot["900"].devices[0].device_id
    control(sim, "dns/900/reregister")
    with pytest.raises(NotFoundError, match="not found on DN 900"):
        client.callcontrol.makecall("900", "+15550102033", device_id=old)
    control(sim, "scripts", {"destination": "+15550102034", "refuse": "No free lines"})
    with pytest.raises(ActionFailed, match="No free lines") as exc:
        client.callcontrol.makecall("800", "+15550102034",
                                    device_id=client.callcontrol.devices("800")[0].device_id)
    assert exc.value.final_status == FinalStatus.FAILED


def test_makecall_from_device_keeps_the_id_and_follows_a_re_registration(sim, client, caplog):
    caplog.set_level(logging.WARNING, logger="realtor_3cx.threecx.rest")
    first = client.callcontrol.makecall_from_device("900", "+15550102041").participant
    [device] = client.callcontrol.devices("900")
    assert first.device_id == device.device_id
    reads = control(sim, "stats", method="GET")["requests"]
    second = client.callcontrol.makecall_from_device("900", "+15550102042").participant
    assert control(sim, "stats", method="GET")["requests"] == reads + 1  # the makecall
    [new] = control(sim, "dns/900/reregister")["devices"]
    third = client.callcontrol.makecall_from_device("900", "+15550102043").participant
    assert third.device_id == new != device.device_id
    assert [(truth(sim, leg.callid)["makecall_form"], truth(sim, leg.callid)["makecall_device"])
            for leg in (first, second, third)] == [("device", device.device_id)] * 2 + [
        ("device", new)]
    assert "DN itself" not in caplog.text


@pytest.mark.parametrize("status", [404, 422])
def test_makecall_from_device_falls_back_to_the_dn_form_when_refused(sim, client, caplog,
                                                                      status):
    caplog.set_level(logging.WARNING, logger="realtor_3cx.threecx.rest")
    control(sim, "faults", {"http_errors": 1, "http_error_status": status,
                            "http_error_path": "/callcontrol/900/devices/"})
    leg = client.callcontrol.makecall_from_device("900", "+15550102051").participant
    assert (leg.dn, leg.status) == ("900", "Dialing")
    call = truth(sim, leg.callid)
    assert (call["makecall_form"], call["makecall_device"]) == ("dn", "")
    assert "did not place the call from DN 900's device (injected failure)" in caplog.text
    # The next call goes through the device again.
    leg = client.callcontrol.makecall_from_device("900", "+15550102052").participant
    assert truth(sim, leg.callid)["makecall_form"] == "device"


def test_makecall_from_device_without_devices_uses_the_dn_form(sim, client, caplog):
    caplog.set_level(logging.WARNING, logger="realtor_3cx.threecx.rest")
    control(sim, "dns", {"number": "801", "type": "Wqueue", "devices": 0})
    assert client.callcontrol.devices("801") == []
    leg = client.callcontrol.makecall_from_device("801", "+15550102061").participant
    assert truth(sim, leg.callid)["makecall_form"] == "dn"
    assert "(it lists no device)" in caplog.text
    with pytest.raises(InvalidRequestError, match="destination is required"):
        client.callcontrol.makecall_from_device("900", " ")


def test_inbound_ringing_answer_and_drop(sim, client):
    callid, legs = ringing_inbound(sim)
    leg = client.callcontrol.participant("100", legs[0]["id"])
    assert (leg.status, leg.party_caller_id, leg.party_did, leg.party_caller_name) == (
        "Ringing", CALLER, "+15550101001", "PAT CALLER")
    assert leg.callid == callid and leg.legid == 1
    client.callcontrol.answer("100", leg.id)
    assert client.callcontrol.participant("100", leg.id).status == "Connected"
    with pytest.raises(InvalidRequestError, match="not Ringing"):
        client.callcontrol.answer("100", leg.id)
    client.callcontrol.drop("100", leg.id)
    with pytest.raises(NotFoundError):  # a drop racing the hang-up
        client.callcontrol.drop("100", leg.id)
    assert truth(sim, callid)["result"] == "answered"


def test_unanswered_inbound_goes_to_voicemail_or_is_missed(sim, client):
    voicemail, _ = ringing_inbound(sim, ring_seconds=2)
    missed, _ = ringing_inbound(sim, to="800", ring_seconds=2)
    wait_for(lambda: truth(sim, voicemail)["result"] == "voicemail", "voicemail")
    wait_for(lambda: truth(sim, missed)["result"] == "missed", "a missed queue call")
    assert truth(sim, missed)["ended_by"] == "pbx"


def test_divert_only_while_ringing_and_transfer_only_while_connected(sim, client):
    callid, legs = ringing_inbound(sim)
    ringing = legs[0]["id"]
    with pytest.raises(InvalidRequestError, match="transfer needs a Connected"):
        client.callcontrol.transferto("100", ringing, "101")
    with pytest.raises(InvalidRequestError, match="unknown reason"):
        client.callcontrol.divert("100", ringing, "101", reason="Because")
    client.callcontrol.divert("100", ringing, "101", reason="NoAnswer")
    moved = client.callcontrol.participants("101")
    assert [p.status for p in moved] == ["Ringing"] and moved[0].callid == callid
    client.callcontrol.answer("101", moved[0].id)
    with pytest.raises(InvalidRequestError, match="divert needs a Ringing"):
        client.callcontrol.divert("101", moved[0].id, "102")
    client.callcontrol.transferto("101", moved[0].id, "102")
    target = client.callcontrol.participants("102")[0]
    assert (target.status, target.referred_by_dn) == ("Ringing", "101")
    assert client.callcontrol.participants("101") == []


def test_routeto_returns_after_delivery(sim, client):
    control(sim, "config", {"routeto_delay": 4})  # 4 s at test speed = 0.2 s
    callid, legs = ringing_inbound(sim, to="900")
    client.callcontrol.answer("900", legs[0]["id"])
    started = time.monotonic()
    client.callcontrol.routeto("900", legs[0]["id"], "102")
    assert time.monotonic() - started >= 0.2
    assert [p.callid for p in client.callcontrol.participants("102")] == [callid]


def test_attach_data_and_empty_bodies(sim, client):
    _, legs = ringing_inbound(sim)
    result = client.callcontrol.attach_data("100", legs[0]["id"], {"odoo_partner": 42})
    assert result.final_status == FinalStatus.SUCCESS
    assert sim.simulator.pbx.find_leg(legs[0]["id"]).attached_data == {"odoo_partner": "42"}
    token = client.tokens.token()
    url = f"{sim.url}/callcontrol/100/participants/{legs[0]['id']}/attach_participant_data"
    bad = requests.post(url, json={"attacheddata": "text"}, timeout=5,
                        headers={"Authorization": f"Bearer {token}"})
    assert bad.status_code == 422 and "must be an object" in bad.json()["reasontext"]
    control(sim, "config", {"require_content_type": True})
    bare = requests.post(f"{sim.url}/callcontrol/100/participants/{legs[0]['id']}/answer",
                         timeout=5, headers={"Authorization": f"Bearer {token}"})
    assert bare.status_code == 415
    client.callcontrol.answer("100", legs[0]["id"])  # the client always sends {}


def test_finalstatus_as_string_and_failures_carry_reasontext(sim, client):
    control(sim, "config", {"finalstatus": "string"})
    result = client.callcontrol.makecall("100", "101")
    assert result.final_status == FinalStatus.SUCCESS
    token = client.tokens.token()
    response = requests.post(f"{sim.url}/callcontrol/100/participants/999/drop", json={},
                             timeout=5, headers={"Authorization": f"Bearer {token}"})
    assert response.json()["finalstatus"] == "Failed"
    assert "participant 999 not found" in response.json()["reasontext"]


def test_action_failed_on_a_2xx_with_failed_finalstatus(client, monkeypatch):
    from realtor_3cx.threecx import rest

    class Fake:
        status_code = 200
        headers = {}

        def json(self):
            return {"finalstatus": "Rejected", "reason": "Busy", "reasontext": "line busy"}

    monkeypatch.setattr(rest.Api, "request", lambda self, *a, **k: Fake())
    with pytest.raises(ActionFailed, match=r"\(Rejected\): line busy") as exc:
        client.callcontrol.drop("100", 1)
    assert exc.value.final_status == FinalStatus.REJECTED


def test_legs_without_direct_control_are_403(sim, client):
    control(sim, "config", {"enforce_direct_control": True})
    _, legs = ringing_inbound(sim)
    sim.call(setattr, sim.simulator.pbx.find_leg(legs[0]["id"]), "direct_control", False)
    with pytest.raises(ForbiddenError, match="not under direct control"):
        client.callcontrol.drop("100", legs[0]["id"])


def test_server_errors_and_slow_answers(sim):
    client = ThreecxClient(sim.url, "900", SECRET, timeout=(2, 0.3))
    client.callcontrol.snapshot()
    control(sim, "faults", {"http_errors": 1, "http_error_status": 503})
    with pytest.raises(ServerError) as exc:
        client.callcontrol.snapshot()
    assert exc.value.status == 503
    control(sim, "faults", {"slow": 1, "slow_seconds": 1.0})
    with pytest.raises(ConnectionFailed, match="did not answer within"):
        client.callcontrol.snapshot()
    assert client.callcontrol.snapshot()  # and the next request is fine again


def test_unreachable_pbx(sim):
    port = sim.url.rsplit(":", 1)[1]
    sim.stop()
    with pytest.raises(ConnectionFailed, match="Connection refused"):
        ThreecxClient(f"http://127.0.0.1:{port}", "900", SECRET).callcontrol.snapshot()


# -- audio --------------------------------------------------------------------------------------


def test_audio_needs_media_then_streams_at_real_time_and_ends_with_the_leg(sim, client):
    callid, legs = ringing_inbound(sim)
    pid = legs[0]["id"]
    with pytest.raises(NoMediaError) as exc:
        client.callcontrol.open_audio("100", pid)
    assert exc.value.status == 424
    client.callcontrol.answer("100", pid)
    started = time.monotonic()
    received = 0
    with client.callcontrol.open_audio("100", pid) as audio:
        for chunk in audio:
            received += len(chunk)
            if received >= 8000:  # half a second
                break
    elapsed = time.monotonic() - started
    assert received % 2 == 0 and 0.35 < elapsed < 2.0, (received, elapsed)
    chunks = []

    def listen():
        with client.callcontrol.open_audio("100", pid) as audio:
            chunks.extend(audio)

    thread = threading.Thread(target=listen)
    thread.start()
    time.sleep(0.2)
    control(sim, f"calls/{callid}/hangup", {"side": "caller"})
    thread.join(5)
    assert not thread.is_alive() and chunks  # the stream closed with the leg


def test_posted_audio_is_paced_and_echoed(sim, client):
    control(sim, "config", {"audio": "echo"})
    _, legs = ringing_inbound(sim)
    pid = legs[0]["id"]
    client.callcontrol.answer("100", pid)
    pattern = bytes(range(1, 161)) * 2  # 320 bytes = 20 ms
    sent = client.callcontrol.send_audio("100", pid, [pattern] * 25)  # half a second
    assert sent == 8000
    figures = control(sim, "stats", method="GET")["streams"][str(pid)]
    assert figures["bytes"] == 8000 and figures["odd_chunks"] == 0
    assert figures["bytes_per_ms"] <= 40, figures  # paced, not dumped at once
    with client.callcontrol.open_audio("100", pid) as audio:
        echoed = next(iter(audio))
    assert echoed[:160] == pattern[:160]
    with pytest.raises(ValueError, match="whole 16-bit samples"):
        client.callcontrol.send_audio("100", pid, [b"\x01\x02\x03"])


# -- WebSocket events ---------------------------------------------------------------------------


def test_events_follow_a_call_through_its_life(sim, client):
    with streaming(client) as stream:
        callid, legs = ringing_inbound(sim)
        mirror = stream.mirror
        wait_for(lambda: callid in mirror.calls(), "the ringing leg")
        assert mirror.calls()[callid][0].status == "Ringing"
        client.callcontrol.answer("100", legs[0]["id"])
        wait_for(lambda: mirror.calls()[callid][0].status == "Connected", "Connected")
        control(sim, f"calls/{callid}/dtmf", {"digits": "12#"})
        wait_for(lambda: mirror.dtmf.get(("100", legs[0]["id"])) == "12#", "DTMF")
        control(sim, f"calls/{callid}/hangup", {"side": "caller"})
        wait_for(lambda: callid not in mirror.calls(), "the Remove")
    assert stream.stats.garbage == 0 and stream.stats.events >= 4


def test_frames_have_increasing_sequences_and_active_legs_repeat(sim, client):
    url = sim.url.replace("http", "ws") + "/callcontrol/ws"
    ws = websocket.create_connection(url, timeout=5, header=[
        f"Authorization: Bearer {client.tokens.token()}"])
    try:
        callid, legs = ringing_inbound(sim, ring_seconds=600)
        frames = []
        deadline = time.monotonic() + 1.7
        while time.monotonic() < deadline:
            ws.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                frames.append(ws.recv())
            except websocket.WebSocketTimeoutException:
                break
    finally:
        ws.close()
    decoded = [json.loads(f) for f in frames]
    sequences = [d["sequence"] for d in decoded]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    path = f"/callcontrol/100/participants/{legs[0]['id']}"
    upsets = [d for d in decoded if d["event"]["entity"] == path]
    assert all(d["event"]["event_type"] == 0 for d in upsets)
    assert all(isinstance(d["event"]["event_type"], int) for d in decoded)
    assert len(upsets) >= 3  # the creation, then a repeat about every 750 ms


def test_garbage_frames_are_counted_and_skipped(sim, client):
    with streaming(client) as stream:
        control(sim, "faults", {"garbage": 6, "remove_unseen": 2})
        callid, _ = ringing_inbound(sim)
        wait_for(lambda: callid in stream.mirror.calls(), "the call after the garbage")
        assert stream.stats.garbage == 6
        assert stream.stats.connects == 1  # garbage does not cost the connection


def test_a_drop_mid_call_reconnects_and_re_snapshots_the_final_state(sim, client):
    with streaming(client) as stream:
        mirror = stream.mirror
        first, legs = ringing_inbound(sim)
        client.callcontrol.answer("100", legs[0]["id"])
        wait_for(lambda: first in mirror.calls(), "the first call")
        # Cut the socket, and keep the client out while the PBX moves on without it.
        control(sim, "faults", {"refuse_upgrades": 2, "upgrade_status": 503})
        control(sim, "faults", {"drop_ws": True})
        control(sim, f"calls/{first}/hangup", {"side": "caller"})
        second, _ = ringing_inbound(sim, to="101")
        wait_for(lambda: stream.stats.connects == 2, "the reconnection")
        calls = wait_for(lambda: second in mirror.calls() and mirror.calls(), "re-snapshot")
        assert first not in calls  # the Remove was lost, the snapshot says it is gone
        assert calls[second][0].dn == "101" and calls[second][0].status == "Ringing"
        assert control(sim, "stats", method="GET")["ws_upgrades_refused"] == 2


def test_a_revoked_token_closes_the_socket_and_the_stream_recovers(sim, client):
    with streaming(client) as stream:
        control(sim, "faults", {"revoke_token": True})
        wait_for(lambda: stream.stats.connects == 2, "a reconnection with a new token")
        assert client.tokens.minted == 2
        callid, _ = ringing_inbound(sim)
        wait_for(lambda: callid in stream.mirror.calls(), "events on the new connection")


def test_a_pbx_restart_loses_every_call_and_the_client_notices(sim, client):
    with streaming(client) as stream:
        callid, _ = ringing_inbound(sim)
        wait_for(lambda: callid in stream.mirror.calls(), "the call")
        control(sim, "faults", {"restart": True})
        wait_for(lambda: stream.stats.connects == 2 and not stream.mirror.calls(),
                 "an empty snapshot after the restart")
    assert truth(sim, callid)["ended_by"] == "pbx"


def test_an_upset_before_the_leg_can_be_read_is_picked_up_by_the_repeat(sim, client):
    control(sim, "config", {"early_upset_ms": 300})
    with streaming(client) as stream:
        callid, _ = ringing_inbound(sim)
        wait_for(lambda: callid in stream.mirror.calls(), "the repeated Upset", timeout=3)


def test_a_withheld_leg_is_in_no_read_and_the_ground_truth_says_when_it_showed(sim, client):
    # A second: the four reads below fit in it even on a loaded machine.
    control(sim, "config", {"early_upset_ms": 1000})
    callid, (leg,) = ringing_inbound(sim, ring_seconds=3600)  # rings on at test speed
    cc = client.callcontrol
    with pytest.raises(NotFoundError):
        cc.participant("100", leg["id"])
    assert leg["id"] not in [p.id for p in cc.participants("100")]
    assert leg["id"] not in [p.id for dn in cc.snapshot() for p in dn.participants]
    assert leg["id"] not in [p.id for p in cc.dn("100").participants]
    # The control API (not 3CX's) records the leg's moments, beside 3CX's JSON of it.
    (times,) = truth(sim, callid)["leg_times"]
    assert "readable_at" not in truth(sim, callid)["legs"][0]
    assert times["id"] == leg["id"] and times["dn"] == "100"
    assert times["readable_at"] == pytest.approx(times["upset_at"] + 1.0)
    assert times["hidden_reads"] == 4 and times["first_read_at"] is None
    wait_for(lambda: time.time() >= times["readable_at"], "the leg's readable moment")
    assert cc.participant("100", leg["id"]).id == leg["id"]
    (times,) = truth(sim, callid)["leg_times"]
    assert times["hidden_reads"] == 4 and times["first_read_at"] >= times["readable_at"]


def test_forbidden_upgrade_stops_the_stream_with_a_clear_error(sim, client):
    control(sim, "faults", {"refuse_upgrades": 1, "upgrade_status": 403})
    stream = client.events(lambda frame: None)
    with pytest.raises(ForbiddenError, match="may not open the Call Control WebSocket"):
        stream.run()


def test_no_call_control_access_is_403_everywhere(sim, client):
    control(sim, "config", {"callcontrol_access": False})
    with pytest.raises(ForbiddenError, match="Call Control API access is not enabled"):
        client.callcontrol.snapshot()


# -- TLS ----------------------------------------------------------------------------------------


def test_tls_certificate_is_verified_and_can_be_pinned():
    with running_simulator(tls=True) as sim:
        with pytest.raises(CertificateError, match="certificate verify failed"):
            ThreecxClient(sim.url, "900", SECRET).callcontrol.snapshot()
        pinned = ThreecxClient(sim.url, "900", SECRET, verify=sim.config.certfile)
        assert pinned.callcontrol.snapshot()
        with streaming(pinned) as stream:
            assert stream.url.startswith("wss://") and stream.stats.connects == 1


# -- connection test ----------------------------------------------------------------------------


def test_connection_report_when_everything_works(sim, client):
    report = client.test_connection()
    assert report.ok and report.version == "20.0.9.995"
    assert report.max_sim_calls and report.product_code
    assert ("101", "Marc Demo", True) in report.extensions
    assert ("900", "Wroutepoint") in report.call_control_dns


@pytest.mark.parametrize("setup, code", [
    ({"secret": "wrong"}, client_module.CREDENTIALS),
    ({"config": {"callcontrol_access": False}}, client_module.NO_CALL_CONTROL),
    ({"config": {"xapi_access": False}}, client_module.NO_XAPI),
    ({"stop": True}, client_module.UNREACHABLE),
])
def test_connection_report_names_each_problem(sim, setup, code):
    if "config" in setup:
        control(sim, "config", setup["config"])
    url = sim.url
    if setup.get("stop"):
        sim.stop()
    report = ThreecxClient(url, "900", setup.get("secret", SECRET)).test_connection()
    assert not report.ok and [p.code for p in report.problems] == [code]
    assert report.problems[0].detail


def test_connection_report_for_an_untrusted_certificate():
    with running_simulator(tls=True) as sim:
        report = ThreecxClient(sim.url, "900", SECRET).test_connection()
    assert [p.code for p in report.problems] == [client_module.CERTIFICATE]


# -- XAPI ---------------------------------------------------------------------------------------


def raw_xapi(sim, client, path, params=None):
    response = requests.get(f"{sim.url}/xapi/v1/{path}", params=params, timeout=5, headers={
        "Authorization": f"Bearer {client.tokens.token()}"})
    return response


def finished_calls(sim, client):
    """One answered inbound call with talk time, one missed, one outbound: history to read."""
    answered, legs = ringing_inbound(sim)
    client.callcontrol.answer("100", legs[0]["id"])
    time.sleep(0.05)
    control(sim, f"calls/{answered}/hangup", {"side": "caller"})
    missed, _ = ringing_inbound(sim, to="800")
    control(sim, f"calls/{missed}/hangup", {"side": "caller"})
    outbound = client.callcontrol.makecall("101", "+15550104040").participant
    wait_for(lambda: truth(sim, outbound.callid)["answered_at"], "the far end to answer")
    client.callcontrol.drop("101", outbound.id)
    return answered, missed, outbound.callid


def test_xapi_version_status_and_licence(sim, client):
    assert client.xapi.version() == "20.0.9.995"
    status = client.xapi.system_status()
    validate_response("get", "/SystemStatus", status, strict=True)
    assert status["Version"] == "20.0.9.995" and status["ExtensionsTotal"] == 3
    licence = client.xapi.license_status()
    validate_response("get", "/LicenseStatus", licence, strict=True)
    assert licence["MaxSimCalls"] == 32


def test_xapi_users_with_presence_paging_and_filters(sim, client):
    body = raw_xapi(sim, client, "Users", {"$count": "true", "$top": "2"}).json()
    validate_response("get", "/Users", body, strict=True)
    assert body["@odata.count"] == 3 and len(body["value"]) == 2
    everyone = list(client.xapi.users(page_size=1))  # three pages of one
    assert [u["Number"] for u in everyone] == ["100", "101", "102"]
    assert {u["CurrentProfileName"] for u in everyone} == {"Available"}
    assert all(u["QueueStatus"] == "LoggedIn" and u["IsRegistered"] for u in everyone)
    marc = client.xapi.user("101")
    assert marc["DisplayName"] == "Marc Demo"
    one = raw_xapi(sim, client, "Users(Number='101')").json()
    validate_response("get", USER_BY_NUMBER_PATH, one, strict=True)
    assert one["Id"] == marc["Id"]
    assert client.xapi.user("555") is None
    quoted = list(client.xapi.users(filter=f"LastName eq {quote('O' + chr(39) + 'Neil')}"))
    assert quoted == []
    assert client.xapi.count("Users", filter="startswith(Number,'10')") == 3


def test_xapi_errors_keep_the_odata_shape(sim, client):
    response = raw_xapi(sim, client, "Users", {"$filter": "Nope eq 1"})
    assert response.status_code == 400
    validate_response("get", "/Users", response.json(), status=400, strict=True)
    assert "Nope" in response.json()["error"]["message"]
    with pytest.raises(InvalidRequestError, match="Syntax error"):
        list(client.xapi.users(filter="Number eq"))
    with pytest.raises(NotFoundError):
        client.xapi.get_json("/xapi/v1/NoSuchThing")


def test_xapi_active_calls_agree_with_call_control(sim, client):
    callid, legs = ringing_inbound(sim, ring_seconds=600)
    client.callcontrol.answer("100", legs[0]["id"])
    body = raw_xapi(sim, client, "ActiveCalls").json()
    validate_response("get", "/ActiveCalls", body, strict=True)
    (row,) = body["value"]
    assert (row["Id"], row["Status"], row["Caller"]) == (callid, "Talking",
                                                          f"{CALLER} PAT CALLER")
    client.xapi.drop_active_call(callid)
    assert truth(sim, callid)["ended_by"] == "api"
    assert list(client.xapi.active_calls()) == []


def test_xapi_history_report_and_recordings_match_the_ground_truth(sim, client):
    answered, missed, outbound = finished_calls(sim, client)
    day = datetime.datetime.now(datetime.timezone.utc)
    start, end = day - datetime.timedelta(hours=1), day + datetime.timedelta(hours=1)
    segments = list(client.xapi.call_history(start, end))
    assert {s["SegmentId"] // 100 for s in segments} == {
        c % 20_000_000 for c in (answered, missed, outbound)}
    body = raw_xapi(sim, client, "CallHistoryView", {
        "$filter": f"date(SegmentStartTime) eq {day.date().isoformat()}"}).json()
    validate_response("get", "/CallHistoryView", body, strict=True)
    assert len(body["value"]) == len(segments)
    log = {row["CallId"]: row for row in client.xapi.call_log(start, end)}
    report = raw_xapi(sim, client, "ReportCallLogData/Pbx.GetCallLogData("
                      f"periodFrom={start:%Y-%m-%dT%H:%M:%SZ},periodTo={end:%Y-%m-%dT%H:%M:%SZ},"
                      "sourceType=0,sourceFilter='',destinationType=0,destinationFilter='',"
                      "callsType=0,callTimeFilterType=0,callTimeFilterFrom='0:00:0',"
                      "callTimeFilterTo='0:00:0',hidePcalls=false)").json()
    validate_response("get", REPORT_CALL_LOG_PATH, report, strict=True)
    assert (log[answered]["Answered"], log[missed]["Answered"]) == (True, False)
    assert log[answered]["Direction"] == "Inbound" and log[outbound]["Direction"] == "Outbound"
    assert log[missed]["Status"] == "Unanswered" and log[answered]["Status"] == "Answered"
    assert log[answered]["TalkingDuration"].startswith("PT")
    only_answered = list(client.xapi.call_log(start, end, calls_type=1))
    assert {row["CallId"] for row in only_answered} == {answered, outbound}
    recs = raw_xapi(sim, client, "Recordings").json()
    validate_response("get", "/Recordings", recs, strict=True)
    by_call = {r["Id"]: r for r in client.xapi.recordings()}
    rec_id = truth(sim, answered)["recording_id"]
    assert by_call[rec_id]["CallType"] == "InboundExternal"
    assert truth(sim, missed)["recording_id"] is None
    buffer = io.BytesIO()
    size, content_type = client.xapi.download_recording(rec_id, buffer)
    assert content_type == "audio/wav" and size == len(buffer.getvalue()) > 44
    with wave.open(io.BytesIO(buffer.getvalue())) as audio:
        assert (audio.getframerate(), audio.getnchannels()) == (8000, 1)
    with pytest.raises(NotFoundError):
        client.xapi.download_recording(9999, io.BytesIO())


def test_xapi_needs_its_own_access(sim, client):
    control(sim, "config", {"xapi_access": False})
    with pytest.raises(ForbiddenError, match="XAPI access is not enabled"):
        client.xapi.version()


# -- CRM template: the PBX calls the CRM ----------------------------------------------------------


@pytest.fixture
def crm_server():
    """A CRM on 127.0.0.1 that knows one contact and records every request."""
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(("GET", self.path, self.headers.get("X-Api-Key"), None))
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            known = query.get("number") == [CALLER]
            self._json({"contacts": [{"id": 7, "first_name": "Pat", "last_name": "Caller",
                                      "phone_mobile": CALLER, "url": "http://crm/7"}]
                        if known else []})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            seen.append(("POST", self.path, self.headers.get("X-Api-Key"),
                         json.loads(self.rfile.read(length))))
            self._json({"ok": True})

        def _json(self, body):
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.seen = seen
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


def test_crm_template_lookup_on_ring_and_report_after_hang_up(sim, client, crm_server):
    control(sim, "crm", {"template": "example",
                         "parameters": {"Url": crm_server.url, "ApiKey": "crm-key"}})
    answered, legs = ringing_inbound(sim)
    wait_for(lambda: crm_server.seen, "the lookup as the call rings")
    method, path, api_key, _ = crm_server.seen[0]
    assert (method, api_key) == ("GET", "crm-key")
    assert path == "/lookup?number=%2B15550108001"
    client.callcontrol.answer("100", legs[0]["id"])
    control(sim, f"calls/{answered}/hangup", {"side": "caller"})
    report = wait_for(lambda: [s for s in crm_server.seen if s[0] == "POST"], "ReportCall")
    body = report[0][3]
    assert (body["call_type"], body["number"], body["agent"]) == ("Inbound", CALLER, "100")
    assert (body["entity_id"], body["agent_first_name"]) == ("7", "Mitchell")
    assert body["recording_url"].endswith(
        f"recId={truth(sim, answered)['recording_id']})")
    missed, _ = ringing_inbound(sim, to="800")
    control(sim, f"calls/{missed}/hangup", {"side": "caller"})
    wait_for(lambda: len([s for s in crm_server.seen if s[0] == "POST"]) == 2, "a Missed report")
    assert crm_server.seen[-1][3]["call_type"] == "Missed"
    assert crm_server.seen[-1][3]["queue_extension"] == "800"
    history = control(sim, "crm", method="GET")
    assert [h["scenario"] for h in history] == ["", "ReportCall", "", "ReportCall"]
    assert all("crm-key" not in json.dumps(h) for h in history)


def test_crm_that_is_down_does_not_disturb_the_pbx(sim, client):
    control(sim, "crm", {"template": "example", "timeout": 0.5,
                         "parameters": {"Url": "http://127.0.0.1:9", "ApiKey": "k"}})
    callid, legs = ringing_inbound(sim)
    client.callcontrol.answer("100", legs[0]["id"])
    control(sim, f"calls/{callid}/hangup", {"side": "caller"})
    history = wait_for(lambda: len(control(sim, "crm", method="GET")) == 2
                       and control(sim, "crm", method="GET"), "both attempts")
    assert all(h["status"] is None and h["error"] for h in history)
    assert truth(sim, callid)["result"] == "answered"
