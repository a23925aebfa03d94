# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Click-to-call checks, claims and outcomes, server side (the worker places the calls)."""

import datetime
from unittest import mock

from freezegun import freeze_time

from odoo import fields
from odoo.tests import HttpCase, tagged

from .common import Realtor3cxCase, Realtor3cxMixin

NUMBER = "+15550108401"


class TestClickToCall(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["threecx.extension"].create(
            {"server_id": cls.server.id, "number": "101", "user_id": cls.realtor.id}
        )
        cls.partner = cls.env["res.partner"].create(
            {"name": "Click Contact", "phone": NUMBER, "tz": "America/New_York"}
        )
        cls.Call = cls.env["threecx.call"].with_user(cls.realtor)

    def dial(self, number=NUMBER, user=None):
        Call = self.env["threecx.call"].with_user(user or self.realtor)
        with mock.patch.object(type(Call), "_dial_enqueue", return_value=77) as enqueue, \
                mock.patch.object(type(Call), "_dial_wait", return_value=("done", "")):
            result = Call.realtor_3cx_dial(number, "res.partner", self.partner.id)
        return result, enqueue

    @freeze_time("2026-11-25 15:00:00")  # 10:00 in New York
    def test_a_realtor_dials_from_their_own_extension(self):
        result, enqueue = self.dial("(555) 010-8401")
        self.assertTrue(result["ok"], result)
        extension, destination = enqueue.call_args.args
        self.assertEqual((extension.number, destination), ("101", NUMBER))
        self.assertEqual(result["request_id"], 77)

    @freeze_time("2026-11-25 15:00:00")
    def test_do_not_call_is_refused_with_the_reason(self):
        self.partner.do_not_call = True
        result, enqueue = self.dial()
        self.assertFalse(result["ok"])
        self.assertIn("Click Contact is on the do-not-call list", result["message"])
        self.assertFalse(result["tel"])  # no tel: link around the rule
        enqueue.assert_not_called()

    @freeze_time("2026-11-26 03:30:00")  # 22:30 in New York
    def test_outside_the_contacts_calling_window(self):
        result, enqueue = self.dial()
        self.assertFalse(result["ok"])
        self.assertIn("It is 22:30 for Click Contact (America/New_York)", result["message"])
        self.assertFalse(result["tel"])
        enqueue.assert_not_called()

    def test_invalid_numbers_and_users_without_an_extension(self):
        result, _ = self.dial("call me maybe")
        self.assertIn("is not a phone number", result["message"])
        result, _ = self.dial(user=self.manager)
        self.assertIn("You have no 3CX extension", result["message"])

    def test_a_worker_that_does_not_answer_is_reported(self):
        Call = self.env["threecx.call"].with_user(self.realtor)
        message = "The telephony service did not answer"
        with mock.patch.object(type(Call), "_dial_enqueue", return_value=78), \
                mock.patch.object(type(Call), "_dial_wait", return_value=("failed", message)):
            with freeze_time("2026-11-25 15:00:00"):
                result = Call.realtor_3cx_dial(NUMBER)
        self.assertEqual((result["ok"], result["message"]), (False, message))
        # Allowed by the rules, not placed: the realtor may use their own phone.
        self.assertEqual(result["tel"], f"tel:{NUMBER}")

    def test_session_tells_the_browser_its_line(self):
        session = self.Call.realtor_3cx_session()
        self.assertEqual(session["extension"], "101")
        self.assertFalse(session["is_manager"])
        self.assertIsInstance(session["bus_last_id"], int)

    def test_first_claim_wins_a_team_call(self):
        call = self.env["threecx.call"].create(
            {"server_id": self.server.id, "call_id": "c-claim", "state": "ringing",
             "external_number": NUMBER}
        )
        other = self.env["res.users"].create(
            {"name": "Other Realtor", "login": "other_r3cx",
             "groups_id": [(6, 0, [self.env.ref("realtor_3cx.realtor_3cx_group_user").id])]}
        )
        first = call.with_user(self.realtor).action_claim()
        second = call.with_user(other).action_claim()
        self.assertTrue(first["ok"])
        self.assertFalse(second["ok"])
        self.assertIn("took this call already", second["message"])
        self.assertEqual(call.user_id, self.realtor)

    def test_an_outcome_plans_the_follow_up_it_implies(self):
        # The realtor's day is not UTC's (UTC+14 from 10:00 UTC, UTC-11 before 11:00): the
        # follow-up is due two days after *their* today.
        utc_day = datetime.datetime.now(datetime.timezone.utc).date()
        self.realtor.tz = next(
            tz for tz in ("Pacific/Kiritimati", "Pacific/Pago_Pago")
            if fields.Date.context_today(self.realtor.with_context(tz=tz)) != utc_day)
        call = self.env["threecx.call"].create(
            {"server_id": self.server.id, "call_id": "c-outcome", "state": "completed",
             "user_id": self.realtor.id, "partner_id": self.partner.id,
             "external_number": NUMBER}
        )
        showing = self.env.ref("realtor_3cx.threecx_outcome_showing_booked")
        call.with_user(self.realtor).write({"outcome_id": showing.id, "notes": "Sat 10:00"})
        activity = self.partner.activity_ids
        self.assertEqual(activity.activity_type_id,
                         self.env.ref("realtor_3cx.mail_activity_type_showing"))
        self.assertEqual(activity.user_id, self.realtor)
        self.assertEqual(activity.summary, "Showing with Click Contact")
        self.assertEqual(activity.date_deadline,
                         fields.Date.context_today(self.realtor.with_context(tz=self.realtor.tz))
                         + datetime.timedelta(days=2))
        call.with_user(self.realtor).write({"outcome_id": showing.id})  # unchanged
        not_interested = self.env.ref("realtor_3cx.threecx_outcome_not_interested")
        call.with_user(self.realtor).write({"outcome_id": not_interested.id})  # nothing implied
        self.assertEqual(len(self.partner.activity_ids), 1)


@tagged("post_install", "-at_install")
class TestClickToCallTour(HttpCase, Realtor3cxMixin):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_realtor_3cx()
        cls.env["threecx.extension"].create(
            {"server_id": cls.server.id, "number": "101", "user_id": cls.realtor.id}
        )
        cls.partner = cls.env["res.partner"].create({"name": "Tour Contact", "phone": NUMBER})

    def test_click_to_call_tour(self):
        Call = type(self.env["threecx.call"])
        with mock.patch.object(Call, "_dial_enqueue", return_value=79), \
                mock.patch.object(Call, "_dial_wait", return_value=("done", "")):
            self.start_tour(
                f"/odoo/action-contacts.action_contacts/{self.partner.id}",
                "realtor_3cx_click_to_call_tour",
                login="r3cx_realtor",
            )
