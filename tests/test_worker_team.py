# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Team calls end to end: the real worker, a real Odoo database and the 3CX simulator.

A call to a queue (800, the simulator's "Sales Team": 100, 101, 102) or a ring group (810,
added here: 101, 102) rings every member: it is the team's until one answers, and a missed one
stays the team's. The teams and their members come from 3CX's XAPI, as the worker reads them.
"""

import pytest
from test_worker import bus_messages, db, pbx, people, record, start_worker, truth, wait_connected
from threecx_sim import SECRET, control, wait_for
from xapi_schema import validate_response

from realtor_3cx.threecx.client import ThreecxClient

# The fixtures this module shares with test_worker.py (pytest finds them by name here).
__all__ = ["db", "people", "pbx"]
CALLER = "+15550108651"
RING_GROUP = "810"


@pytest.fixture
def team_worker(db, pbx, tmp_path):
    """The worker, started once the ring group exists (it learns the DNs' types on connect)."""
    control(pbx, "dns", {"number": RING_GROUP, "type": "Wringgroup", "first_name": "Listing",
                         "last_name": "Line", "members": ["101", "102"]})
    worker = start_worker(db, pbx, tmp_path)
    try:  # a worker that never connects is stopped too, not left running after the test
        wait_connected(db, pbx, worker)
        yield worker
    finally:
        worker.stop()
        print(worker.output()[-4000:])  # shown by pytest when the test failed


def ring(pbx, to, **extra):
    return control(pbx, "calls/inbound", {"from": CALLER, "to": to, **extra})["callid"]


def team_call(db, pbx, callid):
    """The call's team, realtor and who it rings for, once it is recorded."""
    def read(env):
        call = env["threecx.call"].search([("server_id", "=", pbx.server_id),
                                           ("call_id", "=", str(callid))])
        return call and {"team": call.team_id.number, "user": call.user_id.id,
                         "ringing": sorted(call.ringing_user_ids.ids), "id": call.id,
                         "state": call.state, "activities": call.activity_ids.user_id.ids}

    return db.do(read)


def ringing_on_reload(db, user_id):
    """The pop-ups a page of this user gets back when it loads."""
    return db.do(lambda env: [p["id"] for p in env["threecx.call"].with_user(user_id)
                              .realtor_3cx_session()["ringing"]])


def test_the_worker_reads_the_teams_and_their_members_from_the_xapi(db, pbx, team_worker):
    client = ThreecxClient(pbx.url, "900", SECRET)
    for entity, members in (("Queues", "Agents"), ("RingGroups", "Members")):
        body = client.xapi.get_json(f"/xapi/v1/{entity}", params={"$expand": members})
        validate_response("get", f"/{entity}", body, strict=True)  # 3CX's own schema

    def teams(env):
        return sorted((t.number, t.kind, t.name, sorted(t.member_ids.mapped("number")))
                      for t in env["threecx.team"].search([("server_id", "=", pbx.server_id)]))

    assert wait_for(lambda: db.do(teams), "the teams") == [
        ("800", "queue", "Sales Team", ["100", "101", "102"]),
        (RING_GROUP, "ring_group", "Listing Line", ["101", "102"])]


def test_a_queue_call_rings_every_member_until_one_answers(db, people, pbx, team_worker):
    callid = ring(pbx, "800", ring_seconds=600)
    everyone = sorted(people["users"])
    found = wait_for(lambda: (c := team_call(db, pbx, callid)) and c["ringing"] == everyone
                     and c, "the call ringing the whole queue")
    assert (found["team"], found["user"], found["state"]) == ("800", False, "ringing")
    for user, partner in zip(people["users"], people["partners"], strict=True):
        pops = wait_for(lambda p=partner: bus_messages(db, "realtor_3cx.call/ringing", p, pbx,
                                                       callid), "every member's pop-up")
        assert pops[0]["user_id"] is False  # offers Claim
        assert ringing_on_reload(db, user) == [found["id"]]
    control(pbx, f"calls/{callid}/answer", {"dn": "102"})
    done = record(db, pbx, callid, lambda r: r["state"] == "connected", "connected")
    assert done["user_id"][0] == people["users"][1]  # B answered on 102
    for user, partner in zip(people["users"], people["partners"], strict=True):
        answered = wait_for(lambda p=partner: bus_messages(db, "realtor_3cx.call/answered", p,
                                                           pbx, callid), "the answer, to all")
        assert answered[0]["user_id"] == people["users"][1]
        assert ringing_on_reload(db, user) == []
    control(pbx, f"calls/{callid}/hangup", {"side": "caller"})
    record(db, pbx, callid, lambda r: r["state"] == "completed", "completed")


def test_a_ring_group_member_declining_leaves_it_ringing_on_the_other(db, people, pbx,
                                                                       team_worker):
    callid = ring(pbx, RING_GROUP, ring_seconds=600)
    a, b = people["users"][:2]
    wait_for(lambda: (c := team_call(db, pbx, callid)) and c["ringing"] == sorted([a, b]),
             "the ring group ringing A and B")
    client = ThreecxClient(pbx.url, "900", SECRET)
    leg = next(p for p in client.callcontrol.participants("101") if p.callid == callid)
    client.callcontrol.drop("101", leg.id)  # A declines
    found = wait_for(lambda: (c := team_call(db, pbx, callid)) and c["ringing"] == [b] and c,
                     "the call ringing B only")
    assert (found["team"], found["user"]) == (RING_GROUP, False)
    assert ringing_on_reload(db, a) == [] and ringing_on_reload(db, b) == [found["id"]]
    control(pbx, f"calls/{callid}/hangup", {"side": "caller"})


def test_a_missed_ring_group_call_is_the_teams(db, people, pbx, team_worker):
    callid = ring(pbx, RING_GROUP, ring_seconds=20)  # 1 s at the tests' speed
    found = wait_for(lambda: (c := team_call(db, pbx, callid)) and c["state"] == "missed"
                     and c, "the missed call")
    assert truth(pbx, callid)["result"] == "missed"
    assert (found["team"], found["user"], found["activities"]) == (RING_GROUP, False, [])

    def visible(env, user_id):
        return bool(env["threecx.call"].with_user(user_id).search([("id", "=", found["id"])]))

    a, b, c = people["users"]
    assert [db.do(lambda env, u=u: visible(env, u)) for u in (a, b, c)] == [True, True, False]
