# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import base64
import doctest
import json

import pytest

from realtor_3cx.threecx import protocol
from realtor_3cx.threecx.protocol import (
    EventType,
    FinalStatus,
    ProtocolError,
    parse_entity,
    parse_event_frame,
    parse_final_status,
    parse_participant,
    parse_token_response,
)


def frame(event_type=0, entity="/callcontrol/100/participants/7", **extra):
    event = {"event_type": event_type, "entity": entity, "attached_data": {}}
    event.update(extra)
    return json.dumps({"sequence": 1, "event": event})


def test_doctests():
    result = doctest.testmod(protocol)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize(
    "event_type, expected", [(0, EventType.UPSET), (1, EventType.REMOVE), (2, EventType.DTMF)]
)
def test_event_types_are_numeric(event_type, expected):
    assert parse_event_frame(frame(event_type)).event_type is expected


def test_dtmf_digits_and_bytes_frames():
    parsed = parse_event_frame(frame(2, attached_data={"dtmf_input": "12#"}).encode())
    assert parsed.dtmf == "12#"
    assert parse_event_frame(frame(0)).dtmf is None


@pytest.mark.parametrize(
    "text, reason",
    [
        ("not json", "not JSON"),
        ("[]", "no 'event'"),
        ('{"sequence": 1}', "no 'event'"),
        (frame("0"), "not a number"),  # the string-typed bug that silently drops events
        (frame(True), "not a number"),
        (frame(9), "unknown event_type"),
        (frame(0, entity="/xapi/v1/Users"), "not a /callcontrol/ path"),
        (frame(0, entity=None), "not a /callcontrol/ path"),
        (frame(0, entity="/callcontrol/100/participants/x"), "non-numeric"),
        (frame(0, entity="/callcontrol/100/calls/1"), "not a DN, participant or device"),
        (frame(0, entity="/callcontrol//participants/1"), "names no DN"),
        (frame(0, attached_data=[1]), "attached_data"),
        (json.dumps({"sequence": "x", "event": {"event_type": 0,
                     "entity": "/callcontrol/1"}}), "sequence"),
        (b"\xff\xfe", "not UTF-8"),
        (None, "not text"),
        ("x" * (protocol.MAX_FRAME_BYTES + 1), "too large"),
    ],
)
def test_malformed_frames_raise_protocol_error_with_a_reason(text, reason):
    with pytest.raises(ProtocolError, match=reason):
        parse_event_frame(text)


def test_entities():
    assert parse_entity("/callcontrol/100") == protocol.Entity(path="/callcontrol/100", dn="100")
    device = parse_entity("/callcontrol/100/devices/sip%3A100%40pbx%3Bx")
    assert (device.kind, device.device_id) == ("devices", "sip:100@pbx;x")


def test_participant_with_all_fields_and_with_few():
    body = {
        "id": 7, "dn": "100", "status": "Ringing", "callid": 555, "legid": 2,
        "party_caller_name": "Jordan", "party_caller_id": "+15550102030",
        "party_did": "+15550101001", "device_id": "sip:100@pbx", "direct_control": True,
    }
    leg = parse_participant(body)
    assert (leg.id, leg.status, leg.callid, leg.legid) == (7, "Ringing", 555, 2)
    assert leg.party_did == "+15550101001" and leg.direct_control is True
    short = parse_participant({"id": "8", "status": "Dialing", "party_caller_id": None})
    assert (short.id, short.callid, short.party_caller_id) == (8, None, "")


@pytest.mark.parametrize(
    "body", [None, [], {"status": "Ringing"}, {"id": 1}, {"id": "x", "status": "Ringing"},
             {"id": 1, "status": "Ringing", "callid": "abc"}],
)
def test_malformed_participants(body):
    with pytest.raises(ProtocolError):
        parse_participant(body)


@pytest.mark.parametrize(
    "value, expected",
    [(1, FinalStatus.SUCCESS), ("Success", FinalStatus.SUCCESS), ("success", FinalStatus.SUCCESS),
     (0, FinalStatus.REJECTED), ("Rejected", FinalStatus.REJECTED), (-1, FinalStatus.FAILED),
     ("-1", FinalStatus.FAILED), ("Failed", FinalStatus.FAILED)],
)
def test_final_status_as_number_or_name(value, expected):
    assert parse_final_status(value) is expected


@pytest.mark.parametrize("value", [None, True, "Maybe", 7, 1.5])
def test_bad_final_status(value):
    with pytest.raises(ProtocolError):
        parse_final_status(value)


def jwt(claims):
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256'})}.{part(claims)}.sig"


def test_token_expiry_from_the_jwt_first():
    token = parse_token_response(
        {"token_type": "Bearer", "expires_in": 60, "access_token": jwt({"exp": 2_000_000_000})},
        now=1_000,
    )
    assert token.expires_at == 2_000_000_000


@pytest.mark.parametrize("expires_in, lifetime", [(60, 3600), (3600, 3600), ("55", 3300)])
def test_expires_in_is_minutes_before_20_0_9_and_seconds_after(expires_in, lifetime):
    token = parse_token_response(
        {"token_type": "Bearer", "expires_in": expires_in, "access_token": "opaque"}, now=1_000
    )
    assert token.expires_at == 1_000 + lifetime


@pytest.mark.parametrize(
    "body",
    [None, {}, {"access_token": 5}, {"access_token": "x", "token_type": "MAC"},
     {"access_token": "opaque"}, {"access_token": "opaque", "expires_in": 0}],
)
def test_bad_token_responses(body):
    with pytest.raises(ProtocolError):
        parse_token_response(body, now=0)
