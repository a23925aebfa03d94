# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A manager's day: a caller said "take me off your list", the manager confirms it in one
click, and the realtor's next click to call that contact is refused.

Chromium as the manager and as the realtor against Odoo, the worker and the simulator (3CX
transcribing every recording by itself), all real. The transcript with the opt-out reaches
the call through the worker; the review is in Telephony > Do-not-call reviews. Each screen is
saved to docs/screenshots/day/optout_*.png (see browser_env.DAY_SHOTS).
"""

import os
import time
import urllib.request

import pytest
from browser_env import DAY_SHOTS, PASSWORD, launch, login, odoo_server
from playwright.sync_api import expect, sync_playwright
from threecx_sim import SECRET, control, running_simulator, wait_for
from worker_env import OdooDb, Worker

NUMBER = f"+1555022{os.getpid() % 10000:04d}"  # test_day_transcript has +1555021...
SAID = ("Agent: Hi, this is Rae from Harbour Realty about your house on Quay Street.\n"
        "Caller: I sold it last month. Please take me off your list and stop calling me.")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    db = OdooDb()
    logs = tmp_path_factory.mktemp("optout")
    # 3CX transcribes every recording by itself, 20 s of PBX time (1 s) after writing it.
    with running_simulator(transcription="auto", transcribe_delay=20.0) as sim:
        tag = f"oo{os.getpid()}"

        def create(env):
            env.company.country_id = env.ref("base.us")
            base = [env.ref("base.group_user").id]
            realtor, manager = env["res.users"].create([
                {"name": "Rae Realtor", "login": f"rae_{tag}", "password": PASSWORD,
                 "tz": "UTC", "groups_id": [(6, 0, [
                     *base, env.ref("realtor_3cx.realtor_3cx_group_user").id])]},
                {"name": "Max Manager", "login": f"max_{tag}", "password": PASSWORD,
                 "tz": "UTC", "groups_id": [(6, 0, [
                     *base, env.ref("realtor_3cx.realtor_3cx_group_manager").id])]},
            ])
            server = env["threecx.server"].create({
                "name": "Opt-out PBX", "base_url": sim.url, "client_id": "900",
                "api_secret": SECRET, "record_calls": True})
            env["threecx.extension"].create(
                {"server_id": server.id, "number": "101", "user_id": realtor.id})
            partner = env["res.partner"].create({"name": "Otto Optout", "phone": NUMBER})
            return {"server": server.id, "partner": partner.id, "realtor": realtor.login,
                    "manager": manager.login}

        ids = db.do(create)
        # Calling hours around the clock: a refusal below is the do-not-call, not the hour.
        hours = db.calling_hours((0.0, 24.0))
        worker = Worker(db, ids["server"], logs / "worker.log",
                        REALTOR_3CX_WORKER_RECORDING_RETRY="0.5")
        try:
            with odoo_server(db.conf, db.db, logs / "odoo.log") as url, sync_playwright() as pw:
                # One static file first, alone (see test_day_outbound.py).
                for path in ("/web/binary/company_logo", "/web/static/img/favicon.ico"):
                    with urllib.request.urlopen(f"{url}{path}", timeout=60):
                        pass
                browser = launch(pw)
                wait_for(lambda: db.do(lambda env: env["threecx.server"].browse(
                    ids["server"]).connection_state) == "connected", "the worker", timeout=30)
                DAY_SHOTS.mkdir(parents=True, exist_ok=True)
                yield {"db": db, "sim": sim, "url": url, "browser": browser, "logs": logs,
                       "worker": worker, **ids}
                browser.close()
        finally:
            worker.stop()
            db.calling_hours(hours)
            print(worker.output()[-3000:])


def open_page(world, login_name):
    context = world["browser"].new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    # The call service asks for the user's line as the web client starts (generous: the
    # first page after an install builds the asset bundles).
    with page.expect_response(lambda r: r.url.endswith("/realtor_3cx_session"), timeout=90000):
        login(page, world["url"], login_name)
    return page


def close(world, page):
    last = world["logs"] / f"last-{time.monotonic_ns()}.png"
    page.screenshot(path=str(last))
    print("last screen:", last, "url:", page.url)
    page.context.close()


def review_of(world, callid):
    def read(env):
        call = env["threecx.call"].search([("server_id", "=", world["server"]),
                                           ("call_id", "=", str(callid))])
        review = env["threecx.optout"].search([("call_id", "=", call.id)])
        return review and {"id": review.id, "state": review.state, "excerpt": review.excerpt,
                           "call": call.id, "dnc": review.partner_id.do_not_call}
    return world["db"].do(read)


def dial_requests(world):
    return world["db"].do(lambda env: env["threecx.dial.request"].search(
        [("destination", "=", NUMBER), ("server_id", "=", world["server"])]).mapped("state"))


def test_a_spoken_opt_out_is_confirmed_by_the_manager_and_the_next_call_refused(world):
    sim = world["sim"]
    callid = control(sim, "calls/inbound", {"from": NUMBER, "to": "101",
                                            "ring_seconds": 600})["callid"]
    control(sim, f"calls/{callid}/answer", {"dn": "101"})
    control(sim, "transcripts", {"callid": callid, "text": SAID,
                                 "summary": "Otto sold the Quay Street house.", "sentiment": 2})
    wait_for(lambda: world["db"].do(lambda env: env["threecx.call"].search_count(
        [("server_id", "=", world["server"]), ("call_id", "=", str(callid)),
         ("state", "=", "connected")])), "the answer", timeout=15)
    control(sim, f"calls/{callid}/hangup", {"side": "caller"})
    # The worker fetches the recording, reads 3CX's transcript: the review opens.
    review = wait_for(lambda: review_of(world, callid), "the opt-out review", timeout=60)
    assert (review["state"], review["dnc"]) == ("review", False)
    assert "take me off your list" in review["excerpt"]

    # The realtor could call Otto until now.
    realtor = open_page(world, world["realtor"])
    try:
        realtor.goto(f"{world['url']}/odoo/action-contacts.action_contacts/{world['partner']}")
        expect(realtor.locator(".o_field_widget[name=phone] .o_realtor_3cx_dial")).to_be_enabled(
            timeout=20000)
    finally:
        close(world, realtor)

    # The manager: Telephony > Do-not-call reviews, the excerpt, one click.
    manager = open_page(world, world["manager"])
    try:
        manager.goto(f"{world['url']}/odoo/action-realtor_3cx.threecx_optout_action")
        row = manager.locator(".o_data_row", has_text="Otto Optout")
        expect(row).to_have_count(1, timeout=20000)
        expect(row).to_contain_text("Please take me off your list")
        expect(row.locator("td[name=state]")).to_have_text("To review")
        manager.screenshot(path=str(DAY_SHOTS / "optout_1_review.png"))
        row.locator("button.o_realtor_3cx_optout_confirm").click()
        # Reviewed, it leaves the list of those to review (the list's default filter).
        expect(row).to_have_count(0, timeout=15000)
        manager.goto(f"{world['url']}/odoo/action-realtor_3cx.threecx_optout_action/"
                     f"{review['id']}")
        expect(manager.locator(".o_statusbar_status .o_arrow_button_current")).to_have_text(
            "Do not call", timeout=20000)
        expect(manager.locator("button[name=action_dismiss]")).to_have_count(0)
        manager.screenshot(path=str(DAY_SHOTS / "optout_2_confirmed.png"))
    finally:
        close(world, manager)
    confirmed = review_of(world, callid)
    assert (confirmed["state"], confirmed["dnc"]) == ("confirmed", True)

    realtor = open_page(world, world["realtor"])
    try:
        # On the contact: the button is refused before any click, the reason in its tooltip.
        realtor.goto(f"{world['url']}/odoo/action-contacts.action_contacts/{world['partner']}")
        expect(realtor.locator(".oe_title .o_realtor_3cx_do_not_call_badge")).to_have_text(
            "Do not call", timeout=20000)
        dial = realtor.locator(".o_field_widget[name=phone] .o_realtor_3cx_dial")
        expect(dial).to_be_disabled()
        assert "Otto Optout is on the do-not-call list" in dial.get_attribute("title")
        realtor.screenshot(path=str(DAY_SHOTS / "optout_3_contact_refused.png"))
        # From the call itself (the Calls list's call back, which has no do-not-call flag on
        # its row): the click goes to Odoo, which refuses it, and nothing is dialled.
        realtor.goto(f"{world['url']}/odoo/action-realtor_3cx.threecx_call_action")
        row = realtor.locator(".o_data_row", has_text="Otto Optout")
        expect(row).to_have_count(1, timeout=20000)
        row.locator(".o_realtor_3cx_dial").click()
        status = row.locator(".o_realtor_3cx_dial_status")
        expect(status).to_have_attribute("data-status", "failed", timeout=15000)
        expect(realtor.locator(".o_notification", has_text="do-not-call")).to_be_visible()
        realtor.screenshot(path=str(DAY_SHOTS / "optout_4_call_back_refused.png"))
    finally:
        close(world, realtor)
    assert dial_requests(world) == []  # the worker was never asked
    assert [c for c in control(sim, "calls", method="GET")
            if c["callee"] == NUMBER] == []  # and 3CX dialled nothing
