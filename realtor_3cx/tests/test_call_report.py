# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The Telephony dashboard's figures, read the way the pivot reads them (read_group)."""

import datetime

from odoo.tests import HttpCase, new_test_user, tagged

from .common import Realtor3cxCase, Realtor3cxMixin

T = datetime.datetime(2026, 10, 5, 15, 0, 0)
MEASURES = [
    "calls_made:sum", "calls_received:sum", "calls_answered:sum", "calls_missed:sum",
    "answer_rate:avg", "talk_seconds:sum", "leads:sum", "leads_open:sum",
    "callback_seconds:avg", "callback_median_seconds:avg", "callback_met_rate:avg",
    "property_calls:sum",
]


def seconds(n):
    return datetime.timedelta(seconds=n)


def make_activity(env, server, realtor, other, prop, prefix="rep"):
    """Calls of one October afternoon for ``realtor`` and one November call for ``other``.

    ``realtor``: 1 answered outbound call (120 s) and 1 answered inbound call (60 s, about
    ``prop``); 4 missed leads, three called back after 60, 150 and 1200 s (15 minutes
    allowed), one never: 4 calls made, 5 received, 20 % answered, median call back 150 s.
    Its two answered calls are transcribed, 3CX's sentiment 8 and 3: 5.5 on average; the
    other realtor's call is transcribed on this machine, which scores no sentiment.
    """
    Call = env["threecx.call"]

    def call(n, direction, state, start, number, user, answer=None, end=None, **values):
        return Call.create({
            "server_id": server.id, "call_id": f"{prefix}-{n}", "direction": direction,
            "state": state, "external_number": number, "user_id": user.id, "start_at": start,
            "answer_at": answer and start + seconds(answer),
            "end_at": end and start + seconds(end), **values,
        })

    call(1, "outbound", "completed", T, "+15550108901", realtor, 10, 130,
         transcript_state="done", sentiment_score=8)
    call(2, "inbound", "completed", T, "+15550108902", realtor, 5, 65, property_id=prop.id,
         transcript_state="done", sentiment_score=3)
    for n, delay in ((3, 60), (4, 150), (5, 1200)):
        number = f"+1555010890{n}"
        call(n, "inbound", "missed", T + seconds(n), number, realtor, end=20)
        call(n + 10, "outbound", "failed", T + seconds(n + delay), number, realtor, end=30)
    call(6, "inbound", "voicemail", T, "+15550108906", realtor, end=30)
    call(7, "inbound", "completed", T + datetime.timedelta(days=40), "+15550108907", other,
         3, 33, transcript_state="done", transcript_source="local")


class TestCallReport(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other = new_test_user(
            cls.env, login="r3cx_other", name="Other Realtor",
            groups="realtor_3cx.realtor_3cx_group_user",
        )
        cls.prop = cls.env["realtor.property"].create({"name": "1 Report Row"})
        make_activity(cls.env, cls.server, cls.realtor, cls.other, cls.prop)
        cls.Report = cls.env["threecx.call.report"]

    def figures(self, user, groupby, domain=()):
        report = self.Report.with_user(user)
        return report.read_group(list(domain), MEASURES, groupby, lazy=False)

    def test_per_realtor_figures(self):
        rows = {
            row["user_id"][0]: row
            for row in self.figures(self.manager, ["user_id"],
                                    [("user_id", "in", [self.realtor.id, self.other.id])])
        }
        mine = rows[self.realtor.id]
        self.assertEqual(
            (mine["calls_made"], mine["calls_received"], mine["calls_answered"],
             mine["calls_missed"], mine["talk_seconds"], mine["leads"], mine["leads_open"],
             mine["property_calls"]),
            (4, 5, 2, 4, 180, 4, 1, 1),
        )
        self.assertAlmostEqual(mine["answer_rate"], 20.0)  # 1 of 5 received, outbound not counted
        self.assertAlmostEqual(mine["callback_median_seconds"], 150.0)
        self.assertAlmostEqual(mine["callback_seconds"], 470.0)  # the mean, for contrast
        self.assertAlmostEqual(mine["callback_met_rate"], 50.0)  # 2 in time, 1 late, 1 never
        theirs = rows[self.other.id]
        self.assertEqual((theirs["calls_received"], theirs["answer_rate"]), (1, 100.0))
        self.assertFalse(theirs["callback_median_seconds"])

    def test_the_median_holds_at_any_grouping(self):
        by_month = self.figures(self.manager, ["user_id", "start_at:month"],
                                [("user_id", "=", self.realtor.id)])
        self.assertEqual(len(by_month), 1)
        self.assertAlmostEqual(by_month[0]["callback_median_seconds"], 150.0)
        total = self.figures(self.manager, [], [("user_id", "in",
                                                 [self.realtor.id, self.other.id])])
        self.assertAlmostEqual(total[0]["callback_median_seconds"], 150.0)
        self.assertAlmostEqual(total[0]["answer_rate"], 100.0 * 2 / 6)

    def test_sentiment_per_realtor_and_month_is_the_average_of_the_scored_calls(self):
        rows = self.Report.with_user(self.manager).read_group(
            [("user_id", "in", [self.realtor.id, self.other.id])],
            ["sentiment_score:avg", "sentiment_calls:sum", "transcribed_calls:sum"],
            ["user_id", "start_at:month"], lazy=False)
        got = {(row["user_id"][0], row["start_at:month"]): (
            row["sentiment_score"], row["sentiment_calls"], row["transcribed_calls"])
            for row in rows}
        self.assertEqual(got, {
            # 8 and 3; the missed calls and the voicemail have no transcript.
            (self.realtor.id, "October 2026"): (5.5, 2, 2),
            # Transcribed, but not by 3CX: no score, and none counted.
            (self.other.id, "November 2026"): (False, 0, 1),
        })
        # A realtor's own figures, the same way.
        mine = self.Report.with_user(self.realtor).read_group(
            [], ["sentiment_score:avg", "sentiment_calls:sum"], ["user_id"], lazy=False)
        self.assertEqual([(r["sentiment_score"], r["sentiment_calls"]) for r in mine],
                         [(5.5, 2)])

    def test_calls_per_property(self):
        rows = self.figures(self.manager, ["property_id"], [("property_id", "=", self.prop.id)])
        self.assertEqual(rows[0]["__count"], 1)

    def test_a_realtor_sees_their_own_lines_only(self):
        mine = self.Report.with_user(self.realtor).search([])
        self.assertTrue(mine)
        self.assertEqual(mine.user_id, self.realtor)
        self.assertEqual(len(mine), 9)
        self.assertFalse(self.Report.with_user(self.other).search(
            [("user_id", "=", self.realtor.id)]))
        self.assertEqual(self.Report.with_user(self.manager).search_count(
            [("user_id", "in", [self.realtor.id, self.other.id])]), 10)


@tagged("post_install", "-at_install")
class TestCallReportTour(HttpCase, Realtor3cxMixin):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_realtor_3cx()
        cls.realtor.name = "Dash Realtor"
        other = new_test_user(
            cls.env, login="r3cx_dash_other", name="Dash Other",
            groups="realtor_3cx.realtor_3cx_group_user",
        )
        prop = cls.env["realtor.property"].create({"name": "1 Dashboard Way"})
        make_activity(cls.env, cls.server, cls.realtor, other, prop, prefix="dash")

    def test_dashboard_tour(self):
        self.start_tour(
            "/odoo/action-realtor_3cx.threecx_call_report_action",
            "realtor_3cx_dashboard_tour",
            login="r3cx_manager",
        )
