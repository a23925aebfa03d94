# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The dashboard's roll-up gives exactly the view's figures, or leaves the answer to the view.

Every comparison reads the report twice, as the pivot does (``read_group``): through the
roll-up and through the view (``realtor_3cx_report_from_view``), and asserts that the two are
equal, not close: the same ints, the same floats, the same groups in the same order.
"""

import datetime
import random

from odoo import Command, fields
from odoo.tests import new_test_user
from odoo.tools import SQL

from ..hooks import uninstall_hook
from ..models.threecx_call_rollup import COLUMNS, FILL, SUMMED_CALL_COLUMNS
from .common import Realtor3cxCase

MEASURES = [
    "calls_made:sum", "calls_received:sum", "calls_answered:sum", "calls_missed:sum",
    "answer_rate:avg", "talk_seconds:sum", "ring_seconds:sum", "leads:sum", "leads_open:sum",
    "callback_seconds:avg", "callback_median_seconds:avg", "callback_met_rate:avg",
    "property_calls:sum", "transcribed_calls:sum", "sentiment_calls:sum",
    "sentiment_score:avg",
]
GROUPINGS = [
    [], ["user_id"], ["start_at:month"], ["user_id", "start_at:month"], ["company_id"],
    ["start_at:day"], ["start_at:week"], ["start_at:hour"], ["start_at:quarter"],
    ["start_at:year"], ["start_at:hour_number"], ["start_at:day_of_week"],
    ["company_id", "user_id", "start_at:day"],
]
# UTC, a summer time, India's +5:30, Nepal's +5:45 and Newfoundland's -3:30 with summer time.
ZONES = [None, "Europe/Brussels", "Asia/Kolkata", "Asia/Kathmandu", "America/St_Johns"]
# Early October into November 2026 (both summer times end), from an afternoon in UTC.
T0 = datetime.datetime(2026, 10, 3, 17, 50, 0)
STATES = ["completed", "completed", "missed", "voicemail", "busy", "failed", "ringing"]


class TestCallRollup(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Report = cls.env["threecx.call.report"]
        cls.Rollup = cls.env["threecx.call.rollup"]
        cls.company_2 = cls.env["res.company"].create({"name": "Rollup Branch"})
        cls.manager.write({"company_ids": [Command.link(cls.company_2.id)]})
        cls.server_2 = cls.env["threecx.server"].create({
            "name": "Branch PBX", "base_url": "https://branch.example.com/",
            "company_id": cls.company_2.id,
        })
        cls.realtor_2 = new_test_user(
            cls.env, login="r3cx_rollup_2", name="Second Realtor",
            groups="realtor_3cx.realtor_3cx_group_user",
        )
        cls.realtor_2.write({"company_ids": [Command.link(cls.company_2.id)]})
        cls.prop = cls.env["realtor.property"].create({"name": "7 Rollup Row"})
        cls.realtors = cls.realtor | cls.realtor_2 | cls.manager
        cls.calls = cls.make_calls(random.Random(14), 260)

    @classmethod
    def make_calls(cls, rng, count, prefix="rollup"):
        """Calls over six weeks, a third of them around 18:00-18:45 UTC (midnight in India and
        Nepal), from a few numbers so that outbound calls settle earlier missed leads."""
        values = []
        # The transcripts' own draws: the calls themselves stay those of the seed.
        scores = random.Random(count)
        for n in range(count):
            if n % 3:
                start = T0 + datetime.timedelta(seconds=rng.randrange(42 * 24 * 3600))
            else:
                start = T0 + datetime.timedelta(days=rng.randrange(42),
                                                seconds=rng.randrange(55 * 60))
            direction = rng.choice(["inbound", "inbound", "outbound", "internal"])
            state = rng.choice(STATES)
            answered = state == "completed"
            user = rng.choice([*cls.realtors, cls.env["res.users"]])
            values.append({
                "server_id": rng.choice([cls.server, cls.server, cls.server_2]).id,
                "call_id": f"{prefix}-{n}", "direction": direction, "state": state,
                "external_number": f"+1555010{rng.randrange(20):04d}", "user_id": user.id,
                "start_at": start,
                "answer_at": start + datetime.timedelta(seconds=5) if answered else False,
                "end_at": (start + datetime.timedelta(seconds=rng.randrange(6, 900))
                           if state != "ringing" else False),
                "property_id": cls.prop.id if rng.random() < 0.2 else False,
                # Transcribed answered calls, with 3CX's sentiment or (0) none.
                **({"transcript_state": "done", "sentiment_score": scores.choice(range(11))}
                   if answered and scores.random() < 0.6 else {}),
            })
        # One at a time, in time order, as the worker logs them: each outbound call settles
        # the missed leads from its number before it.
        calls = cls.env["threecx.call"]
        for vals in sorted(values, key=lambda v: v["start_at"]):
            calls |= cls.env["threecx.call"].create(vals)
        # A lead called back within its deadline, whatever the random calls hold (they are
        # mostly called back late; whether any is in time depended on the database's data).
        met_at = T0 + datetime.timedelta(days=3, hours=2)
        for direction, state, minutes in (("inbound", "missed", 0), ("outbound", "completed", 5)):
            start = met_at + datetime.timedelta(minutes=minutes)
            calls |= cls.env["threecx.call"].create({
                "server_id": cls.server.id, "call_id": f"{prefix}-met-{direction}",
                "direction": direction, "state": state, "external_number": "+15550100050",
                "user_id": cls.realtor.id, "start_at": start,
                "answer_at": start + datetime.timedelta(seconds=5) if state == "completed"
                else False,
                "end_at": start + datetime.timedelta(minutes=1),
            })
        # A lead nobody was named for (the report counts it for who must call back), and one
        # missed just now, whose deadline has not passed yet.
        calls.filtered(lambda c: not c.user_id)[:4].sudo().write(
            {"callback_user_id": cls.realtor_2.id})
        now = fields.Datetime.now()
        calls |= cls.env["threecx.call"].create({
            "server_id": cls.server.id, "call_id": f"{prefix}-now", "direction": "inbound",
            "state": "missed", "external_number": "+15550109999", "user_id": cls.realtor.id,
            "start_at": now - datetime.timedelta(minutes=1), "end_at": now,
        })
        return calls

    # -- helpers -------------------------------------------------------------------------

    def report(self, user, tz=None, companies=None):
        context = {"tz": tz} if tz else {}
        if companies:
            context["allowed_company_ids"] = companies.ids
        return self.Report.with_user(user).with_context(**context)

    def assertSameFigures(self, report, groupby, domain=(), fast=True, lazy=False):
        """The roll-up answers (or, ``fast=False``, declines) and the figures are the view's."""
        answer = report.env["threecx.call.rollup"]._read_group_report(
            report, list(domain), groupby, ["__count", *MEASURES], (), 0, None, None)
        if fast:
            self.assertIsNotNone(answer, f"the roll-up declined {groupby} {domain}")
        else:
            self.assertIsNone(answer, f"the roll-up answered {groupby} {domain}")
        got = report.read_group(list(domain), MEASURES, groupby, lazy=lazy)
        expected = report.with_context(realtor_3cx_report_from_view=True).read_group(
            list(domain), MEASURES, groupby, lazy=lazy)
        self.assertEqual(got, expected, f"{groupby} {domain} tz={report.env.context.get('tz')}")
        return got

    def assertEveryGrouping(self, report, domain=()):
        for groupby in GROUPINGS:
            with self.subTest(groupby=groupby, tz=report.env.context.get("tz"),
                              user=report.env.user.login):
                self.assertSameFigures(report, groupby, domain)

    def assertRollupFresh(self):
        """The maintained rows are those a refill from the view gives."""
        cr = self.env.cr
        self.env.flush_all()
        select = SQL("SELECT %s FROM threecx_call_rollup",
                     SQL(", ").join(map(SQL.identifier, COLUMNS)))
        cr.execute(select)
        kept = cr.fetchall()
        cr.execute("SAVEPOINT refill")
        cr.execute("DELETE FROM threecx_call_rollup")
        cr.execute(FILL)
        cr.execute(select)
        refilled = cr.fetchall()
        cr.execute("ROLLBACK TO SAVEPOINT refill")

        def rows(result):  # arrays in a fixed order: array_agg's is not
            return sorted((tuple(sorted(v) if isinstance(v, list) else v for v in row)
                           for row in result), key=repr)

        self.assertEqual(rows(kept), rows(refilled))
        self.assertTrue(kept)

    # -- the figures ---------------------------------------------------------------------

    def test_every_grouping_in_every_time_zone_as_the_manager(self):
        for tz in ZONES:
            self.assertEveryGrouping(self.report(self.manager, tz, self.env.company
                                                 | self.company_2))
        # The data cover what they must: both companies, a realtor-less lead counted for who
        # must call back, medians, open leads on both sides of their deadline.
        total = self.assertSameFigures(self.report(self.manager, "Asia/Kolkata",
                                                   self.env.company | self.company_2), [])
        self.assertTrue(total[0]["callback_median_seconds"])
        self.assertTrue(0 < total[0]["callback_met_rate"] < 100)
        by_company = self.assertSameFigures(
            self.report(self.manager, None, self.env.company | self.company_2), ["company_id"])
        self.assertEqual(len(by_company), 2)
        leads = self.calls.filtered("callback_deadline")
        self.assertTrue(leads.filtered("callback_call_id") and leads.filtered(
            lambda c: not c.callback_call_id and c.callback_deadline > fields.Datetime.now()))

    def test_the_manager_sees_the_companies_allowed(self):
        one = self.assertSameFigures(self.report(self.manager, "Asia/Kathmandu",
                                                 self.env.company), ["company_id"])
        self.assertEqual([group["company_id"][0] for group in one], [self.env.company.id])
        self.assertEveryGrouping(self.report(self.manager, "Asia/Kathmandu",
                                             self.company_2))

    def test_a_realtor_gets_their_own_figures(self):
        for user in (self.realtor, self.realtor_2):
            report = self.report(user, "America/St_Johns", self.env.company | self.company_2
                                 if user == self.realtor_2 else None)
            self.assertEveryGrouping(report)
            groups = self.assertSameFigures(report, ["user_id"])
            self.assertEqual([group["user_id"][0] for group in groups], [user.id])
        self.assertEveryGrouping(self.report(self.env.user, "Asia/Kolkata"))  # superuser

    def test_the_rows_read_are_the_fewest_exact_ones(self):
        rollup = self.Rollup.with_context(tz="Asia/Kolkata")
        self.assertEqual(rollup._rows_for(["user_id"], []), ("day",))
        self.assertEqual(rollup._rows_for(["start_at:day"], []), ("quarter",))
        self.assertEqual(rollup._rows_for(["user_id"], [("start_at", ">=", T0)]), ("quarter",))
        # Months: the days, but for the UTC days in which a local month begins.
        mode, *days = rollup._rows_for(["user_id", "start_at:month"], [])
        self.assertEqual(mode, "days")
        self.assertEqual(days, [datetime.datetime(2026, 10, 31), datetime.datetime(2026, 11, 30)])
        mode, *days = self.Rollup.with_context(tz="Europe/Brussels")._rows_for(
            ["start_at:year"], [])
        # The night summer time ends (25 October) has two offsets.
        self.assertEqual(days, [datetime.datetime(2026, 10, 25)])
        self.assertEqual(self.Rollup._rows_for(["start_at:month"], [])[1:], ())  # UTC

    def test_dashboard_filters_and_lazy_groups(self):
        report = self.report(self.manager, "Asia/Kolkata", self.env.company | self.company_2)
        # The "Period" filter as the web client sends it: the local month, to its last second.
        month = ["&", ("start_at", ">=", "2026-10-31 18:30:00"),
                 ("start_at", "<=", "2026-11-30 18:29:59")]
        for domain in (month, [("user_id", "=", self.realtor.id)],
                       [("user_id", "in", [self.realtor_2.id, False])],
                       ["|", ("user_id", "!=", self.realtor.id), ("company_id", "=", False)],
                       [("start_at", "<", "2026-10-20 06:45:00")]):
            with self.subTest(domain=domain):
                self.assertSameFigures(report, ["user_id", "start_at:month"], domain)
                self.assertSameFigures(report, ["start_at:day"], domain, lazy=True)

    # -- what the roll-up leaves to the view ---------------------------------------------

    def test_what_the_roll_up_cannot_answer_goes_to_the_view(self):
        report = self.report(self.manager, "Europe/Brussels")
        self.assertSameFigures(report, ["direction"], fast=False)
        self.assertSameFigures(report, ["start_at:minute_number"], fast=False)
        for domain in ([("direction", "=", "inbound")], [("property_id", "!=", False)],
                       [("user_id.name", "ilike", "Second")], [("calls_missed", "=", 1)]):
            self.assertSameFigures(report, ["user_id"], domain, fast=False)
        # A bound inside a quarter hour: exact only while no call starts in the rest of it.
        call = self.calls.filtered(lambda c: c.start_at.minute % 15 or c.start_at.second)[0]
        inside = call.start_at - datetime.timedelta(seconds=1)
        self.assertSameFigures(report, ["user_id"], [("start_at", ">=", inside)], fast=False)
        self.env.cr.execute("SELECT max(start_at) FROM threecx_call")
        after_all = self.env.cr.fetchone()[0] + datetime.timedelta(seconds=1)
        self.assertSameFigures(report, ["user_id"], [("start_at", "<", after_all)])
        # The median cannot be sorted on: it comes from a second query.
        rows = report.read_group([], MEASURES, ["user_id"], orderby="callback_median_seconds",
                                 lazy=False)
        self.assertEqual(rows, report.with_context(realtor_3cx_report_from_view=True).read_group(
            [], MEASURES, ["user_id"], orderby="callback_median_seconds", lazy=False))

    def test_a_time_zone_off_the_quarter_hours_goes_to_the_view(self):
        # Liberia kept -0:44:30 until 1972: a call then and a local day cuts quarter hours.
        self.env["threecx.call"].create({
            "server_id": self.server.id, "call_id": "rollup-1971", "direction": "inbound",
            "state": "completed", "user_id": self.realtor.id,
            "start_at": datetime.datetime(1971, 6, 1, 12, 0, 0),
        })
        report = self.report(self.manager, "Africa/Monrovia")
        self.assertSameFigures(report, ["start_at:day"], fast=False)
        self.assertSameFigures(report, ["user_id"])  # no date grouping: exact still

    # -- kept in step with the calls -----------------------------------------------------

    def test_figures_stay_exact_after_writes_and_unlinks(self):
        rng = random.Random(7)
        calls = self.calls.sudo()
        # The worker's transitions: a ringing call answered and ended (durations computed).
        for call in calls.filtered(lambda c: c.state == "ringing")[:5]:
            call.write({"state": "completed", "answer_at": call.start_at
                        + datetime.timedelta(seconds=3), "end_at": call.start_at
                        + datetime.timedelta(seconds=200)})
        # A manager's corrections: another realtor, another quarter hour, another state.
        for call in rng.sample(list(calls), 30):
            call.write({"user_id": rng.choice([*self.realtors, self.env["res.users"]]).id})
        for call in rng.sample(list(calls), 10):
            call.write({"start_at": call.start_at + datetime.timedelta(minutes=rng.randrange(
                1, 4000)), "answer_at": False, "end_at": False})
        calls.filtered(lambda c: c.state == "busy")[:5].write({"state": "missed"})
        # The worker writes transcripts and 3CX's sentiment; retention takes some away.
        for call in calls.filtered(lambda c: c.answer_at and c.transcript_state == "none")[:8]:
            call.write({"transcript_state": "done", "sentiment_score": rng.randrange(1, 11)})
        calls.filtered(lambda c: c.transcript_state == "done")[:4].write(
            {"transcript_state": "none", "sentiment_score": 0})
        # A call back logged later settles open leads; deleting a call back reopens its lead
        # (PostgreSQL empties callback_call_id); deleting the property empties property_id.
        lead = calls.filtered(lambda c: c.callback_deadline and not c.callback_call_id)[:1]
        self.env["threecx.call"].create({
            "server_id": lead.server_id.id, "call_id": "rollup-callback",
            "direction": "outbound", "state": "completed", "user_id": self.realtor.id,
            "external_number": lead.external_number,
            "start_at": lead.start_at + datetime.timedelta(minutes=20),
        })
        self.assertTrue(lead.callback_call_id)
        calls.filtered("callback_call_id")[:3].callback_call_id.unlink()
        (calls.exists() - lead)[:20].unlink()
        self.prop.unlink()
        # The server's company moves: the calls' stored related company_id follows, without
        # any write() on the calls.
        self.server_2.company_id = self.env.company
        self.assertRollupFresh()
        for tz in ("Asia/Kathmandu", "Europe/Brussels"):
            self.assertEveryGrouping(self.report(self.manager, tz,
                                                 self.env.company | self.company_2))
        self.assertEveryGrouping(self.report(self.realtor, "Asia/Kolkata"))

    def test_the_roll_up_is_refilled_at_install_and_kept_fresh(self):
        self.assertRollupFresh()
        self.env.cr.execute("SELECT count(*), sum(call_count) FROM threecx_call_rollup")
        rows, calls = self.env.cr.fetchone()
        self.assertLess(rows, calls)  # it does sum calls together
        # init() (install, update) rebuilds it from the calls already there.
        self.env.cr.execute("DELETE FROM threecx_call_rollup")
        self.Rollup.init()
        self.assertRollupFresh()

    def test_the_triggers_watch_every_column_the_sums_read(self):
        self.assertEqual(set(SUMMED_CALL_COLUMNS), set(self.Report._depends["threecx.call"])
                         - {"partner_id", "outcome_id"})
        # A change no sum reads costs nothing: the roll-up row stays as it was.
        self.env.flush_all()
        self.env.cr.execute("SELECT id FROM threecx_call_rollup")
        before = self.env.cr.fetchall()
        self.calls.sudo().write({"notes": "seen"})
        self.env.flush_all()
        self.env.cr.execute("SELECT id FROM threecx_call_rollup")
        self.assertEqual(self.env.cr.fetchall(), before)

    def test_uninstalling_drops_the_triggers_and_functions(self):
        query = ("SELECT (SELECT count(*) FROM pg_proc WHERE proname LIKE 'threecx_call_rollup%'),"
                 " (SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'threecx_call_rollup%')")
        self.env.cr.execute(query)
        self.assertEqual(self.env.cr.fetchone(), (7, 4))  # the aggregate too
        with self.env.cr.savepoint(flush=False) as savepoint:
            uninstall_hook(self.env)
            self.env.cr.execute(query)
            self.assertEqual(self.env.cr.fetchone(), (0, 0))
            self.env.cr.execute("SELECT to_regclass('threecx_call_rollup_stale')")
            self.assertEqual(self.env.cr.fetchone(), (None,))
            savepoint.rollback()
        self.env.cr.execute(query)
        self.assertEqual(self.env.cr.fetchone(), (7, 4))  # the aggregate too
