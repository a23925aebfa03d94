# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The consent ledger: append-only, do-not-call is its state, and a realtor's opt-out stops
the very next call on every outbound path."""

import datetime
import importlib.util
from pathlib import Path

from freezegun import freeze_time

from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, HttpCase, JsonRpcException, tagged

from .common import Realtor3cxCase, Realtor3cxMixin

NUMBER = "+15550108901"  # the fictional 555 range: no calling window holds it
NOON_NY = datetime.datetime(2026, 11, 25, 17, 0)


class TestConsentLedger(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["threecx.extension"].create(
            {"server_id": cls.server.id, "number": "101", "user_id": cls.realtor.id}
        )
        cls.contact = cls.env["res.partner"].create({"name": "Opal Optout", "phone": NUMBER})

    def opt_out(self, user=None):
        self.contact.with_user(user or self.realtor).action_realtor_3cx_record_opt_out()

    def test_a_realtor_records_an_opt_out_and_cannot_undo_it(self):
        self.assertFalse(self.contact.do_not_call)
        self.opt_out()
        self.assertTrue(self.contact.do_not_call)
        entry = self.contact.threecx_consent_ids
        self.assertEqual((entry.kind, entry.channel, entry.how, entry.user_id),
                         ("revoked", "phone", "realtor", self.realtor))
        # Unticking, granting, or a consent entry by RPC: refused.
        writer = self.contact.with_user(self.realtor)
        with self.assertRaises(AccessError):  # no Contact Creation: no partner write at all
            writer.write({"do_not_call": False})
        with self.assertRaises(AccessError):
            writer._realtor_3cx_record_consent("manager", note="they said yes")
        with self.assertRaises(AccessError):
            self.env["threecx.consent"].with_user(self.realtor).create({
                "partner_id": self.contact.id, "kind": "granted", "how": "realtor",
                "note": "x"})
        # Even the administrator does not untick it: a consent is an entry with evidence.
        with self.assertRaises(UserError):
            self.contact.with_user(self.admin).write({"do_not_call": False})
        self.assertTrue(self.contact.do_not_call)

    def test_no_one_edits_or_deletes_the_ledger(self):
        self.opt_out()
        entry = self.contact.threecx_consent_ids
        for user in (self.realtor, self.manager, self.admin):
            with self.subTest(user=user.login):
                mine = entry.with_user(user)
                self.assertEqual(mine.read(["kind"])[0]["kind"], "revoked")
                with self.assertRaises(UserError):
                    mine.write({"kind": "granted"})
                with self.assertRaises(UserError):
                    mine.unlink()
        self.assertEqual(entry.exists().kind, "revoked")

    def test_a_manager_records_a_consent_with_its_evidence(self):
        self.opt_out()
        action = self.contact.with_user(self.manager).action_realtor_3cx_record_consent()
        wizard = Form(self.env[action["res_model"]].with_user(self.manager).with_context(
            **action["context"]))
        with self.assertRaises(AssertionError):
            wizard.save()  # the note is required
        wizard.note = "Signed the listing agreement's call consent on 2026-11-25."
        wizard.save().action_record()
        self.assertFalse(self.contact.do_not_call)
        latest = self.contact.threecx_consent_ids[0]
        self.assertEqual((latest.kind, latest.how, latest.user_id),
                         ("granted", "manager", self.manager))
        self.assertEqual(len(self.contact.threecx_consent_ids), 2)  # history kept
        with self.assertRaises(UserError):
            self.contact.with_user(self.manager)._realtor_3cx_record_consent("manager")

    def test_the_helper_for_spoken_opt_outs(self):
        call = self.env["threecx.call"].create({
            "server_id": self.server.id, "call_id": "c-1", "partner_id": self.contact.id,
            "external_number": NUMBER})
        entries = self.contact.with_user(self.manager)._realtor_3cx_record_revocation(
            "transcript", call=call, excerpt="please stop calling me")
        self.assertEqual((entries.how, entries.call_id, entries.excerpt, entries.user_id),
                         ("transcript", call, "please stop calling me", self.manager))
        self.assertTrue(self.contact.do_not_call)

    def test_ticking_the_box_records_the_opt_out(self):
        partner = self.env["res.partner"].create({"name": "Ticked", "do_not_call": True})
        self.assertEqual(partner.threecx_consent_ids.mapped("kind"), ["revoked"])
        partner.do_not_call = True  # already so: no second entry
        self.assertEqual(len(partner.threecx_consent_ids), 1)

    def test_a_realtor_reads_the_entries_of_contacts_they_read(self):
        self.opt_out()
        other = self.env["res.company"].create({"name": "Other Brokerage"})
        hidden = self.env["res.partner"].create(
            {"name": "Hidden", "company_id": other.id, "do_not_call": True})
        Consent = self.env["threecx.consent"].with_user(self.realtor)
        mine = Consent.search([("partner_id", "in", (self.contact | hidden).ids)])
        self.assertEqual(mine.partner_id, self.contact)
        with self.assertRaises(AccessError):
            hidden.threecx_consent_ids.with_user(self.realtor).read(["kind"])

    @freeze_time(NOON_NY)
    def test_the_phone_blacklist_is_do_not_call(self):
        # A number phonenumbers holds valid (the blacklist keeps only those), of no contact.
        listed = "+12127363100"
        block = self.env["res.partner"].with_user(self.realtor)._realtor_3cx_outbound_block
        self.assertEqual(block(listed), (listed, False))
        self.env["phone.blacklist"].sudo().add(listed)
        self.assertIn("+12127363100 is on the phone blacklist", block("(212) 736-3100")[1])
        # The CRM template's flagging asks the same rule.
        self.assertEqual(self.contact._realtor_3cx_restriction(listed)["kind"], "do_not_call")
        self.env["phone.blacklist"].sudo().remove(listed)
        self.assertEqual(block(listed), (listed, False))

    def test_the_migration_turns_old_flags_into_import_entries(self):
        # As the 18.0.1.0.0 schema had it: a plain column, ticked, with no ledger entry.
        self.env.flush_all()
        self.env.cr.execute("UPDATE res_partner SET do_not_call = true WHERE id = %s",
                            [self.contact.id])
        migrations = Path(__file__).parent.parent / "migrations" / "18.0.1.1.0"
        for step in ("pre-migrate", "post-migrate"):
            spec = importlib.util.spec_from_file_location(step, migrations / f"{step}.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            module.migrate(self.env.cr, "18.0.1.0.0")
        self.env.invalidate_all()
        entry = self.contact.threecx_consent_ids
        self.assertEqual((entry.kind, entry.how), ("revoked", "import"))
        self.assertTrue(self.contact.do_not_call)
        self.env.cr.execute("SELECT to_regclass('realtor_3cx_do_not_call_before_ledger')")
        self.assertIsNone(self.env.cr.fetchone()[0])

    def dial(self, number, res_model, res_id):
        Request = self.env["threecx.dial.request"]
        before = Request.search([])
        self.registry.enter_test_mode(self.cr)
        try:
            result = self.env["threecx.call"].with_user(self.realtor).realtor_3cx_dial(
                number, res_model, res_id)
        finally:
            self.registry.leave_test_mode()
        return result, Request.search([]) - before

    @freeze_time(NOON_NY)
    def test_the_opt_out_stops_the_next_click_to_call_in_the_same_second(self):
        result, queued = self.dial(NUMBER, "res.partner", self.contact.id)
        self.assertEqual(result["state"], "pending", result)
        self.opt_out()
        result, queued = self.dial(NUMBER, "res.partner", self.contact.id)
        self.assertEqual((result["ok"], result["state"]), (False, "refused"))
        self.assertIn("Opal Optout is on the do-not-call list", result["message"])
        self.assertFalse(queued)

    @freeze_time(NOON_NY)
    def test_the_opt_out_stops_the_missed_call_call_back(self):
        missed = self.env["threecx.call"].create({
            "server_id": self.server.id, "call_id": "m-1", "state": "missed",
            "user_id": self.realtor.id, "external_number": NUMBER,
            "partner_id": self.contact.id})
        self.opt_out()
        result, queued = self.dial(NUMBER, "threecx.call", missed.id)
        self.assertEqual(result["state"], "refused")
        self.assertIn("do-not-call", result["message"])
        self.assertFalse(queued)

    @freeze_time(NOON_NY)
    def test_a_call_placed_after_the_opt_out_is_flagged_by_the_crm_template(self):
        self.opt_out()
        call, _created = self.env["threecx.call"].sudo()._crm_report_call(self.server, {
            "call_type": "Outbound", "call_direction": "Outbound", "number": NUMBER,
            "agent": "101", "duration": "00:00:30", "call_start_utc": "2026-11-25 17:00:00",
            "call_established_utc": "2026-11-25 17:00:05",
            "call_end_utc": "2026-11-25 17:00:35"})
        self.assertEqual(call.compliance_issue, "do_not_call")
        self.assertIn("Opal Optout is on the do-not-call list", call.compliance_note)


@tagged("post_install", "-at_install")
class TestConsentHttp(HttpCase, Realtor3cxMixin):
    """As the browser and an RPC client reach the server."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_realtor_3cx()
        cls.env["threecx.extension"].create(
            {"server_id": cls.server.id, "number": "101", "user_id": cls.realtor.id}
        )
        cls.contact = cls.env["res.partner"].create({"name": "Opal Optout", "phone": NUMBER})

    def call_kw(self, model, method, args, kwargs=None):
        return self.make_jsonrpc_request("/web/dataset/call_kw", {
            "model": model, "method": method, "args": args, "kwargs": kwargs or {}})

    def test_the_ledger_cannot_be_edited_through_json_rpc(self):
        self.authenticate("r3cx_realtor", "r3cx_realtor")
        self.call_kw("res.partner", "action_realtor_3cx_record_opt_out", [[self.contact.id]])
        entry = self.contact.threecx_consent_ids
        self.assertEqual(entry.kind, "revoked")
        for login in ("r3cx_realtor", "r3cx_manager", "admin"):
            self.authenticate(login, login)
            with self.subTest(login=login):
                with self.assertRaises(JsonRpcException):
                    self.call_kw("threecx.consent", "write", [entry.ids, {"kind": "granted"}])
                with self.assertRaises(JsonRpcException):
                    self.call_kw("threecx.consent", "unlink", [entry.ids])
                with self.assertRaises(JsonRpcException):
                    self.call_kw("res.partner", "write", [self.contact.ids,
                                                          {"do_not_call": False}])
        self.assertEqual(entry.exists().kind, "revoked")
        self.assertTrue(self.contact.do_not_call)

    def test_the_opt_out_stops_the_next_browser_call(self):
        self.authenticate("r3cx_realtor", "r3cx_realtor")
        self.call_kw("res.partner", "action_realtor_3cx_record_opt_out", [[self.contact.id]])
        Session = self.env["threecx.softphone.session"]
        before = Session.search_count([])
        result = self.make_jsonrpc_request(
            "/realtor_3cx/softphone/offer", {"sdp": "v=0\r\n", "destination": NUMBER})
        self.assertFalse(result["ok"])
        self.assertIn("Opal Optout is on the do-not-call list", result["message"])
        self.assertEqual(Session.search_count([]), before)
