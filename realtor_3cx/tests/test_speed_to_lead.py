# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Speed to lead, enforced: a missed lead not called back by its deadline goes round the team's
rotation; the managers' report per realtor. The cron's "now" is given, so that the deadline's
edges are exact to the second."""

import datetime
import json

from odoo.tests import new_test_user

from .common import Realtor3cxCase

LEAD = "+15550108801"
QUEUE = "800"
T0 = datetime.datetime(2026, 11, 24, 15, 0, 0)
SECOND = datetime.timedelta(seconds=1)
WINDOW = datetime.timedelta(minutes=15)


class TestSpeedToLeadRoundRobin(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].set_param("realtor_3cx.speed_to_lead_minutes", "15")
        group = "realtor_3cx.realtor_3cx_group_user"
        cls.alex, cls.blair, cls.casey = (
            new_test_user(cls.env, login=f"stl_{name}", name=name.title(), groups=group)
            for name in ("alex", "blair", "casey"))
        cls.ext = {
            user: cls.env["threecx.extension"].create(
                {"server_id": cls.server.id, "number": number, "user_id": user.id})
            for user, number in ((cls.alex, "101"), (cls.blair, "102"), (cls.casey, "103"))
        }
        cls.env["threecx.team"]._apply_teams(cls.server, [
            {"number": QUEUE, "name": "Sales Team", "kind": "queue",
             "members": ["101", "102", "103"]},
        ])
        cls.team = cls.env["threecx.team"].search([("number", "=", QUEUE)])
        # The manager's order, not the extensions': Blair, Casey, Alex.
        cls.team.with_user(cls.manager).write({
            "rotation_active": True,
            "rotation_manager_id": cls.manager.id,
            "rotation_ids": [(0, 0, {"sequence": seq, "extension_id": cls.ext[user].id})
                             for seq, user in ((1, cls.blair), (2, cls.casey), (3, cls.alex))],
        })
        cls.contact = cls.env["res.partner"].create({"name": "Lee Lead", "phone": LEAD})
        cls.Call = cls.env["threecx.call"]

    def missed(self, user, start=T0, call_id="m-1", **values):
        call = self.Call.create({
            "server_id": self.server.id, "call_id": call_id, "direction": "inbound",
            "state": "missed", "external_number": LEAD, "start_at": start,
            "user_id": user.id if user else False, "partner_id": self.contact.id, **values})
        if user:
            call._schedule_call_back({"rung": ()}, {})  # as the worker does for a missed call
        return call

    def call_back(self, user, start, answered=True, call_id="b-1"):
        return self.Call.create({
            "server_id": self.server.id, "call_id": call_id, "direction": "outbound",
            "state": "completed" if answered else "failed", "external_number": LEAD,
            "start_at": start, "answer_at": start + SECOND if answered else False,
            "user_id": user.id})

    def run_cron(self, now):
        return self.Call._speed_to_lead_pass_on_due(now=now)

    def call_backs(self, call):
        call_type = self.env.ref("mail.mail_activity_data_call")
        return call.activity_ids.filtered(lambda a: a.activity_type_id == call_type)

    def notifications(self, user):
        self.env.cr.precommit.run()  # the bus sends at commit; read what it would send
        return [
            json.loads(m.message)["payload"]
            for m in self.env["bus.bus"].search([("message", "like", "simple_notification")])
            if json.loads(m.channel)[1:] == ["res.partner", user.partner_id.id]
        ]

    def notes(self, record):
        return [m.body for m in record.message_ids
                if m.subtype_id == self.env.ref("mail.mt_note")]

    def test_the_lead_is_passed_on_one_second_after_its_deadline_not_one_before(self):
        call = self.missed(self.alex)
        deadline = T0 + WINDOW
        self.assertEqual((call.callback_deadline, call.callback_reassign_at), (deadline, deadline))
        self.assertFalse(self.run_cron(deadline - SECOND))
        self.assertEqual(call.callback_user_id, self.alex)
        self.assertEqual(self.call_backs(call).user_id, self.alex)
        self.assertFalse(self.notifications(self.blair))

        self.assertEqual(self.run_cron(deadline + SECOND), call)
        # Alex is last in the rotation: the next is its first, Blair (the wrap).
        self.assertEqual(call.callback_user_id, self.blair)
        self.assertEqual(call.callback_passes, 1)
        self.assertEqual(call.callback_tried_user_ids, self.alex)
        # Blair gets a full window from now, and the call-back activity.
        self.assertEqual(call.callback_reassign_at, deadline + SECOND + WINDOW)
        self.assertEqual(self.call_backs(call).user_id, self.blair)
        [told] = self.notifications(self.blair)
        self.assertEqual(told["title"], "A missed lead is yours")
        self.assertIn("Lee Lead", told["message"])
        expected = "Not called back in time by Alex: passed on to Blair."
        self.assertIn(expected, "".join(self.notes(call)))
        self.assertIn(expected, "".join(self.notes(self.contact)))
        # The call the lead rang stays Alex's in the call log; Blair may now read it.
        self.assertEqual(call.user_id, self.alex)
        self.assertTrue(call.with_user(self.blair).read(["external_number"]))
        # A second run at the same moment finds nothing due: passed on once.
        self.assertFalse(self.run_cron(deadline + SECOND))
        self.assertEqual(call.callback_passes, 1)

    def test_the_rotation_goes_in_order_wraps_and_tells_the_manager_at_the_end(self):
        call = self.missed(self.blair)
        now = T0 + WINDOW
        order = []
        for _step in range(2):
            self.run_cron(now)
            order.append(call.callback_user_id)
            now = call.callback_reassign_at
        self.assertEqual(order, [self.casey, self.alex])
        # Everyone had it: the round is over, the manager is told, Alex keeps the lead.
        self.assertEqual(self.run_cron(now + SECOND), call)
        self.assertEqual(call.callback_user_id, self.alex)
        self.assertFalse(call.callback_reassign_at)
        self.assertEqual(call.callback_passes, 2)
        manager_todo = call.activity_ids.filtered(lambda a: a.user_id == self.manager)
        self.assertEqual(manager_todo.summary, "Nobody called back Lee Lead")
        [told] = self.notifications(self.manager)
        self.assertEqual(told["title"], "Missed lead not called back")
        self.assertFalse(self.run_cron(now + WINDOW * 4))

    def test_who_is_eligible_active_member_with_extension_and_present(self):
        call = self.missed(self.alex)
        # Blair is archived, Casey left the queue in 3CX: Alex's lead has nowhere to go.
        self.blair.active = False
        self.team.member_ids = [(3, self.ext[self.casey].id)]
        self.run_cron(T0 + WINDOW)
        self.assertEqual(call.callback_user_id, self.alex)
        self.assertFalse(call.callback_reassign_at)
        self.assertTrue(call.activity_ids.filtered(lambda a: a.user_id == self.manager))

        # Presence asked for: Blair's phone is not registered, Casey is Available.
        self.blair.active = True
        self.team.member_ids = [(4, self.ext[self.casey].id)]
        self.team.rotation_presence = True
        now = T0 + datetime.timedelta(hours=1)
        self.ext[self.blair].write({"presence": "Available", "registered": False,
                                    "presence_at": now})
        self.ext[self.casey].write({"presence": "Available", "registered": True,
                                    "presence_at": now})
        second = self.missed(self.alex, start=now, call_id="m-2")
        self.run_cron(now + WINDOW)
        self.assertEqual(second.callback_user_id, self.casey)  # Blair skipped
        # Blair's phone registers: the lead, past Alex who had it, wraps round to Blair.
        self.ext[self.blair].registered = True
        self.run_cron(second.callback_reassign_at)
        self.assertEqual(second.callback_user_id, self.blair)

    def test_a_call_back_stops_the_round(self):
        call = self.missed(self.alex)
        self.run_cron(T0 + WINDOW)
        self.assertEqual(call.callback_user_id, self.blair)
        back = self.call_back(self.blair, T0 + WINDOW + datetime.timedelta(minutes=2))
        self.assertEqual(call.callback_call_id, back)
        self.assertFalse(call.callback_reassign_at)  # out of the index of waiting leads
        self.assertFalse(call.callback_met)  # the first deadline was missed
        self.assertFalse(self.call_backs(call))  # done by the call back
        self.assertFalse(self.run_cron(T0 + WINDOW * 10))
        self.assertEqual(call.callback_user_id, self.blair)

    def test_a_team_call_nobody_took_goes_to_the_first_of_the_rotation(self):
        call = self.missed(False, team_id=self.team.id)
        self.assertFalse(call.callback_user_id)
        self.run_cron(T0 + WINDOW)
        self.assertEqual(call.callback_user_id, self.blair)
        self.assertEqual(self.call_backs(call).user_id, self.blair)
        self.assertIn("Not called back in time by the team: passed on to Blair.",
                      "".join(self.notes(call)))

    def test_a_lead_outside_any_rotation_is_left_alone_and_leaves_the_index(self):
        self.team.rotation_active = False
        call = self.missed(self.alex)
        self.assertEqual(self.run_cron(T0 + WINDOW), call)
        self.assertEqual(call.callback_user_id, self.alex)
        self.assertFalse(call.callback_reassign_at)
        self.assertNotIn("passed on", "".join(self.notes(call)))

    def test_the_due_leads_are_read_through_a_partial_index(self):
        self.env.cr.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'threecx_call'"
            " AND indexdef LIKE '%(callback_reassign_at)%'")
        [(definition,)] = self.env.cr.fetchall()
        self.assertIn("WHERE (callback_reassign_at IS NOT NULL)", definition)
        # The plan of the cron's query with sequential scans off: the index, no table scan.
        self.env.cr.execute("SET LOCAL enable_seqscan = off")
        self.env.cr.execute(
            "EXPLAIN SELECT id FROM threecx_call WHERE callback_reassign_at <= %s"
            " ORDER BY callback_reassign_at LIMIT 200", (T0,))
        plan = "\n".join(row[0] for row in self.env.cr.fetchall())
        self.assertIn("threecx_call__callback_reassign_at_index", plan)
        self.assertNotIn("Seq Scan", plan)

    def test_the_cron_is_scheduled_every_minute(self):
        cron = self.env.ref("realtor_3cx.ir_cron_speed_to_lead")
        self.assertTrue(cron.active)
        self.assertEqual((cron.interval_number, cron.interval_type), (1, "minutes"))


class TestSpeedToLeadReport(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].set_param("realtor_3cx.speed_to_lead_minutes", "15")
        group = "realtor_3cx.realtor_3cx_group_user"
        cls.alex = new_test_user(cls.env, login="stl_report_alex", groups=group)
        cls.blair = new_test_user(cls.env, login="stl_report_blair", groups=group)

    def call(self, call_id, direction, start, number, user, answered=False, state=None):
        return self.env["threecx.call"].create({
            "server_id": self.server.id, "call_id": call_id, "direction": direction,
            "state": state or ("completed" if answered else "missed"),
            "external_number": number, "start_at": start,
            "answer_at": start + SECOND if answered else False, "user_id": user.id})

    def test_response_contact_and_connect_rates_per_realtor(self):
        minutes = datetime.timedelta(minutes=1)
        # Alex: one lead called back in 5 minutes and answered, one in 25 and not answered.
        self.call("r-1", "inbound", T0, "+15550108811", self.alex)
        self.call("r-2", "outbound", T0 + 5 * minutes, "+15550108811", self.alex, answered=True)
        self.call("r-3", "inbound", T0, "+15550108812", self.alex)
        self.call("r-4", "outbound", T0 + 25 * minutes, "+15550108812", self.alex,
                  state="failed")
        # Blair: never called back, but the lead rang again and Blair answered.
        self.call("r-5", "inbound", T0, "+15550108813", self.blair)
        self.call("r-6", "inbound", T0 + 40 * minutes, "+15550108813", self.blair,
                  answered=True)
        Report = self.env["threecx.speed.to.lead.report"].with_user(self.manager)
        rows = {
            row["user_id"][0]: row
            for row in Report.read_group(
                [("user_id", "in", [self.alex.id, self.blair.id])],
                ["leads:sum", "leads_open:sum", "response_seconds:avg", "contact_rate:avg",
                 "connect_rate:avg", "met_rate:avg"],
                ["user_id"])
        }
        alex, blair = rows[self.alex.id], rows[self.blair.id]
        self.assertEqual((alex["leads"], alex["leads_open"]), (2, 0))
        self.assertEqual(alex["response_seconds"], 15 * 60)  # (5 + 25) / 2 minutes
        self.assertEqual(alex["contact_rate"], 50.0)
        self.assertEqual(alex["connect_rate"], 50.0)
        self.assertEqual(alex["met_rate"], 50.0)
        self.assertEqual((blair["leads"], blair["leads_open"]), (1, 1))
        self.assertFalse(blair["response_seconds"])
        self.assertEqual(blair["contact_rate"], 100.0)
        self.assertFalse(blair["connect_rate"])
        # A realtor sees their own leads only.
        self.assertEqual(
            self.env["threecx.speed.to.lead.report"].with_user(self.blair)
            .search([]).user_id, self.blair)
