# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""3CX V20 Call Control wire formats, parsed without any I/O.

Frames and bodies go in, frozen dataclasses come out, or :class:`ProtocolError` with a reason
fit for a log line. Nothing here imports asyncio, sockets or Odoo, so the worker, the simulator
and the tests share one reading of the protocol (see docs/3cx-api.md §1-3).

Exceptions: :class:`ProtocolError` (a ``ValueError``) for anything malformed.

>>> frame = parse_event_frame(
...     '{"sequence": 42, "event": {"event_type": 0,'
...     ' "entity": "/callcontrol/100/participants/7", "attached_data": {}}}')
>>> frame.sequence, frame.event_type.name, frame.entity.dn, frame.entity.participant_id
(42, 'UPSET', '100', 7)
>>> parse_final_status("Success"), parse_final_status(1), parse_final_status("-1")
(<FinalStatus.SUCCESS: 1>, <FinalStatus.SUCCESS: 1>, <FinalStatus.FAILED: -1>)
"""

import base64
import binascii
import json
import math
from dataclasses import dataclass, field
from enum import IntEnum
from types import MappingProxyType
from urllib.parse import unquote

# Frames larger than this are not 3CX events (they carry a path, never a state).
MAX_FRAME_BYTES = 64 * 1024
# 3CX tokens live an hour; a year is already absurd, and larger numbers overflow a timestamp.
MAX_TOKEN_LIFETIME = 365 * 86400


class ProtocolError(ValueError):
    """A frame or body that does not follow the 3CX protocol."""


class EventType(IntEnum):
    """``event.event_type`` of a WebSocket frame: numeric on the wire, never a string."""

    UPSET = 0
    REMOVE = 1
    DTMF = 2
    PROMPT_PLAYBACK_FINISHED = 3
    RESPONSE = 4


class FinalStatus(IntEnum):
    """``finalstatus`` of a Call Control action: a number or its name, depending on version."""

    FAILED = -1
    REJECTED = 0
    SUCCESS = 1


@dataclass(frozen=True)
class Entity:
    """A Call Control entity path: ``/callcontrol/{dn}[/participants|devices/{id}]``."""

    path: str
    dn: str
    kind: str = ""  # "participants", "devices" or "" for the DN itself
    participant_id: int | None = None
    device_id: str | None = None


@dataclass(frozen=True)
class EventFrame:
    sequence: int | None
    event_type: EventType
    entity: Entity
    attached_data: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

    @property
    def dtmf(self):
        if self.event_type != EventType.DTMF:
            return None
        digits = self.attached_data.get("dtmf_input")
        # Digits are text on the wire; anything else would break whoever appends them.
        return digits if isinstance(digits, str) else None


@dataclass(frozen=True)
class Participant:
    """One call leg, as ``GET /callcontrol/{dn}/participants/{id}`` returns it."""

    id: int
    dn: str
    status: str
    callid: int | None
    legid: int | None
    party_caller_name: str = ""
    party_caller_id: str = ""
    party_dn: str = ""
    party_did: str = ""
    party_dn_type: str = ""
    device_id: str = ""
    direct_control: bool | None = None
    originated_by_dn: str = ""
    referred_by_dn: str = ""
    on_behalf_of_dn: str = ""


@dataclass(frozen=True)
class Token:
    access_token: str
    expires_at: float  # UNIX time


def parse_entity(path):
    """Split an entity path.

    >>> parse_entity("/callcontrol/100/devices/sip%3A100%40pbx").device_id
    'sip:100@pbx'
    """
    if not isinstance(path, str) or not path.startswith("/callcontrol/"):
        raise ProtocolError(f"entity {path!r} is not a /callcontrol/ path")
    parts = path.split("/")[2:]
    if not parts[0]:
        raise ProtocolError(f"entity {path!r} names no DN")
    dn = unquote(parts[0])
    if len(parts) == 1:
        return Entity(path=path, dn=dn)
    if len(parts) != 3 or parts[1] not in ("participants", "devices") or not parts[2]:
        raise ProtocolError(f"entity {path!r} is not a DN, participant or device path")
    if parts[1] == "participants":
        try:
            participant_id = int(parts[2])
        except ValueError:
            raise ProtocolError(f"entity {path!r} has a non-numeric participant id") from None
        return Entity(path=path, dn=dn, kind="participants", participant_id=participant_id)
    return Entity(path=path, dn=dn, kind="devices", device_id=unquote(parts[2]))


def parse_event_frame(text):
    """A WebSocket text frame -> :class:`EventFrame`.

    :raises ProtocolError: not JSON, not an object, unknown or non-numeric ``event_type``,
        or a bad entity path
    """
    if isinstance(text, bytes | bytearray):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("frame is not UTF-8") from None
    if not isinstance(text, str):
        raise ProtocolError(f"frame is a {type(text).__name__}, not text")
    if len(text) > MAX_FRAME_BYTES:
        raise ProtocolError(f"frame of {len(text)} bytes is too large for an event")
    try:
        message = json.loads(text)
    except ValueError as exc:
        raise ProtocolError(f"frame is not JSON: {exc}") from None
    except RecursionError:
        # 64 kB of '[' nests deeper than Python's stack: garbage, not a reason to crash.
        raise ProtocolError("frame is nested too deeply to be an event") from None
    if not isinstance(message, dict) or not isinstance(message.get("event"), dict):
        raise ProtocolError("frame has no 'event' object")
    event = message["event"]
    raw_type = event.get("event_type")
    # bool is an int in Python; a string type is a known third-party bug that drops events.
    if isinstance(raw_type, bool) or not isinstance(raw_type, int):
        raise ProtocolError(f"event_type {raw_type!r} is not a number")
    try:
        event_type = EventType(raw_type)
    except ValueError:
        raise ProtocolError(f"unknown event_type {raw_type}") from None
    sequence = message.get("sequence")
    if sequence is not None and (isinstance(sequence, bool) or not isinstance(sequence, int)):
        raise ProtocolError(f"sequence {sequence!r} is not a number")
    attached = event.get("attached_data") or {}
    if not isinstance(attached, dict):
        raise ProtocolError("attached_data is not an object")
    return EventFrame(
        sequence=sequence,
        event_type=event_type,
        entity=parse_entity(event.get("entity")),
        attached_data=MappingProxyType(dict(attached)),
    )


def _int_or_none(value, name):
    if value is None or value == "":
        return None
    # A fraction or an infinity is no id: int() would round the one and overflow on the other.
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ProtocolError(f"{name} {value!r} is not a number")
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise ProtocolError(f"{name} {value!r} is not a number") from None


def parse_participant(body):
    """A participant object (already decoded JSON) -> :class:`Participant`."""
    if not isinstance(body, dict):
        raise ProtocolError("participant is not an object")
    pid = _int_or_none(body.get("id"), "participant id")
    if pid is None:
        raise ProtocolError("participant has no id")
    if not isinstance(body.get("status"), str) or not body["status"]:
        raise ProtocolError(f"participant {pid} has no status")

    def text(key):
        value = body.get(key)
        return "" if value is None else str(value)

    direct = body.get("direct_control")
    return Participant(
        id=pid,
        dn=text("dn"),
        status=body["status"],
        callid=_int_or_none(body.get("callid"), "callid"),
        legid=_int_or_none(body.get("legid"), "legid"),
        party_caller_name=text("party_caller_name"),
        party_caller_id=text("party_caller_id"),
        party_dn=text("party_dn"),
        party_did=text("party_did"),
        party_dn_type=text("party_dn_type"),
        device_id=text("device_id"),
        direct_control=direct if isinstance(direct, bool) else None,
        originated_by_dn=text("originated_by_dn"),
        referred_by_dn=text("referred_by_dn"),
        on_behalf_of_dn=text("on_behalf_of_dn"),
    )


def parse_final_status(value):
    """``finalstatus`` as 3CX sends it: ``1``, ``"1"`` or ``"Success"`` (any case)."""
    if isinstance(value, str):
        name = value.strip().upper()
        if name in FinalStatus.__members__:
            return FinalStatus[name]
        value = _int_or_none(value.strip(), "finalstatus")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(f"finalstatus {value!r} is neither a number nor a known name")
    try:
        return FinalStatus(value)
    except ValueError:
        raise ProtocolError(f"unknown finalstatus {value}") from None


def jwt_expiry(token):
    """The ``exp`` claim of a JWT, unverified (3CX signs it; we only schedule a refresh)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        expiry = float(claims["exp"])
    except (AttributeError, IndexError, KeyError, TypeError, ValueError, OverflowError,
            RecursionError, binascii.Error):
        return None
    return expiry if math.isfinite(expiry) else None


def parse_token_response(body, now):
    """``POST /connect/token`` response -> :class:`Token`.

    The expiry comes from the JWT's ``exp`` when it has one; otherwise from ``expires_in``,
    which 3CX sent in minutes before 20.0.9 and in seconds since: a value under 300 can only
    be minutes (no token lives under five minutes).
    """
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        raise ProtocolError("token response has no access_token")
    if str(body.get("token_type", "Bearer")).lower() != "bearer":
        raise ProtocolError(f"token_type {body.get('token_type')!r} is not Bearer")
    token = body["access_token"]
    expires_at = jwt_expiry(token)
    if expires_at is None:
        expires_in = _int_or_none(body.get("expires_in"), "expires_in")
        if expires_in is None or expires_in <= 0:
            raise ProtocolError("token response has neither a JWT exp nor expires_in")
        if expires_in > MAX_TOKEN_LIFETIME:
            raise ProtocolError(f"expires_in {expires_in} is no token lifetime")
        expires_at = now + (expires_in * 60 if expires_in < 300 else expires_in)
    return Token(access_token=token, expires_at=expires_at)
