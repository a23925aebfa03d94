# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The power dialer's lists and their entries: who to call, why, and who is calling them.

A list is a search kept as such (a model and a domain: tomorrow's list is the same search
again, refreshed when a session starts) or a fixed set of records. Whatever it was made from
(contacts, properties, call activities, missed calls), each entry is one contact, or one
unknown caller, and the number to dial: their phone, else their mobile.

Several realtors may work one list (shared with users or a team). An entry is *taken* by one
realtor at a time, in one statement (``SELECT ... FOR UPDATE SKIP LOCKED``): two realtors
asking at the same moment get two different entries, never the same one. A taken entry goes
back to the list when its realtor leaves the session, or when it was taken longer ago than
the age limit (a closed laptop leaves no one holding it). The calling rules decide at the
moment of the take (``res.partner._realtor_3cx_outbound_block``, as click-to-call): an entry
that may not be called now is skipped with the reason and comes back once allowed; a contact
called in the last hours (a setting) is skipped too.
"""

import datetime

import psycopg2

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL
from odoo.tools.safe_eval import safe_eval

from ..tools.phone import to_e164

DEFAULT_RECENT_HOURS = 4
DEFAULT_TAKE_MINUTES = 10
# The records a list may be made from, and how each becomes contacts to call.
SOURCE_MODELS = [
    ("res.partner", "Contacts"),
    ("realtor.property", "Properties"),
    ("mail.activity", "Call activities"),
    ("threecx.call", "Missed calls"),
]


def dialer_setting(env, key, default):
    value = env["ir.config_parameter"].sudo().get_param(f"realtor_3cx.dialer_{key}")
    try:
        return int(value) if value not in (None, False, "") else default
    except ValueError:
        return default


class ThreecxDialerList(models.Model):
    _name = "threecx.dialer.list"
    _description = "Dialer list"
    _order = "id desc"

    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    user_id = fields.Many2one(
        "res.users", "Owner", required=True, default=lambda self: self.env.user,
        ondelete="cascade", index=True,
    )
    shared_user_ids = fields.Many2many(
        "res.users", "threecx_dialer_list_user_rel", "list_id", "user_id", "Shared with",
        help="Realtors who work this list too: each entry is called by one of them.",
    )
    team_id = fields.Many2one(
        "threecx.team", "Shared with team", ondelete="set null",
        help="Every member of this team works the list too.",
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    source = fields.Selection(
        [("search", "Saved search"), ("records", "Fixed records")],
        default="records", required=True,
        help="A saved search is run again each time a session starts: tomorrow's list is the "
             "same search again. Fixed records keep the entries the list was made with.",
    )
    res_model = fields.Selection(SOURCE_MODELS, "Made from", required=True,
                                 default="res.partner")
    domain = fields.Char(default="[]", help="The search, for a saved search.")
    reason = fields.Char(
        "Why on the list", help="What each entry says it is here for (else the source's own).")
    entry_ids = fields.One2many("threecx.dialer.entry", "list_id", "Entries")
    entry_count = fields.Integer(compute="_compute_counts")
    pending_count = fields.Integer("To call", compute="_compute_counts")

    @api.depends("entry_ids.state")
    def _compute_counts(self):
        for dialer_list in self:
            entries = dialer_list.entry_ids
            dialer_list.entry_count = len(entries)
            dialer_list.pending_count = len(entries.filtered(lambda e: e.state == "pending"))

    # -- making a list ---------------------------------------------------------------------

    @api.model
    def _dialer_create_from(self, res_model, records=None, domain=None, name=False):
        """A list of ``records`` (fixed) or of ``domain`` (a saved search) of ``res_model``,
        its entries made; returns the list."""
        if not self.env.user.has_group("realtor_3cx.realtor_3cx_group_user"):
            raise UserError(_("Only realtors and telephony managers can start calling."))
        labels = dict(self._fields["res_model"]._description_selection(self.env))
        dialer_list = self.create({
            "name": name or _("%(what)s, %(day)s", what=labels[res_model],
                              day=fields.Date.to_string(fields.Date.context_today(self))),
            "res_model": res_model,
            "source": "records" if records is not None else "search",
            "domain": domain if isinstance(domain, str) else repr(domain or []),
        })
        dialer_list._dialer_refresh(records)
        if not dialer_list.entry_ids:
            raise UserError(_("Nobody to call here: none of these records has a contact "
                              "with a phone number."))
        return dialer_list

    def _dialer_records(self):
        """The records a saved search finds today (the user's own view of them)."""
        self.ensure_one()
        today = fields.Date.context_today(self)
        domain = safe_eval(self.domain or "[]", {"uid": self.env.uid,
                                                 "context_today": lambda: today})
        return self.env[self.res_model].search(domain)

    def _dialer_targets(self, records):
        """``[(partner, number, reason)]`` to call for ``records`` of the list's
        model, in order, each contact once (their first reason)."""
        self.ensure_one()
        found = []
        if self.res_model == "res.partner":
            found = [(p, False, self.reason or _("On the list")) for p in records]
        elif self.res_model == "realtor.property":
            for prop in records:
                found += [(p, False, _("Owner of %s", prop.display_name))
                          for p in prop.owner_ids]
                found += [(p, False, _("Interested in %s", prop.display_name))
                          for p in prop.interested_partner_ids]
        elif self.res_model == "mail.activity":
            for activity in records:
                record = self.env[activity.res_model].browse(activity.res_id).exists()
                partner = record if activity.res_model == "res.partner" else (
                    record.partner_id if activity.res_model == "threecx.call" else False)
                number = record.external_number if activity.res_model == "threecx.call" \
                    and record and not partner else False
                if partner or number:
                    found.append((partner or self.env["res.partner"], number,
                                  activity.summary or activity.activity_type_id.name
                                  or _("Call activity")))
        elif self.res_model == "threecx.call":
            for call in records:
                found.append((call.partner_id, False if call.partner_id else call.external_number,
                              _("Missed call on %s", fields.Datetime.to_string(
                                  fields.Datetime.context_timestamp(self, call.start_at))[:16])))
        seen, targets = set(), []
        for partner, number, reason in found:
            number = number or (partner.phone or partner.mobile if partner else False)
            key = partner.id if partner else number
            if not number or key in seen:
                continue
            seen.add(key)
            targets.append((partner, number, reason))
        return targets

    def _dialer_refresh(self, records=None):
        """Bring the entries in line with the records: the saved search run again (or the
        given records); contacts no longer found leave while still to call, new ones are added.
        An entry finished on an earlier day, or skipped by the rules, is to call again: it is
        checked again when it is taken."""
        for dialer_list in self:
            if records is None and dialer_list.source != "search":
                dialer_list._dialer_reopen()
                continue
            targets = dialer_list._dialer_targets(
                records if records is not None else dialer_list._dialer_records())
            entries = dialer_list.entry_ids
            by_key = {(e.partner_id.id or e.phone): e for e in entries}
            keys = set()
            values = []
            for sequence, (partner, number, reason) in enumerate(targets):
                key = partner.id or number
                keys.add(key)
                entry = by_key.get(key)
                if entry:
                    entry.sequence = sequence
                else:
                    values.append({"list_id": dialer_list.id, "sequence": sequence,
                                   "partner_id": partner.id, "phone": number,
                                   "reason": reason})
            gone = entries.filtered(lambda e, keys=keys: (e.partner_id.id or e.phone) not in keys
                                    and e.state in ("pending", "skipped"))
            gone.unlink()
            self.env["threecx.dialer.entry"].create(values)
            dialer_list._dialer_reopen()

    def _dialer_reopen(self):
        """Entries to call again: those the rules refused (checked again when taken) and, on
        a saved search, those finished on an earlier day (today's list is today's search)."""
        today = datetime.datetime.combine(fields.Date.context_today(self), datetime.time())
        self.entry_ids.filtered(
            lambda e: (e.state in ("called", "done") and e.write_date < today
                       and e.list_id.source == "search")
            or (e.state == "skipped" and e.skip_kind == "rule")
        ).write({"state": "pending", "user_id": False, "taken_at": False,
                 "skip_reason": False, "skip_kind": False, "retry_at": False})

    # -- working a list --------------------------------------------------------------------

    def action_start_session(self):
        """Open the dialer on this list (the saved search is run again first)."""
        self.ensure_one()
        self._dialer_refresh()
        session = self.env["threecx.dialer.session"]._dialer_open(self)
        return session._dialer_client_action()

    def action_view_entries(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.name,
            "res_model": "threecx.dialer.entry",
            "view_mode": "list",
            "domain": [("list_id", "=", self.id)],
            "context": {"create": False},
        }

    # -- "Start calling" from other lists --------------------------------------------------

    @api.model
    def action_start_calling(self, res_model, res_ids=False, domain=False, name=False):
        """Start a session from a list of records: the selected ones (a fixed list), or the
        whole filtered list (``domain``: a saved search, run again tomorrow)."""
        if res_model not in dict(SOURCE_MODELS):
            raise UserError(_("A dialer list cannot be made from these records."))
        if res_ids:
            records = self.env[res_model].browse(res_ids).exists()
            dialer_list = self._dialer_create_from(res_model, records=records, name=name)
        else:
            dialer_list = self._dialer_create_from(res_model, domain=domain or [], name=name)
        session = self.env["threecx.dialer.session"]._dialer_open(dialer_list)
        return session._dialer_client_action()

    @api.model
    def action_start_call_activities(self):
        """Today's call activities of the realtor (and the overdue ones)."""
        # The deadline moves with each day: "today" is evaluated when the search runs.
        saved = ("[('user_id', '=', uid), ('activity_type_id.category', '=', 'phonecall'), "
                 "('res_model', 'in', ('res.partner', 'threecx.call')), "
                 "('date_deadline', '<=', context_today().strftime('%Y-%m-%d'))]")
        dialer_list = self._dialer_create_from(
            "mail.activity", domain=saved,
            name=_("Call activities due today"))
        session = self.env["threecx.dialer.session"]._dialer_open(dialer_list)
        return session._dialer_client_action()

    @api.model
    def action_start_missed_calls(self):
        """The realtor's missed callers not called back yet (the Missed Calls list's rows)."""
        domain = [("direction", "=", "inbound"), ("state", "in", ("missed", "voicemail")),
                  ("missed_caller_last", "=", True), ("callback_call_id", "=", False),
                  "|", ("user_id", "=", self.env.uid), ("callback_user_id", "=", self.env.uid)]
        dialer_list = self._dialer_create_from(
            "threecx.call", domain=domain, name=_("Missed calls to call back"))
        session = self.env["threecx.dialer.session"]._dialer_open(dialer_list)
        return session._dialer_client_action()


class ThreecxDialerEntry(models.Model):
    _name = "threecx.dialer.entry"
    _description = "Dialer list entry"
    _order = "list_id, sequence, id"

    list_id = fields.Many2one("threecx.dialer.list", required=True, ondelete="cascade",
                              index=True)
    company_id = fields.Many2one(related="list_id.company_id", store=True)
    sequence = fields.Integer(default=10)
    partner_id = fields.Many2one("res.partner", "Contact", ondelete="cascade", index=True)
    phone = fields.Char("Number to dial", required=True)
    reason = fields.Char("Why on the list")
    state = fields.Selection(
        [("pending", "To call"), ("taken", "Being called"), ("called", "Called"),
         ("skipped", "Skipped"), ("done", "Done")],
        default="pending", required=True, index=True,
    )
    skip_kind = fields.Selection(
        [("rule", "The calling rules"), ("recent", "Called recently"),
         ("realtor", "The realtor")], "Skipped by")
    skip_reason = fields.Char()
    retry_at = fields.Datetime("Allowed again at",
                               help="When an entry the rules refused may be called again.")
    user_id = fields.Many2one("res.users", "Taken by", ondelete="set null", index=True)
    taken_at = fields.Datetime(readonly=True)
    call_id = fields.Many2one("threecx.call", ondelete="set null")
    dialed_at = fields.Datetime(readonly=True)
    outcome_id = fields.Many2one(related="call_id.outcome_id")

    def _dialer_e164(self):
        self.ensure_one()
        return to_e164(self.phone, self.env.company.country_id.code) or self.phone

    @api.model
    def _dialer_take(self, dialer_list):
        """Take the next entry of ``dialer_list`` for the current user. Returns the entry, or
        an empty recordset when none is left to call now.

        Each candidate, in the list's order, is taken by one statement that locks it
        (``FOR UPDATE SKIP LOCKED``) and checks it is still free: an entry another realtor
        holds is skipped without waiting, and two realtors taking at once get two different
        entries. Odoo's transactions are REPEATABLE READ: an entry another realtor took and
        committed after this transaction began makes the statement fail with a serialization
        error; its savepoint undoes just that statement, and the next candidate is tried,
        rather than replaying the whole request.
        """
        self.flush_model()
        minutes = dialer_setting(self.env, "take_minutes", DEFAULT_TAKE_MINUTES)
        free = SQL(
            """(state = 'pending'
                OR (state = 'skipped' AND skip_kind IN ('rule', 'recent')
                    AND retry_at <= now() at time zone 'utc')
                OR (state = 'taken' AND taken_at < now() at time zone 'utc' - %s))""",
            datetime.timedelta(minutes=minutes),
        )
        tried = [0]
        while True:
            self.env.cr.execute(SQL(
                """SELECT id FROM threecx_dialer_entry
                    WHERE list_id = %s AND %s AND id != ALL(%s)
                 ORDER BY sequence, id LIMIT 20""",
                dialer_list.id, free, tried,
            ))
            candidates = [row[0] for row in self.env.cr.fetchall()]
            if not candidates:
                return self.browse()
            for entry_id in candidates:
                tried.append(entry_id)
                row = None
                try:
                    with self.env.cr.savepoint(flush=False):
                        self.env.cr.execute(SQL(
                            """UPDATE threecx_dialer_entry
                                  SET state = 'taken', user_id = %(uid)s,
                                      taken_at = now() at time zone 'utc',
                                      write_uid = %(uid)s,
                                      write_date = now() at time zone 'utc'
                                WHERE id = (SELECT id FROM threecx_dialer_entry
                                             WHERE id = %(id)s AND %(free)s
                                               FOR UPDATE SKIP LOCKED)
                            RETURNING id""",
                            uid=self.env.uid, id=entry_id, free=free,
                        ), log_exceptions=False)
                        row = self.env.cr.fetchone()
                except psycopg2.errors.SerializationFailure:
                    continue  # another realtor took it meanwhile
                if row:
                    self.invalidate_model(["state", "user_id", "taken_at"])
                    return self.browse(row[0])

    def _dialer_refusal(self):
        """``(kind, reason, retry_at)`` when this entry may not be called now, else None:
        the calling rules (do-not-call, hours, days, holidays, call cap), then a call to the
        contact or the number in the last hours."""
        self.ensure_one()
        partner = self.partner_id
        # One check, as every outbound path makes it; a refusal by a rule is logged once, on
        # the dialer's own path (threecx.blocked.attempt), and says when to try again.
        destination, reason, restriction = partner._realtor_3cx_outbound_check(
            self.phone, path="dialer")
        if reason:
            return "rule", reason, (restriction or {}).get("allowed_at") or False
        hours = dialer_setting(self.env, "recent_hours", DEFAULT_RECENT_HOURS)
        if hours:
            domain = [("start_at", ">", fields.Datetime.now() - datetime.timedelta(hours=hours))]
            domain += ["|", ("external_e164", "=", destination), ("partner_id", "=", partner.id)] \
                if partner else [("external_e164", "=", destination)]
            last = self.env["threecx.call"].sudo().search(domain, order="start_at desc", limit=1)
            if last:
                ago = fields.Datetime.now() - last.start_at
                minutes = round(ago.total_seconds() / 60)
                return "recent", _(
                    "Called %(ago)s ago: an entry called in the last %(hours)s h is skipped.",
                    ago=_("%(h)s h %(m)02d min", h=minutes // 60, m=minutes % 60),
                    hours=hours,
                ), last.start_at + datetime.timedelta(hours=hours)
        return None

    def _dialer_skip(self, kind, reason, retry_at=False):
        self.write({"state": "skipped", "skip_kind": kind, "skip_reason": reason,
                    "retry_at": retry_at, "user_id": False, "taken_at": False})

    def _dialer_release(self):
        """Back to the list: the realtor left before calling."""
        self.filtered(lambda e: e.state == "taken").write(
            {"state": "pending", "user_id": False, "taken_at": False})

    def _dialer_link_call(self):
        """The call this entry's dial placed: the realtor's outbound call to its number since
        the click (the worker logs it when 3CX reports it)."""
        for entry in self.filtered(lambda e: not e.call_id and e.dialed_at):
            since = entry.dialed_at - datetime.timedelta(seconds=5)
            call = self.env["threecx.call"].sudo().search([
                ("user_id", "=", entry.user_id.id), ("direction", "=", "outbound"),
                ("external_e164", "=", entry._dialer_e164()), ("start_at", ">=", since),
            ], order="start_at", limit=1)
            if call:
                entry.call_id = call
                if entry.partner_id and not call.partner_id:
                    call.partner_id = entry.partner_id
        return self.mapped("call_id")


class RealtorProperty(models.Model):
    _inherit = "realtor.property"

    def action_realtor_3cx_start_calling(self):
        """Call this property's owners and interested contacts, one after the other."""
        return self.env["threecx.dialer.list"].action_start_calling(
            "realtor.property", res_ids=self.ids,
            name=_("Owners and interested: %s", ", ".join(self.mapped("display_name"))))

