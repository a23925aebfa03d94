# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Browser-call media in a process of its own: one child process per 3CX server session.

What
    A browser call's bridge (:mod:`.media`: ICE, DTLS, Opus <-> 8 kHz PCM, the 3CX audio
    streams) is per-frame Python work, 50 times a second each way. In the worker process it
    competed with the event pipeline for the interpreter (the GIL): with five browser calls a
    minute beside 500 events/s, the other calls' ringing notifications waited behind it (the
    README's pipeline figures). :class:`MediaProcess` runs every bridge of one server session
    in a child process, ``python -m realtor_3cx.worker.media_process``, started at the session's
    first browser call (so a worker that makes none never loads aiortc or PyAV) and stopped
    with the session.

How it works
    The two talk in JSON lines over the child's stdin and stdout (stray prints of a library go
    to stderr, the worker's log). The worker asks ``up`` (a bridge for a route point leg,
    answering an offer, optionally in place of an earlier bridge of the same leg) and ``down``;
    the child answers each, and says ``closed`` when a bridge closes by itself (the browser's
    peer went away, 3CX ended the far end's audio). 3CX keeps one token per integration alive
    (docs/3cx-api.md §1), so the child never mints one: it borrows the worker's (``token``,
    with the token that got a 401 if any) and tells the worker while its audio streams are open
    (``streaming``), so that the worker's early refresh does not cut them.

    The child dies with the worker: the end of its stdin (the worker stopped, or was killed)
    closes its bridges and ends it. If the child dies first (a crash in a codec, the OOM
    killer), every request waiting for it fails and every bridge of it is marked closed with
    the reason (:attr:`RemoteBridge.reason`); :attr:`MediaProcess.ended` says so to the session,
    which ends those calls and starts a new child for the next one. The event pipeline is not
    affected.

Caveats
    A bridge's byte counts reach the worker when it closes (``down`` and ``closed`` carry them),
    not while it runs.
"""

import concurrent.futures
import contextlib
import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

_logger = logging.getLogger(__name__)

# python -m of this module, whether the worker imported the addon as realtor_3cx or as
# odoo.addons.realtor_3cx (its __init__ loads no Odoo under the plain name)
CHILD_MODULE = __name__.removeprefix("odoo.addons.")
ADDON_PARENT = str(Path(__file__).resolve().parents[2])
STOP_WAIT = 10.0  # seconds a stopping child gets to close its bridges before it is killed
TOKEN_WAIT = 30.0  # seconds the child waits for the worker's token (it may be minting one)


class MediaCrashed(RuntimeError):
    """The media process ended while a request or a bridge needed it."""


class RemoteBridge:
    """The worker's handle on one bridge in the media process.

    ``closed`` is set when the bridge closed by itself or was closed, or its process ended
    (``reason`` then says why); ``stats`` and ``connection_state`` are the last the child sent.
    """

    def __init__(self, media, bridge_id, leg_id):
        self.media = media
        self.id = bridge_id
        self.leg_id = leg_id
        self.closed = threading.Event()
        self.reason = ""
        self.connection_state = "new"
        self.stats = {"to_pbx_bytes": 0, "from_pbx_bytes": 0}

    def __repr__(self):
        return f"<RemoteBridge {self.id} leg {self.leg_id} {self.connection_state}>"

    def close(self):
        """Close the bridge in its process; a future done once it is closed (threads joined)."""
        return self.media.close(self)

    def _update(self, message):
        self.connection_state = message.get("state") or self.connection_state
        self.stats.update(message.get("stats") or {})


class MediaProcess:
    """One child process holding the bridges of one server session (see the module docs).

    :param tokens: the session's :class:`~realtor_3cx.threecx.auth.TokenManager`, lent out
    :param setup_timeout: seconds for a browser peer's answer (ICE gathering, DTLS set-up)
    """

    def __init__(self, name, tokens, route_point, ice_servers=(), setup_timeout=20.0,
                 timeout=None):
        self.name = name
        self.tokens = tokens
        self.ended = concurrent.futures.Future()  # result: why the child ended
        self._bridges = {}  # bridge id -> RemoteBridge
        self._pending = {}  # request id -> (future, what it answers to)
        self._streams = []  # the worker's token held for the child's open audio streams
        self._ids = itertools.count(1)
        self._lock = threading.Lock()  # _pending, _bridges, writes to the pipe
        self._stopping = False
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            p for p in (ADDON_PARENT, os.environ.get("PYTHONPATH")) if p))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", CHILD_MODULE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env=env, text=True, bufsize=1, close_fds=True)
        self._send({"base_url": tokens.base_url, "verify": tokens.verify,
                    "timeout": timeout or tokens.timeout, "route_point": str(route_point),
                    "ice_servers": list(ice_servers), "setup_timeout": setup_timeout,
                    "log_level": logging.getLogger(
                        __name__).getEffectiveLevel()})
        self._reader = threading.Thread(target=self._read, name=f"{name}-media-reader",
                                        daemon=True)
        self._reader.start()
        _logger.info("worker: browser-call media process %s started for %s", self.proc.pid,
                     name)

    @property
    def alive(self):
        return not self.ended.done() and self.proc.poll() is None

    # -- requests ---------------------------------------------------------------------------

    def open(self, leg_id, offer, previous=None):
        """A bridge for the route point's ``leg_id`` answering ``offer`` (in place of
        ``previous``, a bridge of the same leg, closed first): a future of
        ``(RemoteBridge, answer SDP)``. Cancelling it stops the set-up."""
        future = self._request("up", {"leg": leg_id, "offer": offer,
                                      "previous": previous.id if previous else None},
                               leg_id=leg_id)
        future.add_done_callback(self._cancelled_set_up)
        return future

    def close(self, bridge):
        """A future done once ``bridge`` is closed in the child (at once if the child is gone)."""
        if self.ended.done():
            future = concurrent.futures.Future()
            future.set_result(None)
            return future
        return self._request("down", {"bridge": bridge.id}, bridge=bridge)

    def stop(self, timeout=STOP_WAIT):
        """End the child: it closes its bridges, then exits (killed after ``timeout``)."""
        self._stopping = True
        with contextlib.suppress(OSError, ValueError):
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _logger.warning("worker: media process %s did not stop in %s s: killed",
                            self.proc.pid, timeout)
            self.proc.kill()
            self.proc.wait()
        self._reader.join(5)

    def _request(self, op, fields, **context):
        future = concurrent.futures.Future()
        with self._lock:
            request_id = next(self._ids)
            self._pending[request_id] = (future, context)
        if not self._send({"op": op, "req": request_id, **fields}):
            with self._lock:
                self._pending.pop(request_id, None)
            future.set_exception(MediaCrashed(self._why()))
        future.request_id = request_id
        return future

    def _cancelled_set_up(self, future):
        if future.cancelled():
            self._send({"op": "cancel", "req": future.request_id})

    def _send(self, message):
        line = json.dumps(message) + "\n"
        with self._lock:
            try:
                self.proc.stdin.write(line)
                self.proc.stdin.flush()
            except (OSError, ValueError):  # the child is gone (or stopping): its reader says
                return False
        return True

    # -- the child's messages (the reader thread) -------------------------------------------

    def _read(self):
        try:
            for line in self.proc.stdout:
                try:
                    message = json.loads(line)
                    self._handle(message)
                except Exception:  # a fault of ours on one message must not deafen the reader
                    _logger.exception("worker: media process message not handled: %.200s",
                                      line)
        finally:
            self._gone()

    def _handle(self, message):
        op = message.get("op")
        if op == "token":
            # The child's request got a 401 with ``stale`` (or it has none yet): the worker's
            # one token, re-minted only if ``stale`` is still the current one.
            if message.get("stale"):
                self.tokens.invalidate(message["stale"])
            try:
                self._send({"op": "token", "req": message["req"], "token": self.tokens.token()})
            except Exception as exc:  # 3CX refuses to mint: the child's request fails
                self._send({"op": "token", "req": message["req"], "token": None,
                            "error": str(exc) or type(exc).__name__})
            return
        if op == "streaming":
            if message["open"]:
                hold = self.tokens.streaming()
                hold.__enter__()
                self._streams.append(hold)
            elif self._streams:
                self._streams.pop().__exit__(None, None, None)
            return
        if op == "closed":
            bridge = self._bridges.pop(message["bridge"], None)
            if bridge is not None:
                bridge._update(message)
                bridge.closed.set()
            return
        with self._lock:
            future, context = self._pending.pop(message["req"], (None, {}))
        if op == "up":
            bridge = RemoteBridge(self, message["bridge"], context.get("leg_id"))
            bridge._update(message)
            self._bridges[bridge.id] = bridge
            try:
                future.set_result((bridge, message["answer"]))
            except (AttributeError, concurrent.futures.InvalidStateError):
                self.close(bridge)  # the set-up was given up meanwhile: nobody has it
        elif op == "failed":
            with contextlib.suppress(AttributeError, concurrent.futures.InvalidStateError):
                future.set_exception(RuntimeError(message.get("error") or "set-up failed"))
        elif op == "down":
            bridge = context.get("bridge")
            if bridge is not None:
                bridge._update(message)
                bridge.closed.set()
                self._bridges.pop(bridge.id, None)
            with contextlib.suppress(AttributeError, concurrent.futures.InvalidStateError):
                future.set_result(None)

    def _why(self):
        code = self.proc.poll()
        if self._stopping:
            return "the media process was stopped"
        return f"the browser-call media process ended (exit code {code})"

    def _gone(self):
        """The child's stdout ended: it exited (or crashed). Everything that waits on it is
        told, every bridge of it is closed, and ``ended`` says why."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        reason = self._why()
        if not self._stopping:
            _logger.warning("worker: %s; its %s browser call(s) end", reason,
                            len(self._bridges))
        with self._lock:
            pending, self._pending = self._pending, {}
        for future, context in pending.values():
            if context.get("bridge") is not None:  # a close: the process is gone, so is it
                with contextlib.suppress(concurrent.futures.InvalidStateError):
                    future.set_result(None)
            else:
                with contextlib.suppress(concurrent.futures.InvalidStateError):
                    future.set_exception(MediaCrashed(reason))
        for bridge in list(self._bridges.values()):
            bridge.reason = reason
            bridge.connection_state = "closed"
            bridge.closed.set()
        while self._streams:
            self._streams.pop().__exit__(None, None, None)
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            self.ended.set_result(reason)


# -- the child -------------------------------------------------------------------------------


class BorrowedTokens:
    """The worker's token, as :class:`~realtor_3cx.threecx.rest.Api` uses a TokenManager: asked
    for over the pipe, cached until a 401 (then the worker re-mints, once for every process)."""

    def __init__(self, child, base_url, verify, timeout):
        import requests

        self.child = child
        self.base_url = base_url
        self.verify = verify
        self.timeout = timeout
        self.session = requests.Session()
        self._token = None
        self._stale = None
        self._lock = threading.Lock()

    def token(self):
        with self._lock:
            if self._token is None:
                answer = self.child.ask({"op": "token", "stale": self._stale}, TOKEN_WAIT)
                if not answer.get("token"):
                    from ..threecx.errors import AuthenticationError

                    raise AuthenticationError(answer.get("error") or "no token from the worker")
                self._token = answer["token"]
            return self._token

    def invalidate(self, token):
        with self._lock:
            if self._token == token:
                self._token, self._stale = None, token

    @contextlib.contextmanager
    def streaming(self):
        self.child.send({"op": "streaming", "open": True})
        try:
            yield
        finally:
            self.child.send({"op": "streaming", "open": False})


class MediaChild:
    """The child's side: one asyncio loop for its bridges, requests read in a thread."""

    def __init__(self, settings, out):
        import asyncio

        from ..threecx.rest import CallControl

        self.settings = settings
        self._out = out
        self._out_lock = threading.Lock()
        self._asks = {}  # request id -> [threading.Event, answer]
        self._ask_ids = itertools.count(1)
        self.loop = asyncio.new_event_loop()
        self.tokens = BorrowedTokens(self, settings["base_url"], settings["verify"],
                                     tuple(settings["timeout"]))
        self.callcontrol = CallControl(self.tokens, timeout=tuple(settings["timeout"]))
        self.bridges = {}  # bridge id -> StreamBridge
        self.set_ups = {}  # request id -> the task setting a bridge up
        self._ids = itertools.count(1)

    def send(self, message):
        with self._out_lock:
            self._out.write(json.dumps(message) + "\n")
            self._out.flush()

    def ask(self, message, timeout):
        """Ask the worker from a bridge thread; its answer (read by :meth:`listen`)."""
        ask_id = f"c{next(self._ask_ids)}"
        waiting = self._asks[ask_id] = [threading.Event(), {}]
        self.send({**message, "req": ask_id})
        if not waiting[0].wait(timeout):
            self._asks.pop(ask_id, None)
            return {"error": "the worker did not answer"}
        return waiting[1]

    def listen(self, stdin):
        """The worker's lines, until the pipe ends (the worker stopped or died)."""
        for line in stdin:
            message = json.loads(line)
            waiting = self._asks.pop(message.get("req"), None) if message.get(
                "op") == "token" else None
            if waiting is not None:
                waiting[1] = message
                waiting[0].set()
            else:
                self.loop.call_soon_threadsafe(self.handle, message)
        self.loop.call_soon_threadsafe(lambda: self.loop.create_task(self.quit()))

    def handle(self, message):
        op = message["op"]
        if op == "up":
            self.set_ups[message["req"]] = self.loop.create_task(self.up(message))
        elif op == "down":
            self.loop.create_task(self.down(message))
        elif op == "cancel":
            task = self.set_ups.get(message["req"])
            if task is not None:
                task.cancel()

    async def up(self, message):
        import asyncio

        from .media import StreamBridge

        request_id = message["req"]
        try:
            previous = self.bridges.pop(message.get("previous"), None)
            if previous is not None:
                # One pair of streams per leg: the old one closes before the new one opens
                # (3CX would share the far end's audio between two readers).
                await previous.close()
            bridge = StreamBridge(self.callcontrol, self.settings["route_point"], message["leg"],
                                  ice_servers=self.settings["ice_servers"])
            try:
                answer = await asyncio.wait_for(bridge.accept(message["offer"]),
                                                self.settings["setup_timeout"])
            except BaseException:
                await bridge.close()
                raise
        except BaseException as exc:  # a bad offer, ICE that never completes, a cancel
            _logger.info("media: set-up %s failed: %s", request_id,
                         str(exc) or type(exc).__name__)
            self.send({"op": "failed", "req": request_id,
                       "error": str(exc) or type(exc).__name__})
            if not isinstance(exc, Exception):
                raise
            return
        finally:
            self.set_ups.pop(request_id, None)
        bridge_id = next(self._ids)
        self.bridges[bridge_id] = bridge
        bridge.on_close = lambda: self.send({"op": "closed", "bridge": bridge_id,
                                             **self._figures(bridge)})
        self.send({"op": "up", "req": request_id, "bridge": bridge_id, "answer": answer,
                   **self._figures(bridge)})
        if bridge.closed.is_set():  # closed by itself before anyone listened
            bridge.on_close()

    async def down(self, message):
        bridge = self.bridges.pop(message["bridge"], None)
        figures = {}
        if bridge is not None:
            try:
                await bridge.close()
            except Exception:  # closed as far as it could: the worker is told either way
                _logger.exception("media: bridge %s did not close cleanly", message["bridge"])
            figures = self._figures(bridge)
        self.send({"op": "down", "req": message["req"], **figures})

    @staticmethod
    def _figures(bridge):
        return {"state": bridge.pc.connectionState,
                "stats": {k: bridge.stats[k] for k in ("to_pbx_bytes", "from_pbx_bytes")}}

    async def quit(self):
        """The worker is gone or stops: close every bridge and end."""
        for task in list(self.set_ups.values()):
            task.cancel()
        for bridge in list(self.bridges.values()):
            with contextlib.suppress(Exception):
                await bridge.close()
        self.loop.stop()


def main():
    # Our stdout is the pipe to the worker: anything else printed goes to stderr (its log).
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    # Ctrl-C in a terminal reaches the whole process group: the worker decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    settings = json.loads(sys.stdin.readline() or "null")
    if settings is None:
        return 0
    logging.basicConfig(level=settings["log_level"], stream=sys.stderr,
                        format="%(asctime)s %(process)d %(levelname)s media %(name)s: "
                               "%(message)s")
    child = MediaChild(settings, out)
    reader = threading.Thread(target=child.listen, args=(sys.stdin,), name="media-requests",
                              daemon=True)
    reader.start()
    try:
        child.loop.run_forever()
    finally:
        child.loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
