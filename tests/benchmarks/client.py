# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The 3CX client against the simulator: REST requests/s and WebSocket events/s on this machine.

The simulator runs as its own process (``python -m realtor_3cx.threecx.simulator``), as a PBX
would, so the client's figures are not shared with the server's event loop on one GIL.

REST. Ours: one keep-alive session and the one cached token, as the worker uses them.
Naive: what many integrations do, a new connection and a new token for every request (which on
a real 3CX also revokes the token every other process holds). Same requests, same answers.

Events. Frames parsed and delivered (``EventStream`` with a counting handler), then frames
applied to a :class:`CallMirror` (each Upset re-reads its leg, as 3CX's sample does), with 1000
live legs: the load of the largest 3CX repeating an Upset for every leg every 750 ms is about
1333 events/s.
"""

import contextlib
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from realtor_3cx.threecx.client import ThreecxClient

NAME = "client"
ROOT = Path(__file__).resolve().parents[2]
SECRET = "bench-secret"
REST_REQUESTS = 2000
NAIVE_REQUESTS = 300
FLOOD = 50_000
LIVE_LEGS = 1000
LARGEST_PBX_EVENTS_PER_S = LIVE_LEGS / 0.75


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def simulator(extra=()):
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "realtor_3cx.threecx.simulator", "--port", str(port),
         "--client-secret", SECRET, "--log-level", "WARNING", *extra], cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(requests.ConnectionError):
                requests.get(f"{url}/_sim/stats", timeout=1)
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the simulator did not start")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def control(url, path, body):
    response = requests.post(f"{url}/_sim/{path}", json=body, timeout=60)
    response.raise_for_status()
    return response.json()


def rest(bench, url):
    client = ThreecxClient(url, "900", SECRET)
    control(url, "config", {"upset_repeat": 0})
    call = control(url, "calls/inbound", {"from": "+15550108001", "to": "100",
                                          "ring_seconds": 3600})
    pid = call["legs"][0]["id"]
    client.callcontrol.participant("100", pid)  # mint once, open the connection
    start = time.perf_counter()
    for _ in range(REST_REQUESTS):
        client.callcontrol.participant("100", pid)
    ours = REST_REQUESTS / (time.perf_counter() - start)

    results = []

    def worker(count):
        own = ThreecxClient(url, "900", SECRET)
        own.tokens = client.tokens  # one token per Client ID, shared by every thread
        own.callcontrol.tokens = client.tokens
        for _ in range(count):
            own.callcontrol.participant("100", pid)
        results.append(count)

    threads = [threading.Thread(target=worker, args=(REST_REQUESTS // 4,)) for _ in range(4)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    parallel = sum(results) / (time.perf_counter() - start)

    start = time.perf_counter()
    for _ in range(NAIVE_REQUESTS):
        token = requests.post(f"{url}/connect/token", timeout=5, data={
            "client_id": "900", "client_secret": SECRET,
            "grant_type": "client_credentials"}).json()["access_token"]
        response = requests.get(f"{url}/callcontrol/100/participants/{pid}", timeout=5,
                                headers={"Authorization": f"Bearer {token}"})
        response.raise_for_status()
    naive = NAIVE_REQUESTS / (time.perf_counter() - start)
    bench.figure("client REST GET participant, one session", round(ours), "req/s",
                 ratio=ours / naive)
    bench.figure("client REST GET participant, 4 threads", round(parallel), "req/s")
    bench.figure("naive REST (new connection + token per request)", round(naive), "req/s")
    bench.figure("client REST vs naive", round(ours / naive, 1), "x")
    control(url, f"calls/{call['callid']}/hangup", {"side": "caller"})


def events(bench, url):
    client = ThreecxClient(url, "900", SECRET)
    received = [0]
    done = threading.Event()

    def count(frame):
        received[0] += 1
        if received[0] >= FLOOD:
            done.set()

    stream = client.events(count)
    thread = threading.Thread(target=stream.run, daemon=True)
    thread.start()
    while not stream.stats.connected:
        time.sleep(0.01)
    start = time.perf_counter()
    control(url, "faults", {"flood": FLOOD})
    done.wait(120)
    parsed = received[0] / (time.perf_counter() - start)
    stream.stop()
    thread.join(5)
    bench.figure("client WS events parsed and delivered", round(parsed), "events/s")

    # 1000 live legs, and the mirror re-reading each leg on every Upset.
    for n in range(LIVE_LEGS):
        control(url, "calls/inbound", {"from": f"+1555011{n:04d}", "to": "800" if n % 2
                                       else "100", "ring_seconds": 3600})
    mirror = client.mirror()
    stream = client.events(mirror.handle, on_snapshot=mirror.apply_snapshot)
    thread = threading.Thread(target=stream.run, daemon=True)
    thread.start()
    while not stream.stats.connected:
        time.sleep(0.01)
    before, fetched = stream.stats.events, mirror.fetches
    start = time.perf_counter()
    control(url, "faults", {"flood": 10_000})
    time.sleep(5)
    elapsed = time.perf_counter() - start
    applied = (mirror.fetches - fetched) / elapsed
    stream.stop()
    thread.join(5)
    # The 3CX sample's way, for reference: the worker's batched reads are measured by the
    # pipeline benchmark against the largest 3CX's load.
    # (The largest 3CX sends LARGEST_PBX_EVENTS_PER_S, about 1333 events/s.)
    bench.figure(f"client WS events applied, a GET per Upset (3CX sample, {LIVE_LEGS} legs)",
                 round(applied), "events/s")
    bench.figure("client WS events received meanwhile", round(
        (stream.stats.events - before) / elapsed), "events/s")


def run(bench):
    with simulator() as url:
        rest(bench, url)
        events(bench, url)
