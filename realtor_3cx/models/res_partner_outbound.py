# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The one check every outbound call passes: do-not-call and the contact's calling window.

Click-to-call (phone fields, the Missed Calls list, the calls tabs of contacts and properties),
browser calls and their transfers to an outside number all reach
``threecx.call._dial_check()``, which asks ``res.partner``'s
:meth:`ThreecxOutboundMixin._realtor_3cx_outbound_block`; other entry points (the CRM-template
endpoints) call it directly.
"""

import logging
import re

import pytz

from odoo import _, fields, models

from ..tools.phone import time_zones, to_e164

_logger = logging.getLogger(__name__)

DEFAULT_WINDOW = "08:00-21:00"
WINDOW_RE = re.compile(r"^\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-4]):([0-5]\d)\s*$")


def parse_calling_window(text):
    """``("08:00", "21:00")`` from ``"08:00-21:00"``; ``None`` when ``text`` is not a window.

    >>> parse_calling_window(" 9:00-17:00"), parse_calling_window("09:00 - 17:30")
    (None, ('09:00', '17:30'))
    >>> parse_calling_window("21:00-08:00") is None  # overnight windows are not supported
    True
    """
    found = WINDOW_RE.match(text or "")
    if not found:
        return None
    start, end = "%s:%s" % found.group(1, 2), "%s:%s" % found.group(3, 4)
    return (start, end) if start < end else None


class ThreecxOutboundMixin(models.AbstractModel):
    """The outbound-call rule of contacts (composed on ``res.partner``)."""

    _name = "threecx.outbound.mixin"
    _description = "Contact: outbound call rules"

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
        match = self.env["threecx.caller.lookup"].sudo().lookup(destination, every_company=True)
        partners = self.sudo().exists() | self.sudo().browse([p["id"] for p in match["partners"]])
        restriction = partners._realtor_3cx_restriction(destination, when)
        return destination, restriction["message"] if restriction else False

    def _realtor_3cx_restriction(self, number, when=None):
        """Why calling these contacts at ``number`` is not allowed at ``when``, or None.

        The rule itself, for callers that already know the contacts (the CRM-template lookup
        warns in the name 3CX shows; a ReportCall judges the call when it was placed): a
        do-not-call contact is never called; a contact only within the
        ``realtor_3cx.calling_window`` hours in their time zone, or, without one, in the time
        zone(s) of ``number``'s region.

        :param str number: the number, for the message
        :param datetime when: naive UTC; default now
        :returns: None, or ``{"kind": "do_not_call" | "calling_window", "partner", "message"}``
            (and ``local_time``, the contact's ``HH:MM``, for the calling window)
        """
        partners = self.sudo()
        blocked = partners.filtered("do_not_call")
        if blocked:
            return {
                "kind": "do_not_call",
                "partner": blocked[0],
                "message": _(
                    "%(name)s is on the do-not-call list: 3CX will not dial %(number)s.",
                    name=blocked[0].name,
                    number=number,
                ),
            }
        window = self.env["ir.config_parameter"].sudo().get_param(
            "realtor_3cx.calling_window", DEFAULT_WINDOW
        )
        parsed = parse_calling_window(window)
        if not parsed:
            # Set by hand to something unreadable: the default protects contacts meanwhile.
            _logger.warning("realtor_3cx.calling_window %r is not HH:MM-HH:MM; using %s",
                            window, DEFAULT_WINDOW)
            parsed = parse_calling_window(DEFAULT_WINDOW)
        start, end = parsed
        utc = pytz.utc.localize(when or fields.Datetime.now())
        # A contact without a time zone is where their number is (phonenumbers knows the
        # region of most prefixes), not where the realtor is; a number that may ring in
        # several zones is called when it is within the window in all of them.
        number_zones = time_zones(number)
        for partner in partners:
            for tz in [partner.tz] if partner.tz else number_zones:
                now = utc.astimezone(pytz.timezone(tz)).strftime("%H:%M")
                if start <= now < end:
                    continue
                if partner.tz:
                    message = _(
                        "It is %(time)s for %(name)s (%(tz)s): calls are allowed between "
                        "%(start)s and %(end)s in the contact's time zone.",
                        time=now, name=partner.name, tz=tz, start=start, end=end,
                    )
                else:
                    message = _(
                        "It is %(time)s for %(name)s (%(tz)s, where %(number)s is): calls are "
                        "allowed between %(start)s and %(end)s in the contact's time zone.",
                        time=now, name=partner.name, tz=tz, number=number, start=start,
                        end=end,
                    )
                return {
                    "kind": "calling_window",
                    "partner": partner,
                    "local_time": now,
                    "message": message,
                }
        return None
