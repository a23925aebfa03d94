# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Leads on the phone: speed to lead, and calls to a listing's own number.

Speed to lead: how fast a missed lead was called back.

A missed inbound call (missed or sent to voicemail) from a *lead* gets a call-back deadline:
its start plus ``realtor_3cx.speed_to_lead_minutes`` (default 15). A lead is

* an unknown number (no contact matched), or
* a *new* contact: created less than ``realtor_3cx.lead_new_days`` days ago (default 30), or
* an *active* contact: an open activity, a property in progress (owner or interested), or
  another call in the last ``realtor_3cx.lead_active_days`` days (default 90).

With several candidate contacts (a shared number), one lead among them is enough.

The first *outbound* call to the same E.164 number after the missed call settles it, answered
or not: what is measured is the realtor's reaction, not whether the lead picked up. The
missed call then stores the seconds from its start to the call back, whether the deadline
was met and the call that settled it. Every outbound call goes through ``create()``, whether
the worker logs it, a test or the CRM-template journal does, so ``threecx.call``'s ``create()``
and ``write()`` (of a state) run :meth:`_realtor_3cx_speed_to_lead` rather than the worker's
sync path.

Listing lines: a call to a property's listing phone (its DID, see ``realtor.property``) is
logged on that property by the caller lookup, rings the listing agent's pop-up and gives them
the call-back activity (``threecx_call_sync.py``).
"""

import datetime

from odoo import fields, models

MISSED_STATES = ("missed", "voicemail")
# An inbound call in these states reached someone: the caller no longer needs a call back.
REACHED_STATES = ("connected", "completed", "transferred")
DEFAULT_DEADLINE_MINUTES = 15
DEFAULT_NEW_DAYS = 30
DEFAULT_ACTIVE_DAYS = 90


class ThreecxCallLeadMixin(models.AbstractModel):
    """Speed to lead and listing lines on ``threecx.call`` (composed there)."""

    _name = "threecx.call.lead.mixin"
    _description = "Phone Call: speed to lead"

    callback_deadline = fields.Datetime(
        "Call back by",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="Speed to lead: a missed call from a new or active contact must be called back "
        "by then.",
    )
    callback_user_id = fields.Many2one(
        "res.users",
        "To call back",
        readonly=True,
        copy=False,
        ondelete="set null",
        help="The realtor the call back is expected from: the listing agent of the dialled "
        "property, else the realtor the call rang for.",
    )
    callback_call_id = fields.Many2one(
        "threecx.call", "Called back by", readonly=True, copy=False, ondelete="set null"
    )
    callback_seconds = fields.Integer(
        "Time to call back", readonly=True, copy=False, aggregator="avg"
    )
    callback_met = fields.Boolean("Called back in time", readonly=True, copy=False)

    def _realtor_3cx_speed_to_lead(self):
        """Start the deadline of missed leads; settle earlier missed calls an outbound answers."""
        missed = self.filtered(
            lambda c: c.direction == "inbound"
            and c.state in MISSED_STATES
            and not c.callback_deadline
        )
        for call in missed:
            if call._is_lead():
                call.sudo().write(call._callback_deadline_values())
                call._settle_by_earlier_logged_call_back()
        outbound = self.filtered(lambda c: c.direction == "outbound" and c.external_e164)
        for call in outbound:
            call._settle_callbacks()
        # The caller is reached (called back, or they rang again and got through): the
        # call-back activities of their earlier missed calls are done.
        reached = outbound | self.filtered(
            lambda c: c.direction == "inbound" and c.state in REACHED_STATES and c.external_e164
        )
        for call in reached:
            call._close_call_back_activities()

    def _is_lead(self):
        self.ensure_one()
        partners = self.partner_id | self.candidate_partner_ids
        if not partners:
            return True
        get_param = self.env["ir.config_parameter"].sudo().get_param
        new_days = int(get_param("realtor_3cx.lead_new_days", DEFAULT_NEW_DAYS))
        active_days = int(get_param("realtor_3cx.lead_active_days", DEFAULT_ACTIVE_DAYS))
        partners = partners.sudo()
        since_new = self.start_at - datetime.timedelta(days=new_days)
        if any(p.create_date and p.create_date >= since_new for p in partners):
            return True
        if partners.activity_ids:
            return True
        properties = partners.realtor_owned_property_ids | partners.realtor_interest_property_ids
        if properties.filtered(lambda p: p.listing_status in ("active", "under_contract")):
            return True
        return bool(
            self.sudo().search_count(
                [
                    ("partner_id", "in", partners.ids),
                    ("id", "!=", self.id),
                    ("start_at", ">=", self.start_at - datetime.timedelta(days=active_days)),
                    ("start_at", "<", self.start_at),
                ],
                limit=1,
            )
        )

    def _callback_deadline_values(self):
        self.ensure_one()
        minutes = int(
            self.env["ir.config_parameter"].sudo().get_param(
                "realtor_3cx.speed_to_lead_minutes", DEFAULT_DEADLINE_MINUTES
            )
        )
        deadline = self.start_at + datetime.timedelta(minutes=minutes)
        return {
            "callback_deadline": deadline,
            "callback_user_id": (self._did_listing_agent() or self.user_id).id,
            # Not called back by then: passed on (threecx_speed_to_lead.py).
            "callback_reassign_at": deadline,
        }

    def _settle_by_earlier_logged_call_back(self):
        """The call back may be logged first: the worker can write a realtor's instant call
        back before the missed call's own end (they are different 3CX calls)."""
        self.ensure_one()
        if not self.external_e164:
            return
        later = self.sudo().search(
            [
                ("external_e164", "=", self.external_e164),
                ("direction", "=", "outbound"),
                ("start_at", ">=", self.start_at),
                ("company_id", "=", self.company_id.id),
            ],
            order="start_at, id",
            limit=1,
        )
        if later:
            later._settle_callbacks()

    def _settle_callbacks(self):
        """This outbound call answers every open missed lead from its number that came before."""
        self.ensure_one()
        missed = self.sudo().search(
            [
                ("external_e164", "=", self.external_e164),
                ("direction", "=", "inbound"),
                ("callback_deadline", "!=", False),
                ("callback_call_id", "=", False),
                ("start_at", "<=", self.start_at),
                ("company_id", "=", self.company_id.id),
            ]
        )
        for lead in missed:
            lead.write(
                {
                    "callback_call_id": self.id,
                    "callback_seconds": int((self.start_at - lead.start_at).total_seconds()),
                    "callback_met": self.start_at <= lead.callback_deadline,
                    "callback_reassign_at": False,  # settled: not passed on any more
                    # A team call nobody was named for: whoever called back owns the figure.
                    "callback_user_id": (lead.callback_user_id or self.user_id).id,
                }
            )

    def _close_call_back_activities(self):
        """Mark done the call-back activities of the missed calls from this call's number
        that came before it (``threecx_call_sync._schedule_call_back`` planned them)."""
        self.ensure_one()
        call_type = self.env.ref("mail.mail_activity_data_call", raise_if_not_found=False)
        if not call_type:
            return
        missed = self.sudo().search(
            [
                ("external_e164", "=", self.external_e164),
                ("direction", "=", "inbound"),
                ("state", "in", MISSED_STATES),
                ("start_at", "<=", self.start_at),
                ("id", "!=", self.id),
                ("company_id", "=", self.company_id.id),
                ("activity_ids.activity_type_id", "=", call_type.id),
            ]
        )
        activities = missed.activity_ids.filtered(lambda a: a.activity_type_id == call_type)
        if not activities:
            return
        if self.direction == "outbound":
            feedback = self.env._("Called back by %s.", self.user_id.name or self.extension)
        else:
            feedback = self.env._("The caller rang again and was answered.")
        # As superuser: whoever reached the caller closes the activity, whoever it was for.
        activities.sudo().action_feedback(feedback=feedback)

    def _did_listing_agent(self):
        """The listing agent of the property whose listing line (DID) this call dialled."""
        self.ensure_one()
        prop = self.property_id.sudo()
        if self.direction != "inbound" or not self.did_e164 or not prop:
            return self.env["res.users"]
        if prop.listing_phone_e164 != self.did_e164:
            return self.env["res.users"]  # linked through the caller, not the number dialled
        return prop.listing_agent_id
