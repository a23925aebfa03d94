# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Call recordings and voicemail messages: the per-server policy and what the worker stores.

3CX writes a call's recording (or the voicemail message a caller left) some time after the
call ends. Odoo cannot fetch it itself: 3CX allows one live token per API client, and minting
one here would cut the worker's connection. So a finished call that should have audio gets
``recording_state = 'pending'``; the worker (``realtor_3cx/worker/recordings.py``) polls for
those, asks XAPI, and hands the file to :meth:`ThreecxCall._recording_store` or reports a
failed try to :meth:`ThreecxCall._recording_retry`. The state lives on the call, so a worker
restart loses nothing: the next worker picks the pending calls up again.

The audio is an ``ir.attachment`` of the call (``res_model = threecx.call``), so reading it
follows the call's record rules: the call's realtor and telephony managers. It is announced in
the call's own chatter only, never in the contact's or the property's, whose readers may not
read the call.

A fetched recording's transcript, summary and sentiment (3CX's, read by the same worker job
on the same retry schedule; or one made on this machine) are fields of the call, so exactly
the readers of the call, who are the readers of its audio, read them; they go when the audio
goes (consent refused, retention). Only the summary, a line a realtor would write in the
notes, is posted on the contact's chatter, and that message goes with the transcript too.
"""

import datetime
import logging

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.osv import expression
from odoo.tools import SQL, plaintext2html
from odoo.tools.sql import column_exists, create_index

from ..tools.audio import EXTENSIONS as AUDIO_EXTENSIONS
from ..tools.audio import audio_mimetype

_logger = logging.getLogger(__name__)

RECORDING_STATES = [
    ("pending", "Waiting for 3CX"),
    ("fetched", "Fetched"),
    ("none", "Not fetched"),
    ("failed", "Failed"),
    ("deleted", "Deleted"),
    ("held", "Held: consent needed"),
]
TRANSCRIPT_STATES = [
    ("none", "None"),
    ("requested", "Requested"),
    ("done", "Done"),
    ("failed", "Failed"),
]
TRANSCRIPT_SOURCES = [("threecx", "3CX"), ("local", "This machine")]
TRANSCRIPTION_ENGINES = [
    ("threecx", "3CX"),
    ("threecx_local", "3CX, else this machine"),
    ("local", "This machine"),
    ("none", "None"),
]
CONSENT_STATES = [
    ("unknown", "Unknown"),
    ("announced", "Announced"),
    ("given", "Given"),
    ("refused", "Refused"),
]
CONSENT_OK = ("announced", "given")  # announced and accepted, or given


class ThreecxServerRecordingMixin(models.AbstractModel):
    """A 3CX server's recording policy (composed on ``threecx.server``)."""

    _name = "threecx.server.recording.mixin"
    _description = "3CX Server: recording policy"

    record_calls = fields.Boolean(
        "Fetch call recordings",
        help="Copy each answered call's recording from 3CX into Odoo, on the call. Off: "
        "nothing is fetched (3CX may still record: that is set in 3CX, per extension).",
    )
    fetch_voicemails = fields.Boolean(
        "Fetch voicemails",
        default=True,
        help="Copy the message a caller left in a realtor's voicemail onto the missed call.",
    )
    recording_retention_days = fields.Integer(
        "Keep recordings (days)",
        default=0,
        help="Recordings of calls older than this are deleted every night. 0 keeps them.",
    )
    transcription_engine = fields.Selection(
        TRANSCRIPTION_ENGINES,
        "Transcripts by",
        default="threecx",
        required=True,
        help="3CX: read the transcript, summary and sentiment 3CX makes of a recording (3CX "
        "transcribes when its transcription is on, in 3CX). 3CX, else this machine: when 3CX "
        "makes none, the worker transcribes the downloaded audio itself, offline. This "
        "machine: always the worker (no summary, no sentiment). None: no transcripts.",
    )
    transcripts_from_3cx = fields.Boolean(
        "Transcribe every recording",
        default=True,
        help="Once a recording (or voicemail) is fetched, have it transcribed. Off: only "
        "when a realtor asks for it on the call.",
    )
    transcription_unavailable = fields.Char(
        compute="_compute_transcription_unavailable",
        help="What to install on the worker's machine for its own transcription.",
    )
    retention_includes_voicemail = fields.Boolean(
        "Delete voicemails too",
        help="Apply the retention to voicemail messages as well. Off: voicemails are kept, as "
        "messages the caller chose to leave.",
    )

    @api.depends("transcription_engine")
    def _compute_transcription_unavailable(self):
        # Plain Python, no engine import: only whether its packages are installed here (the
        # worker runs from the same installation as Odoo in every layout this addon ships).
        from ..worker.transcribe import unavailable

        missing = unavailable()
        for server in self:
            local = server.transcription_engine in ("local", "threecx_local")
            server.transcription_unavailable = missing if local else False

    _sql_constraints = [
        (
            "recording_retention_days_positive",
            "CHECK(recording_retention_days >= 0)",
            "The recording retention is a number of days, 0 to keep recordings.",
        ),
    ]


class ThreecxCallRecordingMixin(models.AbstractModel):
    """A call's recording or voicemail (composed on ``threecx.call``)."""

    _name = "threecx.call.recording.mixin"
    _description = "Phone Call: recording"

    recording_state = fields.Selection(
        RECORDING_STATES,
        "Recording",
        readonly=True,
        copy=False,
        index=True,
        help="Waiting for 3CX: the worker fetches it once 3CX has written it. Not fetched: "
        "the server's policy or the caller's refusal. Failed: see the reason.",
    )
    recording_attachment_id = fields.Many2one(
        "ir.attachment", "Audio", readonly=True, copy=False, ondelete="set null"
    )
    recording_attempts = fields.Integer(readonly=True, copy=False)
    recording_next_try = fields.Datetime(readonly=True, copy=False)
    recording_error = fields.Char("Recording problem", readonly=True, copy=False)
    recording_consent = fields.Selection(
        CONSENT_STATES,
        "Recording consent",
        default="unknown",
        required=True,
        tracking=True,
        help="Whether the other party agreed to be recorded. Refused deletes the recording "
        "(or stops it being fetched).",
    )

    # -- what a finished call should get ------------------------------------------------------

    def _recording_on_transition(self, old_state):
        """Step 3 of ``threecx.call._notify_transition``.

        The moment a call is logged as over (live, or imported from the call log after a
        worker outage) is when we know whether 3CX will have audio for it.
        """
        if (
            self.state in ("completed", "transferred", "voicemail")
            and old_state not in ("completed", "transferred", "voicemail")
            and not self.recording_state
        ):
            self._recording_expect()

    def _recording_expect(self):
        self.ensure_one()
        server = self.server_id
        voicemail = self.state == "voicemail" and self.direction == "inbound"
        wanted = server.fetch_voicemails if voicemail else (server.record_calls and self.answer_at)
        if not wanted:
            return
        if self.recording_consent == "refused":
            self.recording_state = "none"
            return
        why = self._recording_consent_missing()
        if why:
            self._recording_hold(why)
            return
        self.write(
            {
                "recording_state": "pending",
                "recording_attempts": 0,
                "recording_next_try": fields.Datetime.now(),
                "recording_error": False,
            }
        )

    # -- recording consent where the callee's calling rule needs it ---------------------------

    def _recording_consent_missing(self):
        """Why this call's recording may not be kept yet, or False.

        Where the calling rule of the other party's number needs consent (all-party-consent
        jurisdictions, threecx_calling_rule.py), the recording is kept only once the consent
        is recorded on the call; until then it is *held*: not ``pending``, so the worker does
        not fetch it (worker/recordings.py). A voicemail is a message the caller chose to
        leave: never held.
        """
        self.ensure_one()
        if self.state == "voicemail" or self.recording_consent in CONSENT_OK:
            return False
        if not self.external_e164:
            return False
        rule = self.env["threecx.calling.rule"]._realtor_3cx_rule_for_number(self.external_e164)
        if not rule["recording_consent"]:
            return False
        return _(
            "Not fetched: %(rule)s needs the consent of %(who)s to keep the recording. Set "
            "Recording consent to Announced (announced and accepted) or Given to fetch it.",
            rule=rule["label"],
            who=self.partner_id.name or self.external_number,
        )

    def _recording_hold(self, why):
        self.write({"recording_state": "held", "recording_error": why,
                    "recording_next_try": False})

    def _recording_consent_changed(self, consent):
        """Step of ``threecx.call.write()``: consent recorded releases a held recording to
        the worker; consent taken back holds it again, or deletes the audio already kept
        (refused deletes it everywhere: :meth:`_recording_delete`)."""
        if consent in CONSENT_OK:
            # sudo: the realtor may record consent, not write the worker's bookkeeping.
            self.filtered(lambda c: c.recording_state == "held").sudo().write({
                "recording_state": "pending", "recording_error": False,
                "recording_attempts": 0, "recording_next_try": fields.Datetime.now(),
            })
        elif consent == "unknown":
            for call in self.filtered(lambda c: c.recording_state in ("pending", "fetched")):
                why = call._recording_consent_missing()
                if why and call.recording_state == "pending":
                    call.sudo()._recording_hold(why)
                elif why:
                    call._recording_delete(_("Deleted: the consent to record was taken back."))

    # -- the worker's side --------------------------------------------------------------------

    @api.model
    def _recording_due(self, server, limit=20, exclude=()):
        """Calls of ``server`` whose audio is due to be fetched now, oldest try first.

        The policy as it is now decides: calls left pending when it was switched off wait
        (and are fetched if it is switched on again).
        """
        kinds = []
        if server.record_calls:
            kinds.append([("state", "!=", "voicemail")])
        if server.fetch_voicemails:
            kinds.append([("state", "=", "voicemail")])
        if not kinds:
            return self.browse()
        return self.search(
            expression.AND(
                [
                    [
                        ("server_id", "=", server.id),
                        ("recording_state", "=", "pending"),
                        ("recording_next_try", "<=", fields.Datetime.now()),
                        ("id", "not in", list(exclude)),
                    ],
                    expression.OR(kinds),
                ]
            ),
            order="recording_next_try, id",
            limit=limit,
        )

    def _recording_store(self, data, recording_id):
        """Keep ``data`` (bytes from 3CX) as the call's audio and show it in its chatter.

        :raises UserError: ``data`` is no audio (the worker counts that as a failed try)
        """
        self.ensure_one()
        if self.recording_state != "pending":
            # Consent refused or policy changed while the download ran: keep nothing.
            return False
        why = self._recording_consent_missing()
        if why:  # consent taken back, or the rule changed, while the download ran
            self._recording_hold(why)
            return False
        mimetype = audio_mimetype(data)
        if not mimetype:
            raise UserError(
                _("3CX sent %(size)s bytes that are no audio file.", size=len(data))
            )
        voicemail = self.state == "voicemail"
        name = "%s-%s.%s" % (
            "voicemail" if voicemail else "recording",
            self.call_id,
            AUDIO_EXTENSIONS[mimetype],
        )
        attachment = self.env["ir.attachment"].create(
            {
                "name": name,
                "raw": data,
                "mimetype": mimetype,
                "res_model": self._name,
                "res_id": self.id,
                "public": False,
                "description": _("3CX recording %s", recording_id),
            }
        )
        self.write(
            {
                "recording_state": "fetched",
                "recording_attachment_id": attachment.id,
                "recording_error": False,
                "recording_next_try": False,
            }
        )
        who = self.partner_id.name or self.external_number or _("the caller")
        body = _("Voicemail left by %s", who) if voicemail else _("Call recording")
        # On the call's own thread: its readers are exactly the call's readers.
        self.message_post(
            body=Markup("%s") % body, attachment_ids=attachment.ids, subtype_xmlid="mail.mt_note"
        )
        if voicemail:
            self._voicemail_call_back()
        server = self.server_id
        if server.transcripts_from_3cx and server.transcription_engine != "none":
            self._transcript_wait(ask=False, local=server.transcription_engine == "local")
        return attachment

    def _voicemail_call_back(self):
        """A voicemail is a missed call the caller cared about: make sure a call-back is
        planned (the live path plans it when the call ends; an imported call may have none)."""
        call_type = self.env.ref("mail.mail_activity_data_call")
        if self.activity_ids.filtered(lambda a: a.activity_type_id == call_type):
            return
        users = {ext.number: ext.user_id for ext in self.server_id.extension_ids}
        self._schedule_call_back({"rung": (self.extension,) if self.extension else ()}, users)

    def _recording_retry(self, error, max_attempts, delay):
        """One try failed: try again in ``delay`` seconds, or give up after ``max_attempts``."""
        self.ensure_one()
        if self.recording_state != "pending":
            return
        attempts = self.recording_attempts + 1
        if attempts >= max_attempts:
            self.write(
                {
                    "recording_state": "failed",
                    "recording_attempts": attempts,
                    "recording_error": error,
                    "recording_next_try": False,
                }
            )
            self.message_post(
                body=_(
                    "The recording could not be fetched from 3CX after %(n)s tries: %(error)s",
                    n=attempts,
                    error=error,
                ),
                subtype_xmlid="mail.mt_note",
            )
            _logger.warning("recording of call %s given up: %s", self.call_id, error)
            return
        self.write(
            {
                "recording_attempts": attempts,
                "recording_error": error,
                "recording_next_try": fields.Datetime.now() + datetime.timedelta(seconds=delay),
            }
        )

    # -- consent and retention ----------------------------------------------------------------

    def _recording_delete(self, why):
        """Remove the audio (or stop waiting for it), and say why on the call.

        ``threecx.call.write()`` calls it when the consent becomes refused.
        """
        calls = self.filtered(lambda c: c.recording_state in ("pending", "fetched"))
        if not calls:
            return
        # sudo: a realtor refusing consent on their own call may not unlink attachments
        # in general; this is exactly the call's own audio.
        calls.sudo().recording_attachment_id.unlink()
        calls.sudo()._transcript_delete(why)
        calls.sudo().write(
            {
                "recording_state": "deleted",
                "recording_next_try": False,
                "recording_error": why,
            }
        )
        for call in calls:
            call.sudo().message_post(body=why, subtype_xmlid="mail.mt_note")

    @api.model
    def _cron_recording_retention(self):
        """Delete the audio of calls older than their server's retention (0: keep)."""
        servers = self.env["threecx.server"].with_context(active_test=False).search(
            [("recording_retention_days", ">", 0)]
        )
        for server in servers:
            limit = fields.Datetime.now() - datetime.timedelta(
                days=server.recording_retention_days
            )
            domain = [
                ("server_id", "=", server.id),
                ("recording_state", "=", "fetched"),
                ("start_at", "<", limit),
            ]
            if not server.retention_includes_voicemail:
                domain.append(("state", "!=", "voicemail"))
            calls = self.search(domain)
            if calls:
                calls._recording_delete(
                    _(
                        "Recording deleted: older than the %s days the policy keeps.",
                        server.recording_retention_days,
                    )
                )
                _logger.info(
                    "recording retention: %s recording(s) of 3CX server %s deleted",
                    len(calls),
                    server.id,
                )


class TranscriptWords(str):
    """The words a user looks for in the transcripts, as a tsquery, on their way from
    ``transcript_search``'s search method to ``_condition_to_sql``: a type of its own, so
    that no other condition on the transcript is ever read as one."""

    __slots__ = ()


class ThreecxCallTranscriptMixin(models.AbstractModel):
    """A recorded call's transcript, summary and sentiment (composed on ``threecx.call``).

    ``transcript_state``: none (nothing asked), requested (the worker reads 3CX's transcript on
    the recordings' retry schedule, after asking 3CX for one when ``transcript_ask``), done,
    failed (``transcript_error`` says why). The worker's side is ``worker/recordings.py``.
    """

    _name = "threecx.call.transcript.mixin"
    _description = "Phone Call: transcript"

    transcript = fields.Text(readonly=True, copy=False)
    # The Calls list's "Search Transcript for": words, on a full-text index
    # (_transcript_words_init, _search_transcript_search).
    transcript_search = fields.Char(
        "Transcript words", store=False, search="_search_transcript_search"
    )
    transcript_summary = fields.Text("Call summary", readonly=True, copy=False)
    sentiment_score = fields.Integer(
        "Sentiment",
        readonly=True,
        copy=False,
        aggregator="avg",
        help="The caller's sentiment as 3CX scores it (higher is more positive).",
    )
    transcript_source = fields.Selection(
        TRANSCRIPT_SOURCES, "Transcribed by", readonly=True, copy=False
    )
    transcript_state = fields.Selection(
        TRANSCRIPT_STATES,
        "Transcription",
        default="none",
        required=True,
        readonly=True,
        copy=False,
        index=True,
    )
    transcript_error = fields.Char("Transcript problem", readonly=True, copy=False)
    # The worker's bookkeeping, as for the recording itself.
    server_transcription_engine = fields.Selection(
        TRANSCRIPTION_ENGINES, compute="_compute_server_transcription_engine"
    )
    transcript_local = fields.Boolean(
        "Transcribed here", readonly=True, copy=False,
        help="The worker transcribes the recording itself (the server's choice, or 3CX made "
        "none).",
    )
    transcript_ask = fields.Boolean(
        "Transcription to request", readonly=True, copy=False,
        help="The worker asks 3CX to transcribe the recording before it reads the transcript.",
    )
    transcript_attempts = fields.Integer(readonly=True, copy=False)
    transcript_next_try = fields.Datetime(readonly=True, copy=False)
    transcript_message_id = fields.Many2one(
        "mail.message", "Summary posted", readonly=True, copy=False, ondelete="set null"
    )

    def _transcript_words_init(self):
        """The words column and its index (``threecx.call``'s ``init``)."""
        cr = self.env.cr
        # The transcript's words, for the word search of the Calls list. A column PostgreSQL
        # computes itself on every write (no code path can forget it) rather than an index
        # on the expression: a word most calls say is found by reading the calls in the
        # list's order and checking each one's words, and recomputing them from a 250-word
        # transcript for each row would cost more than the rest of the search. The 'simple'
        # configuration lowercases and does not stem, so English and Spanish both work and a
        # name is found as typed; strip() drops the positions, which the search never reads.
        if not column_exists(cr, self._table, "transcript_words"):
            cr.execute(SQL(
                "ALTER TABLE %s ADD COLUMN transcript_words tsvector GENERATED ALWAYS AS"
                " (strip(to_tsvector('simple'::regconfig, transcript))) STORED",
                SQL.identifier(self._table),
            ))
            # Kept in the row (MAIN), not in the TOAST table: a word most calls say is
            # checked on thousands of rows per search, and a stripped tsvector barely
            # compresses, so PostgreSQL's default would store it out of line, one more
            # lookup per row (three times the pages read at a million calls).
            cr.execute(SQL(
                "ALTER TABLE %s ALTER COLUMN transcript_words SET STORAGE MAIN",
                SQL.identifier(self._table),
            ))
        create_index(
            cr, f"{self._table}_transcript_words_index", self._table,
            ["transcript_words"], method="gin",
        )

    def _search_transcript_search(self, operator, value):
        """Calls whose transcript has words starting with each word of ``value``.

        "basement" finds "basement" and "basements", not "abasement": a word search, the way
        a manager looks for what was said, answered by the GIN index at any size of the
        call log (``make bench ONLY=transcript_search``). Without a word in ``value`` (only
        punctuation), the transcript's own ``ilike``.
        """
        if operator not in ("ilike", "not ilike", "like", "not like", "=", "!="):
            raise UserError(_("Search the transcripts for words."))
        # The words as PostgreSQL reads them in a transcript (its parser: "123-456", "e-mail"
        # and "O'Brien" split the same way on both sides), each quoted as a lexeme, so that
        # nothing typed is tsquery syntax, and matched as a prefix; all must be said.
        self.env.cr.execute(
            "SELECT lexeme FROM unnest(to_tsvector('simple'::regconfig, %s))", [str(value or "")]
        )
        words = [row[0] for row in self.env.cr.fetchall()]
        positive = operator in ("ilike", "like", "=")
        if not words:
            return [("transcript", "ilike" if positive else "not ilike", value or "")]
        query = " & ".join(
            "'%s':*" % word.replace("\\", "\\\\").replace("'", "''") for word in words
        )
        # A condition on the call's own row (see _condition_to_sql), not "id IN (a search of
        # the same table)": PostgreSQL then reads the calls in the list's order for a word
        # most calls say, and the index for a rare one.
        return [("transcript", "=" if positive else "!=", TranscriptWords(query))]

    def _condition_to_sql(self, alias, fname, operator, value, query):
        if fname == "transcript" and isinstance(value, TranscriptWords):
            self.check_field_access_rights("read", ["transcript"])
            words = SQL.identifier(alias, "transcript_words", to_flush=self._fields["transcript"])
            match = SQL("(%s @@ to_tsquery('simple'::regconfig, %s))", words, str(value))
            if operator == "=":
                return match
            return SQL("(%s IS NULL OR NOT %s)", words, match)
        return super()._condition_to_sql(alias, fname, operator, value, query)

    @api.depends("server_id.transcription_engine")
    def _compute_server_transcription_engine(self):
        # A compute, not a related field: this mixin does not declare the call's server.
        for call in self:
            call.server_transcription_engine = call.server_id.transcription_engine

    def action_request_transcription(self):
        """The call form's button: queue a request to 3CX for the worker (it holds the one
        token), which asks 3CX and reads the transcript once 3CX has it. Whoever may read the
        call (and so its recording) may ask."""
        self.check_access("read")
        for call in self:
            if call.recording_state != "fetched":
                raise UserError(_("This call has no recording to transcribe."))
            if call.recording_consent == "refused":
                raise UserError(_("The caller refused to be recorded: no transcript."))
            if call.transcript_state == "done":
                raise UserError(_("This call already has a transcript."))
            if call.server_id.transcription_engine == "none":
                raise UserError(_("Transcription is off for this 3CX server."))
        # sudo: realtors may not write what the worker reports; this only queues the request.
        for call in self.filtered(lambda c: c.transcript_state != "requested").sudo():
            local = call.server_id.transcription_engine == "local"
            call._transcript_wait(ask=not local, local=local)
        return True

    def _transcript_wait(self, ask, local=False):
        """Have the worker read 3CX's transcript (asking 3CX for one first when ``ask``), or
        transcribe the recording itself when ``local``. Not for a refused recording."""
        self.filtered(lambda c: c.recording_consent != "refused").write(
            {
                "transcript_state": "requested",
                "transcript_ask": ask and not local,
                "transcript_local": local,
                "transcript_attempts": 0,
                "transcript_next_try": fields.Datetime.now(),
                "transcript_error": False,
            }
        )

    # -- the worker's side --------------------------------------------------------------------

    @api.model
    def _transcript_due(self, server, limit=20, exclude=(), local=False):
        """Calls of ``server`` whose transcript is due to be read (or asked for) now; with
        ``local``, those the worker transcribes itself."""
        return self.search(
            [
                ("server_id", "=", server.id),
                ("transcript_state", "=", "requested"),
                ("transcript_local", "=", local),
                ("transcript_next_try", "<=", fields.Datetime.now()),
                ("recording_state", "=", "fetched"),
                # Never for a caller who refused to be recorded, whatever set the refusal.
                ("recording_consent", "!=", "refused"),
                ("id", "not in", list(exclude)),
            ],
            order="transcript_next_try, id",
            limit=limit,
        )

    def _transcript_asked(self):
        """The worker asked 3CX to transcribe: from now on it only reads."""
        self.write({"transcript_ask": False})

    def _transcript_store(self, text, summary=False, sentiment=False, source="threecx"):
        """Keep a transcript of the call's recording; the summary goes on the contact's
        chatter. Returns False when the call may no longer have one (audio deleted, consent
        refused meanwhile)."""
        self.ensure_one()
        if self.recording_state != "fetched" or self.recording_consent == "refused":
            return False
        self._transcript_unpost()
        self.write(
            {
                "transcript": text or False,
                "transcript_summary": summary or False,
                "sentiment_score": sentiment or 0,
                "transcript_source": source,
                "transcript_state": "done",
                "transcript_error": False,
                "transcript_ask": False,
                "transcript_next_try": False,
            }
        )
        if summary and self.partner_id:
            # The summary is text from outside: plain text, never markup. Only the summary
            # (the transcript stays on the call), once (_transcript_unpost above), and a link
            # to the call for those who may read it.
            link = Markup('<p><a href="/odoo/threecx.call/%s">%s</a></p>') % (
                self.id, self.display_name)
            message = self.partner_id.message_post(
                body=plaintext2html(_("Call summary: %s", summary)) + link,
                subtype_xmlid="mail.mt_note",
            )
            self.transcript_message_id = message
        self._optout_review()  # threecx_optout.py: "stop calling me" opens a review
        self._debrief_on_transcript()  # threecx_call_debrief.py: the prompt, the voicemail
        return True

    def _transcript_retry(self, error, max_attempts, delay, give_up=None):
        """One read found no transcript: read again in ``delay`` seconds, or give up after
        ``max_attempts`` (at once with ``give_up``, the state to end in, when 3CX will not
        make one: ``none`` when nobody asked and 3CX does not transcribe)."""
        self.ensure_one()
        if self.transcript_state != "requested":
            return
        attempts = self.transcript_attempts + 1
        if (
            (give_up or attempts >= max_attempts)
            and not self.transcript_local
            and self.server_id.transcription_engine == "threecx_local"
        ):
            # 3CX made none: the worker transcribes the audio it already downloaded.
            self.write(
                {
                    "transcript_local": True,
                    "transcript_ask": False,
                    "transcript_attempts": 0,
                    "transcript_error": _("%s: transcribing on this machine", error),
                    "transcript_next_try": fields.Datetime.now(),
                }
            )
            return
        if give_up or attempts >= max_attempts:
            self.write(
                {
                    "transcript_state": give_up or "failed",
                    "transcript_attempts": attempts,
                    "transcript_error": error,
                    "transcript_next_try": False,
                    "transcript_ask": False,
                }
            )
            return
        self.write(
            {
                "transcript_attempts": attempts,
                "transcript_error": error,
                "transcript_next_try": fields.Datetime.now() + datetime.timedelta(seconds=delay),
            }
        )

    def _transcript_delete(self, why):
        """The transcript goes with the audio (consent refused, retention)."""
        self._transcript_unpost()
        self._optout_forget()  # threecx_optout.py: the excerpts quoting it go too
        self.filtered(lambda c: c.transcript_state != "none").write(
            {
                "transcript": False,
                "transcript_summary": False,
                "sentiment_score": 0,
                "transcript_source": False,
                "transcript_state": "none",
                "transcript_error": why,
                "transcript_ask": False,
                "transcript_local": False,
                "transcript_next_try": False,
            }
        )

    def _transcript_unpost(self):
        messages = self.sudo().transcript_message_id
        if messages:
            messages.unlink()
