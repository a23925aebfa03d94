# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The simulator's HTTP face: OAuth, Call Control REST + WebSocket + audio, XAPI, control API.

What
    An aiohttp application around one :class:`~.state.Pbx`, speaking 3CX V20's wire formats
    (docs/3cx-api.md §1-4, with every open fact switchable in :class:`SimConfig`: §10), plus a
    control API under ``/_sim/`` that tests and the demo use to make calls happen, inject
    failures and read the ground truth of every call.

How it works
    Everything runs on one asyncio loop, so the PBX state needs no locks. State changes call
    :meth:`Simulator.emit`, which stamps a global ``sequence`` and queues the frame on every
    WebSocket. A repeater re-sends Upset for every live leg about every 750 ms, as 3CX does.
    Delays in the PBX (ringing, scripted answers) are multiplied by ``SimConfig.speed`` so tests
    run a 20 s ring in 1 s; audio always runs at real time (16 000 B/s). The far end of a leg
    listens for DTMF keys in the audio POSTed to it; what it heard is the call's ``heard_dtmf``.

Control API (JSON, loopback only, no auth: it is a test fixture, not a PBX endpoint)
    ``POST /_sim/calls/inbound {from, to, did?, name?, ring_seconds?}`` ·
    ``POST /_sim/calls/outbound {from (an extension), to}`` ·
    ``POST /_sim/calls/{callid}/{answer|hangup|transfer|dtmf}`` (``{dn?, device_id?}``,
    ``{side}``, ``{destination}``, ``{digits}``) · ``GET /_sim/calls[/{id}]`` (the ground
    truth; ``leg_times`` says when each live leg's Upset went out and 3CX first showed it;
    ``makecall_form`` / ``makecall_device`` how an app placed it: "device" or "dn" form) ·
    ``POST /_sim/scripts {destination, answer_after?, busy?, hangup_after?, refuse?}`` ·
    ``POST /_sim/faults {...}`` (see :meth:`Simulator.inject`) · ``POST /_sim/config {...}`` ·
    ``POST /_sim/dns {number, type?, ...}`` · ``POST /_sim/dns/{dn}/reregister`` ·
    ``POST /_sim/transcripts {callid, text, summary?, sentiment?, result?, audio?}`` (what
    3CX's transcription makes of the call's recording, and that recording's WAV, base64) ·
    ``POST /_sim/crm {template ("example" or XML), parameters}`` and ``GET /_sim/crm`` (the
    requests it sent) ·
    ``GET /_sim/stats``.

Caveats
    Device entities get Upset on re-registration (3CX's behaviour there is [I]). WebSocket
    requests (``RequestID``/``Path``) are not implemented: 3CX's own sample uses REST.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import math
import os
import secrets
import ssl
import struct
import threading
import time
from dataclasses import asdict, dataclass, field, fields

from aiohttp import WSCloseCode, web

from .. import dtmf
from . import state
from .state import CONNECTED, DIALING, RINGING, Pbx, Script, SimError

_logger = logging.getLogger(__name__)

AUDIO_RATE = 16000  # bytes per second: s16le, 8 kHz, mono
AUDIO_CHUNK = 320  # 20 ms, as third-party clients send
FINAL_NAMES = {-1: "Failed", 0: "Rejected", 1: "Success"}
UNAUTHORIZED = {"error": "unauthorized",
                "error_description": "The request requires valid user authentication."}


@dataclass
class SimConfig:
    """Everything switchable; the defaults are 3CX 20.0.9+ as documented."""

    host: str = "127.0.0.1"
    port: int = 5001
    client_id: str = "900"
    client_secret: str = "simulator-secret"
    version: str = "20.0.9.995"
    fqdn: str = "pbx.simulator.local"
    token_lifetime: int = 3600
    expires_in_unit: str = "seconds"  # "minutes" before 20.0.9
    speed: float = 1.0  # multiplies PBX delays (ring time, scripted answers)
    ring_timeout: float = 20.0
    recording_delay: float = 0.0  # seconds before a finished call's recording is listed
    voicemail_seconds: float = 5.0  # length of the message a caller leaves in voicemail
    # 3CX's own transcription (docs/3cx-api.md §4): "off" (3CX's default, TranscriptionMode
    # Nothing), "request" (only recordings TranscribeRecordings names) or "auto" (every
    # recording and voicemail); a transcript shows transcribe_delay s after it is due.
    transcription: str = "off"
    transcribe_delay: float = 5.0
    routeto_delay: float = 0.5
    upset_repeat: float = 0.75  # seconds between Upset repeats for live legs; 0 disables
    # A new leg 404s for this long after its Upset, and no read (participant lists, its DN,
    # the full state) shows it meanwhile; its readable moment is in GET /_sim/calls/{id}.
    early_upset_ms: int = 0
    finalstatus: str = "number"  # or "string" ("Success"), as derived docs show
    require_content_type: bool = False  # reject action bodies without a JSON content type
    enforce_direct_control: bool = False  # 403 on legs with direct_control=false
    callcontrol_access: bool = True
    xapi_access: bool = True
    close_ws_on_revoke: bool = True
    audio: str = "tone"  # "tone" (440 Hz) or "echo" (what was POSTed to the leg)
    # The echo is a far end that says back what it hears, as it hears it: like a phone's jitter
    # buffer it holds this much at most and drops the oldest beyond, so audio that arrives
    # before anyone listens (or faster than real time) never turns into lasting delay.
    echo_max_ms: int = 200
    hangup_on_abrupt_cut: bool = False
    tls: bool = False
    certfile: str = ""
    keyfile: str = ""
    max_history: int = 10000
    # The call log and call ids survive a restart here, as in 3CX's database: loaded at start,
    # written every ``state_save_interval`` seconds and when the simulator stops.
    state_file: str = ""
    state_save_interval: float = 30.0

    def update(self, values):
        known = {f.name: f.type for f in fields(self)}
        for key, value in values.items():
            if key not in known or key in ("host", "port", "tls", "certfile", "keyfile",
                                           "state_file"):
                raise SimError(422, f"unknown or fixed setting {key!r}")
            setattr(self, key, value)


@dataclass
class Faults:
    refuse_upgrades: int = 0
    upgrade_status: int = 503
    http_errors: int = 0
    http_error_status: int = 500
    http_error_path: str = ""
    slow: int = 0
    slow_seconds: float = 0.0
    bad_downloads: int = 0
    bad_download_kind: str = "drop"


@dataclass
class Stats:
    tokens_minted: int = 0
    requests: int = 0
    ws_connections: int = 0
    ws_upgrades_refused: int = 0
    frames_sent: int = 0
    streams: dict = field(default_factory=dict)  # participant id -> POST stream figures
    open_streams: int = 0  # audio streams (GET and POST) in progress: 0 once all calls are down


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Simulator:
    """One simulated PBX and its aiohttp application."""

    def __init__(self, config=None, *, pbx_setup=None):
        self.config = config or SimConfig()
        self.faults = Faults()
        self.stats = Stats()
        self._signing_key = secrets.token_bytes(32)
        self.current_token = None
        self.sequence = 0
        self.sockets = {}  # WebSocketResponse -> (queue, transport, token)
        self.streams = {}  # leg id -> bytearray of POSTed audio (echo mode)
        self.loop = None
        self.crm = None  # a crm.CrmEmitter once a template is loaded
        self._crm_lookups = {}  # callid -> Future of the ring-time lookup
        self._setup = pbx_setup or default_topology
        self.pbx = self._new_pbx()
        if self.config.state_file and os.path.exists(self.config.state_file):
            with open(self.config.state_file) as fh:
                self.pbx.restore(json.load(fh))
            _logger.info("3CX simulator: %s calls restored from %s (next call id above %s)",
                         len(self.pbx.calls), self.config.state_file, self.pbx.last_callid)
        self.app = self._build_app()

    # -- PBX wiring -------------------------------------------------------------------------

    def _new_pbx(self):
        pbx = Pbx(client_id=self.config.client_id, emit=self.emit, schedule=self._schedule,
                  ring_timeout=self.config.ring_timeout, routeto_delay=self.config.routeto_delay,
                  recording_delay=self.config.recording_delay,
                  voicemail_seconds=self.config.voicemail_seconds,
                  on_ring=self._crm_on_ring, on_end=self._crm_on_end)
        pbx.hidden_for = self.config.early_upset_ms / 1000
        self._setup(pbx)
        return pbx

    def _schedule(self, delay, fn):
        if self.loop is not None:
            self.loop.call_later(max(0.0, delay * self.config.speed), self._guarded, fn)

    @staticmethod
    def _guarded(fn):
        try:
            fn()
        except Exception:  # a scheduled step must never kill the loop
            _logger.exception("simulator: scheduled step failed")

    def emit(self, event_type, path, attached_data=None):
        self.sequence += 1
        frame = json.dumps({"sequence": self.sequence, "event": {
            "event_type": event_type, "entity": path, "attached_data": attached_data or {}}})
        for queue, _transport, _token in self.sockets.values():
            queue.put_nowait(frame)
        if event_type == state.REMOVE:
            self.streams.pop(_leg_id(path), None)

    async def _repeat_upsets(self):
        while True:
            interval = self.config.upset_repeat
            await asyncio.sleep(interval if interval > 0 else 0.5)
            if interval > 0 and self.sockets:
                for leg in self.pbx.active_legs():
                    self.emit(state.UPSET, leg.path)
            self._finish_old_calls()

    def _finish_old_calls(self):
        """Keep the ground truth bounded: forget the oldest finished calls."""
        extra = len(self.pbx.calls) - self.config.max_history
        if extra > 0:
            for callid in sorted(self.pbx.calls)[:extra]:
                if self.pbx.calls[callid].ended_at is not None:
                    del self.pbx.calls[callid]

    # -- tokens -----------------------------------------------------------------------------

    def mint(self):
        now = int(time.time())
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = {"sub": self.config.client_id, "iat": now,
                  "exp": now + self.config.token_lifetime, "jti": secrets.token_hex(8)}
        payload = _b64(json.dumps(claims).encode())
        signature = hmac.new(self._signing_key, f"{header}.{payload}".encode(),
                             hashlib.sha256).digest()
        token = f"{header}.{payload}.{_b64(signature)}"
        self._revoke(reason="superseded")
        self.current_token = token
        self.stats.tokens_minted += 1
        return token, claims["exp"]

    def _revoke(self, reason):
        old, self.current_token = self.current_token, None
        if old and self.config.close_ws_on_revoke:
            for ws, (_queue, _transport, token) in list(self.sockets.items()):
                if token == old:
                    asyncio.ensure_future(ws.close(code=WSCloseCode.POLICY_VIOLATION,
                                                   message=f"token {reason}".encode()))

    def _token_ok(self, token):
        if not token or token != self.current_token:
            return False
        try:
            payload = token.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (IndexError, ValueError):
            return False
        return claims.get("exp", 0) > time.time()

    def _bearer(self, request):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""

    # -- application ------------------------------------------------------------------------

    def _build_app(self):
        app = web.Application(middlewares=[self._middleware], client_max_size=4 * 1024 * 1024)
        r = app.router
        r.add_post("/connect/token", self.token)
        r.add_get("/callcontrol", self.cc_snapshot)
        r.add_get("/callcontrol/ws", self.cc_ws)
        r.add_get("/callcontrol/{dn}", self.cc_dn)
        r.add_get("/callcontrol/{dn}/devices", self.cc_devices)
        r.add_get("/callcontrol/{dn}/devices/{device}", self.cc_device)
        r.add_post("/callcontrol/{dn}/makecall", self.cc_makecall)
        r.add_post("/callcontrol/{dn}/devices/{device}/makecall", self.cc_makecall)
        r.add_get("/callcontrol/{dn}/participants", self.cc_participants)
        r.add_get("/callcontrol/{dn}/participants/{pid}", self.cc_participant)
        r.add_get("/callcontrol/{dn}/participants/{pid}/stream", self.cc_stream_get)
        r.add_post("/callcontrol/{dn}/participants/{pid}/stream", self.cc_stream_post)
        r.add_post("/callcontrol/{dn}/participants/{pid}/{action}", self.cc_action)
        r.add_route("*", "/xapi/v1/{tail:.*}", self.xapi)
        r.add_post("/_sim/calls/inbound", self.sim_inbound)
        r.add_post("/_sim/calls/outbound", self.sim_outbound)
        r.add_get("/_sim/calls", self.sim_calls)
        r.add_get("/_sim/calls/{callid}", self.sim_call)
        r.add_post("/_sim/calls/{callid}/{action}", self.sim_call_action)
        r.add_post("/_sim/scripts", self.sim_script)
        r.add_post("/_sim/faults", self.sim_faults)
        r.add_post("/_sim/config", self.sim_config)
        r.add_post("/_sim/dns", self.sim_add_dn)
        r.add_post("/_sim/dns/{dn}/reregister", self.sim_reregister)
        r.add_post("/_sim/transcripts", self.sim_transcript)
        r.add_post("/_sim/crm", self.sim_crm)
        r.add_get("/_sim/crm", self.sim_crm_history)
        r.add_get("/_sim/stats", self.sim_stats)
        app.on_startup.append(self._on_startup)
        app.on_shutdown.append(self._on_shutdown)
        return app

    async def _on_startup(self, app):
        self.loop = asyncio.get_running_loop()
        self._repeater = asyncio.ensure_future(self._repeat_upsets())
        self._saver = (asyncio.ensure_future(self._save_periodically())
                       if self.config.state_file else None)

    async def _on_shutdown(self, app):
        self._repeater.cancel()
        if self._saver is not None:
            # Going down is a restart for whoever calls: live calls end (Pbx.restart), then
            # the whole call log is kept for the next start.
            self._saver.cancel()
            self.pbx.restart()
            self.save_state()
        for ws in list(self.sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")

    def save_state(self):
        """Write the call log and last call id to ``state_file`` (atomically)."""
        path = self.config.state_file
        temporary = f"{path}.tmp"
        with open(temporary, "w") as fh:
            json.dump(self.pbx.history(), fh)
        os.replace(temporary, path)

    async def _save_periodically(self):
        while True:
            await asyncio.sleep(self.config.state_save_interval)
            try:
                self.save_state()
            except OSError as exc:
                _logger.warning("3CX simulator: cannot write %s: %s", self.config.state_file,
                                exc)

    @web.middleware
    async def _middleware(self, request, handler):
        path = request.path
        if path.startswith("/_sim/"):
            return await _json_errors(handler, request)
        self.stats.requests += 1
        faults = self.faults
        if faults.slow > 0:
            faults.slow -= 1
            await asyncio.sleep(faults.slow_seconds)
        if faults.http_errors > 0 and path.startswith(faults.http_error_path or "/"):
            faults.http_errors -= 1
            return web.json_response({"reasontext": "injected failure"},
                                     status=faults.http_error_status)
        if path.startswith(("/callcontrol", "/xapi/")):
            if not self._token_ok(self._bearer(request)):
                return web.json_response(UNAUTHORIZED, status=401)
            if path.startswith("/callcontrol") and not self.config.callcontrol_access:
                return _cc_error(403, "Call Control API access is not enabled for this "
                                 "application", self.config)
            if path.startswith("/xapi/") and not self.config.xapi_access:
                return _odata_error(403, "Forbidden", "XAPI access is not enabled for this "
                                    "application")
        if path.startswith("/xapi/"):
            return await handler(request)
        try:
            return await handler(request)
        except SimError as exc:
            return _cc_error(exc.status, exc.reason, self.config)

    # -- OAuth ------------------------------------------------------------------------------

    async def token(self, request):
        # urlencoded per the docs, multipart per 3CX's own samples: post() reads both.
        form = await request.post()
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        if not (hmac.compare_digest(str(form.get("client_id", "")), self.config.client_id)
                and hmac.compare_digest(str(form.get("client_secret", "")),
                                        self.config.client_secret)):
            return web.json_response(UNAUTHORIZED, status=401)
        token, _exp = self.mint()
        lifetime = self.config.token_lifetime
        expires_in = lifetime // 60 if self.config.expires_in_unit == "minutes" else lifetime
        return web.json_response({"token_type": "Bearer", "expires_in": expires_in,
                                  "access_token": token, "refresh_token": None})

    # -- Call Control REST ------------------------------------------------------------------

    async def cc_snapshot(self, request):
        return web.json_response([self._shown(dn) for dn in self.pbx.snapshot()])

    async def cc_dn(self, request):
        return web.json_response(self._shown(self.pbx.get_dn(request.match_info["dn"]).as_json()))

    def _shown(self, dn_json):
        """A DN's JSON without the legs 3CX does not show yet (``early_upset_ms``)."""
        legs = self.pbx.dns[dn_json["dn"]].participants
        dn_json["participants"] = [p for p in dn_json["participants"]
                                   if self._settled(legs[p["id"]])]
        return dn_json

    async def cc_devices(self, request):
        dn = self.pbx.get_dn(request.match_info["dn"])
        return web.json_response([d.as_json() for d in dn.devices.values()])

    async def cc_device(self, request):
        info = request.match_info
        return web.json_response(self.pbx.get_device(info["dn"], info["device"]).as_json())

    async def cc_participants(self, request):
        dn = self.pbx.get_dn(request.match_info["dn"])
        return web.json_response([leg.as_json() for leg in dn.participants.values()
                                  if self._settled(leg)])

    @staticmethod
    def _settled(leg, read=True):
        """Whether 3CX shows the leg yet; a read (``read``) that leaves it out, or first shows
        it, is counted on the leg's ground truth."""
        now = time.time()
        if now < leg.readable_at:
            leg.hidden_reads += read
            return False
        if read and leg.first_read_at is None:
            leg.first_read_at = now
        return True

    def _leg(self, request, read=False):
        pid = _int(request.match_info["pid"], "participant id")
        leg = self.pbx.get_leg(request.match_info["dn"], pid)
        if not self._settled(leg, read):
            raise SimError(404, f"participant {pid} not found on DN {leg.dn}")
        return leg

    async def cc_participant(self, request):
        leg = self._leg(request, read=True)
        if self.config.enforce_direct_control and not leg.direct_control:
            raise SimError(403, f"participant {leg.id} is not under direct control")
        return web.json_response(leg.as_json())

    async def _body(self, request):
        if request.content_type != "application/json":
            if self.config.require_content_type or await request.read():
                raise SimError(415, "expected a JSON body (application/json)")
            return {}
        try:
            body = await request.json()
        except ValueError:
            raise SimError(422, "body is not valid JSON") from None
        if not isinstance(body, dict):
            raise SimError(422, "body must be a JSON object")
        return body

    async def cc_makecall(self, request):
        body = await self._body(request)
        timeout = body.get("timeout")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int)
                                    or timeout < 0):
            raise SimError(422, "timeout must be a non-negative integer (seconds)")
        device = request.match_info.get("device")
        leg = self.pbx.makecall(request.match_info["dn"], body.get("destination"),
                                device_id=device, timeout=timeout,
                                attacheddata=body.get("attacheddata"),
                                form="dn" if device is None else "device")
        return self._result(leg)

    def _result(self, leg=None):
        final = 1 if self.config.finalstatus == "number" else FINAL_NAMES[1]
        return web.json_response({"finalstatus": final, "reason": "", "reasontext": "",
                                  "result": leg.as_json() if leg else None})

    async def cc_action(self, request):
        leg = self._leg(request)
        action = request.match_info["action"]
        body = await self._body(request)
        if self.config.enforce_direct_control and not leg.direct_control:
            raise SimError(403, f"participant {leg.id} is not under direct control")
        pbx = self.pbx
        if action == "drop":
            pbx.drop(leg)
        elif action == "answer":
            pbx.answer(leg)
        elif action == "divert":
            pbx.divert(leg, body.get("destination"), body.get("reason"))
        elif action == "transferto":
            pbx.transferto(leg, body.get("destination"))
        elif action == "routeto":
            pbx.routeto(leg, body.get("destination"), body.get("reason"))
            # 3CX answers a routeto only once delivery succeeded or failed.
            await asyncio.sleep(self.config.routeto_delay * self.config.speed + 0.01)
        elif action in ("attach_participant_data", "attach_party_data"):
            pbx.attach_data(leg, body.get("attacheddata"))
        else:
            raise SimError(404, f"unknown action {action!r}")
        return self._result(leg)

    # -- audio ------------------------------------------------------------------------------

    def _media_leg(self, request):
        leg = self._leg(request)
        if leg.status != CONNECTED:
            raise SimError(424, f"participant {leg.id} has no media yet ({leg.status})")
        return leg

    async def cc_stream_get(self, request):
        leg = self._media_leg(request)
        self.stats.open_streams += 1
        try:
            return await self._stream_out(request, leg)
        finally:
            self.stats.open_streams -= 1

    async def _stream_out(self, request, leg):
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        loop = asyncio.get_running_loop()
        start, sent, phase = loop.time(), 0, 0
        dn = self.pbx.dns.get(leg.dn)
        while dn is not None and leg.id in dn.participants:
            if self.config.audio == "echo":
                buffer = self.streams.setdefault(leg.id, bytearray())
                figures = self.stats.streams.setdefault(leg.id, {})
                figures["echo_backlog_ms"] = max(figures.get("echo_backlog_ms", 0),
                                                 len(buffer) * 1000 // AUDIO_RATE)
                chunk = bytes(buffer[:AUDIO_CHUNK]).ljust(AUDIO_CHUNK, b"\0")
                del buffer[:AUDIO_CHUNK]
            else:
                chunk, phase = _tone(phase)
            try:
                await response.write(chunk)
            except (ConnectionError, RuntimeError):
                return response
            sent += len(chunk)
            # Pace against the clock, not per sleep, so the stream never drifts.
            await asyncio.sleep(max(0.0, start + sent / AUDIO_RATE - loop.time()))
        await response.write_eof()
        return response

    async def cc_stream_post(self, request):
        leg = self._media_leg(request)
        self.stats.open_streams += 1
        try:
            return await self._stream_in(request, leg)
        finally:
            self.stats.open_streams -= 1

    async def _stream_in(self, request, leg):
        figures = self.stats.streams.setdefault(leg.id, {})
        for name, zero in (("bytes", 0), ("chunks", 0), ("odd_chunks", 0), ("seconds", 0.0),
                           ("aborted", False)):
            figures.setdefault(name, zero)
        loop = asyncio.get_running_loop()
        start = loop.time()
        buffer = self.streams.setdefault(leg.id, bytearray())
        # The far end listens for keys in what it is played, as an IVR would (in-band DTMF).
        detector = dtmf.Detector()
        try:
            async for chunk in request.content.iter_any():
                figures["bytes"] += len(chunk)
                figures["chunks"] += 1
                figures["odd_chunks"] += len(chunk) % 2
                if self.config.audio == "echo":
                    buffer.extend(chunk)
                    excess = len(buffer) - self.config.echo_max_ms * AUDIO_RATE // 1000
                    if excess > 0:
                        excess -= excess % 2
                        del buffer[:excess]
                        figures["echo_dropped_ms"] = (figures.get("echo_dropped_ms", 0)
                                                      + excess * 1000 // AUDIO_RATE)
                digits = detector.feed(chunk)
                if digits:
                    self.pbx.heard(leg, digits)
        except Exception:  # the client cut the stream without ending it
            figures["aborted"] = True
            if self.config.hangup_on_abrupt_cut and leg.callid in self.pbx.calls:
                self.pbx.drop(leg)
            raise
        finally:
            figures["seconds"] = loop.time() - start
            elapsed_ms = figures["seconds"] * 1000 or 1
            figures["bytes_per_ms"] = round(figures["bytes"] / elapsed_ms, 2)
        if figures["bytes"] % 2:
            raise SimError(422, "audio must be whole 16-bit samples (an even byte count)")
        return web.json_response({})

    # -- WebSocket --------------------------------------------------------------------------

    async def cc_ws(self, request):
        if self.faults.refuse_upgrades > 0:
            self.faults.refuse_upgrades -= 1
            self.stats.ws_upgrades_refused += 1
            return web.json_response({"reasontext": "upgrade refused"},
                                     status=self.faults.upgrade_status)
        token = self._bearer(request)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        queue = asyncio.Queue()
        self.sockets[ws] = (queue, request.transport, token)
        self.stats.ws_connections += 1
        sender = asyncio.ensure_future(self._send_frames(ws, queue))
        try:
            async for _message in ws:
                pass  # 3CX ignores client messages; pings are answered by aiohttp
        finally:
            sender.cancel()
            self.sockets.pop(ws, None)
        return ws

    async def _send_frames(self, ws, queue):
        while True:
            frame = await queue.get()
            try:
                await ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                return
            self.stats.frames_sent += 1

    def drop_websockets(self):
        """Cut every WebSocket without a close frame: the client sees 1006."""
        for ws, (_queue, transport, _token) in list(self.sockets.items()):
            if transport is not None:
                transport.abort()
            self.sockets.pop(ws, None)

    # -- XAPI -------------------------------------------------------------------------------

    async def xapi(self, request):
        from . import xapi  # imported late: it is the larger half and only XAPI needs it

        return await xapi.handle(self, request)

    # -- control API ------------------------------------------------------------------------

    async def sim_inbound(self, request):
        body = await request.json()
        ring = body.get("ring_seconds")
        call = self.pbx.inbound(body.get("from") or "", str(body.get("to") or ""),
                                did=body.get("did") or "", caller_name=body.get("name") or "",
                                ring_seconds=float(ring) if ring is not None else None)
        return web.json_response(self._call_json(call))

    async def sim_outbound(self, request):
        """A realtor dials from their own phone (not through the API): 3CX reports it all
        the same, and the destination's script decides how the far end behaves."""
        body = await request.json()
        leg = self.pbx.makecall(str(body.get("from") or ""), body.get("to"))
        return web.json_response(self._call_json(self.pbx.calls[leg.callid]))

    def _call_json(self, call):
        data = call.as_json()
        legs = [leg for leg in self.pbx.active_legs() if leg.callid == call.callid]
        data["legs"] = [leg.as_json() for leg in legs]
        # Test-only ground truth beside 3CX's leg JSON: when each live leg's Upset was sent,
        # when a GET could first show it, how many reads left it out, when one first showed it.
        data["leg_times"] = [{"id": leg.id, "dn": leg.dn, "upset_at": leg.created_at,
                              "readable_at": leg.readable_at, "hidden_reads": leg.hidden_reads,
                              "first_read_at": leg.first_read_at} for leg in legs]
        return data

    async def sim_calls(self, request):
        return web.json_response([self._call_json(c) for c in self.pbx.calls.values()])

    async def sim_call(self, request):
        call = self.pbx.calls.get(_int(request.match_info["callid"], "callid"))
        if call is None:
            raise SimError(404, "call not found")
        return web.json_response(self._call_json(call))

    async def sim_call_action(self, request):
        callid = _int(request.match_info["callid"], "callid")
        action = request.match_info["action"]
        body = await request.json() if request.can_read_body else {}
        legs = [leg for leg in self.pbx.active_legs() if leg.callid == callid]
        if action == "hangup":
            call = self.pbx.hangup(callid, body.get("side", "caller"))
            return web.json_response(self._call_json(call))
        dn = str(body.get("dn") or "")
        wanted = {"answer": RINGING, "transfer": CONNECTED, "dtmf": CONNECTED}.get(action)
        if wanted is None:
            raise SimError(404, f"unknown action {action!r}")
        candidates = [leg for leg in legs if leg.status in (wanted, DIALING)
                      and (not dn or leg.dn == dn)
                      and self.pbx.dns[leg.dn].type == state.EXTENSION]
        if action == "answer":
            candidates = [leg for leg in candidates if leg.status == RINGING]
        if not candidates:
            raise SimError(422, f"call {callid} has no {wanted} extension leg"
                           + (f" on {dn}" if dn else ""))
        leg = candidates[0]
        if action == "answer":
            device = body.get("device_id")
            if device:  # the realtor picked up on this phone (desk phone, app, softphone)
                self.pbx.get_device(leg.dn, device)
                leg.device_id = device
            self.pbx.answer(leg)
        elif action == "transfer":
            self.pbx.transferto(leg, body.get("destination"))
        else:
            self.pbx.dtmf(leg, str(body.get("digits") or ""))
        return web.json_response(self._call_json(self.pbx.calls[callid]))

    async def sim_transcript(self, request):
        """What 3CX's transcription hears in a call's recording (simulator/xapi.py)."""
        from . import xapi

        body = await request.json()
        call = self.pbx.calls.get(_int(body.get("callid"), "callid"))
        if call is None:
            raise SimError(404, f"call {body.get('callid')!r} not found")
        return web.json_response(xapi.set_transcript(call, body))

    async def sim_script(self, request):
        body = await request.json()
        self.pbx.scripts[str(body["destination"])] = Script(
            answer_after=body.get("answer_after", 2.0), busy=bool(body.get("busy")),
            hangup_after=body.get("hangup_after"), refuse=str(body.get("refuse") or ""))
        return web.json_response({"ok": True})

    async def sim_faults(self, request):
        self.inject(**(await request.json()))
        return web.json_response({"ok": True, "faults": asdict(self.faults)})

    def inject(self, *, drop_ws=False, refuse_upgrades=0, upgrade_status=None, http_errors=0,
               http_error_status=500, http_error_path="", slow=0, slow_seconds=0.0, garbage=0,
               revoke_token=False, expire_token=False, remove_unseen=0, restart=False,
               flood=0, bad_downloads=0, bad_download_kind="drop"):
        """Failure injection; every argument is optional and they combine.

        :param drop_ws: cut every WebSocket abruptly (the client sees 1006)
        :param refuse_upgrades: refuse the next N upgrades with ``upgrade_status``
        :param http_errors: answer the next N REST/XAPI requests under ``http_error_path``
            with ``http_error_status``
        :param slow: delay the next N requests by ``slow_seconds``
        :param garbage: send N malformed frames to every WebSocket
        :param revoke_token: forget the live token (as when another process mints one)
        :param expire_token: same, as an expiry
        :param remove_unseen: send Remove frames for N participants that never existed
        :param restart: lose every live call and connection, as a real restart
        :param flood: send N Upset frames for the live legs at once (load tests)
        :param bad_downloads: spoil the next N recording downloads: ``bad_download_kind``
            ``"drop"`` cuts the connection halfway through the file, ``"garbage"`` answers 200
            with bytes that are no audio
        """
        faults = self.faults
        if refuse_upgrades:
            faults.refuse_upgrades = int(refuse_upgrades)
            faults.upgrade_status = int(upgrade_status or 503)
        if http_errors:
            faults.http_errors = int(http_errors)
            faults.http_error_status = int(http_error_status)
            faults.http_error_path = http_error_path
        if slow:
            faults.slow, faults.slow_seconds = int(slow), float(slow_seconds)
        if bad_downloads:
            if bad_download_kind not in ("drop", "garbage"):
                raise SimError(422, "bad_download_kind is 'drop' or 'garbage'")
            faults.bad_downloads, faults.bad_download_kind = int(bad_downloads), \
                bad_download_kind
        for index in range(int(garbage)):
            frame = GARBAGE[index % len(GARBAGE)]
            for queue, _transport, _token in self.sockets.values():
                queue.put_nowait(frame)
        paths = [leg.path for leg in self.pbx.active_legs()] or [
            f"/callcontrol/{self.config.client_id}"]
        for index in range(int(flood)):
            self.emit(state.UPSET, paths[index % len(paths)])
        for _ in range(int(remove_unseen)):
            self.emit(state.REMOVE, f"/callcontrol/{self.config.client_id}/participants/"
                      f"{900000 + secrets.randbelow(99999)}")
        if revoke_token or expire_token:
            self._revoke(reason="revoked" if revoke_token else "expired")
        if restart:
            self.pbx.restart()
            self.sequence = 0
            self.streams.clear()
            self.drop_websockets()
        if drop_ws:
            self.drop_websockets()

    async def sim_config(self, request):
        self.config.update(await request.json())
        self.pbx.ring_timeout = self.config.ring_timeout
        self.pbx.routeto_delay = self.config.routeto_delay
        self.pbx.recording_delay = self.config.recording_delay
        self.pbx.voicemail_seconds = self.config.voicemail_seconds
        self.pbx.hidden_for = self.config.early_upset_ms / 1000  # for legs created from now
        return web.json_response(asdict(self.config))

    async def sim_add_dn(self, request):
        """Add DNs: ``{"number", "type"?, "first_name"?, "last_name"?, "devices"?, "members"?}``
        or a list (``members``: the extensions a ``Wqueue`` or ``Wringgroup`` rings;
        ``devices``, 1 by default: an extension's, route point's or queue's, 0 for none)."""
        body = await request.json()
        for item in body if isinstance(body, list) else [body]:
            number = str(item["number"])
            if number in self.pbx.dns:
                raise SimError(422, f"DN {number} exists")
            self.pbx.add_dn(number, item.get("type", state.EXTENSION),
                            devices=int(item.get("devices", 1)),
                            first_name=item.get("first_name", ""),
                            last_name=item.get("last_name", number),
                            members=tuple(str(m) for m in item.get("members", ())))
        return web.json_response({"dns": sorted(self.pbx.dns)})

    async def sim_reregister(self, request):
        return web.json_response({"devices": self.pbx.reregister(request.match_info["dn"])})

    async def sim_crm(self, request):
        from . import crm

        body = await request.json()
        try:
            parameters = body.get("parameters") or {}
            template = (crm.load_example_template(parameters) if body["template"] == "example"
                        else crm.load_template(body["template"], parameters))
        except (KeyError, ValueError) as exc:
            raise SimError(422, f"CRM template refused: {exc}") from None
        self.crm = crm.CrmEmitter(template, timeout=float(body.get("timeout", 5.0)))
        return web.json_response({"ok": True})

    async def sim_crm_history(self, request):
        history = [asdict(e) for e in self.crm.history] if self.crm is not None else []
        return web.json_response(history, dumps=lambda v: json.dumps(v, default=str))

    async def sim_stats(self, request):
        data = asdict(self.stats)
        data.update(ws_open=len(self.sockets), sequence=self.sequence,
                    live_legs=len(self.pbx.active_legs()),
                    calls=len(self.pbx.calls))
        return web.json_response(data)

    # -- CRM template emitter (3CX calls the CRM; see crm.py) ---------------------------------

    def _crm_on_ring(self, call):
        """3CX looks the outside number up in the CRM as the call starts (Scenario "")."""
        if self.crm is not None:
            number = call.caller if call.direction == "Inbound" else call.callee
            self._crm_lookups[call.callid] = self.loop.run_in_executor(
                None, self.crm.lookup, number)

    def _crm_on_end(self, call):
        """... and journals it with ReportCall once it is over, with the contact it found."""
        if self.crm is None:
            return
        lookup = self._crm_lookups.pop(call.callid, None)
        variables = report_variables(self.pbx, call)
        emitter = self.crm

        def report():
            contact = lookup.result() if lookup is not None else None
            return emitter.report_call(contact=contact, **variables)

        async def run():
            if lookup is not None:
                await asyncio.wait([lookup])
            await self.loop.run_in_executor(None, report)

        asyncio.ensure_future(run())


def report_variables(pbx, call):
    """The ReportCall variables 3CX fills (docs/3cx-api.md §5); the open formats are guessed."""
    inbound = call.direction == "Inbound"
    answered = call.answered_at is not None
    call_type = ("Inbound" if answered else "Missed") if inbound else (
        "Outbound" if answered else "Notanswered")
    agent = pbx.dns.get(call.answered_by if call.answered_by in pbx.dns else call.agent_dn)
    talk = sum(end - start for start, end, *_ in call.segments)

    def utc(epoch):
        return "" if epoch is None else time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch))

    hours, rest = divmod(int(talk), 3600)
    queue = pbx.dns.get(call.callee)
    return {
        "Number": call.caller if inbound else call.callee,
        "CallType": call_type,
        "CallDirection": call.direction,
        "Name": call.caller_name if inbound else "",
        "Agent": agent.number if agent else "",
        "AgentFirstName": agent.first_name if agent else "",
        "AgentLastName": agent.last_name if agent else "",
        "AgentEmail": agent.email if agent else "",
        "Duration": f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}",
        "DateTime": utc(call.started_at),
        "CallStartTimeUTC": utc(call.started_at),
        "CallEstablishedTimeUTC": utc(call.answered_at),
        "CallEndTimeUTC": utc(call.ended_at),
        "QueueExtension": queue.number if queue is not None and queue.type == state.QUEUE
        else "",
        "RecordingUrl": (f"/xapi/v1/Recordings/Pbx.DownloadRecording(recId={call.recording_id})"
                         if call.recording_id else ""),
    }


GARBAGE = (
    "not json at all",
    '{"sequence": 1, "event": {"event_type": "0", "entity": "/callcontrol/100"}}',
    '{"sequence": 2}',
    '{"sequence": 3, "event": {"event_type": 9, "entity": "/callcontrol/100"}}',
    '{"sequence": 4, "event": {"event_type": 0, "entity": "/elsewhere/1"}}',
    "[1, 2, 3]",
)


def _tone(phase, hz=440.0, amplitude=8000):
    samples = AUDIO_CHUNK // 2
    step = 2 * math.pi * hz / 8000
    data = struct.pack(f"<{samples}h", *(int(amplitude * math.sin(phase + i * step))
                                         for i in range(samples)))
    return data, (phase + samples * step) % (2 * math.pi)


def _leg_id(path):
    parts = path.split("/")
    if len(parts) == 5 and parts[3] == "participants" and parts[4].isdigit():
        return int(parts[4])
    return None


def _int(text, name):
    try:
        return int(text)
    except (TypeError, ValueError):
        raise SimError(404, f"{name} {text!r} not found") from None


def _cc_error(status, reason, config):
    final = -1 if config.finalstatus == "number" else FINAL_NAMES[-1]
    return web.json_response({"finalstatus": final, "reason": "Failed", "reasontext": reason},
                             status=status)


def _odata_error(status, code, message):
    return web.json_response({"error": {"code": code, "message": message, "details": []}},
                             status=status)


async def _json_errors(handler, request):
    try:
        return await handler(request)
    except SimError as exc:
        return web.json_response({"error": exc.reason}, status=exc.status)
    except (KeyError, TypeError, ValueError) as exc:
        return web.json_response({"error": f"bad control request: {exc}"}, status=400)


def default_topology(pbx):
    """Three realtors, a team queue and the integration's route point (matches the demo)."""
    pbx.add_dn("100", first_name="Mitchell", last_name="Admin", email="admin@example.com",
               mobile="+15550100100")
    pbx.add_dn("101", first_name="Marc", last_name="Demo", email="mark.brown23@example.com",
               mobile="+15550100101", devices=2)
    pbx.add_dn("102", first_name="Morgan", last_name="Manager",
               email="morgan.manager@example.com", mobile="+15550100102")
    pbx.add_dn("800", state.QUEUE, first_name="Sales", last_name="Team",
               members=("100", "101", "102"))


def self_signed_context(host):
    """A TLS context with a throwaway self-signed certificate (for ``--tls``)."""
    import datetime
    import tempfile

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "3CX simulator")])
    now = datetime.datetime.now(datetime.timezone.utc)
    import ipaddress

    alt = [x509.DNSName("localhost")]
    try:
        alt.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        alt.append(x509.DNSName(host))
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .sign(key, hashes.SHA256()))
    folder = tempfile.mkdtemp(prefix="r3cx-sim-tls-")
    certfile, keyfile = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    with open(certfile, "wb") as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(keyfile, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM,
                                   serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    return certfile, keyfile


def ssl_context(config):
    if not config.tls:
        return None
    if not config.certfile:
        config.certfile, config.keyfile = self_signed_context(config.host)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(config.certfile, config.keyfile)
    return context


class SimulatorThread:
    """Run a :class:`Simulator` on its own loop in a daemon thread (tests, the Odoo test suite).

    >>> with SimulatorThread(SimConfig(port=0, speed=0.05)) as sim:  # doctest: +SKIP
    ...     requests.post(sim.url + "/_sim/calls/inbound", json={...}, timeout=5)
    """

    def __init__(self, config=None, **kwargs):
        self.simulator = Simulator(config or SimConfig(port=0), **kwargs)
        self.config = self.simulator.config
        self.url = None
        self._thread = None
        self._loop = None
        self._runner = None
        self._ready = threading.Event()
        self._error = None

    def start(self):
        self._thread = threading.Thread(target=self._run, name="3cx-simulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(10) or self._error:
            raise RuntimeError(f"simulator did not start: {self._error}")
        return self

    def _run(self):
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._start())
        except Exception as exc:  # reported by start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        # Demo traffic, routeto waits, CRM reports: end them rather than leave them dangling.
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()

    async def _start(self):
        self._runner = web.AppRunner(self.simulator.app, access_log=None,
                                     handle_signals=False, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port,
                           ssl_context=ssl_context(self.config))
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        scheme = "https" if self.config.tls else "http"
        self.url = f"{scheme}://{self.config.host}:{port}"

    def call(self, fn, *args, **kwargs):
        """Run ``fn`` on the simulator's loop and return its result (thread-safe)."""
        async def run():
            return fn(*args, **kwargs)
        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)

    def stop(self):
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
