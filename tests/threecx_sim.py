# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Helpers for tests that run the 3CX client against the simulator.

>>> with running_simulator() as sim:                       # doctest: +SKIP
...     control(sim, "calls/inbound", {"from": "+15550108001", "to": "100"})
...     wait_for(lambda: mirror.calls(), "the ringing leg")

The simulator listens on 127.0.0.1 on a free port and stops with the ``with`` block. PBX delays
run at ``SPEED`` (a 20 s ring takes 1 s); ``REALTOR_3CX_TEST_SPEED`` overrides it on a slow
machine. :class:`SimulatorProcess` runs it as its own program instead, to restart it as a PBX
restarts (same address, its call log kept in a state file).
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from realtor_3cx.threecx.events import backoff_delays
from realtor_3cx.threecx.simulator.server import SimConfig, SimulatorThread

SPEED = float(os.environ.get("REALTOR_3CX_TEST_SPEED", "0.05"))
SECRET = "simulator-secret"
TIMEOUT = 10


@contextlib.contextmanager
def running_simulator(**config):
    values = {"port": 0, "speed": SPEED, "client_secret": SECRET, **config}
    with SimulatorThread(SimConfig(**values)) as sim:
        yield sim


def control(sim, path, body=None, method="POST"):
    """Call the simulator's control API; returns the decoded JSON, asserting a 2xx."""
    response = requests.request(method, f"{sim.url}/_sim/{path}", json=body, timeout=TIMEOUT,
                                verify=False)
    assert response.status_code < 300, f"{path}: {response.status_code} {response.text}"
    return response.json()


def wait_for(predicate, what, timeout=5.0):
    """Poll ``predicate`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def fast_backoff():
    return backoff_delays(base=0.05, cap=0.2)


@contextlib.contextmanager
def streaming(client, mirror=None, **kwargs):
    """Run an EventStream (feeding ``mirror``) in a thread for the ``with`` block."""
    mirror = mirror or client.mirror()
    stream = client.events(mirror.handle, on_snapshot=mirror.apply_snapshot,
                           backoff=fast_backoff, **kwargs)
    errors = []

    def run():
        try:
            stream.run()
        except Exception as exc:  # surfaced to the test through stream.error
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    stream.errors = errors
    stream.mirror = mirror
    try:
        wait_for(lambda: stream.stats.connected or errors, "the event stream to connect")
        yield stream
    finally:
        stream.stop()
        thread.join(5)


class SimulatorProcess:
    """``python -m realtor_3cx.threecx.simulator`` as its own process, restartable.

    It listens on 127.0.0.1 on the same port across restarts and keeps its call log in
    ``state_file``; it exits by itself if this process dies (``--parent-pid``).

    >>> sim = SimulatorProcess(tmp / "sim.log", tmp / "pbx.json",
    ...                        "--speed", "0.05")  # doctest: +SKIP
    >>> sim.start(); control(sim, "calls/inbound", {...}); sim.restart(); sim.stop()
    """

    def __init__(self, log_path, state_file, *args):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path, self.state_file, self.args = Path(log_path), Path(state_file), args
        self.proc = None
        self.restarts = 0

    def start(self, timeout=30):
        log = open(self.log_path, "a")  # noqa: SIM115 (the child holds it; closed below)
        with log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "realtor_3cx.threecx.simulator", "--port", str(self.port),
                 "--client-secret", SECRET, "--state-file", str(self.state_file),
                 "--parent-pid", str(os.getpid()), *self.args],
                cwd=Path(__file__).resolve().parent.parent, stdout=log, stderr=subprocess.STDOUT)

        def up():
            assert self.proc.poll() is None, f"the simulator exited: see {self.log_path}"
            with contextlib.suppress(requests.ConnectionError):
                return requests.get(f"{self.url}/_sim/stats", timeout=2).ok
            return False

        wait_for(up, "the simulator to listen", timeout=timeout)
        return self

    def stop(self):
        """SIGTERM: live calls end and the call log is written, as a 3CX service stops."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def restart(self):
        self.stop()
        self.restarts += 1
        return self.start()
