# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The power dialer working through a list on its own: entries per minute, and the product's
time per entry beside the PBX's.

Everything real and separate, as in production: the simulator, the worker, Odoo's HTTP server
and its bus, and Chromium with the realtor in the dialer, "Call automatically" on and no pause
between entries. Every far end is busy (3CX ends the call on its own), so each entry is: the
take and the rule check, the card, the dial request, the worker's makecall, 3CX's call and its
end, the worker logging it, the bus, the "busy" outcome and its follow-up, the next take.

A MutationObserver in the page stamps the moment each entry's card appears. The product's
overhead per entry is the time from one card to the next minus the PBX's own time for that
entry's call (from 3CX creating the call to its end, the simulator's ground truth; it rings
for nothing here, and a real ring time would only add to it). Same machine, same clock.

``REPEATS`` runs of ``SAMPLES`` entries; the figures are the medians of the runs'.
"""

import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from ..browser_env import PASSWORD, chromium_path, login, odoo_server
from ..threecx_sim import SECRET, control, running_simulator
from ..worker_env import Worker
from .common import REPEATS, median_of_runs, quantile

NAME = "dialer"
SAMPLES = 100  # entries per run: enough for a p95
TARGET_P95_MS = 1500

# An init script: it runs before the page has a body, so it watches the whole document.
OBSERVER = """
window.__entries = [];
new MutationObserver(() => {
    const card = document.querySelector('.o_realtor_3cx_dialer_entry[data-entry-id]');
    const id = card && card.dataset.entryId;
    const last = window.__entries[window.__entries.length - 1];
    if (id && (!last || last[0] !== id)) { window.__entries.push([id, Date.now()]); }
}).observe(document, { childList: true, subtree: true, attributes: true });
"""


class BenchDb:
    """What worker_env.Worker needs from a database: its conf and name."""

    def __init__(self, bench):
        self.conf, self.db = bench.conf, bench.db


def number(run, n):
    return f"+1555019{run}{n:03d}"


def run(bench):
    logs = Path(tempfile.mkdtemp(prefix="r3cx-dialer-"))
    with running_simulator(speed=1.0) as sim:
        with bench.cursor() as cr:
            env = bench.env(cr)
            env.company.country_id = env.ref("base.us")
            realtor = env["res.users"].create({
                "name": "Bench Dialer", "login": f"bench_dialer_{int(time.time())}",
                "password": PASSWORD, "tz": "UTC", "groups_id": [(6, 0, [
                    env.ref("base.group_user").id,
                    env.ref("realtor_3cx.realtor_3cx_group_user").id])]})
            server = env["threecx.server"].create({
                "name": "Dialer bench PBX", "base_url": sim.url, "client_id": "900",
                "api_secret": SECRET})
            env["threecx.extension"].create(
                {"server_id": server.id, "number": "101", "user_id": realtor.id})
            # Any hour: the bench measures the dialer, not the calling window.
            rules = env["threecx.calling.rule"].search([])
            rules.write({"hour_from": 0.0, "hour_to": 24.0})
            lists = []
            for r in range(REPEATS):
                partners = env["res.partner"].create([
                    {"name": f"Bench Dialer Contact {r}-{n}", "phone": number(r, n), "tz": "UTC"}
                    for n in range(SAMPLES + 1)])
                lists.append(env["threecx.dialer.list"].with_user(realtor)._dialer_create_from(
                    "res.partner", records=partners).id)
            env["threecx.dialer.session"].with_user(realtor).create(
                {"list_id": lists[0], "pause_seconds": 0, "auto_dial": True})
            cr.commit()
            login_name, server_id = realtor.login, server.id
        for r in range(REPEATS):
            for n in range(SAMPLES + 1):
                control(sim, "scripts", {"destination": number(r, n), "busy": True})
        worker = Worker(BenchDb(bench), server_id, logs / "worker.log")
        runs = [[] for _ in range(REPEATS)]
        rates = []
        try:
            with odoo_server(bench.conf, bench.db, logs / "odoo.log") as url, \
                    sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium_path(),
                                             args=["--no-sandbox"])
                page = browser.new_page()
                login(page, url, login_name)
                page.wait_for_selector(".o_realtor_3cx_systray", timeout=30000)
                page.add_init_script(OBSERVER)
                for r, list_id in enumerate(lists):
                    with bench.cursor() as cr:
                        env = bench.env(cr)
                        session = env["threecx.dialer.list"].browse(list_id).with_user(
                            env["res.users"].search([("login", "=", login_name)]))
                        action = session.action_start_session()
                        cr.commit()
                    started = time.monotonic()
                    # The dialer opens the realtor's running session: the one just started.
                    assert action["params"]["session_id"]
                    page.goto(f"{url}/odoo/action-realtor_3cx.dialer")
                    page.wait_for_selector(".o_realtor_3cx_dialer[data-phase=finished]",
                                           timeout=SAMPLES * 10000)
                    elapsed = time.monotonic() - started
                    stamps = page.evaluate("window.__entries")
                    calls = {c["callee"]: c for c in control(sim, "calls", method="GET")}
                    with bench.cursor() as cr:
                        env = bench.env(cr)
                        entries = env["threecx.dialer.entry"].browse(
                            [int(i) for i, _t in stamps])
                        phones = {e.id: e.phone for e in entries}
                    pairs = zip(stamps, stamps[1:], strict=False)
                    for (entry_id, shown), (_next, next_shown) in pairs:
                        call = calls[phones[int(entry_id)]]
                        pbx = call["ended_at"] - call["started_at"]
                        runs[r].append((next_shown - shown) / 1000 - pbx)
                    rates.append(len(stamps) / elapsed * 60)
                browser.close()
        finally:
            worker.stop()
    rate, rate_runs = median_of_runs([[x] for x in rates], lambda run: run[0])
    bench.figure("dialer entries advanced per minute (automatic, busy far ends)",
                 round(rate, 1), "entries/min", runs=[round(v, 1) for v in rate_runs])
    p50, p50s = median_of_runs(runs, lambda run: quantile(run, 0.5))
    bench.figure("dialer product overhead per entry p50 (PBX time excluded)", round(p50, 1),
                 "ms", runs=[round(v, 1) for v in p50s])
    p95, p95s = median_of_runs(runs, lambda run: quantile(run, 0.95))
    bench.figure("dialer product overhead per entry p95 (PBX time excluded)", round(p95, 1),
                 "ms", runs=[round(v, 1) for v in p95s],
                 target=f"< {TARGET_P95_MS} ms", met=p95 < TARGET_P95_MS)
