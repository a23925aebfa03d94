# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Odoo's login page while realtors' click-to-calls wait on a stopped telephony worker.

Production's front (tests/prefork_env.py): Odoo in prefork mode with ``HTTP_WORKERS`` (two)
HTTP worker processes, measured through nginx, as a browser reaches it. No telephony worker
runs, so no click-to-call is ever placed: the question is what waiting for one costs everybody
else. ``CLICKERS`` (twenty) realtors, each logged in with their own session and extension, click
to call a contact at the same moment (the click-to-call RPC the button sends). Sampling starts
once every click is answered, or ``CLICK_SETTLE_S`` after the last was sent when they are not:
``/web/login`` is then requested open-loop, one request every ``INTERVAL_S`` whatever the
earlier ones are doing (a closed loop would wait out the stalls it should measure), ``SAMPLES``
of them; one not answered within ``SAMPLE_TIMEOUT_S`` counts as that long (a figure at that
bound is a lower bound, and the bench says how many were).

Each of the ``REPEATS`` runs measures the same with no clicks first, then with the clicks; the
ratio (with / without) is taken within each run, and the figures are the medians of the runs.
A click-to-call that holds its HTTP worker until the telephony worker answers (up to 8 s) makes
the login page wait behind twenty of them on two workers; one that returns at once, the call
waiting for the worker and the page for its answer on the bus, costs the others nothing, and
the ratio is near 1.
"""

import json
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from ..browser_env import PASSWORD
from ..prefork_env import HTTP_WORKERS, behind_nginx
from .common import REPEATS, median_of_runs, quantile

NAME = "prefork"
CLICKERS = 20
CLICK_SETTLE_S = 5.0
CLICK_TIMEOUT_S = 120
SAMPLES = 100  # per run and case: enough for a p95
INTERVAL_S = 0.1
SAMPLE_TIMEOUT_S = 20.0
TARGET_RATIO = 1.5  # the login page's p95 with the clicks waiting, over its p95 without
NUMBER = "+15550109801"


def _prepare(bench):
    """Twenty realtors with an extension each on a 3CX server no worker serves, and a
    contact to call."""
    tag = int(time.time())
    with bench.cursor() as cr:
        env = bench.env(cr)
        env.company.country_id = env.ref("base.us")
        groups = [env.ref("base.group_user").id, env.ref("realtor_3cx.realtor_3cx_group_user").id]
        users = env["res.users"].create([{
            "name": f"Prefork Realtor {n}", "login": f"bench_prefork_{tag}_{n}",
            "password": PASSWORD, "tz": "UTC", "groups_id": [(6, 0, groups)]}
            for n in range(CLICKERS)])
        server = env["threecx.server"].create({
            # Nothing listens there, and no worker runs: every click waits for nobody.
            "name": "Prefork bench PBX", "base_url": "http://127.0.0.1:9", "client_id": "900",
            "api_secret": "bench-secret"})
        env["threecx.extension"].create([
            {"server_id": server.id, "number": str(300 + n), "user_id": user.id}
            for n, user in enumerate(users)])
        partner = env["res.partner"].create({"name": "Bench Callee", "phone": NUMBER})
        cr.commit()
        return users.mapped("login"), partner.id


def _session(url, db, login):
    session = requests.Session()
    response = session.post(f"{url}/web/session/authenticate", timeout=60, json={
        "jsonrpc": "2.0", "method": "call",
        "params": {"db": db, "login": login, "password": PASSWORD}})
    response.raise_for_status()
    if response.json().get("error") or not response.json()["result"].get("uid"):
        raise RuntimeError(f"{login} could not log in: {response.text[:500]}")
    return session


class Clickers:
    """The realtors, each clicking to call once, in a thread of their own."""

    def __init__(self, url, sessions, partner_id):
        self.url, self.sessions, self.partner_id = url, sessions, partner_id
        self.answered, self.errors, self.sent, self.gave_up = 0, [], 0, 0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._click, args=(s,), daemon=True)
                        for s in sessions]

    def _click(self, session):
        body = {"jsonrpc": "2.0", "method": "call", "params": {
            "model": "threecx.call", "method": "realtor_3cx_dial", "args": [NUMBER],
            "kwargs": {"res_model": "res.partner", "res_id": self.partner_id}}}
        with self.lock:
            self.sent += 1
        try:
            response = session.post(
                f"{self.url}/web/dataset/call_kw/threecx.call/realtor_3cx_dial",
                data=json.dumps(body), headers={"Content-Type": "application/json"},
                timeout=CLICK_TIMEOUT_S)
            with self.lock:
                if response.status_code in (502, 504):
                    # The proxy gave up on Odoo (a click that waits for the worker, queued
                    # behind the others): what a realtor sees too, not a fault of the bench.
                    self.gave_up += 1
                elif response.status_code != 200 or response.json().get("error"):
                    self.errors.append(f"HTTP {response.status_code}: {response.text[:500]}")
                else:
                    self.answered += 1
        except requests.RequestException as exc:
            with self.lock:
                self.errors.append(repr(exc))

    def start(self):
        """Every realtor clicks; returns once every click is answered (a click-to-call that
        returns at once: the calls now wait for the worker, the pages for the bus) or
        ``CLICK_SETTLE_S`` after the last one was sent (a click-to-call that waits for the
        worker: they hold HTTP workers)."""
        for thread in self.threads:
            thread.start()
        deadline = time.monotonic() + 30
        while self.sent < len(self.threads) and time.monotonic() < deadline:
            time.sleep(0.01)
        deadline = time.monotonic() + CLICK_SETTLE_S
        while self.answered + len(self.errors) < len(self.threads) and \
                time.monotonic() < deadline:
            time.sleep(0.01)
        return self.answered

    def stop(self, timeout=CLICK_TIMEOUT_S + 10):
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        if any(t.is_alive() for t in self.threads):
            raise RuntimeError(f"click-to-call requests still unanswered after {timeout} s")


def _login_page_samples(url):
    """``SAMPLES`` seconds-to-answer of ``/web/login``, requested every ``INTERVAL_S``."""
    samples, failures = [None] * SAMPLES, []

    def one(i):
        began = time.perf_counter()
        try:
            response = requests.get(f"{url}/web/login", timeout=SAMPLE_TIMEOUT_S)
            took = time.perf_counter() - began
            if response.status_code != 200 or 'name="login"' not in response.text:
                failures.append(f"HTTP {response.status_code}")
                took = SAMPLE_TIMEOUT_S
        except requests.RequestException as exc:
            failures.append(exc.__class__.__name__)
            took = SAMPLE_TIMEOUT_S
        samples[i] = min(took, SAMPLE_TIMEOUT_S)

    threads = []
    start = time.monotonic()
    for i in range(SAMPLES):
        time.sleep(max(0.0, start + i * INTERVAL_S - time.monotonic()))
        thread = threading.Thread(target=one, args=(i,), daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(SAMPLE_TIMEOUT_S + 10)
    return samples, failures


def _quiet(url, timeout=180):
    """Wait until the login page answers within a second again (the previous case's queue has
    drained), so that each case starts from an idle server."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        began = time.perf_counter()
        try:
            if requests.get(f"{url}/web/login", timeout=5).ok and \
                    time.perf_counter() - began < 1:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"Odoo did not come back to an idle state within {timeout} s")


def run(bench):
    logins, partner_id = _prepare(bench)
    logs = Path(tempfile.mkdtemp(prefix="r3cx-prefork-"))
    print(f"prefork Odoo ({HTTP_WORKERS} HTTP workers) behind nginx; logs in {logs}")
    with behind_nginx(bench.conf, bench.db, logs) as (_odoo, proxy):
        url = proxy.url
        with ThreadPoolExecutor(HTTP_WORKERS) as pool:  # password hashing: one per worker
            sessions = list(pool.map(lambda login: _session(url, bench.db, login), logins))
        for _ in range(4 * HTTP_WORKERS):  # every worker has rendered the page once
            requests.get(f"{url}/web/login", timeout=60).raise_for_status()
        runs, clicks, unanswered, gave_up = [], [], [], []
        for n in range(REPEATS):
            _quiet(url)
            without, failed_without = _login_page_samples(url)
            clickers = Clickers(url, sessions, partner_id)
            answered_first = clickers.start()
            try:
                with_clicks, failed_with = _login_page_samples(url)
            finally:
                clickers.stop()
            if clickers.errors:
                raise RuntimeError(f"{len(clickers.errors)} click-to-call RPC(s) failed, "
                                   f"e.g. {clickers.errors[0]}")
            clicks.append(answered_first)
            gave_up.append(clickers.gave_up)
            print(f"run {n + 1}: /web/login p50 {quantile(without, 0.5):.0f} ms without clicks, "
                  f"{quantile(with_clicks, 0.5):.0f} ms with {CLICKERS} realtors clicking "
                  f"({answered_first} of their click RPCs answered before the first sample; "
                  f"login samples failed or timed out: {len(failed_without)} / "
                  f"{len(failed_with)})", flush=True)
            runs.append((without, with_clicks))
            unanswered.append(len(failed_with))
    for q, label in ((0.5, "p50"), (0.95, "p95")):
        value, values = median_of_runs(runs, lambda run, q=q: quantile(run[0], q))
        bench.figure(f"prefork /web/login {label}, no click-to-call", round(value, 1), "ms",
                     runs=[round(v, 1) for v in values])
        value, values = median_of_runs(runs, lambda run, q=q: quantile(run[1], q))
        bench.figure(f"prefork /web/login {label}, {CLICKERS} click-to-calls waiting",
                     round(value, 1), "ms", runs=[round(v, 1) for v in values])
    for q, label in ((0.5, "p50"), (0.95, "p95")):
        ratio, ratios = median_of_runs(
            runs, lambda run, q=q: quantile(run[1], q) / quantile(run[0], q))
        target = {} if q == 0.5 else {"target": f"< {TARGET_RATIO}x",
                                      "met": ratio < TARGET_RATIO}
        bench.figure(f"prefork /web/login {label} with the clicks / without", round(ratio, 2),
                     "x", runs=[round(r, 2) for r in ratios], **target)
    # A sample at the bound is a lower bound: say how many there were.
    bench.figure(f"prefork /web/login requests of {SAMPLES} failed or not answered within "
                 f"{SAMPLE_TIMEOUT_S:.0f} s, with the clicks",
                 int(sorted(unanswered)[len(unanswered) // 2]), "", runs=unanswered)
    bench.figure(f"prefork click-to-calls of {CLICKERS} answered before the first sample "
                 f"({HTTP_WORKERS} HTTP workers, telephony worker stopped)",
                 int(sorted(clicks)[len(clicks) // 2]), "", runs=clicks)
    bench.figure(f"prefork click-to-calls of {CLICKERS} the proxy gave up on (502/504)",
                 int(sorted(gave_up)[len(gave_up) // 2]), "", runs=gave_up)
