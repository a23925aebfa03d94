# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The admin's day: *Test connection* on the 3CX server form, in Chromium, with the worker live.

3CX keeps one live token per integration and revokes the last one when another is minted: a
test that minted its own would cut the worker's event connection (the realtors' pop-ups). The
worker runs the test with the session it holds, and answers on the bus; these tests check, in
the simulator's counters and in the database, that nothing was minted or cut, and on screen
that the admin gets the report, a refused secret named, and no stale red error beside a green
"Connected". Screenshots go to .data/screenshots/day/ (docs/screenshots/day/ with
``REALTOR_3CX_UPDATE_SCREENSHOTS=1``).
"""

import os
import time

import pytest
from browser_env import DAY_SHOTS, PASSWORD, launch, odoo_server, signed_in
from playwright.sync_api import expect, sync_playwright
from threecx_sim import SECRET, control, running_simulator, wait_for
from worker_env import QUIRKS, OdooDb, Worker

SHOTS = DAY_SHOTS
CALLER = "+15550108501"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    db = OdooDb()
    logs = tmp_path_factory.mktemp("day-admin")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with running_simulator(**QUIRKS) as sim:
        tag = str(os.getpid())

        def create(env):
            env.company.country_id = env.ref("base.us")
            admin = env["res.users"].create({
                "name": "Ada Admin", "login": f"ada_{tag}", "password": PASSWORD, "tz": "UTC",
                "groups_id": [(6, 0, [env.ref("base.group_system").id,
                                      env.ref("realtor_3cx.realtor_3cx_group_manager").id])]})
            realtor = env["res.users"].create({
                "name": "Rory Realtor", "login": f"rory_{tag}", "password": PASSWORD,
                "groups_id": [(6, 0, [env.ref("base.group_user").id,
                                      env.ref("realtor_3cx.realtor_3cx_group_user").id])]})
            server = env["threecx.server"].create({
                "name": "Admin's PBX", "base_url": sim.url, "client_id": "900",
                "api_secret": SECRET})
            env["threecx.extension"].create([
                {"server_id": server.id, "number": "101", "user_id": realtor.id},
                {"server_id": server.id, "number": "4242", "user_id": admin.id}])
            return {"server": server.id, "admin": admin.login}

        ids = db.do(create)
        worker = Worker(db, ids["server"], logs / "worker.log")
        try:
            with odoo_server(db.conf, db.db, logs / "odoo.log") as url, sync_playwright() as pw:
                browser = launch(pw)
                world = {"db": db, "sim": sim, "url": url, "browser": browser, "worker": worker,
                         "logs": logs, **ids}
                wait_for(lambda: server_state(world)["connection_state"] == "connected",
                         "the worker to connect", timeout=30)
                yield world
                browser.close()
        finally:
            worker.stop()
            db.do(lambda env: env["threecx.server"].browse(ids["server"]).write(
                {"active": False}))


def server_state(world):
    return world["db"].do(lambda env: env["threecx.server"].browse(world["server"]).read(
        ["connection_state", "last_error", "test_state", "test_report"])[0])


@pytest.fixture
def admin_page(world):
    with signed_in(world["browser"], world["url"], world["admin"], world["logs"],
                   systray=False) as page:
        page.goto(
            f"{world['url']}/odoo/action-realtor_3cx.threecx_server_action/{world['server']}")
        expect(page.locator(".o_form_view .o_field_widget[name=name] input")).to_have_value(
            "Admin's PBX", timeout=30000)
        yield page


def stats(world):
    return control(world["sim"], "stats", method="GET")


def test_test_connection_runs_in_the_worker_and_cuts_nothing(world, admin_page):
    page = admin_page
    before = stats(world)
    page.get_by_role("button", name="Test connection").click()
    notification = page.locator(".o_notification").filter(has_text="Connected to 3CX")
    expect(notification).to_be_visible(timeout=15000)
    expect(notification).to_contain_text("do not exist in 3CX: 4242.")
    # The form shows the result the admin was told, beside a green "Connected".
    expect(page.locator(".o_field_widget[name=test_state]")).to_have_text("Works",
                                                                          timeout=10000)
    expect(page.locator(".o_field_widget[name=connection_state]")).to_have_text("Connected")
    page.screenshot(path=str(SHOTS / "admin_1_test_connection.png"))
    after = stats(world)
    # No token minted, the event connection not reopened: the worker's session was used.
    assert after["tokens_minted"] == before["tokens_minted"]
    assert after["ws_connections"] == before["ws_connections"]
    assert server_state(world)["test_state"] == "ok"
    # And the live connection still works: a call rung now reaches Odoo.
    callid = control(world["sim"], "calls/inbound", {"from": CALLER, "to": "101"})["callid"]
    wait_for(lambda: world["db"].do(lambda env: env["threecx.call"].search_count(
        [("server_id", "=", world["server"]), ("call_id", "=", str(callid))])),
        "the call rung after the test", timeout=15)
    control(world["sim"], f"calls/{callid}/hangup", {"side": "caller"})


@pytest.mark.tolerates(r"realtor_3cx\.worker\.pipeline: worker: 3CX server \d+ refused us",
                       why="the test gives the worker a wrong secret: it must say so at ERROR, "
                       "an admin has to act")
def test_a_refused_secret_is_named_then_fixed_without_a_stale_error(world, admin_page):
    page = admin_page
    db = world["db"]
    db.do(lambda env: env["threecx.server"].browse(world["server"]).write(
        {"api_secret": "not-the-secret"}))
    wait_for(lambda: server_state(world)["connection_state"] == "error",
             "the worker to be refused", timeout=30)
    page.reload()
    expect(page.locator(".o_field_widget[name=connection_state]")).to_have_text("Error",
                                                                              timeout=20000)
    expect(page.locator(".o_field_widget[name=last_error]")).to_be_visible()
    page.get_by_role("button", name="Test connection").click()
    notification = page.locator(".o_notification").filter(
        has_text="3CX refused the API client ID or secret")
    expect(notification).to_be_visible(timeout=20000)
    expect(page.locator(".o_field_widget[name=test_state]")).to_have_text("Problems found",
                                                                          timeout=10000)
    page.screenshot(path=str(SHOTS / "admin_2_refused_secret.png"))
    notification.locator(".o_notification_close").click()
    # The admin pastes the right key: the worker reconnects, and the red error goes.
    db.do(lambda env: env["threecx.server"].browse(world["server"]).write({"api_secret": SECRET}))
    wait_for(lambda: server_state(world)["connection_state"] == "connected",
             "the worker to reconnect", timeout=60)
    deadline = time.monotonic() + 10
    while server_state(world)["last_error"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not server_state(world)["last_error"]
    page.reload()
    expect(page.locator(".o_field_widget[name=connection_state]")).to_have_text("Connected",
                                                                              timeout=20000)
    expect(page.locator(".o_field_widget[name=last_error]")).to_have_count(0)
    page.screenshot(path=str(SHOTS / "admin_3_reconnected.png"))


@pytest.mark.tolerates(
    r"(UPDATE \"bus_presence\"[\s\S]*|odoo\.addons\.bus\.websocket: )could not serialize "
    r"access due to concurrent update",
    why="the page's clock jumps a minute, so Odoo's own bus sends the user's presence "
    "updates all at once and they race each other (Odoo core, not this addon)")
def test_without_a_worker_the_admin_is_told_nobody_answered(world, admin_page):
    page = admin_page
    world["worker"].stop()
    # Minutes pass in the page without waiting for them (the wait is 45 s).
    page.clock.install()
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator(".o_notification").filter(
        has_text="testing the connection")).to_be_visible(timeout=10000)
    expect(page.locator(".o_field_widget[name=test_state]")).to_have_text(
        "Waiting for the worker", timeout=10000)
    page.clock.fast_forward("01:00")
    expect(page.locator(".o_notification").filter(has_text="No worker answered")).to_be_visible(
        timeout=10000)
    page.screenshot(path=str(SHOTS / "admin_4_no_worker.png"))
    assert server_state(world)["test_state"] == "pending"
