# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Where a call's debrief shows: the outcome prompt, the missed-call activity, the next pop-up.

Once the worker stores a transcript (``threecx.call._transcript_store``), the outcome prompt
of a call still waiting for its outcome gets the summary and a suggested outcome, live on the
bus (``realtor_3cx.call/debrief``): the recording is fetched after the hang-up, so the prompt
is usually open already. A voicemail's transcript goes into the note of its call-back activity
and onto the caller's next pop-up ("left a voicemail: ...").

The suggestion is a plain keyword table, not a model: each configured outcome (by its code)
has phrases that, said in the summary (else the transcript), suggest it; the first outcome in
:data:`SUGGESTIONS` order with a phrase found wins, and the prompt shows the phrase, so the
realtor sees why. Outcomes a manager adds with other codes are simply never suggested.
"""

import re

from odoo import api, fields, models
from odoo.tools import html2plaintext, plaintext2html

BUS_DEBRIEF = "realtor_3cx.call/debrief"
# Outcome code -> phrases, most specific outcome first: "not interested" must win over
# "interested", a wrong number over anything said after it.
SUGGESTIONS = [
    ("wrong_number", ("wrong number", "no one by that name", "nobody by that name")),
    ("bad_number", ("not in service", "disconnected", "no longer in service")),
    ("not_interested", (
        "not interested", "no longer looking", "stop calling", "take me off",
        "already bought", "already found", "not looking",
    )),
    ("listing_appointment", (
        "listing appointment", "list my", "list our", "list the house", "sell my", "sell our",
        "selling my", "selling our", "valuation", "appraisal", "what it is worth",
        "what it's worth", "market value",
    )),
    ("showing_booked", (
        "showing", "viewing", "view the", "see the house", "see the flat", "see the loft",
        "see the apartment", "see the property", "come and see", "tour", "walk through",
        "open house",
    )),
    ("busy", ("bad time", "call me back later", "call back later", "in a meeting", "busy")),
    ("left_message", ("left a message", "leave a message", "left a voicemail", "voicemail")),
    ("interested", (
        "interested", "send me", "more information", "more details", "the price",
        "how much", "call me back",
    )),
]
# The pop-up's line of a voicemail: a glance, not the whole message (the call has it).
VOICEMAIL_LINE = 200


def suggest_outcome(texts, codes):
    """The first outcome of :data:`SUGGESTIONS` among ``codes`` whose phrase one of ``texts``
    says, and that phrase; ``(False, False)`` when none does.

    >>> suggest_outcome(["Jo wants to view the loft on Pier Road."], {"showing_booked"})
    ('showing_booked', 'view the')
    >>> suggest_outcome(["She is not interested any more."], {"interested", "not_interested"})
    ('not_interested', 'not interested')
    >>> suggest_outcome(["Asked about the tour."], {"interested"})
    (False, False)
    """
    for text in texts:
        said = " ".join((text or "").lower().replace("\u2019", "'").split())
        if not said:
            continue
        for code, phrases in SUGGESTIONS:
            if code not in codes:
                continue
            for phrase in phrases:
                if re.search(r"\b%s\b" % re.escape(phrase), said):
                    return code, phrase
    return False, False


class ThreecxCallDebriefMixin(models.AbstractModel):
    """The debrief of ``threecx.call`` (composed there, see ``threecx_call.py``)."""

    _name = "threecx.call.debrief.mixin"
    _description = "Phone Call: debrief"

    # -- the outcome prompt ---------------------------------------------------------------------

    def _debrief_suggestion(self):
        """``{"id", "code", "name", "phrase"}`` of the outcome the call's summary (else its
        transcript) suggests, or False."""
        self.ensure_one()
        if self.transcript_state != "done":
            return False
        outcomes = self.env["threecx.outcome"].search([])
        code, phrase = suggest_outcome(
            [self.transcript_summary, self.transcript], set(outcomes.mapped("code"))
        )
        if not code:
            return False
        outcome = outcomes.filtered(lambda o: o.code == code)[:1]
        return {"id": outcome.id, "code": code, "name": outcome.name, "phrase": phrase}

    def _debrief_payload(self):
        """The prompt's part of ``_outcome_payload``: the summary and the suggestion."""
        self.ensure_one()
        return {
            "summary": self.transcript_summary or "",
            "transcript_state": self.transcript_state,
            "suggestion": self._debrief_suggestion(),
        }

    def _debrief_on_transcript(self):
        """The worker stored this call's transcript: the prompt waiting for its outcome shows
        it now (every tab of the realtor, at the worker's commit); a voicemail's goes into its
        call-back."""
        self.ensure_one()
        if self.state == "voicemail":
            self._debrief_voicemail_activity()
            return
        if (
            self.user_id
            and self.state == "completed"
            and not self.outcome_id
            and not self.outcome_skipped
        ):
            self.user_id.partner_id._bus_send(
                BUS_DEBRIEF, {"id": self.id, **self._debrief_payload()}
            )

    # -- voicemails -----------------------------------------------------------------------------

    def _debrief_voicemail_activity(self):
        """The message, in words, in the missed call's call-back (speed to lead plans it)."""
        if not self.transcript:
            return
        call_type = self.env.ref("mail.mail_activity_data_call")
        activities = self.activity_ids.filtered(lambda a: a.activity_type_id == call_type)
        said = self.env._("Voicemail: %s", self.transcript)
        marker = self.env._("Voicemail: %s", "")
        for activity in activities:
            # Replaced, not appended again, when a transcript is stored anew (a new request).
            text = html2plaintext(activity.note or "")
            kept = text[: text.find(marker)] if marker in text else text
            kept = kept.strip()
            activity.note = plaintext2html("%s\n\n%s" % (kept, said) if kept else said)

    def _debrief_voicemail_before(self):
        """The caller's previous call, when it was a voicemail with a transcript: what the
        next pop-up from them says they left. Only the one right before: once they reached
        someone (or left another), the old message is history."""
        self.ensure_one()
        if self.direction != "inbound" or not self.external_e164 or not self.start_at:
            return self.browse()
        previous = self.sudo().search(
            [
                ("external_e164", "=", self.external_e164),
                ("direction", "=", "inbound"),
                ("id", "!=", self.id),
                ("start_at", "<=", self.start_at),
                ("company_id", "=", self.company_id.id),
            ],
            order="start_at desc, id desc",
            limit=1,
        )
        if previous.state == "voicemail" and previous.transcript_state == "done" and (
            previous.transcript
        ):
            return previous
        return self.browse()

    @api.model
    def _debrief_voicemail_payload(self, voicemail, user):
        """``{"voicemail": {...}}`` for ``user``'s pop-up, when they may read that voicemail's
        call (its transcript is the call's, as its audio is), else nothing."""
        if not voicemail or not voicemail.with_user(user).has_access("read"):
            return {}
        text = " ".join(voicemail.transcript.split())
        if len(text) > VOICEMAIL_LINE:
            text = text[: VOICEMAIL_LINE - 1].rstrip() + "\u2026"
        return {
            "voicemail": {
                "id": voicemail.id,
                "text": text,
                "at": fields.Datetime.to_string(voicemail.start_at),
            }
        }
