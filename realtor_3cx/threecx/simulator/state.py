# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The simulated PBX: DNs, devices, call legs and the ground truth of every call, without I/O.

What
    :class:`Pbx` owns the state a 3CX V20 keeps for Call Control (docs/3cx-api.md §2): DNs
    of type ``Wextension``, ``Wroutepoint``, ``Wqueue`` and ``Wringgroup``, their devices, and
    participants (call legs) that go ``Ringing``/``Dialing`` -> ``Connected`` -> removed. Every
    change is reported to an ``emit(event_type, entity_path, attached_data)`` callback; the
    server turns those into WebSocket frames. Every call is also kept as a :class:`CallRecord`
    (the ground truth tests compare the client's view with, and the source of the XAPI
    history, report and recordings).

How it works
    Nothing here sleeps: delayed steps (a ring that times out, a scripted answer, ``routeto``
    delivery) go through ``schedule(delay_seconds, fn)``, which the server maps to
    ``loop.call_later`` scaled by its speed factor, and tests may drive by hand. All methods run
    on one thread (the server's event loop), so there are no locks.

Errors
    :class:`SimError` carries the HTTP status and the ``reasontext`` 3CX would answer with.
"""

import itertools
import logging
import time
from dataclasses import asdict, dataclass, field

_logger = logging.getLogger(__name__)

UPSET, REMOVE, DTMF = 0, 1, 2

EXTENSION, ROUTE_POINT, QUEUE = "Wextension", "Wroutepoint", "Wqueue"
RING_GROUP = "Wringgroup"
EXTERNAL_LINE = "Wexternalline"  # party_dn_type of an outside party; the spelling is open
RINGING, DIALING, CONNECTED = "Ringing", "Dialing", "Connected"
DEVICE_TYPES = (EXTENSION, ROUTE_POINT, QUEUE)  # the DN types that have devices
# The user agent of a route point's / queue's own device is not published [I].
DN_AGENTS = {ROUTE_POINT: "3CX Route Point", QUEUE: "3CX Queue"}

# DivertReason of the V20 .NET API (docs/3cx-api.md §2); REST takes the names.
DIVERT_REASONS = (
    "None", "NoAnswer", "PhoneBusy", "PhoneNotRegistered", "ForwardAll", "BasedOnCallerID",
    "BasedOnDID", "OutOfOfficeHours", "BreakTime", "Holiday", "OfficeHours", "NoDestinations",
)

# How a finished call is reported (XAPI Status / CRM CallType).
ANSWERED, MISSED, NOT_ANSWERED, VOICEMAIL, BUSY, FAILED = (
    "answered", "missed", "not_answered", "voicemail", "busy", "failed")


class SimError(Exception):
    """A request the PBX refuses: ``status`` is the HTTP code, ``reason`` the 3CX reason text."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Refused(SimError):
    """A call 3CX will not place, answered 200 with finalstatus Failed and no participant:
    3CX's sample apps read ``reasontext`` from such an answer as from an HTTP error [I]."""

    def __init__(self, reason):
        super().__init__(200, reason)


@dataclass
class Device:
    dn: str
    device_id: str
    user_agent: str
    # Whether 3CX can answer a call on it remotely (a phone that takes uaCSTA, or 3CX's own
    # apps): a leg it carries says so in ``direct_control`` (docs/3cx-api.md §9). Not in 3CX's
    # device JSON: it shows only on the legs.
    direct_control: bool = True

    def as_json(self):
        return {"dn": self.dn, "device_id": self.device_id, "user_agent": self.user_agent}


@dataclass
class Dn:
    number: str
    type: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    mobile: str = ""
    members: tuple = ()  # queue agents / ring group members, rung all at once
    voicemail: bool = True  # unanswered calls end in voicemail rather than as missed
    profile: str = "Available"
    queue_logged_in: bool = True
    devices: dict = field(default_factory=dict)
    participants: dict = field(default_factory=dict)

    @property
    def name(self):
        return f"{self.first_name} {self.last_name}".strip() or self.number

    def as_json(self):
        return {
            "dn": self.number,
            "type": self.type,
            "devices": [d.as_json() for d in self.devices.values()],
            "participants": [p.as_json() for p in self.participants.values()],
        }


@dataclass
class Leg:
    """A participant: one DN's side of a call."""

    id: int
    dn: str
    status: str
    callid: int
    legid: int
    party_caller_name: str = ""
    party_caller_id: str = ""
    party_dn: str = ""
    party_did: str = ""
    party_dn_type: str = ""
    device_id: str = ""
    direct_control: bool = True
    originated_by_dn: str = ""
    originated_by_type: str = ""
    referred_by_dn: str = ""
    referred_by_type: str = ""
    on_behalf_of_dn: str = ""
    on_behalf_of_type: str = ""
    attached_data: dict = field(default_factory=dict)
    # A route-point leg the app has routed on (``routeto``) and not dropped yet: it stays, as
    # 3CX's IVR sample expects (SimConfig.routeto_keeps_leg), without being the caller's side.
    routed: bool = False
    created_at: float = 0.0  # when its first Upset was sent
    connected_at: float | None = None
    # Ground truth of the early-Upset quirk, for the control API only (never in 3CX's JSON):
    # when a GET can first show the leg, how many reads left it out before, and when a read
    # first showed it.
    readable_at: float = 0.0
    hidden_reads: int = 0
    first_read_at: float | None = None

    @property
    def path(self):
        return f"/callcontrol/{self.dn}/participants/{self.id}"

    def as_json(self):
        return {
            "id": self.id,
            "status": self.status,
            "dn": self.dn,
            "party_caller_name": self.party_caller_name,
            "party_dn": self.party_dn,
            "party_caller_id": self.party_caller_id,
            "party_did": self.party_did,
            "device_id": self.device_id,
            "party_dn_type": self.party_dn_type,
            "direct_control": self.direct_control,
            "originated_by_dn": self.originated_by_dn,
            "originated_by_type": self.originated_by_type,
            "referred_by_dn": self.referred_by_dn,
            "referred_by_type": self.referred_by_type,
            "on_behalf_of_dn": self.on_behalf_of_dn,
            "on_behalf_of_type": self.on_behalf_of_type,
            "callid": self.callid,
            "legid": self.legid,
        }


@dataclass
class CallRecord:
    """Ground truth of one call, as the PBX lived it."""

    callid: int
    direction: str  # "Inbound", "Outbound" or "Internal"
    caller: str  # number or DN
    caller_name: str
    callee: str  # destination number or DN
    did: str
    started_at: float
    answered_at: float | None = None  # first answer
    talk_since: float | None = None  # start of the current connected segment
    ended_at: float | None = None
    answered_by: str = ""  # DN that took the call
    result: str = ""  # ANSWERED, MISSED, ...; "" while active
    ended_by: str = ""  # "caller", "callee", "pbx" (timeout, restart) or the DN that dropped
    agent_dn: str = ""  # the realtor's extension (rung, answered or calling)
    # How an app placed it: "device" (POST /callcontrol/{dn}/devices/{id}/makecall, from
    # ``makecall_device``), "dn" (POST /callcontrol/{dn}/makecall) or "" (not by makecall).
    makecall_form: str = ""
    makecall_device: str = ""
    dtmf: str = ""  # keys the far end pressed (control API), reported as WS DTMF events
    heard_dtmf: str = ""  # keys the far end heard in the audio POSTed to it (in-band)
    events: list = field(default_factory=list)  # (time, text) timeline
    recording_id: int | None = None  # set once 3CX has finished writing the file
    recorded_seconds: float = 0.0  # audio length: the talk time, or the voicemail message
    segments: list = field(default_factory=list)  # (start, end, src_dn, dst_dn, kind)
    # What 3CX's transcription makes of the recording (simulator/xapi.py): a test's text and
    # audio (POST /_sim/transcripts), when it was asked for (TranscribeRecordings).
    transcript: dict = field(default_factory=dict)

    def as_json(self):
        return {
            "callid": self.callid,
            "direction": self.direction,
            "caller": self.caller,
            "caller_name": self.caller_name,
            "callee": self.callee,
            "did": self.did,
            "started_at": self.started_at,
            "answered_at": self.answered_at,
            "ended_at": self.ended_at,
            "answered_by": self.answered_by,
            "agent_dn": self.agent_dn,
            "makecall_form": self.makecall_form,
            "makecall_device": self.makecall_device,
            "result": self.result,
            "ended_by": self.ended_by,
            "dtmf": self.dtmf,
            "heard_dtmf": self.heard_dtmf,
            "recording_id": self.recording_id,
            "events": [[round(t, 3), text] for t, text in self.events],
        }


@dataclass
class Script:
    """How the far end of an outbound call behaves (set per destination by the control API)."""

    answer_after: float | None = 2.0  # None: never answers
    busy: bool = False
    hangup_after: float | None = None  # talk time before the far end hangs up
    # 3CX refuses to place the call at once: its answer is finalstatus Failed with this
    # reasontext and no participant (what 3CX's sample campaign app reads; the text is [I]).
    refuse: str = ""


class Pbx:
    """The whole simulated PBX. See the module docstring.

    :param client_id: the API integration's Client ID, which is also its route point DN
    :param monitored: DNs the integration may see besides its route point (default: all)
    :param ring_timeout: seconds a leg rings before voicemail or a missed call
    :param recording_delay: seconds after a call ends before its recording (or voicemail
        message) is listed and downloadable: 3CX is still writing the file until then
    :param voicemail_seconds: how long the message a caller leaves in voicemail is
    """

    def __init__(self, *, client_id="900", emit=None, schedule=None, clock=time.time,
                 ring_timeout=20.0, routeto_delay=0.5, monitored=None, on_ring=None,
                 on_end=None, recording_delay=0.0, voicemail_seconds=5.0):
        self.client_id = client_id
        self.emit = emit or (lambda event_type, path, data=None: None)
        # Hooks for the CRM-template emitter: a call with an outside party starts / ends.
        self.on_ring = on_ring or (lambda call: None)
        self.on_end = on_end or (lambda call: None)
        self.schedule = schedule or (lambda delay, fn: None)
        self.clock = clock
        self.ring_timeout = ring_timeout
        self.routeto_delay = routeto_delay
        # SimConfig.routeto_keeps_leg and route_point_unanswered (docs/3cx-api.md §9, §10)
        self.routeto_keeps_leg = True
        self.route_point_unanswered = "stay"
        self.recording_delay = recording_delay
        self.voicemail_seconds = voicemail_seconds
        # A new leg stays out of every read this long after its Upset (SimConfig.early_upset_ms)
        self.hidden_for = 0.0
        self.dns = {}
        self.calls = {}
        self.scripts = {}
        self.monitored = monitored
        self._ids = itertools.count(1)
        # 3CX's call ids keep growing across restarts (they are in its database), so a
        # restarted simulator must not reuse the ids of calls Odoo has logged: start from the
        # clock (tenths of seconds since 2023, within the int32 XAPI uses).
        self._callids = itertools.count(int((clock() - 1_700_000_000) * 10))
        self.last_callid = 0
        self._recording_ids = itertools.count(1)
        self.recordings = {}  # id -> CallRecord (audio is synthesised on download)
        self.add_dn(client_id, ROUTE_POINT, first_name="Realtor 3CX")

    # -- topology ---------------------------------------------------------------------------

    def add_dn(self, number, type_=EXTENSION, *, devices=1, **values):
        """A DN with ``devices`` registered devices. Route points and queues have theirs as
        extensions do: 3CX's sample campaign and IVR apps place calls from the first one
        (docs/3cx-api.md §9); a ring group has none."""
        dn = Dn(number=str(number), type=type_, **values)
        for index in range(devices if type_ in DEVICE_TYPES else 0):
            # Opaque ids with URL-reserved characters, as real ones are (docs/3cx-api.md §2).
            device_id = f"sip:{number}@127.0.0.1:5062;rinstance={index}a{number}"
            if type_ != EXTENSION:
                agent = DN_AGENTS[type_]
            else:
                agent = "3CX Desktop App" if index == 0 else "Yealink T54W"
            dn.devices[device_id] = Device(dn=dn.number, device_id=device_id, user_agent=agent)
        self.dns[dn.number] = dn
        return dn

    def set_direct_control(self, number, allowed, device_id=None):
        """Make a DN's devices (or one) remotely answerable or not; the live legs they carry
        follow, with an Upset, as 3CX re-reads a phone's capabilities when it registers."""
        dn = self._dn(number)
        if device_id is not None and device_id not in dn.devices:
            raise SimError(404, f"device {device_id} not found on DN {number}")
        for device in dn.devices.values():
            if device_id is None or device.device_id == device_id:
                device.direct_control = bool(allowed)
        for leg in dn.participants.values():
            carrier = dn.devices.get(leg.device_id)
            if carrier is not None and leg.direct_control != carrier.direct_control:
                leg.direct_control = carrier.direct_control
                self.emit(UPSET, leg.path)
        return [d.device_id for d in dn.devices.values() if not d.direct_control]

    def reregister(self, number):
        """A phone re-registers: its device id changes and the old one goes stale (404)."""
        dn = self._dn(number)
        old = list(dn.devices.values())
        dn.devices = {}
        for device in old:
            base = device.device_id.rsplit(";rinstance=", 1)[0]
            new_id = f"{base};rinstance={next(self._ids)}r"
            dn.devices[new_id] = Device(dn=dn.number, device_id=new_id,
                                        user_agent=device.user_agent,
                                        direct_control=device.direct_control)
        self.emit(UPSET, f"/callcontrol/{dn.number}")
        return list(dn.devices)

    def visible(self, number):
        if number == self.client_id:
            return True
        return self.monitored is None or number in self.monitored

    def snapshot(self):
        return [dn.as_json() for number, dn in self.dns.items() if self.visible(number)]

    def _dn(self, number, *, scope=False):
        dn = self.dns.get(str(number))
        if dn is None:
            raise SimError(404, f"DN {number} not found")
        if scope and not self.visible(dn.number):
            raise SimError(403, f"DN {number} is not assigned to this application")
        return dn

    def get_dn(self, number):
        return self._dn(number, scope=True)

    def get_device(self, number, device_id):
        device = self.get_dn(number).devices.get(device_id)
        if device is None:
            raise SimError(404, f"device {device_id} not found on DN {number}")
        return device

    def get_leg(self, number, participant_id):
        leg = self.get_dn(number).participants.get(int(participant_id))
        if leg is None:
            raise SimError(404, f"participant {participant_id} not found on DN {number}")
        return leg

    def find_leg(self, participant_id):
        for dn in self.dns.values():
            if participant_id in dn.participants:
                return dn.participants[participant_id]
        return None

    def active_legs(self):
        return [leg for dn in self.dns.values() for leg in dn.participants.values()]

    # -- call bookkeeping -------------------------------------------------------------------

    def _new_call(self, **values):
        call = CallRecord(callid=next(self._callids), started_at=self.clock(), **values)
        self.last_callid = call.callid
        self.calls[call.callid] = call
        self._log(call, f"call {call.direction.lower()} from {call.caller} to {call.callee}")
        return call

    def _log(self, call, text):
        call.events.append((self.clock(), text))

    def _add_leg(self, call, number, status, **values):
        dn = self._dn(number)
        device = next(iter(dn.devices), "")
        legid = sum(1 for _ in self._legs_of(call.callid)) + 1
        now = self.clock()
        device_id = values.pop("device_id", device) or ""
        carrier = dn.devices.get(device_id)
        values.setdefault("direct_control", carrier.direct_control if carrier else True)
        leg = Leg(id=next(self._ids), dn=dn.number, status=status, callid=call.callid,
                  legid=legid, device_id=device_id, created_at=now,
                  readable_at=now + self.hidden_for, **values)
        dn.participants[leg.id] = leg
        self._log(call, f"leg {leg.id} on {dn.number} {status.lower()}")
        self.emit(UPSET, leg.path)
        return leg

    def _legs_of(self, callid):
        return [leg for leg in self.active_legs() if leg.callid == callid]

    def _remove_leg(self, leg, why):
        dn = self.dns.get(leg.dn)
        if dn is None or dn.participants.pop(leg.id, None) is None:
            return
        call = self.calls.get(leg.callid)
        if call is not None:
            self._log(call, f"leg {leg.id} on {leg.dn} removed ({why})")
        self.emit(REMOVE, leg.path)

    def _set_status(self, leg, status):
        leg.status = status
        if status == CONNECTED and leg.connected_at is None:
            leg.connected_at = self.clock()
        call = self.calls.get(leg.callid)
        if call is not None:
            self._log(call, f"leg {leg.id} on {leg.dn} {status.lower()}")
        self.emit(UPSET, leg.path)

    def _end_call(self, call, result, ended_by):
        if call.ended_at is not None:
            return
        for leg in self._legs_of(call.callid):
            self._remove_leg(leg, ended_by)
        call.ended_at = self.clock()
        call.result = call.result or result
        call.ended_by = ended_by
        if call.talk_since is not None:
            call.segments.append((call.talk_since, call.ended_at, call.caller,
                                  call.answered_by, "talk"))
            call.talk_since = None
        if call.answered_at is not None:
            call.recorded_seconds = sum(e - s for s, e, *_ in call.segments)
            self._finish_recording(call)
        elif call.result == VOICEMAIL:
            call.recorded_seconds = self.voicemail_seconds
            self._finish_recording(call)
        self._log(call, f"call ended: {call.result} by {ended_by}")
        if call.direction != "Internal":
            self.on_end(call)

    def _finish_recording(self, call):
        """List the call's audio once 3CX has written it: ``recording_delay`` after the end.

        Until then XAPI has no Recordings row for it, the call log no RecordingUrl, and a
        download answers 404, which is what a client that fetches right after the call meets.
        A voicemail message is listed the same way [I]: the published XAPI has no voicemail
        entity, and 3CX keeps voicemail messages among the extension's recordings.
        """

        def publish():
            call.recording_id = next(self._recording_ids)
            self.recordings[call.recording_id] = call
            self._log(call, f"recording {call.recording_id} ready")

        if self.recording_delay > 0:
            self.schedule(self.recording_delay, publish)
        else:
            publish()

    # -- inbound ----------------------------------------------------------------------------

    def inbound(self, caller, to, *, did="", caller_name="", ring_seconds=None):
        """An outside caller rings a DID routed to ``to`` (extension, queue or route point)."""
        target = self._dn(to)
        call = self._new_call(direction="Inbound", caller=str(caller), caller_name=caller_name,
                              callee=target.number, did=did)
        common = {"party_caller_id": str(caller), "party_caller_name": caller_name,
                  "party_did": did, "party_dn_type": EXTERNAL_LINE}
        if target.type == QUEUE:
            call.agent_dn = ""
            self._add_leg(call, target.number, CONNECTED, **common)
            for member in target.members:
                self._add_leg(call, member, RINGING, on_behalf_of_dn=target.number,
                              on_behalf_of_type=QUEUE, **common)
        elif target.type == RING_GROUP:
            # A ring group holds no leg of its own (unlike a queue, it does not answer the
            # caller to play music): its members ring on its behalf.
            call.agent_dn = ""
            for member in target.members:
                self._add_leg(call, member, RINGING, on_behalf_of_dn=target.number,
                              on_behalf_of_type=RING_GROUP, **common)
        elif target.type == ROUTE_POINT and self.route_point_unanswered == "connect":
            # The other reading of an open fact: 3CX connects a route point's call itself.
            call.agent_dn = ""
            leg = self._add_leg(call, target.number, RINGING, **common)
            self._set_status(leg, CONNECTED)
            self._answered(call, target.number)
        else:
            call.agent_dn = target.number if target.type == EXTENSION else ""
            self._add_leg(call, target.number, RINGING, **common)
        self._arm_ring_timeout(call, self.ring_timeout if ring_seconds is None else ring_seconds)
        self.on_ring(call)
        return call

    def _arm_ring_timeout(self, call, seconds):
        """Each ringing leg has its own timeout, as in 3CX: the timer is for the legs that
        ring now. A call transferred on rings afresh at its new destination; the first leg's
        timer, if it fires while the new one rings, must not end the call."""
        legs = {leg.id for leg in self._legs_of(call.callid) if leg.status in (RINGING, DIALING)}
        self.schedule(seconds, lambda: self._ring_timeout(call.callid, legs))

    def _ring_timeout(self, callid, legs):
        call = self.calls.get(callid)
        if call is None or call.ended_at is not None or call.talk_since is not None:
            return
        waiting = [leg for leg in self._legs_of(callid)
                   if leg.status in (RINGING, DIALING) and leg.id in legs]
        if self.route_point_unanswered == "stay":
            # An app's route point has no ring timeout: its leg rings until the app answers or
            # drops it (or the caller gives up), as 3CX's IVR sample expects.
            waiting = [leg for leg in waiting if not (
                leg.status == RINGING and self.dns[leg.dn].type == ROUTE_POINT)]
        if not waiting:
            return
        if call.direction != "Inbound":
            self._end_call(call, NOT_ANSWERED, "pbx")
            return
        # A realtor's own line goes to their voicemail; a queue, ring group or route point
        # just misses.
        dn = self.dns.get(call.agent_dn or call.callee)
        result = VOICEMAIL if dn is not None and dn.type == EXTENSION and dn.voicemail else MISSED
        self._end_call(call, result, "pbx")

    # -- outbound ---------------------------------------------------------------------------

    def makecall(self, number, destination, *, device_id=None, timeout=None, attacheddata=None,
                 form=""):
        """``POST /callcontrol/{dn}[/devices/{id}]/makecall``: the source's leg starts Dialing.

        The source may be an extension, a route point or a queue, from one of its devices
        (``device_id``, a stale one is 404) or from the DN, letting 3CX choose (docs/3cx-api.md
        §2, §9); ``form`` ("device", "dn" or "" for the control API) is kept on the call.
        """
        source = self.get_dn(number)
        if device_id is not None and device_id not in source.devices:
            raise SimError(404, f"device {device_id} not found on DN {number}")
        if not destination or not str(destination).strip():
            raise SimError(422, "destination is required")
        destination = str(destination).strip()
        if source.type == EXTENSION and not source.devices:
            raise SimError(424, f"DN {number} has no registered device")
        internal = self.dns.get(destination)
        refusal = None if internal else self.scripts.get(destination, Script()).refuse
        if refusal:
            raise Refused(refusal)
        call = self._new_call(direction="Internal" if internal else "Outbound",
                              caller=source.number, caller_name=source.name,
                              callee=destination, did="")
        call.agent_dn = source.number if source.type == EXTENSION else ""
        call.makecall_form = form
        call.makecall_device = device_id or ""
        leg = self._add_leg(
            call, source.number, DIALING, party_caller_id=destination,
            party_dn=internal.number if internal else "",
            party_caller_name=internal.name if internal else "",
            party_dn_type=internal.type if internal else EXTERNAL_LINE,
            originated_by_dn=source.number, originated_by_type=source.type,
            device_id=device_id or next(iter(source.devices), ""),
            attached_data=dict(attacheddata or {}))
        if internal:
            self._add_leg(call, internal.number, RINGING, party_caller_id=source.number,
                          party_dn=source.number, party_caller_name=source.name,
                          party_dn_type=source.type, originated_by_dn=source.number,
                          originated_by_type=source.type)
        else:
            self.on_ring(call)
            script = self.scripts.get(destination, Script())
            if script.busy:
                self.schedule(0.3, lambda: self._end_call(call, BUSY, "callee"))
            elif script.answer_after is not None:
                self.schedule(script.answer_after, lambda: self._far_end_answers(call.callid))
        self._arm_ring_timeout(call, timeout if timeout else self.ring_timeout)
        return leg

    def _far_end_answers(self, callid):
        call = self.calls.get(callid)
        if call is None or call.ended_at is not None:
            return
        for leg in self._legs_of(callid):
            if leg.status == DIALING:
                self._set_status(leg, CONNECTED)
        self._answered(call, call.callee)
        script = self.scripts.get(call.callee, Script())
        if script.hangup_after is not None:
            self.schedule(script.hangup_after, lambda: self.hangup(callid, "callee"))

    # -- actions ----------------------------------------------------------------------------

    def answer(self, leg):
        if leg.status != RINGING:
            raise SimError(422, f"participant {leg.id} is {leg.status}, not Ringing")
        call = self.calls[leg.callid]
        self._set_status(leg, CONNECTED)
        self._answered(call, leg.dn)
        if self.dns[leg.dn].type == EXTENSION:
            call.agent_dn = leg.dn
        for other in self._legs_of(call.callid):
            if other is leg:
                continue
            if other.status == RINGING:  # the other queue agents stop ringing
                self._remove_leg(other, "answered elsewhere")
            elif other.status == DIALING:
                self._set_status(other, CONNECTED)
            elif other.status == CONNECTED and self.dns[other.dn].type == QUEUE:
                self._remove_leg(other, "delivered to agent")

    def _answered(self, call, by):
        now = self.clock()
        call.answered_at = call.answered_at or now
        call.talk_since = now
        call.answered_by = by
        call.result = ANSWERED

    def drop(self, leg):
        """``drop`` on a leg: the DN hangs up (or one queue agent declines)."""
        call = self.calls.get(leg.callid)
        if call is None:
            self._remove_leg(leg, "dropped")
        elif leg.routed:  # the app lets go of a call it routed on: the call goes on
            self._remove_leg(leg, "dropped after routeto")
        elif leg.status == RINGING and any(
                other is not leg and other.status == RINGING
                for other in self._legs_of(call.callid)):
            self._remove_leg(leg, "declined")  # the other queue / ring group members ring on
        else:
            if call.answered_at is None:
                result = MISSED if call.direction == "Inbound" else NOT_ANSWERED
            else:
                result = ANSWERED
            self._end_call(call, result, leg.dn)

    def hangup(self, callid, side):
        """The control API's hang-up: ``side`` is "caller" or "callee"."""
        call = self.calls.get(int(callid))
        if call is None:
            raise SimError(404, f"call {callid} not found")
        if call.ended_at is not None:
            raise SimError(422, f"call {callid} has already ended")
        if call.answered_at is None:
            result = MISSED if call.direction == "Inbound" and side == "caller" else NOT_ANSWERED
        else:
            result = ANSWERED
        self._end_call(call, result, side)
        return call

    def divert(self, leg, destination, reason=None):
        if leg.status != RINGING:
            raise SimError(422, f"divert needs a Ringing participant; {leg.id} is {leg.status}")
        self._check_reason(reason)
        self._move(leg, destination, referred=False)

    def transferto(self, leg, destination):
        if leg.status != CONNECTED:
            raise SimError(422, f"transfer needs a Connected participant; {leg.id} is "
                           f"{leg.status}")
        self._move(leg, destination, referred=True)

    def routeto(self, leg, destination, reason=None):
        self._check_reason(reason)
        self._destination(destination)
        # 3CX answers only once delivery succeeded or failed (up to 90 s): the server awaits it.
        self.schedule(self.routeto_delay, lambda: self._move(
            leg, destination, referred=True, quiet=True, keep=self.routeto_keeps_leg))

    def _check_reason(self, reason):
        if reason not in (None, "") and reason not in DIVERT_REASONS:
            raise SimError(422, f"unknown reason {reason!r}")

    def _destination(self, destination):
        target = self.dns.get(str(destination or "").strip())
        if target is None:
            raise SimError(422, f"destination {destination!r} is not a DN of this PBX")
        return target

    def _move(self, leg, destination, *, referred, quiet=False, keep=False):
        """Divert/transfer/route: ``leg`` leaves (or, ``keep``, stays until dropped), a Ringing
        leg appears on the destination."""
        try:
            target = self._destination(destination)
        except SimError:
            if quiet:
                return
            raise
        call = self.calls[leg.callid]
        if call.ended_at is not None or leg.id not in self.dns[leg.dn].participants:
            return  # the caller hung up (or the app dropped the leg) while it was routed
        if keep:
            leg.routed = True
            self._log(call, f"leg {leg.id} on {leg.dn} routed to {target.number}")
        else:
            self._remove_leg(leg, f"moved to {target.number}")
        values = {"party_caller_id": call.caller, "party_caller_name": call.caller_name,
                  "party_did": call.did, "party_dn_type": EXTERNAL_LINE
                  if call.direction == "Inbound" else EXTENSION}
        if referred:
            values.update(referred_by_dn=leg.dn, referred_by_type=self.dns[leg.dn].type)
        if call.talk_since is not None:
            call.segments.append((call.talk_since, self.clock(), call.caller, leg.dn, "talk"))
            call.talk_since = None
        call.agent_dn = target.number if target.type == EXTENSION else call.agent_dn
        ringing = self._add_leg(call, target.number, RINGING, **values)
        legs = {ringing.id}
        self.schedule(self.ring_timeout, lambda: self._ring_timeout(call.callid, legs))

    def dtmf(self, leg, digits):
        call = self.calls.get(leg.callid)
        if call is not None:
            call.dtmf += digits
            self._log(call, f"dtmf {digits} on leg {leg.id}")
        self.emit(DTMF, leg.path, {"dtmf_input": digits})

    def heard(self, leg, digits):
        """The far end of ``leg`` heard ``digits`` in the audio we played to it."""
        call = self.calls.get(leg.callid)
        if call is not None:
            call.heard_dtmf += digits
            self._log(call, f"heard dtmf {digits} played on leg {leg.id}")

    def attach_data(self, leg, data):
        if not isinstance(data, dict):
            raise SimError(422, "attacheddata must be an object")
        leg.attached_data.update({str(k): str(v) for k, v in data.items()})
        self.emit(UPSET, leg.path)

    # -- restart ----------------------------------------------------------------------------

    def restart(self):
        """A PBX restart: every live call is cut; ids keep increasing as 3CX's do.

        A call in progress ends at the restart, without events (the PBX is going down):
        answered, it is logged as answered with its talk time up to the restart (and its
        recording); unanswered, an inbound call is missed (it never reached voicemail) and
        an outbound one not answered.
        """
        for call in list(self.calls.values()):
            if call.ended_at is None:
                for leg in self._legs_of(call.callid):
                    self.dns[leg.dn].participants.pop(leg.id, None)
                call.ended_at = self.clock()
                if call.answered_at is not None:
                    call.result = ANSWERED
                else:
                    call.result = MISSED if call.direction == "Inbound" else NOT_ANSWERED
                call.ended_by = "pbx"
                if call.talk_since is not None:
                    call.segments.append((call.talk_since, call.ended_at, call.caller,
                                          call.answered_by, "talk"))
                    call.talk_since = None
                if call.answered_at is not None and call.recording_id is None:
                    call.recording_id = next(self._recording_ids)
                    self.recordings[call.recording_id] = call
                self._log(call, "call cut by a PBX restart")

    # -- what survives a restart (3CX keeps its call log in its database) ---------------------

    def history(self):
        """The finished calls and the last call id, as JSON-able data (see :meth:`restore`)."""
        return {"last_callid": self.last_callid,
                "calls": [asdict(call) for call in self.calls.values()
                          if call.ended_at is not None]}

    def restore(self, data):
        """Take back what :meth:`history` kept: the call log, recordings, and call ids that
        go on growing from the highest one ever given (never reused, however fast calls came)."""
        for values in data.get("calls", ()):
            values = dict(values)
            values["events"] = [tuple(e) for e in values.get("events", ())]
            values["segments"] = [tuple(s) for s in values.get("segments", ())]
            call = CallRecord(**values)
            self.calls[call.callid] = call
            if call.recording_id is not None:
                self.recordings[call.recording_id] = call
        last = max([int(data.get("last_callid") or 0), *self.calls])
        self.last_callid = max(self.last_callid, last)
        self._callids = itertools.count(max(next(self._callids), last + 1))
        self._recording_ids = itertools.count(max(self.recordings, default=0) + 1)
