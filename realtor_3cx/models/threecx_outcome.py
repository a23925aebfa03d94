# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Call outcomes, and the follow-up activity each one plans.

Managers maintain these (Telephony > Configuration > Call Outcomes): a brokerage that books
showings by e-mail, or wants a call back in two days rather than one, changes a record, not
the code. The seeded outcomes (``data/threecx_outcome_data.xml``, ``noupdate``) are Follow Up
Boss's plus the realtor's own, so an upgrade never undoes a manager's edits.
"""

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class ThreecxOutcome(models.Model):
    _name = "threecx.outcome"
    _description = "Call outcome"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(
        required=True,
        help="A stable technical name (e.g. showing_booked) for integrations and tests; the "
        "name is what realtors see.",
    )
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    activity_type_id = fields.Many2one(
        "mail.activity.type",
        "Follow-up activity",
        ondelete="set null",
        help="The activity this outcome plans on the contact (or on the call without one). "
        "Leave empty when the outcome implies no follow-up.",
    )
    delay_days = fields.Integer(
        "Due in (days)", default=1, help="The follow-up is due this many days after the call."
    )
    summary = fields.Char(
        "Activity summary",
        translate=True,
        help="{contact} is replaced by the contact's name (or the number); the property, when "
        "the call is about one, is added at the end.",
    )
    assign_to = fields.Selection(
        [
            ("call_user", "The realtor on the call"),
            ("listing_agent", "The property's listing agent"),
            ("current_user", "Whoever records the outcome"),
        ],
        "Assign the follow-up to",
        default="call_user",
        required=True,
        help="With no property (or no listing agent) the follow-up goes to the realtor on the "
        "call, then to whoever records the outcome.",
    )

    _sql_constraints = [
        ("code_uniq", "UNIQUE(code)", "Another call outcome already uses this code."),
    ]

    @api.constrains("delay_days")
    def _check_delay_days(self):
        if any(outcome.delay_days < 0 for outcome in self):
            raise ValidationError(_("A follow-up cannot be due before the call."))

    def _followup_assignee(self, call):
        """The user the follow-up of ``call`` goes to, by this outcome's rule."""
        self.ensure_one()
        if self.assign_to == "listing_agent" and call.property_id.listing_agent_id:
            return call.property_id.listing_agent_id
        if self.assign_to == "current_user":
            return self.env.user
        return call.user_id or self.env.user

    def _followup_summary(self, call):
        self.ensure_one()
        who = call.partner_id.name or call.external_number or ""
        # A plain replace, not str.format: a manager's text must not reach format specifiers.
        summary = (self.summary or self.name).replace("{contact}", who)
        if call.property_id:
            summary = f"{summary} · {call.property_id.display_name}"
        return summary
