# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The one check every outbound call passes: do-not-call and the contact's calling window.

Click-to-call (phone fields, the Missed Calls list, the calls tabs of contacts and properties),
browser calls and their transfers to an outside number all reach
``threecx.call._dial_check()``, which asks :meth:`ResPartner._realtor_3cx_outbound_block`;
other entry points (the CRM-template endpoints) call it directly.
"""

import pytz

from odoo import _, fields, models

from ..tools.phone import to_e164

DEFAULT_WINDOW = "08:00-21:00"


class ResPartner(models.Model):
    _inherit = "res.partner"

    def _realtor_3cx_outbound_block(self, number, when=None):
        """Whether an outbound call to ``number`` may be placed at ``when``, and why not.

        The contacts checked are ``self`` (the record the realtor called from, if any) and
        everyone the number belongs to, whatever the current user may read: a do-not-call
        flag on a contact the realtor cannot see still protects that person.

        :param str number: the number to call, in any format (national numbers are read in
            the company's country)
        :param datetime when: naive UTC; default now
        :returns: ``(e164, reason)``: the number to dial, and ``False`` or a sentence for the
            realtor (invalid number, do-not-call, outside the calling window)
        """
        destination = to_e164(number, self.env.company.country_id.code)
        if not destination:
            return False, _("%s is not a phone number 3CX can dial.", number or _("(empty)"))
        match = self.env["threecx.caller.lookup"].sudo().lookup(destination)
        partners = self.sudo().exists() | self.sudo().browse([p["id"] for p in match["partners"]])
        blocked = partners.filtered("do_not_call")
        if blocked:
            return destination, _(
                "%(name)s is on the do-not-call list: 3CX will not dial %(number)s.",
                name=blocked[0].name,
                number=destination,
            )
        window = self.env["ir.config_parameter"].sudo().get_param(
            "realtor_3cx.calling_window", DEFAULT_WINDOW
        )
        start, end = (w.strip() for w in window.split("-"))
        utc = pytz.utc.localize(when or fields.Datetime.now())
        for partner in partners.filtered("tz"):
            now = utc.astimezone(pytz.timezone(partner.tz)).strftime("%H:%M")
            if not start <= now < end:
                return destination, _(
                    "It is %(time)s for %(name)s (%(tz)s): calls are allowed between "
                    "%(start)s and %(end)s in the contact's time zone.",
                    time=now,
                    name=partner.name,
                    tz=partner.tz,
                    start=start,
                    end=end,
                )
        return destination, False

