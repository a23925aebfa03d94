# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""``make soak``'s verdict and fault plan, without running it (tests/soak.py)."""

import random

from tests.soak import FAULTS, compare, expected_state, fault_plan, seen_twice


def call(callid, direction="Inbound", result="answered"):
    return {"callid": callid, "direction": direction, "result": result}


def test_expected_state_is_what_3cx_says_in_odoo_words():
    assert expected_state(call(1)) == "completed"
    assert expected_state(call(1, result="voicemail")) == "voicemail"
    assert expected_state(call(1, result="missed")) == "missed"
    assert expected_state(call(1, result="not_answered")) == "missed"
    assert expected_state(call(1, "Outbound", "busy")) == "busy"
    assert expected_state(call(1, "Outbound", "not_answered")) == "failed"
    assert expected_state(call(1, "Outbound", "missed")) == "failed"


def test_compare_counts_lost_wrong_and_unknown_calls():
    truth = [call(1), call(2, result="voicemail"), call(3), call(4, "Outbound", "busy")]
    logged = [("1", "completed"), ("2", "missed"), ("4", "busy"), ("9", "completed")]
    assert compare(truth, logged) == {
        "lost": ["3"], "wrong": [("2", "voicemail", "missed")], "unknown": ["9"]}
    exact = [(str(c["callid"]), expected_state(c)) for c in truth]
    assert not any(compare(truth, exact).values())
    # a call still live in Odoo after the run is in the wrong state
    assert compare([call(5)], [("5", "connected")])["wrong"] == [("5", "completed",
                                                                   "connected")]


RINGING, ENDED = "realtor_3cx.call/ringing", "realtor_3cx.call/ended"
ANSWERED = "realtor_3cx.call/answered"


def test_seen_twice_counts_what_a_realtor_would_see_twice_for_one_call():
    notifications = [(kind, partner, call_id, state, 7) for kind, partner, call_id, state in [
        (RINGING, 7, "1", "ringing"), (RINGING, 8, "1", "ringing"),  # two realtors: fine
        (RINGING, 7, "2", "ringing"), (RINGING, 7, "2", "ringing"),  # a second pop-up
        # a colleague answers, then transfers the call to 7: a new pop-up, fine
        (RINGING, 7, "4", "ringing"), (ANSWERED, 7, "4", "connected"),
        (RINGING, 7, "4", "connected"),
        (ENDED, 7, "1", "completed"), (ENDED, 8, "1", "completed"),
        (ENDED, 7, "2", "missed"), (ENDED, 7, "2", "missed"),  # no prompt for a missed call
        (ENDED, 7, "3", "completed"), (ENDED, 7, "3", "completed"),  # asked twice
        (ENDED, 8, "3", "completed"), (ENDED, 8, "3", "completed"),  # not 8's call: no prompt
    ]]
    call_backs = [("4", 2), ("5", 2), ("5", 2), ("6", 2), ("6", 4)]
    chatter = [("res.partner", 10, 2, 2), ("res.partner", 11, 3, 2),
               ("realtor.property", 1, 1, 3)]
    assert seen_twice(notifications, call_backs, chatter) == {
        "ringing": [("2", 7)], "outcome_prompt": [("3", 7)], "call_back": [("5", 2)],
        "chatter": [("res.partner", 11, 1)]}
    assert not any(seen_twice(notifications[:2], call_backs[:1], chatter[:1]).values())


def test_fault_plan_is_the_seeds_has_every_kind_and_ends_before_the_last_call():
    plan = fault_plan(random.Random(1), 10000, 200)
    assert plan == fault_plan(random.Random(1), 10000, 200)
    assert plan != fault_plan(random.Random(2), 10000, 200)
    assert {kind for _, kind in plan} == set(FAULTS)
    assert all(0 <= after < 10000 for after, _ in plan)
    assert [after for after, _ in plan] == sorted(after for after, _ in plan)
    assert 25 <= len(plan) <= 80  # about one per 200 calls
    short = fault_plan(random.Random(3), 100, 1000)  # too short for chance alone
    assert {kind for _, kind in short} == set(FAULTS)
