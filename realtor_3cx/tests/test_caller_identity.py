# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Who called, as the realtor settles it: the pick among people sharing a number, a contact
created from the pop-up, and a listing's line told apart from an owner's call
(models/threecx_call_identity.py)."""

import json
import time

from odoo.exceptions import AccessError
from odoo.tests import new_test_user

from .common import Realtor3cxCase

SHARED = "+15550147001"  # a couple's landline
UNKNOWN = "+13105550199"  # Los Angeles: not the realtor's zone
OWNER = "+15550147020"
DID = "+15550147090"  # the listing's own line
MAIN = "+15550147000"  # the brokerage's main number


class IdentityCase(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.realtor.write({
            "tz": "Europe/Madrid",
            "groups_id": [(4, cls.env.ref("base.group_partner_manager").id)],
        })
        cls.colleague = new_test_user(
            cls.env, login="r3cx_colleague", groups="realtor_3cx.realtor_3cx_group_user"
        )
        cls.env["threecx.extension"].create([
            {"server_id": cls.server.id, "number": "101", "user_id": cls.realtor.id},
            {"server_id": cls.server.id, "number": "103", "user_id": cls.colleague.id},
        ])
        cls.t0 = time.time() - 600

    def view(self, call_id, state, number, **values):
        base = {
            "call_id": call_id, "direction": "inbound", "state": state,
            "external_number": number, "external_name": "", "did_number": MAIN,
            "extension": "101", "chain": (), "ringing": ("101",), "rung": ("101",),
            "queue": "", "start_at": self.t0, "answer_at": None, "end_at": None,
            "notify_ringing": ["101"] if state == "ringing" else [],
        }
        base.update(values)
        return base

    def sync(self, *views):
        ids = self.env["threecx.call"]._sync_from_3cx(self.server, list(views))
        return self.env["threecx.call"].browse(ids[views[-1]["call_id"]])

    def bus(self, kind, user):
        self.env.cr.precommit.run()  # the bus sends at commit; tests read what it would send
        return [
            json.loads(m.message)["payload"]
            for m in self.env["bus.bus"].search([("message", "like", kind)], order="id")
            if json.loads(m.channel)[1:] == ["res.partner", user.partner_id.id]
        ]


class TestPick(IdentityCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alex, cls.sam = cls.env["res.partner"].create([
            {"name": "Alex Shared", "phone": SHARED},
            {"name": "Sam Shared", "phone": SHARED},
        ])

    def test_the_pick_is_the_calls_contact_and_everything_follows_it(self):
        call = self.sync(self.view("7001", "ringing", SHARED))
        self.assertFalse(call.partner_id)
        self.assertEqual(call.candidate_partner_ids, self.alex | self.sam)

        call.with_user(self.realtor).action_pick_contact(self.sam.id)
        self.assertEqual(call.partner_id, self.sam)
        self.assertEqual(call.candidate_partner_ids, self.alex | self.sam)  # kept, for the record
        # The card in every tab of the realtor's shows the choice at once.
        updates = self.bus("realtor_3cx.call/updated", self.realtor)
        self.assertEqual(updates[-1]["partner"], {"id": self.sam.id, "name": "Sam Shared"})
        # The worker's later views of the call do not undo it.
        self.sync(self.view("7001", "connected", SHARED, answer_at=self.t0 + 5, chain=("101",)))
        call = self.sync(self.view("7001", "completed", SHARED, answer_at=self.t0 + 5,
                                   end_at=self.t0 + 65, chain=("101",)))
        self.assertEqual(call.partner_id, self.sam)
        # The outcome prompt names the contact ...
        ended = self.bus("realtor_3cx.call/ended", self.realtor)
        self.assertEqual(ended[-1]["partner"]["name"], "Sam Shared")
        # ... the chatter summary is on their record, not the other's ...
        summary = self.sam.message_ids.filtered(lambda m: "Inbound call with" in (m.body or ""))
        self.assertEqual(len(summary), 1)
        self.assertFalse(
            self.alex.message_ids.filtered(lambda m: "Inbound call with" in (m.body or ""))
        )
        # ... their Calls count and the report count it ...
        sam = self.sam.with_user(self.realtor)
        self.assertEqual(sam.threecx_call_count, 1)
        self.assertEqual(self.alex.with_user(self.realtor).threecx_call_count, 0)
        self.env.flush_all()
        report = self.env["threecx.call.report"].search([("partner_id", "=", self.sam.id)])
        self.assertEqual(len(report), 1)
        # ... and the outcome's follow-up goes on them.
        outcome = self.env.ref("realtor_3cx.threecx_outcome_showing_booked")
        call.with_user(self.realtor).write({"outcome_id": outcome.id})
        self.assertIn("Sam Shared", self.sam.activity_ids.summary)
        self.assertFalse(self.alex.activity_ids)

    def test_the_listing_agent_popped_up_for_the_line_may_pick(self):
        listing = self.env["realtor.property"].create(
            {"name": "1 Pick Lane", "listing_phone": DID, "listing_agent_id": self.colleague.id}
        )
        call = self.sync(self.view("7002", "ringing", SHARED, did_number=DID))
        self.assertEqual(call.property_id, listing)
        self.assertEqual(call.user_id, self.realtor)  # 3CX rang the realtor's extension
        # The colleague sees the call's pop-up as the listing's agent: their pick counts,
        # though the call is not theirs to read in the list.
        call.with_user(self.colleague).action_pick_contact(self.alex.id)
        self.assertEqual(call.partner_id, self.alex)
        self.assertTrue(self.bus("realtor_3cx.call/updated", self.colleague))

    def test_someone_the_call_never_rang_cannot_pick(self):
        outsider = new_test_user(
            self.env, login="r3cx_outsider", groups="realtor_3cx.realtor_3cx_group_user"
        )
        call = self.sync(self.view("7003", "ringing", SHARED))
        with self.assertRaises(AccessError):
            call.with_user(outsider).action_pick_contact(self.alex.id)
        self.assertFalse(call.partner_id)

    def test_a_team_call_ringing_before_anyone_has_it_may_be_picked(self):
        call = self.sync(self.view("7004", "ringing", SHARED, extension="", rung=(),
                                   ringing=("101", "103"), queue="800"))
        self.assertFalse(call.user_id)
        call.with_user(self.colleague).action_pick_contact(self.sam.id)
        self.assertEqual(call.partner_id, self.sam)


class TestCreateContact(IdentityCase):
    def test_the_new_contact_is_prefilled_and_linked_to_the_calls_from_its_number(self):
        Call = self.env["threecx.call"]
        earlier = Call.create({
            "server_id": self.server.id, "call_id": "e-1", "state": "missed",
            "external_number": "(310) 555-0199", "start_at": "2026-11-20 10:00:00",
        })
        someone = self.env["res.partner"].create({"name": "Then Someone"})
        ambiguous = Call.create({
            "server_id": self.server.id, "call_id": "e-2", "state": "completed",
            "external_number": UNKNOWN, "start_at": "2026-11-21 10:00:00",
            "candidate_partner_ids": [(6, 0, someone.ids)],
        })
        other = Call.create({
            "server_id": self.server.id, "call_id": "e-3", "state": "missed",
            "external_number": "+15550147999", "start_at": "2026-11-21 10:00:00",
        })
        call = self.sync(self.view("7101", "ringing", UNKNOWN, external_name="DANA BUYER"))
        self.assertEqual(call.external_name, "DANA BUYER")
        self.assertEqual(self.bus("realtor_3cx.call/ringing", self.realtor)[-1]["name"],
                         "DANA BUYER")

        action = call.with_user(self.realtor).action_create_contact()
        self.assertEqual(action["res_model"], "res.partner")
        context = action["context"]
        # What the form opens with: the caller's number, name and time zone, not the realtor's.
        partner = (
            self.env["res.partner"].with_user(self.realtor).with_context(**context).create({})
        )
        self.assertEqual(partner.name, "Dana Buyer")
        self.assertEqual(partner.phone_e164, UNKNOWN)
        self.assertEqual(partner.tz, "America/Los_Angeles")
        self.assertNotEqual(partner.tz, self.realtor.tz)

        self.assertEqual(call.partner_id, partner)
        self.assertEqual(earlier.partner_id, partner)
        self.assertFalse(ambiguous.partner_id)  # the number was someone else's then
        self.assertFalse(other.partner_id)
        self.assertEqual(partner.sudo().threecx_call_count, 2)
        partner.invalidate_recordset(["threecx_call_count"])
        self.assertEqual(partner.with_user(self.realtor).threecx_call_count, 1)  # own call only
        # The card shows the new contact at once: no second "Create contact".
        update = self.bus("realtor_3cx.call/updated", self.realtor)[-1]
        self.assertEqual(update["partner"]["id"], partner.id)
        self.assertEqual([p["id"] for p in update["match"]["partners"]], partner.ids)

    def test_a_contact_saved_with_another_number_links_nothing(self):
        call = self.sync(self.view("7102", "ringing", UNKNOWN))
        context = call.with_user(self.realtor).action_create_contact()["context"]
        partner = self.env["res.partner"].with_user(self.realtor).with_context(**context).create(
            {"name": "Somebody Else", "phone": "+15550147888"}
        )
        self.assertFalse(call.partner_id)
        self.assertFalse(partner.with_user(self.realtor).threecx_call_count)

    def test_a_call_no_longer_theirs_still_lets_the_contact_be_saved(self):
        call = self.sync(self.view("7103", "ringing", UNKNOWN, extension="", rung=(),
                                   ringing=("101", "103"), queue="800"))
        context = call.with_user(self.realtor).action_create_contact()["context"]
        call.with_user(self.colleague).action_claim()  # the colleague took it meanwhile
        partner = self.env["res.partner"].with_user(self.realtor).with_context(**context).create(
            {"name": "Saved Anyway"}
        )
        self.assertTrue(partner.exists())
        self.assertFalse(call.partner_id)

    def test_the_caller_id_name_as_a_contact_name(self):
        name = self.env["threecx.call"]._caller_name
        self.assertEqual(name("DANA BUYER"), "Dana Buyer")
        self.assertEqual(name("Dana McBuyer"), "Dana McBuyer")
        self.assertEqual(name("+1 310 555 0147"), "")
        self.assertEqual(name(False), "")


class TestListingLineOrOwner(IdentityCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.owner = cls.env["res.partner"].create({"name": "Olive Owner", "phone": OWNER})
        cls.listing = cls.env["realtor.property"].create({
            "name": "4 Owner Road", "listing_phone": DID, "listing_status": "active",
            "listing_agent_id": cls.colleague.id, "owner_ids": [(6, 0, cls.owner.ids)],
        })

    def test_an_owner_ringing_the_realtors_extension_is_the_owner_not_the_listing_line(self):
        call = self.sync(self.view("7201", "ringing", OWNER))
        self.assertEqual(call.partner_id, self.owner)
        self.assertEqual(call.property_id, self.listing)  # their one deal in progress
        popup = self.bus("realtor_3cx.call/ringing", self.realtor)[-1]
        self.assertFalse(popup["listing_line"])
        self.assertEqual(popup["match"]["partners"][0]["owner_property_ids"], self.listing.ids)
        # Not a call to the listing's line: its agent gets no pop-up ...
        self.assertFalse(self.bus("realtor_3cx.call/ringing", self.colleague))
        # ... nor the call back: the owner rang the realtor.
        call = self.sync(self.view("7201", "missed", OWNER, end_at=self.t0 + 20))
        self.assertEqual(call.activity_ids.user_id, self.realtor)
        self.assertEqual(call.callback_user_id, self.realtor)
        self.assertFalse(self.bus("realtor_3cx.call/ended", self.colleague))

    def test_a_call_to_the_listing_line_is_the_listing_agents(self):
        call = self.sync(self.view("7202", "ringing", OWNER, did_number=DID))
        self.assertTrue(self.bus("realtor_3cx.call/ringing", self.realtor)[-1]["listing_line"])
        self.assertTrue(self.bus("realtor_3cx.call/ringing", self.colleague)[-1]["listing_line"])
        call = self.sync(self.view("7202", "missed", OWNER, did_number=DID,
                                   end_at=self.t0 + 20))
        self.assertEqual(call.activity_ids.user_id, self.colleague)
        self.assertEqual(call.callback_user_id, self.colleague)

    def test_an_interested_buyer_is_not_an_owner(self):
        buyer = self.env["res.partner"].create({"name": "Bea Buyer", "phone": SHARED})
        self.listing.interested_partner_ids = buyer
        match = self.env["threecx.caller.lookup"].lookup(SHARED)
        self.assertEqual(match["partners"][0]["property_ids"], self.listing.ids)
        self.assertEqual(match["partners"][0]["owner_property_ids"], [])
        self.listing.owner_ids |= buyer  # both: an owner
        match = self.env["threecx.caller.lookup"].lookup(SHARED)
        self.assertEqual(match["partners"][0]["property_ids"], self.listing.ids)
        self.assertEqual(match["partners"][0]["owner_property_ids"], self.listing.ids)
