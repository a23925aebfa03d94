# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Local transcription (realtor_3cx/worker/transcribe.py): speed and word error rate.

The clips are made here, every run, from known text (tests/speech_clips.py): espeak-ng speaks
each of its realtor-style sentences, sox turns it into what 3CX records (8 kHz mono, the
telephone band). The engine runs as the worker runs it: a :class:`Transcriber`, in a process
of its own, one recording at a time.

Speed is audio seconds per CPU second: the clips' length over the CPU time the engine's
process spent on them, every thread counted (Whisper's model load excluded: it happens once
per worker). Above 1, one core keeps up with the calls. The wall time is printed beside it:
on a shared machine it is the one that grows with the load. Word error rate: all the word
edits over all the reference words, over the whole set (references and transcripts
normalised alike: case, punctuation, digits spelt). Whisper's beam search is deterministic,
so the three runs give the same words; the speed is the median of the three. Beside it, the
word error rate of the same sentences and voices at 16 kHz in the whole band, as a microphone
records them: what the telephone line costs, against what espeak-ng's voice costs.

3CX's own transcripts are 3CX's engine, not this machine's CPU: what is measured of 3CX's path
is this product's overhead, from the hang-up to the summary shown in the realtor's outcome
prompt (:func:`hangup_to_summary`).
"""

import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from realtor_3cx.worker.transcribe import Transcriber, default_threads, unavailable

from ..browser_env import PASSWORD, chromium_path, login, odoo_server
from ..speech_clips import CLIPS, speak, word_error_rate
from ..threecx_sim import SECRET, running_simulator
from ..worker_env import Worker
from .client import control
from .common import REPEATS, median_of_runs, quantile
from .popup import BenchDb

NAME = "transcribe"
MIN_CLIPS = 20
TARGET_SPEED = 1.0  # audio seconds per CPU second: one core keeps up with the calls


def run(bench):
    missing = unavailable()
    if missing:
        raise RuntimeError(missing)
    assert len(CLIPS) >= MIN_CLIPS
    with tempfile.TemporaryDirectory(prefix="r3cx-transcribe-") as tmp:
        clips = []
        for i, (voice, text) in enumerate(CLIPS):
            path = Path(tmp) / f"clip{i:02d}.wav"
            seconds = speak(text, path, voice)
            clips.append((text, path.read_bytes(), seconds))
        audio_s = sum(seconds for _text, _data, seconds in clips)
        print(f"{len(clips)} clips spoken by espeak-ng, 8 kHz mono, {audio_s:.1f} s of audio "
              f"in all; engine threads: {default_threads()}", flush=True)
        with Transcriber() as engine:
            started = time.monotonic()
            engine.submit(clips[0][1]).result()  # the model loads: once per worker
            load_s = time.monotonic() - started
            runs = []
            for repeat in range(REPEATS):
                wall = time.monotonic()
                transcripts = [engine.submit(data).result() for _text, data, _s in clips]
                wall = time.monotonic() - wall
                runs.append((transcripts, wall))
                print(f"run {repeat + 1}: {sum(t.cpu_seconds for t in transcripts):.1f} CPU s, "
                      f"{wall:.1f} s wall", flush=True)
            # The same sentences and voices in the whole band at 16 kHz, once: how many of
            # the errors are the telephone line's, how many the synthetic voice's.
            wideband = []
            for i, (voice, text) in enumerate(CLIPS):
                path = Path(tmp) / f"wide{i:02d}.wav"
                speak(text, path, voice, phone=False)
                wideband.append((text, engine.submit(path.read_bytes()).result().text))
    first = runs[0][0]
    for (text, _data, _s), transcript in zip(clips, first, strict=True):
        print(f"  said: {text}\n  got:  {transcript.text}")
    speeds = [audio_s / sum(t.cpu_seconds for t in transcripts) for transcripts, _w in runs]
    realtime = [audio_s / wall for _t, wall in runs]
    speed = statistics.median(speeds)
    wer = word_error_rate([(text, t.text) for (text, _d, _s), t in zip(clips, first, strict=True)])
    same = all([t.text for t in transcripts] == [t.text for t in first] for transcripts, _w in runs)
    model = first[0].model
    bench.figure(f"transcribe local ({model}) speed, {len(clips)} phone clips", round(speed, 2),
                 "audio s per CPU s", target=f">= {TARGET_SPEED:g}", met=speed >= TARGET_SPEED,
                 runs=[round(s, 2) for s in speeds])
    bench.figure(f"transcribe local ({model}) audio s per wall s, this machine's load",
                 round(statistics.median(realtime), 2), "x real time",
                 runs=[round(r, 2) for r in realtime])
    bench.figure(f"transcribe local ({model}) word error rate, {len(clips)} espeak-ng 8 kHz clips",
                 round(100 * wer, 1), "%" if same else "% (the runs' words differed: run 1)")
    bench.figure(f"transcribe local ({model}) word error rate, the same clips at 16 kHz, "
                 "whole band (reference)", round(100 * word_error_rate(wideband), 1), "%")
    bench.figure(f"transcribe local ({model}) model load and first clip", round(load_s, 1), "s")
    hangup_to_summary(bench)


# -- 3CX's path: from the hang-up to the summary shown -----------------------------------------

SUMMARY_SAMPLES = 5  # per run: each waits for the worker's polls (seconds), not milliseconds
# The page stamps the moment the prompt's summary holds the call's (a textarea's value is no
# DOM mutation an observer sees: polled every frame).
SUMMARY_SHOWN = """(said) => {
    const box = document.querySelector('.o_realtor_3cx_outcome_summary');
    return box && box.value === said && Date.now();
}"""


def hangup_to_summary(bench):
    """Seconds from the caller's hang-up to 3CX's summary in the realtor's outcome prompt.

    The simulator, the worker, Odoo and Chromium, all real; 3CX writes the recording and its
    transcript at once (``recording_delay`` and ``transcribe_delay`` 0), so the figure is this
    product's: the worker's end of the call, its look for the recording (every 2 s), the
    download, its look for the transcript (every 2 s), the bus and the page.
    """
    logs = Path(tempfile.mkdtemp(prefix="r3cx-summary-"))
    with running_simulator(speed=1.0, transcription="auto", transcribe_delay=0.0,
                           recording_delay=0.0) as sim:
        with bench.cursor() as cr:
            env = bench.env(cr)
            env.company.country_id = env.ref("base.us")
            realtor = env["res.users"].create({
                "name": "Bench Debrief", "login": f"bench_debrief_{int(time.time())}",
                "password": PASSWORD, "tz": "UTC", "groups_id": [(6, 0, [
                    env.ref("base.group_user").id,
                    env.ref("realtor_3cx.realtor_3cx_group_user").id])]})
            server = env["threecx.server"].create({
                "name": "Debrief bench PBX", "base_url": sim.url, "client_id": "900",
                "api_secret": SECRET, "record_calls": True})
            env["threecx.extension"].create(
                {"server_id": server.id, "number": "101", "user_id": realtor.id})
            env["res.partner"].create({"name": "Bench Debriefed", "phone": "+15550108701"})
            cr.commit()
            login_name, server_id = realtor.login, server.id
        worker = Worker(BenchDb(bench), server_id, logs / "worker.log")
        try:
            with odoo_server(bench.conf, bench.db, logs / "odoo.log") as url, \
                    sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium_path(),
                                             args=["--no-sandbox"])
                page = browser.new_page()
                login(page, url, login_name)
                page.wait_for_selector(".o_realtor_3cx_systray", timeout=30000)
                runs = [[] for _ in range(REPEATS)]
                for n in range(REPEATS * SUMMARY_SAMPLES):
                    said = f"Bench caller {n} wants a viewing on Saturday."
                    callid = control(sim.url, "calls/inbound", {
                        "from": "+15550108701", "to": "101", "ring_seconds": 600})["callid"]
                    page.wait_for_selector(".o_realtor_3cx_popup[data-call-id]", timeout=10000)
                    control(sim.url, f"calls/{callid}/answer", {"dn": "101"})
                    page.wait_for_selector(".o_realtor_3cx_popup[data-state=connected]",
                                           timeout=10000)
                    control(sim.url, "transcripts", {"callid": callid, "text": f"Caller: {said}",
                                                     "summary": said, "sentiment": 7})
                    hung_up = time.time() * 1000
                    control(sim.url, f"calls/{callid}/hangup", {"side": "caller"})
                    shown = page.wait_for_function(SUMMARY_SHOWN, arg=said, polling="raf",
                                                   timeout=60000).json_value()
                    runs[n // SUMMARY_SAMPLES].append((shown - hung_up) / 1000)
                    page.click(".o_realtor_3cx_outcome_skip")
                    page.wait_for_selector(".o_realtor_3cx_outcome_panel", state="detached",
                                           timeout=10000)
                browser.close()
        finally:
            worker.stop()
    # quantile() answers in milliseconds: these are seconds.
    p50, p50s = median_of_runs(runs, lambda run: quantile(run, 0.5) / 1000)
    bench.figure("transcribe 3CX's path hang-up -> summary shown in the outcome prompt p50 "
                 "(simulator's transcription delay 0: this product's overhead)", round(p50, 2),
                 "s", runs=[round(v, 2) for v in p50s])
    every = [t for run in runs for t in run]
    bench.figure(f"transcribe 3CX's path hang-up -> summary shown, max of {len(every)}",
                 round(max(every), 2), "s")
