# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Speed to lead per realtor: one row per missed lead, for the managers' pivot and list.

A view of its own rather than more measures on the Telephony Dashboard's: its rows are the
missed leads, not the calls (a rate per lead must average over leads), and its realtor is the
one the lead is for now, after any passing on (``callback_user_id``), not the one it rang.
Like the dashboard's report, rates are ``avg`` over 0/100 columns, NULL where the lead does not
count, so that the average of any group is the group's true ratio:

* response time: seconds from the missed call to its first call back (called-back leads only);
* contact rate: the lead was reached by a later call, either way, that someone answered;
* connect rate: the call back itself was answered (called-back leads only);
* in time: called back before the deadline (open leads count once it passed).
"""

from odoo import fields, models, tools
from odoo.tools import SQL


class ThreecxSpeedToLeadReport(models.Model):
    _name = "threecx.speed.to.lead.report"
    _description = "Speed to lead report"
    _auto = False
    _order = "start_at desc"
    _rec_name = "start_at"
    _depends = {
        "threecx.call": [
            "start_at", "callback_user_id", "team_id", "company_id", "partner_id",
            "external_e164", "direction", "answer_at", "callback_deadline", "callback_call_id",
            "callback_seconds", "callback_met", "callback_passes", "user_id",
        ],
    }

    phone_call_id = fields.Many2one("threecx.call", "Missed call", readonly=True)
    start_at = fields.Datetime("Missed at", readonly=True)
    user_id = fields.Many2one("res.users", "Realtor", readonly=True)
    called_back_by_id = fields.Many2one("res.users", "Called back by", readonly=True)
    team_id = fields.Many2one("threecx.team", readonly=True)
    partner_id = fields.Many2one("res.partner", "Contact", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    leads = fields.Integer("Missed leads", readonly=True, aggregator="sum")
    leads_open = fields.Integer("Not called back", readonly=True, aggregator="sum")
    passes = fields.Integer("Times passed on", readonly=True, aggregator="sum")
    response_seconds = fields.Float(
        "Response time", readonly=True, aggregator="avg",
        help="From the missed call to its first call back, on average.")
    contact_rate = fields.Float(
        "Contact rate (%)", readonly=True, aggregator="avg",
        help="Share of the missed leads reached by a later answered call, either way.")
    connect_rate = fields.Float(
        "Connect rate (%)", readonly=True, aggregator="avg",
        help="Share of the call backs that the lead answered.")
    met_rate = fields.Float(
        "Called back in time (%)", readonly=True, aggregator="avg",
        help="Share of the missed leads called back before their deadline (leads still open "
        "count once their deadline has passed).")

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        # The contact check walks the calls of the lead's number through the index on
        # external_e164, for the leads only (callback_deadline's partial index).
        self.env.cr.execute(SQL(
            """
            CREATE OR REPLACE VIEW %s AS (
            SELECT c.id AS id,
                   c.id AS phone_call_id,
                   c.start_at,
                   c.callback_user_id AS user_id,
                   b.user_id AS called_back_by_id,
                   c.team_id,
                   c.partner_id,
                   c.company_id,
                   1 AS leads,
                   (c.callback_call_id IS NULL)::int AS leads_open,
                   COALESCE(c.callback_passes, 0) AS passes,
                   CASE WHEN b.id IS NOT NULL THEN c.callback_seconds END AS response_seconds,
                   CASE WHEN EXISTS (
                            SELECT 1 FROM threecx_call r
                             WHERE r.external_e164 = c.external_e164
                               AND r.company_id = c.company_id
                               AND r.direction != 'internal'
                               AND r.start_at >= c.start_at AND r.id != c.id
                               AND r.answer_at IS NOT NULL)
                        THEN 100.0 ELSE 0.0 END AS contact_rate,
                   CASE WHEN b.id IS NOT NULL
                        THEN CASE WHEN b.answer_at IS NOT NULL THEN 100.0 ELSE 0.0 END
                   END AS connect_rate,
                   CASE WHEN b.id IS NOT NULL
                        THEN CASE WHEN c.callback_met THEN 100.0 ELSE 0.0 END
                        WHEN c.callback_deadline < (now() AT TIME ZONE 'UTC') THEN 0.0
                   END AS met_rate
              FROM threecx_call c
              LEFT JOIN threecx_call b ON b.id = c.callback_call_id
             WHERE c.callback_deadline IS NOT NULL
            )
            """,
            SQL.identifier(self._table),
        ))
