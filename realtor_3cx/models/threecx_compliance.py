# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Proof of the calling rules: the log of refused outbound attempts and the compliance report.

The log
    Every outbound path asks :meth:`ThreecxOutboundMixin._realtor_3cx_outbound_block`
    (res_partner_outbound.py) with the ``path`` it is; a refusal for a rule (do-not-call,
    calling hours, call cap) writes one :class:`ThreecxBlockedAttempt` row there, so no path
    carries code of its own. The row is written in the request's transaction: every path
    answers a refusal as a value (click-to-call's ``refused`` state, the softphone's
    ``ok: False``), never as an error that would roll it back, and a new path must keep it so
    (a cursor of its own would be the alternative, but it cannot see a contact created
    earlier in the same transaction, takes a connection per refusal, and writes the refusal
    again each time Odoo replays the request after a serialization failure). The CRM template's
    lookup, which 3CX asks before it dials an outbound call, logs the warning it puts in the
    name the same way: 3CX dials anyway, and the call it then reports carries
    ``compliance_issue``.

    Realtors read their own refusals, managers everyone's; nobody writes the log through RPC.

The report
    :class:`ThreecxComplianceReport`: the refusals, the calls 3CX placed against a warning
    (``compliance_issue``, threecx_call_crm.py) and the recordings held for want of consent
    (``recording_state = 'held'``, threecx_recording.py), one row each, for managers.
"""

from odoo import api, fields, models
from odoo.tools import SQL

from .threecx_call import CALL_STATES

PATHS = [
    ("click_to_call", "Click-to-call"),
    ("call_back", "Call back"),
    ("browser_call", "Browser call"),
    ("transfer", "Transfer"),
    ("crm_lookup", "3CX lookup (warned)"),
    ("dialer", "Dialer"),
]
REASONS = [
    ("do_not_call", "Do-not-call contact"),
    ("calling_window", "Outside calling hours"),
    ("attempt_cap", "Too many calls"),
    ("other", "Other rule"),
]


class ThreecxBlockedAttempt(models.Model):
    _name = "threecx.blocked.attempt"
    _description = "Refused outbound call"
    _order = "attempted_at desc, id desc"
    _rec_name = "number"

    attempted_at = fields.Datetime(
        "When", default=fields.Datetime.now, required=True, readonly=True, index=True
    )
    user_id = fields.Many2one(
        "res.users", "Realtor", readonly=True, index=True, ondelete="set null",
        help="Who tried to call (none for a 3CX lookup: 3CX does not say who dials).",
    )
    partner_id = fields.Many2one("res.partner", "Contact", readonly=True, ondelete="set null")
    number = fields.Char(readonly=True, required=True)
    path = fields.Selection(PATHS, readonly=True, required=True)
    reason = fields.Selection(REASONS, readonly=True, required=True, index=True)
    rule_id = fields.Many2one(
        "threecx.calling.rule", "Calling rule", readonly=True, ondelete="set null"
    )
    rule_label = fields.Char("Rule", readonly=True)
    message = fields.Text(readonly=True)
    company_id = fields.Many2one(
        "res.company", readonly=True, required=True, default=lambda self: self.env.company
    )

    @api.model
    def _realtor_3cx_log(self, path, number, restriction):
        """Write one row for a refusal ``restriction`` (``_realtor_3cx_restriction``'s
        answer) of a call to ``number`` on ``path``; by whoever the environment's user is."""
        user = self.env.user
        rule = restriction.get("rule") or {}
        # A kind of refusal this log does not know yet (a new rule) is still logged.
        reason = restriction["kind"] if restriction["kind"] in dict(REASONS) else "other"
        return self.sudo().create({
            "user_id": user.id if user._is_internal() and not user._is_superuser() else False,
            "partner_id": restriction["partner"].id,
            "number": number,
            "path": path,
            "reason": reason,
            "rule_id": rule.get("id") or False,
            "rule_label": rule.get("label") or False,
            "message": restriction["message"],
        })


class ThreecxComplianceReport(models.Model):
    """The compliance report: one row per refused attempt, per call placed against a
    warning, per recording held for want of consent. The consent ledger's revocations join
    this view as a fourth ``kind`` (with how fast they took effect) once that ledger exists."""

    _name = "threecx.compliance.report"
    _description = "Compliance report"
    _auto = False
    _order = "date desc"
    _rec_name = "date"
    _depends = {
        "threecx.blocked.attempt": ["attempted_at", "user_id", "partner_id", "number", "path",
                                    "reason", "rule_id", "company_id", "message"],
        "threecx.call": ["start_at", "user_id", "partner_id", "external_e164", "company_id",
                         "compliance_issue", "compliance_note", "recording_state",
                         "recording_error", "state"],
    }

    date = fields.Datetime(readonly=True)
    kind = fields.Selection(
        [("blocked", "Refused attempt"), ("placed", "Placed against a warning"),
         ("recording_held", "Recording held for consent")],
        readonly=True,
    )
    reason = fields.Selection(REASONS, readonly=True)
    path = fields.Selection(PATHS, readonly=True)
    user_id = fields.Many2one("res.users", "Realtor", readonly=True)
    partner_id = fields.Many2one("res.partner", "Contact", readonly=True)
    number = fields.Char(readonly=True)
    rule_id = fields.Many2one("threecx.calling.rule", "Calling rule", readonly=True)
    phone_call_id = fields.Many2one("threecx.call", "Call", readonly=True)
    call_state = fields.Selection(CALL_STATES, "Call status", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    message = fields.Text(readonly=True)
    blocked = fields.Integer("Refused attempts", readonly=True, aggregator="sum")
    placed = fields.Integer("Placed against a warning", readonly=True, aggregator="sum")
    held = fields.Integer("Recordings held", readonly=True, aggregator="sum")

    @property
    def _table_query(self):
        # Ids: an attempt's id times 3, a call's times 3 plus 1 or 2, so rows never collide.
        return SQL("""
            SELECT a.id * 3 AS id, a.attempted_at AS date, 'blocked' AS kind,
                   a.reason, a.path, a.user_id, a.partner_id, a.number, a.rule_id,
                   NULL::int AS phone_call_id, NULL::varchar AS call_state, a.company_id,
                   a.message, 1 AS blocked, 0 AS placed, 0 AS held
              FROM threecx_blocked_attempt a
            UNION ALL
            SELECT c.id * 3 + 1, c.start_at, 'placed', c.compliance_issue, NULL, c.user_id,
                   c.partner_id, c.external_e164, NULL, c.id, c.state, c.company_id,
                   c.compliance_note, 0, 1, 0
              FROM threecx_call c
             WHERE c.compliance_issue IS NOT NULL
            UNION ALL
            SELECT c.id * 3 + 2, c.start_at, 'recording_held', NULL, NULL, c.user_id,
                   c.partner_id, c.external_e164, NULL, c.id, c.state, c.company_id,
                   c.recording_error, 0, 0, 1
              FROM threecx_call c
             WHERE c.recording_state = 'held'
        """)
