# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""``make soak``'s verdict and fault plan, without running it (tests/soak.py)."""

import random

from tests.soak import FAULTS, compare, expected_state, fault_plan


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


def test_compare_counts_lost_duplicated_wrong_and_unknown_calls():
    truth = [call(1), call(2, result="voicemail"), call(3), call(4, "Outbound", "busy")]
    logged = [("1", "completed", 1), ("2", "missed", 1), ("4", "busy", 2), ("4", "busy", 2),
              ("9", "completed", 1)]
    assert compare(truth, logged) == {
        "lost": ["3"], "duplicated": ["4", "4"], "wrong": [("2", "voicemail", "missed")],
        "unknown": ["9"]}
    exact = [(str(c["callid"]), expected_state(c), 1) for c in truth]
    assert not any(compare(truth, exact).values())
    # a call still live in Odoo after the run is in the wrong state
    assert compare([call(5)], [("5", "connected", 1)])["wrong"] == [("5", "completed",
                                                                      "connected")]


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
