# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The worker under load: from a 3CX event to the committed call record and bus notification.

Three processes, as in production: the simulator (3CX), the worker, and this one, which places
calls through the simulator's control API and LISTENs on Odoo's bus channel (``imbus``): a
ringing notification is committed in the same transaction as the call record, so its arrival
time, minus the time the call was placed, is the pipeline's latency.

Load is the live legs' Upset repeats, spread over 200 extensions: 375 legs repeating every
750 ms make 500 events/s; 1000 legs repeating every 375 ms make 2667 events/s, the load of
the largest 3CX (1000 calls, about two legs each, every 750 ms). Naive, side by side on the
same load: the 3CX sample's way, a GET for every Upset (``CallMirror``), counting how many
events per second it keeps up with.
"""

import contextlib
import json
import os
import select
import statistics
import subprocess
import sys
import threading
import time

import psycopg2
import requests

from realtor_3cx.threecx.client import ThreecxClient

from .client import ROOT, SECRET, control, simulator
from .common import percentiles

NAME = "pipeline"
PROBES = 150
PROBE_RATE = 10  # new calls per second while measuring latency
TARGET_P99_MS = 100
TARGET_RSS_MB = 200


def setup_server(bench, url):
    with bench.cursor() as cr:
        env = bench.env(cr)
        env.company.country_id = env.ref("base.us")
        server = env["threecx.server"].create(
            {"name": "Bench PBX (simulator)", "base_url": url, "client_id": "900",
             "api_secret": SECRET})
        env["threecx.extension"].create(
            {"server_id": server.id, "number": "100", "user_id": env.ref("base.user_admin").id})
        cr.commit()
        return server.id


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class BusListener:
    """LISTEN imbus; record when each ringing notification of the bench server commits."""

    def __init__(self, bench, server_id):
        from odoo.sql_db import connection_info_for

        # Odoo's bus NOTIFYs on the "postgres" database (whatever the database), after commit.
        self.listen = psycopg2.connect(**connection_info_for("postgres")[1])
        self.listen.autocommit = True
        self.conn = psycopg2.connect(**connection_info_for(bench.db)[1])
        self.conn.autocommit = True
        self.server_id = server_id
        self.seen = {}  # 3CX call id -> arrival time
        with self.conn.cursor() as cr:
            cr.execute("SELECT coalesce(max(id), 0) FROM bus_bus")
            self.last_id = cr.fetchone()[0]
        with self.listen.cursor() as cr:
            cr.execute("LISTEN imbus")
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            if select.select([self.listen], [], [], 0.2)[0]:
                self.listen.poll()
                arrived = time.monotonic()
                self.listen.notifies.clear()
                with self.conn.cursor() as cr:
                    cr.execute("SELECT id, message FROM bus_bus WHERE id > %s ORDER BY id",
                               (self.last_id,))
                    for row_id, message in cr.fetchall():
                        self.last_id = row_id
                        data = json.loads(message)
                        payload = data.get("payload") or {}
                        if data.get("type") == "realtor_3cx.call/ringing" and \
                                payload.get("server_id") == self.server_id:
                            self.seen.setdefault(payload["call_id"], arrived)

    def close(self):
        self.stop.set()
        self.thread.join(2)
        self.conn.close()
        self.listen.close()


def place(url, number, to="100"):
    placed = time.monotonic()
    call = control(url, "calls/inbound", {"from": number, "to": to, "ring_seconds": 36000})
    return str(call["callid"]), placed


EXTENSIONS = [str(n) for n in range(200, 400)]  # a large brokerage: calls spread over lines


def live_calls(url, count, start):
    for n in range(count):
        place(url, f"+1555012{start + n:04d}", to=EXTENSIONS[(start + n) % len(EXTENSIONS)])


def probe_latency(url, listener, prefix):
    placed = {}
    interval = 1 / PROBE_RATE
    next_at = time.monotonic()
    for n in range(PROBES):
        time.sleep(max(0, next_at - time.monotonic()))
        next_at += interval
        call_id, at = place(url, f"+1555013{prefix}{n:03d}")
        placed[call_id] = at
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(c in listener.seen for c in placed):
        time.sleep(0.05)
    missing = [c for c in placed if c not in listener.seen]
    latencies = [listener.seen[c] - at for c, at in placed.items() if c in listener.seen]
    first, second = latencies[: len(latencies) // 2], latencies[len(latencies) // 2:]
    return latencies, missing, (statistics.median(first), statistics.median(second))


def naive_rate(url, seconds=8):
    """The sample's way on the same load: a GET per Upset; events it applies per second."""
    client = ThreecxClient(url, "900", SECRET)
    mirror = client.mirror()
    stream = client.events(mirror.handle, on_snapshot=mirror.apply_snapshot)
    thread = threading.Thread(target=stream.run, daemon=True)
    thread.start()
    while not stream.stats.connected:
        time.sleep(0.01)
    before = mirror.fetches
    time.sleep(seconds)
    rate = (mirror.fetches - before) / seconds
    stream.stop()
    thread.join(5)
    return rate


def run(bench):
    with simulator() as url:
        server_id = setup_server(bench, url)
        control(url, "dns", [{"number": n, "first_name": "Agent"} for n in EXTENSIONS])
        env = dict(os.environ)
        launched = time.monotonic()
        worker = subprocess.Popen(
            [sys.executable, "-m", "realtor_3cx.worker", "-c", bench.conf, "-d", bench.db,
             "--server", str(server_id), "--log-level", "warn"], cwd=ROOT, env=env)
        listener = BusListener(bench, server_id)
        try:
            # Connected by this worker: its own "connected since", not a state left behind.
            deadline = time.monotonic() + 60
            while True:
                with bench.cursor() as cr:
                    cr.execute("SELECT connection_state = 'connected' AND connected_since >= "
                               "now() at time zone 'UTC' - interval '1 second' * %s "
                               "FROM threecx_server WHERE id = %s",
                               (time.monotonic() - launched + 1, server_id))
                    if cr.fetchone()[0]:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("the worker did not connect to the simulator in 60 s")
                time.sleep(0.2)
            peak_rss = rss_mb(worker.pid)
            bench.figure("worker RSS connected, no calls", round(peak_rss, 1), "MB")

            # 500 events/s: 375 live legs repeating every 750 ms.
            live_calls(url, 375, 0)
            time.sleep(3)
            events_before = requests.get(f"{url}/_sim/stats", timeout=5).json()["frames_sent"]
            started = time.monotonic()
            latencies, missing, halves = probe_latency(url, listener, "1")
            offered = (requests.get(f"{url}/_sim/stats", timeout=5).json()["frames_sent"]
                       - events_before) / (time.monotonic() - started)
            p50, p99 = percentiles(latencies)
            peak_rss = max(peak_rss, rss_mb(worker.pid))
            bench.figure("pipeline events offered during the probe", round(offered),
                         "events/s")
            bench.figure("pipeline event -> committed call + bus notification p50", p50, "ms")
            bench.figure("pipeline event -> committed call + bus notification p99 at 500 "
                         "events/s", p99, "ms", target=f"< {TARGET_P99_MS} ms",
                         met=p99 < TARGET_P99_MS and not missing)

            # 1000 calls at the largest 3CX's rate: 1000 legs repeating every 375 ms.
            live_calls(url, 1000 - 375 - PROBES, 1000)
            control(url, "config", {"upset_repeat": 0.375})
            time.sleep(5)
            events_before = requests.get(f"{url}/_sim/stats", timeout=5).json()["frames_sent"]
            started = time.monotonic()
            latencies, missing_big, (first, second) = probe_latency(url, listener, "2")
            offered = (requests.get(f"{url}/_sim/stats", timeout=5).json()["frames_sent"]
                       - events_before) / (time.monotonic() - started)
            p50, p99 = percentiles(latencies)
            peak_rss = max(peak_rss, rss_mb(worker.pid))
            # Keeping up means the backlog does not grow: latency in the second half of the
            # run is no worse than in the first (a growing queue would add to every event).
            keeps_up = not missing_big and second * 1000 < first * 1000 + 50
            bench.figure("pipeline events offered, 1000 live calls", round(offered), "events/s")
            bench.figure("pipeline latency p50 / p99 at 1000 calls",
                         f"{p50:.1f} / {p99:.1f}", "ms")
            bench.figure("pipeline latency p50 first half / second half",
                         f"{first * 1000:.1f} / {second * 1000:.1f}", "ms",
                         target="keeps up (no growth)", met=keeps_up)
            bench.figure("worker RSS (peak)", round(peak_rss, 1), "MB",
                         target=f"< {TARGET_RSS_MB} MB", met=peak_rss < TARGET_RSS_MB)
        finally:
            listener.close()
            worker.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.wait(15)
            if worker.poll() is None:
                worker.kill()
        # After the worker: both would share the integration's one token.
        naive = naive_rate(url)
        bench.figure("naive GET per Upset (3CX sample) on the same load, events applied",
                     round(naive), "events/s")
        bench.figure("load ours keeps up with / naive's ceiling", round(offered / naive, 2),
                     "x", ratio=offered / naive)
