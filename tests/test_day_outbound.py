# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A realtor's day, calling out within the rules: Chromium, Odoo, the worker and the simulator.

Each step is what the realtor sees (a screenshot of each screen), then what the database and
3CX (the simulator's ground truth) hold. The screenshots go to .data/screenshots/day/, or to
docs/screenshots/day/ with ``REALTOR_3CX_UPDATE_SCREENSHOTS=1 make test
T=tests/test_day_outbound.py``.
"""

import datetime
import os
import re
import urllib.request

import pytest
import pytz
from browser_env import DAY_SHOTS, PASSWORD, launch, login, odoo_server
from playwright.sync_api import expect, sync_playwright
from test_browser_e2e import call_from_softphone, fake_microphone_page
from threecx_sim import SECRET, control, running_simulator, wait_for
from worker_env import OdooDb, Worker

SHOTS = DAY_SHOTS
DNC = "+15550107701"  # the owner on the do-not-call list
DNC_NATIONAL = "5550107701"  # the same, as a US realtor types it: 10 digits
MANHATTAN = "+12125550199"  # a New York number: phonenumbers knows its time zone
SOFTPHONE_CALL = "+15550107702"


def shot(page, n, what):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"outbound_{n}_{what}.png"))


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    """This file's own people and server (test_browser_e2e.py's world makes users with the
    same logins in the same database: reusing its fixture would collide)."""
    db = OdooDb()
    logs = tmp_path_factory.mktemp("day_outbound")
    with running_simulator() as sim:
        tag = f"out{os.getpid()}"

        def create(env):
            env.company.country_id = env.ref("base.us")
            groups = [env.ref("base.group_user").id,
                      env.ref("realtor_3cx.realtor_3cx_group_user").id]
            realtor, colleague, newcomer = env["res.users"].create([
                {"name": "Olive Outbound", "login": f"olive_{tag}", "password": PASSWORD,
                 "tz": "America/Los_Angeles", "groups_id": [(6, 0, groups)]},
                {"name": "Colin Colleague", "login": f"colin_{tag}", "password": PASSWORD,
                 "groups_id": [(6, 0, groups)]},
                # A realtor whose extension is not mapped yet.
                {"name": "Nina Newcomer", "login": f"nina_{tag}", "password": PASSWORD,
                 "groups_id": [(6, 0, groups)]},
            ])
            server = env["threecx.server"].create({
                "name": "Outbound PBX", "base_url": sim.url, "client_id": "900",
                "api_secret": SECRET})
            env["threecx.extension"].create([
                {"server_id": server.id, "number": "101", "user_id": realtor.id},
                {"server_id": server.id, "number": "102", "user_id": colleague.id}])
            Partner = env["res.partner"]
            dnc = Partner.create({"name": "Doris Never", "phone": DNC, "do_not_call": True})
            manhattan = Partner.create({"name": "Manny Hattan", "phone": MANHATTAN})
            listing = env["realtor.property"].create({
                # A prefix no other file uses for its numbers (test_xss_e2e.py's caller is 019).
                "name": "9 Quiet Lane", "listing_phone": f"+1555016{os.getpid() % 10000:04d}",
                "listing_agent_id": realtor.id, "owner_ids": [(6, 0, [dnc.id, manhattan.id])]})
            return {"server": server.id, "dnc": dnc.id, "manhattan": manhattan.id,
                    "property": listing.id, "realtor": realtor.login,
                    "realtor_id": realtor.id, "newcomer": newcomer.login,
                    "newcomer_id": newcomer.id}

        ids = db.do(create)
        worker = Worker(db, ids["server"], logs / "worker.log")
        try:
            with odoo_server(db.conf, db.db, logs / "odoo.log") as url, sync_playwright() as pw:
                # One static file first, alone: Odoo reads every manifest on the first one,
                # and CPython 3.11's parser is not safe when the browser's parallel requests
                # race to do it ("AST constructor recursion depth mismatch").
                with urllib.request.urlopen(f"{url}/web/static/img/favicon.ico", timeout=30):
                    pass
                browser = launch(pw)
                wait_for(lambda: db.do(lambda env: env["threecx.server"].browse(
                    ids["server"]).connection_state) == "connected", "the worker", timeout=30)
                yield {"db": db, "sim": sim, "url": url, "browser": browser, "worker": worker,
                       "playwright": pw, "logs": logs, **ids}
                browser.close()
        finally:
            worker.stop()


def open_page(day, login_name, systray=True):
    context = day["browser"].new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    # The call service asks for the user's line once, as the web client starts: the buttons
    # depend on its answer.
    # (generous: the first page after an install builds the asset bundles)
    with page.expect_response(lambda r: r.url.endswith("/realtor_3cx_session"), timeout=90000):
        login(page, day["url"], login_name)
    if systray:
        page.wait_for_selector(".o_realtor_3cx_systray", timeout=20000)
    return page


@pytest.fixture
def realtor(day):
    page = open_page(day, day["realtor"])
    yield page
    page.context.close()


def requests_for(day, destination, action="makecall", call_id=None):
    """The dial requests Odoo handed to the worker for ``destination`` (from this file's
    realtor; for one 3CX call when given)."""
    domain = [("destination", "=", destination), ("action", "=", action),
              ("server_id", "=", day["server"])]
    if call_id:
        domain.append(("call_id", "=", str(call_id)))
    return day["db"].do(lambda env: env["threecx.dial.request"].search(domain).mapped("state"))


def sim_calls_to(day, number):
    return [c for c in control(day["sim"], "calls", method="GET") if c["callee"] == number]


def calling_window(day, open_in_new_york):
    """Set the calling rules' hours so that now, in New York, is inside them or not (None:
    back to what they were before)."""
    hour = datetime.datetime.now(pytz.timezone("America/New_York")).hour
    closed = (1.0, 2.0) if hour >= 12 else (13.0, 14.0)
    if open_in_new_york is None:
        day["db"].calling_hours(day.pop("hours"))
        return
    saved = day["db"].calling_hours((0.0, 24.0) if open_in_new_york else closed)
    day.setdefault("hours", saved)


def test_a_do_not_call_contact_is_visibly_so_before_anyone_clicks(day, realtor):
    page = realtor
    page.goto(f"{day['url']}/odoo/action-contacts.action_contacts/{day['dnc']}")
    expect(page.locator(".oe_title .o_realtor_3cx_do_not_call_badge")).to_have_text(
        "Do not call", timeout=15000)
    # The flag has its own labelled row, not a checkbox beside the mobile number.
    label = page.locator("label.o_form_label", has_text="Do not call")
    expect(label).to_be_visible()
    checkbox = page.locator(f"#{label.get_attribute('for')}")
    expect(checkbox).to_be_checked()
    assert checkbox.evaluate("e => e.closest('.o_field_widget').getAttribute('name')") == (
        "do_not_call")
    expect(page.locator(".o_field_widget[name=mobile] input[type=checkbox]")).to_have_count(0)
    dial = page.locator(".o_field_widget[name=phone] .o_realtor_3cx_dial")
    expect(dial).to_be_disabled()
    assert "Doris Never is on the do-not-call list" in dial.get_attribute("title")
    # One call button per phone field, ours: no tel: link anywhere on the page.
    expect(page.locator("a[href^='tel:']")).to_have_count(0)
    shot(page, 1, "dnc_contact")
    assert day["db"].do(lambda env: env["res.partner"].browse(day["dnc"]).do_not_call)
    assert requests_for(day, DNC) == []

    # The property form shows which owner is on the list, and their button is disabled.
    page.goto(f"{day['url']}/odoo/action-realtor_3cx.realtor_property_action/{day['property']}")
    page.locator(".o_notebook .nav-link", has_text="Owners").click()
    doris = page.locator(".o_field_widget[name=owner_ids] .o_data_row", has_text="Doris Never")
    expect(doris.locator(".o_realtor_3cx_do_not_call_badge")).to_be_visible(timeout=10000)
    expect(doris.locator(".o_realtor_3cx_dial")).to_be_disabled()
    manny = page.locator(".o_field_widget[name=owner_ids] .o_data_row", has_text="Manny Hattan")
    expect(manny.locator(".o_realtor_3cx_do_not_call_badge")).to_have_count(0)
    expect(manny.locator(".o_realtor_3cx_dial")).to_be_enabled()
    # The listing line is the brokerage's own number: no 3CX button there (enable_3cx off).
    expect(page.locator(".o_field_widget[name=listing_phone] .o_realtor_3cx_dial")).to_have_count(0)
    shot(page, 2, "property_owners")
    assert requests_for(day, DNC) == []


def test_calling_hours_refuse_with_no_way_around_then_allow(day, realtor):
    page, db = realtor, day["db"]
    # Manny has no time zone: his New York number decides, not the realtor's Los Angeles.
    assert db.do(lambda env: env["res.partner"].browse(day["manhattan"]).tz) is False
    calling_window(day, open_in_new_york=False)
    try:
        page.goto(f"{day['url']}/odoo/action-contacts.action_contacts/{day['manhattan']}")
        dial = page.locator(".o_field_widget[name=phone] .o_realtor_3cx_dial")
        expect(dial).to_be_enabled(timeout=15000)
        dial.click()
        status = page.locator(".o_field_widget[name=phone] .o_realtor_3cx_dial_status")
        expect(status).to_have_attribute("data-status", "failed", timeout=10000)
        expect(status).to_contain_text("(America/New_York, where +12125550199 is)")
        notification = page.locator(".o_notification", has_text="Manny Hattan")
        expect(notification).to_be_visible()
        # No tel: link or fallback button: not in the status, the notification, the page.
        expect(page.locator("a[href^='tel:']")).to_have_count(0)
        expect(notification.locator("a, button:not(.o_notification_close)")).to_have_count(0)
        shot(page, 3, "calling_hours_refused")
        assert requests_for(day, MANHATTAN) == []  # the worker was never asked
        assert sim_calls_to(day, MANHATTAN) == []  # and 3CX dialled nothing

        calling_window(day, open_in_new_york=True)
        page.reload()
        page.locator(".o_field_widget[name=phone] .o_realtor_3cx_dial").click(timeout=15000)
        expect(status).to_have_attribute("data-status", re.compile("ringing|connected"),
                                          timeout=15000)
        placed = wait_for(lambda: sim_calls_to(day, MANHATTAN), "the makecall in 3CX")
        assert placed[0]["caller"] == "101"
        assert requests_for(day, MANHATTAN) == ["done"]
        shot(page, 4, "calling_hours_allowed")
        control(day["sim"], f"calls/{placed[0]['callid']}/hangup", {"side": "caller"})
        wait_for(lambda: control(day["sim"], f"calls/{placed[0]['callid']}",
                                 method="GET")["ended_at"], "the call to end")
    finally:
        calling_window(day, open_in_new_york=None)


def test_a_transfer_to_a_national_number_is_checked_like_a_call(day, tmp_path):
    sim, db = day["sim"], day["db"]
    # No calling window here: these 555 numbers have no region, and a hand-over to a
    # colleague's extension is not an outbound call.
    # fake_microphone_page logs in as world["realtor"]: this file's realtor.
    with fake_microphone_page(day, tmp_path) as page:
        callid = call_from_softphone(page, sim, SOFTPHONE_CALL)
        # Doris's number as typed in the US: 10 digits, and no extension of this 3CX.
        page.fill(".o_realtor_3cx_softphone_transfer_to", DNC_NATIONAL)
        page.locator(".o_realtor_3cx_softphone_transfer").click()
        message = page.locator(".o_realtor_3cx_softphone_message")
        expect(message).to_contain_text("Doris Never is on the do-not-call list", timeout=10000)
        expect(page.locator(".o_realtor_3cx_softphone[data-status=connected]")).to_be_visible()
        expect(page.locator("a[href^='tel:']")).to_have_count(0)
        shot(page, 5, "transfer_refused")
        assert requests_for(day, DNC, "transfer", callid) == []
        assert requests_for(day, DNC_NATIONAL, "transfer", callid) == []
        truth = control(sim, f"calls/{callid}", method="GET")
        assert truth["ended_at"] is None and "102" not in [leg["dn"] for leg in truth["legs"]]

        # A short number that is no extension here is refused too; a colleague's is not.
        page.fill(".o_realtor_3cx_softphone_transfer_to", "105")
        page.locator(".o_realtor_3cx_softphone_transfer").click()
        expect(message).to_contain_text("105 is not a phone number 3CX can dial",
                                        timeout=10000)
        assert requests_for(day, "105", "transfer", callid) == []
        page.fill(".o_realtor_3cx_softphone_transfer_to", "102")
        page.locator(".o_realtor_3cx_softphone_transfer").click()
        # The browser leaves the call (the worker may tell it before the answer does).
        expect(message).to_have_text(re.compile("Transferred to 102|The call ended"),
                                     timeout=15000)
        expect(page.locator(".o_realtor_3cx_softphone[data-status=connected]")).to_have_count(0)
        assert requests_for(day, "102", "transfer", callid) == ["done"]
        moved = control(sim, f"calls/{callid}", method="GET")
        assert "102" in [leg["dn"] for leg in moved["legs"]], moved
        control(sim, f"calls/{callid}/hangup", {"side": "caller"})
        wait_for(lambda: db.do(lambda env: env["threecx.call"].search([
            ("server_id", "=", day["server"]), ("call_id", "=", str(callid)),
            ("state", "=", "completed")])), "the call to be logged", timeout=10)


def test_a_realtor_without_an_extension_keeps_odoos_link(day):
    page = open_page(day, day["newcomer"], systray=False)
    try:
        assert not day["db"].do(lambda env: env["threecx.extension"].search(
            [("user_id", "=", day["newcomer_id"])]))
        page.goto(f"{day['url']}/odoo/action-contacts.action_contacts/{day['manhattan']}")
        phone = page.locator(".o_field_widget[name=phone]")
        # Odoo's own tel: link (the number itself: realtors may not edit contacts).
        expect(phone.locator("a[href='tel:+12125550199']")).to_have_count(1, timeout=15000)
        expect(phone.locator(".o_realtor_3cx_dial")).to_have_count(0)
        shot(page, 6, "no_extension")
    finally:
        page.context.close()


def test_a_realtor_records_an_opt_out_and_the_next_click_is_refused(day, realtor):
    """issue 19: the realtor records the opt-out on the contact form (not a checkbox they
    could untick again); the phone field's button refuses the next call at once."""
    page, db = realtor, day["db"]
    number = f"+1555017{os.getpid() % 10000:04d}"
    contact = db.do(lambda env: env["res.partner"].create(
        {"name": "Otto Optout", "phone": number}).id)
    page.goto(f"{day['url']}/odoo/action-contacts.action_contacts/{contact}")
    dial = page.locator(".o_field_widget[name=phone] .o_realtor_3cx_dial")
    expect(dial).to_be_enabled(timeout=15000)
    # The flag is the ledger's state: read-only, with the button beside it.
    expect(page.locator(".o_field_widget[name=do_not_call] input")).to_be_disabled()
    page.locator("button.o_realtor_3cx_record_opt_out").click()
    page.locator(".modal-footer button.btn-primary").click()  # "Record that ... ?"
    expect(page.locator(".oe_title .o_realtor_3cx_do_not_call_badge")).to_have_text(
        "Do not call", timeout=15000)
    expect(dial).to_be_disabled()
    assert "Otto Optout is on the do-not-call list" in dial.get_attribute("title")
    expect(page.locator("button.o_realtor_3cx_record_opt_out")).to_have_count(0)
    # The ledger tab shows the entry, newest first, by this realtor.
    page.locator(".o_notebook .nav-link", has_text="Consent").click()
    row = page.locator(".o_field_widget[name=threecx_consent_ids] .o_data_row").first
    expect(row).to_contain_text("Consent revoked", timeout=10000)
    expect(row).to_contain_text("Olive Outbound")
    shot(page, 9, "opt_out_recorded")
    # The click goes nowhere: no request reached the worker, and the server refuses the same
    # number from any path.
    dial.click(force=True)
    assert requests_for(day, number) == []
    assert sim_calls_to(day, number) == []

    def entries(env):
        partner = env["res.partner"].browse(contact)
        return partner.do_not_call, [(c.kind, c.how, c.user_id.login)
                                     for c in partner.threecx_consent_ids]

    assert db.do(entries) == (True, [("revoked", "realtor", day["realtor"])])
