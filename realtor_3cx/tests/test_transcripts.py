# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Transcripts of recorded calls: who may ask for one and read it, and when it goes.

The worker's side (reading 3CX's transcript, asking 3CX for one) is tested end to end in
tests/test_worker_recordings.py; here the transcript is handed over the way the worker hands
it (``_transcript_store`` / ``_transcript_retry``).
"""

import datetime

from odoo import fields
from odoo.exceptions import AccessError, UserError

from .common import Realtor3cxCase
from .test_recordings import RecordingSetup, wav

TEXT = "Agent: Hello.\nCaller: I would like to see the flat on Elm Street."
SUMMARY = "The caller wants a viewing of the Elm Street flat."


class TestTranscripts(Realtor3cxCase, RecordingSetup):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_recordings()

    def recorded(self, state="completed"):
        call = self.finished_call(state)
        call._recording_store(wav(), self.serial)
        return call

    def test_a_stored_recording_waits_for_3cx_s_transcript_when_the_server_reads_them(self):
        call = self.recorded()
        self.assertEqual((call.transcript_state, call.transcript_ask), ("requested", False))
        Call = self.env["threecx.call"]
        self.assertIn(call, Call._transcript_due(self.server))
        self.assertNotIn(call, Call._transcript_due(self.server, exclude=call.ids))
        voicemail = self.recorded("voicemail")
        self.assertEqual(voicemail.transcript_state, "requested")  # a message is read too
        self.server.transcripts_from_3cx = False
        quiet = self.recorded()
        self.assertEqual(quiet.transcript_state, "none")
        self.assertNotIn(quiet, Call._transcript_due(self.server))
        waiting = self.finished_call()  # no audio yet: nothing to transcribe
        self.assertEqual(waiting.transcript_state, "none")

    def test_the_realtor_of_the_call_asks_for_a_transcript_and_the_worker_gets_the_request(self):
        self.server.transcripts_from_3cx = False
        call = self.recorded()
        self.assertTrue(call.with_user(self.realtor).action_request_transcription())
        self.assertEqual((call.transcript_state, call.transcript_ask), ("requested", True))
        self.assertIn(call, self.env["threecx.call"]._transcript_due(self.server))
        call._transcript_asked()
        self.assertFalse(call.transcript_ask)
        call.with_user(self.realtor).action_request_transcription()  # twice: still one ask
        self.assertFalse(call.transcript_ask)
        # Those who may not read the call (nor its recording) may not ask.
        with self.assertRaises(AccessError):
            call.with_user(self.other).action_request_transcription()
        # Nothing to transcribe, or the caller refused.
        with self.assertRaisesRegex(UserError, "no recording"):
            self.finished_call().with_user(self.realtor).action_request_transcription()
        refused = self.recorded()
        refused.with_user(self.realtor).recording_consent = "refused"
        with self.assertRaisesRegex(UserError, "no recording"):
            refused.with_user(self.realtor).action_request_transcription()
        self.assertEqual(refused.transcript_state, "none")

    def test_the_transcript_is_on_the_call_and_its_summary_on_the_contact_s_chatter(self):
        call = self.recorded()
        self.assertEqual(call.partner_id, self.partner)
        self.assertTrue(call._transcript_store(TEXT, SUMMARY, 8, "threecx"))
        self.assertEqual(
            (call.transcript, call.transcript_summary, call.sentiment_score,
             call.transcript_source, call.transcript_state, call.transcript_next_try),
            (TEXT, SUMMARY, 8, "threecx", "done", False),
        )  # fmt: skip
        message = call.transcript_message_id
        self.assertEqual(message.model, "res.partner")
        self.assertEqual(message.res_id, self.partner.id)
        self.assertIn(SUMMARY, message.body)
        self.assertNotIn("Elm Street.", message.body)  # the summary only, not the transcript
        with self.assertRaisesRegex(UserError, "already has a transcript"):
            call.with_user(self.realtor).action_request_transcription()
        # Markup from outside is text.
        other = self.recorded()
        other._transcript_store("x", "<b>bold</b>", 5)
        self.assertIn("&lt;b&gt;bold&lt;/b&gt;", other.transcript_message_id.body)

    def test_the_transcript_is_read_by_exactly_those_who_may_play_the_recording(self):
        call = self.recorded()
        call._transcript_store(TEXT, SUMMARY, 8)
        attachment = call.recording_attachment_id
        for user in (self.realtor, self.manager, self.other):
            self.env.invalidate_all()  # each user reads in a request of their own
            try:
                attachment.with_user(user).read(["raw"])
                plays = True
            except AccessError:
                plays = False
            try:
                call.with_user(user).read(["transcript", "transcript_summary",
                                           "sentiment_score"])
                reads = True
            except AccessError:
                reads = False
            self.assertEqual(reads, plays, user.login)
            self.assertEqual(plays, user != self.other, user.login)
        found = self.env["threecx.call"].with_user(self.other).search(
            [("transcript", "ilike", "Elm Street")]
        )
        self.assertFalse(found)
        self.assertEqual(
            self.env["threecx.call"].with_user(self.realtor).search(
                [("transcript", "ilike", "Elm Street")]
            ),
            call,
        )

    def test_a_refused_consent_takes_the_transcript_and_its_summary_with_the_recording(self):
        call = self.recorded()
        call._transcript_store(TEXT, SUMMARY, 8)
        message = call.transcript_message_id
        call.with_user(self.realtor).recording_consent = "refused"
        self.assertFalse(message.exists())
        self.assertEqual(
            (call.transcript, call.transcript_summary, call.sentiment_score,
             call.transcript_state),
            (False, False, 0, "none"),
        )  # fmt: skip
        self.assertFalse(call._transcript_store(TEXT, SUMMARY, 8))  # a read under way
        self.assertFalse(call.transcript)
        self.assertFalse(self.partner.message_ids.filtered(lambda m: SUMMARY in (m.body or "")))

    def test_retention_deletes_the_transcript_with_the_recording(self):
        self.server.recording_retention_days = 30
        old, new = self.recorded(), self.recorded()
        for call in (old, new):
            call._transcript_store(TEXT, SUMMARY, 8)
        long_ago = fields.Datetime.now() - datetime.timedelta(days=40)
        old.write({"start_at": long_ago, "answer_at": False, "end_at": long_ago})
        old_message = old.transcript_message_id
        self.env["threecx.call"]._cron_recording_retention()
        self.assertEqual((old.recording_state, old.transcript_state), ("deleted", "none"))
        self.assertFalse(old.transcript or old.transcript_summary)
        self.assertFalse(old_message.exists())
        self.assertEqual((new.transcript, new.transcript_state), (TEXT, "done"))
        self.assertTrue(new.transcript_message_id.exists())

    def test_reads_without_a_transcript_back_off_then_end_saying_why(self):
        call = self.recorded()
        call._transcript_retry("3CX has not transcribed recording 5 yet", 3, 60)
        self.assertEqual((call.transcript_state, call.transcript_attempts), ("requested", 1))
        self.assertGreater(call.transcript_next_try, fields.Datetime.now())
        self.assertNotIn(call, self.env["threecx.call"]._transcript_due(self.server))
        call._transcript_retry("still not", 3, 60)
        call._transcript_retry("3CX never did", 3, 60)
        self.assertEqual(
            (call.transcript_state, call.transcript_error, call.transcript_next_try),
            ("failed", "3CX never did", False),
        )
        # A failed transcript can be asked for again.
        call.with_user(self.realtor).action_request_transcription()
        self.assertEqual((call.transcript_state, call.transcript_ask), ("requested", True))
        # 3CX that does not transcribe at all: nobody asked, so nothing failed.
        quiet = self.recorded()
        quiet._transcript_retry("its transcription is off", 10, 60, give_up="none")
        self.assertEqual((quiet.transcript_state, quiet.transcript_error),
                         ("none", "its transcription is off"))
