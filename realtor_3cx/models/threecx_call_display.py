# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""How calls read in lists: numbers as the user writes them, and one Missed Calls row per caller.

Missed Calls shows, for each *owner* and caller, the caller's last missed call with how many
missed calls that caller left. The grouping key is :meth:`_missed_group_sql`, the one place
that says whose a missed call is (its realtor, else the realtor expected to call back, else
the team it rang, per company) and who the caller is (the E.164 number, else the number as 3CX
sent it).
"""

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools.phone import to_display
from .threecx_call_lead import MISSED_STATES


class ThreecxCallDisplayMixin(models.AbstractModel):
    """Display and Missed Calls grouping on ``threecx.call`` (composed there)."""

    _name = "threecx.call.display.mixin"
    _description = "Phone Call: display"

    external_number_display = fields.Char(
        "Number",
        compute="_compute_external_number_display",
        help="The other party's number as people write it in your country.",
    )
    missed_count = fields.Integer(
        "Missed calls",
        compute="_compute_missed_count",
        help="How many times this caller was missed (this call and the earlier ones).",
    )
    missed_caller_last = fields.Boolean(
        "Caller's last missed call",
        compute="_compute_missed_caller_last",
        search="_search_missed_caller_last",
    )

    @api.depends("external_number")
    @api.depends_context("uid")
    def _compute_external_number_display(self):
        region = self._display_region()
        for call in self:
            call.external_number_display = to_display(call.external_number, region)

    @api.model
    def _display_region(self):
        """The reader's country: their own, else their company's."""
        user = self.env.user
        return (user.country_id or user.company_id.country_id or self.env.company.country_id).code

    # -- Missed Calls: one row per caller ---------------------------------------------------------

    @api.model
    def _missed_group_sql(self, alias):
        """The columns that make one Missed Calls row: company, owner, caller. The owner is the
        realtor, else the one expected to call back, else the team a call nobody took rang
        (threecx_team.py): a team's missed caller is one row, the team's."""
        return SQL(
            "%(a)s.company_id, COALESCE(%(a)s.user_id, %(a)s.callback_user_id), "
            "CASE WHEN %(a)s.user_id IS NULL AND %(a)s.callback_user_id IS NULL "
            "THEN %(a)s.team_id END, "
            "COALESCE(%(a)s.external_e164, %(a)s.external_number)",
            a=SQL.identifier(alias),
        )

    @api.model
    def _missed_where_sql(self, alias):
        return SQL(
            "%(a)s.direction = 'inbound' AND %(a)s.state IN %(states)s",
            a=SQL.identifier(alias),
            states=MISSED_STATES,
        )

    def _compute_missed_caller_last(self):
        last = set(
            self.sudo().search([("missed_caller_last", "=", True), ("id", "in", self.ids)]).ids
        )
        for call in self:
            call.missed_caller_last = call.id in last

    def _search_missed_caller_last(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise NotImplementedError(f"missed_caller_last {operator} {value!r}")
        self.env["threecx.call"].flush_model()
        last = SQL(
            "(SELECT DISTINCT ON (%(key)s) c.id FROM threecx_call c WHERE %(where)s "
            "ORDER BY %(key)s, c.start_at DESC, c.id DESC)",
            key=self._missed_group_sql("c"),
            where=self._missed_where_sql("c"),
        )
        return [("id", "in" if (operator == "=") == value else "not in", last)]

    def _compute_missed_count(self):
        missed = self.filtered(
            lambda c: c.id and c.direction == "inbound" and c.state in MISSED_STATES
        )
        counts = {}
        if missed:
            self.env["threecx.call"].flush_model()
            # Earlier or same-time missed calls of the same row key, whoever may read them:
            # the row is the owner's, and so are the calls it counts.
            self.env.cr.execute(SQL(
                "SELECT c.id, count(o.id) FROM threecx_call c JOIN threecx_call o "
                "ON (%(ckey)s) IS NOT DISTINCT FROM (%(okey)s) AND %(owhere)s "
                "AND (o.start_at, o.id) <= (c.start_at, c.id) "
                "WHERE c.id IN %(ids)s GROUP BY c.id",
                ckey=self._missed_group_sql("c"),
                okey=self._missed_group_sql("o"),
                owhere=self._missed_where_sql("o"),
                ids=tuple(missed.ids),
            ))
            counts = dict(self.env.cr.fetchall())
        for call in self:
            call.missed_count = counts.get(call.id, 0)
