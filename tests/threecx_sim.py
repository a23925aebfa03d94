# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Helpers for tests that run the 3CX client against the simulator.

>>> with running_simulator() as sim:                       # doctest: +SKIP
...     control(sim, "calls/inbound", {"from": "+15550108001", "to": "100"})
...     wait_for(lambda: mirror.calls(), "the ringing leg")

The simulator listens on 127.0.0.1 on a free port and stops with the ``with`` block. PBX delays
run at ``SPEED`` (a 20 s ring takes 1 s); ``REALTOR_3CX_TEST_SPEED`` overrides it on a slow
machine.
"""

import contextlib
import os
import threading
import time

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
