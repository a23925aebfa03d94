# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A realtor's day on the softphone, in Chromium with a fake microphone, against Odoo, the
worker and the simulator: who is on the line (placed and answered here), a call that survives
a reload, a second tab that takes the call with "Switch here", the call moved to the desk
phone and back, and Retry only where it helps.

Every step checks the database (the browser call's sessions, the call record) as well as the
screen; a screenshot of each screen goes to docs/screenshots/day/softphone_<n>_<what>.png.
"""

import re
import time

import test_browser_e2e
from browser_env import DAY_SHOTS
from playwright.sync_api import expect
from test_browser_e2e import HEAR_TONE, NUMBER, call_from_softphone, fake_microphone_page
from threecx_sim import control, wait_for

world = test_browser_e2e.world  # the same world (Odoo, worker, simulator), started for this file
SHOTS = DAY_SHOTS


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"softphone_{name}.png"))


def sessions(world, call_id):
    """The browser call's sessions in Odoo, oldest first: (state, message, resumed session)."""
    return world["db"].do(lambda env: [
        (s.state, s.message or "", s.resumes_id.id or False)
        for s in env["threecx.softphone.session"].search(
            [("call_id", "=", str(call_id))], order="id")])


def session_ids(world, call_id):
    return world["db"].do(lambda env: env["threecx.softphone.session"].search(
        [("call_id", "=", str(call_id))], order="id").ids)


def card(page):
    return page.locator(".o_realtor_3cx_softphone_peer")


def test_the_softphone_shows_who_is_on_the_line_placed_and_answered_here(world, tmp_path):
    sim, db = world["sim"], world["db"]
    with fake_microphone_page(world, tmp_path) as page:
        # Placed from the softphone: the contact's card while it rings and once connected.
        callid = call_from_softphone(page, sim, NUMBER)
        expect(card(page).locator(".o_realtor_3cx_softphone_peer_name")).to_have_text(
            "Dana Buyer")
        expect(card(page).locator(".o_realtor_3cx_softphone_peer_number")).to_have_text(NUMBER)
        expect(card(page).locator(".o_realtor_3cx_softphone_peer_avatar")).to_be_visible()
        assert sessions(world, callid) == [("answered", "", False)]
        shot(page, "1_placed_on_the_line")
        # Open contact: the contact's form, the call going on in the softphone.
        card(page).locator(".o_realtor_3cx_softphone_open_contact").click()
        expect(page.locator(".o_last_breadcrumb_item")).to_contain_text("Dana Buyer",
                                                                        timeout=10000)
        # Odoo's router writes the URL just after the form shows: wait for it.
        expect(page).to_have_url(re.compile(rf"res\.partner/{world['partner']}\b"))
        expect(page.locator(".o_realtor_3cx_softphone[data-status=connected]")).to_be_visible()
        shot(page, "2_open_contact_during_the_call")
        page.locator(".o_realtor_3cx_softphone_hangup").click()
        expect(page.locator(".o_realtor_3cx_softphone[data-status=ended]")).to_be_visible(
            timeout=10000)
        expect(card(page)).to_have_count(0)  # no line, nobody on it
        wait_for(lambda: sessions(world, callid) == [("ended", "", False)], "the session ended",
                 timeout=10)
        wait_for(lambda: control(sim, f"calls/{callid}", method="GET")["ended_at"],
                 "the hang-up to reach 3CX", timeout=10)
        page.keyboard.press("Escape")  # the outcome prompt is another screen's business

        # Answered here: the caller's card.
        call = control(sim, "calls/inbound", {"from": NUMBER, "to": "101", "ring_seconds": 600})
        page.locator(".o_realtor_3cx_popup .o_realtor_3cx_answer_here").click(timeout=15000)
        expect(page.locator(".o_realtor_3cx_softphone[data-status=connected]")).to_be_visible(
            timeout=20000)
        expect(card(page).locator(".o_realtor_3cx_softphone_peer_name")).to_have_text(
            "Dana Buyer")
        expect(card(page).locator(".o_realtor_3cx_softphone_peer_number")).to_have_text(NUMBER)
        expect(card(page).locator(".o_realtor_3cx_softphone_open_contact")).to_be_visible()
        assert sessions(world, call["callid"]) == [("answered", "", False)]
        assert db.do(lambda env: env["threecx.call"].search([
            ("server_id", "=", world["server"]), ("call_id", "=", str(call["callid"]))
        ]).partner_id.id) == world["partner"]
        shot(page, "3_answered_here_on_the_line")
        control(sim, f"calls/{call['callid']}/hangup", {"side": "caller"})
        expect(page.locator(".o_realtor_3cx_softphone[data-status=ended]")).to_be_visible(
            timeout=10000)
        wait_for(lambda: sessions(world, call["callid"]) == [("ended", "", False)],
                 "the session ended", timeout=10)


def test_a_browser_call_survives_a_reload_and_a_second_tab_switches_here(world, tmp_path):
    sim, db = world["sim"], world["db"]
    number = "+15550108921"
    with fake_microphone_page(world, tmp_path) as page:
        callid = call_from_softphone(page, sim, number)
        page.wait_for_selector("audio.o_realtor_3cx_softphone_audio", state="attached")
        assert page.evaluate(HEAR_TONE), "no tone before the reload"
        # Placed from the route point's first device (3CX's own apps call so), and the tone
        # went through it both ways: the far end echoes what the browser's microphone sends.
        [device] = sim.simulator.pbx.dns["900"].devices
        truth = control(sim, f"calls/{callid}", method="GET")
        assert (truth["caller"], truth["makecall_form"], truth["makecall_device"]) == (
            "900", "device", device)
        assert sessions(world, callid) == [("answered", "", False)]
        first = session_ids(world, callid)[0]

        # A reload: the page comes back on the same 3CX call, within seconds, and hears it.
        reloaded_at = time.monotonic()
        page.reload()
        expect(page.locator(".o_realtor_3cx_softphone[data-status=connected]")).to_be_visible(
            timeout=30000)
        page.wait_for_selector("audio.o_realtor_3cx_softphone_audio", state="attached",
                               timeout=20000)
        heard = page.evaluate(HEAR_TONE)
        took = time.monotonic() - reloaded_at
        print(f"reload to the tone back: {took:.1f} s")
        assert heard, "the tone did not come back after the reload"
        assert sessions(world, callid) == [("ended", "moved", False), ("answered", "", first)]
        truth = control(sim, f"calls/{callid}", method="GET")
        assert truth["ended_at"] is None and truth["callee"] == number  # one call, never cut
        # An unknown number: the card shows the number itself.
        expect(card(page).locator(".o_realtor_3cx_softphone_peer_name")).to_have_text(number)
        shot(page, "4_after_a_reload")
        second = session_ids(world, callid)[1]

        # A second tab: it shows the call as elsewhere, and takes nothing by just opening.
        other = page.context.new_page()
        other.goto(world["url"] + "/odoo")
        expect(other.locator(".o_realtor_3cx_softphone[data-status=elsewhere]")).to_be_visible(
            timeout=30000)
        expect(other.locator("audio.o_realtor_3cx_softphone_audio")).to_have_count(0)
        assert sessions(world, callid)[-1] == ("answered", "", first)
        shot(other, "5_second_tab_elsewhere")
        # Switch here: the second tab hears the call; the first shows it elsewhere.
        other.locator(".o_realtor_3cx_softphone_switch_here").click()
        expect(other.locator(".o_realtor_3cx_softphone[data-status=connected]")).to_be_visible(
            timeout=30000)
        other.wait_for_selector("audio.o_realtor_3cx_softphone_audio", state="attached",
                                timeout=20000)
        assert other.evaluate(HEAR_TONE), "the second tab does not hear the call"
        expect(page.locator(".o_realtor_3cx_softphone[data-status=elsewhere]")).to_be_visible(
            timeout=15000)
        expect(page.locator("audio.o_realtor_3cx_softphone_audio")).to_have_count(0)
        expect(page.locator(".o_realtor_3cx_softphone_switch_here")).to_be_visible()
        assert sessions(world, callid) == [("ended", "moved", False),
                                           ("ended", "moved", first),
                                           ("answered", "", second)]
        assert control(sim, f"calls/{callid}", method="GET")["ended_at"] is None
        shot(page, "6_first_tab_after_switch")
        shot(other, "7_second_tab_has_the_call")

        # And back to the first tab.
        page.locator(".o_realtor_3cx_softphone_switch_here").click()
        expect(page.locator(".o_realtor_3cx_softphone[data-status=connected]")).to_be_visible(
            timeout=30000)
        expect(other.locator(".o_realtor_3cx_softphone[data-status=elsewhere]")).to_be_visible(
            timeout=15000)
        page.wait_for_selector("audio.o_realtor_3cx_softphone_audio", state="attached",
                               timeout=20000)
        assert page.evaluate(HEAR_TONE), "the first tab does not hear the call it took back"

        other.close()

        # To the desk phone: 3CX rings the realtor's own extension, the browser lets go.
        page.locator(".o_realtor_3cx_softphone_to_desk").click()
        expect(page.locator(".o_realtor_3cx_softphone[data-status=elsewhere]")).to_be_visible(
            timeout=15000)
        expect(page.locator(".o_realtor_3cx_softphone_message")).to_contain_text("desk phone")
        expect(page.locator("audio.o_realtor_3cx_softphone_audio")).to_have_count(0)
        legs = wait_for(lambda: [(leg["dn"], leg["status"]) for leg in control(
            sim, f"calls/{callid}", method="GET")["legs"] if leg["dn"] == "101"],
            "the desk phone to ring", timeout=15)
        assert legs == [("101", "Ringing")], legs
        control(sim, f"calls/{callid}/answer", {"dn": "101"})  # the realtor picks it up
        wait_for(lambda: [s for s, _m, _r in sessions(world, callid)] == ["ended"] * 4,
                 "the browser's session over, the call not", timeout=15)
        wait_for(lambda: db.do(lambda env: env["threecx.call"].search([
            ("server_id", "=", world["server"]), ("call_id", "=", str(callid))]).state)
            == "connected", "the call connected on the desk phone", timeout=15)
        assert control(sim, f"calls/{callid}", method="GET")["ended_at"] is None
        shot(page, "8_on_the_desk_phone")
        # And back into the browser.
        page.locator(".o_realtor_3cx_softphone_switch_here").click()
        expect(page.locator(".o_realtor_3cx_softphone[data-status=connected]")).to_be_visible(
            timeout=30000)
        page.wait_for_selector("audio.o_realtor_3cx_softphone_audio", state="attached",
                               timeout=20000)
        assert page.evaluate(HEAR_TONE), "no tone once back from the desk phone"
        truth = control(sim, f"calls/{callid}", method="GET")
        assert "900" in [leg["dn"] for leg in truth["legs"]], truth["legs"]
        assert "101" not in [leg["dn"] for leg in truth["legs"]], truth["legs"]
        assert sessions(world, callid)[-1] == ("answered", "", False)

        # Hung up in the browser: ended in 3CX and in Odoo, one call record.
        page.locator(".o_realtor_3cx_softphone_hangup").click()
        # The softphone was never opened in this page: it shows only while there is a call.
        expect(page.locator(".o_realtor_3cx_softphone")).to_have_count(0, timeout=15000)
        expect(page.locator("audio.o_realtor_3cx_softphone_audio")).to_have_count(0)
        wait_for(lambda: control(sim, f"calls/{callid}", method="GET")["ended_at"],
                 "the hang-up to reach 3CX", timeout=10)
        wait_for(lambda: [s for s, _m, _r in sessions(world, callid)] == ["ended"] * 5,
                 "every session ended", timeout=10)

        def record(env):
            calls = env["threecx.call"].search([
                ("server_id", "=", world["server"]), ("call_id", "=", str(callid))])
            return len(calls) == 1 and calls.state == "completed" and calls.user_id.login

        assert wait_for(lambda: db.do(record), "one completed call record",
                        timeout=15) == world["realtor"]


def test_retry_only_where_retrying_can_help(world, tmp_path):
    db = world["db"]
    refused = "+15550108931"
    dnc = db.do(lambda env: env["res.partner"].create({
        "name": "Never Call", "phone": refused, "do_not_call": True}).id)
    try:
        with fake_microphone_page(world, tmp_path) as page:
            page.locator(".o_realtor_3cx_softphone_toggle").click()
            # A refusal: retrying would be refused again, so no Retry.
            page.fill(".o_realtor_3cx_softphone_number", refused)
            page.locator(".o_realtor_3cx_softphone_call").click()
            expect(page.locator(".o_realtor_3cx_softphone[data-status=failed]")).to_be_visible(
                timeout=20000)
            expect(page.locator(".o_realtor_3cx_softphone_message")).to_contain_text(
                "do-not-call")
            expect(page.locator(".o_realtor_3cx_softphone_retry")).to_have_count(0)
            # Refused before the worker heard of it.
            assert db.do(lambda env: env["threecx.softphone.session"].search_count(
                [("destination", "=", refused)])) == 0
            shot(page, "9_refused_no_retry")
            # A wrong number: no Retry either.
            page.fill(".o_realtor_3cx_softphone_number", "not a number")
            page.locator(".o_realtor_3cx_softphone_call").click()
            expect(page.locator(".o_realtor_3cx_softphone_message")).to_contain_text(
                "not a phone number", timeout=20000)
            expect(page.locator(".o_realtor_3cx_softphone_retry")).to_have_count(0)
            # The worker away: it may be back in a moment, so Retry.
            connects = world["worker"].output().count("3CX events connected")
            last = db.do(lambda env: env["threecx.softphone.session"].search(
                [], limit=1, order="id desc").id)
            world["worker"].stop()
            try:
                page.fill(".o_realtor_3cx_softphone_number", "+15550108932")
                page.locator(".o_realtor_3cx_softphone_call").click()
                expect(page.locator(".o_realtor_3cx_softphone_retry")).to_be_visible(
                    timeout=40000)
                expect(page.locator(".o_realtor_3cx_softphone_message")).to_contain_text(
                    "did not answer")
                assert db.do(lambda env: env["threecx.softphone.session"].search(
                    [("id", ">", last)]).mapped("state")) == ["failed"]
                shot(page, "10_worker_away_retry")
            finally:
                world["worker"].restart()
            wait_for(lambda: world["worker"].output().count("3CX events connected") > connects,
                     "the worker back on 3CX's events", timeout=60)
            page.locator(".o_realtor_3cx_softphone_retry").click()
            expect(page.locator(".o_realtor_3cx_softphone[data-status=connected]")).to_be_visible(
                timeout=30000)
            page.locator(".o_realtor_3cx_softphone_hangup").click()
            expect(page.locator(".o_realtor_3cx_softphone[data-status=ended]")).to_be_visible(
                timeout=10000)
    finally:
        db.do(lambda env: env["res.partner"].browse(dnc).unlink())
