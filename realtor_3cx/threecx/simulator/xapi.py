# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The XAPI (OData v4, ``/xapi/v1``) subset the client uses, built from the live PBX state.

Entity sets are computed on each request from :class:`~.state.Pbx`, so ``ActiveCalls`` agrees
with Call Control and ``CallHistoryView``, ``ReportCallLogData`` and ``Recordings`` agree with
the ground truth (``GET /_sim/calls``). Field names and types follow 3CX's published OpenAPI
spec (the part used is in docs/3cx/xapi-schemas.json; the tests validate every body against
it, strictly).

Values the spec types but does not enumerate are [I] (inferred) and documented where set:
``ActiveCall.Status``, ``CallLogData.Status``/``Reason``, segment and DN type numbers.
"""

import base64
import binascii
import datetime
import io
import json
import math
import re
import struct
import wave

from aiohttp import web

from . import phonebook, state
from .odata import ODataError, apply_query, parse_function_args, parse_key_segment

UTC = datetime.timezone.utc
# DN type numbers in CallHistoryView/CallLogData [I]: 0 extension, 1 external line, 13 queue,
# 14 route point. The spec types them as int32 without values.
DN_TYPES = {state.EXTENSION: 0, state.EXTERNAL_LINE: 1, state.QUEUE: 13, state.ROUTE_POINT: 14}
CALL_LOG_STATUS = {  # [I]: 3CX's report shows these words
    state.ANSWERED: "Answered", state.MISSED: "Unanswered", state.NOT_ANSWERED: "Unanswered",
    state.VOICEMAIL: "Unanswered", state.BUSY: "Unanswered", state.FAILED: "Unanswered",
}
REASONS = {state.VOICEMAIL: "Voicemail", state.BUSY: "Busy", state.MISSED: "NoAnswer",
           state.NOT_ANSWERED: "NoAnswer", state.FAILED: "Failed"}
ONE_CALL = re.compile(r"CallId eq (\d+)")
FUNCTION = re.compile(r"^(?P<set>\w+)(?P<key>\([^/]*\))?(?:/(?P<op>Pbx\.\w+)(?P<args>\(.*\))?)?$")


def _dt(epoch):
    return None if epoch is None else datetime.datetime.fromtimestamp(epoch, UTC)


def duration(seconds):
    """ISO-8601 duration as 3CX writes it: ``PT1M5S``."""
    seconds = max(0, int(round(seconds or 0)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return text + (f"{secs}S" if secs or text == "PT" else "")


async def handle(sim, request):
    """Answer one XAPI request; OData errors keep their OData shape."""
    try:
        if request.method == "POST" and request.match_info["tail"] == TRANSCRIBE:
            response = transcribe_recordings(sim, await _action_body(request))
        elif request.match_info["tail"].startswith("Contacts"):
            response = await _contacts(sim, request)
        else:
            response = _route(sim, request)
        if isinstance(response, _Spoiled):
            return await response.send(request, sim.config.version)
    except ODataError as exc:
        response = web.json_response(exc.body(), status=exc.status)
    except state.SimError as exc:
        response = web.json_response({"error": {"code": str(exc.status), "message": exc.reason,
                                                "details": []}}, status=exc.status)
    response.headers["X-3CX-Version"] = sim.config.version
    return response


def _route(sim, request):
    tail = request.match_info["tail"]
    match = FUNCTION.match(tail)
    if not match:
        raise ODataError(f"Resource not found for the segment '{tail}'", status=404,
                         code="NotFound")
    entity_set, key, op, args = match["set"], match["key"], match["op"], match["args"]
    params = request.query
    context = f"{request.url.origin()}/xapi/v1/$metadata#{entity_set}"
    method = request.method
    if method == "GET" and entity_set == "Defs" and not key and not op:
        return web.json_response({"@odata.context": f"{context}/$entity", "Id": 1})
    if method == "GET" and entity_set == "SystemStatus" and not key and not op:
        return web.json_response({"@odata.context": f"{context}/$entity",
                                  **_json(system_status(sim))})
    if method == "GET" and entity_set == "LicenseStatus" and not key and not op:
        return web.json_response({"@odata.context": f"{context}/$entity",
                                  **_json(license_status(sim))})
    if entity_set == "Users" and method == "GET" and not op:
        rows = users(sim)
        if key:
            return web.json_response(_one(rows, parse_key_segment(key), "Users", context))
        return _collection(rows, params, context)
    if entity_set in TEAMS and method == "GET" and not key and not op:
        kind, navigation = TEAMS[entity_set]
        return web.json_response(apply_query(teams(sim, kind, navigation), params, context,
                                             navigation=(navigation,)))
    if entity_set == "ActiveCalls":
        if method == "GET" and not key and not op:
            return _collection(active_calls(sim), params, context)
        if method == "POST" and key and op == "Pbx.DropCall":
            callid = parse_key_segment(key)
            call = sim.pbx.calls.get(callid) if isinstance(callid, int) else None
            if call is None or call.ended_at is not None:
                raise ODataError(f"Active call {key} not found", status=404, code="NotFound")
            sim.pbx.hangup(callid, "api")
            # The spec declares 200 with a Pbx.IActionResult; 3CX answers 204 (§9).
            if sim.config.dropcall_status == 200:
                return web.json_response({})
            return web.Response(status=204)
    if entity_set == "CallHistoryView" and method == "GET" and not key and not op:
        return _collection(call_history(sim), params, context)
    if (entity_set == "ReportCallLogData" and method == "GET" and not key
            and op == "Pbx.GetCallLogData"):
        # The worker asks for one call at a time ($filter=CallId eq N): with a long call log,
        # build that row only (apply_query still applies the filter, so answers are the same).
        one = ONE_CALL.fullmatch(params.get("$filter", "").strip())
        rows = call_log(sim, parse_function_args(args or "()"),
                        only=int(one.group(1)) if one else None)
        return _collection(rows, params, f"{context}/Pbx.GetCallLogData")
    if entity_set == "Recordings" and method == "GET" and not key:
        if not op:
            return _collection(recordings(sim), params, context)
        if op == "Pbx.DownloadRecording":
            rec_id = parse_function_args(args or "()").get("recId")
            return _download(sim, rec_id)
    raise ODataError(f"Resource not found for the segment '{tail}'", status=404,
                     code="NotFound")


async def _contacts(sim, request):
    """The company phonebook (phonebook.py): the one entity set written through the XAPI."""
    tail = request.match_info["tail"]
    match = FUNCTION.match(tail)
    body = None
    if match and request.method in ("POST", "PATCH"):
        try:
            body = await request.json()
        except ValueError:
            raise ODataError("The request body is not valid JSON") from None
    answer = match and phonebook.route(
        sim, request, match["key"], match["op"], body,
        f"{request.url.origin()}/xapi/v1/$metadata#Contacts")
    if not answer:
        raise ODataError(f"Resource not found for the segment '{tail}'", status=404,
                         code="NotFound")
    status, payload = answer
    if payload is None:
        return web.Response(status=status)
    return web.json_response(payload, status=status)


def _json(row):
    return {k: (v.isoformat().replace("+00:00", "Z") if isinstance(v, datetime.datetime)
                else v) for k, v in row.items()}


def _collection(rows, params, context):
    return web.json_response(apply_query(rows, params, context))


def _one(rows, key, name, context):
    if isinstance(key, dict):
        found = [r for r in rows if all(str(r.get(k)) == str(v) for k, v in key.items())]
    else:
        found = [r for r in rows if r.get("Id") == key]
    if not found:
        raise ODataError(f"{name}{key} not found", status=404, code="NotFound")
    return {"@odata.context": f"{context}/$entity", **_json(found[0])}


# -- entity sets ----------------------------------------------------------------------------


def system_status(sim):
    pbx = sim.pbx
    extensions = [dn for dn in pbx.dns.values() if dn.type == state.EXTENSION and dn.devices]
    return {
        "Id": 1, "Version": sim.config.version, "FQDN": sim.config.fqdn,
        "CallsActive": len({leg.callid for leg in pbx.active_legs()}),
        "ExtensionsRegistered": sum(1 for dn in extensions if dn.devices),
        "ExtensionsTotal": len(extensions), "UserExtensions": len(extensions),
        "MaxSimCalls": 32, "MaxUserExtensions": 160, "LicenseActive": True, "Activated": True,
        "ProductCode": "3CXPSENT8SC", "ExpirationDate": _dt(1893456000),
        "TrunksRegistered": 1, "TrunksTotal": 1, "Ip": "127.0.0.1", "IpV4": "127.0.0.1",
        "RecordingStopped": False, "RecordingQuotaReached": False, "Support": True,
        "HasNotRunningServices": False,
    }


def license_status(sim):
    return {
        "Activated": True, "ActiveModules": [], "CompanyName": "Realtor 3CX Simulator",
        "ExpirationDate": _dt(1893456000), "LicenseActive": True, "LicenseKey": "SIMU-LATO-R000",
        "MaxSimCalls": 32, "ProductCode": "3CXPSENT8SC", "Support": True,
        "Version": sim.config.version, "SimMeetingParticipants": 0,
    }


def users(sim):
    rows = []
    for index, dn in enumerate(sorted(sim.pbx.dns.values(), key=lambda d: d.number), 1):
        if dn.type != state.EXTENSION:
            continue
        rows.append({
            "Id": index, "Number": dn.number, "FirstName": dn.first_name,
            "LastName": dn.last_name, "DisplayName": dn.name, "EmailAddress": dn.email,
            "Mobile": dn.mobile, "OutboundCallerID": "", "Enabled": True,
            "IsRegistered": bool(dn.devices), "CurrentProfileName": dn.profile,
            "QueueStatus": "LoggedIn" if dn.queue_logged_in else "LoggedOut",
            "VMEnabled": dn.voicemail, "RecordCalls": True, "Internal": False,
            "Require2FA": False,
        })
    return rows


# The teams a call can ring: entity set -> (DN type, the navigation property of its members).
TEAMS = {"Queues": (state.QUEUE, "Agents"), "RingGroups": (state.RING_GROUP, "Members")}


def teams(sim, kind, navigation):
    """``GET /Queues`` / ``GET /RingGroups``: Pbx.Queue / Pbx.RingGroup rows. The members are a
    navigation property (``x-ms-navigationProperty``): listed only under ``$expand``."""
    numbers = {dn.number: index for index, dn in
               enumerate(sorted(sim.pbx.dns.values(), key=lambda d: d.number), 1)}
    rows = []
    for dn in sorted(sim.pbx.dns.values(), key=lambda d: d.number):
        if dn.type != kind:
            continue
        members = []
        for number in dn.members:
            member = sim.pbx.dns.get(number)
            row = {"Id": numbers.get(number, 0), "Name": member.name if member else number,
                   "Number": number, "Tags": []}
            if kind == state.QUEUE:
                row["SkillGroup"] = ""
            members.append(row)
        row = {"Id": numbers[dn.number], "Number": dn.number, "Name": dn.name,
               "IsRegistered": True, navigation: members}
        if kind == state.QUEUE:
            row.update(PollingStrategy="RingAll", RingTimeout=20)
        else:
            row.update(RingStrategy="RingAll", RingTime=20)
        rows.append(row)
    return rows


def active_calls(sim):
    now = _dt(sim.pbx.clock())
    rows = []
    for call in sim.pbx.calls.values():
        if call.ended_at is not None:
            continue
        legs = [leg for leg in sim.pbx.active_legs() if leg.callid == call.callid]
        talking = any(leg.status == state.CONNECTED and
                      sim.pbx.dns[leg.dn].type == state.EXTENSION for leg in legs)
        rows.append({
            "Id": call.callid,
            "Caller": f"{call.caller} {call.caller_name}".strip(),
            "Callee": call.answered_by or call.callee,
            # [I] 3CX's console shows Ringing / Talking / Dialing.
            "Status": "Talking" if talking else ("Dialing" if call.direction != "Inbound"
                                                 else "Ringing"),
            "EstablishedAt": _dt(call.talk_since),
            "LastChangeStatus": _dt(call.events[-1][0] if call.events else call.started_at),
            "ServerNow": now,
        })
    return rows


def _party(sim, number):
    """(caller number, display name, DN, DN type) for a call end."""
    dn = sim.pbx.dns.get(number)
    if dn is None:
        return number, "", "", DN_TYPES[state.EXTERNAL_LINE]
    return dn.number, dn.name, dn.number, DN_TYPES.get(dn.type, 0)


# Ids derived from the call id must stay within the int32 the spec gives them.
def segment_id(callid, index):
    return (callid % 20_000_000) * 100 + index


def party_id(callid, side):
    return (callid % 200_000_000) * 10 + side


def call_history(sim):
    """One row per segment of every finished call: a ring segment, then each talk."""
    rows = []
    for call in sim.pbx.calls.values():
        if call.ended_at is None:
            continue
        src = _party(sim, call.caller)
        rung = call.agent_dn or call.callee
        segments = [(call.started_at, call.segments[0][0] if call.segments else call.ended_at,
                     rung, 1)]
        segments += [(start, end, dst, 2) for start, end, _src, dst, _kind in call.segments]
        for index, (start, end, dst_number, kind) in enumerate(segments, 1):
            dst = _party(sim, dst_number)
            rows.append({
                "SegmentId": segment_id(call.callid, index),
                "SegmentStartTime": _dt(start), "SegmentEndTime": _dt(end),
                "SegmentType": kind, "SegmentActionId": 1 if kind == 2 else 0,
                "CallTime": duration(end - start),
                "CallAnswered": call.answered_at is not None,
                "SrcId": party_id(call.callid, 1), "SrcParticipantId": party_id(call.callid, 1),
                "SrcCallerNumber": src[0], "SrcDisplayName": src[1] or call.caller_name,
                "SrcExtendedDisplayName": src[1] or call.caller_name, "SrcDn": src[2],
                "SrcDnType": src[3], "SrcExternal": not src[2], "SrcInternal": bool(src[2]),
                "SrcRecId": call.recording_id if kind == 2 else None,
                "DstId": party_id(call.callid, 2), "DstParticipantId": party_id(call.callid, 2),
                "DstCallerNumber": dst[0], "DstDisplayName": dst[1],
                "DstExtendedDisplayName": dst[1], "DstDn": dst[2], "DstDnType": dst[3],
                "DstExternal": not dst[2], "DstInternal": bool(dst[2]),
                "DstRecId": call.recording_id if kind == 2 else None,
            })
    return rows


def call_log(sim, args, only=None):
    """``GetCallLogData``: one row per finished call in [periodFrom, periodTo] (of call
    ``only`` alone when given)."""
    start, end = args.get("periodFrom"), args.get("periodTo")
    for name, value in (("periodFrom", start), ("periodTo", end)):
        if not isinstance(value, datetime.datetime):
            raise ODataError(f"{name} must be a DateTimeOffset, e.g. 2025-03-01T00:00:00Z")
    source, destination = str(args.get("sourceFilter") or ""), str(args.get("destinationFilter")
                                                                   or "")
    calls_type = args.get("callsType", 0)  # [I] 0 all, 1 answered, 2 unanswered
    rows = []
    calls = sim.pbx.calls.values() if only is None else filter(None, [sim.pbx.calls.get(only)])
    for call in calls:
        started = _dt(call.started_at)
        if call.ended_at is None or not start <= started <= end:
            continue
        answered = call.answered_at is not None
        if (calls_type == 1 and not answered) or (calls_type == 2 and answered):
            continue
        src, dst = _party(sim, call.caller), _party(sim, call.answered_by or call.agent_dn
                                                    or call.callee)
        if source not in src[0] or destination not in dst[0]:
            continue
        talk = sum(e - s for s, e, *_ in call.segments)
        ring_end = call.answered_at or call.ended_at
        url = (f"/xapi/v1/Recordings/Pbx.DownloadRecording(recId={call.recording_id})"
               if call.recording_id else None)
        heard = {key: value for key, value in transcription_fields(sim, call).items()
                 if key in ("Transcription", "Summary", "SentimentScore")}
        rows.append({
            "CallId": call.callid, "CdrId": f"00000000-0000-0000-0000-{call.callid:012d}",
            "CallHistoryId": str(call.callid), "MainCallHistoryId": str(call.callid),
            "SegmentId": segment_id(call.callid, 1), "Indent": 0, "StartTime": started,
            "Direction": call.direction, "CallType": call.direction,
            "Status": CALL_LOG_STATUS.get(call.result, "Unanswered"), "Answered": answered,
            "SourceCallerId": src[0], "SourceDisplayName": src[1] or call.caller_name,
            "SourceDn": src[2], "SourceType": src[3],
            "DestinationCallerId": dst[0] if not dst[2] else call.callee,
            "DestinationDisplayName": dst[1], "DestinationDn": dst[2],
            "DestinationType": dst[3],
            "RingingDuration": duration(ring_end - call.started_at),
            "TalkingDuration": duration(talk),
            "Reason": "Answered" if answered else REASONS.get(call.result, "NoAnswer"),
            "RecordingUrl": url,
            "Recordings": [{"Id": call.recording_id, **heard}] if call.recording_id else [],
            "SrcRecId": call.recording_id,
            "DstRecId": call.recording_id, **heard,
            "QualityReport": False,
        })
    return rows


def recordings(sim):
    rows = []
    for rec_id, call in sim.pbx.recordings.items():
        src = _party(sim, call.caller)
        dst = _party(sim, call.answered_by or call.callee)
        kind = {"Inbound": "InboundExternal", "Outbound": "OutboundExternal"}.get(
            call.direction, "Local")
        # A voicemail message starts when the ringing ends [I].
        start = call.answered_at or call.ended_at
        rows.append({
            "Id": rec_id, "StartTime": _dt(start), "EndTime": _dt(start + call.recorded_seconds
                                                                   if call.answered_at is None
                                                                   else call.ended_at),
            "FromCallerNumber": src[0], "FromDisplayName": src[1] or call.caller_name,
            "FromDn": src[2], "FromDnType": src[3], "FromDidNumber": call.did or None,
            "ToCallerNumber": dst[0], "ToDisplayName": dst[1], "ToDn": dst[2],
            "ToDnType": dst[3], "CallType": kind,
            "RecordingUrl": f"/xapi/v1/Recordings/Pbx.DownloadRecording(recId={rec_id})",
            "IsArchived": False, **transcription_fields(sim, call),
        })
    return rows


def _download(sim, rec_id):
    call = sim.pbx.recordings.get(rec_id) if isinstance(rec_id, int) else None
    if call is None:
        raise ODataError(f"Recording {rec_id} not found", status=404, code="NotFound")
    posted = call.transcript.get("audio")
    body = (base64.b64decode(posted) if posted
            else wav_tone(min(30.0, max(1.0, call.recorded_seconds))))
    faults = sim.faults
    if faults.bad_downloads > 0:
        faults.bad_downloads -= 1
        return _Spoiled(body, rec_id, faults.bad_download_kind)
    return web.Response(body=body, content_type="audio/wav", headers={
        "Content-Disposition": f'attachment; filename="recording-{rec_id}.wav"'})


# -- 3CX's transcription ----------------------------------------------------------------------

TRANSCRIBE = "Recordings/Pbx.TranscribeRecordings"
# What 3CX's transcription makes of the simulator's own recording audio (a 440 Hz tone, or
# the echo of what the realtor's browser sent): a canned realtor call, so that the product has
# a transcript, a summary and a score to show without a test posting one.
KNOWN_TRANSCRIPTS = {
    "tone": {
        "text": "Agent: Good morning, this is Sam from Harbour Realty.\n"
                "Caller: Hi, I am calling about the flat on Elm Street. Is it still "
                "available?\n"
                "Agent: It is. Would Saturday at ten suit you for a viewing?\n"
                "Caller: Saturday at ten is perfect, thank you.",
        "summary": "The caller asked about the Elm Street flat; a viewing is booked for "
                   "Saturday at 10:00.",
        "sentiment": 8,
    },
    "echo": {
        "text": "Agent: Hello, can you hear me?\nCaller: Hello, can you hear me?",
        "summary": "A test call: the far end repeated what it heard.",
        "sentiment": 5,
    },
}


def set_transcript(call, body):
    """``POST /_sim/transcripts``: what 3CX's transcription will make of ``call``'s recording.

    ``text`` (with ``summary``, ``sentiment``) is the transcript; ``result`` a non-zero
    TranscriptionResult makes the transcription fail instead; ``audio`` (a WAV, base64) is the
    recording's audio, served by DownloadRecording (for a local speech-to-text engine). What
    is not given keeps its value, so a test can post the audio first and the text later.
    """
    if "audio" in body:
        try:
            base64.b64decode(body["audio"] or "", validate=True)
        except (binascii.Error, TypeError):
            raise state.SimError(400, "audio must be base64") from None
    for key in ("text", "summary", "sentiment", "result", "audio"):
        if key in body:
            call.transcript[key] = body[key]
    return {key: value for key, value in call.transcript.items() if key != "audio"}


def _transcript_due(sim, call):
    """When 3CX's transcript of ``call``'s recording shows, or None when it is not coming.

    [I] 3CX transcribes a recording some time after it asked its engine (``auto``: when the
    recording is written, ``recording_delay`` after the call; otherwise at TranscribeRecordings),
    each delay running at the simulator's ``speed`` like the PBX's own.
    """
    config = sim.config
    later = config.transcribe_delay * config.speed
    due = []
    if config.transcription == "auto" and call.ended_at is not None:
        due.append(call.ended_at + config.recording_delay * config.speed + later)
    if config.transcription != "off" and call.transcript.get("requested_at") is not None:
        due.append(call.transcript["requested_at"] + later)
    return min(due) if due else None


def transcription_fields(sim, call):
    """The transcription properties of ``call``'s ``Pbx.Recording`` (the call log carries the
    text, summary and score only).

    [I] With 3CX's transcription off nothing is filled and ``CanBeTranscribed`` is false; on,
    a recording can be transcribed and, once transcribed, has ``IsTranscribed`` and
    ``TranscriptionResult`` 0; a failed transcription has another result and no text.
    """
    fields = {"IsTranscribed": False, "CanBeTranscribed": sim.config.transcription != "off",
              "Transcription": None, "Summary": None, "SentimentScore": None,
              "TranscriptionResult": None}
    due = _transcript_due(sim, call)
    if due is None or sim.pbx.clock() < due:
        return fields
    result = int(call.transcript.get("result") or 0)
    if result:
        return fields | {"TranscriptionResult": result}
    posted = call.transcript
    if "text" in posted:
        heard = {"text": posted["text"], "summary": None, "sentiment": None}
    elif "audio" in posted:  # audio whose words the simulator does not know: nothing heard
        heard = {"text": "", "summary": None, "sentiment": None}
    else:
        heard = KNOWN_TRANSCRIPTS.get(sim.config.audio, KNOWN_TRANSCRIPTS["tone"])
    sentiment = posted.get("sentiment", heard["sentiment"])
    return fields | {
        "IsTranscribed": True, "TranscriptionResult": 0, "Transcription": heard["text"],
        "Summary": posted.get("summary", heard["summary"]),
        "SentimentScore": None if sentiment is None else int(sentiment),
    }


async def _action_body(request):
    try:
        return await request.json(loads=json.loads)
    except ValueError:
        raise ODataError("The request body is not JSON") from None


def transcribe_recordings(sim, body):
    """``POST /Recordings/Pbx.TranscribeRecordings {"ids": [...]}``: 204 (the spec's answer);
    the transcripts show ``transcribe_delay`` later. [I] Ids 3CX does not have are ignored, and
    with its transcription off the request is accepted and nothing happens."""
    ids = body.get("ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool)
                                            for i in ids):
        raise ODataError("ids must be a list of recording ids")
    for rec_id in ids:
        call = sim.pbx.recordings.get(rec_id)
        if call is not None and sim.config.transcription != "off":
            call.transcript.setdefault("requested_at", sim.pbx.clock())
    return web.Response(status=204)


class _Spoiled:
    """An injected bad download: the connection cut halfway, or bytes that are no audio."""

    def __init__(self, body, rec_id, kind):
        self.body, self.rec_id, self.kind = body, rec_id, kind

    async def send(self, request, version):
        headers = {"X-3CX-Version": version,
                   "Content-Disposition": f'attachment; filename="recording-{self.rec_id}.wav"'}
        if self.kind == "garbage":
            return web.Response(body=b"<html>Service temporarily unavailable</html>" * 4,
                                content_type="audio/wav", headers=headers)
        response = web.StreamResponse(headers=headers)
        response.content_type = "audio/wav"
        response.content_length = len(self.body)
        await response.prepare(request)
        await response.write(self.body[:len(self.body) // 2])
        request.transport.close()  # gone mid-file, as when 3CX restarts during a download
        return response


def wav_tone(seconds, hz=440.0):
    """A small 8 kHz mono WAV (what 3CX stores; the exact format is open)."""
    frames = int(8000 * seconds)
    samples = struct.pack(f"<{frames}h", *(int(6000 * math.sin(2 * math.pi * hz * i / 8000))
                                           for i in range(frames)))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(samples)
    return buffer.getvalue()
