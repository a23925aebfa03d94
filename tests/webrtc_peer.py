# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A "browser" for WebRTC tests: an aiortc microphone that plays a tone on cue, and an ear
that measures how much of that tone comes back (Goertzel), frame by frame."""

import array
import asyncio
import fractions
import math
import struct
import time

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from realtor_3cx.worker.media import drop_backlog

TONE_HZ = 1000
RATE = 48000
FRAME = 960  # 20 ms at 48 kHz


class ToneTrack(MediaStreamTrack):
    """A microphone that is silent until ``tone_at``, then plays a 1 kHz tone."""

    kind = "audio"
    # 20 ms at 48 kHz is exactly twenty periods of 1 kHz: every tone frame is the same.
    TONE = struct.pack(f"<{FRAME}h", *(int(8000 * math.sin(2 * math.pi * TONE_HZ * i / RATE))
                                       for i in range(FRAME)))
    SILENCE = bytes(FRAME * 2)

    def __init__(self):
        super().__init__()
        self.tone_at = None
        self._pts = 0
        self._start = None

    async def recv(self):
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._pts += FRAME
            await asyncio.sleep(max(0, self._start + self._pts / RATE - time.monotonic()))
        loud = self.tone_at is not None and time.monotonic() >= self.tone_at
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME)
        frame.planes[0].update(self.TONE if loud else self.SILENCE)
        frame.sample_rate = RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, RATE)
        return frame


def tone_level(pcm, rate, hz):
    """Goertzel power at ``hz`` relative to the signal's power (0..1)."""
    n = len(pcm)
    if not n:
        return 0.0
    coeff = 2 * math.cos(2 * math.pi * hz / rate)
    s1 = s2 = 0.0
    for x in pcm:
        s1, s2 = x + coeff * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    total = sum(x * x for x in pcm) or 1.0
    return power / (total * n / 2)


async def listen(track, results, stop):
    """Record (arrival time, 1 kHz level, peak) for each received frame."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    while not stop.is_set():
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        # As a browser's jitter buffer would (aiortc queues decoded frames without bound).
        drop_backlog(track)
        for out in resampler.resample(frame):
            pcm = array.array("h", bytes(out.planes[0])[: out.samples * 2])
            peak = max(max(pcm, default=0), -min(pcm, default=0))
            # Silence needs no spectrum; 5 ms of a loud frame tell 1 kHz from anything else.
            level = tone_level(pcm[:240], RATE, TONE_HZ) if peak > 500 else 0.0
            results.append((time.monotonic(), level, peak))
