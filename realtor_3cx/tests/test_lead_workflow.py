# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Speed to lead (call-back deadline, time to call back) and calls to a listing's own line."""

import datetime
import json
import time

from odoo.tests import new_test_user

from .common import Realtor3cxCase

LEAD = "+15550108701"
DID = "+15550108790"
T0 = datetime.datetime(2026, 11, 24, 15, 0, 0)


class TestSpeedToLead(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Call = cls.env["threecx.call"]
        cls.env["ir.config_parameter"].set_param("realtor_3cx.speed_to_lead_minutes", "15")

    def call(self, call_id, direction, state, start, number=LEAD, **values):
        return self.Call.create(
            {"server_id": self.server.id, "call_id": call_id, "direction": direction,
             "state": state, "external_number": number, "start_at": start,
             "user_id": self.realtor.id, **values}
        )

    def test_an_unknown_missed_caller_gets_a_deadline_and_the_first_call_back_settles_it(self):
        missed = self.call("s-1", "inbound", "missed", T0)
        self.assertEqual(missed.callback_deadline, T0 + datetime.timedelta(minutes=15))
        self.assertEqual(missed.callback_user_id, self.realtor)
        # An outbound call to another number settles nothing.
        self.call("s-2", "outbound", "completed", T0 + datetime.timedelta(minutes=3),
                  number="+15550108702")
        self.assertFalse(missed.callback_call_id)
        # The call back rang out unanswered: it still counts (the realtor reacted).
        back = self.call("s-3", "outbound", "failed", T0 + datetime.timedelta(minutes=9),
                         number="(555) 010-8701")
        self.assertEqual(missed.callback_call_id, back)
        self.assertEqual(missed.callback_seconds, 9 * 60)
        self.assertTrue(missed.callback_met)
        # A second call back does not move the figure.
        self.call("s-4", "outbound", "completed", T0 + datetime.timedelta(minutes=30))
        self.assertEqual(missed.callback_call_id, back)

    def test_a_late_call_back_misses_the_deadline(self):
        missed = self.call("s-5", "inbound", "voicemail", T0)
        self.call("s-6", "outbound", "completed", T0 + datetime.timedelta(hours=2))
        self.assertEqual(missed.callback_seconds, 7200)
        self.assertFalse(missed.callback_met)

    def test_a_call_that_rang_and_then_was_missed_gets_its_deadline_on_the_change(self):
        call = self.call("s-7", "inbound", "ringing", T0)
        self.assertFalse(call.callback_deadline)
        call.state = "missed"
        self.assertEqual(call.callback_deadline, T0 + datetime.timedelta(minutes=15))

    def test_which_contacts_are_leads(self):
        old = self.env["res.partner"].create({"name": "Old Contact", "phone": LEAD})
        dormant = self.env["res.partner"].create({"name": "Dormant", "phone": "+15550108703"})
        owner = self.env["res.partner"].create({"name": "Owner", "phone": "+15550108705"})
        prop = self.env["realtor.property"].create(
            {"name": "5 Lead Lane", "listing_status": "active"}
        )
        # create_date comes from the database clock: age the contacts there.
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE res_partner SET create_date = %s WHERE id IN %s",
            (T0 - datetime.timedelta(days=200), (old.id, dormant.id, owner.id)),
        )
        self.env.invalidate_all()
        fresh = self.env["res.partner"].create({"name": "Fresh", "phone": "+15550108704"})
        # An old contact with nothing going on is not a lead...
        quiet = self.call("s-8", "inbound", "missed", T0, partner_id=old.id)
        self.assertFalse(quiet.callback_deadline)
        # ...until a call of the last 90 days, an open activity or a live property says so.
        self.call("s-9", "inbound", "completed", T0 - datetime.timedelta(days=10),
                  partner_id=old.id)
        self.assertTrue(self.call("s-10", "inbound", "missed", T0, partner_id=old.id)
                        .callback_deadline)
        self.assertFalse(self.call("s-11", "inbound", "missed", T0, number="+15550108703",
                                   partner_id=dormant.id).callback_deadline)
        dormant.activity_schedule("mail.mail_activity_data_todo", user_id=self.realtor.id)
        self.assertTrue(self.call("s-12", "inbound", "missed", T0, number="+15550108703",
                                  partner_id=dormant.id).callback_deadline)
        owner.realtor_owned_property_ids = prop
        self.assertTrue(self.call("s-13", "inbound", "missed", T0, number="+15550108705",
                                  partner_id=owner.id).callback_deadline)
        # A contact created within 30 days is new, hence a lead.
        self.assertTrue(self.call("s-14", "inbound", "missed", fresh.create_date,
                                  number="+15550108704", partner_id=fresh.id).callback_deadline)
        # Outbound and answered calls never get a deadline.
        self.assertFalse(self.call("s-15", "inbound", "completed", T0).callback_deadline)
        self.assertFalse(self.call("s-16", "outbound", "missed", T0).callback_deadline)

    def test_a_call_back_logged_before_the_missed_call_ended_still_counts(self):
        missed = self.call("s-18", "inbound", "ringing", T0)
        back = self.call("s-19", "outbound", "dialing", T0 + datetime.timedelta(minutes=2))
        missed.state = "missed"
        self.assertEqual(missed.callback_call_id, back)
        self.assertEqual(missed.callback_seconds, 120)

    def test_the_deadline_is_a_setting(self):
        self.env["ir.config_parameter"].set_param("realtor_3cx.speed_to_lead_minutes", "5")
        missed = self.call("s-17", "inbound", "missed", T0)
        self.assertEqual(missed.callback_deadline, T0 + datetime.timedelta(minutes=5))


class TestListingLine(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.agent = new_test_user(
            cls.env, login="r3cx_listing_agent", name="Listing Agent",
            groups="realtor_3cx.realtor_3cx_group_user",
        )
        cls.env["threecx.extension"].create(
            {"server_id": cls.server.id, "number": "101", "user_id": cls.realtor.id}
        )
        cls.listing = cls.env["realtor.property"].create(
            {"name": "21 Harbour Road", "listing_phone": "(555) 010-8790",
             "listing_agent_id": cls.agent.id}
        )
        cls.t0 = time.time() - 120

    def view(self, state, **values):
        base = {
            "call_id": "7001", "direction": "inbound", "state": state,
            "external_number": LEAD, "external_name": "", "did_number": DID,
            "extension": "101", "chain": (), "ringing": ("101",), "rung": ("101",), "queue": "",
            "start_at": self.t0, "answer_at": None, "end_at": None, "notify_ringing": [],
        }
        base.update(values)
        return base

    def pushes(self, kind, user):
        self.env.cr.precommit.run()  # the bus sends at commit; tests read what it would send
        return [
            json.loads(m.message)["payload"]
            for m in self.env["bus.bus"].search([("message", "like", kind)])
            if json.loads(m.channel)[1:] == ["res.partner", user.partner_id.id]
        ]

    def test_the_listing_phone_is_stored_as_e164(self):
        self.assertEqual(self.listing.listing_phone_e164, DID)

    def test_a_call_to_the_listing_line_pops_up_for_its_agent_is_logged_and_called_back(self):
        Call = self.env["threecx.call"]
        Call._sync_from_3cx(self.server, [self.view("ringing", notify_ringing=["101"])])
        Call._sync_from_3cx(self.server, [self.view("ringing", notify_ringing=[])])
        call = Call.search([("call_id", "=", "7001")])
        self.assertEqual(call.property_id, self.listing)
        # Both the realtor 3CX rang and the listing agent get one pop-up showing the listing.
        for user in (self.realtor, self.agent):
            pops = self.pushes("realtor_3cx.call/ringing", user)
            self.assertEqual(len(pops), 1, user.name)
            self.assertEqual(pops[0]["property"]["id"], self.listing.id)
        # A reload while it rings shows the agent the pop-up again.
        session = Call.with_user(self.agent).realtor_3cx_session()
        self.assertEqual([c["id"] for c in session["ringing"]], [call.id])
        Call._sync_from_3cx(self.server, [self.view("missed", end_at=self.t0 + 30)])
        self.assertEqual(len(self.pushes("realtor_3cx.call/ended", self.agent)), 1)
        self.assertEqual(call.activity_ids.user_id, self.agent)
        self.assertEqual(call.callback_user_id, self.agent)
        self.assertIn(call, self.listing.call_ids)

    def test_a_property_linked_through_the_caller_does_not_ring_its_agent(self):
        owner = self.env["res.partner"].create({"name": "Seller", "phone": LEAD})
        self.listing.write({"owner_ids": [(4, owner.id)], "listing_status": "active"})
        self.env["threecx.call"]._sync_from_3cx(
            self.server, [self.view("ringing", did_number="+15550108999", notify_ringing=["101"])]
        )
        call = self.env["threecx.call"].search([("call_id", "=", "7001")])
        self.assertEqual(call.property_id, self.listing)  # the seller's deal under way
        self.assertFalse(self.pushes("realtor_3cx.call/ringing", self.agent))
        self.assertEqual(len(self.pushes("realtor_3cx.call/ringing", self.realtor)), 1)
