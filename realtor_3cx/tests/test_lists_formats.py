# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Missed Calls one row per caller, call backs closing their activities, and the formats a
realtor reads: durations in minutes:seconds, times on their own clock, numbers as they write
them, labelled states and one presence status."""

import datetime
import doctest

from lxml import etree

from odoo.tests import new_test_user
from odoo.tools.safe_eval import safe_eval

from ..tools import formats, phone
from .common import Realtor3cxCase

T0 = datetime.datetime(2026, 12, 2, 0, 30)  # 19:30 on December 1st in New York
JANE = "+15550108301"
BOB = "+15550108302"


class TestListsAndFormats(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Call = cls.env["threecx.call"]
        cls.realtor.write({"tz": "America/New_York", "lang": "en_US"})
        cls.realtor.partner_id.country_id = cls.env.ref("base.us")
        cls.other = new_test_user(
            cls.env, login="r3cx_lists_other", groups="realtor_3cx.realtor_3cx_group_user"
        )
        cls.extension = cls.env["threecx.extension"].create(
            {"server_id": cls.server.id, "number": "101", "user_id": cls.realtor.id}
        )
        cls.jane = cls.env["res.partner"].create({"name": "Jane Caller", "phone": JANE})
        cls.call_type = cls.env.ref("mail.mail_activity_data_call")
        cls.seq = 0

    def call(self, state="missed", minutes=0, number=JANE, user=None, direction="inbound",
             **values):
        self.__class__.seq += 1
        start = T0 + datetime.timedelta(minutes=minutes)
        vals = {
            "server_id": self.server.id,
            "call_id": f"lists-{self.seq}",
            "direction": direction,
            "state": state,
            "external_number": number,
            "user_id": (user or self.realtor).id,
            "extension": "101",
            "start_at": start,
            "end_at": start + datetime.timedelta(seconds=20),
            # as the caller lookup links a known number
            "partner_id": self.jane.id if number == JANE else False,
            **values,
        }
        if state == "completed":
            vals["answer_at"] = start + datetime.timedelta(seconds=5)
            vals["end_at"] = start + datetime.timedelta(seconds=130)
        return self.Call.create(vals)

    def missed(self, minutes=0, number=JANE, user=None):
        """A missed call as the worker ends it: with its call-back activity."""
        call = self.call("ringing", minutes, number, user)
        users = {"101": self.realtor}
        call.write({"state": "missed"})
        call._notify_transition("ringing", {"rung": ["101"], "notify_ringing": ()}, users)
        return call

    def missed_rows(self, user):
        action = self.env.ref("realtor_3cx.threecx_call_action_missed")
        domain = [("server_id", "=", self.server.id), *safe_eval(action.domain)]
        return self.Call.with_user(user).search(domain)

    # -- Missed Calls --------------------------------------------------------------------------

    def test_missed_calls_show_one_row_per_caller_with_count_and_last_time(self):
        first = self.missed(0)
        self.missed(5)
        last = self.missed(9)
        bob = self.missed(3, number=BOB)
        theirs = self.missed(7, user=self.other)
        rows = self.missed_rows(self.realtor)
        self.assertEqual(rows, last | bob)  # newest first: Jane's last call, then Bob's
        self.assertEqual(rows[0], last)
        self.assertEqual((last.missed_count, bob.missed_count), (3, 1))
        self.assertEqual(first.missed_count, 1)  # a row counts its call and the earlier ones
        # The manager sees each owner's row: the other realtor's missed call of Jane too.
        self.assertEqual(self.missed_rows(self.manager), last | bob | theirs)
        self.assertFalse(last.search([("id", "=", first.id), ("missed_caller_last", "=", True)]))

    def test_managers_get_no_new_button_in_missed_calls(self):
        action = self.env.ref("realtor_3cx.threecx_call_action_missed")
        self.assertEqual(action.view_id, self.env.ref("realtor_3cx.threecx_call_view_list_missed"))
        arch = self.Call.with_user(self.manager).get_view(action.view_id.id, "list")["arch"]
        self.assertEqual(etree.fromstring(arch).get("create"), "0")
        self.assertIn("'create': False", action.context)

    def test_a_call_back_closes_the_callers_open_call_back_activities(self):
        jane_1, jane_2 = self.missed(0), self.missed(4)
        bob = self.missed(2, number=BOB)
        for call in jane_1 | jane_2 | bob:
            self.assertEqual(call.activity_ids.activity_type_id, self.call_type)
        self.call("dialing", 10, direction="outbound").write({"state": "completed"})
        self.assertFalse((jane_1 | jane_2).activity_ids)
        self.assertTrue(bob.activity_ids)  # another caller still waits
        done = jane_1.message_ids.filtered(lambda m: "Called back by" in (m.body or ""))
        self.assertEqual(len(done), 1)

    def test_a_later_answered_call_from_the_caller_closes_them_too(self):
        missed = self.missed(0)
        ringing = self.call("ringing", 6)
        self.assertTrue(missed.activity_ids)  # still ringing: nobody spoke to them yet
        ringing.write({"state": "connected", "answer_at": ringing.start_at})
        self.assertFalse(missed.activity_ids)
        later = self.missed(8)
        self.assertTrue(later.activity_ids)  # a missed call after the answered one is new

    # -- formats -------------------------------------------------------------------------------

    def test_call_back_is_due_on_the_realtors_own_day_with_their_clock(self):
        activity = self.missed(0).activity_ids
        # 00:30 UTC on December 2nd is 19:30 on December 1st for a realtor in New York.
        self.assertEqual(activity.date_deadline, datetime.date(2026, 12, 1))
        self.assertIn("7:30", activity.note)
        self.assertNotIn("00:30", activity.note)
        self.assertEqual(activity.summary, "Call back Jane Caller")
        unknown = self.missed(1, number="+15550108399").activity_ids
        self.assertEqual(unknown.summary, "Call back (555) 010-8399")

    def test_durations_read_as_minutes_and_seconds(self):
        self.assertEqual(formats.format_duration(125), "2:05")
        call = self.call("ringing", 0, partner_id=self.jane.id)
        call.write({"state": "completed", "answer_at": call.start_at,
                    "end_at": call.start_at + datetime.timedelta(seconds=125)})
        call._notify_transition("connected", {"rung": ["101"], "notify_ringing": ()},
                                {"101": self.realtor})
        line = self.jane.message_ids.filtered(lambda m: "call with" in (m.body or ""))
        self.assertIn("2:05", line.body)
        self.assertNotIn(" min ", line.body)
        fields = self.Call.fields_get(["talk_seconds", "ring_seconds", "callback_seconds"])
        self.assertEqual(fields["talk_seconds"]["string"], "Talk time")
        for view in ("list", "form", "pivot"):
            arch = etree.fromstring(self.Call.get_view(view_type=view)["arch"])
            for node in arch.iter("field"):
                if node.get("name") in ("talk_seconds", "ring_seconds"):
                    self.assertEqual(node.get("widget"), "realtor_3cx_duration", view)
        report = etree.fromstring(
            self.env["threecx.call.report"].get_view(view_type="pivot")["arch"]
        )
        widgets = {n.get("name"): n.get("widget") for n in report.iter("field")}
        self.assertEqual(widgets["talk_seconds"], "realtor_3cx_duration")
        self.assertEqual(widgets["callback_median_seconds"], "realtor_3cx_duration")

    def test_numbers_read_as_the_user_writes_them(self):
        call = self.call("completed", 0, number="+15550102030")
        self.assertEqual(call.with_user(self.realtor).external_number_display, "(555) 010-2030")
        london = self.call("completed", 1, number="+442079460958")
        self.assertEqual(london.with_user(self.realtor).external_number_display,
                         "+44 20 7946 0958")
        self.other.partner_id.country_id = self.env.ref("base.es")
        self.assertEqual(call.with_user(self.other).external_number_display, "+1 555-010-2030")
        extension = self.call("completed", 2, number="102", direction="internal")
        self.assertEqual(extension.external_number_display, "102")
        self.assertEqual(call._bus_payload()["number_display"], "(555) 010-2030")
        arch = etree.fromstring(self.Call.get_view(view_type="list")["arch"])
        self.assertIn("external_number_display", [n.get("name") for n in arch.iter("field")])

    def test_presence_is_one_status(self):
        self.extension.write({"presence": "Available", "registered": True,
                              "presence_at": T0})
        self.assertEqual((self.extension.status, self.extension.status_label),
                         ("available", "Available"))
        talking = self.call("connected", 0, answer_at=T0, end_at=False)
        self.extension.invalidate_recordset(["status", "status_label"])
        self.assertEqual((self.extension.status, self.extension.status_label),
                         ("on_call", "On a call"))
        talking.write({"state": "completed", "end_at": T0 + datetime.timedelta(seconds=30)})
        self.extension.invalidate_recordset(["status", "status_label"])
        self.assertEqual(self.extension.status, "available")
        self.extension.presence = "Do Not Disturb"
        self.assertEqual(self.extension.status_label, "Do Not Disturb")
        self.extension.registered = False
        self.assertEqual(self.extension.status_label, "No phone")

    def test_the_plain_python_formats_hold(self):
        self.assertEqual(doctest.testmod(formats).failed, 0)
        self.assertEqual(doctest.testmod(phone).failed, 0)
