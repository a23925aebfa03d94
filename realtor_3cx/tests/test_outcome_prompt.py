# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The outcome prompt: the server keeps which calls wait for an outcome, and tells every tab.

Also the ringing card's quick exit: a live call whose legs all left tells its realtors at once.
"""

import datetime
import json
import time

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user

from .common import Realtor3cxCase

NUMBER = "+15550108601"


class TestOutcomePrompt(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner = cls.env["res.partner"].create({"name": "Prompt Contact", "phone": NUMBER})
        cls.colleague = new_test_user(
            cls.env, login="r3cx_colleague", groups="realtor_3cx.realtor_3cx_group_user"
        )
        cls.env["threecx.extension"].create(
            {"server_id": cls.server.id, "number": "101", "user_id": cls.realtor.id}
        )
        cls.Call = cls.env["threecx.call"]

    def make_call(self, call_id, **values):
        now = fields.Datetime.now()
        return self.Call.create({
            "server_id": self.server.id, "call_id": call_id, "state": "completed",
            "user_id": self.realtor.id, "partner_id": self.partner.id,
            "external_number": NUMBER, "start_at": now - datetime.timedelta(minutes=3),
            "answer_at": now - datetime.timedelta(minutes=2), "end_at": now, **values,
        })

    def pending(self, user=None):
        return self.Call.with_user(user or self.realtor).realtor_3cx_pending_outcomes()

    def bus(self, kind, user=None):
        self.env.cr.precommit.run()  # the bus sends at commit; tests read what it would send
        partner = (user or self.realtor).partner_id
        return [
            json.loads(m.message)["payload"]
            for m in self.env["bus.bus"].search([("message", "like", kind)])
            if json.loads(m.channel)[1:] == ["res.partner", partner.id]
        ]

    def test_the_list_is_the_realtors_answered_calls_with_no_outcome_yet(self):
        old = fields.Datetime.now() - datetime.timedelta(days=5)
        waiting = self.make_call("p-1")
        newer = self.make_call("p-2", end_at=fields.Datetime.now() + datetime.timedelta(seconds=5))
        self.make_call("p-3", outcome_id=self.env.ref(
            "realtor_3cx.threecx_outcome_showing_booked").id)
        self.make_call("p-4", outcome_skipped=True)
        self.make_call("p-5", state="missed", answer_at=False)
        self.make_call("p-6", user_id=self.colleague.id)
        self.make_call("p-7", start_at=old, answer_at=old, end_at=old)
        result = self.pending()
        self.assertEqual([c["id"] for c in result["calls"]], [newer.id, waiting.id])
        self.assertEqual(result["count"], 2)
        self.assertEqual(result["calls"][1]["partner"], {"id": self.partner.id,
                                                         "name": "Prompt Contact"})
        self.assertEqual(result["calls"][1]["talk_seconds"], 120)
        # The session the browser loads brings the same list (a reload keeps the prompt).
        session = self.Call.with_user(self.realtor).realtor_3cx_session()
        self.assertEqual(session["pending_outcomes"], result)
        self.assertEqual([c["id"] for c in self.pending(self.colleague)["calls"]],
                         [self.Call.search([("call_id", "=", "p-6")]).id])
        # Someone without telephony rights gets nothing, not an access error.
        plain = new_test_user(self.env, login="r3cx_plain", groups="base.group_user")
        self.assertEqual(self.pending(plain), {"calls": [], "count": 0})

    def test_saving_plans_the_follow_up_on_the_chosen_day_and_tells_every_tab(self):
        call = self.make_call("s-1")
        showing = self.env.ref("realtor_3cx.threecx_outcome_showing_booked")
        day = fields.Date.today() + datetime.timedelta(days=6)
        call.with_user(self.realtor).action_save_outcome(
            outcome_id=showing.id, notes="Sat 10:00", followup_date=fields.Date.to_string(day))
        self.assertEqual((call.outcome_id, call.notes), (showing, "Sat 10:00"))
        activity = self.partner.activity_ids
        self.assertEqual(activity.activity_type_id, showing.activity_type_id)
        self.assertEqual(activity.date_deadline, day)
        self.assertEqual(self.bus("realtor_3cx.call/outcome_done"), [{"id": call.id}])
        self.assertEqual(self.pending()["count"], 0)

    def test_a_date_without_an_outcome_plans_a_call_back_and_closes_the_prompt(self):
        call = self.make_call("s-2")
        day = fields.Date.today() + datetime.timedelta(days=2)
        call.with_user(self.realtor).action_save_outcome(
            notes="Call after the survey", followup_date=fields.Date.to_string(day))
        activity = self.partner.activity_ids
        self.assertEqual(activity.activity_type_id, self.env.ref("mail.mail_activity_data_call"))
        self.assertEqual((activity.date_deadline, activity.user_id), (day, self.realtor))
        self.assertIn("Prompt Contact", activity.summary)
        self.assertTrue(call.outcome_skipped)
        self.assertFalse(call.outcome_id)
        self.assertEqual(self.pending()["calls"], [])

    def test_skipping_is_for_the_realtors_own_calls(self):
        mine = self.make_call("k-1")
        theirs = self.make_call("k-2", user_id=self.colleague.id)
        mine.with_user(self.realtor).action_skip_outcome()
        self.assertTrue(mine.outcome_skipped)
        self.assertEqual(self.bus("realtor_3cx.call/outcome_done"), [{"id": mine.id}])
        with self.assertRaises(AccessError):
            theirs.with_user(self.realtor).action_skip_outcome()
        self.assertFalse(theirs.outcome_skipped)
        with self.assertRaises(AccessError):  # 3CX's facts and the prompt's flag are not theirs
            mine.with_user(self.realtor).write({"outcome_skipped": False})

    def test_an_outcome_set_on_the_calls_form_closes_the_prompt_too(self):
        call = self.make_call("f-1")
        call.with_user(self.realtor).write(
            {"outcome_id": self.env.ref("realtor_3cx.threecx_outcome_not_interested").id})
        self.assertEqual(self.bus("realtor_3cx.call/outcome_done"), [{"id": call.id}])
        self.assertEqual(self.pending()["count"], 0)

    def test_a_ringing_call_whose_legs_all_left_clears_its_cards_at_once(self):
        t0 = time.time() - 30
        view = {
            "call_id": "q-1", "direction": "inbound", "state": "ringing",
            "external_number": NUMBER, "external_name": "", "did_number": "",
            "extension": "101", "chain": (), "ringing": ("101",), "rung": ("101",), "queue": "",
            "start_at": t0, "answer_at": None, "end_at": None, "notify_ringing": ["101"],
        }
        self.Call._sync_from_3cx(self.server, [view])
        self.assertEqual(self.bus("realtor_3cx.call/quiet"), [])
        call = self.Call.search([("call_id", "=", "q-1")])
        # The caller hung up: the worker's grace runs, the call is not over yet.
        self.Call._sync_from_3cx(self.server, [dict(view, ringing=(), notify_ringing=[],
                                                    empty=True)])
        self.assertEqual(call.state, "ringing")
        self.assertEqual(self.bus("realtor_3cx.call/quiet"), [{"id": call.id}])
