# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""3CX's company phonebook, kept in step with Odoo's contacts (opt-in per server).

Why: desk phones and the 3CX apps show the caller's name from 3CX's own phonebook, so a
known caller is named even while Odoo (or the CRM template's lookup) is down.

What is synced: the active contacts with a phone or a mobile that the server's company owns:
``company_id`` is the server's company, and, unless the server says "this company's only",
also the contacts of no company, which Odoo shows to every company's users (in a database
with one brokerage, that is nearly every contact). A contact of another company never is.
Contacts of internal users are left out: 3CX has them as extensions.

How: one :class:`ThreecxPhonebookEntry` per (server, contact) holds 3CX's contact id and the
digest of the body 3CX has. The worker (``worker/phonebook.py``, never an HTTP request: only
the worker holds the integration's token) asks :meth:`ThreecxServer._phonebook_plan` for the
changes, sends them (``threecx/phonebook.py``), and hands the results to
:meth:`ThreecxServer._phonebook_record`. A contact whose digest is unchanged is not sent, so a
run after a run changes nothing; a contact 3CX refused is not sent again until it changes (or
an administrator presses *Sync now*). Deleted or archived contacts, those that lost their
numbers or moved to another company are deleted from 3CX.

The write-date watermark: a run first compares the partners' count and latest write date
(and the scope) with the previous run's; unchanged, it plans nothing. A contact written by a
transaction that committed after a run with an older write date is caught by the full plan
made at least every ``FULL_PLAN_EVERY``.
"""

import datetime
import hashlib

from odoo import _, fields, models
from odoo.exceptions import AccessError, UserError

from ..threecx import phonebook

FULL_PLAN_EVERY = datetime.timedelta(minutes=15)
REFUSALS_SHOWN = 5


class ThreecxPhonebookEntry(models.Model):
    _name = "threecx.phonebook.entry"
    _description = "3CX phonebook contact"
    _order = "server_id, id"

    server_id = fields.Many2one(
        "threecx.server", required=True, index=True, ondelete="cascade", readonly=True
    )
    # Kept when the contact is deleted: the entry then says which 3CX contact to delete.
    partner_id = fields.Many2one(
        "res.partner", "Contact", index="btree_not_null", ondelete="set null", readonly=True
    )
    contact_id = fields.Integer("3CX contact ID", readonly=True)
    digest = fields.Char(readonly=True, help="Of the contact as 3CX has it.")
    refused_digest = fields.Char(readonly=True)
    error = fields.Char("3CX refused", readonly=True)

    _sql_constraints = [
        (
            "server_partner_uniq",
            "unique(server_id, partner_id)",
            "A contact has one entry per 3CX server.",
        ),
    ]


class ThreecxPhonebookStatus(models.Model):
    _name = "threecx.phonebook.status"
    _description = "3CX phonebook sync status"

    server_id = fields.Many2one(
        "threecx.server", required=True, index=True, ondelete="cascade", readonly=True
    )
    requested = fields.Boolean(readonly=True, help="Sync now was pressed.")
    synced_at = fields.Datetime(readonly=True)
    summary = fields.Char(readonly=True)
    error = fields.Text(readonly=True)
    stopped_error = fields.Text(readonly=True, help="Why the last run that asked 3CX stopped.")
    # The watermark of the last run that went to its end (see the module's docstring).
    fingerprint = fields.Char(readonly=True)
    planned_at = fields.Datetime(readonly=True)

    _sql_constraints = [
        ("server_uniq", "unique(server_id)", "A 3CX server has one phonebook status."),
    ]


class ThreecxServer(models.Model):
    _inherit = "threecx.server"

    phonebook_sync = fields.Boolean(
        "Sync the 3CX phonebook",
        help="Keep 3CX's company phonebook in step with the contacts that have a phone, so "
        "that desk phones and the 3CX apps show callers' names even while Odoo is down. The "
        "worker adds, renames and removes them in the background.",
    )
    phonebook_scope = fields.Selection(
        [
            ("company_shared", "This company's contacts and shared ones"),
            ("company", "This company's contacts only"),
        ],
        "Contacts synced",
        default="company_shared",
        required=True,
        help="Shared contacts have no company: Odoo shows them to every company's users. "
        "Contacts of another company are never synced.",
    )
    # The worker's record of its runs is a row of its own (threecx.phonebook.status): the
    # worker's main loop writes this server's health meanwhile, and two transactions updating
    # one row at once fail in PostgreSQL.
    phonebook_requested = fields.Boolean(compute="_compute_phonebook_status")
    phonebook_synced_at = fields.Datetime(
        "Last phonebook sync", compute="_compute_phonebook_status"
    )
    phonebook_summary = fields.Char("Last sync", compute="_compute_phonebook_status")
    phonebook_error = fields.Text("Phonebook problem", compute="_compute_phonebook_status")
    phonebook_count = fields.Integer(
        "Contacts in 3CX", compute="_compute_phonebook_count", groups="base.group_system"
    )

    def _compute_phonebook_status(self):
        statuses = {
            status.server_id: status
            for status in self.env["threecx.phonebook.status"]
            .sudo()
            .search([("server_id", "in", self.ids)])
        }
        for server in self:
            status = statuses.get(server._origin)
            server.phonebook_requested = status.requested if status else False
            server.phonebook_synced_at = status.synced_at if status else False
            server.phonebook_summary = status.summary if status else False
            server.phonebook_error = status.error if status else False

    def _phonebook_status(self):
        """This server's status row (made the first time, by whichever transaction is first:
        the worker's or an administrator's *Sync now*)."""
        self.ensure_one()
        self.env.cr.execute(
            """
            INSERT INTO threecx_phonebook_status (server_id, create_uid, create_date,
                                                  write_uid, write_date)
            VALUES (%s, %s, now() AT TIME ZONE 'UTC', %s, now() AT TIME ZONE 'UTC')
            ON CONFLICT (server_id) DO NOTHING
            """,
            (self.id, self.env.uid, self.env.uid),
        )
        status = self.env["threecx.phonebook.status"].sudo().search(
            [("server_id", "=", self.id)]
        )
        self.invalidate_recordset(
            ["phonebook_requested", "phonebook_synced_at", "phonebook_summary",
             "phonebook_error"]
        )
        return status

    def _compute_phonebook_count(self):
        counts = dict(
            self.env["threecx.phonebook.entry"]._read_group(
                [("server_id", "in", self.ids), ("contact_id", "!=", 0)],
                ["server_id"],
                ["__count"],
            )
        )
        for server in self:
            server.phonebook_count = counts.get(server, 0)

    def action_phonebook_sync(self):
        """Have the worker sync the phonebook now, everything re-sent that 3CX refused.
        Returns at once: the worker writes the result on the form."""
        self.ensure_one()
        if not self.env.user.has_group("base.group_system"):
            raise AccessError(_("Only an administrator can sync the 3CX phonebook."))
        if not self.phonebook_sync:
            raise UserError(_("Tick \"Sync the 3CX phonebook\" and save first."))
        self._phonebook_status().requested = True
        self.invalidate_recordset(["phonebook_requested"])
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "info",
                "message": _(
                    "The worker syncs the phonebook within seconds; the result shows here."
                ),
            },
        }

    # -- what to sync ------------------------------------------------------------------------

    def _phonebook_partner_domain(self):
        self.ensure_one()
        companies = [self.company_id.id]
        if self.phonebook_scope == "company_shared":
            companies.append(False)
        return [
            ("company_id", "in", companies),
            "|",
            ("phone", "!=", False),
            ("mobile", "!=", False),
            ("user_ids", "not any", [("share", "=", False)]),
        ]

    def _phonebook_fingerprint(self):
        """What changes whenever a contact is created, written or deleted (the watermark)."""
        self.ensure_one()
        self.env["res.partner"].flush_model(["write_date"])
        self.env.cr.execute("SELECT count(*), max(write_date) FROM res_partner")
        count, latest = self.env.cr.fetchone()
        text = f"{count}|{latest}|{self.company_id.id}|{self.phonebook_scope}"
        return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:20]

    def _phonebook_bodies(self):
        """{partner id: Pbx.Contact body} of every contact to have in 3CX."""
        partners = (
            self.env["res.partner"]
            .with_context(active_test=True)
            .search_fetch(
                self._phonebook_partner_domain(),
                ["name", "commercial_company_name", "phone", "mobile", "phone_e164",
                 "mobile_e164", "email"],
                order="id",
            )
        )
        bodies = {}
        for partner in partners:
            # E.164 where Odoo could read the number: what 3CX compares caller ids with.
            phone = partner.phone_e164 or partner.phone or ""
            mobile = partner.mobile_e164 or partner.mobile or ""
            if not (phone.strip() or mobile.strip()):
                continue
            bodies[partner.id] = phonebook.contact_body(
                partner.name or partner.display_name,
                company=partner.commercial_company_name or "",
                phone=phone,
                mobile=mobile,
                email=partner.email or "",
            )
        return bodies

    def _phonebook_plan(self, force=False):
        """``(changes, fingerprint)``: the :class:`~..threecx.phonebook.Change` list that
        brings 3CX in step, ``None`` when nothing changed since the last run (see the module's
        docstring), and the watermark to hand to :meth:`_phonebook_done`.

        :param force: plan whatever the watermark says, and send again what 3CX refused.
        """
        self.ensure_one()
        fingerprint = self._phonebook_fingerprint()
        status = self._phonebook_status()
        now = fields.Datetime.now()
        recent = status.planned_at and now - status.planned_at < FULL_PLAN_EVERY
        if not force and fingerprint == status.fingerprint and recent:
            return None, fingerprint
        bodies = self._phonebook_bodies()
        # Entries are the sync's own bookkeeping: only it writes them (admins may read them).
        Entry = self.env["threecx.phonebook.entry"].sudo()
        entries = Entry.search_fetch(
            [("server_id", "=", self.id)],
            ["partner_id", "contact_id", "digest", "refused_digest"],
        )
        changes, gone = [], Entry
        seen = set()
        for entry in entries:
            partner_id = entry.partner_id.id
            body = bodies.get(partner_id) if partner_id else None
            if body is None:
                if entry.contact_id:
                    changes.append(
                        phonebook.Change(phonebook.DELETE, entry.id, entry.contact_id)
                    )
                else:
                    gone |= entry  # never made it into 3CX: nothing to delete there
                continue
            seen.add(partner_id)
            digest = phonebook.digest(body)
            if digest == entry.digest or (digest == entry.refused_digest and not force):
                continue
            kind = phonebook.UPDATE if entry.contact_id else phonebook.CREATE
            changes.append(phonebook.Change(kind, partner_id, entry.contact_id, body))
        for partner_id, body in bodies.items():
            if partner_id not in seen:
                changes.append(phonebook.Change(phonebook.CREATE, partner_id, 0, body))
        gone.unlink()
        return changes, fingerprint

    # -- what became of it -------------------------------------------------------------------

    def _phonebook_record(self, results):
        """Write what 3CX did with each change onto the entries; returns the counts
        ``{"created", "updated", "deleted", "refused"}``."""
        self.ensure_one()
        Entry = self.env["threecx.phonebook.entry"].sudo()
        counts = {"created": 0, "updated": 0, "deleted": 0, "refused": 0}
        by_partner = {
            e.partner_id.id: e
            for e in Entry.search(
                [
                    ("server_id", "=", self.id),
                    ("partner_id", "in", [
                        r.change.key for r in results if r.change.kind != phonebook.DELETE
                    ]),
                ]
            )
        }
        new_entries, deleted = [], Entry
        for result in results:
            change = result.change
            if change.kind == phonebook.DELETE:
                entry = Entry.browse(change.key)
                if result.ok:
                    deleted |= entry
                    counts["deleted"] += 1
                else:
                    entry.write({"error": result.error})
                    counts["refused"] += 1
                continue
            digest = phonebook.digest(change.body)
            if result.ok:
                values = {"contact_id": result.contact_id, "digest": digest,
                          "refused_digest": False, "error": False}
                counts["created" if change.kind == phonebook.CREATE else "updated"] += 1
            else:
                values = {"contact_id": result.contact_id, "refused_digest": digest,
                          "error": result.error[:500]}
                counts["refused"] += 1
            entry = by_partner.get(change.key)
            if entry:
                entry.write(values)
            else:
                new_entries.append({"server_id": self.id, "partner_id": change.key, **values})
        Entry.create(new_entries)
        deleted.exists().unlink()
        return counts

    def _phonebook_claim(self):
        """Start a run: ``(due, forced)``; a *Sync now* request is taken (once)."""
        self.ensure_one()
        if not self.phonebook_sync or not self.active:
            return False, False
        status = self._phonebook_status()
        forced = status.requested
        if forced:
            status.requested = False
        return True, forced

    def _phonebook_done(self, counts, fingerprint=None, fatal=None, sent=True):
        """End a run: the form's summary (counts, what 3CX refused or why the run stopped, in
        words) and, after a run that went to its end, the watermark of its plan.

        :param fatal: what stopped the run, a :class:`~..threecx.client.Problem` (made by
            the worker with ``threecx.phonebook.problem``: an exception would be of the
            worker's import of the client, not of this one)
        :param sent: whether the run asked 3CX anything: why an earlier run stopped is said
            until a run that did reaches its end (one with nothing to send proves nothing).
        """
        self.ensure_one()
        status = self._phonebook_status()
        fatal_message = status.stopped_error if not sent else ""
        if fatal is not None:
            # The connection test's words for the same failures (threecx_server.py).
            fatal_message = self._problem_message(fatal)
        refused = self.env["threecx.phonebook.entry"].sudo().search(
            [("server_id", "=", self.id), ("error", "!=", False)], order="id"
        )
        problems = []
        if fatal_message:
            problems.append(fatal_message)
        if refused:
            problems.append(
                _(
                    "3CX refused %(count)s contact(s):\n%(list)s",
                    count=len(refused),
                    list="\n".join(
                        f"- {e.partner_id.display_name or e.contact_id}: {e.error}"
                        for e in refused[:REFUSALS_SHOWN]
                    ),
                )
            )
        now = fields.Datetime.now()
        values = {}
        if fingerprint and fatal is None:
            values = {"fingerprint": fingerprint, "planned_at": now}
        elif fatal is not None:
            values = {"fingerprint": False}  # plan it all again next time
        status.write(
            {
                **values,
                "stopped_error": fatal_message or False,
                "synced_at": now,
                "summary": _(
                    "%(created)s added, %(updated)s changed, %(deleted)s removed, "
                    "%(refused)s refused",
                    **counts,
                ),
                "error": "\n\n".join(problems) or False,
            }
        )
        self.invalidate_recordset(
            ["phonebook_synced_at", "phonebook_summary", "phonebook_error"]
        )
