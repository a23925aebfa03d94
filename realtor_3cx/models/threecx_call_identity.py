# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Who the caller is, as the realtor settles it from the pop-up.

* **Pick**: when several contacts share the number, the realtor's choice becomes the call's
  contact (the candidates stay on the call, for the record). Everything that reads the call's
  contact then follows it: the outcome prompt, its follow-up, the chatter summary, the
  contact's Calls count, the reports.
* **Create contact**: an unknown caller becomes a contact pre-filled from the call (the number,
  the name 3CX showed, the time zone of the number's region). Once saved, the ringing call and
  the earlier calls from that number that had nobody are linked to it.
* **Listing line**: a call is about a listing's line only when the dialled number (DID) is that
  listing's phone; a property found through the caller (an owner ringing the realtor's own
  extension) is theirs, not "the listing line".

Each change is pushed to the realtor's tabs (``realtor_3cx.call/updated``), so the card shows
the contact at once.
"""

from odoo import _, fields, models
from odoo.exceptions import AccessError, ValidationError

from ..tools.phone_tz import time_zone_for
from ..tools.record_id import as_record_id
from .threecx_call_sync import LIVE_STATES

BUS_UPDATED = "realtor_3cx.call/updated"
# The context key that tells res.partner.create() which call a new contact is created from.
CREATED_FROM_CALL = "realtor_3cx_from_call_id"


class ThreecxCallIdentityMixin(models.AbstractModel):
    """The caller's identity on ``threecx.call`` (composed there)."""

    _name = "threecx.call.identity.mixin"
    _description = "Phone Call: the caller's identity"

    external_name = fields.Char(
        "Caller name", readonly=True, help="The name 3CX showed for the caller (caller ID)."
    )

    def _identity_payload(self):
        """What the pop-up needs to say who called and about what (part of the bus payload)."""
        self.ensure_one()
        return {"name": self.external_name or "", "listing_line": self._is_listing_line()}

    def _is_listing_line(self):
        """True when the caller dialled the call's property's own listing number (DID)."""
        self.ensure_one()
        return bool(
            self.property_id
            and self.did_e164
            and self.property_id.sudo().listing_phone_e164 == self.did_e164
        )

    # -- whose call it is to settle --------------------------------------------------------------

    def _identity_as_concerned(self):
        """The call as superuser, for a user its pop-up is shown to; AccessError otherwise.

        The pop-up shows the call to more people than may write it: the listing agent of the
        dialled line, and every realtor a team call rings before anyone has it.
        """
        self.ensure_one()
        call = self.sudo()
        if self.env.su:
            return call
        user = self.env.user
        if user.has_group("realtor_3cx.realtor_3cx_group_user") and call.company_id in (
            self.env.companies
        ):
            if user.has_group("realtor_3cx.realtor_3cx_group_manager"):
                return call
            if user == call.user_id or user in call._did_listing_agent():
                return call
            if not call.user_id and call.state in LIVE_STATES:
                return call  # a team call ringing: any realtor may answer it
        raise AccessError(_("This call is not yours to settle."))

    # -- pick one of the contacts sharing the number ---------------------------------------------

    def action_pick_contact(self, partner_id):
        """Settle an ambiguous call on one of its candidates (they stay on the call)."""
        self.ensure_one()
        call = self._identity_as_concerned()
        partner_id = as_record_id(partner_id)
        if not partner_id or partner_id not in call.candidate_partner_ids.ids:
            raise ValidationError(_("That contact is not one of the call's possible contacts."))
        if call.partner_id.id != partner_id:
            call.partner_id = partner_id
            call._identity_notify()
        return True

    # -- create a contact from the call -----------------------------------------------------------

    def action_create_contact(self):
        """The contact form, pre-filled from the call; saving it links the call (see
        :meth:`_identity_link_new_contacts`)."""
        self.ensure_one()
        call = self._identity_as_concerned()
        region = call.company_id.country_id.code or self.env.company.country_id.code
        return {
            "type": "ir.actions.act_window",
            "res_model": "res.partner",
            "views": [[False, "form"]],
            "target": "current",
            "context": {
                # E.164: the form's country may differ from the company's, and a national
                # number would then be read in the wrong country.
                "default_phone": call.external_e164 or call.external_number or False,
                "default_name": self._caller_name(call.external_name),
                # The caller's zone, not the realtor's (res.partner defaults tz to the
                # user's): the calling window of the new contact is kept in it. False when
                # the number says nothing, so the realtor chooses.
                "default_tz": time_zone_for(call.external_number, region) or False,
                CREATED_FROM_CALL: call.id,
            },
        }

    @staticmethod
    def _caller_name(name):
        """The caller ID name as a contact's name: "" when it is only the number; CNAM's
        upper case ("DANA BUYER") written as a name ("Dana Buyer"), other names as given."""
        name = (name or "").strip()
        if not any(c.isalpha() for c in name):
            return ""
        return name.title() if name.isupper() else name

    def _identity_link_new_contacts(self, partners):
        """Link ``partners`` (just created from this call) to it and to the earlier calls
        from its number that had no contact: called by ``res.partner.create()``."""
        self.ensure_one()
        call = self._identity_as_concerned()
        number = call.external_e164
        partner = number and partners.filtered(
            lambda p: number in (p.phone_e164, p.mobile_e164)
        )[:1]
        if not partner:
            return  # another contact saved from the same form (a child, a second "New")
        # Calls that matched several contacts are left alone: the number was theirs then, and
        # the new contact is not one of them.
        calls = self.sudo().search(
            [
                ("external_e164", "=", number),
                ("partner_id", "=", False),
                ("candidate_partner_ids", "=", False),
                ("company_id", "=", call.company_id.id),
                ("start_at", "<=", call.start_at),
                ("direction", "!=", "internal"),
            ]
        )
        calls.partner_id = partner
        if call in calls:
            call._identity_notify()

    # -- tell the realtor's tabs ------------------------------------------------------------------

    def _identity_notify(self):
        """The live call's new identity, to the pop-ups showing it (every tab of theirs)."""
        self.ensure_one()
        call = self.sudo()
        if call.state not in LIVE_STATES:
            return
        # The worker's payload (caller lookup as superuser, like the ringing one), so the card
        # lists the new or picked contact with their properties.
        payload = call._ringing_payload()
        users = self.env.user | call.user_id | call._did_listing_agent()
        for user in users.filtered(lambda u: not u.share):
            user.partner_id._bus_send(BUS_UPDATED, payload)
