# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The consent ledger: who may be called (or texted), since when, on whose word.

Append-only: an entry is never edited or deleted, by anyone (a correction is a new entry), so
the ledger is the proof of what the brokerage knew and when. A contact's ``do_not_call`` is
the ledger's current state for the phone channel (res_partner.py): the latest entry decides.
A realtor may record a revocation, never a consent; a telephony manager records a consent,
with its evidence.
"""

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

HOW = [
    ("web_form", "Web form"),
    ("call", "On a call"),
    ("transcript", "Spoken in a call (transcript)"),
    ("realtor", "By a realtor"),
    ("manager", "By a manager"),
    ("import", "Import / migration"),
]


class ThreecxConsent(models.Model):
    _name = "threecx.consent"
    _description = "Consent ledger entry"
    _order = "effective_at desc, id desc"
    _rec_name = "partner_id"

    partner_id = fields.Many2one(
        "res.partner", "Contact", required=True, index=True, ondelete="cascade", readonly=True
    )
    # The contact's company, for the record rule (rules read many2ones as superuser).
    company_id = fields.Many2one(
        related="partner_id.company_id", store=True, readonly=True, string="Company"
    )
    channel = fields.Selection(
        [("phone", "Phone calls"), ("sms", "Text messages")],
        required=True, default="phone", readonly=True,
    )
    kind = fields.Selection(
        [("granted", "Consent granted"), ("revoked", "Consent revoked")],
        required=True, readonly=True,
    )
    effective_at = fields.Datetime(
        "Effective", required=True, default=fields.Datetime.now, readonly=True,
    )
    how = fields.Selection(HOW, required=True, readonly=True)
    user_id = fields.Many2one(
        "res.users", "Recorded by", required=True, default=lambda self: self.env.user,
        readonly=True, ondelete="restrict",
    )
    call_id = fields.Many2one("threecx.call", readonly=True, ondelete="set null")
    excerpt = fields.Text(readonly=True, help="The words that granted or revoked consent.")
    note = fields.Text(readonly=True)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            # Recorded by whoever records it: not someone else's name on the proof.
            if self.env.su:
                continue
            manager = self.env.user.has_group("realtor_3cx.realtor_3cx_group_manager")
            vals["user_id"] = self.env.uid
            if not manager:
                vals["effective_at"] = fields.Datetime.now()  # no back-dated opt-out
            if vals.get("kind") == "granted":
                if not manager:
                    raise AccessError(_(
                        "Only a telephony manager can record a consent; a realtor can "
                        "record an opt-out."))
                if not (vals.get("note") or vals.get("excerpt") or vals.get("call_id")):
                    raise UserError(_(
                        "A consent needs its evidence: a call, the words, or a note."))
        return super().create(vals_list)

    def write(self, vals):
        if self:  # an empty write changes nothing (the ORM's own calls may make one)
            raise UserError(_(
                "The consent ledger cannot be edited: record a new entry to correct it."))
        return super().write(vals)

    def unlink(self):
        if self:
            raise UserError(_(
                "The consent ledger cannot be edited: record a new entry to correct it."))
        return super().unlink()


class ResPartner(models.Model):
    """The contact's side of the ledger: ``do_not_call`` (res_partner.py) is computed here."""

    _inherit = "res.partner"

    threecx_consent_ids = fields.One2many(
        "threecx.consent", "partner_id", "Consent ledger",
        groups="realtor_3cx.realtor_3cx_group_user",
    )

    # Stored, and recomputed in the transaction that records the entry: the next call, on
    # any path, reads the revocation.
    # Stored, and recomputed in the transaction that records the entry: the next call, on
    # any path, reads the revocation.
    @api.depends("threecx_consent_ids.kind", "threecx_consent_ids.channel",
                 "threecx_consent_ids.effective_at")
    def _compute_do_not_call(self):
        latest = self._realtor_3cx_latest_phone_consent()
        for partner in self:
            partner.do_not_call = latest.get(partner.id) == "revoked"

    def _realtor_3cx_latest_phone_consent(self):
        """``{partner id: "granted" | "revoked"}``: the latest phone entry of each contact."""
        if not self.ids:
            return {}
        self.env["threecx.consent"].flush_model(["partner_id", "channel", "kind", "effective_at"])
        self.env.cr.execute(
            """SELECT DISTINCT ON (partner_id) partner_id, kind
                 FROM threecx_consent
                WHERE partner_id = ANY(%s) AND channel = 'phone'
             ORDER BY partner_id, effective_at DESC, id DESC""",
            [self.ids],
        )
        return dict(self.env.cr.fetchall())

    def _inverse_do_not_call(self):
        # Ticking the box records an opt-out; unticking it is a consent, which needs a
        # manager and evidence (the "Record consent" wizard), never a checkbox.
        latest = self._realtor_3cx_latest_phone_consent()
        if any(latest.get(p.id) == "revoked" for p in self if not p.do_not_call):
            raise UserError(_(
                "An opt-out cannot be undone by unticking it: a telephony manager "
                "records the contact's new consent, with its evidence."))
        revoke = self.filtered(lambda p: p.do_not_call and latest.get(p.id) != "revoked")
        if revoke:
            how = "import" if self.env.context.get("install_mode") else "realtor"
            revoke._realtor_3cx_record_revocation(how)

    def _realtor_3cx_record_revocation(self, how, *, call=False, excerpt=False, note=False):
        """Record that each contact of ``self`` revoked consent to phone calls, as the
        current user, effective at once (every outbound path reads it in this transaction).

        :param str how: one of :data:`HOW`'s keys (``"transcript"`` for a spoken opt-out)
        :param call: the ``threecx.call`` it was said in, if any
        :return: the new ``threecx.consent`` entries
        """
        return self._realtor_3cx_record_consent_entry(
            "revoked", how, call=call, excerpt=excerpt, note=note)

    def _realtor_3cx_record_consent(self, how, *, call=False, excerpt=False, note=False):
        """Record a new phone consent for each contact (telephony managers only, with a
        call, the words or a note as evidence)."""
        return self._realtor_3cx_record_consent_entry(
            "granted", how, call=call, excerpt=excerpt, note=note)

    def _realtor_3cx_record_consent_entry(self, kind, how, *, call, excerpt, note):
        # Anyone who may read the contact may record an opt-out on it (consents: managers,
        # threecx.consent.create()).
        self.check_access("read")
        now = fields.Datetime.now()
        entries = self.env["threecx.consent"].create([{
            "partner_id": partner.id, "channel": "phone", "kind": kind, "how": how,
            "effective_at": now, "user_id": self.env.uid, "call_id": call and call.id,
            "excerpt": excerpt, "note": note,
        } for partner in self])
        return entries

    def action_realtor_3cx_record_opt_out(self):
        self._realtor_3cx_record_revocation("realtor")
        return True

    def action_realtor_3cx_record_consent(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Record consent"),
            "res_model": "threecx.consent.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_partner_id": self.id},
        }


class ThreecxConsentWizard(models.TransientModel):
    """A manager records a contact's new consent, with its evidence."""

    _name = "threecx.consent.wizard"
    _description = "Record a consent"

    partner_id = fields.Many2one("res.partner", required=True, ondelete="cascade")
    how = fields.Selection(HOW, required=True, default="manager")
    call_id = fields.Many2one("threecx.call", domain="[('partner_id', '=', partner_id)]")
    excerpt = fields.Text()
    note = fields.Text(required=True, help="Why the contact may be called again.")

    def action_record(self):
        self.ensure_one()
        self.partner_id._realtor_3cx_record_consent(
            self.how, call=self.call_id, excerpt=self.excerpt, note=self.note)
        return {"type": "ir.actions.act_window_close"}
