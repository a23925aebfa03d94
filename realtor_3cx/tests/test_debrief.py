# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Where a call's debrief shows: the outcome prompt's summary and suggested outcome (live on
the bus), the notes, the contact's chatter, a voicemail's call-back and the next pop-up.

The transcript is handed over the way the worker hands it (``_transcript_store``); the worker
and the browser are tested end to end in tests/test_day_transcript.py.
"""

import doctest
import json
import time

from odoo.tests import new_test_user

from ..models import threecx_call_debrief
from ..models.threecx_call_debrief import BUS_DEBRIEF, suggest_outcome
from .common import Realtor3cxCase
from .test_recordings import CALLER, DID, RecordingSetup, wav

TEXT = "Agent: Hello.\nCaller: I would like to see the flat on Elm Street on Saturday."
SUMMARY = "The caller wants a viewing of the Elm Street flat on Saturday."
ALL = {
    "showing_booked", "listing_appointment", "interested", "not_interested", "left_message",
    "no_answer", "busy", "bad_number", "wrong_number",
}


def load_tests(loader, tests, ignore):
    tests.addTests(doctest.DocTestSuite(threecx_call_debrief))
    return tests


class TestSuggestedOutcome(Realtor3cxCase):
    def test_phrases_map_onto_outcomes_the_most_specific_first(self):
        cases = [
            ("She wants a viewing of the loft on Saturday.", "showing_booked", "viewing"),
            ("They want to sell their house and asked for a valuation.",
             "listing_appointment", "valuation"),
            ("He is not interested, he already bought a place.", "not_interested",
             "not interested"),
            ("Interested in the price of 7 Elm Street.", "interested", "interested"),
            ("Sorry, wrong number, there is no Dana here.", "wrong_number", "wrong number"),
            ("Caller said it was a bad time; call back tomorrow.", "busy", "bad time"),
            ("I LEFT A MESSAGE on her phone.", "left_message", "left a message"),
            ("Jo asked about the weather.", False, False),
            ("", False, False),
        ]
        for text, code, phrase in cases:
            with self.subTest(text=text):
                self.assertEqual(suggest_outcome([text], ALL), (code, phrase))
        # Whole words only: "tourist" is no tour, "viewings" is no "viewing".
        self.assertEqual(suggest_outcome(["A tourist called."], ALL), (False, False))
        # The summary is read before the transcript.
        self.assertEqual(
            suggest_outcome(["Wants a valuation.", "we could book a showing"], ALL),
            ("listing_appointment", "valuation"),
        )
        self.assertEqual(
            suggest_outcome([False, "we could book a showing"], ALL), ("showing_booked", "showing")
        )
        # Only the configured outcomes are suggested.
        self.assertEqual(
            suggest_outcome(["not interested"], ALL - {"not_interested"}),
            ("interested", "interested"),
        )


class TestDebrief(Realtor3cxCase, RecordingSetup):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_recordings()
        cls.showing = cls.env.ref("realtor_3cx.threecx_outcome_showing_booked")

    def recorded(self, state="completed"):
        call = self.finished_call(state)
        call._recording_store(wav(), self.serial)
        return call

    def bus(self, kind, user):
        self.env.cr.precommit.run()  # the bus sends at commit; tests read what it would send
        return [
            json.loads(m.message)["payload"]
            for m in self.env["bus.bus"].search([("message", "like", kind)])
            if json.loads(m.channel)[1:] == ["res.partner", user.partner_id.id]
        ]

    def pending(self, call):
        calls = self.env["threecx.call"].with_user(self.realtor).realtor_3cx_pending_outcomes()
        return next(c for c in calls["calls"] if c["id"] == call.id)

    def test_the_open_prompt_gets_the_summary_and_a_suggested_outcome_on_the_bus(self):
        call = self.recorded()
        before = self.pending(call)
        self.assertEqual(
            (before["summary"], before["suggestion"], before["transcript_state"]),
            ("", False, "requested"),
        )
        self.assertTrue(call._transcript_store(TEXT, SUMMARY, 8, "threecx"))
        suggestion = {"id": self.showing.id, "code": "showing_booked",
                      "name": "Showing booked", "phrase": "viewing"}
        sent = [p for p in self.bus(BUS_DEBRIEF, self.realtor) if p["id"] == call.id]
        self.assertEqual(sent, [{"id": call.id, "summary": SUMMARY, "transcript_state": "done",
                                 "suggestion": suggestion}])
        self.assertFalse([p for p in self.bus(BUS_DEBRIEF, self.other) if p["id"] == call.id])
        after = self.pending(call)  # a reload, another tab: the same
        self.assertEqual((after["summary"], after["suggestion"]), (SUMMARY, suggestion))
        # A manager who retires the outcome: it is no longer suggested.
        self.showing.active = False
        self.assertFalse(self.pending(call)["suggestion"])

    def test_a_call_already_logged_or_a_local_transcript_without_summary(self):
        logged = self.recorded()
        logged.with_user(self.realtor).action_save_outcome(outcome_id=self.showing.id)
        logged._transcript_store(TEXT, SUMMARY, 8, "threecx")
        self.assertFalse([p for p in self.bus(BUS_DEBRIEF, self.realtor)
                          if p["id"] == logged.id])  # nothing left to prompt for
        local = self.recorded()
        local._transcript_store("I'm not interested, thanks.", source="local")
        sent = [p for p in self.bus(BUS_DEBRIEF, self.realtor) if p["id"] == local.id]
        # No summary from this machine's engine: the transcript still suggests.
        self.assertEqual(sent[0]["summary"], "")
        self.assertEqual(sent[0]["suggestion"]["code"], "not_interested")

    def test_the_notes_keep_the_summary_as_the_realtor_edited_it(self):
        call = self.recorded()
        call._transcript_store(TEXT, SUMMARY, 8, "threecx")
        call.with_user(self.realtor).action_save_outcome(
            outcome_id=self.showing.id, notes="Bring the floor plan.",
            summary="  Jo wants a viewing of Elm Street, Saturday 10:00. ",
        )
        self.assertEqual(
            call.notes, "Jo wants a viewing of Elm Street, Saturday 10:00.\n\nBring the floor plan."
        )
        self.assertEqual(call.transcript_summary, SUMMARY)  # 3CX's, as 3CX made it
        only = self.recorded()
        only.with_user(self.realtor).action_save_outcome(summary="Just the summary.")
        self.assertEqual((only.notes, only.outcome_skipped), ("Just the summary.", True))

    def test_the_contact_s_chatter_gets_the_summary_once_with_a_link_to_the_call(self):
        call = self.recorded()
        call._transcript_store(TEXT, SUMMARY, 8, "threecx")
        call._transcript_store(TEXT, SUMMARY, 8, "threecx")  # stored again: still one
        messages = self.partner.message_ids.filtered(lambda m: SUMMARY in (m.body or ""))
        self.assertEqual(len(messages), 1)
        self.assertEqual(messages, call.transcript_message_id)
        self.assertIn(f'href="/odoo/threecx.call/{call.id}"', messages.body)
        self.assertNotIn("Elm Street on Saturday", messages.body)  # never the transcript
        # A summary with markup in it is text.
        call._transcript_store(TEXT, "<b>bold</b> <script>x()</script>", 1, "threecx")
        self.assertIn("&lt;script&gt;", call.transcript_message_id.body)

    def ring(self, extension="101"):
        """A new inbound call from the caller, ringing on ``extension``'s pop-up."""
        type(self).serial += 1  # the class's counter, as finished_call's
        base = {
            "call_id": str(type(self).serial), "direction": "inbound", "external_number": CALLER,
            "external_name": "", "did_number": DID, "extension": extension, "chain": (),
            "ringing": (extension,), "rung": (extension,), "queue": "",
            "start_at": time.time() - 1, "answer_at": None, "end_at": None,
            "notify_ringing": [extension], "state": "ringing",
        }
        self.env["threecx.call"]._sync_from_3cx(self.server, [base])
        return self.env["threecx.call"].search(
            [("server_id", "=", self.server.id), ("call_id", "=", base["call_id"])]
        )

    def test_a_voicemail_s_words_are_in_its_call_back_and_on_the_next_pop_up(self):
        said = "Hi, it is Rec. Please call me back about 7 Record Road, I want to make an offer."
        voicemail = self.recorded("voicemail")
        activity = voicemail.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertIn("Missed call from", activity.note)
        voicemail._transcript_store(said, source="local")
        self.assertIn("Missed call from", activity.note)
        self.assertIn("Voicemail: " + said.replace("'", "&#39;"), activity.note)
        voicemail._transcript_store(said, source="local")  # again: once in the note
        self.assertEqual(activity.note.count("Voicemail:"), 1)
        self.assertFalse(self.bus(BUS_DEBRIEF, self.realtor))  # a voicemail has no prompt

        ringing = self.ring()
        sent = [p for p in self.bus("realtor_3cx.call/ringing", self.realtor)
                if p["id"] == ringing.id]
        self.assertEqual(sent[0]["voicemail"]["id"], voicemail.id)
        self.assertEqual(sent[0]["voicemail"]["text"], said)
        # The session's list of ringing calls (a reload while it rings) has it too.
        session = self.env["threecx.call"].with_user(self.realtor).realtor_3cx_session()
        self.assertEqual(
            [r["voicemail"]["text"] for r in session["ringing"] if r["id"] == ringing.id], [said]
        )
        # A colleague who may not read the voicemail's call does not read its words.
        self.assertEqual(ringing._debrief_voicemail_payload(voicemail, self.other), {})
        manager = new_test_user(
            self.env, login="r3cx_debrief_mgr", groups="realtor_3cx.realtor_3cx_group_manager"
        )
        self.assertEqual(
            ringing._debrief_voicemail_payload(voicemail, manager)["voicemail"]["text"], said
        )
        # Once the caller reached someone, the message is history: no line on the next card.
        self.finished_call("completed")
        later = self.ring()
        self.assertFalse(later._debrief_voicemail_before())
        self.assertNotIn("voicemail", [p for p in self.bus("realtor_3cx.call/ringing",
                                                           self.realtor)
                                       if p["id"] == later.id][0])

    def test_a_long_voicemail_is_shortened_on_the_pop_up(self):
        voicemail = self.recorded("voicemail")
        voicemail._transcript_store("word " * 100, source="local")
        line = self.ring()._debrief_voicemail_payload(voicemail, self.realtor)["voicemail"]
        self.assertEqual(len(line["text"]), threecx_call_debrief.VOICEMAIL_LINE)
        self.assertTrue(line["text"].endswith("\u2026"))
