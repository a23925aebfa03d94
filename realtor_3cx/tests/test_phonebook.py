# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""3CX's company phonebook kept in step with the contacts: what is synced, the plan, the
record of what 3CX did, what the form says.

3CX is an in-memory stand-in with the client's methods here (the worker and the simulator are
tested end to end in tests/test_phonebook_e2e.py); each run goes as the worker's does
(``worker/phonebook.py``): claim, plan, send (``threecx/phonebook.apply``), record, done.
"""

import itertools

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user

from ..threecx import phonebook
from ..threecx.errors import ForbiddenError, InvalidRequestError, NotFoundError
from .common import Realtor3cxCase


class FakePbx:
    """The phonebook part of the XAPI client, in memory; refuses a contact without a name."""

    def __init__(self):
        self.contacts = {}
        self.ids = itertools.count(1)
        self.requests = 0
        self.refuse_all = None

    def _request(self):
        self.requests += 1
        if self.refuse_all:
            raise self.refuse_all

    def create_contact(self, body):
        self._request()
        if not body.get("FirstName"):
            raise InvalidRequestError(400, "A contact needs a first name")
        contact = {**body, "Id": next(self.ids)}
        self.contacts[contact["Id"]] = contact
        return contact

    def update_contact(self, contact_id, body):
        self._request()
        if contact_id not in self.contacts:
            raise NotFoundError(404, "not found")
        if not body.get("FirstName"):
            raise InvalidRequestError(400, "A contact needs a first name")
        self.contacts[contact_id].update(body)

    def delete_contact(self, contact_id):
        self._request()
        if self.contacts.pop(contact_id, None) is None:
            raise NotFoundError(404, "not found")

    def delete_contacts(self, ids):
        self._request()
        for contact_id in ids:
            self.contacts.pop(contact_id, None)

    def names(self):
        return sorted(c["FirstName"] for c in self.contacts.values())


class TestPhonebook(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server.phonebook_sync = True
        cls.other_company = cls.env["res.company"].create({"name": "Other Brokerage"})
        Partner = cls.env["res.partner"]
        cls.own = Partner.create({"name": "Olivia Own", "phone": "+1 212 555 0101",
                                  "company_id": cls.env.company.id})
        cls.shared = Partner.create({"name": "Sam Shared", "mobile": "(212) 555-0102"})
        cls.foreign = Partner.create({"name": "Fiona Foreign", "phone": "+12125550103",
                                      "company_id": cls.other_company.id})
        cls.no_phone = Partner.create({"name": "Nora Nophone", "email": "nora@example.com"})
        cls.archived = Partner.create({"name": "Arch Archived", "phone": "+12125550104",
                                       "active": False})

    def setUp(self):
        super().setUp()
        self.pbx = FakePbx()  # 3CX's phonebook outlives no test: each starts empty

    def run_sync(self, force=False, threads=2):
        """One run, as the worker makes it; returns the counts (None: nothing planned)."""
        server = self.server
        server.invalidate_recordset()
        due, forced = server._phonebook_claim()
        if not due:
            return None
        changes, fingerprint = server._phonebook_plan(force=force or forced)
        if changes is None:
            return None
        results, fatal = phonebook.apply(self.pbx, changes, threads=threads)
        counts = server._phonebook_record(results)
        server._phonebook_done(counts, fingerprint,
                               phonebook.problem(fatal) if fatal is not None else None,
                               sent=bool(changes))
        return counts

    def changed(self):
        """In a test everything is one transaction (one write date): forget the watermark,
        as a later transaction's write date would make it stale."""
        self.server._phonebook_status().fingerprint = False

    def synced_names(self):
        return [n for n in self.pbx.names() if n in {
            "Olivia Own", "Sam Shared", "Fiona Foreign", "Nora Nophone", "Arch Archived",
            "Olivia Renamed", "Newton New"}]

    def test_what_is_synced_the_companys_and_shared_contacts_with_a_phone(self):
        counts = self.run_sync()
        self.assertEqual(self.synced_names(), ["Olivia Own", "Sam Shared"])
        self.assertGreaterEqual(counts["created"], 2)
        olivia = next(c for c in self.pbx.contacts.values() if c["FirstName"] == "Olivia Own")
        # E.164, what 3CX compares caller ids with; the business number is the phone.
        self.assertEqual(olivia["Business"], "+12125550101")
        sam = next(c for c in self.pbx.contacts.values() if c["FirstName"] == "Sam Shared")
        self.assertEqual(sam["PhoneNumber"], "+12125550102")
        # Contacts of internal users are 3CX extensions already.
        self.assertNotIn(self.admin.partner_id.id,
                         self.env["threecx.phonebook.entry"].search([]).partner_id.ids)
        self.assertEqual(self.server.phonebook_count, len(self.pbx.contacts))
        # "This company's only": the shared contact goes.
        self.server.phonebook_scope = "company"
        counts = self.run_sync()
        self.assertEqual(self.synced_names(), ["Olivia Own"])
        self.assertGreaterEqual(counts["deleted"], 1)

    def test_a_second_run_changes_nothing_and_sends_nothing(self):
        self.run_sync()
        before = self.pbx.requests
        self.assertIsNone(self.run_sync())  # the watermark: nothing written since
        self.assertEqual(self.run_sync(force=True), {
            "created": 0, "updated": 0, "deleted": 0, "refused": 0})  # nothing differs
        self.assertEqual(self.pbx.requests, before)
        self.assertIn("0 added, 0 changed, 0 removed, 0 refused", self.server.phonebook_summary)

    def test_the_watermark_sees_new_written_and_deleted_contacts(self):
        self.run_sync()
        self.assertIsNone(self.server._phonebook_plan()[0])
        new = self.env["res.partner"].create({"name": "Newton New", "phone": "+12125550105"})
        changes = self.server._phonebook_plan()[0]
        self.assertEqual([(c.kind, c.key) for c in changes], [("create", new.id)])
        self.run_sync()
        # A later transaction's write (its write date is later than every other).
        self.env.cr.execute("UPDATE res_partner SET write_date = now() + interval '1 second' "
                            "WHERE id = %s", [self.shared.id])
        self.assertEqual(self.server._phonebook_plan()[0], [])
        new.unlink()
        changes = self.server._phonebook_plan()[0]
        self.assertEqual([c.kind for c in changes], ["delete"])

    def test_created_renamed_renumbered_archived_deleted(self):
        self.run_sync()
        entry = self.env["threecx.phonebook.entry"].search([("partner_id", "=", self.own.id)])
        contact_id = entry.contact_id
        self.assertTrue(contact_id)
        self.own.name = "Olivia Renamed"
        self.changed()
        self.assertEqual(self.run_sync()["updated"], 1)
        self.assertEqual(self.pbx.contacts[contact_id]["FirstName"], "Olivia Renamed")
        self.own.phone = "+1 212 555 0199"
        self.changed()
        self.run_sync()
        self.assertEqual(self.pbx.contacts[contact_id]["Business"], "+12125550199")
        self.own.action_archive()
        self.changed()
        self.assertEqual(self.run_sync()["deleted"], 1)
        self.assertNotIn(contact_id, self.pbx.contacts)
        self.assertFalse(entry.exists())
        self.own.action_unarchive()
        self.changed()
        self.run_sync()
        entry = self.env["threecx.phonebook.entry"].search([("partner_id", "=", self.own.id)])
        self.assertNotEqual(entry.contact_id, contact_id)  # a new contact in 3CX
        self.own.unlink()
        self.changed()
        self.assertEqual(self.run_sync()["deleted"], 1)
        self.assertFalse(entry.exists())
        self.assertEqual(self.synced_names(), ["Sam Shared"])

    def test_a_phone_removed_or_a_move_to_another_company_removes_it(self):
        self.run_sync()
        self.shared.mobile = False
        self.own.company_id = self.other_company
        self.changed()
        self.assertEqual(self.run_sync()["deleted"], 2)
        self.assertEqual(self.synced_names(), [])

    def test_a_contact_deleted_in_3cx_is_made_again_on_its_next_change(self):
        self.run_sync()
        entry = self.env["threecx.phonebook.entry"].search([("partner_id", "=", self.own.id)])
        del self.pbx.contacts[entry.contact_id]
        self.own.name = "Olivia Renamed"
        self.changed()
        self.run_sync()
        self.assertIn("Olivia Renamed", self.synced_names())
        self.assertIn(entry.contact_id, self.pbx.contacts)

    def test_a_refused_contact_is_said_on_the_form_and_not_sent_again_until_it_changes(self):
        # 3CX refuses one contact (the simulator's reasons are tested with it).
        original = self.pbx.create_contact

        def refuse_sam(body):
            if body["FirstName"] == "Sam Shared":
                raise InvalidRequestError(400, "The phone number is not valid")
            return original(body)

        self.pbx.create_contact = refuse_sam
        counts = self.run_sync()
        self.assertEqual(counts["refused"], 1)
        self.assertIn("Olivia Own", self.synced_names())
        self.assertIn("3CX refused 1 contact(s)", self.server.phonebook_error)
        self.assertIn("Sam Shared: The phone number is not valid", self.server.phonebook_error)
        before = self.pbx.requests
        self.changed()
        self.assertEqual(self.run_sync()["refused"], 0)
        self.assertEqual(self.pbx.requests, before)  # not sent again: unchanged
        self.assertIn("Sam Shared", self.server.phonebook_error)  # still said
        # Sync now sends it again; 3CX accepts it now.
        self.pbx.create_contact = original
        self.server.action_phonebook_sync()
        self.run_sync()
        self.assertIn("Sam Shared", self.synced_names())
        self.assertFalse(self.server.phonebook_error)

    def test_a_refusal_of_everything_stops_the_run_and_says_why(self):
        self.pbx.refuse_all = ForbiddenError(403, "Forbidden")
        self.run_sync()
        self.assertIn("Configuration API", self.server.phonebook_error)
        self.assertIn("Integrations > API", self.server.phonebook_error)
        # all planned again next time
        self.assertFalse(self.server._phonebook_status().fingerprint)
        # A run with nothing to send still says it: nothing showed 3CX takes requests again.
        self.server._phonebook_done({"created": 0, "updated": 0, "deleted": 0, "refused": 0},
                                    "x", None, sent=False)
        self.assertIn("Configuration API", self.server.phonebook_error)
        self.pbx.refuse_all = None
        self.run_sync()
        self.assertEqual(self.synced_names(), ["Olivia Own", "Sam Shared"])
        self.assertFalse(self.server.phonebook_error)

    def test_sync_now_and_the_switch(self):
        realtor_server = self.server.with_user(self.realtor)
        with self.assertRaises(AccessError):
            realtor_server.action_phonebook_sync()
        self.server.phonebook_sync = False
        with self.assertRaises(UserError):
            self.server.action_phonebook_sync()
        self.assertEqual(self.server._phonebook_claim(), (False, False))
        self.assertIsNone(self.run_sync())
        self.server.phonebook_sync = True
        action = self.server.action_phonebook_sync()
        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(self.server._phonebook_claim(), (True, True))
        self.assertEqual(self.server._phonebook_claim(), (True, False))  # taken once

    def test_entries_are_the_admins_of_the_servers_company_only(self):
        self.run_sync()
        Entry = self.env["threecx.phonebook.entry"]
        self.assertTrue(Entry.with_user(self.admin).search_count([]))
        with self.assertRaises(AccessError):
            Entry.with_user(self.realtor).search([])
        other_admin = new_test_user(self.env, login="r3cx_other_admin",
                                    groups="base.group_system",
                                    company_id=self.other_company.id,
                                    company_ids=[self.other_company.id])
        self.assertFalse(Entry.with_user(other_admin).search_count([]))

    def test_the_form_shows_the_phonebook_page(self):
        arch = self.env["threecx.server"].get_views([(False, "form")])["views"]["form"]["arch"]
        for name in ("phonebook_sync", "phonebook_scope", "phonebook_summary",
                     "phonebook_error", "action_phonebook_sync"):
            self.assertIn(name, arch)
