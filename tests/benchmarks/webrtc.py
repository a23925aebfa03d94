# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The WebRTC bridge: CPU per bridged call and the latency it adds.

Bridges run on the worker's media loop (``MediaLoop``) and pump threads, exactly as in the
worker; the "browsers" are aiortc peers on this process's main loop playing a 1 kHz tone; the
simulator (its own process) echoes. CPU per call is this process's CPU time while twenty
bridged calls run and their browsers run in other processes, so every thread of the bridges is
counted (aiortc decodes and encodes in threads of its own).

Latency, side by side, on one call: the round trip of a tone through the bridge and 3CX's echo,
against a plain WebRTC loopback (the browser peer to an aiortc peer that echoes its track, no
3CX, no resampling): half the difference is what the bridge and the PCM streams add one way.

With twenty calls the round trip is measured twice: with the twenty browsers in this process
(beside the bridges), and with them in four processes of their own, as real browsers are. The
first grows to seconds, the second does not: one Python process cannot run forty Opus peers in
real time (they share one interpreter lock), so the browsers' receive queues fall behind; the
bridges are not the cause.
"""

import asyncio
import multiprocessing
import statistics
import time

import requests
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay

from realtor_3cx.threecx.client import ThreecxClient
from realtor_3cx.worker.media import MediaLoop, StreamBridge

from ..webrtc_peer import ToneTrack, listen
from .client import SECRET, simulator

NAME = "webrtc"
CALLS = 20
PCM_BYTES_PER_S = 16000  # s16le, 8 kHz, mono
BROWSER_PROCESSES = 4
MEASURE_S = 10
TARGET_CALLS_PER_CORE = 20
TARGET_ADDED_MS = 60


def process_cpu():
    """CPU seconds this process has used, every thread counted: the bridges' media loop and
    pump threads, and aiortc's own decoder threads and encoder executor."""
    return time.process_time()


async def bridge_for(client, media, offer):
    """A call from the route point, bridged on the worker's media loop: (bridge, answer)."""
    leg = client.callcontrol.makecall("900", "+15550108501").participant
    holder = []

    async def start():
        holder.append(StreamBridge(client.callcontrol, "900", leg.id))
        return await holder[0].accept(offer)

    answer = await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(start(), media.loop))
    return holder[0], answer


async def bridged(client, media):
    browser, mic, received, stop = await peer()
    bridge, answer = await bridge_for(client, media, browser.localDescription.sdp)
    await browser.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return bridge, browser, mic, received, stop


def browsers_process(conn, count):
    """Run ``count`` browsers in a process of their own, driven through ``conn``: send the
    offers, take the answers, play the tone on cue, send back each round trip."""
    asyncio.run(_browsers(conn, count))


async def _browsers(conn, count):
    peers = [await peer() for _ in range(count)]
    conn.send([browser.localDescription.sdp for browser, *_ in peers])
    answers = await asyncio.to_thread(conn.recv)
    for (browser, *_), answer in zip(peers, answers, strict=True):
        await browser.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    await asyncio.to_thread(conn.recv)  # the cue
    for _browser, mic, _received, _stop in peers:
        mic.tone_at = time.monotonic()
    await asyncio.sleep(MEASURE_S)
    conn.send([round_trip(mic, received) for _browser, mic, received, _stop in peers])
    for browser, _mic, _received, stop in peers:
        stop.set()
        await browser.close()


async def apart(client, media):
    """Twenty bridged calls whose browsers run in other processes: (round trips, cores)."""
    context = multiprocessing.get_context("spawn")
    groups = []
    for _ in range(BROWSER_PROCESSES):
        ours, theirs = context.Pipe()
        process = context.Process(target=browsers_process,
                                  args=(theirs, CALLS // BROWSER_PROCESSES), daemon=True)
        process.start()
        groups.append((process, ours))
    bridges = []
    for _process, conn in groups:
        answers = []
        for offer in await asyncio.to_thread(conn.recv):
            bridge, answer = await bridge_for(client, media, offer)
            bridges.append(bridge)
            answers.append(answer)
        conn.send(answers)
    await asyncio.sleep(2)
    # The browsers are elsewhere now: everything this process burns is the bridges'.
    before = process_cpu()
    wall = time.monotonic()
    start = [(b.stats["from_pbx_bytes"], b.stats["to_pbx_bytes"], b.to_browser.late_frames)
             for b in bridges]
    for _process, conn in groups:
        conn.send("tone")
    trips = []
    for _process, conn in groups:
        trips += await asyncio.to_thread(conn.recv)
    elapsed = time.monotonic() - wall
    cores = (process_cpu() - before) / elapsed
    # How much of real time each direction carried: 3CX to the browsers through the bridges,
    # and the browsers to 3CX (what the test browsers managed to produce).
    flow = {
        "down": sum(b.stats["from_pbx_bytes"] - s[0] for b, s in zip(bridges, start, strict=True))
        / (len(bridges) * elapsed * PCM_BYTES_PER_S) * 100,
        "up": sum(b.stats["to_pbx_bytes"] - s[1] for b, s in zip(bridges, start, strict=True))
        / (len(bridges) * elapsed * PCM_BYTES_PER_S) * 100,
        "late": sum(b.to_browser.late_frames - s[2] for b, s in zip(bridges, start, strict=True)),
    }
    for process, _conn in groups:
        await asyncio.to_thread(process.join, 30)
    flow["dropped"] = sum(bridge.stats["late_dropped"] for bridge in bridges)
    for bridge in bridges:
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(bridge.close(), media.loop))
    return trips, cores, flow


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

    # Twenty calls, their browsers in this process: for comparison only.
    calls = [await bridged(client, media) for _ in range(CALLS)]
    await asyncio.sleep(2)
    for _bridge, _browser, mic, _received, _stop in calls:
        mic.tone_at = time.monotonic()
    await asyncio.sleep(MEASURE_S)
    together = [round_trip(mic, received) for _bridge, _browser, mic, received, _stop in calls]
    for bridge, browser, _mic, _received, stop in calls:
        stop.set()
        await browser.close()
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(bridge.close(), media.loop))

    trips, cores, flow = await apart(client, media)
    client.close()
    return reference, single, together, trips, cores, flow


def run(bench):
    with simulator(extra=["--audio", "echo"]) as url:
        reference, single, together, trips, cores, flow = asyncio.run(measure(url))
        time.sleep(1)  # the last bridges' streams closing
        stats = requests.get(f"{url}/_sim/stats", timeout=10).json()
    left_open = stats["open_streams"]
    backlog = max((s.get("echo_backlog_ms", 0) for s in stats["streams"].values()), default=0)
    dropped = sum(s.get("echo_dropped_ms", 0) for s in stats["streams"].values())
    lost = [t for t in trips if t is None]
    trips = [t for t in trips if t is not None]
    together = [t for t in together if t is not None]
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
    bench.figure(f"webrtc round trip with {CALLS} calls, browsers in their own processes "
                 "(median)", round(statistics.median(trips)) if trips else None, "ms")
    # The same twenty calls with the browsers beside the bridges: the explanation of the
    # figure above it, reported, not judged.
    bench.figure(f"webrtc round trip with {CALLS} calls, browsers in the bridges' process "
                 "(median)", round(statistics.median(together)) if together else None, "ms")
    bench.figure(f"webrtc audio from 3CX the bridges passed on ({CALLS} calls)",
                 round(flow["down"], 1), "% of real time", target=">= 99", met=flow["down"] >= 99)
    bench.figure(f"webrtc silence the bridges played for want of 3CX audio ({CALLS} calls)",
                 flow["late"] * 20, "ms")
    bench.figure(f"webrtc browser audio the bridges dropped as late ({CALLS} calls)",
                 flow["dropped"] * 20, "ms")
    # When the test browsers cannot make their audio in real time (twenty aiortc peers on a
    # small machine), the round trip above measures them: this says whether they could.
    bench.figure(f"webrtc audio the test browsers produced ({CALLS} calls)",
                 round(flow["up"], 1), "% of real time")
    bench.figure("webrtc most audio 3CX's echo held for one call", backlog, "ms")
    bench.figure("webrtc audio 3CX's echo dropped (arrived late or before it listened)",
                 dropped, "ms")
    bench.figure("webrtc audio streams left open at 3CX after every bridge closed", left_open,
                 "streams", target="0", met=left_open == 0)
    bench.figure(f"webrtc calls that heard their tone back ({CALLS} concurrent)",
                 len(trips), f"of {CALLS}")
