# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from ..hooks import post_init_hook
from .common import Realtor3cxCase


class TestPartnerE164(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Partner = cls.env["res.partner"]

    def test_create_and_write(self):
        partner = self.Partner.create({"name": "A", "phone": "555-010-2030", "mobile": "junk"})
        self.assertEqual(partner.phone_e164, "+15550102030")
        self.assertFalse(partner.mobile_e164)
        partner.write({"mobile": "+44 20 7946 0958", "phone": False})
        self.assertFalse(partner.phone_e164)
        self.assertEqual(partner.mobile_e164, "+442079460958")

    def test_the_partners_country_reads_national_numbers(self):
        partner = self.Partner.create({"name": "B", "phone": "020 7946 0958"})
        self.assertFalse(partner.phone_e164, "a UK national number is not a US number")
        partner.country_id = self.env.ref("base.uk")
        self.assertEqual(partner.phone_e164, "+442079460958")

    def test_import(self):
        result = self.Partner.load(["name", "phone"], [["Imported", "(555) 010-6060"]])
        self.assertFalse(result["messages"], result["messages"])
        partner = self.Partner.browse(result["ids"])
        self.assertEqual(partner.phone_e164, "+15550106060")

    def test_existing_partners_are_filled_at_install(self):
        # A partner that existed before realtor_3cx: a phone, and the E.164 columns the
        # pre-init hook created empty. Its own data, so that it holds without demo data too.
        partner = self.Partner.create({"name": "Before Install", "phone": "(623)-853-7197"})
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE res_partner SET phone_e164 = NULL WHERE id = %s", (partner.id,)
        )
        partner.invalidate_recordset()
        self.assertFalse(partner.phone_e164)
        post_init_hook(self.env)
        self.assertEqual(partner.phone_e164, "+16238537197")

    def test_batch_fill(self):
        partners = self.Partner.create(
            [{"name": f"P{i}", "phone": f"555-010-{2000 + i}"} for i in range(7)]
            + [{"name": "UK", "phone": "020 7946 0958", "country_id": self.env.ref("base.uk").id}]
        )
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE res_partner SET phone_e164 = NULL, mobile_e164 = NULL WHERE id IN %s",
            (tuple(partners.ids),),
        )
        partners.invalidate_recordset()
        self.assertFalse(any(partners.mapped("phone_e164")))
        examined = self.Partner._realtor_3cx_fill_e164(batch_size=3)
        self.assertGreaterEqual(examined, len(partners))
        self.assertEqual(
            partners.mapped("phone_e164"),
            [f"+1555010{2000 + i}" for i in range(7)] + ["+442079460958"],
        )

    def test_do_not_call_and_counts(self):
        partner = self.Partner.create({"name": "C", "phone": "+1 555 010 7070"})
        self.assertFalse(partner.do_not_call)
        self.env["realtor.property"].create(
            {
                "name": "Home",
                "owner_ids": [(4, partner.id)],
                "interested_partner_ids": [(4, partner.id)],
            }
        )
        self.env["threecx.call"].create(
            {"server_id": self.server.id, "call_id": "x-1", "partner_id": partner.id}
        )
        self.assertEqual(partner.threecx_call_count, 1)
        self.assertEqual(partner.realtor_property_count, 1)
        action = partner.action_view_threecx_calls()
        self.assertEqual(self.env["threecx.call"].search(action["domain"]).partner_id, partner)
