# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""3CX V20 Call Control REST and audio streams (docs/3cx-api.md §2).

:class:`Api` is the authenticated transport XAPI shares: Bearer token from the one
:class:`~.auth.TokenManager`, one re-mint on a 401, HTTP errors raised as typed
:mod:`.errors` with 3CX's reason text. :class:`CallControl` adds the endpoints: snapshot, DNs,
devices, participants, makecall, participant actions and audio.

Action bodies are always JSON (``{}`` when empty): 3CX rejected empty bodies without a JSON
content type. ``finalstatus`` may be a number or a name; Failed or Rejected raise
:class:`~.errors.ActionFailed`.
"""

import logging
import time
from dataclasses import dataclass
from urllib.parse import quote

from .auth import TIMEOUT, send
from .errors import ActionFailed, InvalidRequestError, NotFoundError, ResponseError, api_error
from .protocol import FinalStatus, ProtocolError, parse_final_status, parse_participant

_logger = logging.getLogger(__name__)

AUDIO_BYTES_PER_SECOND = 16000  # s16le, 8 kHz, mono
AUDIO_CHUNK = 320  # 20 ms
STREAM_TIMEOUT = (5, 30)  # audio: the read timeout is the longest silence tolerated


@dataclass(frozen=True)
class Device:
    dn: str
    device_id: str
    user_agent: str


@dataclass(frozen=True)
class DnState:
    dn: str
    type: str
    devices: tuple
    participants: tuple


@dataclass(frozen=True)
class ActionResult:
    final_status: FinalStatus
    reason: str
    reasontext: str
    participant: object  # protocol.Participant or None


def _segment(value):
    # Device ids are opaque and carry ':' ';' '@' (docs/3cx-api.md §2): encode everything.
    return quote(str(value), safe="")


class Api:
    """Authenticated JSON requests against one PBX. Thread-safe (requests sessions are)."""

    def __init__(self, tokens, *, timeout=TIMEOUT):
        self.tokens = tokens
        self.base_url = tokens.base_url
        self.session = tokens.session
        self.verify = tokens.verify
        self.timeout = timeout

    def request(self, method, path, *, json=None, params=None, stream=False, data=None,
                headers=None, timeout=None):
        """One request; a 401 invalidates the token and is retried once with a new one.

        :raises errors.ApiError: on any other status >= 400 (subclass by status)
        """
        url = self.base_url + path
        for attempt in (1, 2):
            token = self.tokens.token()
            all_headers = {"Authorization": f"Bearer {token}", **(headers or {})}
            response = send(self.session, method, url, json=json, params=params, data=data,
                            stream=stream, headers=all_headers, verify=self.verify,
                            timeout=timeout or self.timeout)
            if response.status_code == 401 and attempt == 1:
                response.close()
                _logger.info("3CX answered 401 on %s %s: minting a new token", method, path)
                self.tokens.invalidate(token)
                continue
            if response.status_code >= 400:
                reason = _reason(response)
                response.close()
                raise api_error(response.status_code, reason, method=method, path=path)
            return response
        raise AssertionError("unreachable")  # the loop returns or raises

    def get_json(self, path, **kwargs):
        response = self.request("GET", path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ResponseError(f"GET {path} did not return JSON") from None


def _reason(response):
    """3CX's explanation: ``reasontext`` (Call Control), OData ``message`` or OAuth text."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200]
    if isinstance(body, dict):
        if isinstance(body.get("error"), dict):
            return str(body["error"].get("message") or body["error"].get("code") or "")
        for key in ("reasontext", "reason", "error_description", "error", "message"):
            if body.get(key):
                return str(body[key])
    return ""


class CallControl(Api):
    """``/callcontrol``: live calls on the DNs the integration may see."""

    def __init__(self, tokens, **kwargs):
        super().__init__(tokens, **kwargs)
        self._first_devices = {}  # dn -> the device id its last call from a device used

    # -- state ------------------------------------------------------------------------------

    def snapshot(self):
        """Every visible DN with its devices and participants (:class:`DnState` list)."""
        body = self.get_json("/callcontrol")
        if not isinstance(body, list):
            raise ResponseError("GET /callcontrol did not return a list")
        return [self._dn_state(item) for item in body]

    def dn(self, dn):
        return self._dn_state(self.get_json(f"/callcontrol/{_segment(dn)}"))

    def devices(self, dn):
        return [_device(d) for d in self._list(f"/callcontrol/{_segment(dn)}/devices")]

    def device(self, dn, device_id):
        return _device(self.get_json(f"/callcontrol/{_segment(dn)}/devices/"
                                     f"{_segment(device_id)}"))

    def participants(self, dn):
        return [_participant(p) for p in self._list(f"/callcontrol/{_segment(dn)}/participants")]

    def participant(self, dn, participant_id):
        return _participant(self.get_json(
            f"/callcontrol/{_segment(dn)}/participants/{int(participant_id)}"))

    def entity(self, path):
        """``GET`` of a WebSocket entity path (what an Upset asks the client to read)."""
        if not path.startswith("/callcontrol/"):
            raise ResponseError(f"{path!r} is not a Call Control entity")
        return self.get_json(path)

    def _list(self, path):
        body = self.get_json(path)
        if not isinstance(body, list):
            raise ResponseError(f"GET {path} did not return a list")
        return body

    def _dn_state(self, body):
        if not isinstance(body, dict) or not body.get("dn"):
            raise ResponseError("a DN state without 'dn'")
        return DnState(
            dn=str(body["dn"]),
            type=str(body.get("type") or ""),
            devices=tuple(_device(d) for d in body.get("devices") or ()),
            participants=tuple(_participant(p) for p in body.get("participants") or ()),
        )

    # -- calls ------------------------------------------------------------------------------

    def makecall(self, dn, destination, *, device_id=None, timeout=None, attached_data=None,
                 reason=None):
        """Call ``destination`` from ``dn`` (from one of its devices when ``device_id``).

        The returned participant is the caller's own leg on ``dn``: drop or stream it.
        A stale ``device_id`` (the phone re-registered) raises :class:`~.errors.NotFoundError`.
        """
        body = {"destination": str(destination)}
        if timeout is not None:
            body["timeout"] = int(timeout)
        if attached_data:
            body["attacheddata"] = {str(k): str(v) for k, v in attached_data.items()}
        if reason:
            body["reason"] = reason
        path = f"/callcontrol/{_segment(dn)}"
        if device_id:
            path += f"/devices/{_segment(device_id)}"
        return self._action(f"{path}/makecall", body)

    def makecall_from_device(self, dn, destination, **kwargs):
        """Call ``destination`` from ``dn``'s first device, the way 3CX's sample campaign and
        IVR apps call from a route point or a queue (docs/3cx-api.md §9); the keyword
        arguments are :meth:`makecall`'s.

        The device id is read once and kept. A 404 on a kept id (the DN's device registered
        again) reads the devices again and tries once more. When the device form is refused
        (404 or 422) or the DN lists no device, the call is placed with the DN form, which
        3CX's samples do not use from a route point: logged, as it should not happen.
        """
        dn = str(dn)
        kept = self._first_devices.get(dn)
        device_id = kept or self._first_device_id(dn)
        refused = "it lists no device"
        while device_id:
            try:
                result = self.makecall(dn, destination, device_id=device_id, **kwargs)
            except NotFoundError as exc:
                self._first_devices.pop(dn, None)
                if device_id == kept:  # stale: the one the DN has now
                    kept, device_id = None, self._first_device_id(dn)
                    refused = "it lists no device"
                    continue
                refused = exc.reason or exc
            except InvalidRequestError as exc:
                refused = exc.reason or exc
            else:
                self._first_devices[dn] = device_id
                return result
            break
        _logger.warning("3CX did not place the call from DN %s's device (%s): placing it from "
                        "the DN itself", dn, refused)
        return self.makecall(dn, destination, **kwargs)

    def _first_device_id(self, dn):
        try:
            devices = self.devices(dn)
        except NotFoundError:
            return None
        return devices[0].device_id if devices else None

    def drop(self, dn, participant_id):
        return self._participant_action(dn, participant_id, "drop", {})

    def answer(self, dn, participant_id):
        return self._participant_action(dn, participant_id, "answer", {})

    def divert(self, dn, participant_id, destination, *, reason=None, timeout=None):
        """Send a *ringing* leg elsewhere (voicemail, a colleague, a mobile)."""
        return self._participant_action(dn, participant_id, "divert",
                                        _routing(destination, reason, timeout))

    def routeto(self, dn, participant_id, destination, *, reason=None, timeout=None):
        """Route a route-point leg onward; 3CX answers once delivery is decided (up to 90 s)."""
        return self._participant_action(dn, participant_id, "routeto",
                                        _routing(destination, reason, timeout),
                                        timeout=(TIMEOUT[0], 95))

    def transferto(self, dn, participant_id, destination, *, reason=None, timeout=None):
        """Blind-transfer a *connected* leg."""
        return self._participant_action(dn, participant_id, "transferto",
                                        _routing(destination, reason, timeout))

    def attach_data(self, dn, participant_id, data, *, party=False):
        """Attach key/value data to the leg (or, ``party=True``, to the other party)."""
        action = "attach_party_data" if party else "attach_participant_data"
        return self._participant_action(dn, participant_id, action, {
            "attacheddata": {str(k): str(v) for k, v in data.items()}})

    def _participant_action(self, dn, participant_id, action, body, timeout=None):
        path = f"/callcontrol/{_segment(dn)}/participants/{int(participant_id)}/{action}"
        return self._action(path, body, timeout=timeout)

    def _action(self, path, body, timeout=None):
        response = self.request("POST", path, json=body, timeout=timeout)
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        if not isinstance(payload, dict):
            raise ResponseError(f"POST {path} did not return an object")
        try:
            final = (parse_final_status(payload["finalstatus"]) if "finalstatus" in payload
                     else FinalStatus.SUCCESS)
        except ProtocolError as exc:
            raise ResponseError(f"POST {path}: {exc}") from None
        reason, reasontext = str(payload.get("reason") or ""), str(payload.get("reasontext")
                                                                 or "")
        if final != FinalStatus.SUCCESS:
            raise ActionFailed(final, reason, reasontext)
        result = payload.get("result")
        return ActionResult(final, reason, reasontext,
                            _participant(result) if isinstance(result, dict) and "id" in result
                            else None)

    # -- audio ------------------------------------------------------------------------------

    def open_audio(self, dn, participant_id, *, chunk_size=AUDIO_CHUNK):
        """The participant's audio as an iterator of s16le 8 kHz mono chunks.

        3CX answers 424 until the leg has media (:class:`~.errors.NoMediaError`); the stream
        ends when the leg does. Close the returned :class:`AudioIn` to stop early.
        """
        path = f"/callcontrol/{_segment(dn)}/participants/{int(participant_id)}/stream"
        hold = self.tokens.streaming()
        hold.__enter__()
        try:
            response = self.request("GET", path, stream=True, timeout=STREAM_TIMEOUT)
        except BaseException:
            hold.__exit__(None, None, None)
            raise
        return AudioIn(response, chunk_size, hold)

    def send_audio(self, dn, participant_id, chunks, *, pace=True):
        """POST audio chunks to the participant as one chunked stream, paced at real time.

        ``chunks`` is any iterable of ``bytes``; each must hold whole 16-bit samples. The
        stream ends (and playback with it) when the iterable is exhausted.
        :returns: the number of bytes sent
        """
        sent = [0]

        def body():
            start = time.monotonic()
            for chunk in chunks:
                if len(chunk) % 2:
                    raise ValueError("audio chunks must hold whole 16-bit samples")
                yield bytes(chunk)
                sent[0] += len(chunk)
                if pace:
                    # Stay at most 100 ms ahead of real time, as 3CX's sample does (500 ms).
                    ahead = start + sent[0] / AUDIO_BYTES_PER_SECOND - time.monotonic() - 0.1
                    if ahead > 0:
                        time.sleep(ahead)

        path = f"/callcontrol/{_segment(dn)}/participants/{int(participant_id)}/stream"
        with self.tokens.streaming():
            response = self.request("POST", path, data=body(), timeout=STREAM_TIMEOUT,
                                    headers={"Content-Type": "application/octet-stream"})
            response.close()
        return sent[0]


class AudioIn:
    """Iterator over an open GET audio stream; a context manager that closes it."""

    def __init__(self, response, chunk_size, hold):
        self._response = response
        self._chunks = response.iter_content(chunk_size=chunk_size)
        self._hold = hold
        self.bytes = 0

    def __iter__(self):
        return self

    def __next__(self):
        try:
            chunk = next(self._chunks)
        except StopIteration:
            self.close()
            raise
        except Exception:  # urllib3 wrappers on a cut connection: the stream is simply over
            self.close()
            raise StopIteration from None
        self.bytes += len(chunk)
        return chunk

    def close(self):
        # Idempotent, and safe from another thread (closing is how a reader is interrupted).
        hold, self._hold = self._hold, None
        if hold is not None:
            self._response.close()
            hold.__exit__(None, None, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _routing(destination, reason, timeout):
    body = {"destination": str(destination)}
    if reason:
        body["reason"] = reason
    if timeout is not None:
        body["timeout"] = int(timeout)
    return body


def _device(body):
    if not isinstance(body, dict) or not body.get("device_id"):
        raise ResponseError("a device without 'device_id'")
    return Device(dn=str(body.get("dn") or ""), device_id=str(body["device_id"]),
                  user_agent=str(body.get("user_agent") or ""))


def _participant(body):
    try:
        return parse_participant(body)
    except ProtocolError as exc:
        raise ResponseError(str(exc)) from None
