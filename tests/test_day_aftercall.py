# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A realtor's day, after the call: the ringing cards and the outcome panel, end to end.

Chromium as a realtor against Odoo, the worker and the simulator, all real; the database is
checked after each step, and each screen is saved to docs/screenshots/day/aftercall_*.png.
"""

import datetime
import os
import time
import urllib.request

import pytest
from browser_env import DAY_SHOTS, PASSWORD, launch, login, odoo_server
from playwright.sync_api import expect, sync_playwright
from threecx_sim import SECRET, control, running_simulator, wait_for
from worker_env import OdooDb, Worker

# Numbers of this run only (a kept database may hold an earlier run's contacts).
NUMBER = f"+1555017{os.getpid() % 10000:04d}"
OTHER = f"+1555018{os.getpid() % 10000:04d}"
SHOTS = DAY_SHOTS
# When the card of call ``id`` leaves the page (Date.now(), the test's clock too).
WATCH_CARD = """
(id) => {
    window.__cardGone = window.__cardGone || {};
    const selector = `.o_realtor_3cx_popup[data-call-id="${id}"]`;
    const observer = new MutationObserver(() => {
        if (!document.querySelector(selector)) {
            window.__cardGone[id] = Date.now();
            observer.disconnect();
        }
    });
    observer.observe(document.body, { childList: true, subtree: true });
}
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    db = OdooDb()
    logs = tmp_path_factory.mktemp("aftercall")
    with running_simulator() as sim:
        tag = f"ac{os.getpid()}"

        def create(env):
            env.company.country_id = env.ref("base.us")
            realtor = env["res.users"].create({
                "name": "Alex Aftercall", "login": f"alex_{tag}", "password": PASSWORD,
                "tz": "UTC", "groups_id": [(6, 0, [
                    env.ref("base.group_user").id,
                    env.ref("realtor_3cx.realtor_3cx_group_user").id])]})
            server = env["threecx.server"].create({
                "name": "Aftercall PBX", "base_url": sim.url, "client_id": "900",
                "api_secret": SECRET})
            env["threecx.extension"].create(
                {"server_id": server.id, "number": "101", "user_id": realtor.id})
            partner = env["res.partner"].create({"name": "Dana Aftercall", "phone": NUMBER})
            listing = env["realtor.property"].create({
                "name": "9 Quay Lane", "listing_agent_id": realtor.id,
                "interested_partner_ids": [(6, 0, [partner.id])]})
            return {"server": server.id, "partner": partner.id, "property": listing.id,
                    "realtor": realtor.login, "realtor_id": realtor.id}

        ids = db.do(create)
        worker = Worker(db, ids["server"], logs / "worker.log")
        try:
            with odoo_server(db.conf, db.db, logs / "odoo.log") as url, sync_playwright() as pw:
                # The database's registry and Odoo's table of static folders load on first
                # use: once, here, rather than under the login page's parallel requests
                # (Python 3.11's parser is not thread-safe when it reads the manifests).
                for path in ("/web/binary/company_logo", "/web/static/img/favicon.ico"):
                    with urllib.request.urlopen(f"{url}{path}", timeout=60):
                        pass
                browser = launch(pw)
                wait_for(lambda: db.do(lambda env: env["threecx.server"].browse(
                    ids["server"]).connection_state) == "connected", "the worker", timeout=30)
                SHOTS.mkdir(parents=True, exist_ok=True)
                yield {"db": db, "sim": sim, "url": url, "browser": browser, **ids,
                       "logs": logs}
                browser.close()
        finally:
            worker.stop()


@pytest.fixture
def context(world):
    context = world["browser"].new_context(viewport={"width": 1400, "height": 900})
    yield context
    for page in context.pages:
        last = world["logs"] / f"last-{time.monotonic_ns()}.png"
        page.screenshot(path=str(last))
        print("last screen:", last, "url:", page.url)
    context.close()


def realtor_page(world, context):
    page = context.new_page()
    login(page, world["url"], world["realtor"])
    page.wait_for_selector(".o_realtor_3cx_systray", timeout=20000)
    return page


def record(world, callid):
    """The call's record as the worker wrote it (state, outcome, skipped), or None."""
    def read(env):
        call = env["threecx.call"].search([("server_id", "=", world["server"]),
                                           ("call_id", "=", str(callid))])
        return call and {"id": call.id, "state": call.state, "outcome": call.outcome_id.code,
                         "skipped": call.outcome_skipped}
    return world["db"].do(read)


def ring(world, number):
    call = control(world["sim"], "calls/inbound", {"from": number, "to": "101",
                                                   "ring_seconds": 2400})
    return call["callid"]


def talk(world, page, number):
    """A call answered on the desk phone and talked on, then hung up by the caller: its id."""
    callid = ring(world, number)
    record_id = wait_for(lambda: record(world, callid), "the call's record")["id"]
    card = page.locator(f".o_realtor_3cx_popup[data-call-id='{record_id}'][data-state=ringing]")
    expect(card).to_be_visible(timeout=10000)
    control(world["sim"], f"calls/{callid}/answer", {"dn": "101"})
    expect(page.locator(".o_realtor_3cx_popup[data-state=connected]")).to_be_visible(
        timeout=10000)
    return callid


def hang_up(world, callid):
    control(world["sim"], f"calls/{callid}/hangup", {"side": "caller"})


def boxes_overlap(a, b):
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def test_ringing_cards_are_compact_stack_and_leave_the_page_controls_clickable(world, context):
    page = realtor_page(world, context)
    page.goto(f"{world['url']}/odoo/action-contacts.action_contacts")
    expect(page.locator(".o_kanban_view")).to_be_visible(timeout=15000)
    first, second = ring(world, NUMBER), ring(world, OTHER)
    cards = page.locator(".o_realtor_3cx_popup[data-state=ringing]")
    expect(cards).to_have_count(2, timeout=10000)
    expect(page.locator(".o_realtor_3cx_popup_title").first).to_be_visible()
    for index in range(2):
        box = cards.nth(index).bounding_box()
        assert box["width"] <= 320 and box["height"] <= 220, box  # compact
        assert not boxes_overlap(box, page.locator(".o_control_panel").bounding_box())
    page.screenshot(path=str(SHOTS / "aftercall_1_ringing_cards.png"))
    # The view switcher and the pager take clicks while the cards show (a covered control
    # would make Playwright's click wait for it, and time out).
    page.locator(".o_switch_view.o_list").click(timeout=3000)
    expect(page.locator(".o_list_view")).to_be_visible(timeout=10000)
    page.locator(".o_pager_value").click(timeout=3000)  # the pager's range, edited
    page.locator("input.o_pager_value").fill("1-2")
    page.keyboard.press("Enter")
    expect(page.locator(".o_list_view .o_data_row")).to_have_count(2, timeout=10000)
    # The status bar of a form: clicking a stage saves it.
    page.goto(f"{world['url']}/odoo/action-realtor_3cx.realtor_property_action/"
              f"{world['property']}")
    stage = page.locator(".o_statusbar_status button[data-value=active]")
    expect(stage).to_be_visible(timeout=15000)
    expect(cards).to_have_count(2, timeout=10000)
    page.screenshot(path=str(SHOTS / "aftercall_2_cards_beside_a_form.png"))
    stage.click(timeout=3000)
    wait_for(lambda: world["db"].do(lambda env: env["realtor.property"].browse(
        world["property"]).listing_status) == "active", "the stage clicked beside the cards")
    # The caller hangs up: their card goes within a second (the call is logged missed after
    # the worker's end grace).
    for callid in (first, second):
        record_id = wait_for(lambda c=callid: record(world, c), "the call's record")["id"]
        page.evaluate(WATCH_CARD, record_id)
        hung_up_at = time.time() * 1000
        hang_up(world, callid)
        gone = wait_for(lambda r=record_id: page.evaluate(
            f"(window.__cardGone || {{}})[{r}]"), "the card to go", timeout=10)
        print(f"card of call {callid} gone {gone - hung_up_at:.0f} ms after the hang-up")
        assert gone - hung_up_at < 1000, gone - hung_up_at
        wait_for(lambda c=callid: record(world, c)["state"] == "missed", "the missed call",
                 timeout=10)
    expect(cards).to_have_count(0)


def test_the_outcome_panel_is_docked_kept_and_shown_in_one_tab(world, context):
    page = realtor_page(world, context)
    db = world["db"]
    page.goto(f"{world['url']}/odoo/action-contacts.action_contacts")
    expect(page.locator(".o_kanban_view")).to_be_visible(timeout=15000)
    first = talk(world, page, NUMBER)
    time.sleep(1)  # they talk
    hang_up(world, first)
    panel = page.locator(".o_realtor_3cx_outcome_panel")
    expect(panel).to_have_attribute("data-count", "1", timeout=15000)
    assert record(world, first)["state"] == "completed" and not record(world, first)["outcome"]
    # Docked, not modal: nothing covers the page, whose controls still take clicks.
    expect(page.locator(".modal")).to_have_count(0)
    box, view = panel.bounding_box(), page.viewport_size
    assert box["y"] + box["height"] >= view["height"] - 2 and box["width"] <= 340, box
    assert not boxes_overlap(box, page.locator(".o_control_panel").bounding_box())
    expect(panel.locator(".o_realtor_3cx_outcome_who")).to_have_text("Dana Aftercall")
    page.screenshot(path=str(SHOTS / "aftercall_3_outcome_panel.png"))
    page.locator(".o_switch_view.o_list").click(timeout=3000)
    expect(page.locator(".o_list_view")).to_be_visible(timeout=10000)

    # Navigating away and reloading keep it: the list is the server's.
    page.goto(f"{world['url']}/odoo/action-realtor_3cx.realtor_property_action")
    expect(panel).to_have_attribute("data-count", "1", timeout=15000)
    page.reload()
    expect(panel).to_have_attribute("data-count", "1", timeout=20000)
    expect(panel.locator(".o_realtor_3cx_outcome_who")).to_have_text("Dana Aftercall")

    # A new call: the panel folds while the realtor talks, then lists both calls.
    second = talk(world, page, OTHER)
    expect(panel).to_have_attribute("data-folded", "1", timeout=10000)
    expect(page.locator(".o_realtor_3cx_outcome")).to_have_count(0)
    page.screenshot(path=str(SHOTS / "aftercall_4_folded_during_a_call.png"))
    time.sleep(1)
    hang_up(world, second)
    expect(panel).to_have_attribute("data-count", "2", timeout=15000)
    expect(panel).to_have_attribute("data-folded", "0")
    assert record(world, second)["state"] == "completed"

    # A second tab takes the panel; the first hides it until the realtor uses it again.
    other = context.new_page()
    other.goto(f"{world['url']}/odoo/action-contacts.action_contacts")
    other_panel = other.locator(".o_realtor_3cx_outcome_panel")
    expect(other_panel).to_have_attribute("data-count", "2", timeout=20000)
    expect(panel).to_have_count(0, timeout=5000)
    other.screenshot(path=str(SHOTS / "aftercall_5_second_tab.png"))
    page.bring_to_front()
    page.locator(".o_control_panel").click(position={"x": 4, "y": 4})
    expect(panel).to_have_attribute("data-count", "2", timeout=5000)
    expect(other_panel).to_have_count(0, timeout=5000)

    # Log the newest call here: an outcome, notes, a follow-up day.
    expect(panel.locator(".o_realtor_3cx_outcome")).to_have_attribute(
        "data-call-id", str(record(world, second)["id"]))
    panel.locator("[data-outcome=showing_booked]").click()
    panel.locator(".o_realtor_3cx_outcome_notes").fill("Saturday 10:00 at 9 Quay Lane")
    day = datetime.date.today() + datetime.timedelta(days=5)
    panel.locator(".o_realtor_3cx_outcome_followup").fill(day.isoformat())
    page.screenshot(path=str(SHOTS / "aftercall_6_logging_an_outcome.png"))
    panel.locator(".o_realtor_3cx_outcome_save").click()
    expect(panel).to_have_attribute("data-count", "1", timeout=10000)
    assert record(world, second)["outcome"] == "showing_booked"

    # OTHER is an unknown number: the follow-up is on the call itself.
    def planned(env):
        call = env["threecx.call"].browse(record(world, second)["id"])
        target = call.partner_id or call
        return [(a.activity_type_id, a.date_deadline) for a in target.activity_ids]

    assert db.do(lambda env: [(t.name, d) for t, d in planned(env)]) == [("Showing", day)]
    # The other tab, used again, shows only the call still waiting; skip it there.
    other.bring_to_front()
    other.locator(".o_control_panel").click(position={"x": 4, "y": 4})
    expect(other_panel).to_have_attribute("data-count", "1", timeout=5000)
    expect(other_panel.locator(".o_realtor_3cx_outcome")).to_have_attribute(
        "data-call-id", str(record(world, first)["id"]))
    other_panel.locator(".o_realtor_3cx_outcome_skip").click()
    expect(other_panel).to_have_count(0, timeout=10000)
    wait_for(lambda: record(world, first)["skipped"], "the skipped call")
    page.bring_to_front()
    page.locator(".o_control_panel").click(position={"x": 4, "y": 4})
    expect(panel).to_have_count(0)
    assert db.do(lambda env: env["threecx.call"].with_user(world["realtor_id"])
                 .realtor_3cx_pending_outcomes()["count"]) == 0
