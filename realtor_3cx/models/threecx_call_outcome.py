# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The outcome prompt: a realtor's ended calls that still wait for an outcome.

The browser's docked outcome panel (``static/src/components/outcome_panel``) lists them from
here, not from page memory, so a reload, a second tab or another device shows the same calls.
A call leaves the list when its outcome is logged (from the panel or the call's form) or when
the realtor skips it; either way every tab of the realtor is told on the bus.
"""

import datetime

from odoo import _, api, fields, models
from odoo.tools import plaintext2html

BUS_OUTCOME_DONE = "realtor_3cx.call/outcome_done"
# Older calls are history, not a to-do: a prompt that would never end helps nobody.
PENDING_DAYS = 2
PENDING_LIMIT = 20


class ThreecxCallOutcomeMixin(models.AbstractModel):
    """The outcome prompt of ``threecx.call`` (composed there, see ``threecx_call.py``)."""

    _name = "threecx.call.outcome.mixin"
    _description = "Phone Call: outcome prompt"

    outcome_skipped = fields.Boolean(
        readonly=True,
        help="The realtor chose not to log an outcome for this call: it is no longer asked.",
    )

    @api.model
    def _outcome_pending_domain(self):
        since = fields.Datetime.now() - datetime.timedelta(days=PENDING_DAYS)
        return [
            ("user_id", "=", self.env.uid),
            ("state", "=", "completed"),
            ("outcome_id", "=", False),
            ("outcome_skipped", "=", False),
            ("end_at", ">=", since),
        ]

    @api.model
    def realtor_3cx_pending_outcomes(self):
        """The user's answered calls of the last days with no outcome yet, newest first.

        :returns: ``{"calls": [payload], "count": all of them}``
        """
        if not self.env.user.has_group("realtor_3cx.realtor_3cx_group_user"):
            return {"calls": [], "count": 0}
        domain = self._outcome_pending_domain()
        calls = self.search(domain, order="end_at desc, id desc", limit=PENDING_LIMIT)
        return {
            "calls": [call._outcome_payload() for call in calls],
            "count": self.search_count(domain),
        }

    def _outcome_payload(self):
        self.ensure_one()
        return {
            "id": self.id,
            "direction": self.direction,
            "number": self.external_number or "",
            # As the realtor writes numbers (threecx_call_display.py), like the pop-up's.
            "number_display": self._number_for(self.user_id) if self.external_number else "",
            "partner": {"id": self.partner_id.id, "name": self.partner_id.name}
            if self.partner_id
            else False,
            "property": {"id": self.property_id.id, "name": self.property_id.display_name}
            if self.property_id
            else False,
            "end_at": fields.Datetime.to_string(self.end_at) if self.end_at else False,
            "talk_seconds": self.talk_seconds,
            # The summary and suggested outcome, once transcribed (threecx_call_debrief.py).
            **self._debrief_payload(),
        }

    def action_save_outcome(self, outcome_id=False, notes=False, followup_date=False,
                            summary=False):
        """What the realtor learned on the call, and when to follow up.

        ``summary`` is the call's summary as the realtor left it in the prompt (3CX's, edited
        or not): the notes keep it, above what they typed.

        The outcome plans its configured follow-up (``threecx.call._schedule_outcome_followup``),
        due on ``followup_date`` when the realtor chose one; a date with an outcome that plans
        nothing (or with no outcome) plans a call back on that day. Without an outcome the call
        is still done with: the notes are what was learned.
        """
        self.ensure_one()
        day = fields.Date.to_date(followup_date) if followup_date else False
        text = "\n\n".join(part.strip() for part in (summary, notes) if part and part.strip())
        values = {"notes": text or False}
        if outcome_id:
            values["outcome_id"] = outcome_id
        self.with_context(realtor_3cx_followup_date=day).write(values)
        if day and not self.outcome_id.activity_type_id:
            self._outcome_schedule_call_back(day)
        if not self.outcome_id:
            self.action_skip_outcome()
        return True

    def action_skip_outcome(self):
        """Stop asking for these calls' outcome (the realtor's own calls only)."""
        self.check_access("write")
        # The flag is the prompt's, not something 3CX reported: the realtor may set it on a
        # call they may write, which check_access just verified.
        self.sudo().write({"outcome_skipped": True})
        return True

    def _outcome_schedule_call_back(self, day):
        self.ensure_one()
        who = self.partner_id.name or self.external_number or ""
        target = self.partner_id.sudo() or self
        target.activity_schedule(
            "mail.mail_activity_data_call",
            date_deadline=day,
            summary=_("Follow up with %s", who),
            note=plaintext2html(self.notes) if self.notes else "",
            user_id=(self.user_id or self.env.user).id,
        )

    def _outcome_prompt_done(self):
        """Tell the realtor's tabs that these calls no longer wait for an outcome."""
        for call in self:
            if call.user_id and (call.outcome_id or call.outcome_skipped):
                call.user_id.partner_id._bus_send(BUS_OUTCOME_DONE, {"id": call.id})
