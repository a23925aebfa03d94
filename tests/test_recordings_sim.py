# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Recordings and voicemail messages in the simulator, read with the 3CX client.

3CX writes a recording after the call: until then XAPI lists nothing and a download is a 404.
The client must tell a cut or spoiled download from a good one. With 3CX's transcription on,
a recording gets a transcript, a summary and a sentiment score some time after it is written
(every recording, or those TranscribeRecordings names).
"""

import base64
import datetime
import io
import wave

import pytest
import requests
from threecx_sim import SECRET, control, running_simulator, wait_for
from xapi_schema import REPORT_CALL_LOG_PATH, validate_request, validate_response

from realtor_3cx.threecx.client import ThreecxClient
from realtor_3cx.threecx.errors import ConnectionFailed, NotFoundError, ResponseError
from realtor_3cx.tools.audio import audio_mimetype

CALLER = "+15550108001"


@pytest.fixture
def sim():
    # 60 s of PBX time (3 s at the tests' speed) before a recording is written.
    with running_simulator(recording_delay=60.0) as sim:
        yield sim


@pytest.fixture
def client(sim):
    client = ThreecxClient(sim.url, "900", SECRET)
    yield client
    client.close()


def truth(sim, callid):
    return control(sim, f"calls/{callid}", method="GET")


def answered_call(sim, client):
    call = control(sim, "calls/inbound", {"from": CALLER, "to": "100", "name": "PAT CALLER",
                                          "ring_seconds": 600})
    client.callcontrol.answer("100", call["legs"][0]["id"])
    wait_for(lambda: truth(sim, call["callid"])["answered_at"], "the answer")
    control(sim, f"calls/{call['callid']}/hangup", {"side": "caller"})
    wait_for(lambda: truth(sim, call["callid"])["ended_at"], "the hang-up")
    return call["callid"]


def report(sim, client, callid):
    start = truth(sim, callid)["started_at"]
    return list(client.xapi.call_log(start - 60, start + 3600,
                                     filter=f"CallId eq {callid}"))


def test_a_recording_appears_only_once_3cx_has_written_it(sim, client):
    callid = answered_call(sim, client)
    start = truth(sim, callid)["started_at"]
    # Just after the call: no recording id anywhere, and the next id is not downloadable.
    assert truth(sim, callid)["recording_id"] is None
    assert client.xapi.call_recording_ids(callid, start - 60, start + 3600) == []
    assert list(client.xapi.recordings()) == []
    (row,) = report(sim, client, callid)
    assert row["RecordingUrl"] is None and row["Recordings"] == []
    with pytest.raises(NotFoundError):
        client.xapi.download_recording(1, io.BytesIO())

    rec_id = wait_for(lambda: truth(sim, callid)["recording_id"], "the recording", timeout=30)
    assert client.xapi.call_recording_ids(callid, start - 60, start + 3600) == [rec_id]
    (row,) = report(sim, client, callid)
    assert row["Recordings"][0]["Id"] == rec_id
    assert row["RecordingUrl"].endswith(f"DownloadRecording(recId={rec_id})")
    buffer = io.BytesIO()
    size, content_type = client.xapi.download_recording(rec_id, buffer)
    assert content_type == "audio/wav" and size == len(buffer.getvalue())
    assert audio_mimetype(buffer.getvalue()) == "audio/wav"


def test_report_and_recordings_with_a_recording_follow_the_published_schema(sim, client):
    callid = answered_call(sim, client)
    wait_for(lambda: truth(sim, callid)["recording_id"], "the recording", timeout=30)
    token = client.tokens.token()
    headers = {"Authorization": f"Bearer {token}"}
    recs = requests.get(f"{sim.url}/xapi/v1/Recordings", headers=headers, timeout=5).json()
    validate_response("get", "/Recordings", recs, strict=True)
    start = truth(sim, callid)["started_at"]
    rows = report(sim, client, callid)
    assert rows[0]["Recordings"][0]["Id"] == recs["value"][0]["Id"]
    body = requests.get(
        f"{sim.url}/xapi/v1/ReportCallLogData/Pbx.GetCallLogData("
        f"periodFrom={_iso(start - 60)},periodTo={_iso(start + 3600)},sourceType=0,"
        "sourceFilter='',destinationType=0,destinationFilter='',callsType=0,"
        "callTimeFilterType=0,callTimeFilterFrom='0:00:0',callTimeFilterTo='0:00:0',"
        "hidePcalls=false)", headers=headers, timeout=5).json()
    validate_response("get", REPORT_CALL_LOG_PATH, body, strict=True)
    assert [r["Recordings"] for r in body["value"]] == [[
        {"Id": recs["value"][0]["Id"], "SentimentScore": None, "Summary": None,
         "Transcription": None}]]


def _iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def test_a_voicemail_message_is_listed_as_a_recording_of_the_missed_call(sim, client):
    control(sim, "config", {"voicemail_seconds": 3.0})
    call = control(sim, "calls/inbound", {"from": CALLER, "to": "100", "ring_seconds": 2})
    callid = call["callid"]
    wait_for(lambda: truth(sim, callid)["result"] == "voicemail", "voicemail")
    rec_id = wait_for(lambda: truth(sim, callid)["recording_id"], "the message", timeout=30)
    start = truth(sim, callid)["started_at"]
    assert client.xapi.call_recording_ids(callid, start - 60, start + 3600) == [rec_id]
    (row,) = [r for r in client.xapi.recordings() if r["Id"] == rec_id]
    assert (row["CallType"], row["ToDn"], row["FromCallerNumber"]) == (
        "InboundExternal", "100", CALLER)
    buffer = io.BytesIO()
    client.xapi.download_recording(rec_id, buffer)
    with wave.open(io.BytesIO(buffer.getvalue())) as audio:
        assert audio.getnframes() == 3 * 8000  # the message the caller left


def test_a_missed_call_without_voicemail_has_no_recording(sim, client):
    call = control(sim, "calls/inbound", {"from": CALLER, "to": "800", "ring_seconds": 2})
    wait_for(lambda: truth(sim, call["callid"])["result"] == "missed", "missed")
    control(sim, "config", {"recording_delay": 0.0})
    answered = answered_call(sim, client)  # written at once now: the missed one had nothing
    assert truth(sim, answered)["recording_id"] is not None
    assert truth(sim, call["callid"])["recording_id"] is None


def test_a_cut_download_and_a_spoiled_one_are_told_apart(sim, client):
    control(sim, "config", {"recording_delay": 0.0})
    callid = answered_call(sim, client)
    rec_id = truth(sim, callid)["recording_id"]
    control(sim, "faults", {"bad_downloads": 1, "bad_download_kind": "drop"})
    with pytest.raises((ConnectionFailed, ResponseError), match=f"recording {rec_id}"):
        client.xapi.download_recording(rec_id, io.BytesIO())
    control(sim, "faults", {"bad_downloads": 1, "bad_download_kind": "garbage"})
    spoiled = io.BytesIO()
    client.xapi.download_recording(rec_id, spoiled)
    assert audio_mimetype(spoiled.getvalue()) is None  # 200, but no audio: not to be kept
    good = io.BytesIO()
    client.xapi.download_recording(rec_id, good)  # the faults are spent: the file is whole
    assert audio_mimetype(good.getvalue()) == "audio/wav"


def test_a_download_larger_than_allowed_stops(sim, client):
    control(sim, "config", {"recording_delay": 0.0})
    callid = answered_call(sim, client)
    with pytest.raises(ResponseError, match="larger than 1000 bytes"):
        client.xapi.download_recording(truth(sim, callid)["recording_id"], io.BytesIO(),
                                       max_bytes=1000)


# -- 3CX's transcription --------------------------------------------------------------------

TRANSCRIBE = "/Recordings/Pbx.TranscribeRecordings"


def xapi_get(sim, client, path):
    headers = {"Authorization": f"Bearer {client.tokens.token()}"}
    return requests.get(f"{sim.url}/xapi/v1{path}", headers=headers, timeout=5)


def recorded_call(sim, client):
    control(sim, "config", {"recording_delay": 0.0})
    callid = answered_call(sim, client)
    return callid, truth(sim, callid)["recording_id"]


def transcript_of(sim, client, rec_id):
    body = xapi_get(sim, client, "/Recordings").json()
    validate_response("get", "/Recordings", body, strict=True)
    (row,) = [r for r in body["value"] if r["Id"] == rec_id]
    return row


def test_with_transcription_off_nothing_is_transcribed_and_a_request_changes_nothing(
        sim, client):
    callid, rec_id = recorded_call(sim, client)
    row = transcript_of(sim, client, rec_id)
    assert (row["IsTranscribed"], row["CanBeTranscribed"], row["Transcription"],
            row["Summary"], row["SentimentScore"], row["TranscriptionResult"]) == (
        False, False, None, None, None, None)
    client.xapi.transcribe_recordings([rec_id])  # 3CX accepts it [I]
    control(sim, "config", {"transcribe_delay": 0.0})
    assert client.xapi.recording_transcript(rec_id)["IsTranscribed"] is False
    (log,) = report(sim, client, callid)
    assert (log["Transcription"], log["Summary"], log["SentimentScore"]) == (None, None, None)


def test_a_requested_transcript_shows_after_the_delay_on_the_recording_and_the_call_log(
        sim, client):
    control(sim, "config", {"transcription": "request", "transcribe_delay": 20.0})  # 1 s
    callid, rec_id = recorded_call(sim, client)
    before = client.xapi.recording_transcript(rec_id)
    assert (before["CanBeTranscribed"], before["IsTranscribed"], before["Transcription"]) == (
        True, False, None)

    body = {"ids": [rec_id, 999999]}  # an id 3CX does not have is ignored [I]
    validate_request("post", TRANSCRIBE, body, strict=True)
    response = requests.post(f"{sim.url}/xapi/v1{TRANSCRIBE}", json=body, timeout=5, headers={
        "Authorization": f"Bearer {client.tokens.token()}"})
    assert (response.status_code, response.content) == (204, b"")
    assert client.xapi.recording_transcript(rec_id)["IsTranscribed"] is False  # not yet

    row = wait_for(lambda: (r := transcript_of(sim, client, rec_id))["IsTranscribed"] and r,
                   "the transcript")
    assert row["TranscriptionResult"] == 0
    assert "Elm Street" in row["Transcription"] and row["Transcription"].startswith("Agent:")
    assert "viewing" in row["Summary"] and row["SentimentScore"] == 8
    start = truth(sim, callid)["started_at"]
    body = xapi_get(sim, client, (
        f"/ReportCallLogData/Pbx.GetCallLogData(periodFrom={_iso(start - 60)},"
        f"periodTo={_iso(start + 3600)},sourceType=0,sourceFilter='',destinationType=0,"
        "destinationFilter='',callsType=0,callTimeFilterType=0,callTimeFilterFrom='0:00:0',"
        f"callTimeFilterTo='0:00:0',hidePcalls=false)?$filter=CallId eq {callid}")).json()
    validate_response("get", REPORT_CALL_LOG_PATH, body, strict=True)
    (log,) = body["value"]
    heard = {k: row[k] for k in ("Transcription", "Summary", "SentimentScore")}
    assert log["Recordings"] == [{"Id": rec_id, **heard}]
    assert {k: log[k] for k in heard} == heard


def test_transcribe_recordings_refuses_a_body_that_is_not_the_spec_s(sim, client):
    with pytest.raises(AssertionError, match="ids"):
        validate_request("post", TRANSCRIBE, {"ids": ["1"]})
    for bad in ({"ids": ["1"]}, {"recIds": [1]}, [1]):
        response = requests.post(f"{sim.url}/xapi/v1{TRANSCRIBE}", json=bad, timeout=5,
                                 headers={"Authorization": f"Bearer {client.tokens.token()}"})
        assert response.status_code == 400
        validate_response("post", TRANSCRIBE, response.json(), 400, strict=True)


def test_with_transcription_on_every_recording_gets_what_a_test_says_its_audio_holds(
        sim, client):
    control(sim, "config", {"transcription": "auto", "transcribe_delay": 10.0})
    call = control(sim, "calls/inbound", {"from": CALLER, "to": "100", "ring_seconds": 600})
    client.callcontrol.answer("100", call["legs"][0]["id"])
    wait_for(lambda: truth(sim, call["callid"])["answered_at"], "the answer")
    audio = io.BytesIO()
    with wave.open(audio, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x01\x00" * 8000)
    posted = control(sim, "transcripts", {
        "callid": call["callid"], "text": "Caller: Please stop calling me.",
        "summary": "The caller asked not to be called.", "sentiment": 2,
        "audio": base64.b64encode(audio.getvalue()).decode()})
    assert posted == {"text": "Caller: Please stop calling me.",
                      "summary": "The caller asked not to be called.", "sentiment": 2}
    control(sim, f"calls/{call['callid']}/hangup", {"side": "caller"})
    rec_id = wait_for(lambda: truth(sim, call["callid"])["recording_id"], "the recording",
                      timeout=30)
    row = wait_for(lambda: (r := transcript_of(sim, client, rec_id))["IsTranscribed"] and r,
                   "the transcript", timeout=30)  # nobody asked: 3CX transcribes them all
    assert (row["Transcription"], row["Summary"], row["SentimentScore"]) == (
        "Caller: Please stop calling me.", "The caller asked not to be called.", 2)
    downloaded = io.BytesIO()
    client.xapi.download_recording(rec_id, downloaded)
    assert downloaded.getvalue() == audio.getvalue()  # the audio the test posted


def test_a_failed_transcription_has_a_result_and_no_text(sim, client):
    control(sim, "config", {"transcription": "request", "transcribe_delay": 0.0})
    callid, rec_id = recorded_call(sim, client)
    control(sim, "transcripts", {"callid": callid, "result": 3})
    client.xapi.transcribe_recordings([rec_id])
    row = wait_for(lambda: (r := client.xapi.recording_transcript(rec_id))
                   ["TranscriptionResult"] is not None and r, "the result")
    assert (row["IsTranscribed"], row["TranscriptionResult"], row["Transcription"]) == (
        False, 3, None)
    with pytest.raises(requests.HTTPError):
        requests.post(f"{sim.url}/_sim/transcripts", json={"callid": callid, "audio": "%%"},
                      timeout=5).raise_for_status()
