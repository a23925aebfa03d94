# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The WebRTC bridge: CPU per bridged call and the latency it adds.

Bridges run on the worker's media loop (``MediaLoop``) and pump threads, exactly as in the
worker; the "browsers" are aiortc peers on this process's main loop playing a 1 kHz tone; the
simulator (its own process) echoes. CPU is read per thread from /proc, so the bridges' share is
measured apart from the browsers'.

Latency, side by side, on one call: the round trip of a tone through the bridge and 3CX's echo,
against a plain WebRTC loopback (the browser peer to an aiortc peer that echoes its track, no
3CX, no resampling): half the difference is what the bridge and the PCM streams add one way.
With twenty calls the round trip grows because this process also plays the twenty browsers;
that figure is printed for information (the bridges' CPU share is measured per thread).
"""

import asyncio
import os
import statistics
import threading
import time

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay

from realtor_3cx.threecx.client import ThreecxClient
from realtor_3cx.worker.media import MediaLoop, StreamBridge

from ..webrtc_peer import ToneTrack, listen
from .client import SECRET, simulator

NAME = "webrtc"
CALLS = 20
MEASURE_S = 10
TARGET_CALLS_PER_CORE = 20
TARGET_ADDED_MS = 60
TICKS = os.sysconf("SC_CLK_TCK")


def thread_cpu(names):
    """CPU seconds used so far by this process's threads whose name starts with ``names``."""
    wanted = {t.native_id for t in threading.enumerate() if t.name.startswith(names)}
    total = 0
    for tid in wanted:
        try:
            with open(f"/proc/self/task/{tid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / TICKS


async def bridged(client, media):
    leg = client.callcontrol.makecall("900", "+15550108501").participant
    holder = []

    async def start(offer):
        holder.append(StreamBridge(client.callcontrol, "900", leg.id))
        return await holder[0].accept(offer)

    browser, mic, received, stop = await peer()
    answer = await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(
        start(browser.localDescription.sdp), media.loop))
    await browser.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return holder[0], browser, mic, received, stop


async def peer():
    browser = RTCPeerConnection()
    mic = ToneTrack()
    browser.addTrack(mic)
    received, stop = [], asyncio.Event()
    browser.on("track", lambda track: asyncio.ensure_future(listen(track, received, stop)))
    await browser.setLocalDescription(await browser.createOffer())
    return browser, mic, received, stop


async def loopback():
    """The naive reference: WebRTC straight back to the browser, nothing in between."""
    relay = MediaRelay()
    echo = RTCPeerConnection()
    echo.on("track", lambda track: echo.addTrack(relay.subscribe(track)))
    browser, mic, received, stop = await peer()
    await echo.setRemoteDescription(browser.localDescription)
    await echo.setLocalDescription(await echo.createAnswer())
    await browser.setRemoteDescription(echo.localDescription)
    return echo, browser, mic, received, stop


def round_trip(mic, received):
    heard = [t for t, level, peak in received if t > mic.tone_at and level > 0.5 and peak > 1000]
    return (heard[0] - mic.tone_at) * 1000 if heard else None


async def measure(url):
    client = ThreecxClient(url, "900", SECRET)
    media = MediaLoop.get()
    echo, browser, mic, received, stop = await loopback()
    await asyncio.sleep(1.5)
    mic.tone_at = time.monotonic()
    await asyncio.sleep(1.5)
    reference = round_trip(mic, received)
    stop.set()
    await browser.close()
    await echo.close()

    # The bridge's own latency: one call, nothing else running.
    bridge, browser, mic, received, stop = await bridged(client, media)
    await asyncio.sleep(3)
    mic.tone_at = time.monotonic()
    await asyncio.sleep(1.5)
    single = round_trip(mic, received)
    stop.set()
    await browser.close()
    await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(bridge.close(), media.loop))

    calls = [await bridged(client, media) for _ in range(CALLS)]
    await asyncio.sleep(2)
    before = thread_cpu(("media-loop", "bridge-"))
    wall = time.monotonic()
    for _bridge, _browser, mic, _received, _stop in calls:
        mic.tone_at = time.monotonic()
    await asyncio.sleep(MEASURE_S)
    cpu = thread_cpu(("media-loop", "bridge-")) - before
    elapsed = time.monotonic() - wall
    trips = [round_trip(mic, received) for _bridge, _browser, mic, received, _stop in calls]
    for bridge, browser, _mic, _received, stop in calls:
        stop.set()
        await browser.close()
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(bridge.close(), media.loop))
    client.close()
    return reference, single, trips, cpu / elapsed


def run(bench):
    with simulator(extra=["--audio", "echo"]) as url:
        reference, single, trips, cores = asyncio.run(measure(url))
    lost = [t for t in trips if t is None]
    trips = [t for t in trips if t is not None]
    per_call = cores / CALLS * 100
    bench.figure(f"webrtc bridge CPU per call ({CALLS} concurrent calls)", round(per_call, 2),
                 "% of a core")
    calls_per_core = 100 / per_call if per_call else float("inf")
    bench.figure("webrtc bridged calls per core", round(calls_per_core, 1), "calls",
                 target=f">= {TARGET_CALLS_PER_CORE}", met=calls_per_core >= TARGET_CALLS_PER_CORE
                 and not lost)
    bench.figure("webrtc round trip through the bridge and 3CX's echo, one call", round(single),
                 "ms")
    bench.figure("webrtc round trip, plain WebRTC loopback (naive reference)", round(reference),
                 "ms")
    added = (single - reference) / 2  # the round trip crosses the bridge twice
    bench.figure("webrtc latency the bridge and the PCM streams add, one way", round(added), "ms",
                 target=f"< {TARGET_ADDED_MS} ms", met=added < TARGET_ADDED_MS)
    # With all twenty, this process also runs the twenty "browsers" (Opus both ways, tone
    # analysis): the figure mixes both sides' load and is reported, not judged.
    bench.figure(f"webrtc round trip with {CALLS} calls, browsers in the same process (median)",
                 round(statistics.median(trips)), "ms")
    bench.figure(f"webrtc calls that heard their tone back ({CALLS} concurrent)",
                 len(trips), f"of {CALLS}")
