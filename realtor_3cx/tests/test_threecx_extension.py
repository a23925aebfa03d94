# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, ValidationError
from odoo.tools import mute_logger

from .common import Realtor3cxCase


class TestThreecxExtension(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Extension = cls.env["threecx.extension"]
        cls.other_server = cls.env["threecx.server"].create(
            {"name": "Branch PBX", "base_url": "https://branch.example.com"}
        )
        cls.ext = cls.Extension.create(
            {"server_id": cls.server.id, "user_id": cls.realtor.id, "number": " 101 "}
        )

    def test_number_is_trimmed_and_shown_with_the_user(self):
        self.assertEqual(self.ext.number, "101")
        self.assertEqual(self.ext.display_name, f"101 {self.realtor.name}")
        self.assertEqual(self.server.extension_count, 1)
        self.assertEqual(self.ext.company_id, self.server.company_id)

    def test_number_unique_per_server(self):
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            self.Extension.create(
                {"server_id": self.server.id, "user_id": self.manager.id, "number": "101"}
            )
        # The same number on another 3CX is another extension.
        other = self.Extension.create(
            {"server_id": self.other_server.id, "user_id": self.manager.id, "number": "101"}
        )
        self.assertEqual(other.number, "101")

    def test_one_extension_per_user_and_server(self):
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            self.Extension.create(
                {"server_id": self.server.id, "user_id": self.realtor.id, "number": "102"}
            )

    def test_number_must_be_digits(self):
        for number in ("10a", "1", "+1555", "12345678901", "1 01"):
            with self.subTest(number=number), self.assertRaises(ValidationError):
                self.Extension.create(
                    {"server_id": self.other_server.id, "user_id": self.admin.id, "number": number}
                )

    def test_admin_edits_from_the_user_form(self):
        self.manager.with_user(self.admin).write(
            {"threecx_extension_ids": [(0, 0, {"server_id": self.server.id, "number": "205"})]}
        )
        self.assertEqual(self.manager.threecx_extension_ids.number, "205")
        self.assertEqual(self.manager.threecx_extension_ids.server_id, self.server)

    def test_only_admins_edit_extensions(self):
        for user in (self.realtor, self.manager):
            self.assertEqual(self.ext.with_user(user).number, "101")
            with self.assertRaises(AccessError):
                self.ext.with_user(user).write({"number": "999"})
            with self.assertRaises(AccessError):
                self.Extension.with_user(user).create(
                    {"server_id": self.other_server.id, "user_id": user.id, "number": "300"}
                )

    def test_deleting_the_server_or_user_removes_its_extensions(self):
        self.other_server.unlink()
        self.assertTrue(self.ext.exists())
        self.server.unlink()
        self.assertFalse(self.ext.exists())
