# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The compliance report's revocations (threecx_compliance.py): when each opt-out was asked,
when it took effect and how long that took, and every outbound call placed to the contact
or their number after it took effect; the managers' of the contact's company only."""

import datetime

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user

from .common import Realtor3cxCase

NUMBER = "+15550108951"
HOUR = datetime.timedelta(hours=1)


class TestRevocationReport(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.contact = cls.env["res.partner"].create({
            "name": "Rhoda Revoked", "phone": NUMBER, "company_id": cls.env.company.id})
        cls.Report = cls.env["threecx.compliance.report"]

    def call(self, start, direction="outbound", partner=None, number=NUMBER, tag=""):
        return self.env["threecx.call"].create({
            "server_id": self.server.id, "call_id": f"revocation-{direction}-{start}{tag}",
            "direction": direction, "state": "completed", "external_number": number,
            "start_at": start, "user_id": self.realtor.id,
            "partner_id": partner.id if partner else False,
        })

    def rows(self, kind, user=None):
        return self.Report.with_user(user or self.manager).search(
            [("kind", "=", kind), ("partner_id", "=", self.contact.id)], order="id")

    def test_a_spoken_opt_out_shows_its_delay_and_every_call_placed_after_it(self):
        now = fields.Datetime.now()
        spoken = self.call(now - 48 * HOUR, partner=self.contact, tag="-spoken")
        before = self.call(now - 24 * HOUR, partner=self.contact)
        # A manager reviews the transcript two days later and records the opt-out.
        entry = self.contact.with_user(self.manager)._realtor_3cx_record_revocation(
            "transcript", call=spoken, excerpt="Please stop calling me.")
        self.assertTrue(self.contact.do_not_call)
        # Placed anyway after it took effect (a desk phone, no rule check): to the number
        # without the contact on the call, and to the contact on another number; an inbound
        # call and the calls before do not count.
        by_number = self.call(now + HOUR)
        by_contact = self.call(now + 2 * HOUR, partner=self.contact, number="+15550108952")
        self.call(now + 3 * HOUR, direction="inbound", partner=self.contact)
        self.env.flush_all()

        revocation = self.rows("revocation")
        self.assertEqual(len(revocation), 1)
        self.assertEqual(
            (revocation.consent_id, revocation.how, revocation.requested_at,
             revocation.phone_call_id, revocation.number, revocation.message,
             revocation.user_id, revocation.revocations, revocation.late),
            (entry, "transcript", spoken.start_at, spoken, NUMBER, "Please stop calling me.",
             self.manager, 1, False))
        self.assertGreaterEqual(revocation.effective_at, entry.effective_at)
        self.assertAlmostEqual(revocation.delay_hours, 48, delta=0.1)

        after = self.rows("after_revocation")
        self.assertEqual(after.phone_call_id, by_number | by_contact)
        self.assertNotIn(before, after.phone_call_id)
        self.assertNotIn(spoken, after.phone_call_id)
        self.assertEqual(set(after.mapped("consent_id")), {entry})
        self.assertEqual(after.mapped("after_revocation"), [1, 1])
        self.assertEqual(after.mapped("date"), [by_number.start_at, by_contact.start_at])
        totals = self.Report.with_user(self.manager)._read_group(
            [("partner_id", "=", self.contact.id)], [], ["revocations:sum",
                                                        "after_revocation:sum"])[0]
        self.assertEqual(totals, (1, 2))
        # Exportable as any list.
        exported = after.export_data(["kind", "partner_id", "number", "phone_call_id"])["datas"]
        self.assertEqual(exported[0][:3], ["Called after a revocation", "Rhoda Revoked", NUMBER])

    def test_a_new_consent_ends_the_revocation_and_a_late_one_is_flagged(self):
        now = fields.Datetime.now()
        # A web-form opt-out entered three weeks after the contact sent it: past the
        # deadline of 10 business days.
        late = self.env["threecx.consent"].with_user(self.manager).create({
            "partner_id": self.contact.id, "kind": "revoked", "how": "web_form",
            "effective_at": now - 21 * 24 * HOUR, "note": "Web form of three weeks ago"})
        self.call(now + HOUR)
        # The contact consents again (the manager dates it when they said it).
        self.env["threecx.consent"].with_user(self.manager).create({
            "partner_id": self.contact.id, "kind": "granted", "how": "manager",
            "effective_at": now + 2 * HOUR, "note": "Asked us to call again"})
        self.call(now + 3 * HOUR)  # after the new consent: allowed, not listed
        self.env.flush_all()
        revocation = self.rows("revocation")
        self.assertEqual((revocation.consent_id, revocation.requested_at, revocation.late),
                         (late, now - 21 * 24 * HOUR, True))
        self.assertGreaterEqual(revocation.delay_hours, 21 * 24 - 0.1)
        self.assertEqual(self.rows("after_revocation").mapped("date"), [now + HOUR])
        # A realtor's own opt-out takes effect at once: no delay.
        self.contact.with_user(self.realtor).action_realtor_3cx_record_opt_out()
        mine = self.rows("revocation").filtered(lambda r: r.how == "realtor")
        self.assertEqual((mine.user_id, mine.late), (self.realtor, False))
        self.assertLess(mine.delay_hours, 1)

    def test_the_managers_of_the_contacts_company_read_it_realtors_not(self):
        self.contact.with_user(self.realtor).action_realtor_3cx_record_opt_out()
        self.call(fields.Datetime.now() + HOUR)
        self.assertEqual(len(self.rows("revocation")), 1)
        self.assertEqual(len(self.rows("after_revocation")), 1)
        Report = self.Report.with_user(self.realtor)
        with self.assertRaises(AccessError):
            Report.search([])
        with self.assertRaises(AccessError):
            self.rows("revocation").with_user(self.realtor).read(["delay_hours"])
        # A manager of another brokerage does not see this one's revocations.
        other = self.env["res.company"].create({"name": "Revocation Other Brokerage"})
        elsewhere = new_test_user(
            self.env, login="r3cx_revocation_other_manager", company_id=other.id,
            company_ids=[Command.set(other.ids)], groups="realtor_3cx.realtor_3cx_group_manager")
        self.assertFalse(self.Report.with_user(elsewhere).search(
            [("kind", "in", ("revocation", "after_revocation"))]))
