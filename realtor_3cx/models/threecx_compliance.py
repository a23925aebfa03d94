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
    (``recording_state = 'held'``, threecx_recording.py), one row each, for managers; and the
    consent ledger's phone revocations (threecx_consent.py): when each was asked, when it
    took effect and how long that took (the law allows at most :data:`DEADLINE_BUSINESS_DAYS`
    business days), and every outbound call placed to that contact or their number after it
    took effect, until a new consent (there should be none: every path refuses them).
"""

from odoo import api, fields, models
from odoo.tools import SQL

from .threecx_call import CALL_STATES
from .threecx_consent import HOW

# An opt-out must be honoured within this many business days (the FCC's rule of April 2025).
DEADLINE_BUSINESS_DAYS = 10

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
    warning, per recording held for want of consent, per phone revocation of the consent
    ledger, and per outbound call placed after a revocation took effect."""

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
                         "recording_error", "state", "direction"],
        "threecx.consent": ["partner_id", "company_id", "channel", "kind", "effective_at",
                            "how", "user_id", "call_id", "excerpt", "note", "create_date"],
        "res.partner": ["phone_e164", "mobile_e164"],
    }

    date = fields.Datetime(readonly=True)
    kind = fields.Selection(
        [("blocked", "Refused attempt"), ("placed", "Placed against a warning"),
         ("recording_held", "Recording held for consent"), ("revocation", "Revocation"),
         ("after_revocation", "Called after a revocation")],
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
    consent_id = fields.Many2one("threecx.consent", "Revocation", readonly=True)
    how = fields.Selection(HOW, "Revoked how", readonly=True)
    requested_at = fields.Datetime(
        "Asked", readonly=True,
        help="When the contact asked: the call's start for an opt-out said on a call, else "
        "the date of the ledger entry.")
    effective_at = fields.Datetime(
        "Took effect", readonly=True,
        help="When the ledger recorded the revocation: from then on every path refuses the "
        "contact's number.")
    delay_hours = fields.Float(
        "Hours to take effect", readonly=True, aggregator="max",
        help="From the request to the revocation taking effect.")
    late = fields.Boolean(
        "Past the deadline", readonly=True,
        help="The revocation took effect more than 10 business days after it was asked.")
    blocked = fields.Integer("Refused attempts", readonly=True, aggregator="sum")
    placed = fields.Integer("Placed against a warning", readonly=True, aggregator="sum")
    held = fields.Integer("Recordings held", readonly=True, aggregator="sum")
    revocations = fields.Integer(readonly=True, aggregator="sum")
    after_revocation = fields.Integer("Calls after a revocation", readonly=True,
                                      aggregator="sum")

    @property
    def _table_query(self):
        # Ids: an attempt's id times 5, a call's times 5 plus 1, 2 or 4, a ledger entry's
        # plus 3, so rows never collide (a call after several revocations of one contact is
        # one row, for the latest of them).
        return SQL("""
            WITH revocation AS (
                SELECT e.id, e.partner_id, e.user_id, e.call_id, e.how,
                       COALESCE(e.company_id, rc.company_id, u.company_id) AS company_id,
                       COALESCE(e.excerpt, e.note) AS message,
                       CASE WHEN e.how IN ('call', 'transcript') AND rc.start_at IS NOT NULL
                            THEN rc.start_at ELSE e.effective_at END AS requested_at,
                       GREATEST(e.create_date, e.effective_at) AS effective_at,
                       (SELECT min(g.effective_at) FROM threecx_consent g
                         WHERE g.partner_id = e.partner_id AND g.channel = 'phone'
                           AND g.kind = 'granted'
                           AND (g.effective_at, g.id) > (e.effective_at, e.id)) AS until
                  FROM threecx_consent e
                  JOIN res_users u ON u.id = e.user_id
                  LEFT JOIN threecx_call rc ON rc.id = e.call_id
                 WHERE e.kind = 'revoked' AND e.channel = 'phone'
            ), timed AS (
                SELECT r.*,
                       GREATEST(EXTRACT(EPOCH FROM r.effective_at - r.requested_at), 0)
                       / 3600.0 AS delay_hours,
                       (SELECT count(*) FROM generate_series(
                                r.requested_at::date + 1, r.effective_at::date,
                                interval '1 day') d
                         WHERE extract(isodow FROM d) < 6) > %(deadline)s AS late
                  FROM revocation r
            )
            SELECT a.id * 5 AS id, a.attempted_at AS date, 'blocked' AS kind,
                   a.reason, a.path, a.user_id, a.partner_id, a.number, a.rule_id,
                   NULL::int AS phone_call_id, NULL::varchar AS call_state, a.company_id,
                   a.message, NULL::int AS consent_id, NULL::varchar AS how,
                   NULL::timestamp AS requested_at, NULL::timestamp AS effective_at,
                   NULL::float AS delay_hours, NULL::boolean AS late,
                   1 AS blocked, 0 AS placed, 0 AS held, 0 AS revocations,
                   0 AS after_revocation
              FROM threecx_blocked_attempt a
            UNION ALL
            SELECT c.id * 5 + 1, c.start_at, 'placed', c.compliance_issue, NULL, c.user_id,
                   c.partner_id, c.external_e164, NULL, c.id, c.state, c.company_id,
                   c.compliance_note, NULL, NULL, NULL, NULL, NULL, NULL, 0, 1, 0, 0, 0
              FROM threecx_call c
             WHERE c.compliance_issue IS NOT NULL
            UNION ALL
            SELECT c.id * 5 + 2, c.start_at, 'recording_held', NULL, NULL, c.user_id,
                   c.partner_id, c.external_e164, NULL, c.id, c.state, c.company_id,
                   c.recording_error, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 1, 0, 0
              FROM threecx_call c
             WHERE c.recording_state = 'held'
            UNION ALL
            SELECT t.id * 5 + 3, t.effective_at, 'revocation', NULL, NULL, t.user_id,
                   t.partner_id, COALESCE(p.phone_e164, p.mobile_e164), NULL, t.call_id,
                   rc.state, t.company_id, t.message, t.id, t.how, t.requested_at,
                   t.effective_at, t.delay_hours, t.late, 0, 0, 0, 1, 0
              FROM timed t
              JOIN res_partner p ON p.id = t.partner_id
              LEFT JOIN threecx_call rc ON rc.id = t.call_id
            UNION ALL
            SELECT * FROM (
                SELECT DISTINCT ON (c.id) c.id * 5 + 4, c.start_at, 'after_revocation',
                       NULL::varchar, NULL::varchar, c.user_id, t.partner_id, c.external_e164,
                       NULL::int, c.id, c.state, c.company_id, NULL::text, t.id, t.how,
                       t.requested_at, t.effective_at,
                       t.delay_hours, t.late, 0, 0, 0, 0, 1
                  FROM timed t
                  JOIN res_partner p ON p.id = t.partner_id
                  JOIN threecx_call c
                    ON c.direction = 'outbound' AND c.start_at >= t.effective_at
                   AND (t.until IS NULL OR c.start_at < t.until)
                   AND c.id IS DISTINCT FROM t.call_id
                   AND (c.partner_id = t.partner_id
                        OR c.external_e164 IN (p.phone_e164, p.mobile_e164))
              ORDER BY c.id, t.effective_at DESC, t.id DESC
            ) after_revocation
        """, deadline=DEADLINE_BUSINESS_DAYS)
