# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The WebRTC bridge: one browser peer <-> one 3CX participant's audio streams.

What
    3CX has no public WebRTC or SIP-over-WebSocket endpoint (docs/3cx-api.md §7); the supported way
    to carry call audio is the Call Control participant stream: raw PCM s16le, 8 kHz, mono,
    chunked HTTP, one GET (what the far end says) and one POST (what we say) per participant.
    :class:`StreamBridge` answers the browser's WebRTC offer with an aiortc peer and pumps
    audio both ways: Opus 48 kHz from the browser is resampled to 8 kHz PCM and POSTed; the
    GET stream's PCM becomes 8 kHz frames that aiortc encodes to Opus for the browser.

How it works
    The HTTP streams are blocking (requests), so each runs in its own thread; the asyncio side
    (aiortc) and the threads meet in two bounded buffers. Towards the browser,
    :class:`PbxAudioTrack` paces itself at real time and plays silence when 3CX is late (the
    jitter buffer holds at most ``JITTER_MAX`` ms; older audio is dropped rather than delayed).
    Towards 3CX, the POST body is a generator fed by the browser's frames; it ends when the
    bridge closes, which ends playback (docs/3cx-api.md §2).

    The browser opens a data channel ("control") for what is not audio: ``{"dtmf": "12#"}``
    plays the keys' tones into the call in place of the microphone, as a desk phone does
    (sending DTMF through the API is unconfirmed, so it travels in-band; see threecx/dtmf.py),
    and ``{"hold": true|false}`` replaces the microphone with a quiet beep every few seconds, so
    the caller knows the line is alive while the realtor is away.

Caveats
    One bridge per browser call; :meth:`StreamBridge.close` tears down the peer, both
    streams and their threads, whichever side hangs up. The bridge calls it itself when the
    browser's peer goes away and when 3CX ends the far end's audio stream.
"""

import array
import asyncio
import contextlib
import fractions
import json
import logging
import math
import queue
import threading
import time

import av
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from ..threecx import dtmf
from ..threecx.errors import NoMediaError, NotFoundError, ThreecxError

_logger = logging.getLogger(__name__)

RATE = 8000
FRAME_MS = 20
FRAME_SAMPLES = RATE * FRAME_MS // 1000  # 160
FRAME_BYTES = FRAME_SAMPLES * 2  # s16le
JITTER_MAX = 200  # ms of 3CX audio held for the browser before the oldest is dropped
BACKLOG_MAX = 10  # decoded browser frames (200 ms) waiting for us before the older are dropped
UPLINK_MAX = 10  # 20 ms chunks queued towards 3CX (200 ms) before the oldest is dropped:
# when 3CX takes audio late, dropping a little beats talking a second behind for the whole call
CONTROL_MAX = 256  # bytes in one data-channel message: a few keys, or the hold flag
# seconds a new leg may stay unreadable (404) before the bridge takes it as gone; 3CX shows
# one a few hundred ms after it made it (UNREADABLE_FOR in pipeline.py is the same wait)
LEG_SHOWS_WITHIN = 3.0
HOLD_EVERY = 3000  # ms between two beeps while on hold
HOLD_BEEP = array.array("h", (
    int(1800 * math.sin(2 * math.pi * 440 * i / RATE)) for i in range(RATE * 250 // 1000)
)).tobytes()  # 250 ms of 440 Hz, about -25 dBFS: heard, not startling


class PbxAudioTrack(MediaStreamTrack):
    """What the far end says, from the 3CX GET stream, as 8 kHz frames paced at real time."""

    kind = "audio"

    def __init__(self):
        super().__init__()
        self._buffer = bytearray()
        self._lock = threading.Lock()
        self._start = None
        self._pts = 0
        self.late_frames = 0  # silence played because 3CX audio had not arrived

    def feed(self, data):
        """Called from the GET-stream thread."""
        with self._lock:
            self._buffer.extend(data)
            excess = len(self._buffer) - JITTER_MAX * RATE * 2 // 1000
            if excess > 0:
                del self._buffer[: excess - excess % 2]

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._pts += FRAME_SAMPLES
            wait = self._start + self._pts / RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        with self._lock:
            if len(self._buffer) >= FRAME_BYTES:
                chunk = bytes(self._buffer[:FRAME_BYTES])
                del self._buffer[:FRAME_BYTES]
            else:
                chunk = bytes(FRAME_BYTES)
                self.late_frames += 1
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        frame.planes[0].update(chunk)
        frame.sample_rate = RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, RATE)
        return frame


def drop_backlog(track, keep=2):
    """Drop the oldest frames waiting in an aiortc receiving track beyond ``BACKLOG_MAX``.

    aiortc hands decoded frames over through an unbounded queue (the track's ``_queue``, private
    but stable across aiortc 1.x, pinned in requirements.txt): when the loop reading it is
    starved (many calls, a busy machine) frames pile up there and every later word arrives
    that much later, for the rest of the call. A phone's jitter buffer drops instead; so do we.
    :returns: how many frames were dropped
    """
    waiting = getattr(track, "_queue", None)
    if waiting is None or waiting.qsize() <= BACKLOG_MAX:
        return 0
    dropped = 0
    while waiting.qsize() > keep:
        frame = waiting.get_nowait()
        if frame is None:  # the end of the track: leave it for recv()
            waiting.put_nowait(None)
            break
        dropped += 1
    return dropped


class StreamBridge:
    """Bridge one browser call to the 3CX participant ``participant_id`` on ``dn``.

    :param callcontrol: the worker's :class:`~realtor_3cx.threecx.rest.CallControl`
    :param ice_servers: ``[{"urls": ..., "username"?: ..., "credential"?: ...}]`` (none on a LAN)
    """

    def __init__(self, callcontrol, dn, participant_id, ice_servers=()):
        self.callcontrol = callcontrol
        self.dn = dn
        self.participant_id = participant_id
        self.pc = RTCPeerConnection(RTCConfiguration(
            iceServers=[RTCIceServer(**server) for server in ice_servers]))
        self.to_browser = PbxAudioTrack()
        self.pc.addTrack(self.to_browser)
        self.uplink = queue.Queue(maxsize=UPLINK_MAX)
        self.closed = threading.Event()
        self.held = False
        self._keys = bytearray()  # key tones still to play towards 3CX
        self._keys_lock = threading.Lock()
        self._hold_at = 0  # position in the hold pattern, in bytes
        self.stats = {"to_pbx_bytes": 0, "from_pbx_bytes": 0, "uplink_dropped": 0,
                      "late_dropped": 0, "keys": "", "bad_control": 0}
        self._threads = []
        self._tasks = []
        self._audio_in = None
        self._loop = None
        self._closing = None  # the close under way (a task on the media loop)
        self.on_close = None  # called once closed (media_process tells the worker)
        self.pc.on("track", self._on_track)
        self.pc.on("datachannel", self._on_channel)
        self.pc.on("connectionstatechange", self._on_state)

    async def accept(self, offer_sdp):
        """The browser's offer -> our answer (ICE candidates included: no trickling)."""
        self._loop = asyncio.get_running_loop()
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        self._start_thread(self._pump_from_pbx, "from-3cx")
        self._start_thread(self._pump_to_pbx, "to-3cx")
        return self.pc.localDescription.sdp

    async def close(self):
        """Close the peer and both streams, their threads joined; every caller (the bridge
        itself, a tear-down, a resume opening new streams on the leg) waits for the one close
        under way: a second pair of streams must not open while the first still reads."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close())
        await asyncio.shield(self._closing)

    async def _close(self):
        self.closed.set()
        if self._audio_in is not None:
            self._audio_in.close()  # unblocks the GET thread
        for task in self._tasks:
            task.cancel()
        self.to_browser.stop()
        await self.pc.close()
        loop = asyncio.get_running_loop()
        for thread in self._threads:
            await loop.run_in_executor(None, thread.join, 5)
        if self.on_close is not None:
            self.on_close()

    @property
    def alive(self):
        return any(t.is_alive() for t in self._threads) or self.pc.connectionState not in (
            "closed", "failed")

    # -- browser -> 3CX ------------------------------------------------------------------------

    def _on_track(self, track):
        if track.kind == "audio":
            self._tasks.append(asyncio.ensure_future(self._read_browser(track)))

    async def _read_browser(self, track):
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        pending = bytearray()
        while not self.closed.is_set():
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self.stats["late_dropped"] += drop_backlog(track)
            for out in resampler.resample(frame):
                pending.extend(bytes(out.planes[0])[: out.samples * 2])
            while len(pending) >= FRAME_BYTES:
                chunk = bytes(pending[:FRAME_BYTES])
                del pending[:FRAME_BYTES]
                try:
                    self.uplink.put_nowait(chunk)
                except queue.Full:  # 3CX is slow to take it: drop the oldest, stay live
                    self.stats["uplink_dropped"] += 1
                    with contextlib.suppress(queue.Empty):
                        self.uplink.get_nowait()
                    self.uplink.put_nowait(chunk)

    # -- the control channel -------------------------------------------------------------------

    def _on_channel(self, channel):
        channel.on("message", self.control)

    def control(self, message):
        """One message from the browser's control channel; anything malformed is counted and
        ignored (the call goes on)."""
        try:
            if len(message) > CONTROL_MAX:
                raise ValueError(f"{len(message)} bytes")
            order = json.loads(message)
            if not isinstance(order, dict):
                raise ValueError("not an object")
            if "dtmf" in order:
                keys = order["dtmf"]
                if not isinstance(keys, str) or not keys:
                    raise ValueError("dtmf must be a string of keys")
                audio = b"".join(dtmf.key_audio(key) for key in keys)
                with self._keys_lock:
                    self._keys.extend(audio)
                self.stats["keys"] += keys
            if "hold" in order:
                if not isinstance(order["hold"], bool):
                    raise ValueError("hold must be true or false")
                self.held = order["hold"]
                self._hold_at = 0
        except (ValueError, TypeError) as exc:
            self.stats["bad_control"] += 1
            _logger.warning("bridge %s: control message ignored (%s)", self.participant_id, exc)

    def _outgoing(self, chunk):
        """What 3CX gets instead of the browser's ``chunk``: a key's tone, the hold beep, or
        the chunk itself."""
        with self._keys_lock:
            if self._keys:
                tone = bytes(self._keys[:FRAME_BYTES])
                del self._keys[:FRAME_BYTES]
                return tone
        if self.held:
            at = self._hold_at
            self._hold_at = (at + FRAME_BYTES) % (HOLD_EVERY * RATE * 2 // 1000)
            return HOLD_BEEP[at : at + FRAME_BYTES].ljust(FRAME_BYTES, b"\0")
        return chunk

    def _uplink_chunks(self):
        # What the realtor said before the callee picked up is not for the callee: start
        # from now, or the whole call would lag by that much.
        while True:
            try:
                self.uplink.get_nowait()
            except queue.Empty:
                break
        while not self.closed.is_set():
            try:
                chunk = self.uplink.get(timeout=0.1)
            except queue.Empty:
                continue
            self.stats["to_pbx_bytes"] += len(chunk)
            yield self._outgoing(chunk)

    def _until_media(self, open_stream):
        """Open a stream once the leg is Connected (the callee picked up).

        3CX answers 424 before that, but a POST whose body is a live generator never gets to
        read the 424: the body would stream into a request 3CX already refused. So wait for
        the leg's status first.

        3CX shows a leg it has just made a moment later (its GET answers 404 meanwhile, as
        for an Upset that comes early): a 404 before the leg was ever read, within
        ``LEG_SHOWS_WITHIN``, means "not yet", not "gone". A bridge answered at once (aiortc
        already loaded, no STUN server to wait for) asks within that moment.
        """
        shown = False
        shows_by = time.monotonic() + LEG_SHOWS_WITHIN
        while not self.closed.is_set():
            try:
                leg = self.callcontrol.participant(self.dn, self.participant_id)
            except NotFoundError:
                if shown or time.monotonic() >= shows_by:
                    return None  # the call ended before it was answered
                self.closed.wait(0.05)
                continue
            shown = True
            if leg.status == "Connected":
                with contextlib.suppress(NoMediaError):
                    return open_stream()
            self.closed.wait(0.1)
        return None

    def _pump_to_pbx(self):
        try:
            # Not paced here: the browser's frames arrive at real time already.
            self._until_media(lambda: self.callcontrol.send_audio(
                self.dn, self.participant_id, self._uplink_chunks(), pace=False))
        except ThreecxError as exc:
            if not self.closed.is_set():
                _logger.warning("bridge: audio to 3CX stopped: %s", exc)

    # -- 3CX -> browser ------------------------------------------------------------------------

    def _pump_from_pbx(self):
        try:
            self._audio_in = self._until_media(
                lambda: self.callcontrol.open_audio(self.dn, self.participant_id))
            for chunk in self._audio_in or ():
                if self.closed.is_set():
                    break
                self.stats["from_pbx_bytes"] += len(chunk)
                self.to_browser.feed(chunk)
        except ThreecxError as exc:
            if not self.closed.is_set():
                _logger.warning("bridge: audio from 3CX stopped: %s", exc)
        finally:
            if self._audio_in is not None:
                self._audio_in.close()
            if not self.closed.is_set():
                # 3CX ended the far end's audio: the leg left (hang-up, transfer) or never got
                # media. Nothing more will come, so the bridge closes itself (the peer, the
                # other stream, their threads) instead of waiting to be told.
                with contextlib.suppress(RuntimeError):  # the loop itself is closing
                    asyncio.run_coroutine_threadsafe(self.close(), self._loop)

    def _start_thread(self, target, name):
        thread = threading.Thread(target=target, name=f"bridge-{self.participant_id}-{name}",
                                  daemon=True)
        thread.start()
        self._threads.append(thread)

    async def _on_state(self):
        if self.pc.connectionState in ("failed", "closed"):
            await self.close()


class MediaLoop:
    """One asyncio loop in a thread for the bridges of a process that is not asyncio itself
    (tests/benchmarks/webrtc.py; the worker's media process runs its own loop instead)."""

    _instance = None

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="media-loop",
                                       daemon=True)
        self.thread.start()

    @classmethod
    def get(cls):
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def submit(self, coroutine):
        """Run ``coroutine`` on the loop; its :class:`concurrent.futures.Future` at once (the
        worker's main loop never waits for a bridge: ICE and DTLS take seconds)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def run(self, coroutine, timeout=20):
        return self.submit(coroutine).result(timeout)
