# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The WebRTC bridge with real audio: an aiortc peer plays a tone, 3CX (the simulator) echoes it
through the participant streams, the tone comes back over WebRTC; latency measured."""

import asyncio
import contextlib
import threading
import time

from aiortc import RTCPeerConnection, RTCSessionDescription
from threecx_sim import SECRET, control, running_simulator, wait_for
from webrtc_peer import ToneTrack, listen

from realtor_3cx.threecx.client import ThreecxClient
from realtor_3cx.worker.media import StreamBridge


async def open_streams(sim, count, what):
    """Wait until the simulator counts ``count`` open audio streams."""
    await asyncio.to_thread(
        wait_for, lambda: control(sim, "stats", method="GET")["open_streams"] == count, what)


async def until(predicate, what, timeout=10.0):
    """Poll ``predicate`` on the event loop (aiortc runs there) until it is true."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


async def flowing(browser, received, frames=25):
    """ICE and DTLS done, and the far end's audio arriving (``frames`` of 20 ms)."""
    start = len(received)
    await until(lambda: browser.connectionState == "connected"
                and len(received) >= start + frames, "ICE, DTLS and the first audio frames")


def bridge_threads(leg):
    return [t.name for t in threading.enumerate() if t.name.startswith(f"bridge-{leg.id}-")]


async def bridged_call(sim, client, channel=None):
    leg = client.callcontrol.makecall("900", "+15550108501").participant
    await asyncio.to_thread(wait_for, lambda: client.callcontrol.participant(
        "900", leg.id).status == "Connected", "the far end to answer")
    bridge = StreamBridge(client.callcontrol, "900", leg.id)
    browser = RTCPeerConnection()
    mic = ToneTrack()
    browser.addTrack(mic)
    received, stop = [], asyncio.Event()
    browser.on("track", lambda track: asyncio.ensure_future(listen(track, received, stop)))
    if channel is not None:  # the softphone's control channel, as the browser opens it
        channel.append(browser.createDataChannel("control"))
    await browser.setLocalDescription(await browser.createOffer())
    answer = await bridge.accept(browser.localDescription.sdp)
    await browser.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return leg, bridge, browser, mic, received, stop


def test_a_tone_goes_through_3cx_and_comes_back_with_its_latency():
    async def scenario(sim):
        client = ThreecxClient(sim.url, "900", SECRET)
        leg, bridge, browser, mic, received, stop = await bridged_call(sim, client)
        await flowing(browser, received)
        silent = [level for _t, level, peak in received if peak > 500]
        mic.tone_at = time.monotonic()

        def heard():
            return [(t, level) for t, level, peak in received
                    if t > mic.tone_at and level > 0.5 and peak > 1000]

        with contextlib.suppress(AssertionError):  # asserted below, with the figures
            await until(heard, "the tone to come back", timeout=3)
        await until(lambda: min(bridge.stats["to_pbx_bytes"], bridge.stats["from_pbx_bytes"])
                    > 16000, "a second of audio each way")
        stop.set()
        await browser.close()
        await bridge.close()
        client.close()
        return leg, bridge, silent, heard(), mic.tone_at

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


def test_keys_and_hold_travel_in_band_and_bad_control_messages_change_nothing():
    def window(received, since, until):
        return [(level, peak) for t, level, peak in received if since < t < until]

    async def scenario(sim):
        client = ThreecxClient(sim.url, "900", SECRET)
        channel = []
        leg, bridge, browser, mic, received, stop = await bridged_call(sim, client, channel)
        await until(lambda: channel[0].readyState == "open", "the control channel")
        await flowing(browser, received)
        channel[0].send('{"dtmf": "15#"}')
        await asyncio.to_thread(wait_for, lambda: control(
            sim, f"calls/{leg.callid}", method="GET")["heard_dtmf"] == "15#", "the keys heard")
        for bad in ("nonsense", '{"dtmf": "x"}', '{"hold": "yes"}', '["hold"]',
                    '{"dtmf": "' + "1" * 300 + '"}'):
            channel[0].send(bad)
        mic.tone_at = time.monotonic()
        # Each phase lasts 1.5 s: what it must not contain is looked for over all of it.
        await asyncio.sleep(1.5)
        talking = time.monotonic()
        channel[0].send('{"hold": true}')
        await asyncio.sleep(1.5)
        held = time.monotonic()
        channel[0].send('{"hold": false}')
        await asyncio.sleep(1.5)
        back = time.monotonic()
        stop.set()
        await browser.close()
        await bridge.close()
        client.close()
        return bridge, received, (mic.tone_at, talking, held, back)

    with running_simulator(audio="echo") as sim:
        bridge, received, (tone_at, talking, held, back) = asyncio.run(scenario(sim))
    assert bridge.stats["keys"] == "15#" and bridge.stats["bad_control"] == 5
    assert any(level > 0.5 for level, _peak in window(received, tone_at, talking)), \
        "the microphone's tone did not come back before the hold"
    # Half a second for the hold to reach 3CX and come back; then only the quiet beep, which
    # starts as the hold does.
    on_hold = window(received, talking + 0.5, held)
    assert not any(level > 0.5 for level, _peak in on_hold), "the microphone leaked on hold"
    assert any(300 < peak < 2500 for _level, peak in window(received, talking, held)), \
        "no hold beep"
    assert any(level > 0.5 for level, _peak in window(received, held + 0.5, back)), \
        "the microphone did not come back after the hold"


def test_the_far_end_hanging_up_tears_the_bridge_down_by_itself():
    """3CX ends the far end's audio when the callee hangs up: the bridge closes the browser's
    peer, its other stream and its threads without being told (the worker's own close on the
    call's Remove then finds nothing left to do)."""
    async def scenario(sim):
        client = ThreecxClient(sim.url, "900", SECRET)
        leg, bridge, browser, mic, received, stop = await bridged_call(sim, client)
        await flowing(browser, received)
        await open_streams(sim, 2, "both audio streams open at 3CX")
        assert bridge_threads(leg) and bridge.alive
        control(sim, f"calls/{leg.callid}/hangup", {"side": "callee"})
        await until(lambda: not bridge.alive, "the bridge to close itself")
        await until(lambda: browser.connectionState == "closed", "the browser's peer to close")
        await open_streams(sim, 0, "3CX's audio streams to be released")
        threads = bridge_threads(leg)
        stop.set()
        await browser.close()
        client.close()
        return bridge, threads

    with running_simulator(audio="echo") as sim:
        bridge, threads = asyncio.run(scenario(sim))
    assert bridge.closed.is_set() and threads == []


def test_the_browser_hanging_up_tears_the_bridge_down_by_itself():
    """The realtor's browser closes its peer (tab closed, hang-up): the bridge notices, stops
    both 3CX streams and its threads; the 3CX leg is the worker's to drop."""
    async def scenario(sim):
        client = ThreecxClient(sim.url, "900", SECRET)
        leg, bridge, browser, mic, received, stop = await bridged_call(sim, client)
        await flowing(browser, received)
        await open_streams(sim, 2, "both audio streams open at 3CX")
        stop.set()
        await browser.close()
        await until(lambda: not bridge.alive, "the bridge to close itself", timeout=30)
        await open_streams(sim, 0, "3CX's audio streams to be released")
        threads = bridge_threads(leg)
        client.close()
        return bridge, threads

    with running_simulator(audio="echo") as sim:
        bridge, threads = asyncio.run(scenario(sim))
    assert bridge.closed.is_set() and threads == []


def rss_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def test_ten_concurrent_bridged_calls_without_errors_or_memory_growth():
    async def round_of_calls(sim, client):
        calls = await asyncio.gather(*(bridged_call(sim, client) for _ in range(10)))
        for _leg, _bridge, browser, _mic, received, _stop in calls:
            await flowing(browser, received)
        for _leg, _bridge, _browser, mic, _received, _stop in calls:
            mic.tone_at = time.monotonic()

        def heard():
            return [any(t > mic.tone_at and level > 0.5 and peak > 1000
                        for t, level, peak in received)
                    for _leg, _bridge, _browser, mic, received, _stop in calls]

        with contextlib.suppress(AssertionError):  # asserted below, call by call
            await until(lambda: all(heard()), "every call's tone to come back", timeout=5)
        heard = heard()
        for _leg, bridge, browser, _mic, _received, stop in calls:
            stop.set()
            await browser.close()
            await bridge.close()
        return heard, [bridge for _leg, bridge, *_ in calls]

    async def scenario(sim):
        client = ThreecxClient(sim.url, "900", SECRET)
        first, _ = await round_of_calls(sim, client)
        after_first = rss_mb()
        second, bridges = await round_of_calls(sim, client)
        after_second = rss_mb()
        client.close()
        return first, second, after_first, after_second, bridges

    with running_simulator(audio="echo") as sim:
        first, second, after_first, after_second, bridges = asyncio.run(scenario(sim))
    assert all(first) and all(second), (first, second)
    assert not any(bridge.alive for bridge in bridges)
    # A second round of ten calls costs no more memory than the first left behind.
    assert after_second - after_first < 15, (after_first, after_second)


def test_a_new_bridge_takes_the_same_leg_once_the_first_let_its_browser_go():
    """A reload: the first browser's peer goes, its bridge closes its streams but the 3CX leg
    stays; a second bridge on the same participant opens the streams again and the new
    browser hears its tone (what the worker does when a page takes its call back)."""
    async def scenario(sim):
        client = ThreecxClient(sim.url, "900", SECRET)
        leg, first, browser, mic, received, stop = await bridged_call(sim, client)
        await flowing(browser, received)
        await open_streams(sim, 2, "the first bridge's streams")
        stop.set()
        await browser.close()
        await until(lambda: not first.alive, "the first bridge to let go", timeout=30)
        await open_streams(sim, 0, "the first bridge's streams to close")
        still_up = client.callcontrol.participant("900", leg.id).status

        second = StreamBridge(client.callcontrol, "900", leg.id)
        again = RTCPeerConnection()
        mic2 = ToneTrack()
        again.addTrack(mic2)
        received2, stop2 = [], asyncio.Event()
        again.on("track", lambda track: asyncio.ensure_future(listen(track, received2, stop2)))
        await again.setLocalDescription(await again.createOffer())
        answer = await second.accept(again.localDescription.sdp)
        await again.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        await flowing(again, received2)
        await open_streams(sim, 2, "the second bridge's streams")
        mic2.tone_at = time.monotonic()
        with contextlib.suppress(AssertionError):  # asserted below
            await until(lambda: any(t > mic2.tone_at and level > 0.5 and peak > 1000
                                    for t, level, peak in received2), "the tone", timeout=5)
        heard = any(t > mic2.tone_at and level > 0.5 and peak > 1000
                    for t, level, peak in received2)
        stop2.set()
        await again.close()
        await second.close()
        client.close()
        return still_up, heard, second

    with running_simulator(audio="echo") as sim:
        still_up, heard, second = asyncio.run(scenario(sim))
    assert still_up == "Connected"  # the bridge never hangs up the leg itself
    assert heard, "the second browser did not hear its tone through the same leg"
    assert second.stats["to_pbx_bytes"] > 0 and not second.alive
