# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A desk phone 3CX cannot answer remotely, in Chromium against Odoo, the worker and the
simulator: the pop-up offers no Answer, says to pick up the handset, and Here answers the call
in the browser (docs/3cx-api.md §9: 3CX refuses ``answer`` with 422 on such a phone).
"""

import contextlib

import test_browser_e2e
from playwright.sync_api import expect
from test_browser_e2e import HEAR_TONE, NUMBER, fake_microphone_page
from threecx_sim import control, wait_for

world = test_browser_e2e.world  # the same world (Odoo, worker, simulator), started for this file


@contextlib.contextmanager
def phone_without_direct_control(sim, dn="101"):
    control(sim, f"dns/{dn}/direct_control", {"direct_control": False})
    try:
        yield
    finally:
        control(sim, f"dns/{dn}/direct_control", {"direct_control": True})


def call_record(world, callid):
    return world["db"].do(lambda env: env["threecx.call"].search_read(
        [("server_id", "=", world["server"]), ("call_id", "=", str(callid))],
        ["state", "no_remote_answer"]))


def test_no_answer_button_on_a_phone_3cx_cannot_answer_and_here_takes_it(world, tmp_path):
    sim = world["sim"]
    with phone_without_direct_control(sim), fake_microphone_page(world, tmp_path) as page:
        call = control(sim, "calls/inbound", {"from": NUMBER, "to": "101",
                                              "ring_seconds": 600})
        popup = page.locator(".o_realtor_3cx_popup[data-state=ringing]")
        expect(popup).to_be_visible(timeout=10000)
        expect(popup.locator(".o_realtor_3cx_no_remote_answer")).to_have_text(
            "Your desk phone cannot be answered from Odoo: pick up the handset, or answer "
            "here in the browser.")
        expect(popup.locator(".o_realtor_3cx_answer")).to_have_count(0)
        expect(popup.locator(".o_realtor_3cx_decline")).to_be_visible()
        assert call_record(world, call["callid"])[0]["no_remote_answer"] == "101"
        popup.locator(".o_realtor_3cx_answer_here").click()
        expect(page.locator(".o_realtor_3cx_softphone[data-status=connected]")).to_be_visible(
            timeout=20000)
        truth = control(sim, f"calls/{call['callid']}", method="GET")
        assert truth["answered_by"] == "900"  # on the route point, bridged to the page
        page.wait_for_selector("audio.o_realtor_3cx_softphone_audio", state="attached")
        assert page.evaluate(HEAR_TONE), "the browser did not hear the call's audio"
        page.locator(".o_realtor_3cx_softphone_hangup").click()
        wait_for(lambda: control(sim, f"calls/{call['callid']}", method="GET")["ended_at"],
                 "3CX to end the call", timeout=15)
        wait_for(lambda: call_record(world, call["callid"])[0]["state"] == "completed",
                 "the call logged as completed", timeout=15)
        assert call_record(world, call["callid"])[0]["no_remote_answer"] is False


def test_the_handset_still_answers_and_decline_still_works(world, tmp_path):
    sim = world["sim"]
    with phone_without_direct_control(sim), fake_microphone_page(world, tmp_path) as page:
        first = control(sim, "calls/inbound", {"from": NUMBER, "to": "101",
                                               "ring_seconds": 600})
        popup = page.locator(".o_realtor_3cx_popup[data-state=ringing]")
        expect(popup.locator(".o_realtor_3cx_no_remote_answer")).to_be_visible(timeout=10000)
        # The realtor picks up the handset: the card shows the call connected.
        control(sim, f"calls/{first['callid']}/answer", {"dn": "101"})
        expect(page.locator(".o_realtor_3cx_popup[data-state=connected]")).to_be_visible(
            timeout=10000)
        control(sim, f"calls/{first['callid']}/hangup", {"side": "caller"})
        expect(page.locator(".o_realtor_3cx_popup")).to_have_count(0, timeout=10000)
        second = control(sim, "calls/inbound", {"from": NUMBER, "to": "101",
                                                "ring_seconds": 600})
        expect(popup.locator(".o_realtor_3cx_no_remote_answer")).to_be_visible(timeout=10000)
        popup.locator(".o_realtor_3cx_decline").click()
        wait_for(lambda: control(sim, f"calls/{second['callid']}", method="GET")["ended_at"],
                 "3CX to drop the declined call")
        assert control(sim, f"calls/{second['callid']}", method="GET")["ended_by"] == "101"
