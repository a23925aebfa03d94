# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""End to end: the worker copies recordings and voicemail messages from the simulator.

A real worker process, a real database and the simulator. The audio on each call is checked
against what the simulator recorded (its ground truth: talk time, message length), and every
failure the download meets (a 404 while 3CX writes the file, a cut connection, a body that is
no audio, a worker killed while waiting) costs a retry, never the recording. Then 3CX's
transcript, summary and sentiment of each recording land on the call, as 3CX makes them by
itself or when a realtor asks for one from the call.
"""

import base64
import io
import itertools
import os
import wave

import pytest
from threecx_sim import SECRET, control, running_simulator, wait_for
from worker_env import QUIRKS, OdooDb, Worker

CALLER = "+15550128301"  # no other module's contact: the call must find Rita alone
DID = "+15550128390"
SERIAL = itertools.count()
DOWNLOAD = "/xapi/v1/Recordings/Pbx.DownloadRecording"
# First retry after 0.2 s, then 0.4, 0.8...: the tests wait for what happens, not for time.
FAST_RETRY = {"REALTOR_3CX_WORKER_RECORDING_RETRY": "0.2"}


@pytest.fixture(scope="module")
def db():
    return OdooDb()


@pytest.fixture(scope="module")
def people(db):
    """Two realtors (101 and 102) and a known caller (committed)."""
    tag = f"rec_{os.getpid()}"

    def create(env):
        # Module-scoped, and other modules import this fixture: one pytest process may ask
        # for it several times on the same database, so the second time finds the first's.
        logins = [f"{tag}_{n}" for n in ("A", "B")]
        users = env["res.users"].search([("login", "in", logins)], order="login")
        partner = env["res.partner"].search(
            [("name", "=", "Rita Recorded"), ("phone", "=", CALLER)], limit=1)
        if len(users) == 2 and partner:
            return {"users": users.ids, "partner": partner.id}
        group = env.ref("realtor_3cx.realtor_3cx_group_user")
        users = env["res.users"].create([
            {"name": f"Recording Realtor {n}", "login": login,
             "groups_id": [(6, 0, [group.id, env.ref("base.group_user").id])]}
            for n, login in zip(("A", "B"), logins, strict=True)])
        partner = env["res.partner"].create({"name": "Rita Recorded", "phone": CALLER})
        return {"users": users.ids, "partner": partner.id}

    return db.do(create)


@pytest.fixture
def pbx(db, people):
    with running_simulator(voicemail_seconds=3.0, **QUIRKS) as sim:
        def create(env):
            server = env["threecx.server"].create({
                "name": f"Recording PBX {next(SERIAL)}", "base_url": sim.url,
                "client_id": "900", "api_secret": SECRET, "record_calls": True})
            env["threecx.extension"].create([
                {"server_id": server.id, "number": number, "user_id": user}
                for number, user in zip(("101", "102"), people["users"], strict=True)])
            return server.id

        sim.server_id = db.do(create)
        yield sim
        db.do(lambda env: env["threecx.server"].browse(sim.server_id).write({"active": False}))


def start(db, pbx, tmp_path, name="worker"):
    worker = Worker(db, pbx.server_id, tmp_path / f"{name}.log", **FAST_RETRY)

    def connected():
        assert worker.proc.poll() is None, worker.output()
        return db.do(lambda env: env["threecx.server"].browse(pbx.server_id)
                     .connection_state) == "connected"

    wait_for(connected, "the worker to connect", timeout=30)
    return worker


@pytest.fixture
def worker(db, pbx, tmp_path):
    worker = start(db, pbx, tmp_path)
    yield worker
    worker.stop()
    print(worker.output()[-4000:])  # shown by pytest when the test failed


def truth(pbx, callid):
    return control(pbx, f"calls/{callid}", method="GET")


def answered_call(db, pbx, to="101", caller=CALLER):
    """An answered call, hung up once the worker has logged it as connected."""
    callid = control(pbx, "calls/inbound", {"from": caller, "to": to, "did": DID,
                                            "ring_seconds": 600})["callid"]
    control(pbx, f"calls/{callid}/answer", {"dn": to})

    def connected():
        call = db.calls(pbx.server_id).get(str(callid))
        return call and call["state"] == "connected"

    wait_for(connected, "the worker to log the call as connected", timeout=15)
    control(pbx, f"calls/{callid}/hangup", {"side": "caller"})
    return callid


def recording(db, pbx, callid, state="fetched", timeout=60):
    """The call's recording fields once ``recording_state`` is ``state``, with the audio."""
    def read(env):
        call = env["threecx.call"].search([("server_id", "=", pbx.server_id),
                                           ("call_id", "=", str(callid))])
        if call.recording_state != state:
            return None
        attachment = call.recording_attachment_id
        return {
            "attempts": call.recording_attempts, "error": call.recording_error,
            "state": call.state, "name": attachment.name, "mimetype": attachment.mimetype,
            "res": (attachment.res_model, attachment.res_id), "id": call.id,
            "audio": base64.b64decode(attachment.datas) if attachment else b"",
            "activities": [(a.activity_type_id.id, a.user_id.id) for a in call.activity_ids],
            "posted": [m.attachment_ids.ids for m in call.message_ids if m.attachment_ids],
        }

    return wait_for(lambda: db.do(read), f"the recording of call {callid} ({state})",
                    timeout=timeout)


def seconds_of(audio):
    with wave.open(io.BytesIO(audio)) as wav:
        assert (wav.getframerate(), wav.getnchannels()) == (8000, 1)
        return wav.getnframes() / 8000


def test_a_recording_is_fetched_after_a_404_and_a_cut_download(db, people, pbx, worker):
    # 3CX answers 404 while it writes the file, then the connection breaks mid-download.
    control(pbx, "faults", {"http_errors": 1, "http_error_status": 404,
                            "http_error_path": DOWNLOAD, "bad_downloads": 1,
                            "bad_download_kind": "drop"})
    callid = answered_call(db, pbx)
    rec = recording(db, pbx, callid)
    t = truth(pbx, callid)
    assert t["recording_id"] is not None
    assert rec["attempts"] == 2  # the 404 and the cut download, each one retry
    assert rec["res"] == ("threecx.call", rec["id"]) and rec["mimetype"] == "audio/wav"
    assert rec["name"] == f"recording-{callid}.wav"
    talk = t["ended_at"] - t["answered_at"]
    assert abs(seconds_of(rec["audio"]) - min(30.0, max(1.0, talk))) < 0.05
    assert len(rec["posted"]) == 1  # announced once, on the call's own chatter
    assert "recording of call %s stored" % callid in worker.output()


def test_a_download_that_is_no_audio_is_retried_not_stored(db, people, pbx, worker):
    control(pbx, "faults", {"bad_downloads": 1, "bad_download_kind": "garbage"})
    callid = answered_call(db, pbx, to="102")
    rec = recording(db, pbx, callid)
    assert rec["attempts"] == 1
    assert seconds_of(rec["audio"]) >= 1.0
    assert "no audio file" in worker.output()


def test_a_voicemail_lands_on_the_missed_call_with_one_call_back(db, people, pbx, worker):
    callid = control(pbx, "calls/inbound", {"from": CALLER, "to": "101",
                                            "ring_seconds": 2})["callid"]
    rec = recording(db, pbx, callid)
    assert truth(pbx, callid)["result"] == "voicemail" and rec["state"] == "voicemail"
    assert rec["name"] == f"voicemail-{callid}.wav"
    assert seconds_of(rec["audio"]) == 3.0  # the message the simulator's caller left
    call_back = db.do(lambda env: env.ref("mail.mail_activity_data_call").id)
    assert rec["activities"] == [(call_back, people["users"][0])]


def test_a_recording_where_consent_is_needed_waits_for_it(db, people, pbx, worker):
    # California needs everyone's consent to record (its seeded calling rule); Rita's
    # number has no state. One 404 on the downloads: the first call fetched meets it.
    control(pbx, "faults", {"http_errors": 1, "http_error_status": 404,
                            "http_error_path": DOWNLOAD})
    held = answered_call(db, pbx, caller="+14155550123")
    wait_for(lambda: truth(pbx, held)["recording_id"], "3CX's recording")
    rec = recording(db, pbx, held, state="held", timeout=30)
    assert "California" in rec["error"] and "consent" in rec["error"]
    fetched = recording(db, pbx, answered_call(db, pbx))
    assert fetched["attempts"] == 1  # the 404 was Rita's: nothing asked for the held one
    rec = recording(db, pbx, held, state="held")
    assert (rec["attempts"], rec["audio"], rec["posted"]) == (0, b"", [])

    def consent(env):
        call = env["threecx.call"].browse(rec["id"])
        call.with_user(people["users"][0]).recording_consent = "announced"

    db.do(consent)
    rec = recording(db, pbx, held)
    t = truth(pbx, held)
    assert abs(seconds_of(rec["audio"]) - min(30.0, max(1.0, t["ended_at"] - t["answered_at"]))) \
        < 0.05
    assert rec["error"] is False


def test_nothing_is_fetched_when_the_server_does_not_record(db, people, pbx, worker):
    db.do(lambda env: env["threecx.server"].browse(pbx.server_id).write(
        {"record_calls": False}))
    callid = answered_call(db, pbx)
    wait_for(lambda: truth(pbx, callid)["recording_id"], "3CX's recording")

    def logged(env):
        call = env["threecx.call"].search([("server_id", "=", pbx.server_id),
                                           ("call_id", "=", str(callid))])
        return call.state == "completed" and [call.recording_state, call.recording_attempts,
                                              call.recording_attachment_id.id]

    assert wait_for(lambda: db.do(logged), "the completed call", timeout=30) == [False, 0,
                                                                                 False]


def test_a_waiting_recording_survives_a_killed_worker(db, people, pbx, tmp_path):
    first = start(db, pbx, tmp_path, "first")
    try:
        control(pbx, "faults", {"http_errors": 2, "http_error_status": 404,
                                "http_error_path": DOWNLOAD})
        callid = answered_call(db, pbx)
        recording(db, pbx, callid, state="pending")
        wait_for(lambda: "not ready (try 1)" in first.output(), "a first failed try")
        first.kill()  # SIGKILL: whatever it held in memory is gone
    finally:
        first.stop()
    second = start(db, pbx, tmp_path, "second")
    try:
        rec = recording(db, pbx, callid)
        assert rec["attempts"] >= 1
        assert seconds_of(rec["audio"]) >= 1.0
        assert "recording of call %s stored" % callid in second.output()
    finally:
        second.stop()


# -- transcripts --------------------------------------------------------------------------

SAID = "Realtor: Hello Rita.\nCaller: Hi, is the house on Oak Lane still for sale?"
SUMMARY = "Rita asked whether the Oak Lane house is still for sale."


def transcript(db, pbx, callid, state="done", timeout=60):
    """The call's transcript fields once ``transcript_state`` is ``state``."""
    def read(env):
        call = env["threecx.call"].search([("server_id", "=", pbx.server_id),
                                           ("call_id", "=", str(callid))])
        if call.transcript_state != state:
            return None
        return {
            "text": call.transcript, "summary": call.transcript_summary,
            "sentiment": call.sentiment_score, "source": call.transcript_source,
            "error": call.transcript_error, "ask": call.transcript_ask, "id": call.id,
            "on_contact": [m.body for m in call.partner_id.message_ids
                           if m == call.transcript_message_id],
        }

    return wait_for(lambda: db.do(read), f"the transcript of call {callid} ({state})",
                    timeout=timeout)


def test_a_transcript_3cx_makes_lands_on_the_call_and_its_summary_on_the_contact(
        db, people, pbx, worker):
    # 3CX transcribes every recording by itself, 40 s of PBX time (2 s) after writing it.
    control(pbx, "config", {"transcription": "auto", "transcribe_delay": 40.0})
    callid = answered_call(db, pbx)
    control(pbx, "transcripts", {"callid": callid, "text": SAID, "summary": SUMMARY,
                                 "sentiment": 7})
    recording(db, pbx, callid)
    got = transcript(db, pbx, callid)
    assert (got["text"], got["summary"], got["sentiment"], got["source"], got["error"]) == (
        SAID, SUMMARY, 7, "threecx", False)
    assert len(got["on_contact"]) == 1 and SUMMARY in got["on_contact"][0]
    assert "transcript of call %s stored" % callid in worker.output()


def test_request_transcription_asks_3cx_and_the_transcript_lands_later(
        db, people, pbx, worker):
    # 3CX transcribes only what it is asked to; this server does not wait for 3CX's
    # transcripts by itself, so the realtor asks from the call.
    control(pbx, "config", {"transcription": "request", "transcribe_delay": 20.0})
    db.do(lambda env: env["threecx.server"].browse(pbx.server_id).write(
        {"transcripts_from_3cx": False}))
    callid = answered_call(db, pbx)
    rec = recording(db, pbx, callid)
    assert transcript(db, pbx, callid, state="none")["text"] is False

    def press(env):
        realtor = env["res.users"].browse(people["users"][0])
        env["threecx.call"].browse(rec["id"]).with_user(realtor).action_request_transcription()

    db.do(press)  # the HTTP request only queues it: nothing here talks to 3CX
    wait_for(lambda: "was asked to transcribe" in worker.output(), "the request to 3CX")
    got = transcript(db, pbx, callid)
    # The simulator's own recording audio, transcribed as 3CX's engine "hears" it.
    assert got["text"].startswith("Agent:") and "viewing" in got["summary"]
    assert (got["sentiment"], got["source"], got["ask"]) == (8, "threecx", False)
    assert got["on_contact"] and "viewing" in got["on_contact"][0]


def test_without_3cx_transcription_the_call_says_why_there_is_no_transcript(
        db, people, pbx, worker):
    callid = answered_call(db, pbx)  # 3CX's transcription is off, as by default
    recording(db, pbx, callid)
    quiet = transcript(db, pbx, callid, state="none")
    assert "transcription is off" in quiet["error"]

    def press(env):
        realtor = env["res.users"].browse(people["users"][0])
        env["threecx.call"].browse(quiet["id"]).with_user(realtor).action_request_transcription()

    db.do(press)
    failed = transcript(db, pbx, callid, state="failed")
    assert "transcription is off" in failed["error"] and failed["text"] is False


# -- transcripts made here ------------------------------------------------------------------

def spoken_call(db, pbx, tmp_path, clip):
    """An answered call whose recording says ``speech_clips.CLIPS[clip]`` (espeak-ng, 8 kHz
    phone audio); the words said."""
    import speech_clips  # espeak-ng and sox: make test installs them

    voice, text = speech_clips.CLIPS[clip]
    wav = tmp_path / "said.wav"
    speech_clips.speak(text, wav, voice)
    callid = answered_call(db, pbx)
    control(pbx, "transcripts", {"callid": callid, "text": "",
                                 "audio": base64.b64encode(wav.read_bytes()).decode()})
    return callid, text


def test_a_recording_3cx_does_not_transcribe_is_transcribed_here(db, people, pbx, worker,
                                                                 tmp_path):
    import speech_clips

    # 3CX's transcription is off (its default): "3CX, else this machine" falls back.
    db.do(lambda env: env["threecx.server"].browse(pbx.server_id).write(
        {"transcription_engine": "threecx_local"}))
    callid, said = spoken_call(db, pbx, tmp_path, 3)
    recording(db, pbx, callid)
    # The engine's first call loads the model (about 15 s on a loaded machine).
    got = transcript(db, pbx, callid, timeout=180)
    assert (got["source"], got["summary"], got["on_contact"]) == ("local", False, [])
    assert speech_clips.word_error_rate([(said, got["text"])]) < 0.35, got["text"]
    assert "transcript of call %s made here" % callid in worker.output()


def test_this_machine_transcribes_every_recording_and_3cx_is_not_asked(db, people, pbx,
                                                                       worker, tmp_path):
    import speech_clips

    control(pbx, "config", {"transcription": "auto", "transcribe_delay": 0.0})
    db.do(lambda env: env["threecx.server"].browse(pbx.server_id).write(
        {"transcription_engine": "local"}))
    callid, said = spoken_call(db, pbx, tmp_path, 20)
    recording(db, pbx, callid)
    got = transcript(db, pbx, callid, timeout=180)
    # Not 3CX's (which would be the empty text posted above, with its summary and sentiment).
    assert (got["source"], got["sentiment"]) == ("local", 0)
    assert speech_clips.word_error_rate([(said, got["text"])]) < 0.35, got["text"]
    assert "was asked to transcribe" not in worker.output()
