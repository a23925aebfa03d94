# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A manager's proof of the calling rules: Chromium and Odoo.

A realtor clicks to call a contact outside their calling hours and is refused; the manager
opens Telephony > Reporting > Compliance and finds that refusal, by reason and realtor, in the
pivot and in the list. Screenshots go where test_day_outbound.py's go.
"""

import datetime
import os
import urllib.request

import pytest
import pytz
from browser_env import DAY_SHOTS, PASSWORD, launch, odoo_server, signed_in
from playwright.sync_api import expect, sync_playwright
from threecx_sim import wait_for
from worker_env import OdooDb

MANHATTAN = "+12125550177"  # New York: phonenumbers knows its time zone


def shot(page, n, what):
    DAY_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DAY_SHOTS / f"compliance_{n}_{what}.png"))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    db = OdooDb()
    logs = tmp_path_factory.mktemp("day_compliance")
    tag = f"cmp{os.getpid()}"

    def create(env):
        env.company.country_id = env.ref("base.us")
        user = env.ref("base.group_user").id
        realtor, manager = env["res.users"].create([
            {"name": "Rhea Refused", "login": f"rhea_{tag}", "password": PASSWORD,
             "groups_id": [(6, 0, [user, env.ref("realtor_3cx.realtor_3cx_group_user").id])]},
            {"name": "Mona Manager", "login": f"mona_{tag}", "password": PASSWORD,
             "groups_id": [(6, 0, [user,
                                   env.ref("realtor_3cx.realtor_3cx_group_manager").id])]},
        ])
        # No worker: the refusal is Odoo's, before anything would reach 3CX.
        server = env["threecx.server"].create({
            "name": "Compliance PBX", "base_url": "https://pbx.invalid/", "client_id": "900",
            "api_secret": "not-used"})
        env["threecx.extension"].create(
            {"server_id": server.id, "number": "101", "user_id": realtor.id})
        partner = env["res.partner"].create({"name": "Nora Nightly", "phone": MANHATTAN})
        return {"realtor": realtor.login, "realtor_id": realtor.id, "manager": manager.login,
                "partner": partner.id}

    ids = db.do(create)
    # Hours that exclude the present one in New York: the call is refused whenever this runs.
    hour = datetime.datetime.now(pytz.timezone("America/New_York")).hour
    saved = db.calling_hours((1.0, 2.0) if hour >= 12 else (13.0, 14.0))
    try:
        with odoo_server(db.conf, db.db, logs / "odoo.log") as url, sync_playwright() as pw:
            with urllib.request.urlopen(f"{url}/web/static/img/favicon.ico", timeout=30):
                pass  # one request first: Odoo reads the manifests once (test_day_outbound)
            browser = launch(pw)
            yield {"db": db, "url": url, "browser": browser, "logs": logs, **ids}
            browser.close()
    finally:
        db.calling_hours(saved)


def test_a_manager_sees_the_refusal_a_realtor_just_met(world):
    db, url = world["db"], world["url"]
    with signed_in(world["browser"], url, world["realtor"], world["logs"]) as page:
        page.goto(f"{url}/odoo/action-contacts.action_contacts/{world['partner']}")
        page.locator(".o_field_widget[name=phone] .o_realtor_3cx_dial").click(timeout=15000)
        status = page.locator(".o_field_widget[name=phone] .o_realtor_3cx_dial_status")
        expect(status).to_have_attribute("data-status", "failed", timeout=10000)
        expect(status).to_contain_text("It is ")
        shot(page, 1, "refused")

    def logged(env):
        return env["threecx.blocked.attempt"].search_read(
            [("user_id", "=", world["realtor_id"])], ["path", "reason", "number"])

    rows = wait_for(lambda: db.do(logged), "the refusal in the log", timeout=10)
    assert [(r["path"], r["reason"], r["number"]) for r in rows] == [
        ("click_to_call", "calling_window", MANHATTAN)]

    # The manager has no extension: no telephony systray to wait for.
    with signed_in(world["browser"], url, world["manager"], world["logs"], systray=False) as page:
        page.goto(f"{url}/odoo/action-realtor_3cx.threecx_call_report_action")
        page.locator(".o_menu_sections button", has_text="Reporting").click(timeout=30000)
        page.locator(".dropdown-item", has_text="Compliance").click()
        pivot = page.locator("div.o_pivot")
        expect(pivot).to_be_visible(timeout=20000)
        # Rows are reasons, columns realtors: the refusal is counted in its cell.
        expect(pivot.locator("th", has_text="Outside calling hours")).to_be_visible()
        expect(pivot.locator("th", has_text="Rhea Refused")).to_be_visible()
        shot(page, 2, "pivot")
        page.locator(".o_switch_view.o_list").click()
        row = page.locator(".o_data_row", has_text="Nora Nightly")
        expect(row).to_have_count(1, timeout=15000)
        expect(row).to_contain_text("Refused attempt")
        expect(row).to_contain_text("Outside calling hours")
        expect(row).to_contain_text("Rhea Refused")
        expect(row).to_contain_text(MANHATTAN)
        shot(page, 3, "list")
