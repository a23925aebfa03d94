# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Calling rules as data: when a jurisdiction allows outbound calls, how often, and whether
recording needs the callee's consent.

A number's jurisdiction is read from the number itself (``phonenumbers`` knows the country and,
for most NANP area codes, the state: Florida presumes an area code's subscriber a resident).
The most specific active rule decides: the state's, else the country's, else the general
default (the rule without a country), else :data:`DEFAULT_WINDOW` if a manager deleted that.
The rules are few and read on every call attempt, so the whole table is cached per registry
(:meth:`ThreecxCallingRule._realtor_3cx_rule_table`) and resolving one costs no query.
"""

import logging

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import ormcache
from odoo.tools.sql import create_index

from ..tools.phone_tz import jurisdiction_for
from .res_partner_outbound import (
    DEFAULT_WINDOW,
    hhmm_to_hours,
    hours_to_hhmm,
    parse_calling_window,
)

_logger = logging.getLogger(__name__)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # datetime.weekday() order


class ThreecxCallingRule(models.Model):
    _name = "threecx.calling.rule"
    _description = "Calling rule"
    _order = "sequence, name, id"

    name = fields.Char("Jurisdiction", required=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    country_id = fields.Many2one(
        "res.country",
        ondelete="restrict",
        help="The country of the numbers this rule governs; empty for the general default, "
        "which governs every number no other rule covers.",
    )
    state_id = fields.Many2one(
        "res.country.state",
        "State / region",
        ondelete="restrict",
        domain="[('country_id', '=?', country_id)]",
        help="Only numbers whose area is in this state (read from the number: an area code "
        "presumes its subscriber a resident). A state's rule replaces its country's.",
    )
    hour_from = fields.Float(
        "Calls from", default=8.0, help="Earliest time of a call, in the callee's time zone."
    )
    hour_to = fields.Float(
        "Calls until", default=21.0,
        help="Calls end before this time in the callee's time zone (24:00 for midnight).",
    )
    day_mon = fields.Boolean("Monday", default=True)
    day_tue = fields.Boolean("Tuesday", default=True)
    day_wed = fields.Boolean("Wednesday", default=True)
    day_thu = fields.Boolean("Thursday", default=True)
    day_fri = fields.Boolean("Friday", default=True)
    day_sat = fields.Boolean("Saturday", default=True)
    day_sun = fields.Boolean("Sunday", default=True)
    holiday_ids = fields.One2many(
        "threecx.calling.rule.holiday", "rule_id", "Holidays", copy=True,
        help="Days on which no call is allowed, in the callee's calendar.",
    )
    attempt_limit = fields.Integer(
        "Calls allowed per window",
        help="At most this many outbound calls to one contact (or number) in the rolling "
        "window; 0 for no limit.",
    )
    attempt_window_hours = fields.Integer("Rolling window (hours)", default=24)
    recording_consent = fields.Boolean(
        "Recording needs consent",
        help="Recording a call needs the callee's consent (all-party-consent jurisdictions).",
    )
    source = fields.Char(help="The law or policy this rule follows, as cited.")
    source_url = fields.Char("Source URL")
    note = fields.Text()

    @api.constrains("hour_from", "hour_to", "attempt_limit", "attempt_window_hours",
                    *("day_" + day for day in WEEKDAYS))
    def _check_hours(self):
        for rule in self:
            if not 0 <= rule.hour_from < rule.hour_to <= 24:
                raise ValidationError(_(
                    "%s: calls must start before they end, within one day (00:00 to 24:00).",
                    rule.name))
            if not any(rule["day_" + day] for day in WEEKDAYS):
                raise ValidationError(_("%s: allow calls on at least one day.", rule.name))
            if rule.attempt_limit < 0 or (rule.attempt_limit and rule.attempt_window_hours < 1):
                raise ValidationError(_(
                    "%s: a call limit needs a positive number of calls and of hours.", rule.name))

    @api.constrains("country_id", "state_id", "active")
    def _check_jurisdiction(self):
        for rule in self:
            if rule.state_id and rule.state_id.country_id != rule.country_id:
                raise ValidationError(_(
                    "%(rule)s: %(state)s is not in %(country)s.", rule=rule.name,
                    state=rule.state_id.name, country=rule.country_id.name or _("no country")))
            if rule.active and self.search_count([
                ("id", "!=", rule.id), ("country_id", "=", rule.country_id.id),
                ("state_id", "=", rule.state_id.id),
            ], limit=1):
                raise ValidationError(_(
                    "%s: another active rule already governs this jurisdiction; archive one.",
                    rule.name))

    @api.onchange("country_id")
    def _onchange_country_id(self):
        if self.state_id and self.state_id.country_id != self.country_id:
            self.state_id = False

    # -- the cache the outbound check reads -----------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        self.env.registry.clear_cache()
        return super().create(vals_list)

    def write(self, vals):
        self.env.registry.clear_cache()
        return super().write(vals)

    def unlink(self):
        self.env.registry.clear_cache()
        return super().unlink()

    def _realtor_3cx_rule_data(self):
        """The rule as the check reads it: plain values, safe to cache."""
        self.ensure_one()
        source = self.source or ""
        return {
            "id": self.id,
            "name": self.name,
            "label": f"{self.name} ({source})" if source else self.name,
            "start": hours_to_hhmm(self.hour_from),
            "end": hours_to_hhmm(self.hour_to),
            "weekdays": frozenset(i for i, day in enumerate(WEEKDAYS) if self["day_" + day]),
            "holidays": {h.date: h.name for h in self.holiday_ids},
            "attempt_limit": self.attempt_limit,
            "attempt_window_hours": self.attempt_window_hours,
            "recording_consent": self.recording_consent,
        }

    @api.model
    @ormcache()
    def _realtor_3cx_rule_table(self):
        """``(rules, state_names)``: the active rules by ``(country code, state code)``
        (``None`` for a missing part), and ``(country code, lower-case state name)`` to state
        code for the states that have a rule (the geocoder says "Florida" or "Miami, FL")."""
        rules, names = {}, {}
        for rule in self.sudo().with_context(active_test=True).search([]):
            key = (rule.country_id.code or None, rule.state_id.code or None)
            rules[key] = rule._realtor_3cx_rule_data()
            if rule.state_id:
                names[(key[0], rule.state_id.name.lower())] = key[1]
        return rules, names

    @api.model
    def _realtor_3cx_rule_for(self, country, region):
        """The rule that governs a number of ``country`` (ISO code) whose area is ``region``
        (the geocoder's text), as :meth:`_realtor_3cx_rule_data` returns it."""
        rules, names = self._realtor_3cx_rule_table()
        if country and region:
            text = region.strip()
            code = text.rsplit(", ", 1)[1] if ", " in text else None  # "Miami, FL"
            state = code if code and (country, code) in rules else names.get(
                (country, text.lower()))
            if state and (country, state) in rules:
                return rules[(country, state)]
        if country and (country, None) in rules:
            return rules[(country, None)]
        if (None, None) in rules:
            return rules[(None, None)]
        start, end = parse_calling_window(DEFAULT_WINDOW)
        return {
            "id": False, "name": _("Default calling window"),
            "label": _("Default calling window"), "start": start, "end": end,
            "weekdays": frozenset(range(7)), "holidays": {}, "attempt_limit": 0,
            "attempt_window_hours": 24, "recording_consent": False,
        }

    @api.model
    def _realtor_3cx_rule_for_number(self, e164):
        """The rule that governs the E.164 number ``e164`` (its ``recording_consent`` says
        whether a call to it may be recorded without the callee's consent)."""
        return self._realtor_3cx_rule_for(*jurisdiction_for(e164))

    # -- the general default is what Settings calls the calling window --------------------------

    @api.model
    def _realtor_3cx_default_rule(self):
        return self.sudo().search([("country_id", "=", False), ("state_id", "=", False)],
                                  limit=1)

    @api.model
    def _realtor_3cx_set_default_window(self, window):
        """Write ``window`` (``"HH:MM-HH:MM"``) into the general default rule."""
        start, end = parse_calling_window(window)
        values = {"hour_from": hhmm_to_hours(start), "hour_to": hhmm_to_hours(end)}
        rule = self._realtor_3cx_default_rule()
        if rule:
            rule.write(values)
        else:
            rule = self.sudo().create({"name": _("General default"), **values})
        return rule

    @api.model
    def _realtor_3cx_migrate_calling_window(self):
        """Move the ``realtor_3cx.calling_window`` parameter of earlier versions into the
        rules, once (the parameter is removed): it becomes the general default, and because it
        applied to every contact, it also narrows any seeded rule whose hours are wider, so no
        contact may be called at an hour the brokerage had excluded."""
        param = self.env["ir.config_parameter"].sudo().search(
            [("key", "=", "realtor_3cx.calling_window")])
        if not param:
            return
        parsed = parse_calling_window(param.value)
        if parsed and parsed != parse_calling_window(DEFAULT_WINDOW):
            start, end = (hhmm_to_hours(t) for t in parsed)
            self._realtor_3cx_set_default_window(param.value)
            for rule in self.sudo().with_context(active_test=False).search([]):
                narrowed = {"hour_from": max(rule.hour_from, start),
                            "hour_to": min(rule.hour_to, end)}
                if narrowed["hour_from"] < narrowed["hour_to"] and narrowed != {
                        "hour_from": rule.hour_from, "hour_to": rule.hour_to}:
                    rule.write(narrowed)
            _logger.info("calling window %s moved into the calling rules", param.value)
        elif not parsed:
            _logger.warning("calling window %r was not HH:MM-HH:MM: the rules keep their hours",
                            param.value)
        param.unlink()

class ThreecxCallingRuleHoliday(models.Model):
    _name = "threecx.calling.rule.holiday"
    _description = "Calling rule holiday"
    _order = "date, id"

    rule_id = fields.Many2one(
        "threecx.calling.rule", required=True, index=True, ondelete="cascade")
    date = fields.Date(required=True)
    name = fields.Char("Holiday", required=True)

    _sql_constraints = [
        ("rule_date_uniq", "UNIQUE(rule_id, date)", "This day is already a holiday of the rule."),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        self.env.registry.clear_cache()
        return super().create(vals_list)

    def write(self, vals):
        self.env.registry.clear_cache()
        return super().write(vals)

    def unlink(self):
        self.env.registry.clear_cache()
        return super().unlink()


class ThreecxCall(models.Model):
    _inherit = "threecx.call"

    def _attempt_cap_indexes(self):
        """The indexes of the attempt cap (``threecx.call``'s ``init``): it counts a
        contact's or a number's outbound calls of the last hours on every call attempt, two
        narrow ranges PostgreSQL ORs in one bitmap scan, at any size of the call log."""
        for column in ("external_e164", "partner_id"):
            create_index(
                self.env.cr, f"threecx_call_outbound_{column}_start_idx", self._table,
                [column, "start_at"], where="direction = 'outbound'",
            )
