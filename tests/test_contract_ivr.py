# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Contract: 3CX's IVR sample's request sequence, replayed on the wire against the simulator.

The requests are the ones 3CX's custom IVR sample sends (docs/3cx-api.md §9), with plain HTTP
and a plain WebSocket rather than the project's client, so the test says what a third-party
app meets: a multipart token request, ``GET /callcontrol`` to find the ``Wroutepoint`` DN, an
inbound call to the route point, ``answer``, the ``Connected`` Upset, the prompt streamed
(``POST …/stream``) while the caller is heard (``GET …/stream``), a key as a DTMFstring event
on the route point's participant, ``routeto`` with only a destination, then ``drop`` on that
same participant, which must still exist. Also: ``answer`` refused with 422 on a phone without
direct control, and the switches of §10 that take the other readings.
"""

import json
import queue
import threading
import time

import pytest
import requests
import websocket
from threecx_sim import SECRET, SimulatorProcess, control, running_simulator, wait_for

CALLER = "+15550108801"
TIMEOUT = 5


class SampleApp:
    """What the sample keeps: its token, the route point it found and the frames it got."""

    def __init__(self, sim):
        self.url = sim.url
        form = {"client_id": "900", "client_secret": SECRET, "grant_type": "client_credentials"}
        # The sample posts the form as multipart/form-data (ExternalApi.service.ts).
        token = requests.post(f"{sim.url}/connect/token", timeout=TIMEOUT,
                              files={k: (None, v) for k, v in form.items()})
        assert token.status_code == 200, token.text
        self.headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        self.frames = queue.Queue()
        self.ws = websocket.create_connection(
            sim.url.replace("http", "ws") + "/callcontrol/ws", timeout=TIMEOUT,
            header=[f"Authorization: {self.headers['Authorization']}"])
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        full = self.get("/callcontrol")
        assert full.status_code == 200
        self.route_point = next(dn["dn"] for dn in full.json() if dn["type"] == "Wroutepoint")

    def _read(self):
        while True:
            try:
                self.frames.put(json.loads(self.ws.recv()))
            except (websocket.WebSocketException, OSError, ValueError):
                return

    def get(self, path, **kwargs):
        return requests.get(self.url + path, headers=self.headers, timeout=TIMEOUT, **kwargs)

    def post(self, path, body=None, **kwargs):
        # As the sample: JSON, {} when there is nothing to say.
        return requests.post(self.url + path, json=body if body is not None else {},
                             headers=self.headers, timeout=kwargs.pop("timeout", TIMEOUT),
                             **kwargs)

    def drain(self):
        """Forget the frames so far (an Upset from before a change would match too)."""
        while not self.frames.empty():
            self.frames.get_nowait()

    def participant(self, pid):
        return self.get(f"/callcontrol/{self.route_point}/participants/{pid}")

    def event(self, predicate, what, timeout=TIMEOUT):
        """The first frame from now on that ``predicate`` accepts (Upsets repeat: skipped)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                frame = self.frames.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if predicate(frame["event"]):
                return frame["event"]
        raise AssertionError(f"no {what} within {timeout} s")

    def close(self):
        self.ws.close()


@pytest.fixture
def sim():
    with running_simulator() as sim:
        yield sim


@pytest.fixture
def app(sim):
    app = SampleApp(sim)
    yield app
    app.close()


def truth(sim, callid):
    return control(sim, f"calls/{callid}", method="GET")


def inbound_to_route_point(sim, app, ring_seconds=600):
    call = control(sim, "calls/inbound", {"from": CALLER, "to": app.route_point,
                                          "ring_seconds": ring_seconds})
    (leg,) = call["legs"]
    return call["callid"], leg["id"]


def test_the_ivr_samples_sequence(sim, app):
    callid, pid = inbound_to_route_point(sim, app)
    entity = f"/callcontrol/{app.route_point}/participants/{pid}"
    # An Upset carries only the entity: the sample reads it.
    app.event(lambda e: e["event_type"] == 0 and e["entity"] == entity, "Upset of the call")
    ringing = app.get(entity).json()
    assert (ringing["status"], ringing["direct_control"]) == ("Ringing", True)
    # No media before the answer: the prompt waits for Connected.
    assert app.get(entity + "/stream", stream=True).status_code == 424
    assert app.post(entity + "/answer").status_code == 200
    app.event(lambda e: e["event_type"] == 0 and e["entity"] == entity
              and app.get(entity).json()["status"] == "Connected", "the Connected Upset")
    # The prompt (POST) and the caller's audio (GET), as the sample opens them.
    heard = app.get(entity + "/stream", stream=True)
    assert heard.status_code == 200
    prompt = threading.Thread(target=lambda: requests.post(
        app.url + entity + "/stream", data=bytes(3200), timeout=TIMEOUT,
        headers={**app.headers, "Content-Type": "application/octet-stream"}), daemon=True)
    prompt.start()
    assert len(next(heard.iter_content(640))) > 0
    prompt.join(TIMEOUT)
    # The caller presses 2: a DTMFstring event on the route point's participant.
    control(sim, f"calls/{callid}/dtmf", {"digits": "2"})
    dtmf = app.event(lambda e: e["event_type"] == 2, "the DTMFstring event")
    assert dtmf == {"event_type": 2, "entity": entity, "attached_data": {"dtmf_input": "2"}}
    # routeto with a destination only; 3CX answers once delivery is decided.
    routed = app.post(entity + "/routeto", {"destination": "102"}, timeout=30)
    assert routed.status_code == 200 and routed.json()["finalstatus"] == 1
    # The sample then drops the same participant: it is still there until it does.
    assert app.participant(pid).status_code == 200
    assert [leg["dn"] for leg in truth(sim, callid)["legs"]] == ["900", "102"]
    dropped = app.post(entity + "/drop")
    assert dropped.status_code == 200, dropped.text
    app.event(lambda e: e["event_type"] == 1 and e["entity"] == entity, "the Remove")
    heard.close()
    # The call goes on at the destination, which answers; the caller's keys now go there.
    after = truth(sim, callid)
    assert after["ended_at"] is None and [leg["dn"] for leg in after["legs"]] == ["102"]
    control(sim, f"calls/{callid}/answer", {"dn": "102"})
    assert truth(sim, callid)["answered_by"] == "102"
    control(sim, f"calls/{callid}/dtmf", {"digits": "9"})
    dtmf = app.event(lambda e: e["event_type"] == 2, "the DTMFstring event on 102")
    assert dtmf["entity"].startswith("/callcontrol/102/participants/")
    assert sim.simulator.stats.streams[pid]["bytes"] == 3200  # the whole prompt arrived


def test_dtmf_goes_to_the_leg_the_caller_talks_to(sim, app):
    callid, pid = inbound_to_route_point(sim, app)
    # Not while nobody has answered: the far end is not connected to anyone.
    response = requests.post(f"{sim.url}/_sim/calls/{callid}/dtmf", json={"digits": "1"},
                             timeout=TIMEOUT)
    assert response.status_code == 422
    assert "no Connected extension or route point leg" in response.json()["error"]
    assert app.post(f"/callcontrol/900/participants/{pid}/answer").status_code == 200
    control(sim, f"calls/{callid}/dtmf", {"digits": "12#"})
    event = app.event(lambda e: e["event_type"] == 2, "the DTMFstring event")
    assert event["attached_data"] == {"dtmf_input": "12#"}
    assert truth(sim, callid)["dtmf"] == "12#"
    # The API itself sends no DTMF (§7): there is no such participant action.
    assert app.post(f"/callcontrol/900/participants/{pid}/dtmf",
                    {"digits": "5"}).status_code == 404


def test_an_unanswered_route_point_call_stays_until_the_app_acts(sim, app):
    callid, pid = inbound_to_route_point(sim, app, ring_seconds=1)  # 0.05 s at test speed
    time.sleep(0.3)  # several ring timeouts: a route point has none
    assert app.participant(pid).json()["status"] == "Ringing"
    assert truth(sim, callid)["ended_at"] is None
    assert app.post(f"/callcontrol/900/participants/{pid}/drop").status_code == 200
    assert truth(sim, callid)["result"] == "missed"


def test_the_other_readings_of_unanswered_route_point_calls(sim, app):
    control(sim, "config", {"route_point_unanswered": "timeout"})
    callid, _pid = inbound_to_route_point(sim, app, ring_seconds=1)
    wait_for(lambda: truth(sim, callid)["ended_at"], "the ring timeout")
    assert truth(sim, callid)["result"] == "missed"
    control(sim, "config", {"route_point_unanswered": "connect"})
    callid, pid = inbound_to_route_point(sim, app)
    assert app.participant(pid).json()["status"] == "Connected"
    assert app.get(f"/callcontrol/900/participants/{pid}/stream",
                   stream=True).status_code == 200
    bad = requests.post(f"{sim.url}/_sim/config", json={"route_point_unanswered": "maybe"},
                        timeout=TIMEOUT)
    assert bad.status_code == 422


def test_routeto_without_keeping_the_leg_fails_the_samples_drop(sim, app):
    control(sim, "config", {"routeto_keeps_leg": False})
    callid, pid = inbound_to_route_point(sim, app)
    app.post(f"/callcontrol/900/participants/{pid}/answer")
    assert app.post(f"/callcontrol/900/participants/{pid}/routeto",
                    {"destination": "102"}, timeout=30).status_code == 200
    # The leg left with the call: the sample's drop gets 404 (it would replay its prompt).
    assert app.participant(pid).status_code == 404
    assert app.post(f"/callcontrol/900/participants/{pid}/drop").status_code == 404
    assert [leg["dn"] for leg in truth(sim, callid)["legs"]] == ["102"]


def test_answer_is_refused_on_a_phone_without_direct_control(sim, app):
    body = control(sim, "dns/100/direct_control", {"direct_control": False})
    assert len(body["no_direct_control"]) == 1  # extension 100 has one phone
    call = control(sim, "calls/inbound", {"from": CALLER, "to": "100", "ring_seconds": 600})
    (leg,) = call["legs"]
    entity = f"/callcontrol/100/participants/{leg['id']}"
    assert app.get(entity).json()["direct_control"] is False
    refused = app.post(entity + "/answer")
    assert refused.status_code == 422
    assert refused.json()["finalstatus"] == -1
    assert "cannot be answered remotely" in refused.json()["reasontext"]
    assert truth(sim, call["callid"])["answered_at"] is None
    # The realtor picks up the handset (not through the API): that works.
    control(sim, f"calls/{call['callid']}/answer", {"dn": "100"})
    assert truth(sim, call["callid"])["answered_by"] == "100"
    # Dropping needs no remote control of the phone.
    assert app.post(entity + "/drop").status_code == 200


def test_direct_control_follows_the_phone(sim, app):
    control(sim, "dns", {"number": "150", "last_name": "Desk", "devices": 2,
                         "direct_control": False})
    devices = app.get("/callcontrol/150/devices").json()
    assert len(devices) == 2 and "direct_control" not in devices[0]  # shown on legs only
    control(sim, "dns/150/direct_control", {"direct_control": True,
                                            "device_id": devices[0]["device_id"]})
    call = control(sim, "calls/inbound", {"from": CALLER, "to": "150", "ring_seconds": 600})
    (leg,) = call["legs"]
    assert leg["direct_control"] is True  # it rings on the first phone, which may be
    # The phone's capability changes (it registers again as another model): the live leg
    # follows, with an Upset.
    app.drain()
    control(sim, "dns/150/direct_control", {"direct_control": False})
    app.event(lambda e: e["event_type"] == 0 and e["entity"].endswith(f"/{leg['id']}"),
              "the Upset")
    assert app.get(f"/callcontrol/150/participants/{leg['id']}").json()[
        "direct_control"] is False
    assert app.post(f"/callcontrol/150/participants/{leg['id']}/answer").status_code == 422


def test_the_403_reading_of_direct_control(sim, app):
    control(sim, "config", {"enforce_direct_control": True})
    control(sim, "dns/100/direct_control", {"direct_control": False})
    call = control(sim, "calls/inbound", {"from": CALLER, "to": "100", "ring_seconds": 600})
    entity = f"/callcontrol/100/participants/{call['legs'][0]['id']}"
    for response in (app.post(entity + "/answer"), app.post(entity + "/drop")):
        assert response.status_code == 403
        assert "not under direct control" in response.json()["reasontext"]


def test_the_simulators_command_line_makes_a_phone_without_direct_control(tmp_path):
    sim = SimulatorProcess(tmp_path / "sim.log", tmp_path / "pbx.json", "--speed", "0.05",
                           "--no-direct-control", "101")
    sim.start()
    try:
        app = SampleApp(sim)
        call = control(sim, "calls/inbound", {"from": CALLER, "to": "101",
                                              "ring_seconds": 600})
        entity = f"/callcontrol/101/participants/{call['legs'][0]['id']}"
        assert app.get(entity).json()["direct_control"] is False
        assert app.post(entity + "/answer").status_code == 422
        other = control(sim, "calls/inbound", {"from": CALLER, "to": "102",
                                               "ring_seconds": 600})
        assert other["legs"][0]["direct_control"] is True
        app.close()
    finally:
        sim.stop()
