# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Contract tests: the request sequences of 3CX's sample dialer and outbound campaign apps,
replayed against the simulator, and what those apps expect of the answers.

3CX publishes a sample server with a dialer (calls from an extension's chosen device), an
outbound campaign (calls a list of numbers one at a time from a queue) and a custom IVR that
dials the same way from its route point (docs/3cx-api.md §9). :class:`SampleApp` does what
their shared service does, in the same order: a token from a multipart form, the event socket,
``GET /callcontrol`` into a map of DNs (devices and participants by id), then for every frame
an Upset re-read into the map (repeats included) or a Remove deleted from it. The flows on
top of it follow each app's logic step by step; the assertions are what each app relies on.
Plain Python: the simulator only, no Odoo.
"""

import json
import time
from urllib.parse import quote

import pytest
import requests
import websocket
from threecx_sim import SECRET, control, running_simulator

UNREGISTERED = "not_registered_dev"  # the dialer's stand-in for calls on no known device
SOURCE_BUSY = "Campaign source is busy, please finish campaign and try again"
UNKNOWN_ERROR = "The call has been failed due to unexpected reason"
FAR_END = "+15550107101"


def encode_uri_component(text):
    """JavaScript's ``encodeURIComponent``, which the samples apply to device ids."""
    return quote(text, safe="-_.!~*'()")


def determine_operation(entity):
    """The samples' split of an entity path: (dn, kind, id) from its last three segments."""
    parts = entity.split("/")
    return parts[-3] if len(parts) > 2 else "", parts[-2], parts[-1]


class SampleApp:
    """The sample server's connection to the PBX and its local mirror (``full_info``)."""

    def __init__(self, sim, on_event=None):
        self.base = sim.url
        self.sent = []  # (method, path) of every request, in order
        form = {"client_id": "900", "client_secret": SECRET, "grant_type": "client_credentials"}
        self.sent.append(("POST", "/connect/token"))
        token = requests.post(f"{self.base}/connect/token", timeout=5,
                              files={k: (None, v) for k, v in form.items()})
        assert token.status_code == 200, token.text
        self.auth = "Bearer " + token.json()["access_token"]
        # The socket first, then the full state, as the sample's setup() and connect() do.
        self.sent.append(("WS", "/callcontrol/ws"))
        self.ws = websocket.create_connection(
            self.base.replace("http", "ws", 1) + "/callcontrol/ws", timeout=5,
            header=[f"Authorization: {self.auth}"])
        self.on_event = on_event or (lambda event: None)
        self.upsets = {}  # entity -> Upset frames received
        self.reads = {}  # entity -> GETs of it
        self.full_info = {}
        for dn in self.get("/callcontrol").json():
            self.full_info[dn["dn"]] = {
                "dn": dn["dn"], "type": dn["type"],
                "devices": {d["device_id"]: d for d in dn.get("devices") or ()},
                "participants": {str(p["id"]): p for p in dn.get("participants") or ()}}

    def close(self):
        self.ws.close()

    def get(self, path):
        self.sent.append(("GET", path))
        return requests.get(self.base + path, headers={"Authorization": self.auth}, timeout=5)

    def post(self, path, body):
        self.sent.append(("POST", path))
        return requests.post(self.base + path, data=json.dumps(body), timeout=5, headers={
            "Authorization": self.auth, "Content-Type": "application/json; charset=utf-8"})

    def make_call(self, source, destination):
        return self.post(f"/callcontrol/{source}/makecall", {"destination": destination})

    def make_call_from_device(self, source, device_id, destination):
        return self.post(f"/callcontrol/{source}/devices/{device_id}/makecall",
                         {"destination": destination})

    def control_participant(self, source, participant_id, method, destination=None):
        return self.post(f"/callcontrol/{source}/participants/{participant_id}/{method}",
                         {"destination": destination} if destination else {})

    def participants(self, dn):
        return self.full_info[dn]["participants"]

    def _set(self, entity, value):
        """The samples' ``set()`` on a participant or device path; returns what it removed."""
        dn, kind, key = determine_operation(entity)
        entries = self.full_info.get(dn, {}).get(kind)
        if entries is None:
            return None
        if value is None:
            return entries.pop(key, None)
        entries[key] = value
        return value

    def pump(self, until, what, timeout=10.0):
        """Handle frames as the samples do until ``until()`` holds."""
        deadline = time.monotonic() + timeout
        while not until():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")
            self.ws.settimeout(0.05)
            try:
                frame = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                continue
            event = frame["event"]
            entity = event["entity"]
            removed = None
            if event["event_type"] == 0:  # Upset: read it again, every time
                self.upsets[entity] = self.upsets.get(entity, 0) + 1
                self.reads[entity] = self.reads.get(entity, 0) + 1
                response = self.get(entity)
                if response.status_code == 200:  # a failed read is logged and dropped
                    self._set(entity, response.json())
            elif event["event_type"] == 1:  # Remove
                removed = self._set(entity, None)
            self.on_event(event, removed)


@pytest.fixture
def sim():
    # Real-time PBX delays: the campaign moves on only when a call's Remove arrives after its
    # Upset was read, which the samples' handling needs (as on a real PBX).
    with running_simulator(speed=1.0, ring_timeout=1.0) as sim:
        yield sim


class Dialer:
    """3CX's dialer app: bound to an extension, calls from the device the user picked."""

    def __init__(self, sim):
        self.app = SampleApp(sim, self.handle)
        self.source = next(dn for dn in self.app.full_info.values()
                           if dn["type"] == "Wextension")["dn"]
        self.devices = {d: {**device, "current_calls": {}}
                        for d, device in self.app.full_info[self.source]["devices"].items()}
        self.devices[UNREGISTERED] = {"dn": self.source, "device_id": UNREGISTERED,
                                      "user_agent": "Unregistered Devices", "current_calls": {}}
        self.active = next(iter(self.devices))

    def _device(self, participant):
        return self.devices.get(participant.get("device_id") or "") or self.devices[UNREGISTERED]

    def handle(self, event, removed):
        dn, kind, key = determine_operation(event["entity"])
        if dn != self.source or kind != "participants":
            return
        if event["event_type"] == 0:
            participant = self.app.participants(dn).get(key)
            if participant:
                self._device(participant)["current_calls"][participant["id"]] = {
                    "participantId": participant["id"], "party": participant["party_caller_id"],
                    "status": participant["status"], "name": participant["party_caller_name"],
                    "callid": participant["callid"], "legid": participant["legid"],
                    "directControll": participant["direct_control"]}
        elif event["event_type"] == 1:
            if removed:
                self._device(removed)["current_calls"].pop(removed["id"], None)
            else:  # already gone from the map: look for it on every device
                for device in self.devices.values():
                    device["current_calls"].pop(int(key), None)

    def current_calls(self):
        return list(self.devices[self.active]["current_calls"].values())

    def make_call(self, destination):
        if self.active != UNREGISTERED:
            return self.app.make_call_from_device(self.source, encode_uri_component(
                self.active), destination)
        return self.app.make_call(self.source, destination)

    def drop(self, participant_id):
        return self.app.control_participant(self.source, participant_id, "drop")


def test_the_dialer_calls_from_the_chosen_device_and_follows_the_call(sim):
    # Bound to extension 101, which has two devices; the user picks the second.
    sim.call(setattr, sim.simulator.pbx, "monitored", {"101"})
    control(sim, "scripts", {"destination": FAR_END, "answer_after": 0.3})
    dialer = Dialer(sim)
    try:
        assert dialer.app.sent == [("POST", "/connect/token"), ("WS", "/callcontrol/ws"),
                                   ("GET", "/callcontrol")]
        assert dialer.source == "101"
        registered = [d for d in dialer.devices if d != UNREGISTERED]
        assert len(registered) == 2
        dialer.active = registered[1]
        placed = dialer.make_call(FAR_END)
        # The dialer ignores the answer's body; the path carried the encoded device id.
        assert placed.status_code == 200, placed.text
        assert ("POST", f"/callcontrol/101/devices/{encode_uri_component(registered[1])}"
                        "/makecall") in dialer.app.sent
        leg = placed.json()["result"]
        path = f"/callcontrol/101/participants/{leg['id']}"
        # The call shows on the chosen device (the leg's device_id), Dialing then Connected.
        dialer.app.pump(lambda: dialer.current_calls(), "the call on the chosen device")
        [dialing] = dialer.current_calls()
        assert (dialing["status"], dialing["party"], dialing["directControll"]) == (
            "Dialing", FAR_END, True)
        dialer.app.pump(lambda: dialer.current_calls()[0]["status"] == "Connected",
                        "the far end to answer")
        assert dialer.devices[registered[0]]["current_calls"] == {}
        # Every Upset is read again, the ~750 ms repeats included.
        dialer.app.pump(lambda: dialer.app.upsets.get(path, 0) >= 3, "a repeated Upset")
        assert dialer.app.reads[path] == dialer.app.upsets[path]
        assert dialer.drop(leg["id"]).status_code == 200
        dialer.app.pump(lambda: not dialer.current_calls(), "the dropped call to go")
        call = control(sim, f"calls/{leg['callid']}", method="GET")
        assert (call["makecall_form"], call["makecall_device"], call["result"],
                call["ended_by"]) == ("device", registered[1], "answered", "101")
    finally:
        dialer.app.close()


class Campaign:
    """3CX's outbound campaign app (``Wivr``/``Wqueue``), and the same dialling loop in its IVR
    app (``Wroutepoint``): one number at a time from the source's first device; the next
    number once the source has no participant left."""

    def __init__(self, sim, source_types):
        self.app = SampleApp(sim, self.handle)
        self.source = next(dn for dn in self.app.full_info.values()
                           if dn["type"] in source_types)["dn"]
        self.queue = []
        self.failed = []  # (number, reason)
        self.placed = {}  # participant id -> the makecall's result

    def start_dialing(self, sources):
        self.queue.extend(n.strip() for n in sources.split(",") if n.strip())
        self.make_calls_to_dst()

    def make_calls_to_dst(self):
        if not self.queue:
            return
        number = self.queue.pop(0)
        if self.app.participants(self.source):
            self.failed.append((number, SOURCE_BUSY))
            return
        device = next(iter(self.app.full_info[self.source]["devices"].values()), None)
        if not device:  # 'Devices not found', thrown and caught as an unknown error
            self.failed.append((number, UNKNOWN_ERROR))
            return
        response = self.app.make_call_from_device(
            self.source, encode_uri_component(device["device_id"]), number)
        body = response.json()
        if response.status_code >= 400:
            self.failed.append((number, body.get("reasontext") or UNKNOWN_ERROR))
        elif (body.get("result") or {}).get("id"):
            self.placed[body["result"]["id"]] = body["result"]
        else:
            self.failed.append((number, body.get("reasontext") or UNKNOWN_ERROR))

    def handle(self, event, removed):
        dn, kind, _key = determine_operation(event["entity"])
        if event["event_type"] == 1 and dn == self.source and kind == "participants" and removed:
            if not self.app.participants(self.source):
                self.make_calls_to_dst()

    def drop(self, participant_id):
        return self.app.control_participant(self.source, participant_id, "drop")


@pytest.mark.parametrize(("types", "source"), [(("Wivr", "Wqueue"), "800"),
                                               (("Wroutepoint",), "900")])
def test_the_campaign_calls_a_list_one_at_a_time_from_the_first_device(sim, types, source):
    answers, busy, silent, refused = (f"+1555010720{i}" for i in range(4))
    control(sim, "scripts", {"destination": answers, "answer_after": 0.3})
    control(sim, "scripts", {"destination": busy, "busy": True})
    control(sim, "scripts", {"destination": silent, "answer_after": None})
    control(sim, "scripts", {"destination": refused, "refuse": "No free lines"})
    campaign = Campaign(sim, types)
    try:
        assert campaign.source == source
        [device] = campaign.app.full_info[source]["devices"]  # Devices found
        campaign.start_dialing(answers)
        [(first_id, first)] = campaign.placed.items()
        # The result is the source's own leg, Dialing, on the device it was placed from.
        assert (first["dn"], first["status"], first["device_id"], first["party_caller_id"]) == (
            source, "Dialing", device, answers)
        # Once its Upset is read the call is on the source: a list started now queues its
        # numbers, and its first is failed as the source being busy.
        campaign.app.pump(lambda: campaign.app.participants(source), "the first call's Upset")
        campaign.start_dialing(f"+15550107299, {busy},{silent}, ,{refused}")
        assert campaign.failed == [("+15550107299", SOURCE_BUSY)]
        assert campaign.queue == [busy, silent, refused]
        campaign.app.pump(lambda: campaign.app.participants(source).get(str(first_id), {}).get(
            "status") == "Connected", "the first number to answer")
        assert campaign.drop(first_id).status_code == 200
        # Dropped, then busy, then unanswered (the ring timeout): each Remove places the next.
        campaign.app.pump(lambda: len(campaign.failed) == 2, "the whole list", timeout=15)
        assert campaign.failed[1] == (refused, "No free lines")
        assert campaign.queue == []
        placed = [control(sim, f"calls/{leg['callid']}", method="GET")
                  for leg in campaign.placed.values()]
        assert [(c["callee"], c["result"]) for c in placed] == [
            (answers, "answered"), (busy, "busy"), (silent, "not_answered")]
        assert {(c["caller"], c["makecall_form"], c["makecall_device"]) for c in placed} == {
            (source, "device", device)}
        for before, after in zip(placed, placed[1:], strict=False):  # one at a time
            assert after["started_at"] >= before["ended_at"]
        makecalls = [path for method, path in campaign.app.sent if path.endswith("/makecall")]
        assert makecalls == [f"/callcontrol/{source}/devices/{encode_uri_component(device)}"
                             "/makecall"] * 4
        assert not campaign.app.participants(source)
    finally:
        campaign.app.close()


def test_a_campaign_source_without_devices_fails_as_the_samples_do(sim):
    """What both apps met before route points and queues had devices: no request is sent."""
    control(sim, "dns", {"number": "801", "type": "Wqueue", "devices": 0})
    sim.call(setattr, sim.simulator.pbx, "monitored", {"801"})
    campaign = Campaign(sim, ("Wivr", "Wqueue"))
    try:
        assert campaign.source == "801"
        campaign.start_dialing(FAR_END)
        assert campaign.failed == [(FAR_END, UNKNOWN_ERROR)]
        assert not [path for _method, path in campaign.app.sent if path.endswith("/makecall")]
    finally:
        campaign.app.close()


def test_a_stale_device_is_404_with_reasontext_and_the_snapshot_has_the_new_one(sim):
    campaign = Campaign(sim, ("Wroutepoint",))
    try:
        [old] = campaign.app.full_info["900"]["devices"]
        control(sim, "dns/900/reregister")
        response = campaign.app.make_call_from_device("900", encode_uri_component(old), FAR_END)
        assert response.status_code == 404
        assert response.json()["finalstatus"] == -1
        assert "not found on DN 900" in response.json()["reasontext"]
        [new] = campaign.app.get("/callcontrol/900/devices").json()
        assert new["device_id"] != old
        assert [dn["devices"] for dn in campaign.app.get("/callcontrol").json()
                if dn["dn"] == "900"] == [[new]]
    finally:
        campaign.app.close()
