# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The managers' dialer report: one row per call placed from a dialer session.

A SQL view, like the Telephony dashboard (threecx_call_report.py), at call granularity so
that every measure is right at any grouping:

* calls, connects and conversations are sums of 0/1 columns; connect and conversation rates
  are ``avg`` over 0/100 columns, so a group's average is its true ratio;
* calls per hour is a ratio of two sums: each row carries its share of its session's time
  (the session's length divided by the calls placed in it), and :meth:`_read_group_select`
  divides the group's calls by the group's hours. Grouped by realtor, list or day, the hours
  are the sessions' own; a session in which no call was placed is not counted.

A call belongs to the session of its realtor and list that was open when it was dialled. An
entry keeps one call: a saved search's entry called again another day shows its last call.
"""

from odoo import fields, models, tools
from odoo.tools import SQL

# A conversation is a connect in which the realtor and the contact talked at least this
# long (2 minutes, the figure power-dialer reports commonly use), not a quick "not now".
CONVERSATION_SECONDS = 120


class ThreecxDialerReport(models.Model):
    _name = "threecx.dialer.report"
    _description = "Dialer Report"
    _auto = False
    _order = "dialed_at desc"
    _rec_name = "dialed_at"

    dialed_at = fields.Datetime("Dialled", readonly=True)
    user_id = fields.Many2one("res.users", "Realtor", readonly=True)
    list_id = fields.Many2one("threecx.dialer.list", readonly=True)
    session_id = fields.Many2one("threecx.dialer.session", readonly=True)
    partner_id = fields.Many2one("res.partner", "Contact", readonly=True)
    phone_call_id = fields.Many2one("threecx.call", "Call", readonly=True)
    outcome_id = fields.Many2one("threecx.outcome", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    calls = fields.Integer(readonly=True, aggregator="sum")
    connects = fields.Integer(readonly=True, aggregator="sum",
                              help="Calls the contact answered.")
    conversations = fields.Integer(
        readonly=True, aggregator="sum",
        help=f"Answered calls with at least {CONVERSATION_SECONDS // 60} minutes of talk.")
    connect_rate = fields.Float("Connect rate (%)", readonly=True, aggregator="avg")
    conversation_rate = fields.Float("Conversation rate (%)", readonly=True, aggregator="avg")
    talk_seconds = fields.Integer("Talk time", readonly=True, aggregator="sum")
    session_hours = fields.Float(
        "Hours dialling", readonly=True, aggregator="sum", digits=(16, 2),
        help="The time of the dialer sessions these calls were placed in.")
    calls_per_hour = fields.Float(
        "Calls per hour", readonly=True, digits=(16, 1),
        # Declared avg so the web client offers it as a measure; _read_group_select makes it
        # the group's calls over the group's hours.
        aggregator="avg")

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(SQL(
            """
            CREATE OR REPLACE VIEW %(view)s AS (
            WITH dialed AS (
                -- The realtor is the call's: an entry reopened for another day has no
                -- taker any more, but keeps the call it placed.
                SELECT e.id, e.dialed_at, COALESCE(c.user_id, e.user_id) AS user_id,
                       e.list_id, e.partner_id, e.company_id, e.call_id
                  FROM threecx_dialer_entry e
                  JOIN threecx_call c ON c.id = e.call_id
                 WHERE e.dialed_at IS NOT NULL
            ), placed AS (
                SELECT d.*,
                       (SELECT s.id FROM threecx_dialer_session s
                         WHERE s.user_id = d.user_id AND s.list_id = d.list_id
                           AND s.create_date <= d.dialed_at
                      ORDER BY s.create_date DESC LIMIT 1) AS session_id
                  FROM dialed d
            ), sessions AS (
                SELECT p.session_id,
                       COUNT(*) AS calls,
                       -- A session still running ends, for the report, at its last call.
                       EXTRACT(EPOCH FROM COALESCE(s.ended_at, MAX(p.dialed_at))
                               - s.create_date) / 3600.0 AS hours
                  FROM placed p JOIN threecx_dialer_session s ON s.id = p.session_id
              GROUP BY p.session_id, s.ended_at, s.create_date
            )
            SELECT p.id AS id,
                   p.dialed_at,
                   p.user_id,
                   p.list_id,
                   p.session_id,
                   p.partner_id,
                   p.call_id AS phone_call_id,
                   c.outcome_id,
                   COALESCE(p.company_id, c.company_id) AS company_id,
                   1 AS calls,
                   (c.answer_at IS NOT NULL)::int AS connects,
                   (c.answer_at IS NOT NULL
                    AND COALESCE(c.talk_seconds, 0) >= %(conversation)s)::int AS conversations,
                   CASE WHEN c.answer_at IS NOT NULL THEN 100.0 ELSE 0.0 END AS connect_rate,
                   CASE WHEN c.answer_at IS NOT NULL
                             AND COALESCE(c.talk_seconds, 0) >= %(conversation)s
                        THEN 100.0 ELSE 0.0 END AS conversation_rate,
                   COALESCE(c.talk_seconds, 0) AS talk_seconds,
                   COALESCE(GREATEST(s.hours, 0) / s.calls, 0) AS session_hours,
                   NULL::float AS calls_per_hour
              FROM placed p
              JOIN threecx_call c ON c.id = p.call_id
         LEFT JOIN sessions s ON s.session_id = p.session_id
            )
            """,
            view=SQL.identifier(self._table), conversation=CONVERSATION_SECONDS,
        ))

    def _read_group_select(self, aggregate_spec, query):
        if aggregate_spec.split(":")[0] == "calls_per_hour":
            calls = self._field_to_sql(self._table, "calls", query)
            hours = self._field_to_sql(self._table, "session_hours", query)
            return SQL("SUM(%s) / NULLIF(SUM(%s), 0)", calls, hours)
        return super()._read_group_select(aggregate_spec, query)
