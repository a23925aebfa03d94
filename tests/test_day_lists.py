# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A realtor's and a manager's day with the lists, reports and formats, in Chromium.

Odoo, the worker and the 3CX simulator are real. The realtor works in New York (their time
zone and the browser's), their company is in the US. After each step the database is read
back: the screen showing the right thing is not enough. One screenshot per screen goes to
``docs/screenshots/day/lists_<n>_<what>.png``.
"""

import datetime
import os
import re
import time
from zoneinfo import ZoneInfo

import pytest
import requests
from browser_env import DAY_SHOTS, PASSWORD, launch, login, odoo_server
from playwright.sync_api import expect, sync_playwright
from threecx_sim import SECRET, control, running_simulator, wait_for
from worker_env import OdooDb, Worker

# Numbers of this run only: a kept database may hold an earlier run's (a shared number would
# make the caller ambiguous).
RUN = os.getpid() % 100
JANE = f"+155501084{RUN:02d}"  # a contact, missed three times
BOB = f"+155501085{RUN:02d}"  # an unknown number, missed once, then rings again and is answered
NEW_YORK = ZoneInfo("America/New_York")
SHOTS = DAY_SHOTS
MISSED = ("missed", "voicemail")


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    db = OdooDb()
    logs = tmp_path_factory.mktemp("day_lists")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with running_simulator() as sim:
        tag = f"lists_{os.getpid()}"

        def create(env):
            # A kept database's earlier runs: their realtors would share the live view.
            env["threecx.extension"].search([("server_id.name", "=", "Day PBX")]).unlink()
            # ... and the calls live when their simulator stopped, which no 3CX will end.
            env["threecx.call"].search([
                ("server_id.name", "=", "Day PBX"),
                ("state", "in", ("ringing", "dialing", "connected")),
            ]).write({"state": "failed", "end_at": datetime.datetime.now()})
            env.company.country_id = env.ref("base.us")
            realtor_group = env.ref("realtor_3cx.realtor_3cx_group_user")
            manager_group = env.ref("realtor_3cx.realtor_3cx_group_manager")
            base = env.ref("base.group_user")
            realtor = env["res.users"].create({
                "name": "Rosa Realtor", "login": f"rosa_{tag}", "password": PASSWORD,
                "tz": "America/New_York", "country_id": env.ref("base.us").id,
                "groups_id": [(6, 0, [base.id, realtor_group.id])]})
            manager = env["res.users"].create({
                "name": "Mona Manager", "login": f"mona_{tag}", "password": PASSWORD,
                "tz": "America/New_York",
                "groups_id": [(6, 0, [base.id, manager_group.id])]})
            server = env["threecx.server"].create({
                "name": "Day PBX", "base_url": sim.url, "client_id": "900",
                "api_secret": SECRET})
            env["threecx.extension"].create([
                {"server_id": server.id, "number": "101", "user_id": realtor.id},
                {"server_id": server.id, "number": "102", "user_id": manager.id}])
            jane = env["res.partner"].create({"name": "Jane Seller", "phone": JANE})
            return {"server": server.id, "jane": jane.id, "realtor": realtor.login,
                    "realtor_id": realtor.id, "manager": manager.login}

        ids = db.do(create)
        worker = Worker(db, ids["server"], logs / "worker.log")
        try:
            with odoo_server(db.conf, db.db, logs / "odoo.log") as url, sync_playwright() as pw:
                # One static request first: Odoo reads every manifest on the first one, and
                # the browser's many parallel first requests have tripped Python 3.11's AST
                # parser across threads ("AST constructor recursion depth mismatch").
                requests.get(f"{url}/web/static/img/favicon.ico", timeout=60)
                browser = launch(pw)
                wait_for(lambda: db.do(lambda env: env["threecx.server"].browse(
                    ids["server"]).connection_state) == "connected", "the worker", timeout=30)
                yield {"db": db, "sim": sim, "url": url, "browser": browser, "logs": logs,
                       **ids}
                browser.close()
        finally:
            worker.stop()


def national(number):
    """How an American writes one of this test's numbers."""
    return f"(555) 010-{number[-4:]}"


def page_for(day, login_name):
    # The browser is where the user is: Odoo shows times on the browser's clock.
    context = day["browser"].new_context(viewport={"width": 1400, "height": 900},
                                         timezone_id="America/New_York", locale="en-US")
    page = context.new_page()
    login(page, day["url"], login_name)
    return context, page


def calls(day, domain, fields):
    def read(env):
        return env["threecx.call"].search(
            [("server_id", "=", day["server"]), *domain], order="start_at, id"
        ).read(fields)
    return day["db"].do(read)


def call_of(day, callid):
    rows = calls(day, [("call_id", "=", str(callid))],
                 ["state", "activity_ids", "start_at", "direction", "talk_seconds"])
    return rows[0] if rows else None


def wait_state(day, callid, states, what):
    return wait_for(lambda: (c := call_of(day, callid)) and c["state"] in states and c,
                    what, timeout=20)


def ring_and_miss(day, number):
    """A caller rings the realtor's extension and hangs up before anyone answers."""
    call = control(day["sim"], "calls/inbound", {"from": number, "to": "101",
                                                 "ring_seconds": 600})
    wait_state(day, call["callid"], ("ringing",), f"{number} ringing in Odoo")
    control(day["sim"], f"calls/{call['callid']}/hangup", {"side": "caller"})
    return wait_state(day, call["callid"], MISSED, f"{number}'s call missed")


def open_call_backs(day, number):
    def read(env):
        missed = env["threecx.call"].search([
            ("server_id", "=", day["server"]), ("external_e164", "=", number),
            ("direction", "=", "inbound"), ("state", "in", MISSED)])
        return missed.activity_ids.filtered(
            lambda a: a.activity_type_id == env.ref("mail.mail_activity_data_call")
        ).read(["date_deadline", "note", "summary", "user_id"])
    return day["db"].do(read)


def test_the_realtors_missed_calls_call_backs_and_formats(day):
    db, sim, url = day["db"], day["sim"], day["url"]
    context, page = page_for(day, day["realtor"])
    try:
        page.wait_for_selector(".o_realtor_3cx_systray", timeout=20000)
        # 1. Jane is missed three times, Bob once.
        for _ in range(3):
            ring_and_miss(day, JANE)
        bob_missed = ring_and_miss(day, BOB)
        jane_backs = open_call_backs(day, JANE)
        assert len(jane_backs) == 3
        # Due on the realtor's own day, with their clock in the note (not UTC's).
        start = bob_missed["start_at"].replace(tzinfo=datetime.UTC).astimezone(NEW_YORK)
        bob_back = open_call_backs(day, BOB)
        assert [b["date_deadline"] for b in bob_back] == [start.date()]
        assert f"{start.hour % 12 or 12}:{start:%M}" in bob_back[0]["note"]
        assert bob_back[0]["summary"] == f"Call back {national(BOB)}"  # as Americans write it

        # 2. Missed Calls: one row per caller, with how many times and when last.
        page.goto(f"{url}/odoo/action-realtor_3cx.threecx_call_action_missed")
        rows = page.locator(".o_list_renderer .o_data_row")
        expect(rows).to_have_count(2, timeout=15000)
        jane_row = rows.filter(has_text="Jane Seller")
        expect(jane_row.locator("td[name=missed_count]")).to_have_text("3")
        expect(jane_row.locator("td[name=external_number_display]")).to_contain_text(
            national(JANE))
        expect(rows.filter(has_text=national(BOB)).locator("td[name=missed_count]")
               ).to_have_text("1")
        last_jane = calls(day, [("external_e164", "=", JANE)], ["start_at"])[-1]["start_at"]
        expect(jane_row.locator("td[name=start_at]")).to_have_text(
            last_jane.replace(tzinfo=datetime.UTC).astimezone(NEW_YORK)
            .strftime("%m/%d/%Y %H:%M:%S"))
        expect(page.locator(".o_list_button_add")).to_have_count(0)
        # No raw selection key: the state is labelled.
        expect(jane_row.locator("td[name=state]")).to_have_text(
            re.compile("^(Missed|Voicemail)$"))
        page.screenshot(path=str(SHOTS / "lists_1_missed_calls.png"))

        # 3. The Calls list has Jane's three rows: calling from one shows progress on that
        #    row only, and the call back closes all three call-back activities.
        page.goto(f"{url}/odoo/action-realtor_3cx.threecx_call_action")
        jane_rows = page.locator(".o_data_row", has_text="Jane Seller")
        expect(jane_rows).to_have_count(3, timeout=15000)
        expect(jane_rows.first.locator("td[name=direction]")).to_have_text("Inbound")
        before = {c["callid"] for c in control(sim, "calls", method="GET")}
        jane_rows.nth(1).locator(".o_realtor_3cx_dial").click()
        status = page.locator(".o_realtor_3cx_dial_status")
        expect(status).to_have_count(1)
        expect(jane_rows.nth(1).locator(".o_realtor_3cx_dial_status")).to_be_visible(
            timeout=15000)
        placed = wait_for(lambda: [c for c in control(sim, "calls", method="GET")
                                   if c["callid"] not in before], "the call back in 3CX",
                          timeout=15)
        callback = placed[0]["callid"]
        wait_for(lambda: control(sim, f"calls/{callback}", method="GET")["answered_at"],
                 "Jane to answer", timeout=15)
        expect(jane_rows.nth(1).locator(".o_realtor_3cx_dial_status")).to_have_attribute(
            "data-status", "connected", timeout=15000)
        expect(page.locator(".o_realtor_3cx_dial_status[data-status=connected]")
               ).to_have_count(1)
        page.screenshot(path=str(SHOTS / "lists_2_call_back_one_row.png"))
        wait_for(lambda: not open_call_backs(day, JANE), "Jane's call backs closed", timeout=20)
        assert len(open_call_backs(day, BOB)) == 1  # Bob still waits
        time.sleep(1.5)  # they talk, so the call has a talk time to show
        control(sim, f"calls/{callback}/hangup", {"side": "callee"})
        wait_state(day, callback, ("completed",), "the call back to end")

        # 4. Bob rings again and is answered: his call back is done too. (A fresh page: the
        #    outcome of the call back is not this test's subject.)
        page.goto(f"{url}/odoo/action-realtor_3cx.threecx_call_action")
        page.wait_for_selector(".o_realtor_3cx_systray", timeout=20000)
        call = control(sim, "calls/inbound", {"from": BOB, "to": "101", "ring_seconds": 600})
        wait_state(day, call["callid"], ("ringing",), "Bob ringing again")
        popup = page.locator(".o_realtor_3cx_popup[data-call-id]").first
        expect(popup).to_be_visible(timeout=10000)
        expect(popup.locator(".o_realtor_3cx_popup_number")).to_have_text(national(BOB))
        popup.screenshot(path=str(SHOTS / "lists_3_popup_number.png"))
        control(sim, f"calls/{call['callid']}/answer", {"dn": "101"})
        wait_state(day, call["callid"], ("connected",), "Bob answered")
        wait_for(lambda: not open_call_backs(day, BOB), "Bob's call back closed", timeout=20)
        time.sleep(1.5)
        control(sim, f"calls/{call['callid']}/hangup", {"side": "caller"})
        bob = wait_state(day, call["callid"], ("completed",), "Bob's call to end")

        # 5. Durations read as minutes:seconds in the list, its sum and the form.
        page.goto(f"{url}/odoo/action-realtor_3cx.threecx_call_action")
        row = page.locator(".o_data_row", has_text=national(BOB)).first
        expect(row).to_be_visible(timeout=15000)
        minutes, seconds = divmod(bob["talk_seconds"], 60)
        expect(row.locator("td[name=talk_seconds]")).to_have_text(f"{minutes}:{seconds:02d}")
        expect(row.locator("td[name=state]")).to_have_text("Completed")
        expect(page.locator("tfoot td", has_text=re.compile(r"^\d+:\d\d$")).first).to_be_visible()
        page.screenshot(path=str(SHOTS / "lists_4_calls_durations.png"))
        row.locator("td[name=partner_id]").click()
        form_talk = page.locator(".o_form_view .o_field_widget[name=talk_seconds]")
        expect(form_talk).to_have_text(f"{minutes}:{seconds:02d}", timeout=10000)
        expect(page.locator(".o_form_view .o_field_widget[name=external_number_display]")
               ).to_contain_text(national(BOB))
        page.screenshot(path=str(SHOTS / "lists_5_call_form.png"))

        # 6. Jane rings once more: the pop-up's "Last call" is on the realtor's clock.
        call = control(sim, "calls/inbound", {"from": JANE, "to": "101", "ring_seconds": 600})
        wait_state(day, call["callid"], ("ringing",), "Jane ringing again")
        previous = calls(day, [("external_e164", "=", JANE),
                               ("call_id", "!=", str(call["callid"]))], ["start_at"])
        previous = previous[-1]["start_at"]
        local = previous.replace(tzinfo=datetime.UTC).astimezone(NEW_YORK)
        popup = page.locator(".o_realtor_3cx_popup[data-call-id]").first
        expect(popup).to_contain_text(f"Last call: {local:%m/%d/%Y %H:%M:%S}", timeout=10000)
        popup.screenshot(path=str(SHOTS / "lists_6_popup_last_call.png"))
        control(sim, f"calls/{call['callid']}/hangup", {"side": "caller"})
        wait_state(day, call["callid"], MISSED, "Jane's new missed call")
        # The chatter line of the call back reads minutes:seconds too.
        lines = db.do(lambda env: env["res.partner"].browse(day["jane"]).message_ids.filtered(
            lambda m: "call with" in (m.body or "")).mapped("body"))
        assert lines and all(re.search(r", \d+:\d\d\b", body) for body in lines), lines
    finally:
        context.close()


def test_the_managers_missed_calls_live_view_and_report(day):
    db, sim, url = day["db"], day["sim"], day["url"]
    context, page = page_for(day, day["manager"])
    try:
        # 1. Missed Calls: no "New" (missed calls come from 3CX), one row per caller and owner.
        page.goto(f"{url}/odoo/action-realtor_3cx.threecx_call_action_missed")
        rows = page.locator(".o_list_renderer .o_data_row")
        expect(rows.first).to_be_visible(timeout=15000)
        page.screenshot(path=str(SHOTS / "lists_7_manager_missed_calls.png"))
        expect(page.locator(".o_list_button_add")).to_have_count(0)
        expect(rows.filter(has_text=national(JANE))).to_have_count(1)
        page.screenshot(path=str(SHOTS / "lists_7_manager_missed_calls.png"))

        # 2. Live view: a realtor on a call is "On a call", never "Available" beside it.
        db.do(lambda env: env["threecx.extension"].search(
            [("server_id", "=", day["server"])]).write(
            {"presence": "Available", "registered": True,
             "presence_at": datetime.datetime.now(datetime.UTC).replace(tzinfo=None)}))
        call = control(sim, "calls/inbound", {"from": JANE, "to": "101", "ring_seconds": 600})
        wait_state(day, call["callid"], ("ringing",), "Jane ringing")
        control(sim, f"calls/{call['callid']}/answer", {"dn": "101"})
        wait_state(day, call["callid"], ("connected",), "Jane answered")
        page.goto(f"{url}/odoo/action-realtor_3cx.threecx_call_dashboard_action")
        talking = page.locator(".o_realtor_3cx_talking tbody tr", has_text="Jane Seller")
        expect(talking).to_be_visible(timeout=15000)
        expect(talking).to_contain_text("Inbound")
        expect(talking).not_to_contain_text("inbound")
        rosa = page.locator(".o_realtor_3cx_presence li", has_text="Rosa Realtor")
        expect(rosa.locator(".o_realtor_3cx_status")).to_have_attribute(
            "data-status", "on_call", timeout=10000)
        expect(rosa).to_contain_text("On a call")
        expect(rosa).not_to_contain_text("Available")
        status = db.do(lambda env: env["threecx.extension"].search(
            [("server_id", "=", day["server"]), ("number", "=", "101")]).status)
        assert status == "on_call"
        page.screenshot(path=str(SHOTS / "lists_8_live_calls_presence.png"))
        time.sleep(1.2)
        control(sim, f"calls/{call['callid']}/hangup", {"side": "caller"})
        wait_state(day, call["callid"], ("completed",), "Jane's call to end")
        expect(rosa.locator(".o_realtor_3cx_status")).not_to_have_attribute(
            "data-status", "on_call", timeout=10000)

        # 3. Call Analysis: talk time in minutes:seconds.
        page.goto(f"{url}/odoo/action-realtor_3cx.threecx_call_action_report")
        expect(page.locator("div.o_pivot table")).to_be_visible(timeout=15000)
        talk = sum(c["talk_seconds"] for c in calls(
            day, [("user_id", "=", day["realtor_id"])], ["talk_seconds"]))
        minutes, seconds = divmod(talk, 60)
        # Rosa's row (realtors are the rows): her talk time, as minutes:seconds.
        rosa_row = page.locator(".o_pivot tbody tr", has_text="Rosa Realtor").filter(
            has_text=f"{minutes}:{seconds:02d}")
        expect(rosa_row.first).to_be_visible(timeout=10000)
        page.screenshot(path=str(SHOTS / "lists_9_call_analysis.png"))
    finally:
        context.close()
