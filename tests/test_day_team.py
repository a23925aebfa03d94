# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A realtor's day, team calls: two realtors and a manager in Chromium, against Odoo, the worker
and the 3CX simulator, all real.

Riley (101) and Robin (102) are members of the simulator's queue "Sales Team" (800) and of a
ring group "Listing Line" (810); Max manages. A call to either rings both realtors' screens,
survives a reload on both, offers Claim, and goes from every screen when one of them answers,
claims, or the caller hangs up. A missed team call is the team's: in both realtors' Missed
Calls, and under the team in the manager's dashboard. The database is checked after each step;
each screen is saved to docs/screenshots/day/team_<n>_<what>.png.
"""

import contextlib
import os

import pytest
from browser_env import DAY_SHOTS, PASSWORD, launch, odoo_server, signed_in
from playwright.sync_api import expect, sync_playwright
from threecx_sim import SECRET, control, running_simulator, wait_for
from worker_env import OdooDb, Worker

CALLER = "+15550108741"  # its own: test_softphone.py dials ...8701
QUEUE, RING_GROUP = "800", "810"
SHOTS = DAY_SHOTS
POPUP = ".o_realtor_3cx_popup[data-call-id='{}']"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    db = OdooDb()
    logs = tmp_path_factory.mktemp("day_team")
    with running_simulator() as sim:
        # The ring group exists before the worker connects (it learns the DNs' types then).
        control(sim, "dns", {"number": RING_GROUP, "type": "Wringgroup", "first_name": "Listing",
                             "last_name": "Line", "members": ["101", "102"]})
        tag = str(os.getpid())

        def create(env):
            env.company.country_id = env.ref("base.us")
            realtor_group = env.ref("realtor_3cx.realtor_3cx_group_user")
            manager_group = env.ref("realtor_3cx.realtor_3cx_group_manager")
            base = env.ref("base.group_user")
            riley, robin = env["res.users"].create([
                {"name": name, "login": f"{name.split()[0].lower()}_team_{tag}",
                 "password": PASSWORD, "tz": "UTC",
                 "groups_id": [(6, 0, [base.id, realtor_group.id])]}
                for name in ("Riley Realtor", "Robin Realtor")])
            manager = env["res.users"].create({
                "name": "Max Manager", "login": f"max_team_{tag}", "password": PASSWORD,
                "tz": "UTC", "groups_id": [(6, 0, [base.id, manager_group.id])]})
            server = env["threecx.server"].create({
                "name": "Team PBX", "base_url": sim.url, "client_id": "900",
                "api_secret": SECRET})
            env["threecx.extension"].create([
                {"server_id": server.id, "number": "101", "user_id": riley.id},
                {"server_id": server.id, "number": "102", "user_id": robin.id}])
            env["res.partner"].create({"name": "Terry Caller", "phone": CALLER})
            return {"server": server.id, "riley": riley.id, "robin": robin.id,
                    "logins": {"riley": riley.login, "robin": robin.login,
                               "manager": manager.login}}

        ids = db.do(create)
        worker = Worker(db, ids["server"], logs / "worker.log")
        try:
            with odoo_server(db.conf, db.db, logs / "odoo.log") as url, sync_playwright() as pw:
                browser = launch(pw)
                wait_for(lambda: db.do(lambda env: env["threecx.team"].search_count(
                    [("server_id", "=", ids["server"]), ("kind", "!=", False)])) == 2,
                    "the worker to read the teams from 3CX", timeout=30)
                SHOTS.mkdir(parents=True, exist_ok=True)
                yield {"db": db, "sim": sim, "url": url, "browser": browser, "logs": logs, **ids}
                browser.close()
        finally:
            worker.stop()


@pytest.fixture
def screens(world):
    """Riley's and Robin's pages, each in a browser context of its own, logged in."""
    with contextlib.ExitStack() as stack:
        yield {who: stack.enter_context(signed_in(world["browser"], world["url"],
                                                  world["logins"][who], world["logs"]))
               for who in ("riley", "robin")}


def call_row(world, callid):
    """The call's record as the database has it: team, realtor, who it rings for."""
    def read(env):
        call = env["threecx.call"].search([("server_id", "=", world["server"]),
                                           ("call_id", "=", str(callid))])
        return call and {"id": call.id, "state": call.state, "team": call.team_id.number,
                         "user": call.user_id.id, "ringing": sorted(call.ringing_user_ids.ids)}

    return world["db"].do(read)


def ring(world, to, **extra):
    callid = control(world["sim"], "calls/inbound",
                     {"from": CALLER, "to": to, "ring_seconds": 600, **extra})["callid"]
    both = sorted([world["riley"], world["robin"]])
    return wait_for(lambda: (row := call_row(world, callid)) and row["ringing"] == both and row,
                    "the team call ringing both realtors", timeout=10) | {"callid": callid}


def shot(page, n, what):
    page.screenshot(path=str(SHOTS / f"team_{n}_{what}.png"))


def test_a_queue_call_shows_on_both_screens_survives_reload_and_goes_when_answered(
        world, screens):
    call = ring(world, QUEUE)
    assert (call["team"], call["user"], call["state"]) == (QUEUE, False, "ringing")
    for who, page in screens.items():
        popup = page.locator(POPUP.format(call["id"]))
        expect(popup).to_be_visible(timeout=10000)
        expect(popup.locator(".o_realtor_3cx_popup_title")).to_have_text("Terry Caller")
        expect(popup.locator(".o_realtor_3cx_claim")).to_be_visible()
        shot(page, 1 if who == "riley" else 2, f"queue_ringing_{who}")
    # Both reload: the pop-up comes back on both screens (not only on one member's).
    for page in screens.values():
        page.reload()
        page.wait_for_selector(".o_realtor_3cx_systray", timeout=20000)
        expect(page.locator(POPUP.format(call["id"]))).to_be_visible(timeout=10000)
        expect(page.locator(POPUP.format(call["id"]) + " .o_realtor_3cx_claim")).to_be_visible()
    shot(screens["robin"], 3, "queue_after_reload_robin")
    assert call_row(world, call["callid"])["user"] is False
    # Riley answers on the desk phone: the call is Riley's, gone from Robin's screen.
    control(world["sim"], f"calls/{call['callid']}/answer", {"dn": "101"})
    expect(screens["robin"].locator(POPUP.format(call["id"]))).to_have_count(0, timeout=10000)
    expect(screens["riley"].locator(POPUP.format(call["id"]))).to_have_attribute(
        "data-state", "connected", timeout=10000)
    row = call_row(world, call["callid"])
    assert (row["state"], row["user"], row["ringing"]) == ("connected", world["riley"], [])
    shot(screens["robin"], 4, "queue_answered_by_riley_robin")
    screens["robin"].reload()
    screens["robin"].wait_for_selector(".o_realtor_3cx_systray", timeout=20000)
    expect(screens["robin"].locator(".o_realtor_3cx_popup")).to_have_count(0)
    control(world["sim"], f"calls/{call['callid']}/hangup", {"side": "caller"})
    wait_for(lambda: call_row(world, call["callid"])["state"] == "completed", "the call's end")


def test_a_claim_takes_the_call_off_the_other_screen(world, screens):
    call = ring(world, RING_GROUP)
    assert (call["team"], call["user"]) == (RING_GROUP, False)
    for page in screens.values():
        expect(page.locator(POPUP.format(call["id"]))).to_be_visible(timeout=10000)
    screens["robin"].locator(POPUP.format(call["id"]) + " .o_realtor_3cx_claim").click()
    wait_for(lambda: call_row(world, call["callid"])["user"] == world["robin"], "Robin's claim")
    expect(screens["riley"].locator(POPUP.format(call["id"]))).to_have_count(0, timeout=10000)
    robin_popup = screens["robin"].locator(POPUP.format(call["id"]))
    expect(robin_popup).to_be_visible()
    expect(robin_popup.locator(".o_realtor_3cx_claim")).to_have_count(0, timeout=10000)
    shot(screens["robin"], 5, "ring_group_claimed_robin")
    shot(screens["riley"], 6, "ring_group_claimed_riley")
    # A reload does not bring it back to Riley, and keeps it on Robin's screen.
    for page in screens.values():
        page.reload()
        page.wait_for_selector(".o_realtor_3cx_systray", timeout=20000)
    expect(screens["robin"].locator(POPUP.format(call["id"]))).to_be_visible(timeout=10000)
    expect(screens["riley"].locator(POPUP.format(call["id"]))).to_have_count(0)
    control(world["sim"], f"calls/{call['callid']}/hangup", {"side": "caller"})
    expect(screens["robin"].locator(POPUP.format(call["id"]))).to_have_count(0, timeout=10000)
    # The card goes as the caller hangs up; the worker writes the call once its end grace is
    # over.
    row = wait_for(lambda: (r := call_row(world, call["callid"])) and r["state"] == "missed"
                   and r, "the missed call")
    assert (row["state"], row["user"], row["team"]) == ("missed", world["robin"], RING_GROUP)


def test_a_missed_team_call_is_the_teams_in_missed_calls_and_the_dashboard(world, screens):
    call = ring(world, RING_GROUP)
    for page in screens.values():
        expect(page.locator(POPUP.format(call["id"]))).to_be_visible(timeout=10000)
    control(world["sim"], f"calls/{call['callid']}/hangup", {"side": "caller"})
    for page in screens.values():  # the caller hung up: gone everywhere
        expect(page.locator(POPUP.format(call["id"]))).to_have_count(0, timeout=10000)
    row = wait_for(lambda: (r := call_row(world, call["callid"])) and r["state"] == "missed"
                   and r, "the missed call")
    assert (row["team"], row["user"]) == (RING_GROUP, False)
    # No arbitrary member was told to call back: the call is the team's.
    assert world["db"].do(lambda env: env["threecx.call"].browse(row["id"]).activity_ids.ids) \
        == []
    for n, (who, page) in enumerate(screens.items(), 7):
        page.goto(f"{world['url']}/odoo/action-realtor_3cx.threecx_call_action_missed")
        team_row = page.locator(".o_data_row", has_text="Listing Line (810)").first
        expect(team_row).to_be_visible(timeout=15000)
        shot(page, n, f"missed_calls_{who}")
    # The manager's dashboard, grouped by team: a row for the team.
    with signed_in(world["browser"], world["url"], world["logins"]["manager"], world["logs"],
                   systray=False) as page:
        page.goto(f"{world['url']}/odoo/action-realtor_3cx.threecx_call_report_action")
        page.locator(".o_searchview_dropdown_toggler").click()
        page.locator(".o_group_by_menu .o-dropdown-item", has_text="Team").click()
        header = page.locator(".o_pivot_header_cell_closed, .o_pivot_header_cell_opened",
                              has_text="Listing Line (810)")
        expect(header.first).to_be_visible(timeout=15000)
        page.keyboard.press("Escape")
        shot(page, 9, "dashboard_by_team_manager")
    # Riley calls the caller back from Missed Calls' number: the team's call is Riley's now.
    world["db"].do(lambda env: env["threecx.call"].create({
        "server_id": world["server"], "call_id": f"back-{call['callid']}",
        "direction": "outbound", "state": "completed", "external_number": CALLER,
        "user_id": world["riley"], "extension": "101"}))
    assert call_row(world, call["callid"])["user"] == world["riley"]
