# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Spoken opt-outs: a phrase in a transcript opens a do-not-call review for the managers;
a manager's one click sets do-not-call, and the next click-to-call is refused.

The phrases themselves (variants, case, punctuation, whose turn) are tested in plain Python
in tests/test_optout_phrases.py; here the transcript arrives the way the worker hands it
(``_transcript_store``) and the call is dialled the way the button dials it
(``realtor_3cx_dial``).
"""

from freezegun import freeze_time

from odoo.exceptions import AccessError, UserError

from .common import Realtor3cxCase
from .test_outbound_block import NOON_NY
from .test_recordings import RecordingSetup, wav

OPTOUT = ("Agent: Hello, this is Tess from Elm Realty.\n"
          "Caller: Look, I sold already. Please take me off your list, and don't call "
          "this number again.")
PLAIN = "Agent: Hello.\nCaller: I would like to see the flat on Elm Street."


class TestOptout(Realtor3cxCase, RecordingSetup):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_recordings()
        cls.partner.tz = "America/New_York"  # noon in New York: inside the calling hours
        cls.Review = cls.env["threecx.optout"]

    def transcribed(self, text):
        call = self.finished_call()
        call._recording_store(wav(), self.serial)
        self.assertTrue(call._transcript_store(text, "A summary.", 3, "threecx"))
        return call

    def dial(self, user):
        # The dial queue commits a cursor of its own: in test mode, this test's transaction.
        self.registry.enter_test_mode(self.cr)
        try:
            with freeze_time(NOON_NY):
                return self.env["threecx.call"].with_user(user).realtor_3cx_dial(
                    self.partner.phone, "res.partner", self.partner.id)
        finally:
            self.registry.leave_test_mode()

    def test_an_opt_out_is_reviewed_then_confirmed_and_the_next_call_is_refused(self):
        self.assertEqual(self.dial(self.realtor)["state"], "pending")  # callable before
        call = self.transcribed(OPTOUT)
        review = self.Review.search([("call_id", "=", call.id)])
        self.assertEqual(len(review), 1)
        self.assertEqual((review.partner_id, review.state, review.phrase),
                         (self.partner, "review", "take me off your list"))
        self.assertIn("Please take me off your list", review.excerpt)
        self.assertNotIn("Elm Realty", review.excerpt)  # the caller's turn, not the realtor's
        # Nothing changes for the contact until a manager has read it.
        self.assertFalse(self.partner.do_not_call)
        # The managers have it in their activities.
        activities = review.activity_ids
        self.assertIn(self.manager, activities.user_id)
        self.assertEqual(len(activities), len(activities.user_id))  # one each
        self.assertFalse(activities.user_id & (self.realtor | self.other))
        self.assertIn("Rec Caller", activities[0].summary)
        # A realtor neither reads nor confirms it (it quotes the transcript).
        with self.assertRaises(AccessError):
            review.with_user(self.realtor).read(["excerpt"])
        with self.assertRaises(AccessError):
            review.with_user(self.realtor).action_confirm()

        review.with_user(self.manager).action_confirm()
        self.assertEqual((review.state, review.reviewed_by_id), ("confirmed", self.manager))
        self.assertTrue(self.partner.do_not_call)
        self.assertFalse(review.activity_ids)  # done, for every manager
        with self.assertRaisesRegex(UserError, "reviewed already"):
            review.with_user(self.manager).action_confirm()
        # The next click-to-call, through the button's own path, is refused.
        result = self.dial(self.realtor)
        self.assertEqual(result["state"], "refused")
        self.assertIn("do-not-call", result["message"])
        self.assertFalse(result["tel"])

    def test_a_transcript_without_an_opt_out_opens_no_review_and_one_call_one_review(self):
        plain = self.transcribed(PLAIN)
        self.assertFalse(self.Review.search([("call_id", "=", plain.id)]))
        call = self.transcribed(OPTOUT)
        # The worker writing the same transcript again does not open a second review.
        call.write({"transcript_state": "requested"})
        self.assertTrue(call._transcript_store(OPTOUT, False, 0, "local"))
        self.assertEqual(self.Review.search_count([("call_id", "=", call.id)]), 1)

    def test_dismissed_it_changes_nothing(self):
        review = self.Review.search([("call_id", "=", self.transcribed(OPTOUT).id)])
        review.with_user(self.manager).action_dismiss()
        self.assertEqual(review.state, "dismissed")
        self.assertFalse(self.partner.do_not_call)
        self.assertEqual(self.dial(self.realtor)["state"], "pending")

    def test_the_excerpt_goes_with_the_transcript(self):
        call = self.transcribed(OPTOUT)
        review = self.Review.search([("call_id", "=", call.id)])
        call.with_user(self.realtor).recording_consent = "refused"
        self.assertFalse(call.transcript)
        self.assertTrue(review.exists())
        self.assertEqual((review.excerpt, review.phrase, review.state), (False, False, "review"))
