# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import plaintext2html

from ..tools.phone import to_e164

CALL_STATES = [
    ("ringing", "Ringing"),
    ("dialing", "Dialing"),
    ("connected", "Connected"),
    ("completed", "Completed"),
    ("missed", "Missed"),
    ("voicemail", "Voicemail"),
    ("busy", "Busy"),
    ("failed", "Failed"),
    ("transferred", "Transferred"),
]
# What a realtor may change on their own call; the rest is what 3CX reported.
REALTOR_WRITABLE_FIELDS = {"outcome_id", "notes", "partner_id", "property_id", "recording_consent"}


class ThreecxCall(models.Model):
    """A phone call, as 3CX reported it, and what the realtor learned on it.

    The call's features are AbstractModels, one per file, composed here in ``_inherit``. None
    of them overrides another's methods: what several features take part in (``create``,
    ``write``, the worker's ``_create_from_view`` and ``_notify_transition``) is defined in this
    class only, calling each feature's step in the order written below, so that no behaviour
    depends on the order Python imports the files in.
    """

    _name = "threecx.call"
    _description = "Phone Call"
    _inherit = [
        "mail.thread",
        "mail.activity.mixin",
        "threecx.call.sync.mixin",  # threecx_call_sync.py: what the worker writes, who is told
        "threecx.call.lead.mixin",  # threecx_call_lead.py: speed to lead, listing lines
        "threecx.call.identity.mixin",  # threecx_call_identity.py: pick, create, listing line
        "threecx.call.recording.mixin",  # threecx_recording.py: recordings and voicemails
        "threecx.call.transcript.mixin",  # threecx_recording.py: their transcripts
        "threecx.call.dial.mixin",  # threecx_dial.py: click-to-call, claim, answer, decline
        "threecx.call.crm.mixin",  # threecx_call_crm.py: calls journaled by 3CX's CRM template
        "threecx.call.outcome.mixin",  # threecx_call_outcome.py: the calls awaiting an outcome
        "threecx.call.debrief.mixin",  # threecx_call_debrief.py: summary, suggestion, voicemail
        "threecx.call.display.mixin",  # threecx_call_display.py: numbers shown, Missed Calls rows
        "threecx.call.team.mixin",  # threecx_team.py: queue and ring-group calls
        "threecx.call.speed.mixin",  # threecx_speed_to_lead.py: missed leads passed on
        "threecx.call.optout.mixin",  # threecx_optout.py: spoken opt-outs in transcripts
    ]
    _order = "start_at desc, id desc"
    _check_company_auto = True

    server_id = fields.Many2one(
        "threecx.server", "3CX server", required=True, index=True, ondelete="restrict"
    )
    call_id = fields.Char(
        "3CX call ID", required=True, readonly=True, help="The call's id on the 3CX server."
    )
    direction = fields.Selection(
        [("inbound", "Inbound"), ("outbound", "Outbound"), ("internal", "Internal")],
        required=True,
        default="inbound",
    )
    state = fields.Selection(CALL_STATES, required=True, default="ringing", tracking=True)
    external_number = fields.Char(help="The other party's number, as 3CX reported it.")
    external_e164 = fields.Char(
        "External number (E.164)", compute="_compute_e164", store=True, index="btree_not_null"
    )
    did_number = fields.Char("Dialled number", help="The number the caller dialled (DID).")
    did_e164 = fields.Char("Dialled number (E.164)", compute="_compute_e164", store=True)
    extension = fields.Char(help="The 3CX extension that took or placed the call.")
    user_id = fields.Many2one(
        "res.users", "Realtor", index=True, tracking=True, ondelete="set null"
    )
    partner_id = fields.Many2one(
        "res.partner", "Contact", index=True, tracking=True, ondelete="set null"
    )
    candidate_partner_ids = fields.Many2many(
        "res.partner",
        "threecx_call_candidate_rel",
        "call_id",
        "partner_id",
        "Possible contacts",
        help="Everyone whose number matched, when several share it: pick the right one.",
    )
    property_id = fields.Many2one(
        "realtor.property", index=True, tracking=True, ondelete="set null"
    )
    start_at = fields.Datetime(
        "Started", required=True, index=True, default=fields.Datetime.now, readonly=True
    )
    answer_at = fields.Datetime("Answered", readonly=True)
    end_at = fields.Datetime("Ended", readonly=True)
    ring_seconds = fields.Integer(
        "Ring time", compute="_compute_durations", store=True, aggregator="sum"
    )
    talk_seconds = fields.Integer(
        "Talk time", compute="_compute_durations", store=True, aggregator="sum"
    )
    # Managers configure the outcomes and what each one plans (models/threecx_outcome.py).
    outcome_id = fields.Many2one("threecx.outcome", tracking=True, ondelete="restrict")
    notes = fields.Text()
    company_id = fields.Many2one(
        related="server_id.company_id", store=True, index=True, precompute=True
    )

    _sql_constraints = [
        (
            "call_id_server_uniq",
            "UNIQUE(server_id, call_id)",
            "This 3CX call is already logged: a call is stored once per 3CX server.",
        ),
    ]

    # The numbers as read when the call happened: a company that changes country later does
    # not rewrite its call history (nor all of it in one transaction).
    @api.depends("external_number", "did_number", "company_id")
    def _compute_e164(self):
        for call in self:
            region = call.company_id.country_id.code or self.env.company.country_id.code
            call.external_e164 = to_e164(call.external_number, region)
            call.did_e164 = to_e164(call.did_number, region)

    @api.depends("start_at", "answer_at", "end_at")
    def _compute_durations(self):
        for call in self:
            rang_until = call.answer_at or call.end_at
            call.ring_seconds = (
                max(0, int((rang_until - call.start_at).total_seconds()))
                if rang_until and call.start_at
                else 0
            )
            call.talk_seconds = (
                max(0, int((call.end_at - call.answer_at).total_seconds()))
                if call.answer_at and call.end_at
                else 0
            )

    @api.constrains("start_at", "answer_at", "end_at")
    def _check_times(self):
        for call in self:
            if call.answer_at and call.answer_at < call.start_at:
                raise ValidationError(_("A call cannot be answered before it started."))
            if call.end_at and call.end_at < (call.answer_at or call.start_at):
                raise ValidationError(_("A call cannot end before it started or was answered."))

    @api.depends("direction", "partner_id", "external_number", "start_at")
    def _compute_display_name(self):
        labels = dict(self._fields["direction"]._description_selection(self.env))
        for call in self:
            who = call.partner_id.name or call.external_number or _("unknown number")
            call.display_name = f"{labels.get(call.direction, '')} · {who}"

    # -- where the features meet: each step once, in this order -------------------------------

    def init(self):
        res = super().init()
        self._attempt_cap_indexes()  # threecx_calling_rule.py
        self._transcript_words_init()  # threecx_recording.py
        return res

    @api.model_create_multi
    def create(self, vals_list):
        calls = super().create(vals_list)
        # Every outbound call comes through here, whoever logs it: it may settle a missed lead.
        calls._realtor_3cx_speed_to_lead()
        # A member's call back makes the team's missed calls from that number theirs.
        calls._team_settle_by_call_back()
        return calls

    def write(self, vals):
        self._check_realtor_write(vals)
        had_outcome = {call.id: call.outcome_id for call in self} if "outcome_id" in vals else {}
        res = super().write(vals)
        # 1. A new outcome plans its follow-up.
        for call in self:
            if vals.get("outcome_id") and had_outcome.get(call.id) != call.outcome_id:
                call._schedule_outcome_followup()
        # 2. A call that became missed starts a call-back deadline; an outbound one settles it
        #    (threecx_call_lead.py).
        if "state" in vals:
            self._realtor_3cx_speed_to_lead()
        # 3. A refused consent deletes the audio; a consent recorded where the callee's rule
        #    needs one releases it to the worker (threecx_recording.py).
        if vals.get("recording_consent") == "refused":
            self._recording_delete(_("Deleted: the caller refused to be recorded."))
        elif vals.get("recording_consent"):
            self._recording_consent_changed(vals["recording_consent"])
        # 4. A logged or skipped outcome closes its prompt in every tab (threecx_call_outcome.py).
        if "outcome_id" in vals or "outcome_skipped" in vals:
            self._outcome_prompt_done()
        return res

    @api.model
    def _create_from_view(self, server, view, values):
        """The record of a call the worker sees for the first time, and the lookup it made.

        A call 3CX's CRM template journaled first is adopted (threecx_call_crm.py) rather
        than logged twice; otherwise the call is created (threecx_call_sync.py).
        """
        adopted = self._crm_adopt_from_view(server, view, values)
        if adopted:
            return adopted, None
        return self._sync_create_from_view(server, view, values)

    def _notify_transition(self, old_state, view, users, match=None):
        """What a state change of the call sets off, from the worker or a ReportCall."""
        self.ensure_one()
        # 1. A ReportCall record the worker just adopted is not a new call (threecx_call_crm.py).
        old_state = self._crm_adopted_old_state(old_state)
        # 2. Pop-ups, call-back activity, chatter summary (threecx_call_sync.py).
        self._sync_notify_transition(old_state, view, users, match)
        # 3. A call logged as over may have audio to fetch (threecx_recording.py).
        self._recording_on_transition(old_state)

    # -- what a realtor may change -----------------------------------------------------------

    def _check_realtor_write(self, vals):
        # Realtors may add what they learned (outcome, notes, who and what it was about), not
        # rewrite what 3CX reported.
        if not self.env.su and not self.env.user.has_group("realtor_3cx.realtor_3cx_group_manager"):
            forbidden = set(vals) - REALTOR_WRITABLE_FIELDS
            if forbidden:
                raise AccessError(
                    _(
                        "Only telephony managers can change %(fields)s on a call.",
                        fields=", ".join(sorted(forbidden)),
                    )
                )

    def _schedule_outcome_followup(self):
        """The follow-up the outcome implies, on the contact (or the call), as configured."""
        self.ensure_one()
        outcome = self.outcome_id
        if not outcome.activity_type_id:
            return
        # On the contact as superuser: the realtor may set the outcome of their call, and the
        # follow-up it plans is the outcome's (a manager's) configuration, so it does not need
        # the realtor's own right to edit contacts (Contact Creation, which an admin may take
        # away). The activity is still the realtor's (create_uid), assigned as configured.
        target = self.partner_id.sudo() or self
        target.activity_schedule(
            activity_type_id=outcome.activity_type_id.id,
            # The day the realtor chose in the outcome panel, else the outcome's delay.
            date_deadline=self.env.context.get("realtor_3cx_followup_date")
            or fields.Date.add(fields.Date.context_today(self), days=outcome.delay_days),
            summary=outcome._followup_summary(self),
            # Plain text (the realtor's, or 3CX's summary): escaped, not sanitized as HTML.
            note=plaintext2html(self.notes) if self.notes else "",
            user_id=outcome._followup_assignee(self).id,
        )

    @api.model
    def _values_from_lookup(self, match):
        """The contact, candidates and property of a call, from a caller lookup result.

        Ambiguous numbers keep every candidate and no contact: the realtor picks
        (``action_pick_contact``, threecx_call_identity.py).
        """
        partner_ids = [p["id"] for p in match["partners"]]
        return {
            "partner_id": partner_ids[0] if len(partner_ids) == 1 else False,
            "candidate_partner_ids": [
                fields.Command.set(partner_ids if len(partner_ids) > 1 else [])
            ],
            "property_id": match["property_id"] or False,
        }
