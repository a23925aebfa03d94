# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The Telephony dashboard: one row per call, with every measure a manager pivots on.

A SQL view rather than stored fields on ``threecx.call``: the measures (0/1 flags, 0/100
rates) exist for reporting only, and a view keeps them consistent with the calls at no write
cost. Rows stay at call granularity so that every measure is right at *any* grouping the
pivot or graph asks for:

* counts are sums of 0/1 columns;
* rates are ``avg`` over 0/100 columns, NULL where the call does not count (an outbound call
  has no answer rate), so the average of a group is the group's true ratio;
* the median time to call back cannot be an ``avg`` or a ``sum`` of anything: read_group has
  no median aggregator, so :meth:`_read_group_select` computes ``percentile_cont(0.5)`` for
  that one field in the same GROUP BY, over the calls of each cell.

The realtor of a row is the one on the call, else the one expected to call back; a team call
nobody took has none, and its row is the team's (``team_id``).
"""

from odoo import fields, models, tools
from odoo.tools import SQL

from .threecx_call import CALL_STATES

MEDIAN_FIELDS = ("callback_median_seconds",)


class ThreecxCallReport(models.Model):
    _name = "threecx.call.report"
    _description = "Telephony report"
    _auto = False
    _order = "start_at desc"
    _rec_name = "start_at"
    # What the view reads: the ORM flushes these before querying it.
    _depends = {
        "threecx.call": [
            "start_at", "user_id", "callback_user_id", "partner_id", "property_id",
            "company_id", "direction", "state", "outcome_id", "answer_at", "talk_seconds",
            "ring_seconds", "callback_deadline", "callback_call_id", "callback_seconds",
            "callback_met", "team_id", "transcript_state", "sentiment_score",
        ],
    }

    phone_call_id = fields.Many2one("threecx.call", "Call", readonly=True)
    start_at = fields.Datetime("Date", readonly=True)
    user_id = fields.Many2one("res.users", "Realtor", readonly=True)
    team_id = fields.Many2one("threecx.team", readonly=True)
    partner_id = fields.Many2one("res.partner", "Contact", readonly=True)
    property_id = fields.Many2one("realtor.property", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    direction = fields.Selection(
        [("inbound", "Inbound"), ("outbound", "Outbound"), ("internal", "Internal")],
        readonly=True,
    )
    state = fields.Selection(CALL_STATES, "Status", readonly=True)
    outcome_id = fields.Many2one("threecx.outcome", readonly=True)
    calls_made = fields.Integer("Calls made", readonly=True, aggregator="sum")
    calls_received = fields.Integer("Calls received", readonly=True, aggregator="sum")
    calls_answered = fields.Integer("Calls answered", readonly=True, aggregator="sum")
    calls_missed = fields.Integer("Missed calls", readonly=True, aggregator="sum")
    property_calls = fields.Integer("Calls about a property", readonly=True, aggregator="sum")
    answer_rate = fields.Float(
        "Answer rate (%)",
        readonly=True,
        aggregator="avg",
        help="Share of the finished inbound calls that someone answered.",
    )
    talk_seconds = fields.Integer("Talk time", readonly=True, aggregator="sum")
    ring_seconds = fields.Integer("Ring time", readonly=True, aggregator="sum")
    leads = fields.Integer("Missed leads", readonly=True, aggregator="sum")
    leads_open = fields.Integer("Leads not called back", readonly=True, aggregator="sum")
    callback_seconds = fields.Float("Mean time to call back", readonly=True, aggregator="avg")
    callback_median_seconds = fields.Float(
        "Median time to call back",
        readonly=True,
        # Declared avg so the web client offers it as a measure; _read_group_select makes it
        # the median.
        aggregator="avg",
    )
    callback_met_rate = fields.Float(
        "Called back in time (%)",
        readonly=True,
        aggregator="avg",
        help="Share of the missed leads called back before their deadline (leads still open "
        "count once their deadline has passed).",
    )

    # 3CX's sentiment of the transcribed calls, per realtor and month (a score of 0 is none:
    # 3CX gave none, or the call was transcribed on this machine, which scores nothing).
    transcribed_calls = fields.Integer("Transcribed calls", readonly=True, aggregator="sum")
    sentiment_calls = fields.Integer(
        "Calls with a sentiment",
        readonly=True,
        aggregator="sum",
        help="Transcribed calls 3CX scored: the calls the sentiment is the average of.",
    )
    sentiment_score = fields.Float(
        "Sentiment",
        readonly=True,
        aggregator="avg",
        help="The average of 3CX's sentiment scores (1 to 10, higher is more positive) of the "
        "calls it scored.",
    )

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
                CREATE OR REPLACE VIEW %s AS (
                SELECT c.id AS id,
                       c.id AS phone_call_id,
                       c.start_at,
                       COALESCE(c.user_id, c.callback_user_id) AS user_id,
                       c.team_id,
                       c.partner_id,
                       c.property_id,
                       c.company_id,
                       c.direction,
                       c.state,
                       c.outcome_id,
                       (c.direction = 'outbound')::int AS calls_made,
                       (c.direction = 'inbound')::int AS calls_received,
                       (c.answer_at IS NOT NULL)::int AS calls_answered,
                       (c.direction = 'inbound'
                        AND c.state IN ('missed', 'voicemail'))::int AS calls_missed,
                       (c.property_id IS NOT NULL)::int AS property_calls,
                       CASE WHEN c.direction = 'inbound'
                                 AND c.state NOT IN ('ringing', 'dialing', 'connected')
                            THEN CASE WHEN c.answer_at IS NOT NULL THEN 100.0 ELSE 0.0 END
                       END AS answer_rate,
                       c.talk_seconds,
                       c.ring_seconds,
                       (c.callback_deadline IS NOT NULL)::int AS leads,
                       (c.callback_deadline IS NOT NULL
                        AND c.callback_call_id IS NULL)::int AS leads_open,
                       CASE WHEN c.callback_call_id IS NOT NULL
                            THEN c.callback_seconds END AS callback_seconds,
                       CASE WHEN c.callback_call_id IS NOT NULL
                            THEN c.callback_seconds END AS callback_median_seconds,
                       CASE WHEN c.callback_call_id IS NOT NULL
                            THEN CASE WHEN c.callback_met THEN 100.0 ELSE 0.0 END
                            WHEN c.callback_deadline < (now() AT TIME ZONE 'UTC') THEN 0.0
                       END AS callback_met_rate,
                       (c.transcript_state = 'done')::int AS transcribed_calls,
                       (c.transcript_state = 'done'
                        AND COALESCE(c.sentiment_score, 0) <> 0)::int AS sentiment_calls,
                       CASE WHEN c.transcript_state = 'done' AND c.sentiment_score <> 0
                            THEN c.sentiment_score END AS sentiment_score
                  FROM threecx_call c
                 WHERE c.direction != 'internal'
                )
                """,
                SQL.identifier(self._table),
            )
        )

    def _read_group(self, domain, groupby=(), aggregates=(), having=(), offset=0, limit=None,
                    order=None):
        # The dashboard's groupings come from the roll-up (threecx_call_rollup.py) when it has
        # exactly the view's figures for them; any other from the view.
        rows = self.env["threecx.call.rollup"]._read_group_report(
            self, domain, groupby, aggregates, having, offset, limit, order)
        if rows is None:
            rows = super()._read_group(domain, groupby, aggregates, having, offset, limit, order)
        return rows

    def _read_group_select(self, aggregate_spec, query):
        fname = aggregate_spec.split(":")[0]
        if fname in MEDIAN_FIELDS:
            # The median of the group's calls (NULLs, i.e. calls without a call back, skipped).
            sql_field = self._field_to_sql(self._table, fname, query)
            return SQL("percentile_cont(0.5) WITHIN GROUP (ORDER BY %s)", sql_field)
        return super()._read_group_select(aggregate_spec, query)
