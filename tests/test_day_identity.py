# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A realtor's day, the caller's identity: Chromium, Odoo, the worker and the simulator.

A realtor picks who is calling among people sharing a number, creates a contact for an
unknown caller from the pop-up, and tells an owner's call from a call to a listing's line. The
database is checked after each step; each screen is saved to
``docs/screenshots/day/identity_<n>_<what>.png``.
"""

import os
import time

import pytest
from browser_env import DAY_SHOTS, PASSWORD, launch, odoo_server, signed_in
from playwright.sync_api import expect, sync_playwright
from threecx_sim import SECRET, control, running_simulator, wait_for
from worker_env import OdooDb, Worker

SHARED = "+15550147101"  # a couple's landline
UNKNOWN = "+13105550147"  # a caller in Los Angeles nobody knows yet
OWNER = "+15550147120"
DID = "+15550147190"  # the listing's own line
MAIN = "+15550147100"  # the brokerage's number, routed to the realtor's extension
SHOTS = DAY_SHOTS


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    db = OdooDb()
    logs = tmp_path_factory.mktemp("identity")
    with running_simulator() as sim:
        tag = f"identity_{os.getpid()}"

        def create(env):
            env.company.country_id = env.ref("base.us")
            # A database kept from an earlier run (devenv.py test --keep) has this module's
            # callers and listing already: out of the way, so the numbers mean the same.
            env["res.partner"].search([("phone_e164", "in", [SHARED, UNKNOWN, OWNER])]).write(
                {"active": False})
            env["realtor.property"].search([("listing_phone_e164", "=", DID)]).write(
                {"listing_phone": False, "active": False})
            groups = [env.ref("base.group_user").id,
                      env.ref("realtor_3cx.realtor_3cx_group_user").id]
            realtor = env["res.users"].create({
                "name": "Rita Realtor", "login": f"rita_{tag}", "password": PASSWORD,
                "tz": "Europe/Madrid",  # not the callers' zone: a new contact must not get it
                "groups_id": [(6, 0, [*groups, env.ref("base.group_partner_manager").id])]})
            colleague = env["res.users"].create({
                "name": "Lee Listing", "login": f"lee_{tag}", "password": PASSWORD,
                "groups_id": [(6, 0, groups)]})
            server = env["threecx.server"].create({
                "name": "Identity PBX", "base_url": sim.url, "client_id": "900",
                "api_secret": SECRET})
            env["threecx.extension"].create([
                {"server_id": server.id, "number": "101", "user_id": realtor.id},
                {"server_id": server.id, "number": "102", "user_id": colleague.id}])
            alex, sam, owner = env["res.partner"].create([
                {"name": "Alex Harbour", "phone": SHARED},
                {"name": "Sam Harbour", "phone": SHARED},
                {"name": "Olive Owner", "phone": OWNER}])
            listing = env["realtor.property"].create({
                "name": "4 Owner Road", "listing_phone": DID, "listing_status": "active",
                "listing_agent_id": colleague.id, "owner_ids": [(6, 0, owner.ids)]})
            return {"server": server.id, "realtor": realtor.login, "realtor_id": realtor.id,
                    "colleague_id": colleague.id, "alex": alex.id, "sam": sam.id,
                    "owner": owner.id, "listing": listing.id,
                    "listing_name": listing.display_name}

        ids = db.do(create)
        worker = Worker(db, ids["server"], logs / "worker.log")
        try:
            with odoo_server(db.conf, db.db, logs / "odoo.log") as url, sync_playwright() as pw:
                browser = launch(pw)
                warm_up(browser, url, ids["realtor"])
                wait_for(lambda: db.do(lambda env: env["threecx.server"].browse(
                    ids["server"]).connection_state) == "connected", "the worker", timeout=30)
                yield {"db": db, "sim": sim, "url": url, "browser": browser, "logs": logs, **ids}
                browser.close()
        finally:
            worker.stop()


def warm_up(browser, url, login_name):
    """The first page of a fresh server builds its assets: more than a login's wait on a
    loaded machine. Waited for once here, with its own deadline."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{url}/web/login")
    page.fill("input[name=login]", login_name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector(".o_main_navbar", timeout=180000)
    context.close()


@pytest.fixture
def realtor(world):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with signed_in(world["browser"], world["url"], world["realtor"], world["logs"]) as page:
        yield page


def shot(page, n, what):
    page.screenshot(path=str(SHOTS / f"identity_{n}_{what}.png"))


def the_call(world, sim_call):
    """The call's record in Odoo, once the worker logged it, as a dict of what matters."""
    def read(env):
        call = env["threecx.call"].search([("server_id", "=", world["server"]),
                                           ("call_id", "=", str(sim_call["callid"]))])
        if not call:
            return None
        return {
            "id": call.id, "state": call.state, "partner_id": call.partner_id.id,
            "candidates": sorted(call.candidate_partner_ids.ids), "name": call.external_name,
            "property_id": call.property_id.id, "user_id": call.user_id.id,
            "callback_user_id": call.callback_user_id.id,
            "activity_users": call.activity_ids.user_id.ids,
        }
    return world["db"].do(read)


def ring(world, number, did=MAIN, name=""):
    sim_call = control(world["sim"], "calls/inbound", {
        "from": number, "to": "101", "did": did, "name": name, "ring_seconds": 600})
    wait_for(lambda: the_call(world, sim_call), "the worker to log the call", timeout=10)
    return sim_call


def popup_of(world, page, sim_call):
    """The pop-up card of this call (another call's card may still be closing)."""
    return page.locator(f".o_realtor_3cx_popup[data-call-id='{the_call(world, sim_call)['id']}']")


def hang_up(world, page, sim_call):
    control(world["sim"], f"calls/{sim_call['callid']}/hangup", {"side": "caller"})
    expect(popup_of(world, page, sim_call)).to_have_count(0, timeout=10000)


def test_picking_who_is_calling_makes_them_the_calls_contact(world, realtor):
    page, db, sim = realtor, world["db"], world["sim"]
    sim_call = ring(world, SHARED)
    popup = popup_of(world, page, sim_call)
    expect(popup.locator(".o_realtor_3cx_popup_title")).to_have_text(
        "2 people share this number", timeout=10000)
    assert the_call(world, sim_call)["partner_id"] is False
    shot(page, 1, "picker")

    popup.locator(".o_realtor_3cx_picker button", has_text="Sam Harbour").click()
    wait_for(lambda: the_call(world, sim_call)["partner_id"] == world["sam"],
             "the pick to be the call's contact")
    assert the_call(world, sim_call)["candidates"] == sorted([world["alex"], world["sam"]])
    expect(popup.locator(".o_realtor_3cx_popup_title")).to_have_text("Sam Harbour")
    expect(popup.locator(".o_realtor_3cx_open_contact")).to_be_visible()
    shot(page, 2, "picked")

    # A second tab of the realtor's opened now shows the pick too (from the server, not the
    # first tab's memory).
    other = page.context.new_page()
    other.goto(f"{world['url']}/odoo")
    expect(other.locator(".o_realtor_3cx_popup .o_realtor_3cx_popup_title")).to_have_text(
        "Sam Harbour", timeout=15000)
    other.close()

    control(sim, f"calls/{sim_call['callid']}/answer", {"dn": "101"})
    wait_for(lambda: the_call(world, sim_call)["state"] == "connected", "the answer")
    time.sleep(1)  # they talk
    control(sim, f"calls/{sim_call['callid']}/hangup", {"side": "caller"})
    dialog = page.locator(".o_realtor_3cx_outcome")
    expect(dialog).to_contain_text("Sam Harbour", timeout=10000)  # the outcome panel
    shot(page, 3, "outcome")
    page.locator("[data-outcome=showing_booked]").click()
    page.locator(".o_realtor_3cx_outcome_save").click()
    expect(dialog).to_have_count(0, timeout=10000)

    def followed(env):
        sam, alex = env["res.partner"].browse([world["sam"], world["alex"]])
        summary = sam.message_ids.filtered(lambda m: "Inbound call with" in (m.body or ""))
        return {
            "sam_calls": sam.threecx_call_count, "alex_calls": alex.threecx_call_count,
            "sam_activities": sam.activity_ids.mapped("summary"),
            "alex_activities": alex.activity_ids.mapped("summary"),
            "sam_summaries": len(summary),
            "report": env["threecx.call.report"].search_count(
                [("partner_id", "=", sam.id)]),
        }

    assert db.do(followed) == {
        "sam_calls": 1, "alex_calls": 0, "sam_activities": ["Showing with Sam Harbour"],
        "alex_activities": [], "sam_summaries": 1, "report": 1,
    }
    # The contact's own Calls count, as the realtor sees it.
    page.goto(f"{world['url']}/odoo/action-contacts.action_contacts/{world['sam']}")
    page.locator(".o_notebook .nav-link", has_text="Calls").click()
    expect(page.locator(".o_notebook .o_data_row")).to_have_count(1, timeout=10000)
    shot(page, 4, "contact_calls")


def test_a_contact_created_from_the_pop_up_takes_the_call(world, realtor):
    page, db = realtor, world["db"]

    def earlier_call(env):
        return env["threecx.call"].create({
            "server_id": world["server"], "call_id": f"identity-earlier-{time.time_ns()}",
            "state": "missed", "external_number": "(310) 555-0147",
            "start_at": "2026-11-20 10:00:00", "user_id": world["realtor_id"]}).id

    earlier = db.do(earlier_call)
    sim_call = ring(world, UNKNOWN, name="CASEY CALLER")
    assert the_call(world, sim_call)["name"] == "CASEY CALLER"
    popup = popup_of(world, page, sim_call)
    expect(popup.locator(".o_realtor_3cx_popup_title")).to_have_text("Unknown caller",
                                                                       timeout=10000)
    expect(popup.locator(".o_realtor_3cx_popup_caller_name")).to_contain_text("CASEY CALLER")
    shot(page, 5, "unknown")

    popup.locator(".o_realtor_3cx_create_contact").click()
    name = page.locator(".o_form_view .o_field_widget[name=name] input")
    expect(name).to_have_value("Casey Caller", timeout=10000)
    shot(page, 6, "new_contact")
    page.locator(".o_form_button_save").click()

    def created(env):
        partner = env["res.partner"].search([("phone_e164", "=", UNKNOWN)])
        if not partner:
            return None
        return {
            "partners": [(p.name, p.tz) for p in partner],
            "linked": sorted(partner.sudo().threecx_call_ids.ids),
        }

    after = wait_for(lambda: db.do(created), "the contact saved", timeout=10)
    # The caller's zone (the number is in Los Angeles), not the realtor's Madrid.
    assert after["partners"] == [("Casey Caller", "America/Los_Angeles")]
    assert after["linked"] == sorted([earlier, the_call(world, sim_call)["id"]])
    # The card shows the new contact at once: no second "Create contact".
    expect(popup.locator(".o_realtor_3cx_popup_title")).to_have_text("Casey Caller",
                                                                       timeout=10000)
    expect(popup.locator(".o_realtor_3cx_create_contact")).to_have_count(0)
    expect(popup.locator(".o_realtor_3cx_open_contact")).to_be_visible()
    shot(page, 7, "created")
    hang_up(world, page, sim_call)


def test_an_owner_calling_the_realtor_is_not_the_listing_line(world, realtor):
    page = realtor
    sim_call = ring(world, OWNER)
    popup = popup_of(world, page, sim_call)
    expect(popup.locator(".o_realtor_3cx_popup_title")).to_have_text("Olive Owner",
                                                                       timeout=10000)
    expect(popup.locator(".o_realtor_3cx_popup_owner")).to_contain_text(
        f"Owner of {world['listing_name']}")
    expect(popup.locator(".o_realtor_3cx_popup_listing")).to_have_count(0)
    record = the_call(world, sim_call)
    assert (record["partner_id"], record["property_id"], record["user_id"]) == (
        world["owner"], world["listing"], world["realtor_id"])
    shot(page, 8, "owner")
    hang_up(world, page, sim_call)  # unanswered: the realtor calls the owner back
    missed = wait_for(lambda: (c := the_call(world, sim_call))["activity_users"] and c,
                      "the call-back activity")
    assert missed["state"] == "missed"
    assert missed["activity_users"] == [world["realtor_id"]]  # not the listing's agent
    assert missed["callback_user_id"] == world["realtor_id"]

    # The same owner dialling the listing's own line: that is the listing line.
    sim_call = ring(world, OWNER, did=DID)
    popup = popup_of(world, page, sim_call)
    expect(popup.locator(".o_realtor_3cx_popup_listing")).to_contain_text(
        f"Called the listing line of {world['listing_name']}", timeout=10000)
    expect(popup.locator(".o_realtor_3cx_popup_owner")).to_have_count(0)
    shot(page, 9, "listing_line")
    hang_up(world, page, sim_call)
    missed = wait_for(lambda: (c := the_call(world, sim_call))["activity_users"] and c,
                      "the call-back activity")
    assert missed["activity_users"] == [world["colleague_id"]]  # the listing's agent
