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

3CX's own transcripts: the simulator serves no ``Transcription`` yet, so 3CX's path is not
measured here (it says so); it is 3CX's engine, not this machine's CPU.
"""

import statistics
import tempfile
import time
from pathlib import Path

from realtor_3cx.worker.transcribe import Transcriber, default_threads, unavailable

from ..speech_clips import CLIPS, speak, word_error_rate
from .common import REPEATS

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
    # Not a figure: nothing to measure until the simulator's recordings carry a transcript.
    print("transcribe 3CX's path: not measured (the simulator serves no Transcription for its "
          "recordings yet)", flush=True)
