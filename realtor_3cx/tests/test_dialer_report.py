# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The managers' dialer report: calls per hour, connects, conversations, outcomes."""

import datetime

from odoo.tests import new_test_user

from .common import Realtor3cxCase

T = datetime.datetime(2026, 11, 30, 15, 0)


class TestDialerReport(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other = new_test_user(cls.env, login="r3cx_dialer_other",
                                  groups="realtor_3cx.realtor_3cx_group_user")
        cls.booked = cls.env.ref("realtor_3cx.threecx_outcome_left_message")
        cls.lst = cls.env["threecx.dialer.list"].create({"name": "Expired listings"})
        cls.session = cls._session(cls.realtor, T, T + datetime.timedelta(minutes=30))
        cls._session(cls.other, T, T + datetime.timedelta(minutes=60))
        # The realtor: three calls in half an hour (one conversation of 3 minutes, one quick
        # connect of 40 s, one unanswered); the other realtor: one connect in an hour.
        cls._placed(cls.realtor, 1, T + datetime.timedelta(minutes=2), talk=180,
                    outcome=cls.booked)
        cls._placed(cls.realtor, 2, T + datetime.timedelta(minutes=10), talk=40)
        cls._placed(cls.realtor, 3, T + datetime.timedelta(minutes=20), talk=None)
        cls._placed(cls.other, 4, T + datetime.timedelta(minutes=5), talk=30)

    @classmethod
    def _session(cls, user, start, end):
        session = cls.env["threecx.dialer.session"].create({
            "user_id": user.id, "list_id": cls.lst.id, "state": "ended", "ended_at": end})
        # create_date is the ORM's; the report reads it as the session's start.
        cls.env.cr.execute("UPDATE threecx_dialer_session SET create_date = %s WHERE id = %s",
                           [start, session.id])
        return session

    @classmethod
    def _placed(cls, user, n, when, talk, outcome=None):
        partner = cls.env["res.partner"].create({"name": f"Dialer contact {n}",
                                                 "phone": f"+1555010877{n}"})
        answered = talk is not None
        call = cls.env["threecx.call"].create({
            "server_id": cls.server.id, "call_id": f"dialer-report-{n}",
            "direction": "outbound", "state": "completed" if answered else "failed",
            "external_number": partner.phone, "user_id": user.id, "partner_id": partner.id,
            "start_at": when, "answer_at": answered and when + datetime.timedelta(seconds=5),
            "end_at": when + datetime.timedelta(seconds=5 + (talk or 25)),
            "outcome_id": outcome and outcome.id,
        })
        cls.env["threecx.dialer.entry"].create({
            "list_id": cls.lst.id, "partner_id": partner.id, "phone": partner.phone,
            "state": "called", "user_id": user.id, "dialed_at": when, "call_id": call.id})

    def _report(self, user, groupby):
        Report = self.env["threecx.dialer.report"].with_user(user)
        Report.flush_model()
        return {
            group[0]: group[1:]
            for group in Report._read_group(
                [], groupby, ["calls:sum", "calls_per_hour:avg", "connects:sum",
                              "conversations:sum", "connect_rate:avg"])
        }

    def test_per_realtor_calls_per_hour_connects_and_conversations(self):
        rows = self._report(self.manager, ["user_id"])
        calls, per_hour, connects, conversations, rate = rows[self.realtor]
        self.assertEqual((calls, connects, conversations), (3, 2, 1))
        self.assertAlmostEqual(per_hour, 6.0, places=6)  # 3 calls in half an hour
        self.assertAlmostEqual(rate, 200 / 3, places=6)
        calls, per_hour, connects, conversations, _rate = rows[self.other]
        self.assertEqual((calls, connects, conversations), (1, 1, 0))
        self.assertAlmostEqual(per_hour, 1.0, places=6)
        # The whole list: 4 calls in the sessions' 1.5 hours, not an average of the two.
        (total,) = self._report(self.manager, ["list_id"]).values()
        self.assertAlmostEqual(total[1], 4 / 1.5, places=6)

    def test_outcomes_and_each_realtors_own_lines(self):
        rows = self._report(self.manager, ["outcome_id"])
        self.assertEqual(rows[self.booked][0], 1)
        self.assertEqual(sum(row[0] for row in rows.values()), 4)
        mine = self._report(self.realtor, ["user_id"])
        self.assertEqual(list(mine), [self.realtor])
        self.assertEqual(mine[self.realtor][0], 3)
        self.assertEqual(
            self.env["threecx.dialer.report"].with_user(self.other).search_count([]), 1)
