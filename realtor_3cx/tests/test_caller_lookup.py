# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta
from unittest import mock

from odoo import fields
from odoo.sql_db import Cursor

from ..hooks import uninstall_hook
from ..tools.phone import to_e164
from .common import Realtor3cxCase


class TestCallerLookup(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.us = Partner.create({"name": "Pat US", "phone": "+1 (555) 010-8230"})
        cls.uk = Partner.create(
            {"name": "Uma UK", "phone": "020 7946 0958", "country_id": cls.env.ref("base.uk").id}
        )
        cls.mobile_only = Partner.create({"name": "Mo Bile", "mobile": "555 010 8303"})
        cls.Lookup = cls.env["threecx.caller.lookup"]

    def assertFinds(self, number, partner, **kw):
        result = self.Lookup.lookup(number, **kw)
        self.assertEqual([p["id"] for p in result["partners"]], partner.ids, number)
        self.assertFalse(result["ambiguous"])
        return result

    def test_every_format_finds_the_contact(self):
        for number in (
            "+1 (555) 010-8230",
            "0015550108230",
            "555-010-8230",  # national, read with the company's country (US)
            "+1 555 010 8230 ext. 12",
            "+15550108230;ext=12",
            "sip:+15550108230@pbx.example.com",
        ):
            with self.subTest(number=number):
                result = self.assertFinds(number, self.us)
                self.assertEqual(result["e164"], "+15550108230")

    def test_international_and_national_forms_of_a_foreign_number(self):
        self.assertFinds("+44 20 7946 0958", self.uk)
        self.assertFinds("00442079460958", self.uk)
        self.assertFinds("020 7946 0958", self.uk, region="GB")

    def test_mobile_numbers_match_too(self):
        self.assertFinds("+1 555 010 8303", self.mobile_only)

    def test_garbage_is_an_empty_answer_not_an_error(self):
        for number in ("garbage", "", None, "1" * 100, "'; DROP TABLE res_partner; --"):
            with self.subTest(number=number):
                result = self.Lookup.lookup(number)
                self.assertEqual(result["partners"], [])
                self.assertIsNone(result["e164"])
                self.assertFalse(result["property_id"])

    def test_unknown_number(self):
        result = self.Lookup.lookup("+1 555 010 8999")
        self.assertEqual(result["e164"], "+15550108999")
        self.assertEqual(result["partners"], [])
        self.assertFalse(result["ambiguous"])

    def test_archived_contacts_are_not_matched(self):
        self.us.active = False
        self.assertEqual(self.Lookup.lookup("+15550108230")["partners"], [])

    def statements(self, lookup, number):
        queries = []
        execute = Cursor.execute

        def spy(cr, query, params=None, log_exceptions=None):
            queries.append(str(getattr(query, "code", query)))
            return execute(cr, query, params, log_exceptions)

        with mock.patch.object(Cursor, "execute", spy):
            lookup.lookup(number)
        return queries

    def test_lookup_is_an_exact_indexed_match_never_a_like_scan(self):
        # As superuser (the worker, on every ringing call): the statement the ORM would build,
        # kept in a PL/pgSQL function so that PostgreSQL plans it once per connection.
        su_queries = self.statements(self.Lookup, "555-010-8230")
        self.assertTrue(any("realtor_3cx_caller_lookup(" in q for q in su_queries), su_queries)
        # As a user: the same function, with the user's record rules asked about its rows
        # only, in the same statement; never a search of the whole table.
        queries = self.statements(self.Lookup.with_user(self.admin), "555-010-8230")
        (statement,) = [q for q in queries if "realtor_3cx_caller_lookup(" in q]
        self.assertIn('"res_partner"."id" = f.rec_id', statement)
        self.assertIn('"realtor_property"."id" = f.rec_id', statement)
        self.assertIn('"res_partner"."company_id"', statement)  # the multi-company rule
        self.assertFalse([q for q in queries if '_e164" =' in q], queries)
        # Archived records wanted: the ORM's statement, which the function cannot be.
        archived = self.statements(
            self.Lookup.with_user(self.admin).with_context(active_test=False), "555-010-8230")
        self.assertTrue(any('"phone_e164" =' in q for q in archived), archived)
        queries += archived
        self.env.cr.execute(
            "SELECT pg_get_functiondef("
            "'realtor_3cx_caller_lookup(text, text[], integer)'::regprocedure)"
        )
        body = self.env.cr.fetchone()[0]
        self.assertIn("p.phone_e164 = e164 OR p.mobile_e164 = e164", body)
        for query in (*queries, *su_queries, body):
            self.assertNotIn("like", query.lower(), query)

    def test_the_superuser_statement_finds_what_the_orm_statement_finds(self):
        Partner = self.env["res.partner"]
        Partner.create({"name": "Sam US", "mobile": "+1 555 010 8230"})
        Partner.create({"name": "Gone", "phone": "+1 555 010 8230", "active": False})
        owner = Partner.create({"name": "Owner", "phone": "+1 555 010 8230"})
        self.env["realtor.property"].create(
            {"name": "Line", "listing_phone": "+1 555 010 8101", "listing_status": "active",
             "owner_ids": [(4, owner.id)]}
        )
        self.env["realtor.property"].create(
            {"name": "Archived line", "listing_phone": "+1 555 010 8230", "active": False}
        )
        self.env["threecx.call"].create(
            {"server_id": self.server.id, "call_id": "c-su", "partner_id": owner.id,
             "start_at": fields.Datetime.now() - timedelta(hours=2)}
        )
        for number, did in (("555-010-8230", "555-010-8101"), ("+15550108230", None),
                            ("+1 555 010 8101", None), ("garbage", "555-010-8101")):
            with self.subTest(number=number, did=did):
                as_superuser = self.Lookup.lookup(number, did=did)
                self.assertEqual(as_superuser,
                                 self.Lookup.with_user(self.admin).lookup(number, did=did))
                # and the function, rule-checked, is what the ORM's own statement finds
                e164 = as_superuser["e164"]
                dids = [n for n in {to_e164(did, "US") if did else None, e164} if n]
                for lookup in (self.Lookup, self.Lookup.with_user(self.admin)):
                    lookup._query_orm(e164, dids)
                    orm = lookup._rank(self.env.cr.fetchall())
                    self.assertEqual(lookup._query(e164, dids), orm)
        self.assertEqual(len(self.Lookup.lookup("555-010-8230")["partners"]), 3)

    def test_uninstalling_drops_the_lookup_function(self):
        # The SQL function is no ORM object: the uninstall hook must remove it (in a savepoint,
        # so the rest of the tests keep it).
        query = "SELECT count(*) FROM pg_proc WHERE proname = 'realtor_3cx_caller_lookup'"
        self.env.cr.execute(query)
        self.assertEqual(self.env.cr.fetchone()[0], 1)
        with self.env.cr.savepoint(flush=False) as savepoint:
            uninstall_hook(self.env)
            self.env.cr.execute(query)
            self.assertEqual(self.env.cr.fetchone()[0], 0)
            savepoint.rollback()
        self.env.cr.execute(query)
        self.assertEqual(self.env.cr.fetchone()[0], 1)

    def test_shared_number_is_ambiguous_and_ranked(self):
        Partner = self.env["res.partner"]
        spouse = Partner.create({"name": "Sam US", "mobile": "+1 555 010 8230"})
        lender = Partner.create({"name": "Lee Lender", "phone": "001 555 010 8230"})
        # The lender called most recently; the spouse is interested in an active listing.
        self.env["threecx.call"].create(
            {
                "server_id": self.server.id,
                "call_id": "c-1",
                "partner_id": lender.id,
                "start_at": fields.Datetime.now() - timedelta(hours=1),
            }
        )
        self.env["threecx.call"].create(
            {
                "server_id": self.server.id,
                "call_id": "c-2",
                "partner_id": self.us.id,
                "start_at": fields.Datetime.now() - timedelta(days=3),
            }
        )
        listing = self.env["realtor.property"].create(
            {
                "name": "1 Main St",
                "listing_status": "active",
                "interested_partner_ids": [(4, spouse.id)],
            }
        )
        result = self.Lookup.lookup("555-010-8230")
        self.assertTrue(result["ambiguous"])
        ranked = [p["id"] for p in result["partners"]]
        self.assertEqual(ranked, [spouse.id, lender.id, self.us.id])
        self.assertTrue(result["partners"][0]["in_progress"])
        self.assertEqual(result["partners"][0]["property_ids"], listing.ids)
        self.assertTrue(result["partners"][1]["last_call_at"])
        self.assertEqual([p["id"] for p in result["properties"]], listing.ids)
        # several callers: no property is guessed from their deals
        self.assertFalse(result["property_id"])
        values = self.env["threecx.call"]._values_from_lookup(result)
        self.assertFalse(values["partner_id"])
        self.assertEqual(set(values["candidate_partner_ids"][0][2]), set(ranked))

    def test_sold_properties_do_not_rank_first(self):
        Partner = self.env["res.partner"]
        seller = Partner.create({"name": "Past Seller", "phone": "+1 555 010 8230"})
        self.env["realtor.property"].create(
            {"name": "Sold one", "listing_status": "sold", "owner_ids": [(4, seller.id)]}
        )
        self.env["threecx.call"].create(
            {"server_id": self.server.id, "call_id": "c-3", "partner_id": self.us.id}
        )
        ranked = [p["id"] for p in self.Lookup.lookup("+15550108230")["partners"]]
        self.assertEqual(ranked, [self.us.id, seller.id])

    def test_listing_phone_finds_the_property(self):
        listing = self.env["realtor.property"].create(
            {"name": "Sign rider", "listing_phone": "+1 555 010 8101", "listing_status": "active"}
        )
        result = self.Lookup.lookup("+1 555 010 8999", did="555-010-8101")
        self.assertEqual(result["property_id"], listing.id)
        self.assertEqual(result["properties"][0], {"id": listing.id, "name": listing.display_name,
                                                   "via": "listing_phone"})

    def test_one_caller_with_one_deal_in_progress_links_that_property(self):
        deal = self.env["realtor.property"].create(
            {"name": "Deal", "listing_status": "under_contract", "owner_ids": [(4, self.us.id)]}
        )
        self.env["realtor.property"].create(
            {"name": "Old", "listing_status": "withdrawn", "owner_ids": [(4, self.us.id)]}
        )
        result = self.Lookup.lookup("+15550108230")
        self.assertEqual(result["property_id"], deal.id)
        values = self.env["threecx.call"]._values_from_lookup(result)
        self.assertEqual(values["partner_id"], self.us.id)
        self.assertEqual(values["property_id"], deal.id)
        self.assertEqual(values["candidate_partner_ids"][0][2], [])

    def test_record_rules_apply_to_the_lookup(self):
        other_company = self.env["res.company"].create({"name": "Other Brokerage"})
        hidden = self.env["res.partner"].create(
            {"name": "Other company's client", "phone": "+1 555 010 8230",
             "company_id": other_company.id}
        )
        self.env["realtor.property"].create(
            {"name": "Other listing", "listing_phone": "+1 555 010 8102",
             "company_id": other_company.id}
        )
        as_realtor = self.Lookup.with_user(self.realtor)
        result = as_realtor.lookup("+1 555 010 8230", did="+1 555 010 8102")
        self.assertEqual([p["id"] for p in result["partners"]], self.us.ids)
        self.assertFalse(result["properties"])
        # As superuser, what the current company may see: in the other company, its client.
        found = self.Lookup.with_company(other_company).lookup("+15550108230")["partners"]
        self.assertIn(hidden.id, [p["id"] for p in found])
        found = self.Lookup.lookup("+15550108230", every_company=True)["partners"]
        self.assertIn(hidden.id, [p["id"] for p in found])
        found = self.Lookup.lookup("+15550108230")["partners"]
        self.assertNotIn(hidden.id, [p["id"] for p in found])

    def test_the_company_country_is_re_read_when_it_changes(self):
        # national UK form: not a US number, found once the company is in the UK
        self.assertEqual(self.Lookup.lookup("020 7946 0958")["partners"], [])
        self.env.company.country_id = self.env.ref("base.uk")
        self.assertFinds("020 7946 0958", self.uk)
