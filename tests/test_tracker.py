# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The worker's state machine, legs in and calls out, with time driven by hand."""

from realtor_3cx.threecx.protocol import Participant
from realtor_3cx.threecx.rest import DnState
from realtor_3cx.worker.tracker import CallTracker, iso_seconds, with_call_log, with_reason

CALLER = "+15550108001"
TYPES = [DnState("100", "Wextension", (), ()), DnState("101", "Wextension", (), ()),
         DnState("102", "Wextension", (), ()), DnState("800", "Wqueue", (), ()),
         DnState("900", "Wroutepoint", (), ())]


def leg(pid, dn, status, callid=7, **values):
    base = {"party_caller_id": CALLER, "party_dn_type": "Wexternalline",
            "party_did": "+15550108900"}
    base.update(values)
    return Participant(id=pid, dn=dn, status=status, callid=callid, legid=pid, **base)


def tracker():
    t = CallTracker(end_grace=2.0)
    t.apply_snapshot(TYPES, 0)
    return t


def test_inbound_answered_then_completed_after_the_grace():
    t = tracker()
    assert t.upsert(leg(1, "101", "Ringing"), 10) == "7"
    view = t.view("7")
    assert (view.state, view.direction, view.extension, view.ringing) == (
        "ringing", "inbound", "101", ("101",))
    assert (view.external_number, view.did_number) == (CALLER, "+15550108900")
    assert t.upsert(leg(1, "101", "Ringing"), 10.7) is None  # an Upset repeat: no change
    t.upsert(leg(1, "101", "Connected"), 12)
    assert (t.view("7").state, t.view("7").answer_at) == ("connected", 12)
    t.remove("101", 1, 70)
    assert t.tick(71) == [] and t.view("7").state == "connected"  # maybe a transfer
    assert t.tick(72) == ["7"]
    (done,) = t.take_finished()
    assert (done.state, done.start_at, done.answer_at, done.end_at, done.chain) == (
        "completed", 10, 12, 70, ("101",))
    assert t.take_finished() == [] and t.upsert(leg(1, "101", "Connected"), 73) is None


def test_unanswered_inbound_is_missed_or_voicemail():
    t = tracker()
    t.upsert(leg(1, "101", "Ringing"), 0)
    t.remove("101", 1, 20)
    t.tick(30)
    (view,) = t.take_finished()
    assert view.state == "missed" and view.rung == ("101",)
    assert with_reason(view, "Voicemail").state == "voicemail"
    assert with_reason(view, "NoAnswer").state == "missed"


def test_queue_rings_everyone_and_the_first_to_answer_takes_it():
    t = tracker()
    t.upsert(leg(1, "800", "Connected"), 0)
    for pid, dn in ((2, "100"), (3, "101"), (4, "102")):
        t.upsert(leg(pid, dn, "Ringing", on_behalf_of_dn="800"), 0)
    view = t.view("7")
    assert (view.state, view.ringing, view.queue) == ("ringing", ("100", "101", "102"), "800")
    t.upsert(leg(3, "101", "Connected", on_behalf_of_dn="800"), 5)
    for pid, dn in ((2, "100"), (4, "102"), (1, "800")):
        t.remove(dn, pid, 5)
    view = t.view("7")
    assert (view.state, view.extension, view.ringing) == ("connected", "101", ())
    assert view.rung == ("100", "101", "102")


def test_outbound_dialing_connected_or_failed_or_busy():
    t = tracker()
    t.upsert(leg(1, "100", "Dialing", originated_by_dn="100", party_did=""), 0)
    view = t.view("7")
    assert (view.direction, view.state, view.external_number) == ("outbound", "dialing", CALLER)
    t.upsert(leg(1, "100", "Connected", originated_by_dn="100", party_did=""), 3)
    assert t.view("7").state == "connected"
    t.upsert(leg(2, "101", "Dialing", callid=8, originated_by_dn="101"), 0)
    t.remove("101", 2, 4)
    t.tick(10)
    (failed,) = t.take_finished()
    assert failed.state == "failed" and with_reason(failed, "Busy").state == "busy"


def test_a_transfer_keeps_one_call_and_its_chain():
    t = tracker()
    t.upsert(leg(1, "101", "Connected"), 0)
    t.remove("101", 1, 30)
    t.upsert(leg(2, "102", "Ringing", referred_by_dn="101"), 30.5)  # within the grace
    assert t.tick(40) == []
    view = t.view("7")
    assert (view.state, view.ringing) == ("connected", ("102",))  # the caller still waits
    t.upsert(leg(2, "102", "Connected", referred_by_dn="101"), 35)
    assert t.view("7").chain == ("101", "102") and t.view("7").extension == "102"
    assert t.view("7").answer_at == 0  # the first answer counts


def test_a_snapshot_is_the_truth():
    t = tracker()
    t.upsert(leg(1, "101", "Connected"), 0)
    t.upsert(leg(2, "102", "Ringing", callid=8), 0)
    changed = t.apply_snapshot([DnState("102", "Wextension", (), (leg(2, "102", "Ringing",
                                                                     callid=8),))], 50)
    assert changed == {"7"}  # 8 is unchanged, 7 is gone
    (gone,) = t.take_finished()
    assert (gone.call_id, gone.state, gone.end_at) == ("7", "completed", 50)
    assert t.view("8").state == "ringing"


def test_internal_calls_are_internal():
    t = tracker()
    t.upsert(leg(1, "100", "Dialing", originated_by_dn="100", party_dn="101",
                 party_caller_id="101", party_dn_type="Wextension"), 0)
    assert t.view("7").direction == "internal" and t.view("7").external_number == ""


def test_a_dn_list_is_the_truth_for_that_dn_only():
    t = tracker()
    t.upsert(leg(1, "101", "Ringing"), 0)
    t.upsert(leg(2, "101", "Ringing", callid=8), 0)
    t.upsert(leg(3, "102", "Ringing", callid=9), 0)
    changed = t.apply_dn("101", [leg(2, "101", "Connected", callid=8)], 5)
    assert changed == {"7", "8"}
    assert t.view("8").state == "connected" and t.view("9").state == "ringing"
    assert t.view("7").state == "ringing" and t.tick(8) == ["7"]  # gone, after the grace


def test_a_dn_list_keeps_the_legs_it_is_told_to():
    t = tracker()
    t.upsert(leg(1, "101", "Ringing"), 0)
    t.upsert(leg(2, "101", "Ringing", callid=8), 0)
    assert t.apply_dn("101", [], 5, keep={("101", 1)}) == {"8"}
    assert t.knows("101", 1) and not t.knows("101", 2)


def test_a_browser_call_on_the_route_point_counts_as_the_realtors():
    t = tracker()
    t.adopt("7", "101")
    t.upsert(leg(1, "900", "Dialing", originated_by_dn="900", party_did=""), 0)
    assert (t.view("7").direction, t.view("7").state) == ("outbound", "dialing")
    t.upsert(leg(1, "900", "Connected", originated_by_dn="900", party_did=""), 2)
    view = t.view("7")
    assert (view.state, view.extension, view.answer_at) == ("connected", "101", 2)
    t.remove("900", 1, 9)
    t.tick(20)
    (done,) = t.take_finished()
    assert (done.state, done.chain) == ("completed", ("101",)) and "7" not in t.adopted


def test_a_leg_not_shown_yet_holds_only_the_calls_it_may_belong_to():
    # Two calls empty at 70 and 80 (grace 2 s); at 81 a new leg's Upset came and its GET 404s.
    t = tracker()
    t.upsert(leg(1, "101", "Connected"), 10)
    t.upsert(leg(2, "102", "Connected", callid=8), 10)
    t.remove("101", 1, 70)
    t.remove("102", 2, 80)
    # Call 7's grace ran out at 72, before the leg was missed: it ends. Call 8 was still in
    # its grace at 81: the unread leg may be its transfer's next one, so it waits.
    assert t.tick(82.5, hold_from=81) == ["7"]
    assert t.tick(83.5, hold_from=81) == [] and t.view("8").state == "connected"
    # The leg was read (or given up on): nothing holds call 8 any more.
    assert t.tick(84) == ["8"]


def test_the_call_log_settles_a_call_answered_between_two_reads():
    # The worker saw the leg ring, then (behind) found it gone: the legs say unanswered,
    # 3CX's call log says answered after 4 s and 61 s of talk.
    t = tracker()
    t.upsert(leg(1, "101", "Ringing"), 100)
    t.remove("101", 1, 180)
    t.tick(190)
    (view,) = t.take_finished()
    assert view.state == "missed"
    settled = with_call_log(view, {"Answered": True, "RingingDuration": "PT4S",
                                   "TalkingDuration": "PT1M1S", "Reason": "Answered"})
    assert (settled.state, settled.answer_at, settled.end_at, settled.chain) == (
        "completed", 104, 165, ("101",))
    assert with_call_log(view, {"Answered": False, "Reason": "Voicemail"}).state == "voicemail"
    assert with_call_log(view, {}) == view  # no row: what the legs said
    assert iso_seconds("PT1H2M3.5S") == 3723.5 and iso_seconds(None) == 0


def test_a_call_whose_legs_all_left_says_so_during_its_grace():
    # The pop-ups go at once (the worker's end grace only delays the record's end), and a
    # transfer's next leg makes the call whole again.
    t = tracker()
    t.upsert(leg(1, "101", "Ringing"), 10)
    assert t.view("7").empty is False
    t.remove("101", 1, 11)
    view = t.view("7")
    assert (view.state, view.ringing, view.empty) == ("ringing", (), True)
    assert view.as_dict()["empty"] is True  # what the worker hands to Odoo
    t.upsert(leg(2, "102", "Ringing"), 11.5)
    assert (t.view("7").ringing, t.view("7").empty) == (("102",), False)
    t.remove("102", 2, 12)
    t.tick(14)
    (done,) = t.take_finished()
    assert (done.state, done.empty) == ("missed", False)
