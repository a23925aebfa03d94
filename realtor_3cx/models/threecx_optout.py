# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Spoken opt-outs: a do-not-call review for a telephony manager.

When a call's transcript is written (``threecx.call._transcript_store``, by the worker) and
the caller said "stop calling me", "take me off your list" and the like
(``tools/optout.py``), a review is opened for the call's contact with the excerpt and the
call, and each telephony manager of the call's company gets a To-Do activity on it. Nothing
changes for the contact until a manager reads the excerpt and confirms (one click), which
records the revocation on the contact (``res.partner._realtor_3cx_record_revocation``): from
then on click-to-call refuses the contact. "Not an opt-out" closes the review unchanged.

Reviews quote the transcript, so only telephony managers (who read every call, and so every
recording) read them; the excerpt goes when the transcript goes (consent refused, retention),
the review itself, a fact about the contact's wishes, stays.
"""

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..tools.optout import find_optout

REVIEW_STATES = [
    ("review", "To review"),
    ("confirmed", "Do not call"),
    ("dismissed", "Not an opt-out"),
]


class ThreecxOptout(models.Model):
    _name = "threecx.optout"
    _description = "Spoken opt-out to review"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "create_date desc, id desc"
    _rec_name = "partner_id"

    partner_id = fields.Many2one(
        "res.partner", "Contact", required=True, readonly=True, index=True, ondelete="cascade"
    )
    call_id = fields.Many2one(
        "threecx.call", required=True, readonly=True, index=True, ondelete="cascade"
    )
    call_start_at = fields.Datetime(related="call_id.start_at", string="Call date")
    user_id = fields.Many2one(related="call_id.user_id", string="Realtor")
    company_id = fields.Many2one(related="call_id.company_id", store=True, index=True)
    phrase = fields.Char("Words said", readonly=True)
    excerpt = fields.Text(readonly=True, help="The transcript around the words.")
    state = fields.Selection(
        REVIEW_STATES, "Status", default="review", required=True, readonly=True, index=True,
        tracking=True,
    )
    reviewed_by_id = fields.Many2one("res.users", "Reviewed by", readonly=True)
    reviewed_at = fields.Datetime("Reviewed on", readonly=True)
    partner_do_not_call = fields.Boolean(related="partner_id.do_not_call", string="Do not call")

    _sql_constraints = [
        ("call_unique", "UNIQUE(call_id)", "A call has one opt-out review."),
    ]

    @api.model
    def _open_for(self, call, phrase, excerpt):
        """A review of what ``call``'s caller said, and the managers' activities (superuser:
        the worker writes the transcript as itself; the managers read the review)."""
        Review = self.sudo()
        if Review.search_count([("call_id", "=", call.id)]):
            return Review.browse()  # the transcript written again: one review per call
        review = Review.create({
            "partner_id": call.partner_id.id,
            "call_id": call.id,
            "phrase": phrase,
            "excerpt": excerpt,
        })
        todo = self.env.ref("mail.mail_activity_data_todo")
        summary = _("Do-not-call review: %s", call.partner_id.display_name)
        note = _("The caller said \u201c%s\u201d on this call: confirm to stop calling them.",
                 phrase)
        for manager in review._managers():
            review.activity_schedule(
                activity_type_id=todo.id, summary=summary, note=note, user_id=manager.id)
        return review

    def _managers(self):
        """The active telephony managers who work in the review's company."""
        domain = [("groups_id", "in", self.env.ref("realtor_3cx.realtor_3cx_group_manager").id),
                  ("share", "=", False)]
        if self.company_id:
            domain.append(("company_ids", "in", self.company_id.id))
        return self.env["res.users"].sudo().search(domain)

    def _check_open(self):
        self.check_access("write")
        if not self.env.user.has_group("realtor_3cx.realtor_3cx_group_manager"):
            raise UserError(_("Only a telephony manager reviews spoken opt-outs."))
        if self.filtered(lambda r: r.state != "review"):
            raise UserError(_("This opt-out has been reviewed already."))

    def action_confirm(self):
        """One click: the contact is not to be called, as they asked on the call."""
        self._check_open()
        for review in self:
            review.partner_id._realtor_3cx_record_revocation(
                "transcript", call=review.call_id, excerpt=review.excerpt or review.phrase)
        self._close("confirmed")
        return True

    def action_dismiss(self):
        """Not an opt-out (the transcript misheard, or it was about something else)."""
        self._check_open()
        self._close("dismissed")
        return True

    def _close(self, state):
        self.write({"state": state, "reviewed_by_id": self.env.uid,
                    "reviewed_at": fields.Datetime.now()})
        # Every manager had the same To-Do: one review done closes them all.
        labels = dict(self._fields["state"]._description_selection(self.env))
        self.activity_ids.sudo().action_feedback(feedback=labels[state])

    def action_open_call(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "threecx.call",
            "res_id": self.call_id.id,
            "views": [[False, "form"]],
        }


class ThreecxCallOptoutMixin(models.AbstractModel):
    """A call's opt-out review (composed on ``threecx.call``): opened when its transcript is
    written, its excerpt cleared when the transcript goes (threecx_recording.py's steps)."""

    _name = "threecx.call.optout.mixin"
    _description = "Phone Call: spoken opt-out"

    optout_ids = fields.One2many(
        "threecx.optout", "call_id", "Opt-out reviews",
        groups="realtor_3cx.realtor_3cx_group_manager",
    )

    def _optout_review(self):
        """A review if the caller asked not to be called (and is not on the list already)."""
        self.ensure_one()
        if not self.partner_id or self.partner_id.do_not_call:
            return
        found = find_optout(self.transcript)
        if found:
            self.env["threecx.optout"]._open_for(self, *found)

    def _optout_forget(self):
        # The excerpt is the transcript's words: it goes with them (the review stays).
        self.sudo().optout_ids.filtered("excerpt").write({"excerpt": False, "phrase": False})
