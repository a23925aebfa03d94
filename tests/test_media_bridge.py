# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The WebRTC bridge with real audio: an aiortc peer plays a tone, 3CX (the simulator) echoes it
through the participant streams, the tone comes back over WebRTC; latency measured."""

import asyncio
import fractions
import math
import struct
import time

import av
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from threecx_sim import SECRET, control, running_simulator, wait_for

from realtor_3cx.threecx.client import ThreecxClient
from realtor_3cx.worker.media import StreamBridge

TONE_HZ = 1000
RATE = 48000
FRAME = 960  # 20 ms at 48 kHz


class ToneTrack(MediaStreamTrack):
    """A microphone that is silent until ``tone_at``, then plays a 1 kHz tone."""

    kind = "audio"

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
        samples = [int(8000 * math.sin(2 * math.pi * TONE_HZ * (self._pts + i) / RATE))
                   if loud else 0 for i in range(FRAME)]
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME)
        frame.planes[0].update(struct.pack(f"<{FRAME}h", *samples))
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
    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    while not stop.is_set():
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        for out in resampler.resample(frame):
            pcm = struct.unpack(f"<{out.samples}h", bytes(out.planes[0])[: out.samples * 2])
            results.append((time.monotonic(), tone_level(pcm, RATE, TONE_HZ),
                            max(abs(x) for x in pcm) if pcm else 0))


async def bridged_call(sim, client):
    leg = client.callcontrol.makecall("900", "+15550108501").participant
    await asyncio.to_thread(wait_for, lambda: client.callcontrol.participant(
        "900", leg.id).status == "Connected", "the far end to answer")
    bridge = StreamBridge(client.callcontrol, "900", leg.id)
    browser = RTCPeerConnection()
    mic = ToneTrack()
    browser.addTrack(mic)
    received, stop = [], asyncio.Event()
    browser.on("track", lambda track: asyncio.ensure_future(listen(track, received, stop)))
    await browser.setLocalDescription(await browser.createOffer())
    answer = await bridge.accept(browser.localDescription.sdp)
    await browser.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return leg, bridge, browser, mic, received, stop


def test_a_tone_goes_through_3cx_and_comes_back_with_its_latency():
    async def scenario(sim):
        client = ThreecxClient(sim.url, "900", SECRET)
        leg, bridge, browser, mic, received, stop = await bridged_call(sim, client)
        await asyncio.sleep(1.5)  # ICE, DTLS, the first frames
        silent = [level for _t, level, peak in received if peak > 500]
        mic.tone_at = time.monotonic()
        await asyncio.sleep(1.5)
        heard = [(t, level) for t, level, peak in received
                 if t > mic.tone_at and level > 0.5 and peak > 1000]
        stop.set()
        await browser.close()
        await bridge.close()
        client.close()
        return leg, bridge, silent, heard, mic.tone_at

    with running_simulator(audio="echo") as sim:
        leg, bridge, silent, heard, tone_at = asyncio.run(scenario(sim))
        assert not silent, "the echo carried a tone before the microphone played one"
        assert heard, "the 1 kHz tone never came back through 3CX"
        latency_ms = (heard[0][0] - tone_at) * 1000
        assert latency_ms < 1000, latency_ms
        print(f"round trip through the bridge and 3CX: {latency_ms:.0f} ms")
        assert bridge.stats["to_pbx_bytes"] > 16000 and bridge.stats["from_pbx_bytes"] > 16000
        assert not bridge.alive  # no peer, thread or stream left behind
        figures = control(sim, "stats", method="GET")["streams"][str(leg.id)]
        assert figures["odd_chunks"] == 0


def test_the_far_end_hanging_up_tears_the_bridge_down():
    async def scenario(sim):
        client = ThreecxClient(sim.url, "900", SECRET)
        leg, bridge, browser, mic, received, stop = await bridged_call(sim, client)
        await asyncio.sleep(1.0)
        control(sim, f"calls/{leg.callid}/hangup", {"side": "callee"})
        await asyncio.sleep(0.5)
        await bridge.close()  # what the worker does on the call's Remove
        stop.set()
        await browser.close()
        client.close()
        return bridge

    with running_simulator(audio="echo") as sim:
        bridge = asyncio.run(scenario(sim))
        assert not bridge.alive
