# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Who reads a transcript, and when there is none: exactly the readers of the call's
recording, and never for a caller who refused to be recorded.

The worker's side (its own engine never run for a refused recording) is tested end to end in
tests/test_worker_transcript_consent.py.
"""

import contextlib
import time

from odoo.exceptions import AccessError

from .common import Realtor3cxCase
from .test_recordings import CALLER, DID, RecordingSetup, wav

TEXT = "Agent: Hello.\nCaller: Is the cottage on Birch Lane still for sale?"
SUMMARY = "The caller asked about the Birch Lane cottage."
FIELDS = ["transcript", "transcript_summary", "sentiment_score"]


class TestTranscriptPrivacy(Realtor3cxCase, RecordingSetup):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_recordings()

    def recorded(self, **values):
        call = self.finished_call()
        if values:
            call.write(values)
        call._recording_store(wav(), self.serial)
        return call

    def readers(self, records, fields, users):
        """The users of ``users`` who may read ``fields`` of every record of ``records``."""
        able = set()
        for user in users:
            self.env.invalidate_all()  # each user reads in a request of their own
            with contextlib.suppress(AccessError):
                records.with_user(user).read(fields)
                able.add(user)
        return able

    def test_a_team_s_transcript_is_read_by_its_members_as_its_recording_is(self):
        # An unclaimed team call: its members read it (and its audio), another realtor not.
        team = self.env["threecx.team"].create({
            "server_id": self.server.id, "number": "800", "name": "Sales queue",
            "member_ids": [(6, 0, self.server.extension_ids.filtered(
                lambda e: e.user_id == self.realtor).ids)],
        })
        call = self.recorded()
        call.sudo().write({"user_id": False, "team_id": team.id})
        self.assertTrue(call._transcript_store(TEXT, SUMMARY, 6))
        users = [self.realtor, self.other, self.manager]
        audio = self.readers(call.recording_attachment_id, ["raw"], users)
        transcript = self.readers(call, FIELDS, users)
        self.assertEqual(transcript, audio)
        self.assertEqual(transcript, {self.realtor, self.manager})
        # The words are searched by those readers only.
        Call = self.env["threecx.call"]
        for user, found in ((self.realtor, call), (self.other, Call)):
            for field in ("transcript", "transcript_search"):  # the Calls list's is the 2nd
                self.assertEqual(
                    Call.with_user(user).search([(field, "ilike", "Birch Lane")]), found)

    def test_a_caller_refusing_before_the_audio_arrives_gets_no_transcript(self):
        self.server.transcription_engine = "local"
        call = self.finished_call()
        self.assertEqual(call.recording_state, "pending")
        call.with_user(self.realtor).recording_consent = "refused"
        self.assertFalse(call._recording_store(wav(), self.serial))  # the download finishing
        self.assertEqual((call.recording_state, call.transcript_state), ("deleted", "none"))
        Call = self.env["threecx.call"]
        self.assertNotIn(call, Call._transcript_due(self.server, local=True))
        self.assertNotIn(call, Call._transcript_due(self.server))
        # Refused while the call was on: nothing is even waited for.
        t0 = time.time() - 120
        base = {
            "call_id": "privacy-early", "direction": "inbound", "external_number": CALLER,
            "external_name": "", "did_number": DID, "extension": "101", "chain": (),
            "ringing": (), "rung": ("101",), "queue": "", "start_at": t0, "answer_at": t0 + 5,
            "end_at": None, "notify_ringing": [],
        }
        Call._sync_from_3cx(self.server, [dict(base, state="connected")])
        early = Call.search([("server_id", "=", self.server.id),
                             ("call_id", "=", "privacy-early")])
        early.with_user(self.realtor).recording_consent = "refused"
        Call._sync_from_3cx(self.server, [dict(base, state="completed", end_at=t0 + 65)])
        self.assertEqual((early.state, early.recording_state, early.transcript_state),
                         ("completed", "none", "none"))
        self.assertNotIn(early, Call._recording_due(self.server))

    def test_a_refusal_set_any_other_way_still_stops_every_transcript(self):
        # However the refusal lands (a calling rule's consent, an import writing the column),
        # no transcript is asked for, read, made here or stored for that call.
        for engine in ("threecx", "local"):
            with self.subTest(engine=engine):
                self.server.transcription_engine = engine
                call = self.recorded()
                self.assertEqual(call.transcript_state, "requested")
                self.env.flush_all()
                self.env.cr.execute(
                    "UPDATE threecx_call SET recording_consent = 'refused' WHERE id = %s",
                    [call.id])
                call.invalidate_recordset(["recording_consent"])
                Call = self.env["threecx.call"]
                local = engine == "local"
                self.assertNotIn(call, Call._transcript_due(self.server, local=local))
                self.assertFalse(call._transcript_store(TEXT, SUMMARY, 6, "local"))
                self.assertFalse(call.transcript)
                call.sudo().write({"transcript_state": "none"})
                call._transcript_wait(ask=True, local=local)
                self.assertEqual(call.transcript_state, "none")
