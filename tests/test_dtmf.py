# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""In-band DTMF: the worker's key tones and the simulator's detector agree, and nothing else
passes for a key."""

import array
import math
import random

import pytest

from realtor_3cx.threecx import dtmf


def tone(hz, seconds, level=9000):
    return array.array("h", (int(level * math.sin(2 * math.pi * hz * i / dtmf.RATE))
                             for i in range(int(seconds * dtmf.RATE)))).tobytes()


def chunked(pcm, size):
    detector = dtmf.Detector()
    return "".join(detector.feed(pcm[i : i + size]) for i in range(0, len(pcm), size))


@pytest.mark.parametrize("size", [320, 333, 1, 4096])
def test_every_key_is_heard_once_whatever_the_chunking(size):
    keys = "0123456789*#ABCD"
    pcm = bytes(74) + b"".join(dtmf.key_audio(key) for key in keys)  # not block-aligned
    assert chunked(pcm, size) == keys


def test_a_held_key_counts_once_and_a_repeated_key_twice():
    low, high = dtmf.frequencies("5")
    long_press = array.array("h", (a + b for a, b in zip(
        array.array("h", tone(low, 1, 6000)), array.array("h", tone(high, 1, 6000)),
        strict=True))).tobytes()
    assert chunked(long_press, 320) == "5"
    assert chunked(dtmf.key_audio("5") * 2, 320) == "55"


def test_a_key_mixed_with_a_quiet_voice_is_still_heard():
    rng = random.Random(7)
    key = array.array("h", dtmf.key_audio("7"))
    noisy = array.array("h", (max(-32768, min(32767, x + rng.randint(-1500, 1500))) for x in key))
    assert chunked(noisy.tobytes(), 320) == "7"


def test_single_tones_noise_and_silence_are_not_keys():
    assert chunked(tone(1000, 2), 320) == ""  # the test microphone's tone
    assert chunked(tone(697, 1), 320) == ""  # one of a key's two tones is not a key
    assert chunked(tone(440, 1, 1800), 320) == ""  # the hold beep
    rng = random.Random(3)
    noise = array.array("h", (rng.randint(-9000, 9000) for _ in range(dtmf.RATE))).tobytes()
    assert chunked(noise, 320) == ""
    assert chunked(bytes(dtmf.RATE * 2), 320) == ""


def test_a_key_is_a_tone_then_a_pause_in_whole_blocks():
    pcm = dtmf.key_audio("1")
    assert len(pcm) % (dtmf.BLOCK * 2) == 0
    samples = array.array("h", pcm)
    tone_samples = dtmf.TONE_MS * dtmf.RATE // 1000
    assert max(samples[:tone_samples]) > 10000 and max(map(abs, samples)) < 32768
    assert not any(samples[tone_samples:])


@pytest.mark.parametrize("bad", ["E", "", "12", "x", " "])
def test_anything_but_a_key_is_refused(bad):
    with pytest.raises(ValueError, match="not a DTMF key"):
        dtmf.key_audio(bad)
