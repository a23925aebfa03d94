# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""End to end: the worker's own transcription engine never hears a refused recording.

A real worker with the local engine, the simulator and the database, as in
test_worker_recordings.py (whose fixtures this reuses). A call whose caller refused to be
recorded, even with a transcript request left on it by any other path, is never handed to
the engine, while the next call is transcribed here as usual.
"""

from test_worker_recordings import (  # noqa: F401 - pytest fixtures, used by name
    answered_call,
    db,
    pbx,
    people,
    recording,
    spoken_call,
    transcript,
    worker,
)


def test_a_refused_recording_is_never_transcribed_here(db, people, pbx, worker, tmp_path):  # noqa: F811
    # The server transcribes on this machine, on request only: nothing is asked by itself.
    db.do(lambda env: env["threecx.server"].browse(pbx.server_id).write(
        {"transcription_engine": "local", "transcripts_from_3cx": False}))
    refused_id = answered_call(db, pbx)
    refused = recording(db, pbx, refused_id)

    def refuse_but_leave_a_request(env):
        # The refusal written straight into the row (a calling rule's consent, an import),
        # with a local transcript request still on it.
        env.cr.execute(
            "UPDATE threecx_call SET recording_consent = 'refused', transcript_state = "
            "'requested', transcript_local = TRUE, transcript_next_try = now() "
            "AT TIME ZONE 'UTC' WHERE id = %s", [refused["id"]])

    db.do(refuse_but_leave_a_request)
    # The next call, asked for as a realtor asks, is transcribed here: the engine is running.
    callid, said = spoken_call(db, pbx, tmp_path, 3)
    rec = recording(db, pbx, callid)

    def press(env):
        realtor = env["res.users"].browse(people["users"][0])
        env["threecx.call"].browse(rec["id"]).with_user(realtor).action_request_transcription()

    db.do(press)
    got = transcript(db, pbx, callid, timeout=180)
    assert got["source"] == "local" and got["text"]
    assert "transcript of call %s made here" % callid in worker.output()
    # The refused call: still no words, and the engine was never given its audio.
    never = transcript(db, pbx, refused_id, state="requested")
    assert (never["text"], never["summary"], never["source"]) == (False, False, False)
    assert f"transcript of call {refused_id} " not in worker.output()
