# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Click-to-call checks, claims and outcomes, server side (the worker places the calls)."""

import datetime
import uuid

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
        # The queue commits a cursor of its own so that the worker sees the row at once; in
        # test mode that cursor is this test's transaction (rolled back at the end).
        cls.registry.enter_test_mode(cls.cr)
        cls.addClassCleanup(cls.registry.leave_test_mode)


    def queued(self):
        return self.env["threecx.dial.request"].search([("server_id", "=", self.server.id)])

    def dial(self, number=NUMBER, user=None, client_ref=False):
        Call = self.env["threecx.call"].with_user(user or self.realtor)
        before = self.queued()
        result = Call.realtor_3cx_dial(number, "res.partner", self.partner.id,
                                       client_ref=client_ref)
        return result, self.queued() - before

    @freeze_time("2026-11-25 15:00:00")  # 10:00 in New York
    def test_a_realtor_dials_from_their_own_extension(self):
        ref = str(uuid.uuid4())
        result, queued = self.dial("(555) 010-8401", client_ref=ref)
        # Queued and answered at once: the worker's answer comes on the bus.
        self.assertEqual((result["ok"], result["state"]), (False, "pending"), result)
        self.assertEqual(result["client_ref"], ref)
        self.assertEqual(result["request_id"], queued.id)
        self.assertEqual(
            (queued.extension, queued.destination, queued.action, queued.state,
             queued.client_ref, queued.user_id),
            ("101", NUMBER, "makecall", "pending", ref, self.realtor),
        )
        self.assertEqual(result["placed_message"], f"Calling {NUMBER}: your phone rings first.")
        # Allowed by the rules: if the worker cannot place it, the realtor may use their phone.
        self.assertEqual(result["tel"], f"tel:{NUMBER}")

    @freeze_time("2026-11-25 15:00:00")
    def test_the_same_request_twice_is_queued_once(self):
        # What Odoo's replay of an HTTP request after a serialization failure does; the
        # replay through HTTP with a real worker is tests/test_dial_async.py.
        ref = str(uuid.uuid4())
        first, queued = self.dial(client_ref=ref)
        again, more = self.dial(client_ref=ref.upper())  # the same uuid, however written
        self.assertEqual(again["request_id"], first["request_id"])
        self.assertEqual((len(queued), len(more)), (1, 0))
        other, queued = self.dial(client_ref=str(uuid.uuid4()))
        self.assertNotEqual(other["request_id"], first["request_id"])
        self.assertEqual(len(queued), 1)
        # No id from the page (another caller of the method): one of its own, queued.
        result, queued = self.dial()
        self.assertEqual(result["client_ref"], queued.client_ref)
        uuid.UUID(result["client_ref"])

    @freeze_time("2026-11-25 15:00:00")
    def test_a_request_id_that_is_no_uuid_is_refused(self):
        result, queued = self.dial(client_ref="1; drop table")
        self.assertEqual((result["ok"], result["state"]), (False, "refused"))
        self.assertIn("This request is not valid", result["message"])
        self.assertFalse(queued)

    @freeze_time("2026-11-25 15:00:00")
    def test_do_not_call_is_refused_with_the_reason(self):
        self.partner.do_not_call = True
        result, queued = self.dial()
        self.assertEqual((result["ok"], result["state"]), (False, "refused"))
        self.assertIn("Click Contact is on the do-not-call list", result["message"])
        self.assertFalse(result["tel"])  # no tel: link around the rule
        self.assertFalse(queued)

    @freeze_time("2026-11-26 03:30:00")  # 22:30 in New York
    def test_outside_the_contacts_calling_window(self):
        result, queued = self.dial()
        self.assertEqual((result["ok"], result["state"]), (False, "refused"))
        self.assertIn("It is 22:30 for Click Contact (America/New_York)", result["message"])
        self.assertFalse(result["tel"])
        self.assertFalse(queued)

    def test_invalid_numbers_and_users_without_an_extension(self):
        result, queued = self.dial("call me maybe")
        self.assertIn("is not a phone number", result["message"])
        result, queued = self.dial(user=self.manager)
        self.assertIn("You have no 3CX extension", result["message"])
        self.assertFalse(queued)

    def test_answer_and_decline_are_queued_and_return_at_once(self):
        call = self.env["threecx.call"].create(
            {"server_id": self.server.id, "call_id": "c-ring", "state": "ringing",
             "external_number": NUMBER, "user_id": self.realtor.id}
        )
        for method, action in (("action_answer_on_phone", "answer"),
                               ("action_decline", "drop")):
            ref = str(uuid.uuid4())
            before = self.queued()
            result = getattr(call.with_user(self.realtor), method)(client_ref=ref)
            queued = self.queued() - before
            self.assertEqual((result["state"], result["request_id"]), ("pending", queued.id))
            self.assertEqual((queued.action, queued.call_id, queued.client_ref),
                             (action, "c-ring", ref))
        call.state = "completed"
        before = self.queued()
        result = call.with_user(self.realtor).action_answer_on_phone()
        self.assertEqual((result["ok"], result["state"]), (False, "refused"))
        self.assertIn("no longer ringing", result["message"])
        self.assertFalse(self.queued() - before)

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
        # No worker runs here: the page shows "Calling..." at once and waits for its answer
        # on the bus (the answer itself: tests/test_dial_async.py, with a real worker).
        self.start_tour(
            f"/odoo/action-contacts.action_contacts/{self.partner.id}",
            "realtor_3cx_click_to_call_tour",
            login="r3cx_realtor",
        )
        request = self.env["threecx.dial.request"].search([("server_id", "=", self.server.id)])
        self.assertEqual((request.destination, request.state, request.user_id),
                         (NUMBER, "pending", self.realtor))
        self.assertTrue(request.client_ref)
