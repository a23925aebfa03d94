# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Property-based fuzzing of the 3CX frame parser and of the event stream's frame handling.

Whatever 3CX (or anything between it and the worker) sends, the parser answers with a frozen
dataclass or :class:`ProtocolError`, never another exception; the stream counts a bad frame
in ``stats.garbage`` and carries on. Well-formed frames and bodies round-trip field by field.
Seeds are fixed (``derandomize``) so a CI failure replays on any machine;
``REALTOR_3CX_FUZZ_EXAMPLES=5000`` searches deeper by hand (200 examples a test by default).
"""

import json
import math
import os
import string
from types import SimpleNamespace
from urllib.parse import quote

import pytest
import websocket
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from realtor_3cx.threecx.errors import ConnectionFailed
from realtor_3cx.threecx.events import CallMirror, EventStream
from realtor_3cx.threecx.protocol import (
    EventFrame,
    EventType,
    FinalStatus,
    Participant,
    ProtocolError,
    Token,
    jwt_expiry,
    parse_entity,
    parse_event_frame,
    parse_final_status,
    parse_participant,
    parse_token_response,
)

FUZZ = settings(
    derandomize=True,
    deadline=None,
    database=None,
    max_examples=int(os.environ.get("REALTOR_3CX_FUZZ_EXAMPLES", 200)),
    suppress_health_check=[HealthCheck.too_slow],
)

# Any JSON value, nested a few levels.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
# What a field of a frame may hold when something goes wrong: every JSON type, and the
# near misses (a numeric string, a float, a bool, huge or infinite numbers).
odd_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
    st.sampled_from(["0", "1", "-1", "Success", "1e400", "NaN", "", " 7 ", "0x10"]),
    st.just(10**400), st.just(float("inf")), st.just(float("-inf")),
)
dns = st.text(min_size=1, max_size=12)
entity_paths = st.one_of(
    st.text(max_size=40),
    st.builds(lambda dn: f"/callcontrol/{dn}", st.text(max_size=12)),
    st.builds(lambda dn, kind, pid: f"/callcontrol/{dn}/{kind}/{pid}",
              st.text(max_size=8), st.sampled_from(["participants", "devices", "calls", ""]),
              st.text(max_size=8)),
)


def frame_text(message):
    return json.dumps(message, allow_nan=True)


frame_shapes = st.fixed_dictionaries(
    {},
    optional={
        "sequence": odd_scalars,
        "event": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {},
                optional={
                    "event_type": odd_scalars | st.integers(-2, 6),
                    "entity": entity_paths | odd_scalars,
                    "attached_data": json_values,
                },
            ),
        ),
    },
)


def parses_or_protocol_error(parse, value):
    """``parse(value)``: its result, or None when it raised ProtocolError (and nothing else)."""
    try:
        return parse(value)
    except ProtocolError as exc:
        assert str(exc), "a ProtocolError must say why"
        return None


# -- frames ------------------------------------------------------------------------------------

# Nesting deeper than Python's recursion limit fits in 64 kB: it must be refused, not crash.
@example(b"[" * 60000)
@example(b'{"event":' * 6000)
@example(b"\xef\xbb\xbf{}")
@given(st.binary(max_size=300))
@FUZZ
def test_any_bytes_parse_or_raise_protocol_error(data):
    frame = parses_or_protocol_error(parse_event_frame, data)
    assert frame is None or isinstance(frame, EventFrame)


@example("[" * 60000)
@example("1" * 5000)  # longer than Python's int-from-text limit
@given(st.text(max_size=300))
@FUZZ
def test_any_text_parses_or_raises_protocol_error(text):
    frame = parses_or_protocol_error(parse_event_frame, text)
    assert frame is None or isinstance(frame, EventFrame)


@given(json_values)
@FUZZ
def test_any_json_value_parses_or_raises_protocol_error(value):
    frame = parses_or_protocol_error(parse_event_frame, frame_text(value))
    assert frame is None or isinstance(frame, EventFrame)


@given(frame_shapes)
@FUZZ
def test_frame_shaped_objects_parse_or_raise_protocol_error(message):
    frame = parses_or_protocol_error(parse_event_frame, frame_text(message))
    if frame is None:
        return
    # Accepted: then every field is what the protocol promises.
    assert isinstance(frame.event_type, EventType)
    assert frame.sequence is None or (type(frame.sequence) is int)
    assert frame.entity.path.startswith("/callcontrol/") and frame.entity.dn
    assert frame.entity.kind in ("", "participants", "devices")
    assert dict(frame.attached_data) == (message["event"].get("attached_data") or {})
    assert frame.dtmf is None or frame.event_type == EventType.DTMF


@given(st.one_of(st.none(), st.integers(), st.floats(), st.lists(st.integers()),
                 st.dictionaries(st.text(), st.integers()), st.builds(object)))
@FUZZ
def test_frames_that_are_not_text_are_refused(value):
    with pytest.raises(ProtocolError, match="not text"):
        parse_event_frame(value)


@given(entity_paths | odd_scalars)
@FUZZ
def test_any_entity_parses_or_raises_protocol_error(path):
    entity = parses_or_protocol_error(parse_entity, path)
    if entity is not None:
        assert entity.path == path and entity.dn


valid_frames = st.fixed_dictionaries(
    {
        "sequence": st.none() | st.integers(0, 2**63),
        "event_type": st.sampled_from(list(EventType)),
        "dn": dns,
        "kind": st.sampled_from(["", "participants", "devices"]),
        "participant_id": st.integers(0, 2**31),
        "device_id": st.text(min_size=1, max_size=20),
        "attached_data": st.dictionaries(st.text(max_size=10), json_values, max_size=3),
    }
)


@given(valid_frames, st.booleans())
@FUZZ
def test_valid_frames_round_trip(spec, as_bytes):
    path = f"/callcontrol/{quote(spec['dn'], safe='')}"
    if spec["kind"] == "participants":
        path += f"/participants/{spec['participant_id']}"
    elif spec["kind"] == "devices":
        path += f"/devices/{quote(spec['device_id'], safe='')}"
    message = {"event": {"event_type": int(spec["event_type"]), "entity": path,
                         "attached_data": spec["attached_data"]}}
    if spec["sequence"] is not None:
        message["sequence"] = spec["sequence"]
    text = json.dumps(message)
    frame = parse_event_frame(text.encode() if as_bytes else text)
    assert frame.sequence == spec["sequence"]
    assert frame.event_type is spec["event_type"]
    assert frame.entity.path == path
    assert frame.entity.dn == spec["dn"]
    assert frame.entity.kind == spec["kind"]
    assert frame.entity.participant_id == (
        spec["participant_id"] if spec["kind"] == "participants" else None)
    assert frame.entity.device_id == (spec["device_id"] if spec["kind"] == "devices" else None)
    assert dict(frame.attached_data) == spec["attached_data"]
    # Frozen: a handler cannot change what the next one sees.
    with pytest.raises(TypeError):
        frame.attached_data["x"] = 1


# -- REST bodies -------------------------------------------------------------------------------

participant_keys = ["id", "dn", "status", "callid", "legid", "party_caller_name",
                    "party_caller_id", "party_dn", "party_did", "party_dn_type", "device_id",
                    "direct_control", "originated_by_dn", "referred_by_dn", "on_behalf_of_dn"]


@example({"id": float("inf"), "status": "Ringing"})
@example({"id": 1, "status": "Ringing", "callid": 1e400})
@example({"id": 1.5, "status": "Ringing"})
@given(st.one_of(json_values, st.dictionaries(st.sampled_from(participant_keys),
                                               odd_scalars | json_values, max_size=8)))
@FUZZ
def test_any_participant_body_parses_or_raises_protocol_error(body):
    leg = parses_or_protocol_error(parse_participant, body)
    if leg is None:
        return
    assert isinstance(leg, Participant) and type(leg.id) is int and leg.status
    for name in ("callid", "legid"):
        value = getattr(leg, name)
        assert value is None or type(value) is int
        if value is not None and isinstance(body[name], float):
            # A number 3CX sent is kept exactly, never rounded from a fraction.
            assert value == body[name]


valid_participants = st.fixed_dictionaries(
    {"id": st.integers(0, 2**31), "status": st.sampled_from(["Ringing", "Dialing", "Connected"])},
    optional={
        "dn": st.text(string.digits, min_size=1, max_size=5),
        "callid": st.integers(0, 2**40),
        "legid": st.integers(0, 2**40),
        "party_caller_name": st.text(max_size=30),
        "party_caller_id": st.text(max_size=20),
        "party_did": st.text(max_size=20),
        "device_id": st.text(max_size=30),
        "direct_control": st.booleans(),
    },
)


@given(valid_participants)
@FUZZ
def test_valid_participants_round_trip(body):
    leg = parse_participant(json.loads(json.dumps(body)))
    for key, value in body.items():
        assert getattr(leg, key) == value, key


@example(1e400)
@example(float("nan"))
@given(odd_scalars | json_values)
@FUZZ
def test_any_final_status_is_known_or_refused(value):
    status = parses_or_protocol_error(parse_final_status, value)
    assert status is None or isinstance(status, FinalStatus)


@given(st.sampled_from(list(FinalStatus)), st.sampled_from([int, str, "name", "lower"]))
@FUZZ
def test_final_status_round_trips_in_every_spelling(status, spelling):
    wire = {int: int(status), str: str(int(status)), "name": status.name,
            "lower": status.name.lower()}[spelling]
    assert parse_final_status(wire) is status


@example({"access_token": "opaque", "expires_in": float("inf")})
@example({"access_token": "opaque", "expires_in": 1e400})
@example({"access_token": "a.!!!.c"})
@given(st.one_of(json_values, st.fixed_dictionaries(
    {}, optional={"access_token": st.text(max_size=40) | odd_scalars,
                  "token_type": odd_scalars, "expires_in": odd_scalars})))
@FUZZ
def test_any_token_response_parses_or_raises_protocol_error(body):
    token = parses_or_protocol_error(lambda b: parse_token_response(b, now=1000.0), body)
    if token is not None:
        assert isinstance(token, Token) and math.isfinite(token.expires_at)
        assert token.expires_at > 1000.0 or jwt_expiry(token.access_token) is not None


@given(st.text(max_size=60) | odd_scalars)
@FUZZ
def test_jwt_expiry_never_raises(token):
    expiry = jwt_expiry(token)
    assert expiry is None or isinstance(expiry, float)


# -- the stream: skip and count ----------------------------------------------------------------

class ScriptedSocket:
    """What ``EventStream._pump`` needs of a websocket-client socket, replaying frames."""

    def __init__(self, frames):
        self.frames = list(frames)

    def settimeout(self, _timeout):
        pass

    def ping(self):
        pass

    def recv_data(self, control_frame=False):
        if not self.frames:
            raise websocket.WebSocketConnectionClosedException("end of script")
        return websocket.ABNF.OPCODE_TEXT, self.frames.pop(0)


class Legs:
    """The Call Control reads a :class:`CallMirror` makes, answering every Upset with a body."""

    def __init__(self, body):
        self.body = body

    def entity(self, path):
        return self.body


def good_frame(event_type, seq):
    return json.dumps({"sequence": seq, "event": {
        "event_type": event_type, "entity": "/callcontrol/100/participants/7",
        "attached_data": {"dtmf_input": "1"} if event_type == 2 else {}}}).encode()


@example([b"[" * 60000, good_frame(0, 1)], {"id": 7, "status": "Ringing"})
@example([json.dumps({"event": {"event_type": 2, "entity": "/callcontrol/100/participants/7",
                                "attached_data": {"dtmf_input": 5}}}).encode()], None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=80),
            frame_shapes.map(lambda m: frame_text(m).encode()),
            st.builds(good_frame, st.sampled_from([0, 1, 2]), st.integers(0, 100)),
        ),
        max_size=12,
    ),
    json_values,
)
@FUZZ
def test_the_stream_skips_and_counts_garbage_and_delivers_the_rest(frames, leg_body):
    mirror = CallMirror(Legs(leg_body))
    delivered = []

    def on_event(frame):
        delivered.append(frame)
        mirror.handle(frame)  # what the mirror does with any frame that parsed must not raise

    stream = EventStream(SimpleNamespace(tokens=None, base_url="https://pbx.example.com"),
                         on_event)
    with pytest.raises(ConnectionFailed):
        stream._pump(ScriptedSocket(frames))
    expected_good = [f for f in frames if parses_or_protocol_error(parse_event_frame, f)]
    assert stream.stats.frames == len(frames)
    assert stream.stats.events == len(delivered) == len(expected_good)
    assert stream.stats.garbage == len(frames) - len(expected_good)
    assert [f.sequence for f in delivered] == [
        parse_event_frame(f).sequence for f in expected_good]
    for digits in mirror.dtmf.values():
        assert isinstance(digits, str)
