# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""threecx.call._sync_from_3cx: what the worker's views become, applied once or many times."""

import json
import time

from odoo.exceptions import AccessError

from .common import Realtor3cxCase

CALLER = "+15550108101"
DID = "+15550108190"


class TestCallSync(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["threecx.extension"].create(
            {"server_id": cls.server.id, "number": "101", "user_id": cls.realtor.id}
        )
        cls.partner = cls.env["res.partner"].create({"name": "Sync Caller", "phone": CALLER})
        cls.listing = cls.env["realtor.property"].create(
            {"name": "9 Sync Street", "listing_phone": DID, "listing_agent_id": cls.manager.id}
        )
        cls.t0 = time.time() - 120

    def view(self, state, **values):
        base = {
            "call_id": "5001", "direction": "inbound", "state": state,
            "external_number": CALLER, "external_name": "", "did_number": DID,
            "extension": "101", "chain": (), "ringing": (), "rung": ("101",), "queue": "",
            "start_at": self.t0, "answer_at": None, "end_at": None, "notify_ringing": [],
        }
        base.update(values)
        return base

    def sync(self, *views):
        return self.env["threecx.call"]._sync_from_3cx(self.server, list(views))

    def bus(self, kind):
        self.env.cr.precommit.run()  # the bus sends at commit; tests read what it would send
        return [
            json.loads(m.message)["payload"]
            for m in self.env["bus.bus"].search([("message", "like", kind)])
            if json.loads(m.channel)[1:] == ["res.partner", self.realtor.partner_id.id]
        ]

    def call(self):
        return self.env["threecx.call"].search(
            [("server_id", "=", self.server.id), ("call_id", "=", "5001")]
        )

    def test_ringing_creates_the_call_with_its_match_and_pops_up_once(self):
        ringing = self.view("ringing", ringing=("101",), notify_ringing=["101"])
        self.sync(ringing)
        self.sync(dict(ringing, notify_ringing=[]))  # the worker's next batch: no news
        call = self.call()
        self.assertEqual(len(call), 1)
        self.assertEqual(call.partner_id, self.partner)
        self.assertEqual(call.property_id, self.listing)
        self.assertEqual(call.user_id, self.realtor)
        pops = self.bus("realtor_3cx.call/ringing")
        self.assertEqual(len(pops), 1)
        self.assertEqual(pops[0]["match"]["partners"][0]["id"], self.partner.id)
        self.assertEqual(pops[0]["property"]["id"], self.listing.id)

    def test_the_listing_agent_rung_by_the_queue_gets_no_second_pop_up(self):
        self.env["threecx.extension"].create(
            {"server_id": self.server.id, "number": "102", "user_id": self.manager.id}
        )
        # The call to the listing's line pops up for its agent at once; the queue's leg on the
        # agent's own extension is read a moment later.
        self.sync(self.view("ringing", queue="800", extension="", rung=()))
        self.sync(self.view("ringing", queue="800", extension="102", ringing=("102",),
                            rung=("102",), notify_ringing=["102"]))
        self.env.cr.precommit.run()
        pops = [
            m for m in self.env["bus.bus"].search([("message", "like", "realtor_3cx.call/ringing")])
            if json.loads(m.channel)[1:] == ["res.partner", self.manager.partner_id.id]
        ]
        self.assertEqual(len(pops), 1)

    def test_completed_posts_once_and_keeps_the_earliest_answer(self):
        self.sync(self.view("connected", answer_at=self.t0 + 5, chain=("101",)))
        done = self.view(
            "completed", answer_at=self.t0 + 9, end_at=self.t0 + 70, chain=("101",)
        )
        self.sync(done)
        self.sync(done)
        call = self.call()
        self.assertEqual(call.state, "completed")
        self.assertEqual(call.talk_seconds, 65)  # from the first answer the worker saw
        for record in (self.partner, self.listing):
            lines = record.message_ids.filtered(lambda m: "Inbound call with" in (m.body or ""))
            self.assertEqual(len(lines), 1, record)
        self.assertEqual(len(self.bus("realtor_3cx.call/answered")), 1)
        self.assertEqual(len(self.bus("realtor_3cx.call/ended")), 1)

    def test_missed_schedules_one_call_back_for_the_listing_agent(self):
        missed = self.view("voicemail", end_at=self.t0 + 20)
        self.sync(self.view("ringing", ringing=("101",)), missed)
        self.sync(missed)
        activities = self.call().activity_ids
        self.assertEqual(len(activities), 1)
        self.assertEqual(activities.user_id, self.manager)  # the listing's agent
        self.assertEqual(activities.summary, "Call back Sync Caller")
        self.assertEqual(activities.activity_type_id, self.env.ref("mail.mail_activity_data_call"))

    def test_a_stale_live_view_does_not_reopen_a_finished_call(self):
        self.sync(self.view("missed", end_at=self.t0 + 20))
        self.sync(self.view("ringing", ringing=("101",), notify_ringing=["101"]))
        self.assertEqual(self.call().state, "missed")
        self.assertFalse(self.bus("realtor_3cx.call/ringing"))

    def test_a_realtor_cannot_call_the_sync(self):
        with self.assertRaises(AccessError):
            self.env["threecx.call"].with_user(self.realtor)._sync_from_3cx(
                self.server.with_user(self.realtor), [self.view("ringing")]
            )
