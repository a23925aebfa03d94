# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A call ringing on a phone 3CX cannot answer remotely (the leg's ``direct_control`` is
false, docs/3cx-api.md §9): the record keeps whose phone it is, and only that realtor's
pop-up (the ringing notification, and the session a page loads) says ``direct_control:
false``, so it offers no Answer button."""

import json
import time

from .common import Realtor3cxCase

CALLER = "+15550108121"


class TestRemoteAnswer(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["threecx.extension"].create([
            {"server_id": cls.server.id, "number": "101", "user_id": cls.realtor.id},
            {"server_id": cls.server.id, "number": "102", "user_id": cls.manager.id},
        ])
        cls.t0 = time.time() - 60

    def view(self, state, **values):
        base = {
            "call_id": "5101", "direction": "inbound", "state": state,
            "external_number": CALLER, "external_name": "", "did_number": "",
            "extension": "101", "chain": (), "ringing": ("101",), "rung": ("101",),
            "queue": "", "start_at": self.t0, "answer_at": None, "end_at": None,
            "notify_ringing": [],
        }
        base.update(values)
        return base

    def sync(self, *views):
        self.env["threecx.call"]._sync_from_3cx(self.server, list(views))
        return self.env["threecx.call"].search(
            [("server_id", "=", self.server.id), ("call_id", "=", "5101")])

    def pops(self, user):
        self.env.cr.precommit.run()  # the bus sends at commit; tests read what it would send
        return [
            json.loads(m.message)["payload"]
            for m in self.env["bus.bus"].search([("message", "like", "realtor_3cx.call/ringing")])
            if json.loads(m.channel)[1:] == ["res.partner", user.partner_id.id]
        ]

    def session_card(self, user):
        session = self.env["threecx.call"].with_user(user).realtor_3cx_session()
        return next(p for p in session["ringing"] if p["call_id"] == "5101")

    def test_a_phone_3cx_cannot_answer_offers_no_answer(self):
        call = self.sync(self.view("ringing", notify_ringing=["101"], no_direct_control=("101",)))
        self.assertEqual(call.no_remote_answer, "101")
        (pop,) = self.pops(self.realtor)
        self.assertIs(pop["direct_control"], False)
        self.assertIs(self.session_card(self.realtor)["direct_control"], False)
        # Answered on the handset: nothing rings any more, nothing is blocked.
        call = self.sync(self.view("connected", ringing=(), chain=("101",),
                                   answer_at=self.t0 + 5))
        self.assertFalse(call.no_remote_answer)

    def test_a_phone_3cx_can_answer_offers_answer(self):
        call = self.sync(self.view("ringing", notify_ringing=["101"]))
        self.assertFalse(call.no_remote_answer)
        (pop,) = self.pops(self.realtor)
        self.assertIs(pop["direct_control"], True)
        self.assertIs(self.session_card(self.realtor)["direct_control"], True)

    def test_a_team_call_blocks_only_the_member_whose_phone_cannot(self):
        # A queue rings both; only 101's phone takes no remote control.
        self.sync(self.view("ringing", queue="800", extension="", ringing=("101", "102"),
                            rung=("101", "102"), notify_ringing=["101", "102"],
                            no_direct_control=("101",)))
        self.assertIs(self.pops(self.realtor)[0]["direct_control"], False)
        self.assertIs(self.pops(self.manager)[0]["direct_control"], True)
