# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Multi-company: each 3CX server acts in its company; a company's country change is cheap."""

import json
import time

from ..models.res_partner import E164_REFRESH
from .common import SECRET, Realtor3cxCase

NATIONAL = "555 010 8444"  # a US national number, the same in both US companies
E164 = "+15550108444"


class TestServersInTheirCompany(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.env.company
        cls.company_b = cls.env["res.company"].create(
            {"name": "Second Brokerage", "country_id": cls.env.ref("base.us").id}
        )
        cls.server_b = cls.env["threecx.server"].create({
            "name": "PBX B", "base_url": "https://pbx-b.example.com/", "client_id": "901",
            "api_secret": SECRET, "company_id": cls.company_b.id,
        })
        Partner = cls.env["res.partner"]
        cls.pat_a = Partner.create(
            {"name": "Pat of A", "phone": NATIONAL, "company_id": cls.company_a.id})
        cls.pat_b = Partner.create(
            {"name": "Pat of B", "phone": NATIONAL, "company_id": cls.company_b.id})

    def view(self, call_id):
        return {
            "call_id": call_id, "direction": "inbound", "state": "missed",
            "external_number": NATIONAL, "external_name": "", "did_number": "",
            "extension": "", "chain": (), "ringing": (), "rung": (), "queue": "",
            "start_at": time.time() - 60, "answer_at": None, "end_at": time.time() - 30,
            "notify_ringing": [],
        }

    def test_the_superuser_lookup_keeps_to_the_current_company(self):
        Lookup = self.env["threecx.caller.lookup"]
        self.assertEqual(self.pat_a.phone_e164, E164)
        self.assertEqual(self.pat_b.phone_e164, E164)
        for company, partner in ((self.company_a, self.pat_a), (self.company_b, self.pat_b)):
            with self.subTest(company=company.name):
                for lookup in (Lookup.with_company(company),
                               Lookup.with_company(company).with_context(active_test=False)):
                    found = lookup.lookup(NATIONAL)
                    self.assertEqual([p["id"] for p in found["partners"]], partner.ids)
                    self.assertFalse(found["ambiguous"])
        # A contact of no company is every company's.
        shared = self.env["res.partner"].create({"name": "Shared", "phone": E164})
        found = Lookup.with_company(self.company_b).lookup(NATIONAL)
        self.assertEqual({p["id"] for p in found["partners"]}, {self.pat_b.id, shared.id})

    def test_each_servers_call_finds_its_companys_partner(self):
        # As the worker calls it: a superuser environment of no particular company.
        Call = self.env["threecx.call"]
        ids_a = Call._sync_from_3cx(self.server, [self.view("8101")])
        ids_b = Call._sync_from_3cx(self.server_b, [self.view("8101")])
        call_a, call_b = Call.browse(ids_a["8101"]), Call.browse(ids_b["8101"])
        self.assertEqual((call_a.company_id, call_a.partner_id), (self.company_a, self.pat_a))
        self.assertEqual((call_b.company_id, call_b.partner_id), (self.company_b, self.pat_b))
        self.assertFalse(call_b.candidate_partner_ids)

    def test_report_call_finds_its_companys_partner(self):
        data = {
            "call_type": "Missed", "call_direction": "Inbound", "number": NATIONAL,
            "agent": "", "duration": "", "call_start_utc": "2026-11-25 15:00:00",
            "call_end_utc": "2026-11-25 15:00:30",
        }
        call, created = self.env["threecx.call"].sudo()._crm_report_call(self.server_b, data)
        self.assertTrue(created)
        self.assertEqual((call.company_id, call.partner_id), (self.company_b, self.pat_b))


class TestCountryChange(Realtor3cxCase):
    """A company that changes country: no partner rewritten in that transaction; the job reads
    their numbers again afterwards, in batches."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.spain, cls.france = cls.env.ref("base.es"), cls.env.ref("base.fr")
        cls.uk = cls.env.ref("base.uk")
        # Spanish mobiles typed the national way are French ones once the company moves.
        cls.company = cls.env["res.company"].create(
            {"name": "Moving Brokerage", "country_id": cls.spain.id}
        )
        cls.gb_company = cls.env["res.company"].create(
            {"name": "London Brokerage", "country_id": cls.uk.id}
        )
        Partner = cls.env["res.partner"]
        cls.partners = Partner.create([
            {"name": f"Cliente {n}", "phone": f"612 34 56 {n:02d}",
             "company_id": cls.company.id} for n in range(40)
        ])
        cls.shared = Partner.with_company(cls.company).create(
            {"name": "Shared, typed in the moving company", "mobile": "612 00 00 01"})
        cls.us_shared = Partner.create({"name": "Shared, international", "phone": "+15550108231"})
        cls.londoner = Partner.with_company(cls.gb_company).create(
            {"name": "Shared, typed in London", "phone": "020 7946 0958"})
        cls.abroad = Partner.create({
            "name": "Has a country", "phone": "612 00 00 02", "company_id": cls.company.id,
            "country_id": cls.spain.id})
        cls.listing = cls.env["realtor.property"].create(
            {"name": "Calle Mayor 1", "listing_phone": "612 00 00 03",
             "company_id": cls.company.id})

    def stored(self, records, column):
        self.env.flush_all()
        self.env.cr.execute(
            f"SELECT id, {column} FROM {records._table} WHERE id IN %s", [tuple(records.ids)])
        return dict(self.env.cr.fetchall())

    def test_changing_a_companys_country_rewrites_no_partner_in_that_transaction(self):
        # The only company in Spain (in SQL: no refresh queued for these): contacts of no
        # company written in Spain were written in it.
        others = self.env["res.company"].search([("id", "!=", self.company.id)])
        self.env.cr.execute("UPDATE res_partner SET country_id = %s WHERE id IN %s",
                            [self.uk.id, tuple(others.partner_id.ids)])
        self.env.invalidate_all()
        before = {p.id: f"+346123456{n:02d}" for n, p in enumerate(self.partners)}
        self.assertEqual(self.stored(self.partners, "phone_e164"), before)
        self.assertEqual(self.londoner.phone_e164, "+442079460958")
        self.env["ir.config_parameter"].set_param(E164_REFRESH, "")
        self.company.country_id = self.france
        self.env.flush_all()
        # Flushed, and nothing left to compute: its contacts wait for the job.
        self.assertFalse(self.env.transaction.tocompute)
        self.assertEqual(self.stored(self.partners, "phone_e164"), before)
        self.assertEqual(json.loads(self.env["ir.config_parameter"].get_param(E164_REFRESH)),
                         {str(self.company.id): {"old": "ES", "after": 0}})
        cron = self.env.ref("realtor_3cx.ir_cron_e164_refresh")
        self.assertTrue(self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]))

        # The job, in batches: each of its runs does at most one.
        runs = 1
        while self.env["res.partner"]._realtor_3cx_refresh_e164(batch_size=16):
            runs += 1
            self.assertLess(runs, 20)
        self.assertGreaterEqual(runs, 3)
        self.assertEqual(json.loads(self.env["ir.config_parameter"].get_param(E164_REFRESH)), {})
        self.env.invalidate_all()
        self.assertEqual(self.stored(self.partners, "phone_e164"),
                         {p.id: f"+336123456{n:02d}" for n, p in enumerate(self.partners)})
        self.assertEqual(self.shared.mobile_e164, "+33612000001")
        self.assertEqual(self.londoner.phone_e164, "+442079460958")  # not this change's
        self.assertEqual(self.abroad.phone_e164, "+34612000002")  # its own country
        self.assertEqual(self.us_shared.phone_e164, "+15550108231")
        self.assertEqual(self.listing.listing_phone_e164, "+33612000003")
        # And the lookup, in the company's new country, finds them by their national numbers.
        Lookup = self.env["threecx.caller.lookup"].with_company(self.company)
        found = Lookup.lookup("612 34 56 07", did="612 00 00 03")
        self.assertEqual([p["id"] for p in found["partners"]], self.partners[7].ids)
        self.assertEqual(found["e164"], "+33612345607")
        self.assertEqual(found["property_id"], self.listing.id)
        self.assertEqual([p["id"] for p in Lookup.lookup("612000001")["partners"]],
                         self.shared.ids)

    def test_contacts_of_no_company_stay_while_another_company_keeps_the_old_country(self):
        self.env["res.company"].create({"name": "Staying in Madrid", "country_id": self.spain.id})
        self.company.country_id = self.france
        while self.env["res.partner"]._realtor_3cx_refresh_e164(batch_size=500):
            pass
        self.assertEqual(self.partners[3].phone_e164, "+33612345603")
        # Another company is still in Spain: these may be its contacts, read as it reads.
        self.assertEqual(self.shared.mobile_e164, "+34612000001")
        self.assertEqual(self.us_shared.phone_e164, "+15550108231")

    def test_a_call_keeps_the_numbers_as_read_when_it_happened(self):
        server = self.env["threecx.server"].create({
            "name": "Moving PBX", "base_url": "https://pbx-m.example.com/", "client_id": "902",
            "api_secret": SECRET, "company_id": self.company.id,
        })
        call = self.env["threecx.call"].create(
            {"server_id": server.id, "call_id": "9001", "external_number": "612 00 00 09"})
        self.assertEqual(call.external_e164, "+34612000009")
        self.company.country_id = self.france
        self.env.flush_all()
        self.assertEqual(self.stored(call, "external_e164"), {call.id: "+34612000009"})
