# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Production's topology, end to end, without Docker: Chromium through nginx to Odoo in prefork
mode (two HTTP worker processes and the gevent process of the bus), two telephony workers (one
acts, one stands by) and the 3CX simulator (tests/prefork_env.py).

What the realtor does is what tests/test_browser_e2e.py does on a threaded Odoo, here through
the proxy: a call pops up, a click-to-call from a contact's form rings, a browser call hears its
own audio back through the worker's bridge; then the acting telephony worker is killed (-9)
while calls come and go, the other takes over, and every call is logged once.

The page is driven by what the realtor sees (buttons, the state a call shows), and every step
is checked against the simulator's ground truth. Errors in Odoo's, the workers' and the browser's
logs fail the test (tests/conftest.py).
"""

import collections
import itertools
import os
import signal
import threading
import time

import psutil
import pytest
import test_browser_e2e
import websocket
from browser_env import PASSWORD, launch
from playwright.sync_api import expect, sync_playwright
from prefork_env import HTTP_WORKERS, topology
from test_browser_e2e import HEAR_TONE, call_from_softphone, fake_microphone_page
from threecx_sim import SECRET, control, wait_for
from worker_env import OdooDb

NUMBER = "+15550109701"  # Quinn Prefork, the contact
SOFTPHONE_NUMBER = "+15550109702"  # the far end of the browser call
TRAFFIC = "+15550109703"  # the callers while the worker is killed
WORLDS = itertools.count()
# tests/test_browser_e2e.py's realtor, logged in through the proxy (on this file's world).
realtor_page = test_browser_e2e.realtor_page


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    db = OdooDb()
    logs = tmp_path_factory.mktemp("prefork")
    tag = f"{os.getpid()}_{next(WORLDS)}"
    ids = {}

    def create_server(sim):
        def create(env):
            # A contact of an earlier run on these numbers would make the pop-up ask who calls.
            env["res.partner"].search([("phone", "in", [NUMBER, TRAFFIC])]).write(
                {"phone": False})
            env.company.country_id = env.ref("base.us")
            realtor = env["res.users"].create({
                "name": "Pia Prefork", "login": f"pia_prefork_{tag}", "password": PASSWORD,
                "tz": "UTC", "groups_id": [(6, 0, [
                    env.ref("base.group_user").id,
                    env.ref("realtor_3cx.realtor_3cx_group_user").id])]})
            server = env["threecx.server"].create({
                "name": "Prefork PBX", "base_url": sim.url, "client_id": "900",
                "api_secret": SECRET})
            env["threecx.extension"].create(
                {"server_id": server.id, "number": "101", "user_id": realtor.id})
            partner = env["res.partner"].create({"name": "Quinn Prefork", "phone": NUMBER})
            ids.update(realtor=realtor.login, realtor_id=realtor.id, partner=partner.id,
                       server=server.id)
            return server.id

        return db.do(create)

    with topology(db, logs, create_server) as top, sync_playwright() as pw:
        browser = launch(pw)
        wait_for(lambda: db.do(lambda env: env["threecx.server"].browse(
            top.server_id).connection_state) == "connected", "a worker to connect", timeout=60)
        # Through the proxy only: the page never sees Odoo's own ports.
        yield {"db": db, "sim": top.sim, "url": top.url, "browser": browser, "playwright": pw,
               "top": top, "logs": logs, **ids}
        browser.close()
        db.do(lambda env: env["threecx.server"].browse(top.server_id).write({"active": False}))


def calls_of(world):
    """The server's call records: {call id: [state, ...]} (a list: a double shows twice)."""
    def read(env):
        found = collections.defaultdict(list)
        for call in env["threecx.call"].search([("server_id", "=", world["server"])]):
            found[call.call_id].append(call.state)
        return dict(found)

    return world["db"].do(read)


def test_odoo_runs_prefork_behind_nginx_with_the_bus_on_the_gevent_process(world):
    top = world["top"]
    # The master, its HTTP workers and the gevent process (cron runs nowhere in tests).
    children = psutil.Process(top.odoo.proc.pid).children()
    assert len(children) == HTTP_WORKERS + 1, [c.cmdline() for c in children]
    assert sum("gevent" in c.cmdline() for c in children) == 1
    # The proxy upgrades /websocket to the gevent process (an HTTP worker would refuse it).
    ws = websocket.create_connection(f"{top.url.replace('http', 'ws')}/websocket",
                                     origin=top.url, timeout=10)
    try:
        ws.send('{"event_name": "subscribe", "data": {"channels": [], "last": 0}}')
    finally:
        ws.close()
    wait_for(lambda: " 101 " in top.proxy.access_log.read_text()
             and "GET /websocket" in top.proxy.access_log.read_text(),
             "nginx to log the upgrade", timeout=10)
    assert not top.proxy.errors()


def test_a_ringing_call_pops_up_through_the_proxy(world, realtor_page):
    page, sim = realtor_page, world["sim"]
    call = control(sim, "calls/inbound", {"from": NUMBER, "to": "101", "ring_seconds": 600})
    popup = page.locator(".o_realtor_3cx_popup[data-call-id]").first
    expect(popup).to_be_visible(timeout=15000)
    expect(popup.locator(".o_realtor_3cx_popup_title")).to_have_text("Quinn Prefork")
    control(sim, f"calls/{call['callid']}/hangup", {"side": "caller"})
    expect(page.locator(".o_realtor_3cx_popup")).to_have_count(0, timeout=15000)
    wait_for(lambda: calls_of(world).get(str(call["callid"])) == ["missed"],
             "the missed call logged once", timeout=15)


def test_click_to_call_from_a_contact_through_the_proxy(world, realtor_page):
    page, sim = realtor_page, world["sim"]
    page.goto(f"{world['url']}/odoo/action-contacts.action_contacts/{world['partner']}")
    dial = page.locator(".o_field_widget[name=phone] .o_realtor_3cx_dial")
    expect(dial).to_be_visible(timeout=20000)
    before = {c["callid"] for c in control(sim, "calls", method="GET")}
    dial.click()
    placed = wait_for(lambda: [c for c in control(sim, "calls", method="GET")
                               if c["callid"] not in before], "the MakeCall in 3CX",
                      timeout=20)
    assert [(c["caller"], c["callee"]) for c in placed] == [("101", NUMBER)]  # dialled once
    callid = placed[0]["callid"]
    # What the realtor sees: the call's state on the button's line, from the bus.
    status = page.locator(".o_field_widget[name=phone] .o_realtor_3cx_dial_status")
    expect(status).to_have_attribute("data-status", "ringing", timeout=20000)
    wait_for(lambda: control(sim, f"calls/{callid}", method="GET")["answered_at"],
             "the contact to answer", timeout=20)
    expect(status).to_have_attribute("data-status", "connected", timeout=20000)
    control(sim, f"calls/{callid}/hangup", {"side": "callee"})
    expect(page.locator(".o_realtor_3cx_outcome")).to_be_visible(timeout=20000)
    wait_for(lambda: calls_of(world).get(str(callid)) == ["completed"],
             "the call logged once, completed", timeout=15)


def test_a_browser_call_hears_its_audio_through_the_workers_bridge(world, tmp_path):
    sim = world["sim"]
    with fake_microphone_page(world, tmp_path) as page:
        callid = call_from_softphone(page, sim, SOFTPHONE_NUMBER)
        page.wait_for_selector("audio.o_realtor_3cx_softphone_audio", state="attached")
        heard = page.evaluate(HEAR_TONE)
        assert heard, "the browser did not hear its tone come back through the worker and 3CX"
        page.locator(".o_realtor_3cx_softphone_hangup").click()
        expect(page.locator(".o_realtor_3cx_softphone[data-status=ended]")).to_be_visible(
            timeout=15000)
        wait_for(lambda: control(sim, f"calls/{callid}", method="GET")["ended_at"],
                 "the hang-up to reach 3CX", timeout=15)
        wait_for(lambda: control(sim, "stats", method="GET")["open_streams"] == 0,
                 "3CX's audio streams to close", timeout=15)
    active = world["top"].active_worker()
    assert "bridged to 3CX call" in active.output()


def test_killing_the_acting_worker_mid_traffic_loses_nothing(world, realtor_page):
    """kill -9 of the worker that acts while calls ring, connect and end: the standby takes
    over within seconds, the page keeps getting its pop-ups, and every call is logged once."""
    page, sim, top = realtor_page, world["sim"], world["top"]
    active = top.active_worker()
    standby = next(w for w in top.workers if w is not active)
    placed, errors = [], []
    killed = threading.Event()

    def traffic():
        # Twelve calls, one after the other: every third missed, the rest answered and talked.
        try:
            for n in range(12):
                callid = control(sim, "calls/inbound", {
                    "from": TRAFFIC, "to": "101", "ring_seconds": 600})["callid"]
                placed.append(str(callid))
                time.sleep(0.2)
                if n % 3:
                    control(sim, f"calls/{callid}/answer", {"dn": "101"})
                    time.sleep(0.3)  # they talk
                control(sim, f"calls/{callid}/hangup", {"side": "caller"})
                if n == 3:
                    killed.wait(30)  # the rest go by during and after the takeover
                time.sleep(0.2)
        except Exception as exc:  # surfaced to the test below
            errors.append(exc)

    thread = threading.Thread(target=traffic)
    thread.start()
    try:
        wait_for(lambda: len(placed) >= 4, "the first calls", timeout=30)
        active.proc.send_signal(signal.SIGKILL)  # no goodbye: its lock goes with its connection
        active.proc.wait(10)
        killed.set()
        took_over = time.monotonic()
        wait_for(lambda: "acting for" in standby.output(), "the standby to take over",
                 timeout=30)
        print(f"takeover after the kill: {time.monotonic() - took_over:.1f} s")
    finally:
        killed.set()
        thread.join(60)
    assert not errors, errors
    assert len(placed) == 12

    # The page is served by the worker that took over: a new call pops up.
    expect(page.locator(".o_realtor_3cx_popup")).to_have_count(0, timeout=20000)
    call = control(sim, "calls/inbound", {"from": NUMBER, "to": "101", "ring_seconds": 600})
    expect(page.locator(".o_realtor_3cx_popup[data-call-id]")).to_be_visible(timeout=20000)
    control(sim, f"calls/{call['callid']}/hangup", {"side": "caller"})
    expect(page.locator(".o_realtor_3cx_popup")).to_have_count(0, timeout=20000)
    placed.append(str(call["callid"]))

    truth = {str(c["callid"]): c for c in control(sim, "calls", method="GET")}

    def all_logged():
        logged = calls_of(world)
        return logged if all(len(logged.get(c, ())) == 1 and logged[c][0] != "ringing"
                             and logged[c][0] != "connected" for c in placed) else None

    logged = wait_for(all_logged, "every call placed logged, ended", timeout=60)
    assert {c: logged[c] for c in placed} == {
        c: ["completed" if truth[c]["answered_at"] else "missed"] for c in placed}
    assert not [c for c, states in logged.items() if len(states) > 1]  # nothing twice
    assert not top.proxy.errors()  # the proxy failed no request of the page
