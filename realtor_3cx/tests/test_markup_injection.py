# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Text from outside (a caller's name or number, 3CX's call summary, a realtor's notes) is
text wherever the addon writes it into HTML: chatter lines and activity notes.

Odoo's sanitizer would remove a script, but keep an image pointing anywhere (a tracking
pixel) and mangle the text; escaped, the realtor reads exactly what was sent. The browser
side (pop-up, chatter rendering) is tests/test_xss_e2e.py.
"""

from .common import Realtor3cxCase

PAYLOAD = '<img src="https://evil.example.com/pixel.png" onerror="window.__xss=1">'
CALLER = "+15550108821"


class TestMarkupInjection(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["threecx.extension"].create(
            {"server_id": cls.server.id, "number": "101", "user_id": cls.realtor.id}
        )
        cls.partner = cls.env["res.partner"].create({"name": PAYLOAD, "phone": CALLER})

    def view(self, call_id, state, **values):
        return {
            "call_id": call_id, "direction": "inbound", "state": state,
            "external_number": CALLER, "external_name": PAYLOAD, "did_number": "",
            "extension": "101", "chain": (), "ringing": (), "rung": ("101",), "queue": "",
            "start_at": 1_790_000_000, "answer_at": None, "end_at": None,
            "notify_ringing": [], **values,
        }

    def assert_text(self, html, *texts):
        html = str(html)
        self.assertNotIn("<img", html)
        self.assertIn("&lt;img", html)
        for text in texts:
            self.assertIn(text, html)

    def test_a_missed_callers_name_is_text_in_the_call_back_note(self):
        self.env["threecx.call"]._sync_from_3cx(self.server, [
            self.view("x1", "ringing"), self.view("x1", "missed", end_at=1_790_000_030)])
        activity = self.env["threecx.call"].search([("call_id", "=", "x1")]).activity_ids
        self.assertEqual(len(activity), 1)
        self.assertIn(PAYLOAD, activity.summary)  # a Char field: shown as text anyway
        self.assert_text(activity.note, "Missed call from")

    def test_call_notes_are_text_in_the_follow_up(self):
        call = self.env["threecx.call"].create({
            "server_id": self.server.id, "call_id": "x2", "state": "completed",
            "user_id": self.realtor.id, "partner_id": self.partner.id,
            "external_number": CALLER, "notes": f"Wants a viewing\n{PAYLOAD}",
        })
        call.with_user(self.realtor).write(
            {"outcome_id": self.env.ref("realtor_3cx.threecx_outcome_showing_booked").id})
        activity = self.partner.activity_ids
        self.assertEqual(len(activity), 1)
        self.assert_text(activity.note, "Wants a viewing")

    def test_a_do_not_call_breach_names_the_contact_as_text(self):
        self.partner.do_not_call = True
        call, _created = self.env["threecx.call"]._crm_report_call(self.server, {
            "call_type": "Outbound", "number": CALLER, "agent": "101",
            "call_start_utc": "2026-11-25 15:00:00",
        })
        self.assertEqual(call.compliance_issue, "do_not_call")
        breach = call.message_ids.filtered(lambda m: "do-not-call" in str(m.body))
        self.assertTrue(breach)
        self.assert_text(breach[0].body)
        for activity in call.activity_ids:
            self.assert_text(activity.note, "do-not-call")

    def test_the_chatter_line_of_a_completed_call_is_text(self):
        self.realtor.name = f"Riley {PAYLOAD}"
        self.env["threecx.call"]._sync_from_3cx(self.server, [
            self.view("x3", "connected", answer_at=1_790_000_005),
            self.view("x3", "completed", answer_at=1_790_000_005, end_at=1_790_000_065)])
        line = self.partner.message_ids.filtered(lambda m: "call with" in str(m.body))
        self.assertEqual(len(line), 1)
        self.assert_text(line.body, "Riley")
