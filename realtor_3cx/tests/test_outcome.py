# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Call outcomes are records managers configure; each plans the follow-up it is set up for."""

import datetime

from psycopg2 import IntegrityError

from odoo import fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user
from odoo.tools import mute_logger

from .common import Realtor3cxCase

NUMBER = "+15550108501"


class TestOutcome(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner = cls.env["res.partner"].create({"name": "Outcome Contact", "phone": NUMBER})
        cls.agent = new_test_user(
            cls.env, login="r3cx_agent", name="Listing Agent",
            groups="realtor_3cx.realtor_3cx_group_user",
        )
        cls.property = cls.env["realtor.property"].create(
            {"name": "3 Elm Court", "listing_agent_id": cls.agent.id}
        )
        cls.Outcome = cls.env["threecx.outcome"]
        # The follow-up's day is the realtor's today (their time zone): between midnight in
        # one zone and in another, the admin's today is another day.
        cls.today = fields.Date.context_today(cls.env["threecx.call"].with_user(cls.realtor))

    def make_call(self, call_id, **values):
        return self.env["threecx.call"].create(
            {"server_id": self.server.id, "call_id": call_id, "state": "completed",
             "user_id": self.realtor.id, "partner_id": self.partner.id,
             "external_number": NUMBER, **values}
        )

    def test_the_seeded_outcomes_are_todays_mapping(self):
        seeded = {
            o.code: (o.activity_type_id, o.delay_days)
            for o in self.Outcome.search([("code", "in", ["showing_booked", "listing_appointment",
                                                           "left_message", "not_interested"])])
        }
        self.assertEqual(seeded["showing_booked"],
                         (self.env.ref("realtor_3cx.mail_activity_type_showing"), 2))
        self.assertEqual(
            seeded["listing_appointment"],
            (self.env.ref("realtor_3cx.mail_activity_type_listing_appointment"), 3),
        )
        self.assertEqual(seeded["left_message"], (self.env.ref("mail.mail_activity_data_call"), 1))
        self.assertFalse(seeded["not_interested"][0])

    def test_a_managers_new_outcome_plans_its_follow_up_for_the_listing_agent(self):
        open_house = self.Outcome.with_user(self.manager).create({
            "name": "Coming to the open house",
            "code": "open_house",
            "activity_type_id": self.env.ref("mail.mail_activity_data_todo").id,
            "delay_days": 5,
            "summary": "Open house: welcome {contact}",
            "assign_to": "listing_agent",
        })
        call = self.make_call("o-1", property_id=self.property.id)
        call.with_user(self.realtor).write({"outcome_id": open_house.id, "notes": "Bringing kids"})
        activity = self.partner.activity_ids
        self.assertEqual(activity.activity_type_id, self.env.ref("mail.mail_activity_data_todo"))
        self.assertEqual(activity.user_id, self.agent)
        self.assertEqual(activity.summary,
                         f"Open house: welcome Outcome Contact · {self.property.display_name}")
        self.assertEqual(activity.date_deadline, self.today + datetime.timedelta(days=5))
        self.assertIn("Bringing kids", str(activity.note))

    def test_a_changed_delay_applies_to_the_next_call(self):
        left_message = self.env.ref("realtor_3cx.threecx_outcome_left_message")
        left_message.with_user(self.manager).delay_days = 4
        self.make_call("o-2").with_user(self.realtor).write({"outcome_id": left_message.id})
        self.assertEqual(self.partner.activity_ids.summary,
                         "Call back Outcome Contact (message left)")
        self.assertEqual(self.partner.activity_ids.date_deadline,
                         self.today + datetime.timedelta(days=4))

    def test_without_a_contact_the_follow_up_goes_on_the_call(self):
        busy = self.env.ref("realtor_3cx.threecx_outcome_busy")
        call = self.make_call("o-3", partner_id=False, external_number="+15550108599")
        call.with_user(self.realtor).write({"outcome_id": busy.id})
        self.assertEqual(call.activity_ids.summary, "Call back +15550108599")
        self.assertEqual(call.activity_ids.user_id, self.realtor)

    def test_whoever_records_it_and_the_fallback_when_there_is_no_listing_agent(self):
        mine = self.Outcome.create({
            "name": "Mine", "code": "mine", "assign_to": "current_user",
            "activity_type_id": self.env.ref("mail.mail_activity_data_todo").id,
        })
        agents = self.Outcome.create({
            "name": "Agent's", "code": "agents", "assign_to": "listing_agent",
            "activity_type_id": self.env.ref("mail.mail_activity_data_todo").id,
        })
        call = self.make_call("o-4")
        call.with_user(self.manager).write({"outcome_id": mine.id})
        call.with_user(self.manager).write({"outcome_id": agents.id})  # no property: the realtor
        users = self.partner.activity_ids.sorted("id").user_id
        self.assertEqual(users, self.manager | self.realtor)

    def test_realtors_read_outcomes_managers_configure_them(self):
        outcomes = self.Outcome.with_user(self.realtor).search([])
        self.assertIn("showing_booked", outcomes.mapped("code"))
        with self.assertRaises(AccessError):
            self.Outcome.with_user(self.realtor).create({"name": "Mine", "code": "mine"})
        with self.assertRaises(AccessError):
            outcomes[0].with_user(self.realtor).write({"delay_days": 9})
        showing = self.env.ref("realtor_3cx.threecx_outcome_showing_booked")
        showing.with_user(self.manager).active = False
        self.assertNotIn(showing, self.Outcome.with_user(self.realtor).search([]))

    def test_codes_are_unique_and_delays_not_negative(self):
        with self.assertRaises(ValidationError):
            self.Outcome.create({"name": "Past", "code": "past", "delay_days": -1})
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            self.Outcome.create({"name": "Again", "code": "showing_booked"})
