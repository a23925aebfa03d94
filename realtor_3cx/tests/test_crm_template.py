# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The 3CX CRM template: the key, the generated XML, ReportCall merging and DNC flags."""

import datetime
import json
from unittest import mock

from freezegun import freeze_time

import odoo
from odoo.exceptions import AccessError
from odoo.tools import config

from ..models.threecx_call_crm import CRM_CALL_PREFIX, ReportError
from ..threecx.simulator.crm import load_template
from .common import Realtor3cxCase

CALLER = "+15550108601"
DNC = "+15550108602"
START = "2026-11-25 15:00:00"  # 10:00 in New York


class TestCrmKey(Realtor3cxCase):
    def generate(self, user=None):
        action = self.server.with_user(user or self.admin).action_generate_crm_key()
        return action["context"]["default_key"], action

    def stored_hash(self):
        self.env.cr.execute(
            "SELECT crm_key_hash FROM threecx_server WHERE id = %s", (self.server.id,)
        )
        return self.env.cr.fetchone()[0]

    def test_the_key_is_shown_once_and_stored_as_a_keyed_hash(self):
        self.assertFalse(self.server.crm_key_set)
        key, action = self.generate()
        self.assertEqual(action["res_model"], "threecx.crm.key.show")
        self.assertEqual(action["target"], "new")
        self.assertGreaterEqual(len(key), 40)
        digest = self.stored_hash()
        self.assertEqual(len(digest), 64)
        self.assertNotIn(key, digest)
        self.assertTrue(self.server.crm_key_set)
        self.assertTrue(self.server._crm_check_key(key))
        self.assertFalse(self.server._crm_check_key(key[:-1] + ("A" if key[-1] != "A" else "B")))
        self.assertFalse(self.server._crm_check_key(""))
        # No field returns the key or its hash, to anyone.
        self.assertNotIn("crm_key_hash", self.server.fields_get())
        values = json.dumps(self.server.with_user(self.admin).read()[0], default=str)
        self.assertNotIn(key, values)
        self.assertNotIn(digest, values)

    def test_the_same_key_does_not_open_another_server(self):
        key, _action = self.generate()
        other = self.server.copy({"name": "Other PBX"})
        other._crm_set_key(key)
        self.env.cr.execute(
            "SELECT count(DISTINCT crm_key_hash) FROM threecx_server WHERE id IN %s",
            ((self.server.id, other.id),),
        )
        self.assertEqual(self.env.cr.fetchone()[0], 2)  # bound to the server id

    def test_rotating_replaces_the_key_and_revoking_removes_it(self):
        old, _action = self.generate()
        new, _action = self.generate()
        self.assertNotEqual(old, new)
        self.assertFalse(self.server._crm_check_key(old))
        self.assertTrue(self.server._crm_check_key(new))
        self.server.with_user(self.admin).action_revoke_crm_key()
        self.assertFalse(self.server._crm_check_key(new))
        self.assertFalse(self.server.crm_key_set)

    def test_only_administrators_manage_the_key_and_the_template(self):
        for user in (self.realtor, self.manager):
            with self.assertRaises(AccessError):
                self.generate(user)
            with self.assertRaises(AccessError):
                self.server.with_user(user).action_download_crm_template()
        self.assertFalse(self.server.crm_key_set)

    def test_the_template_is_made_for_this_database_and_loads_in_3cx(self):
        self.env["ir.config_parameter"].set_param("web.base.url", "https://odoo.example.com")
        action = self.server.with_user(self.admin).action_download_crm_template()
        self.assertEqual(action["url"], f"/realtor_3cx/crm/{self.server.id}/template.xml")
        template = load_template(self.server._crm_template(), {"ApiKey": "k" * 43})
        self.assertEqual(
            template.parameter_values["Url"],
            f"https://odoo.example.com/realtor_3cx/crm/{self.env.cr.dbname}/{self.server.id}",
        )
        self.assertEqual(
            set(template.scenarios),
            {"", "SearchContacts", "LookupByEmail", "CreateContactRecordFromClient",
             "ReportCall"},
        )
        self.assertEqual(template.parameters["ApiKey"].type, "Password")
        self.assertEqual(template.warnings, ())
        self.assertEqual(template.number_prefix, "Plus")
        for scenario in template.scenarios.values():
            self.assertEqual([h.key for h in scenario.request.headers], ["X-Api-Key"])

    def test_the_form_says_when_3cx_could_not_reach_this_database(self):
        def needs(dbfilter, db_name, server_wide=("base", "web")):
            with mock.patch.dict(config.options, {"dbfilter": dbfilter, "db_name": db_name}), \
                    mock.patch.object(odoo.conf, "server_wide_modules", list(server_wide)):
                self.server.invalidate_recordset(["crm_needs_server_wide"])
                return self.server.crm_needs_server_wide

        this = self.env.cr.dbname
        self.assertFalse(needs(f"^{this}$", this))  # one database: Odoo picks it
        self.assertFalse(needs("", this))
        self.assertTrue(needs("", f"{this},{this}_other"))  # several, none picked
        self.assertFalse(needs("^%d$", f"{this},{this}_other"))  # picked by host name
        self.assertFalse(needs("", f"{this},{this}_other", ("base", "web", "realtor_3cx")))


class TestCrmReportCall(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["threecx.extension"].create(
            {"server_id": cls.server.id, "number": "101", "user_id": cls.realtor.id}
        )
        cls.partner = cls.env["res.partner"].create(
            {"name": "Report Caller", "phone": CALLER, "tz": "America/New_York"}
        )
        cls.dnc = cls.env["res.partner"].create(
            {"name": "Never Call", "phone": DNC, "do_not_call": True}
        )
        cls.start = datetime.datetime(2026, 11, 25, 15, 0, 0)

    def report(self, **values):
        data = {
            "call_type": "Inbound", "call_direction": "Inbound", "number": CALLER,
            "agent": "101", "duration": "00:01:05", "call_start_utc": START,
            "call_established_utc": "2026-11-25 15:00:10",
            "call_end_utc": "2026-11-25 15:01:15",
        }
        data.update(values)
        return self.env["threecx.call"].sudo()._crm_report_call(self.server, data)

    def worker_view(self, state="completed", start=None, **values):
        epoch = (start or self.start).replace(tzinfo=datetime.timezone.utc).timestamp()
        view = {
            "call_id": "7001", "direction": "inbound", "state": state,
            "external_number": CALLER, "external_name": "", "did_number": "",
            "extension": "101", "chain": ("101",), "ringing": (), "rung": ("101",),
            "queue": "", "start_at": epoch, "answer_at": epoch + 8,
            "end_at": epoch + 75 if state == "completed" else None, "notify_ringing": [],
        }
        view.update(values)
        return view

    def calls(self):
        return self.env["threecx.call"].search([("server_id", "=", self.server.id)])

    def summaries(self):
        return self.partner.message_ids.filtered(
            lambda m: "Inbound call with" in (m.body or "")
        )

    def test_report_call_completes_the_call_the_worker_logged(self):
        self.env["threecx.call"]._sync_from_3cx(
            self.server, [self.worker_view(start=self.start + datetime.timedelta(seconds=3))]
        )
        call, created = self.report()
        self.assertFalse(created)
        self.assertEqual(self.calls(), call)
        self.assertEqual(call.call_id, "7001")
        self.assertTrue(call.crm_reported)
        self.assertEqual(call.talk_seconds, 67)  # the worker's times are kept
        self.assertEqual(len(self.summaries()), 1)

    def test_report_call_first_then_the_worker_adopts_it(self):
        call, created = self.report()
        self.assertTrue(created)
        self.assertTrue(call.call_id.startswith(CRM_CALL_PREFIX))
        self.assertEqual((call.state, call.user_id, call.partner_id),
                         ("completed", self.realtor, self.partner))
        self.assertEqual(call.talk_seconds, 65)
        # 3CX repeats the report: still one call.
        self.assertEqual(self.report()[0], call)
        # The worker's reconciliation finds the call later, 20 s off.
        self.env["threecx.call"]._sync_from_3cx(
            self.server, [self.worker_view(start=self.start + datetime.timedelta(seconds=20))]
        )
        self.assertEqual(self.calls(), call)
        self.assertEqual(call.call_id, "7001")
        self.assertEqual(len(self.summaries()), 1)  # nobody told twice

    def test_a_second_call_within_the_minute_is_another_call(self):
        first, _created = self.report()
        second, created = self.report(
            call_start_utc="2026-11-25 15:01:30", call_established_utc="2026-11-25 15:01:35",
            call_end_utc="2026-11-25 15:03:00",
        )
        self.assertTrue(created)
        self.assertNotEqual(first, second)
        self.assertEqual(len(self.calls()), 2)
        _other, created = self.report(agent="102")
        self.assertTrue(created, "another agent's call at the same time is another call")

    def test_a_missed_report_plans_the_call_back(self):
        call, _created = self.report(call_type="Missed", call_established_utc="",
                                     duration="00:00:00")
        self.assertEqual((call.state, call.answer_at), ("missed", False))
        self.assertEqual(call.activity_ids.user_id, self.realtor)
        self.assertIn("Call back Report Caller", call.activity_ids.summary)

    def test_an_outbound_call_to_a_do_not_call_contact_is_flagged_for_managers(self):
        call, _created = self.report(call_type="Outbound", call_direction="Outbound", number=DNC)
        self.assertEqual(call.compliance_issue, "do_not_call")
        self.assertIn("Never Call is on the do-not-call list", call.compliance_note)
        message = call.message_ids.filtered(lambda m: "do-not-call" in (m.body or ""))
        self.assertEqual(len(message), 1)
        self.assertIn(self.manager.partner_id, message.partner_ids)
        todo = call.activity_ids
        self.assertEqual(len(todo), 1)
        self.assertTrue(todo.user_id.has_group("realtor_3cx.realtor_3cx_group_manager"))
        self.assertIn("Review a call to Never Call", todo.summary)

    def test_the_calling_window_is_judged_when_the_call_started(self):
        late = {"call_type": "Outbound", "call_direction": "Outbound",
                "call_start_utc": "2026-11-26 03:30:00",  # 22:30 in New York
                "call_established_utc": "2026-11-26 03:30:05",
                "call_end_utc": "2026-11-26 03:31:00"}
        with freeze_time("2026-11-26 15:00:00"):  # reported the next day, in hours
            call, _created = self.report(**late)
        self.assertEqual(call.compliance_issue, "calling_window")
        self.assertIn("It is 22:30 for Report Caller", call.compliance_note)
        in_hours, _created = self.report(call_type="Outbound", call_direction="Outbound")
        self.assertFalse(in_hours.compliance_issue)

    def test_an_inbound_call_from_a_do_not_call_contact_is_not_a_breach(self):
        call, _created = self.report(number=DNC)
        self.assertEqual(call.partner_id, self.dnc)
        self.assertFalse(call.compliance_issue)

    def test_time_formats(self):
        call, _created = self.report(
            call_start_utc="2026-11-25T16:00:00+01:00", call_established_utc="",
            call_end_utc="2026-11-25T15:02:00Z", duration="60",
        )
        self.assertEqual(call.start_at, self.start)
        self.assertEqual(call.answer_at, self.start + datetime.timedelta(minutes=1))
        self.assertEqual(call.talk_seconds, 60)

    def test_times_from_both_sides_stay_consistent(self):
        # The worker saw the answer half a second after 3CX's (whole-second) end.
        start = self.start.replace(tzinfo=datetime.timezone.utc).timestamp()
        self.env["threecx.call"]._sync_from_3cx(self.server, [self.worker_view(
            "connected", answer_at=start + 65.5, end_at=None)])
        call, created = self.report()
        self.assertFalse(created)
        self.assertEqual(call.state, "completed")
        self.assertGreaterEqual(call.end_at, call.answer_at)
        # And the other way round: the worker adopts a reported call, its answer after the end.
        self.calls().unlink()
        reported, _created = self.report(call_established_utc="", duration="")
        self.assertFalse(reported.answer_at)
        self.env["threecx.call"]._sync_from_3cx(self.server, [self.worker_view(
            call_id="7002", answer_at=start + 90, end_at=start + 95)])
        self.assertEqual(reported.call_id, "7002")
        self.assertLessEqual(reported.answer_at, reported.end_at)

    def test_stale_live_worker_view_does_not_reopen_a_reported_call(self):
        self.env["threecx.call"]._sync_from_3cx(self.server, [self.worker_view("connected")])
        call, created = self.report()
        self.assertFalse(created)
        self.assertEqual(call.state, "completed")
        self.env["threecx.call"]._sync_from_3cx(self.server, [self.worker_view("connected")])
        self.assertEqual(call.state, "completed")
        self.assertEqual(len(self.summaries()), 1)

    def test_nothing_is_written_for_a_bad_report(self):
        for bad in ({"call_type": "Sideways"}, {"number": ""}, {"call_start_utc": "yesterday"},
                    {"call_start_utc": ""}, {"number": "1" * 65}):
            with self.assertRaises(ReportError):
                self.report(**bad)
        self.assertFalse(self.calls())
