# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Recordings and voicemail on calls: the policy, who may read them, consent and retention.

The worker's side (fetching from 3CX) is tested end to end in tests/test_worker_recordings.py;
here the calls are made the way the worker makes them (``_sync_from_3cx``) and the audio is
handed over the way it hands it (``_recording_store`` / ``_recording_retry``).
"""

import datetime
import io
import math
import struct
import time
import wave

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, new_test_user, tagged

from .common import Realtor3cxCase, Realtor3cxMixin

CALLER = "+15550108201"
DID = "+15550108290"


def wav(seconds=0.2):
    """A small valid WAV, as 3CX writes them."""
    frames = int(8000 * seconds)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(
            struct.pack(f"<{frames}h", *(int(3000 * math.sin(i / 3)) for i in range(frames)))
        )
    return buffer.getvalue()


class RecordingSetup(Realtor3cxMixin):
    @classmethod
    def setup_recordings(cls):
        cls.other = new_test_user(
            cls.env, login="r3cx_other_realtor", groups="realtor_3cx.realtor_3cx_group_user"
        )
        cls.env["threecx.extension"].create(
            [
                {"server_id": cls.server.id, "number": "101", "user_id": cls.realtor.id},
                {"server_id": cls.server.id, "number": "102", "user_id": cls.other.id},
            ]
        )
        cls.partner = cls.env["res.partner"].create({"name": "Rec Caller", "phone": CALLER})
        cls.listing = cls.env["realtor.property"].create(
            {"name": "7 Record Road", "listing_phone": DID, "listing_agent_id": cls.realtor.id}
        )
        cls.server.record_calls = True
        cls.serial = 7000

    @classmethod
    def finished_call(cls, state="completed", server=None, extension="101"):
        """A call the way the worker logs it: ringing, (answered,) over."""
        cls.serial += 1
        t0 = time.time() - 120
        base = {
            "call_id": str(cls.serial), "direction": "inbound", "external_number": CALLER,
            "external_name": "", "did_number": DID, "extension": extension, "chain": (),
            "ringing": (), "rung": (extension,), "queue": "", "start_at": t0,
            "answer_at": None, "end_at": None, "notify_ringing": [],
        }
        server = server or cls.server
        sync = cls.env["threecx.call"]._sync_from_3cx
        sync(server, [dict(base, state="ringing", ringing=(extension,))])
        if state == "completed":
            sync(server, [dict(base, state="connected", answer_at=t0 + 5)])
            sync(server, [dict(base, state="completed", answer_at=t0 + 5, end_at=t0 + 65)])
        else:
            sync(server, [dict(base, state=state, end_at=t0 + 20)])
        return cls.env["threecx.call"].search(
            [("server_id", "=", server.id), ("call_id", "=", base["call_id"])]
        )


class TestRecordings(Realtor3cxCase, RecordingSetup):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_recordings()

    def test_an_answered_call_waits_for_its_recording_when_the_server_records(self):
        call = self.finished_call()
        self.assertEqual(call.recording_state, "pending")
        self.assertLessEqual(call.recording_next_try, fields.Datetime.now())
        self.assertIn(call, self.env["threecx.call"]._recording_due(self.server))
        self.server.record_calls = False
        quiet = self.finished_call()
        self.assertFalse(quiet.recording_state)  # policy off: nothing is fetched
        self.assertNotIn(quiet, self.env["threecx.call"]._recording_due(self.server))
        missed = self.finished_call("missed")
        self.assertFalse(missed.recording_state)  # no audio to expect

    def test_switching_the_policy_off_holds_the_waiting_fetches(self):
        call = self.finished_call()
        voicemail = self.finished_call("voicemail")
        due = self.env["threecx.call"]._recording_due
        self.assertEqual(due(self.server) & (call | voicemail), call | voicemail)
        self.server.record_calls = False
        self.assertEqual(due(self.server) & (call | voicemail), voicemail)
        self.server.fetch_voicemails = False
        self.assertFalse(due(self.server))
        self.server.record_calls = True
        self.assertEqual(due(self.server) & (call | voicemail), call)
        self.assertEqual(call.recording_state, "pending")

    def test_a_fetched_recording_is_an_attachment_of_the_call_shown_in_its_chatter(self):
        call = self.finished_call()
        attachment = call._recording_store(wav(), 41)
        self.assertEqual(call.recording_state, "fetched")
        self.assertEqual(call.recording_attachment_id, attachment)
        self.assertEqual(
            (attachment.res_model, attachment.res_id, attachment.mimetype, attachment.public),
            ("threecx.call", call.id, "audio/wav", False),
        )
        self.assertEqual(attachment.raw, wav())
        self.assertEqual(attachment.name, f"recording-{call.call_id}.wav")
        posted = call.message_ids.filtered(lambda m: attachment in m.attachment_ids)
        self.assertEqual(len(posted), 1)
        # Never on the contact's or the listing's thread, whose readers may not read the call.
        for record in (self.partner, self.listing):
            self.assertFalse(record.message_ids.attachment_ids & attachment)
        # A second delivery of the same file (a worker replaying) keeps the one attachment.
        self.assertFalse(call._recording_store(wav(), 41))
        self.assertEqual(
            self.env["ir.attachment"].search_count(
                [("res_model", "=", "threecx.call"), ("res_id", "=", call.id)]
            ),
            1,
        )

    def test_a_download_that_is_no_audio_is_refused_and_loses_nothing(self):
        call = self.finished_call()
        with self.assertRaisesRegex(UserError, "no audio file"):
            call._recording_store(b"<html>502 Bad Gateway</html>" * 3, 41)
        self.assertEqual(call.recording_state, "pending")
        self.assertFalse(call.recording_attachment_id)

    def test_retries_back_off_then_give_up_saying_why_on_the_call(self):
        call = self.finished_call()
        call._recording_retry("3CX has not listed a recording for this call yet", 3, 30)
        self.assertEqual((call.recording_state, call.recording_attempts), ("pending", 1))
        self.assertGreater(call.recording_next_try, fields.Datetime.now())
        self.assertNotIn(call, self.env["threecx.call"]._recording_due(self.server))
        call._recording_retry("download of recording 5 broke off after 100 bytes", 3, 60)
        call._recording_retry("3CX answered 404: Recording 5 not found", 3, 120)
        self.assertEqual((call.recording_state, call.recording_attempts), ("failed", 3))
        self.assertEqual(call.recording_error, "3CX answered 404: Recording 5 not found")
        self.assertFalse(call.recording_next_try)
        self.assertIn("after 3 tries", call.message_ids[0].body)

    def test_voicemail_attaches_the_message_and_keeps_one_call_back(self):
        call = self.finished_call("voicemail")
        self.assertEqual(call.recording_state, "pending")
        call_back = self.env.ref("mail.mail_activity_data_call")
        self.assertEqual(call.activity_ids.activity_type_id, call_back)
        self.assertEqual(len(call.activity_ids), 1)
        attachment = call._recording_store(wav(), 42)
        self.assertEqual(attachment.name, f"voicemail-{call.call_id}.wav")
        self.assertIn("Voicemail left by Rec Caller", call.message_ids[0].body)
        self.assertEqual(len(call.activity_ids), 1)  # not a second call-back
        # A voicemail logged without its call-back (imported after an outage) gets one.
        imported = self.finished_call("voicemail")
        imported.activity_ids.unlink()
        imported._recording_store(wav(), 43)
        self.assertEqual(imported.activity_ids.activity_type_id, call_back)
        # The listing's agent calls back the caller who dialled the listing's line.
        self.assertEqual(imported.activity_ids.user_id, self.realtor)

    def test_voicemails_follow_their_own_switch(self):
        self.server.write({"record_calls": False, "fetch_voicemails": True})
        self.assertEqual(self.finished_call("voicemail").recording_state, "pending")
        self.server.fetch_voicemails = False
        self.assertFalse(self.finished_call("voicemail").recording_state)

    def test_only_the_calls_realtor_and_managers_can_read_the_recording(self):
        call = self.finished_call()
        attachment = call._recording_store(wav(), 44)
        self.assertEqual(call.user_id, self.realtor)
        self.assertEqual(attachment.with_user(self.realtor).raw, wav())
        self.assertEqual(attachment.with_user(self.manager).raw, wav())
        other = attachment.with_user(self.other)
        with self.assertRaises(AccessError):
            other.read(["raw"])
        with self.assertRaises(AccessError):
            call.with_user(self.other).recording_attachment_id.read(["datas"])
        Attachment = self.env["ir.attachment"].with_user(self.other)
        self.assertFalse(Attachment.search([("id", "=", attachment.id)]))
        self.assertFalse(Attachment.search([("res_model", "=", "threecx.call")]))
        # The contact and the listing are readable by the other realtor: nothing of the
        # recording reaches them through their chatter.
        for record in (self.partner, self.listing):
            thread = record.with_user(self.other)
            self.assertFalse(thread.message_ids.attachment_ids)
        Message = self.env["mail.message"].with_user(self.other)
        self.assertFalse(Message.search([("attachment_ids", "in", attachment.ids)]))

    def test_a_refused_consent_deletes_the_recording_or_stops_its_fetch(self):
        call = self.finished_call()
        attachment = call._recording_store(wav(), 45)
        call.with_user(self.realtor).recording_consent = "refused"  # the realtor may say so
        self.assertFalse(attachment.exists())
        self.assertEqual(call.recording_state, "deleted")
        self.assertIn("refused", call.message_ids[0].body)
        waiting = self.finished_call()
        waiting.with_user(self.realtor).recording_consent = "refused"
        self.assertEqual(waiting.recording_state, "deleted")
        self.assertFalse(waiting._recording_store(wav(), 46))  # a download already under way
        self.assertFalse(waiting.recording_attachment_id)
        # Refused during the call: nothing is fetched when it ends.
        self.serial += 1
        t0 = time.time() - 60
        view = {
            "call_id": str(self.serial), "direction": "inbound", "external_number": CALLER,
            "external_name": "", "did_number": DID, "extension": "101", "chain": (),
            "ringing": (), "rung": ("101",), "queue": "", "start_at": t0,
            "answer_at": t0 + 2, "end_at": None, "notify_ringing": [],
        }
        sync = self.env["threecx.call"]._sync_from_3cx
        sync(self.server, [dict(view, state="connected")])
        live = self.env["threecx.call"].search([("call_id", "=", str(self.serial))])
        live.with_user(self.realtor).recording_consent = "refused"
        sync(self.server, [dict(view, state="completed", end_at=t0 + 30)])
        self.assertEqual(live.recording_state, "none")
        # Other realtors may not set consent on a call that is not theirs.
        with self.assertRaises(AccessError):
            call.with_user(self.other).recording_consent = "given"

    def test_retention_deletes_old_recordings_and_only_those(self):
        self.server.recording_retention_days = 30
        keep_server = self.env["threecx.server"].create(
            {"name": "Keeps all", "base_url": "https://pbx2.example.com/", "client_id": "901",
             "record_calls": True}
        )
        long_ago = fields.Datetime.now() - datetime.timedelta(days=40)
        recently = fields.Datetime.now() - datetime.timedelta(days=5)

        def recorded(state="completed", when=long_ago, server=None):
            call = self.finished_call(state, server=server)
            call._recording_store(wav(), self.serial)
            call.write({"start_at": when, "answer_at": False, "end_at": when})
            return call

        old = recorded()
        old_attachment = old.recording_attachment_id
        new = recorded(when=recently)
        old_voicemail = recorded("voicemail")
        elsewhere = recorded(server=keep_server)
        self.env["threecx.call"]._cron_recording_retention()
        self.assertFalse(old_attachment.exists())
        self.assertEqual(old.recording_state, "deleted")
        self.assertIn("older than the 30 days", old.message_ids[0].body)
        self.assertEqual(
            [c.recording_state for c in (new, old_voicemail, elsewhere)], ["fetched"] * 3
        )
        self.assertTrue((new | old_voicemail | elsewhere).recording_attachment_id.exists())
        # Voicemails only when the policy says so.
        self.server.retention_includes_voicemail = True
        self.env["threecx.call"]._cron_recording_retention()
        self.assertEqual(old_voicemail.recording_state, "deleted")
        self.assertEqual(new.recording_state, "fetched")
        self.assertEqual(elsewhere.recording_state, "fetched")

    def test_the_retention_cron_is_scheduled_daily(self):
        cron = self.env.ref("realtor_3cx.ir_cron_recording_retention")
        self.assertEqual((cron.interval_number, cron.interval_type, cron.active), (1, "days", True))


@tagged("post_install", "-at_install")
class TestRecordingDownload(HttpCase, RecordingSetup):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_realtor_3cx()
        cls.setup_recordings()
        call = cls.finished_call()
        cls.attachment = call._recording_store(wav(), 47)

    def test_web_content_serves_the_audio_to_the_calls_realtor_only(self):
        url = f"/web/content/{self.attachment.id}"
        self.authenticate("r3cx_realtor", "r3cx_realtor")
        response = self.url_open(url)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["Content-Type"], "audio/wav")
        self.assertEqual(response.content, wav())
        self.authenticate("r3cx_other_realtor", "r3cx_other_realtor")
        response = self.url_open(url)
        self.assertIn(response.status_code, (403, 404))
        self.assertNotEqual(response.content, wav())
        self.authenticate(None, None)
        self.assertNotEqual(self.url_open(url).content, wav())
