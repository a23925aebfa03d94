# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Proof of the calling rules (threecx_compliance.py): every refused outbound attempt leaves a
row, on every path; who reads the rows; the compliance report's figures; recordings held
until the callee's consent where their calling rule needs it."""

import datetime

from freezegun import freeze_time

from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, new_test_user, tagged

from ..controllers.crm_template import reset_rate_limits
from .common import Realtor3cxMixin
from .test_calling_rules import FLORIDA, MANHATTAN, SAN_FRANCISCO, CallingRulesCase, ny
from .test_recordings import wav

FL_RULE = "Florida (Fla. Stat. 501.059(8), as amended 2023)"


class ComplianceCase(CallingRulesCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other = new_test_user(
            cls.env, login="r3cx_audit_other", groups="realtor_3cx.realtor_3cx_group_user"
        )
        cls.env["threecx.extension"].create(
            {"server_id": cls.server.id, "number": "102", "user_id": cls.other.id}
        )
        cls.Attempt = cls.env["threecx.blocked.attempt"]

    def logged(self):
        return self.Attempt.search([], order="id")


class TestBlockedAttempts(ComplianceCase):
    @freeze_time(ny(25, 7, 59))
    def test_click_to_call_and_call_back_refusals_are_logged_not_allowed_calls(self):
        result, _queued = self.dial(FLORIDA, "res.partner", self.florida.id)
        self.assertEqual(result["state"], "refused")
        row = self.logged()
        self.assertEqual(len(row), 1)
        self.assertEqual(
            (row.path, row.reason, row.user_id, row.partner_id, row.number, row.rule_label),
            ("click_to_call", "calling_window", self.realtor, self.florida, FLORIDA, FL_RULE),
        )
        self.assertEqual(row.rule_id, self.env.ref("realtor_3cx.calling_rule_us_fl"))
        self.assertEqual(row.message, result["message"])
        self.assertEqual(row.attempted_at, datetime.datetime.now())
        # A call back from a missed call of a do-not-call contact.
        self.manhattan.do_not_call = True
        missed = self.env["threecx.call"].create({
            "server_id": self.server.id, "call_id": "missed-1", "direction": "inbound",
            "state": "missed", "external_number": MANHATTAN, "partner_id": self.manhattan.id,
            "start_at": ny(24, 12), "user_id": self.realtor.id,
        })
        result, _queued = self.dial(MANHATTAN, "threecx.call", missed.id)
        self.assertEqual(result["state"], "refused")
        row = self.logged()[-1]
        self.assertEqual((row.path, row.reason, row.partner_id, row.rule_id.id),
                         ("call_back", "do_not_call", self.manhattan, False))
        # Allowed (08:00 in Miami) and invalid numbers place or refuse nothing to log.
        with freeze_time(ny(25, 8, 0)):
            result, queued = self.dial(FLORIDA, "res.partner", self.florida.id)
            self.assertEqual(result["state"], "pending", result)
        self.dial("12", "res.partner", self.florida.id)
        self.assertEqual(len(self.logged()), 2)
        # The check alone (what a list's warning or the bench asks) logs nothing.
        self.Partner._realtor_3cx_outbound_block(FLORIDA)
        self.assertEqual(len(self.logged()), 2)

    @freeze_time(ny(25, 12, 0))
    def test_browser_calls_and_transfers_over_the_cap_are_logged(self):
        hour = datetime.timedelta(hours=1)
        self.outbound_calls(FLORIDA, *(ny(25, 12, 0) - n * hour for n in (3, 2, 1)))
        Session = self.env["threecx.softphone.session"].with_user(self.realtor)
        with self.assertRaisesRegex(UserError, "This would be call 4"):
            Session._start(FLORIDA)
        with self.assertRaisesRegex(UserError, "This would be call 4"):
            self.env["threecx.call"].with_user(self.realtor)._dial_transfer_target(
                self.server, "3055550147")
        self.assertEqual([(r.path, r.reason, r.user_id) for r in self.logged()],
                         [("browser_call", "attempt_cap", self.realtor),
                          ("transfer", "attempt_cap", self.realtor)])

    def test_realtors_read_their_own_refusals_managers_everyones_nobody_writes(self):
        mine, theirs = (self.Attempt.with_user(user)._realtor_3cx_log(
            "click_to_call", FLORIDA, self.florida._realtor_3cx_restriction(
                FLORIDA, ny(25, 7, 0))) for user in (self.realtor, self.other))
        self.assertEqual((mine.user_id, theirs.user_id), (self.realtor, self.other))
        self.assertEqual(self.Attempt.with_user(self.realtor).search([]), mine)
        self.assertEqual(self.Attempt.with_user(self.other).search([]), theirs)
        with self.assertRaises(AccessError):
            theirs.with_user(self.realtor).read(["message"])
        self.assertEqual(self.Attempt.with_user(self.manager).search([]), mine | theirs)
        for user in (self.realtor, self.manager):
            for operation in (
                lambda row: row.write({"message": "nothing happened"}),
                lambda row: row.unlink(),
                lambda row: row.create({"number": FLORIDA, "path": "dialer",
                                        "reason": "do_not_call"}),
            ):
                with self.assertRaises(AccessError):
                    operation(mine.with_user(user))
        # The report is the managers'.
        Report = self.env["threecx.compliance.report"]
        self.assertEqual(Report.with_user(self.manager).search_count([("kind", "=", "blocked")]),
                         2)
        with self.assertRaises(AccessError):
            Report.with_user(self.realtor).search([])

    @freeze_time(ny(25, 7, 0))
    def test_the_report_counts_refusals_warned_calls_and_held_recordings(self):
        early = self.florida._realtor_3cx_restriction(FLORIDA, ny(25, 7, 0))
        self.manhattan.do_not_call = True
        dnc = self.manhattan._realtor_3cx_restriction(MANHATTAN)
        Attempt = self.Attempt
        for user, path, restriction, number in (
            (self.realtor, "click_to_call", early, FLORIDA),
            (self.realtor, "browser_call", early, FLORIDA),
            (self.realtor, "call_back", dnc, MANHATTAN),
            (self.other, "click_to_call", dnc, MANHATTAN),
        ):
            Attempt.with_user(user)._realtor_3cx_log(path, number, restriction)
        warned, held, _fine = self.outbound_calls(FLORIDA, ny(24, 6), ny(24, 12), ny(24, 13))
        warned._crm_flag_compliance(self.florida, FLORIDA)
        held.write({"recording_state": "held", "recording_error": "Not fetched: consent"})
        self.assertEqual(warned.compliance_issue, "calling_window")
        Report = self.env["threecx.compliance.report"].with_user(self.manager)
        by_reason_user = {
            (reason, user.id): (blocked, placed)
            for reason, user, blocked, placed in Report._read_group(
                [("kind", "in", ("blocked", "placed"))], ["reason", "user_id"],
                ["blocked:sum", "placed:sum"])
        }
        self.assertEqual(by_reason_user, {
            ("calling_window", self.realtor.id): (2, 1),
            ("do_not_call", self.realtor.id): (1, 0),
            ("do_not_call", self.other.id): (1, 0),
        })
        totals = Report._read_group([], [], ["blocked:sum", "placed:sum", "held:sum"])[0]
        self.assertEqual(totals, (4, 1, 1))
        row = Report.search([("kind", "=", "recording_held")])
        self.assertEqual((row.phone_call_id, row.message), (held, "Not fetched: consent"))
        # Exportable as any list.
        exported = Report.search([("kind", "=", "placed")]).export_data(
            ["date", "kind", "reason", "user_id", "number", "message"])["datas"]
        self.assertEqual(exported[0][1:5], ["Placed against a warning", "Outside calling hours",
                                            self.realtor.name, FLORIDA])


class TestRecordingConsent(CallingRulesCase):
    """California needs everyone's consent to record (the seeded rule); Florida does not."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server.record_calls = True

    def recorded_call(self, number):
        """An answered outbound call to ``number`` that just ended (as the worker logs it)."""
        call = self.outbound_calls(number, datetime.datetime.now())
        call.answer_at = call.start_at
        call._recording_on_transition("connected")
        return call

    def test_a_recording_waits_for_consent_where_the_rule_needs_it(self):
        call = self.recorded_call(SAN_FRANCISCO)
        self.assertEqual(call.recording_state, "held")
        self.assertIn("needs the consent of", call.recording_error)
        self.assertIn("California", call.recording_error)
        self.assertNotIn(call, self.env["threecx.call"]._recording_due(self.server))
        self.assertEqual(self.recorded_call(FLORIDA).recording_state, "pending")
        # The realtor records the consent: the worker may fetch it now.
        call.with_user(self.realtor).recording_consent = "announced"
        self.assertEqual((call.recording_state, call.recording_error), ("pending", False))
        self.assertIn(call, self.env["threecx.call"]._recording_due(self.server))
        self.assertTrue(call._recording_store(wav(), 7))
        self.assertEqual(call.recording_state, "fetched")
        # Taken back: the audio goes.
        call.with_user(self.realtor).recording_consent = "unknown"
        self.assertEqual(call.recording_state, "deleted")
        self.assertFalse(call.recording_attachment_id)

    def test_a_download_under_way_is_not_kept_once_consent_is_taken_back(self):
        call = self.recorded_call(SAN_FRANCISCO)
        call.recording_consent = "given"
        self.assertEqual(call.recording_state, "pending")
        call.recording_consent = "unknown"
        self.assertEqual(call.recording_state, "held")
        call.recording_state = "pending"  # the worker had read it as due
        self.assertFalse(call._recording_store(wav(), 8))
        self.assertEqual(call.recording_state, "held")
        self.assertFalse(call.recording_attachment_id)


@tagged("post_install", "-at_install")
class TestBlockedAttemptsHttp(HttpCase, Realtor3cxMixin):
    """Refusals answered over HTTP survive the request: the softphone's and the 3CX lookup's."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_realtor_3cx()
        cls.env["threecx.extension"].create(
            {"server_id": cls.server.id, "number": "101", "user_id": cls.realtor.id}
        )
        cls.dnc = cls.env["res.partner"].create(
            {"name": "Never Florida", "phone": FLORIDA, "do_not_call": True})
        cls.key = cls.server.with_user(cls.admin).action_generate_crm_key()["context"][
            "default_key"]

    def test_a_refused_browser_call_and_an_outbound_lookup_are_logged(self):
        reset_rate_limits(self.env.cr)
        self.authenticate("r3cx_realtor", "r3cx_realtor")
        result = self.make_jsonrpc_request(
            "/realtor_3cx/softphone/offer", {"sdp": "v=0\r\n", "destination": "3055550147"})
        self.assertFalse(result["ok"])
        Attempt = self.env["threecx.blocked.attempt"]
        row = Attempt.search([])
        self.assertEqual((row.path, row.reason, row.user_id, row.partner_id),
                         ("browser_call", "do_not_call", self.realtor, self.dnc))
        self.assertEqual(row.message, result["message"])
        # 3CX asks who an outbound number is before dialling it: warned, and logged (3CX
        # does not say who dials); an inbound caller's lookup is no attempt.
        url = f"/realtor_3cx/crm/{self.env.cr.dbname}/{self.server.id}/lookup"
        for direction in ("Inbound", "Outbound"):
            response = self.url_open(f"{url}?number=%2B13055550147&direction={direction}",
                                     headers={"X-Api-Key": self.key})
            self.assertIn("DO NOT CALL", response.json()["contacts"][0]["first_name"])
        row = Attempt.search([]) - row
        self.assertEqual((row.path, row.reason, row.user_id.id, row.number),
                         ("crm_lookup", "do_not_call", False, FLORIDA))
