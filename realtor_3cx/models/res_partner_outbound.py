# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The one check every outbound call passes: do-not-call and the calling rule of the number's
jurisdiction (hours, days, holidays and call cap: threecx_calling_rule.py).

Click-to-call (phone fields, the Missed Calls list, the calls tabs of contacts and properties),
browser calls and their transfers to an outside number all reach
``threecx.call._dial_check()``, which asks ``res.partner``'s
:meth:`ThreecxOutboundMixin._realtor_3cx_outbound_block`; other entry points (the CRM-template
endpoints) call it directly.
"""

import datetime
import functools
import re

import pytz
from babel.dates import format_date

from odoo import _, fields, models
from odoo.tools import SQL
from odoo.tools.misc import babel_locale_parse

from ..tools.phone import time_zones, to_e164

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


@functools.lru_cache(maxsize=4096)
def _number_zones(e164):
    """The time zones ``e164`` may ring in (:func:`~..tools.phone.time_zones`), as pytz
    zones: asked on every check of the number, and the same for the life of the process."""
    return tuple(pytz.timezone(tz) for tz in time_zones(e164))


def hours_to_hhmm(value):
    """``"08:30"`` from ``8.5``; ``24.0`` is ``"24:00"`` (the end of the day).

    >>> hours_to_hhmm(8.5), hours_to_hhmm(21), hours_to_hhmm(24.0)
    ('08:30', '21:00', '24:00')
    """
    minutes = round((value or 0.0) * 60)
    return "%02d:%02d" % divmod(minutes, 60)


def hhmm_to_hours(text):
    """``8.5`` from ``"08:30"``."""
    hours, minutes = text.split(":")
    return int(hours) + int(minutes) / 60.0


# What the outbound check asks the database, in one statement: the contacts (``given``, and
# with ``by_number`` the active contacts of every company whose number it is, as the caller
# lookup finds them), Odoo's phone blacklist, and the latest ``cap`` outbound calls to those
# contacts or that number between ``since`` and ``until`` (the call cap, on the partial
# indexes of threecx_calling_rule.py). A PL/pgSQL function, as the caller lookup is: its
# statement is planned once per connection, and planning it would cost more than running it.
# One row per contact (a row of NULLs for none), each with the blacklist and the cap's calls.
OUTBOUND_FACTS = """
CREATE OR REPLACE FUNCTION realtor_3cx_outbound_facts(
    e164 text, given integer[], by_number boolean, since timestamp, until timestamp,
    cap integer)
RETURNS TABLE (partner_id integer, name varchar, tz varchar, do_not_call boolean,
               blacklisted boolean, starts timestamp[])
LANGUAGE plpgsql STABLE ROWS 2
-- The plan made for any arguments, once per connection: PostgreSQL would otherwise plan the
-- statement again on every call (its estimate of a generic plan is pessimistic about the
-- arrays), and planning costs more than running it.
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH p AS MATERIALIZED (
        -- three branches, not one OR: the number's are skipped, not probed, without by_number
        SELECT p.id, p.name, p.tz, p.do_not_call FROM res_partner p WHERE p.id = ANY (given)
        UNION
        SELECT p.id, p.name, p.tz, p.do_not_call FROM res_partner p
         WHERE by_number AND p.active AND p.phone_e164 = e164
        UNION
        SELECT p.id, p.name, p.tz, p.do_not_call FROM res_partner p
         WHERE by_number AND p.active AND p.mobile_e164 = e164
    )
    SELECT p.id, p.name, p.tz, p.do_not_call,
           EXISTS (SELECT 1 FROM phone_blacklist b WHERE b.number = e164 AND b.active),
           CASE WHEN cap > 0 AND EXISTS (SELECT 1 FROM p) THEN ARRAY(
               SELECT c.start_at FROM threecx_call c
                WHERE c.direction = 'outbound' AND c.start_at > since AND c.start_at < until
                  AND (c.external_e164 = e164 OR c.partner_id = ANY (ARRAY(SELECT id FROM p)))
             ORDER BY c.start_at DESC LIMIT cap) END
      FROM (SELECT 1) one LEFT JOIN p ON TRUE;
END
$$
"""


class ThreecxOutboundMixin(models.AbstractModel):
    """The outbound-call rule of contacts (composed on ``res.partner``)."""

    _name = "threecx.outbound.mixin"
    _description = "Contact: outbound call rules"

    def init(self):
        # Once, for res.partner: Odoo also runs init on the abstract mixin itself.
        if not self._abstract:
            self.env.cr.execute(OUTBOUND_FACTS)

    def _realtor_3cx_outbound_block(self, number, when=None, path=False):
        """Whether an outbound call to ``number`` may be placed at ``when``, and why not.

        The contacts checked are ``self`` (the record the realtor called from, if any) and
        everyone the number belongs to, whatever the current user may read: a do-not-call
        flag on a contact the realtor cannot see still protects that person.

        :param str number: the number to call, in any format (national numbers are read in
            the company's country)
        :param datetime when: naive UTC; default now
        :param str path: the outbound path asking (``threecx.blocked.attempt``'s ``path``):
            a refusal for a rule is logged there (threecx_compliance.py); none for a check
            that places no call
        :returns: ``(e164, reason)``: the number to dial, and ``False`` or a sentence for the
            realtor (invalid number, do-not-call, outside the calling window)
        """
        destination, reason, _restriction = self._realtor_3cx_outbound_check(number, when, path)
        return destination, reason

    def _realtor_3cx_outbound_check(self, number, when=None, path=False):
        """:meth:`_realtor_3cx_outbound_block`, with the refusal itself: ``(e164, reason,
        restriction)`` (``restriction`` is :meth:`_realtor_3cx_restriction`'s answer, None
        for an allowed call or a number that is not one)."""
        # The company's country from the lookup's cache: reading it through env.company
        # costs four queries in each new transaction, more than the rest of the check.
        region = self.env["threecx.caller.lookup"]._company_region()
        destination = to_e164(number, region)
        if not destination:
            return False, _("%s is not a phone number 3CX can dial.", number or _("(empty)")), None
        restriction = self._realtor_3cx_decide(destination, when, by_number=True)
        if restriction and path:
            self.env["threecx.blocked.attempt"]._realtor_3cx_log(path, destination, restriction)
        return destination, restriction["message"] if restriction else False, restriction

    def _realtor_3cx_restriction(self, number, when=None):
        """Why calling these contacts at ``number`` is not allowed at ``when``, or None.

        The rule itself, for callers that already know the contacts (the CRM-template lookup
        warns in the name 3CX shows; a ReportCall judges the call when it was placed): a
        do-not-call contact is never called; otherwise the calling rule of ``number``'s
        jurisdiction decides (threecx_calling_rule.py): its hours and days in the contact's
        time zone (or, without one, in the time zone(s) of ``number``'s region), its holidays,
        and its cap on calls in a rolling window.

        :param str number: the number (national numbers are read in the company's country)
        :param datetime when: naive UTC; default now
        :returns: None, or ``{"kind": "do_not_call" | "calling_window" | "attempt_cap",
            "partner", "message"}``; the other kinds also have ``rule`` (the rule's data),
            ``local_time`` (the contact's ``HH:MM``) and ``allowed_at`` (naive UTC, when
            calling is next allowed, or False if the rule allows no day)
        """
        # 3CX's lookup may send a national number: the rules read its E.164 form.
        e164 = to_e164(number, self.env["threecx.caller.lookup"]._company_region()) or number
        return self._realtor_3cx_decide(e164, when, by_number=False, asked=number)

    def _realtor_3cx_decide(self, number, when, by_number, asked=None):
        """The check itself, on the E.164 ``number``: the contacts are ``self`` and, with
        ``by_number``, everyone the number belongs to (active contacts of every company, as
        the caller lookup finds them).

        What the database knows comes in one statement (``realtor_3cx_outbound_facts``,
        planned once per connection): the contacts' names, zones and do-not-call, Odoo's
        phone blacklist, and the call cap's latest calls. The rule of the number's
        jurisdiction is read before it, from the rules' cache (no query). ``asked``: the
        number as the caller wrote it, which the do-not-call sentence quotes."""
        rule = self.env["threecx.calling.rule"]._realtor_3cx_rule_for_number(number)
        utc = pytz.utc.localize(when or fields.Datetime.now())
        now = utc.replace(tzinfo=None)
        limit, hours = rule["attempt_limit"], rule["attempt_window_hours"]
        # A revocation recorded earlier in this transaction (do_not_call is computed from
        # the ledger), a new contact or call: the statement must see them.
        self.env.flush_all()
        given = self.sudo().ids
        # Within the last hours, strictly (a call exactly that old no longer counts: the
        # release time is when it drops out), and strictly before now (a ReportCall judges its
        # own call at its start, not counting it).
        self.env.cr.execute(SQL(
            "SELECT * FROM realtor_3cx_outbound_facts(%s, %s, %s, %s, %s, %s)",
            number, given, by_number, now - datetime.timedelta(hours=hours), now, limit,
        ))
        rows = self.env.cr.fetchall()
        blacklisted, starts = rows[0][4], rows[0][5] or []
        found = {row[0]: row[1:4] for row in rows if row[0]}
        Partner = self.env["res.partner"].sudo()
        # self first, in its order, then everyone else the number belongs to; several of
        # those (a shared number) are ranked as the caller lookup ranks them.
        others = [pid for pid in found if pid not in set(given)]
        if len(others) > 1:
            match = self.env["threecx.caller.lookup"].sudo().lookup(number, every_company=True)
            ranked = [p["id"] for p in match["partners"] if p["id"] in found]
            others = ranked + sorted(set(others) - set(ranked))
        partners = Partner.browse([pid for pid in given if pid in found] + others)
        # What the statement read, put where the ORM would have put it (the database and the
        # cache agree: everything was flushed above), so that the messages below read the
        # names and zones without a query of their own.
        for index, fname in enumerate(("name", "tz", "do_not_call")):
            self.env.cache.insert_missing(partners, Partner._fields[fname],
                                          [found[pid][index] for pid in partners.ids])
        blocked = partners.filtered("do_not_call")
        if blocked:
            return {
                "kind": "do_not_call",
                "partner": blocked[0],
                "message": _(
                    "%(name)s is on the do-not-call list: 3CX will not dial %(number)s.",
                    name=blocked[0].name,
                    number=number if asked is None else asked,
                ),
            }
        # Odoo's own blacklist (phone_validation, E.164 numbers) is do-not-call too.
        if blacklisted:
            return {
                "kind": "do_not_call",
                "partner": partners[:1],
                "message": _(
                    "%(number)s is on the phone blacklist: 3CX will not dial it.",
                    number=number,
                ),
            }
        if not partners:
            return None
        # A contact without a time zone is where their number is (phonenumbers knows the
        # region of most prefixes), not where the realtor is; a number that may ring in
        # several zones is called when it is within the window in all of them.
        number_zones = _number_zones(number)
        zones = [
            (partner, tz, bool(partner.tz))
            for partner in partners
            for tz in ([pytz.timezone(partner.tz)] if partner.tz else number_zones)
        ]
        for partner, tz, own_zone in zones:
            local = utc.astimezone(tz)
            why = _closed_reason(rule, local)
            if why:
                allowed = _next_open(rule, [z for _p, z, _o in zones], utc)
                return {
                    "kind": "calling_window",
                    "partner": partner,
                    "rule": rule,
                    "local_time": local.strftime("%H:%M"),
                    "allowed_at": allowed and allowed.replace(tzinfo=None),
                    "message": self._realtor_3cx_window_message(
                        why, rule, partner, tz, own_zone, number, local, allowed),
                }
        if limit and len(starts) >= limit:
            return partners._realtor_3cx_attempt_cap(starts, rule, utc, zones)
        return None

    def _realtor_3cx_attempt_cap(self, starts, rule, utc, zones):
        """The restriction of ``rule``'s call cap for these contacts: ``starts`` are the
        latest ``attempt_limit`` outbound calls to them or to their number in the window
        (``realtor_3cx_outbound_facts``, on the indexes of threecx_calling_rule.py), whatever
        company placed them; the cap is reached."""
        limit, hours = rule["attempt_limit"], rule["attempt_window_hours"]
        release = pytz.utc.localize(starts[-1] + datetime.timedelta(hours=hours))
        allowed = _next_open(rule, [z for _p, z, _o in zones], release)
        tz = zones[0][1] if zones else pytz.utc
        partner = zones[0][0] if zones else self[0]
        message = _(
            "This would be call %(nth)s to %(name)s in %(hours)s h: %(rule)s allows "
            "%(limit)s.", nth=limit + 1, name=partner.name, hours=hours,
            rule=rule["label"], limit=limit,
        )
        return {
            "kind": "attempt_cap",
            "partner": partner,
            "rule": rule,
            "local_time": utc.astimezone(tz).strftime("%H:%M"),
            "allowed_at": allowed and allowed.replace(tzinfo=None),
            "message": "%s %s" % (message, self._realtor_3cx_allowed_again(
                allowed, tz, utc.astimezone(tz))),
        }

    def _realtor_3cx_window_message(self, why, rule, partner, tz, own_zone, number, local,
                                    allowed):
        """The sentence for a contact outside ``rule``'s hours, days or holidays."""
        where = tz.zone if own_zone else _("%(tz)s, where %(number)s is", tz=tz.zone,
                                             number=number)
        args = {"time": local.strftime("%H:%M"), "name": partner.name, "tz": where,
                "rule": rule["label"]}
        if why == "holiday":
            message = _(
                "It is %(holiday)s for %(name)s (%(tz)s): %(rule)s allows no calls that day.",
                holiday=rule["holidays"][local.date()], **args)
        elif why == "day":
            message = _(
                "It is %(day)s for %(name)s (%(tz)s): %(rule)s allows no calls that day.",
                day=self._realtor_3cx_day_name(local), **args)
        else:
            message = _(
                "It is %(time)s for %(name)s (%(tz)s): calls are allowed between %(start)s "
                "and %(end)s in the contact's time zone (%(rule)s).",
                start=rule["start"], end=rule["end"], **args)
        return "%s %s" % (message, self._realtor_3cx_allowed_again(allowed, tz, local))

    def _realtor_3cx_allowed_again(self, allowed, tz, local):
        """"Allowed again at 08:00 their time." (with the day when it is not today)."""
        if not allowed:
            return _("This rule allows no day for calls.")
        there = allowed.astimezone(tz)
        if there.date() == local.date():
            moment = there.strftime("%H:%M")
        elif there.date() < local.date() + datetime.timedelta(days=7):
            moment = "%s %s" % (self._realtor_3cx_day_name(there), there.strftime("%H:%M"))
        else:
            moment = there.strftime("%Y-%m-%d %H:%M")
        return _("Allowed again at %s their time.", moment)

    def _realtor_3cx_day_name(self, moment):
        return format_date(moment.date(), "EEEE", locale=babel_locale_parse(
            self.env.lang or "en_US"))


def _closed_reason(rule, local):
    """Why ``rule`` allows no call at the aware local time ``local``: ``"holiday"``,
    ``"day"``, ``"hours"``, or None when it does."""
    if local.date() in rule["holidays"]:
        return "holiday"
    if local.weekday() not in rule["weekdays"]:
        return "day"
    if not rule["start"] <= local.strftime("%H:%M") < rule["end"]:
        return "hours"
    return None


def _open_from(rule, tz, utc):
    """The first aware UTC moment at or after ``utc`` that ``rule`` allows in ``tz``, or
    None if it allows no day (looked for a year ahead)."""
    local = utc.astimezone(tz)
    for offset in range(370):
        day = local.date() + datetime.timedelta(days=offset)
        if day in rule["holidays"] or day.weekday() not in rule["weekdays"]:
            continue
        if offset == 0 and local.strftime("%H:%M") >= rule["end"]:
            continue
        if offset == 0 and local.strftime("%H:%M") >= rule["start"]:
            return utc
        hours, minutes = (int(part) for part in rule["start"].split(":"))
        start = tz.localize(datetime.datetime.combine(day, datetime.time(hours, minutes)))
        return start.astimezone(pytz.utc)
    return None


def _next_open(rule, zones, utc):
    """The first aware UTC moment at or after ``utc`` that ``rule`` allows in every zone of
    ``zones`` at once, or None (a few rounds: zones of one contact are hours apart)."""
    moment = utc
    for _round in range(8):
        later = moment
        for tz in zones:
            later = later and _open_from(rule, tz, later)
        if later == moment or not later:
            return later
        moment = later
    return moment
