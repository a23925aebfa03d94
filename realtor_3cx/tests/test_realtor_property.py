# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import AccessError, ValidationError

from .common import Realtor3cxCase


class TestRealtorProperty(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Property = cls.env["realtor.property"]

    def test_reference_and_listing_phone(self):
        prop = self.Property.create({"name": "1 Main St", "listing_phone": "555-010-8101"})
        self.assertTrue(prop.reference.startswith("PROP/"), prop.reference)
        self.assertEqual(prop.listing_phone_e164, "+15550108101")
        self.assertEqual(prop.display_name, f"[{prop.reference}] 1 Main St")
        self.assertEqual(prop.listing_agent_id, self.env.user)

    def test_listing_phone_must_be_a_number_and_unique(self):
        self.Property.create({"name": "A", "listing_phone": "+1 555 010 8101"})
        with self.assertRaisesRegex(ValidationError, "already belongs"):
            self.Property.create({"name": "B", "listing_phone": "555.010.8101"})
        with self.assertRaisesRegex(ValidationError, "not a phone number"):
            self.Property.create({"name": "C", "listing_phone": "call me"})

    def test_calls_are_counted(self):
        prop = self.Property.create({"name": "Counted"})
        self.env["threecx.call"].create(
            [{"server_id": self.server.id, "call_id": f"p{i}", "property_id": prop.id}
             for i in range(3)]
        )
        self.assertEqual(prop.call_count, 3)
        calls = self.env["threecx.call"].search(prop.action_view_calls()["domain"])
        self.assertEqual(len(calls), 3)

    def test_realtors_manage_listings_managers_delete_them(self):
        prop = self.Property.with_user(self.realtor).create({"name": "Mine"})
        prop.write({"listing_status": "active"})
        with self.assertRaises(AccessError):
            prop.unlink()
        prop.with_user(self.manager).unlink()
        self.assertFalse(prop.exists())

    def test_properties_stay_in_their_company(self):
        other_company = self.env["res.company"].create({"name": "Other Brokerage"})
        hidden = self.Property.create({"name": "Elsewhere", "company_id": other_company.id})
        self.assertNotIn(hidden, self.Property.with_user(self.manager).search([]))
        with self.assertRaises(AccessError):
            hidden.with_user(self.realtor).read(["name"])
