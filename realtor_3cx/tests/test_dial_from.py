# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A realtor with an extension on two 3CX servers chooses which one click-to-call dials from."""

from uuid import uuid4

from odoo.exceptions import ValidationError
from odoo.tests import Form

from .common import Realtor3cxCase


class TestDialFrom(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # "Test PBX" (common.py) and a second office's, named to sort after it.
        cls.other = cls.env["threecx.server"].create(
            {"name": "Uptown PBX", "base_url": "https://uptown.example.com/", "client_id": "901"}
        )
        cls.env["threecx.extension"].create(
            [
                {"server_id": cls.other.id, "number": "201", "user_id": cls.realtor.id},
                {"server_id": cls.server.id, "number": "101", "user_id": cls.realtor.id},
            ]
        )
        cls.Call = cls.env["threecx.call"].with_user(cls.realtor)
        # The dial queue commits in a cursor of its own: in test mode that is this test's.
        cls.registry.enter_test_mode(cls.cr)
        cls.addClassCleanup(cls.registry.leave_test_mode)

    def dials_from(self):
        extension = self.Call._dial_extension()
        session = self.Call.realtor_3cx_session()
        # The browser's line is the one that dials.
        self.assertEqual(
            (session["extension"], session["server_id"]), (extension.number, extension.server_id.id)
        )
        return extension.server_id, extension.number

    def test_without_a_choice_the_first_server_by_name_dials_and_the_preferences_say_so(self):
        self.assertEqual(self.dials_from(), (self.server, "101"))
        realtor = self.realtor.with_user(self.realtor)
        self.assertEqual(
            realtor.threecx_dial_from,
            "Extension 101 on Test PBX (the first of your 3CX servers; choose one in Dial from)",
        )
        # Renamed, the other office comes first: still the first by name, every time.
        self.other.name = "Downtown PBX"
        self.assertEqual(self.dials_from(), (self.other, "201"))

    def test_the_realtor_chooses_in_their_preferences(self):
        form = Form(self.realtor.with_user(self.realtor), "base.view_users_form_simple_modif")
        form.threecx_dial_server_id = self.other
        form.save()
        self.assertEqual(self.realtor.threecx_dial_server_id, self.other)
        self.assertEqual(self.dials_from(), (self.other, "201"))
        self.assertEqual(
            self.realtor.with_user(self.realtor).threecx_dial_from, "Extension 201 on Uptown PBX"
        )

    def test_a_chosen_server_that_cannot_dial_falls_back_to_the_first(self):
        self.realtor.threecx_dial_server_id = self.other
        self.other.active = False
        self.assertEqual(self.dials_from(), (self.server, "101"))
        self.other.active = True
        self.assertEqual(self.dials_from(), (self.other, "201"))
        # Their extension there removed, the choice no longer applies.
        self.other.extension_ids.unlink()
        self.assertEqual(self.dials_from(), (self.server, "101"))

    def test_only_a_server_the_user_has_an_extension_on(self):
        third = self.env["threecx.server"].create(
            {"name": "Far PBX", "base_url": "https://far.example.com/", "client_id": "902"}
        )
        with self.assertRaises(ValidationError):
            self.realtor.with_user(self.realtor).write({"threecx_dial_server_id": third.id})

    def test_one_extension_needs_no_choice(self):
        self.other.extension_ids.unlink()
        self.assertEqual(
            self.realtor.with_user(self.realtor).threecx_dial_from, "Extension 101 on Test PBX"
        )
        self.assertEqual(self.dials_from(), (self.server, "101"))

    def test_a_call_ringing_on_the_other_server_is_answered_from_the_line_there(self):
        """Dial from picks the line for click-to-call only: Answer / Decline on the desk phone
        act on the realtor's extension of the server the call rings on."""
        self.realtor.threecx_dial_server_id = self.server
        call = self.env["threecx.call"].create(
            {"server_id": self.other.id, "call_id": "uptown-1", "state": "ringing",
             "external_number": "+15550107777", "user_id": self.realtor.id}
        )
        result = call.with_user(self.realtor).action_answer_on_phone(client_ref=str(uuid4()))
        self.assertEqual(result["state"], "pending", result)
        request = self.env["threecx.dial.request"].browse(result["request_id"])
        self.assertEqual((request.server_id, request.extension, request.action),
                         (self.other, "201", "answer"))
        # A server they have no line on: refused, nothing queued.
        self.other.extension_ids.unlink()
        result = call.with_user(self.realtor).action_decline(client_ref=str(uuid4()))
        self.assertEqual((result["state"], result["request_id"]), ("refused", False))
        self.assertIn("another 3CX server", result["message"])

