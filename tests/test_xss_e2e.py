# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Markup from outside stays text in the realtor's browser: Chromium, Odoo, the worker and
the simulator, all real (the machinery of test_browser_e2e.py).

A caller can choose what 3CX reports as their name and, on a SIP trunk, their number; a
contact or listing name can come from the 3CX client (the CRM template's contact creation)
or an import. Every one of those is a script here. They travel the real way (3CX event ->
worker -> database -> bus -> pop-up; chatter lines written by the worker) and the page must
show them literally without running any of them: ``window.__xss`` stays undefined and no
element the payloads describe appears.
"""

import os

import pytest
from browser_env import PASSWORD, launch, login, odoo_server
from playwright.sync_api import expect, sync_playwright
from threecx_sim import SECRET, control, running_simulator, wait_for
from worker_env import OdooDb, Worker

# Per run: a database kept between runs (devenv --keep) already has the last run's listing.
NUMBER = f"+1555019{os.getpid() % 10000:04d}"
DID = f"+1555018{os.getpid() % 10000:04d}"
CONTACT = "Dana <img src=x onerror=window.__xss=1> Buyer"
LISTING = "<script>window.__xss=2</script>9 Harbour St"
CALLER_NAME = "<img src=x onerror=window.__xss=3>"
ODD_NUMBER = "<svg onload=window.__xss=4>"
REALTOR = "Riley <b onmouseover=window.__xss=5>Realtor</b>"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    db = OdooDb()
    logs = tmp_path_factory.mktemp("xss")
    with running_simulator() as sim:
        tag = f"x{os.getpid()}"

        def create(env):
            env.company.country_id = env.ref("base.us")
            realtor = env["res.users"].create({
                "name": REALTOR, "login": f"xss_{tag}", "password": PASSWORD, "tz": "UTC",
                "groups_id": [(6, 0, [env.ref("base.group_user").id,
                                      env.ref("realtor_3cx.realtor_3cx_group_user").id])]})
            server = env["threecx.server"].create({
                "name": "XSS PBX", "base_url": sim.url, "client_id": "900",
                "api_secret": SECRET})
            env["threecx.extension"].create(
                {"server_id": server.id, "number": "101", "user_id": realtor.id})
            partner = env["res.partner"].create({"name": CONTACT, "phone": NUMBER})
            listing = env["realtor.property"].create({
                "name": LISTING, "listing_phone": DID, "listing_agent_id": realtor.id,
                "interested_partner_ids": [(6, 0, [partner.id])]})
            return {"server": server.id, "partner": partner.id, "property": listing.id,
                    "realtor": realtor.login}

        ids = db.do(create)
        worker = Worker(db, ids["server"], logs / "worker.log")
        try:
            with odoo_server(db.conf, db.db, logs / "odoo.log") as url, sync_playwright() as pw:
                browser = launch(pw)
                wait_for(lambda: db.do(lambda env: env["threecx.server"].browse(
                    ids["server"]).connection_state) == "connected", "the worker", timeout=30)
                context = browser.new_context(viewport={"width": 1400, "height": 900})
                page = context.new_page()
                dialogs = []
                page.on("dialog", lambda dialog: (dialogs.append(dialog.message),
                                                  dialog.dismiss()))
                login(page, url, ids["realtor"])
                page.wait_for_selector(".o_realtor_3cx_systray", timeout=20000)
                yield {"db": db, "sim": sim, "url": url, "page": page, "dialogs": dialogs,
                       **ids}
                context.close()
                browser.close()
        finally:
            worker.stop()


def assert_inert(world, where):
    page = world["page"]
    assert page.evaluate("typeof window.__xss") == "undefined", where
    assert world["dialogs"] == [], where
    # None of the payloads became an element.
    assert page.locator("img[src=x], svg[onload], b[onmouseover]").count() == 0, where
    # An injected <script> would hold exactly its payload (the page's own bootstrap script
    # carries the realtor's name JSON-escaped, which is fine).
    scripts = page.evaluate("[...document.scripts].map(s => s.textContent.trim())"
                            ".filter(t => t.startsWith('window.__xss'))")
    assert scripts == [], where


def test_markup_in_a_contact_listing_and_caller_name_is_text_in_the_pop_up(world):
    page, sim = world["page"], world["sim"]
    call = control(sim, "calls/inbound", {"from": NUMBER, "to": "101", "did": DID,
                                          "name": CALLER_NAME, "ring_seconds": 600})
    popup = page.locator(".o_realtor_3cx_popup[data-call-id]").first
    expect(popup).to_be_visible(timeout=15000)
    expect(popup.locator(".o_realtor_3cx_popup_title")).to_have_text(CONTACT)
    expect(popup.locator(".o_realtor_3cx_popup_listing")).to_contain_text(LISTING)
    assert_inert(world, "ringing pop-up")
    control(sim, f"calls/{call['callid']}/hangup", {"side": "caller"})
    expect(page.locator(".o_realtor_3cx_popup")).to_have_count(0, timeout=15000)
    assert_inert(world, "after the pop-up closed")


def test_a_caller_id_that_is_markup_is_shown_as_the_number(world):
    page, sim = world["page"], world["sim"]
    call = control(sim, "calls/inbound", {"from": ODD_NUMBER, "to": "101",
                                          "name": CALLER_NAME, "ring_seconds": 600})
    popup = page.locator(".o_realtor_3cx_popup[data-call-id]").first
    expect(popup).to_be_visible(timeout=15000)
    expect(popup.locator(".o_realtor_3cx_popup_number")).to_have_text(ODD_NUMBER)
    assert_inert(world, "pop-up of an odd caller id")
    control(sim, f"calls/{call['callid']}/hangup", {"side": "caller"})
    expect(page.locator(".o_realtor_3cx_popup")).to_have_count(0, timeout=15000)


def test_the_chatter_shows_the_call_line_and_names_as_text(world):
    page, sim, db = world["page"], world["sim"], world["db"]
    call = control(sim, "calls/inbound", {"from": NUMBER, "to": "101", "did": DID,
                                          "name": CALLER_NAME, "ring_seconds": 600})
    expect(page.locator(".o_realtor_3cx_popup[data-state=ringing]")).to_be_visible(
        timeout=15000)
    control(sim, f"calls/{call['callid']}/answer", {"dn": "101"})
    expect(page.locator(".o_realtor_3cx_popup[data-state=connected]")).to_be_visible(
        timeout=15000)
    control(sim, f"calls/{call['callid']}/hangup", {"side": "caller"})
    page.locator(".o_realtor_3cx_outcome").wait_for(timeout=15000)
    page.keyboard.press("Escape")

    def summary_posted(env):
        partner = env["res.partner"].browse(world["partner"])
        return partner.message_ids.filtered(lambda m: "Riley" in str(m.body))

    wait_for(lambda: db.do(summary_posted), "the call's chatter line", timeout=20)
    page.goto(f"{world['url']}/odoo/res.partner/{world['partner']}")
    expect(page.locator(".o_last_breadcrumb_item")).to_contain_text(CONTACT, timeout=20000)
    line = page.locator(".o-mail-Message-body", has_text="Riley").first
    expect(line).to_contain_text(REALTOR, timeout=20000)
    page.goto(f"{world['url']}/odoo/action-realtor_3cx.realtor_property_action/"
              f"{world['property']}")
    expect(page.locator(".o_last_breadcrumb_item")).to_contain_text(LISTING, timeout=20000)
    assert_inert(world, "contact and property forms")
