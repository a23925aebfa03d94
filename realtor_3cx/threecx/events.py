# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The Call Control event WebSocket, kept open for as long as the caller wants it.

What
    :class:`EventStream` connects to ``/callcontrol/ws`` with the Bearer token on the upgrade,
    pings every 5 s (as 3CX's sample does), hands each parsed :class:`~.protocol.EventFrame` to
    ``on_event``, and reconnects forever with a jittered, capped backoff. 3CX has no replay, so
    after every (re)connect it reads a fresh snapshot and hands it to ``on_snapshot`` *before*
    any event of the new connection: whatever happened while disconnected is in the snapshot.
    :class:`CallMirror` is the local map of legs 3CX's sample keeps (snapshot, then Upset ->
    GET, Remove -> delete); the worker builds on it.

Which errors are retried
    ``OSError``, timeouts, closes (1006 included), HTTP 5xx and any other upgrade refusal:
    back off and reconnect. 401 on the upgrade: invalidate the token and retry at once, once;
    a second 401 in a row raises :class:`~.errors.AuthenticationError`. 403: raise
    :class:`~.errors.ForbiddenError` (the integration lacks Call Control access; retrying will
    not help). A malformed frame is counted in ``stats.garbage``, logged and skipped.

Tuning (environment)
    ``REALTOR_3CX_BACKOFF_BASE`` (default 0.5 s) and ``REALTOR_3CX_BACKOFF_CAP`` (30 s).

Log lines
    INFO ``3CX events connected to <url> (snapshot: N DNs, M legs)``; INFO
    ``3CX events lost (<why>); reconnecting in X s (attempt N)``; WARNING ``3CX sent a
    malformed frame (<reason>); skipped``.
"""

import contextlib
import logging
import os
import random
import socket
import ssl
import threading
import time
from dataclasses import dataclass

import websocket

from .errors import (
    ApiError,
    AuthenticationError,
    ConnectionFailed,
    ForbiddenError,
    NotFoundError,
    ThreecxError,
)
from .protocol import EventType, ProtocolError, parse_event_frame, parse_participant

_logger = logging.getLogger(__name__)

PING_INTERVAL = 5.0
# No frame and no pong for this long: the connection is dead even if TCP has not noticed.
DEAD_AFTER = 3 * PING_INTERVAL
RECV_TICK = 0.5  # how often a blocked receive looks at the stop flag


def backoff_delays(base=None, cap=None, rng=random):
    """Full-jitter exponential backoff: uniform(0, min(cap, base * 2**n)), n = 0, 1, ..."""
    base = float(os.environ.get("REALTOR_3CX_BACKOFF_BASE", 0.5) if base is None else base)
    cap = float(os.environ.get("REALTOR_3CX_BACKOFF_CAP", 30) if cap is None else cap)
    attempt = 0
    while True:
        yield rng.uniform(base / 2, min(cap, base * 2 ** attempt))
        attempt += 1


@dataclass
class StreamStats:
    connects: int = 0
    reconnects: int = 0
    snapshots: int = 0
    frames: int = 0
    events: int = 0
    garbage: int = 0
    last_sequence: int | None = None
    connected: bool = False


class EventStream:
    """Hold the event WebSocket until :meth:`stop`. Run :meth:`run` in its own thread.

    :param callcontrol: the :class:`~.rest.CallControl` of the same PBX (token and snapshot)
    :param on_event: ``fn(EventFrame)``, called in the stream's thread, in order
    :param on_snapshot: ``fn(list[DnState])`` after every (re)connect, before its events
    :param on_state: optional ``fn(connected: bool, detail: str)`` for health reporting
    """

    def __init__(self, callcontrol, on_event, *, on_snapshot=None, on_state=None,
                 ping_interval=PING_INTERVAL, connect_timeout=10, backoff=None):
        self.callcontrol = callcontrol
        self.tokens = callcontrol.tokens
        self.on_event = on_event
        self.on_snapshot = on_snapshot
        self.on_state = on_state
        self.ping_interval = ping_interval
        self.connect_timeout = connect_timeout
        self.backoff = backoff or backoff_delays
        self.stats = StreamStats()
        self.url = self._ws_url(callcontrol.base_url)
        self._stop = threading.Event()
        self._ws = None
        self._synced = False

    @staticmethod
    def _ws_url(base_url):
        scheme, rest = base_url.split("://", 1)
        return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/callcontrol/ws"

    def stop(self):
        self._stop.set()
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(OSError, websocket.WebSocketException):
                ws.close(timeout=1)

    def run(self):
        """Connect, snapshot, pump events; reconnect until stopped. Raises only fatal errors."""
        delays = self.backoff()
        attempt = 0
        while not self._stop.is_set():
            self._synced = False
            try:
                self._session()
                why = "closed by 3CX"
            except (AuthenticationError, ForbiddenError):
                self._set_state(False, "refused")
                raise
            except (ConnectionFailed, ApiError, OSError, websocket.WebSocketException,
                    ThreecxError) as exc:
                why = str(exc) or type(exc).__name__
            self._set_state(False, why)
            if self._stop.is_set():
                break
            if self._synced:  # a session that got as far as the snapshot resets the backoff
                attempt, delays = 0, self.backoff()
            attempt += 1
            delay = next(delays)
            _logger.info("3CX events lost (%s); reconnecting in %.1f s (attempt %s)", why,
                         delay, attempt)
            self.stats.reconnects += 1
            self._stop.wait(delay)

    def _connect(self):
        """Open the WebSocket; one re-mint on a 401."""
        for attempt in (1, 2):
            token = self.tokens.token()
            try:
                return websocket.create_connection(
                    self.url, header=[f"Authorization: Bearer {token}"],
                    timeout=self.connect_timeout, enable_multithread=True,
                    # parse_event_frame decodes (and refuses bad UTF-8) in C; the library's
                    # own check is pure Python, a fifth of this thread's CPU at 600 frames/s.
                    skip_utf8_validation=True, sslopt=self._sslopt())
            except websocket.WebSocketBadStatusException as exc:
                if exc.status_code == 401 and attempt == 1:
                    self.tokens.invalidate(token)
                    continue
                if exc.status_code == 401:
                    raise AuthenticationError(
                        "3CX refused the WebSocket upgrade with a fresh token (401)") from None
                if exc.status_code == 403:
                    raise ForbiddenError(
                        403, "the integration may not open the Call Control WebSocket",
                        method="GET", path="/callcontrol/ws") from None
                raise ConnectionFailed(f"WebSocket upgrade refused ({exc.status_code})") from None
            except (OSError, websocket.WebSocketException) as exc:
                raise ConnectionFailed(f"cannot open {self.url}: {exc}") from None
        raise AssertionError("unreachable")

    def _sslopt(self):
        # The same trust as the REST session: a CA bundle path, off, or the system's.
        verify = self.tokens.verify
        if verify is False:
            return {"cert_reqs": ssl.CERT_NONE, "check_hostname": False}
        if isinstance(verify, str):
            return {"ca_certs": verify}
        return None

    def _session(self):
        ws = self._connect()
        self._ws = ws
        try:
            # Events that arrive while the snapshot is read wait in the socket buffer, so
            # nothing is lost between the snapshot and the first event applied after it.
            snapshot = self.callcontrol.snapshot()
            self._synced = True
            self.stats.connects += 1
            self.stats.snapshots += 1
            if self.on_snapshot is not None:
                self.on_snapshot(snapshot)
            legs = sum(len(dn.participants) for dn in snapshot)
            _logger.info("3CX events connected to %s (snapshot: %s DNs, %s legs)", self.url,
                         len(snapshot), legs)
            self._set_state(True, "")
            self._pump(ws)
        finally:
            self._ws = None
            with contextlib.suppress(OSError, websocket.WebSocketException):
                ws.close(timeout=1)

    def _pump(self, ws):
        ws.settimeout(RECV_TICK)
        last_seen = last_ping = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if now - last_ping >= self.ping_interval:
                ws.ping()
                last_ping = now
            if now - last_seen > DEAD_AFTER:
                raise ConnectionFailed(f"no frame or pong for {DEAD_AFTER:.0f} s")
            try:
                opcode, data = ws.recv_data(control_frame=True)
            except (websocket.WebSocketTimeoutException, socket.timeout):
                continue
            except websocket.WebSocketConnectionClosedException:
                raise ConnectionFailed("connection closed (1006)") from None
            last_seen = time.monotonic()
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                code = int.from_bytes(data[:2], "big") if len(data) >= 2 else 1005
                reason = data[2:].decode(errors="replace")
                raise ConnectionFailed(f"closed by 3CX ({code} {reason})")
            if opcode not in (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY):
                continue  # pong
            self.stats.frames += 1
            try:
                frame = parse_event_frame(data)
            except ProtocolError as exc:
                self.stats.garbage += 1
                _logger.warning("3CX sent a malformed frame (%s); skipped", exc)
                continue
            self.stats.events += 1
            self.stats.last_sequence = frame.sequence
            self.on_event(frame)

    def _set_state(self, connected, detail):
        self.stats.connected = connected
        if self.on_state is not None:
            self.on_state(connected, detail)


class CallMirror:
    """The legs 3CX currently has, kept as 3CX's sample does. Thread-safe.

    ``apply_snapshot`` replaces everything; ``handle`` applies one event: Upset re-reads the
    entity (it carries only the path), Remove deletes it. A 404 on that read means the leg is
    already gone (the Upset raced its Remove), so it is deleted too.
    """

    def __init__(self, callcontrol):
        self.callcontrol = callcontrol
        self.legs = {}  # (dn, participant id) -> protocol.Participant
        self.dtmf = {}  # (dn, participant id) -> digits received
        self.fetches = 0
        self._lock = threading.Lock()

    def apply_snapshot(self, snapshot):
        legs = {(dn.dn, p.id): p for dn in snapshot for p in dn.participants}
        with self._lock:
            self.legs = legs

    def handle(self, frame):
        entity = frame.entity
        if entity.kind != "participants":
            return  # DN and device Upsets: devices are read when dialling
        key = (entity.dn, entity.participant_id)
        if frame.event_type == EventType.REMOVE:
            with self._lock:
                self.legs.pop(key, None)
        elif frame.event_type == EventType.UPSET:
            try:
                body = self.callcontrol.entity(entity.path)
                self.fetches += 1
            except NotFoundError:
                with self._lock:
                    self.legs.pop(key, None)
                return
            try:
                leg = parse_participant(body)
            except ProtocolError as exc:
                _logger.warning("3CX returned a malformed participant for %s: %s", entity.path,
                                exc)
                return
            with self._lock:
                self.legs[key] = leg
        elif frame.event_type == EventType.DTMF:
            with self._lock:
                self.dtmf[key] = self.dtmf.get(key, "") + (frame.dtmf or "")

    def calls(self):
        """{callid: [legs]} of what 3CX has now."""
        with self._lock:
            result = {}
            for leg in self.legs.values():
                result.setdefault(leg.callid, []).append(leg)
            return result
