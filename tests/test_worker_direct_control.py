# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A phone 3CX cannot answer remotely (``direct_control`` false), end to end and in the worker.

3CX refuses ``answer`` on such a phone with 422 (docs/3cx-api.md §9). The worker reads the flag
on the ringing leg: the call record lists the extension, the realtor's pop-up gets
``direct_control: false`` (no Answer button), and an answer asked anyway is not sent to 3CX:
the page is told ``remote_answer: false`` with the reason, while Decline still works.
"""

import json
import uuid
from types import SimpleNamespace

from test_worker import bus_messages, db, pbx, people, record, truth, worker
from threecx_sim import control, wait_for

from realtor_3cx.threecx.errors import InvalidRequestError
from realtor_3cx.threecx.protocol import Participant
from realtor_3cx.worker.pipeline import ServerSession

# The fixtures this module shares with test_worker.py (pytest finds them by name here).
__all__ = ["db", "people", "pbx", "worker"]
CALLER = "+15550108661"


def dial_answers(db, partner_id, client_ref):
    """The worker's ``realtor_3cx.dial/answer`` payloads for one request of the page."""
    def read(env):
        found = []
        for row in env["bus.bus"].sudo().search([("message", "like", client_ref)]):
            channel, message = json.loads(row.channel), json.loads(row.message)
            if channel[1:] == ["res.partner", partner_id] and \
                    message["type"] == "realtor_3cx.dial/answer":
                found.append(message["payload"])
        return found

    return db.do(read)


def ask(db, people, callid, method):
    """The realtor's Answer / Decline click (``threecx.call.action_*``); its client_ref."""
    ref = str(uuid.uuid4())

    def click(env):
        call = env["threecx.call"].search([("call_id", "=", str(callid))])
        user = env["res.users"].browse(people["users"][0])
        result = getattr(call.with_user(user), method)(client_ref=ref)
        assert result["state"] == "pending", result

    db.do(click)
    return ref


def no_remote_answer(db, pbx, callid):
    return db.do(lambda env: env["threecx.call"].search(
        [("server_id", "=", pbx.server_id), ("call_id", "=", str(callid))]).no_remote_answer)


def final_answer(db, people, ref):
    return wait_for(lambda: [a for a in dial_answers(db, people["partners"][0], ref)
                             if a["state"] in ("done", "failed")], "the worker's answer")[0]


def test_a_phone_without_direct_control_is_not_answered_remotely(db, people, pbx, worker):
    control(pbx, "dns/101/direct_control", {"direct_control": False})
    callid = control(pbx, "calls/inbound", {"from": CALLER, "to": "101",
                                            "ring_seconds": 600})["callid"]
    record(db, pbx, callid, lambda r: r["state"] == "ringing")
    assert no_remote_answer(db, pbx, callid) == "101"
    pops = wait_for(lambda: bus_messages(db, "realtor_3cx.call/ringing", people["partners"][0],
                                         pbx, callid), "the ringing notification")
    assert pops[0]["direct_control"] is False
    # The session a page loads meanwhile says the same.
    session = db.do(lambda env: env["threecx.call"].with_user(people["users"][0])
                    .realtor_3cx_session())
    (restored,) = [p for p in session["ringing"] if p["call_id"] == str(callid)]
    assert restored["direct_control"] is False
    # Answer asked anyway (an old page): the worker says why, and 3CX is not asked.
    answer = final_answer(db, people, ask(db, people, callid, "action_answer_on_phone"))
    assert (answer["state"], answer["remote_answer"]) == ("failed", False)
    assert "pick up the handset" in answer["message"]
    assert truth(pbx, callid)["answered_at"] is None
    assert all("connected" not in text for _t, text in truth(pbx, callid)["events"])
    # Declining needs no remote control of the phone.
    decline = final_answer(db, people, ask(db, people, callid, "action_decline"))
    assert decline["state"] == "done" and "remote_answer" not in decline
    wait_for(lambda: truth(pbx, callid)["ended_by"] == "101", "3CX to drop the call")


def test_a_phone_with_direct_control_is_answered(db, people, pbx, worker):
    callid = control(pbx, "calls/inbound", {"from": CALLER, "to": "101",
                                            "ring_seconds": 600})["callid"]
    record(db, pbx, callid, lambda r: r["state"] == "ringing")
    assert no_remote_answer(db, pbx, callid) is False
    pops = wait_for(lambda: bus_messages(db, "realtor_3cx.call/ringing", people["partners"][0],
                                         pbx, callid), "the ringing notification")
    assert pops[0]["direct_control"] is True
    answer = final_answer(db, people, ask(db, people, callid, "action_answer_on_phone"))
    assert answer["state"] == "done", answer
    wait_for(lambda: truth(pbx, callid)["answered_by"] == "101", "3CX to answer")
    control(pbx, f"calls/{callid}/hangup", {"side": "caller"})


class RefusingCallControl:
    """3CX's answer to ``answer`` on a phone it cannot control: 422."""

    def __init__(self):
        self.asked = []

    def answer(self, dn, participant_id):
        self.asked.append(("answer", dn, participant_id))
        raise InvalidRequestError(422, "participant cannot be answered remotely")

    def drop(self, dn, participant_id):
        self.asked.append(("drop", dn, participant_id))


def leg_action(direct_control, action="answer"):
    leg = Participant(id=7, dn="101", status="Ringing", callid=55, legid=1,
                      direct_control=direct_control)
    callcontrol = RefusingCallControl()
    worker = SimpleNamespace(
        tracker=SimpleNamespace(calls={"55": SimpleNamespace(legs={("101", 7): leg})}),
        client=SimpleNamespace(callcontrol=callcontrol))
    return ServerSession._leg_action(worker, action, "101", "55"), callcontrol.asked


def test_the_worker_reads_3cxs_refusal_when_the_leg_did_not_say():
    # direct_control false: 3CX is not asked at all.
    (ok, message, extra), asked = leg_action(False)
    assert (ok, extra, asked) == (False, {"remote_answer": False}, [])
    assert "pick up the handset" in message
    # Unknown (an older PBX sends no flag): 3CX's 422 says it.
    (ok, message, extra), asked = leg_action(None)
    assert (ok, extra, asked) == (False, {"remote_answer": False}, [("answer", "101", 7)])
    # The leg said it could be answered: a 422 then is another refusal, told as it is.
    (ok, message, extra), _asked = leg_action(True)
    assert (ok, extra) == (False, {})
    assert message == "3CX refused: participant cannot be answered remotely"
    # Decline is sent whatever the phone.
    (ok, message, extra), asked = leg_action(False, "drop")
    assert (ok, message, extra, asked) == (True, "", {}, [("drop", "101", 7)])
