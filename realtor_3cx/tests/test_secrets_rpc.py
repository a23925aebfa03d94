# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""No RPC answer carries a 3CX secret, to anyone.

The secrets: the 3CX API secret (plaintext and the ciphertext stored in
``threecx_server.api_secret_enc``) and the CRM-template API key (the key itself and its
keyed hash in ``threecx_server.crm_key_hash``). For every role that may read servers,
including the administrator, every read path the web client or an RPC caller has is tried
with every field ``fields_get`` offers that role; the answers are serialised and searched
for each secret. test_threecx_server.py covers the API secret's form round trip (web_save).
"""

import json

from odoo.exceptions import AccessError
from odoo.tests import new_test_user

from .common import SECRET, Realtor3cxCase

GROUPABLE = {"char", "selection", "many2one", "boolean", "date", "datetime", "integer"}


class TestSecretsNeverInRpc(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sysadmin = new_test_user(
            cls.env, login="r3cx_secret_sysadmin",
            groups="base.group_system,base.group_allow_export",
        )
        cls.crm_key = cls.server.with_user(cls.admin).action_generate_crm_key()["context"][
            "default_key"
        ]
        cls.env["threecx.extension"].create(
            {"server_id": cls.server.id, "number": "101", "user_id": cls.realtor.id}
        )
        cls.env.cr.execute(
            "SELECT api_secret_enc, crm_key_hash FROM threecx_server WHERE id = %s",
            (cls.server.id,),
        )
        ciphertext, key_hash = cls.env.cr.fetchone()
        cls.secrets = {"API secret": SECRET, "its ciphertext": ciphertext,
                       "CRM key": cls.crm_key, "CRM key hash": key_hash}
        assert all(cls.secrets.values()), "every secret must be set for the test to mean much"

    def answers(self, user):
        """What each read path answers ``user`` about the server, with every field offered."""
        Server = self.env["threecx.server"].with_user(user)
        server = Server.browse(self.server.id)
        fields = Server.fields_get()
        names = list(fields)
        spec = {name: {} for name in names}
        domain = [("id", "=", server.id)]
        answers = {
            "fields_get": fields,
            "read": server.read(),
            "read every field": server.read(names),
            "search_read": Server.search_read(domain, names),
            "web_read": server.web_read(spec),
            "web_search_read": Server.web_search_read(domain, spec),
            "name_search": Server.name_search(self.server.name),
            "default_get": Server.default_get(names),
            "onchange": server.onchange({"name": "x"}, ["name"], spec),
            "new onchange": Server.onchange({}, [], spec),
            "get_views": Server.get_views([(False, "form"), (False, "list")]),
        }
        exportable = [n for n, f in fields.items() if f.get("exportable", True)]
        answers["export_data"] = server.export_data(exportable)
        for name, field in fields.items():
            if field.get("store") and field["type"] in GROUPABLE:
                answers[f"read_group {name}"] = Server.read_group(domain, [name], [name])
        # The extensions show their server: nothing of it but its name may come along.
        Extension = self.env["threecx.extension"].with_user(user)
        ext_fields = list(Extension.fields_get())
        answers["extension search_read"] = Extension.search_read(
            [("server_id", "=", server.id)], ext_fields)
        answers["extension web_read"] = Extension.search([("server_id", "=", server.id)]).web_read(
            {"server_id": {"fields": {name: {} for name in names if name != "extension_ids"}}})
        if user.has_group("base.group_system"):
            answers["copy_data"] = server.copy_data()
            answers["settings"] = self.env["res.config.settings"].with_user(user).default_get(
                list(self.env["res.config.settings"].fields_get()))
        return answers

    def assert_no_secret(self, answers, who):
        for path, answer in answers.items():
            text = json.dumps(answer, default=str)
            for label, secret in self.secrets.items():
                self.assertNotIn(secret, text, f"{label} in {path} for {who}")

    def test_no_read_path_returns_a_secret_to_any_role(self):
        for who, user in (("realtor", self.realtor), ("manager", self.manager),
                          ("settings admin", self.sysadmin), ("admin", self.admin)):
            with self.subTest(who=who):
                answers = self.answers(user)
                self.assertEqual(answers["read"][0]["name"], "Test PBX")  # it did read
                if user.has_group("base.group_system"):
                    # Administrators see that a secret and a key are set, never what they are.
                    self.assertIn("api_secret", answers["fields_get"])
                    self.assertTrue(answers["web_read"][0]["api_secret_set"])
                    self.assertTrue(answers["web_read"][0]["crm_key_set"])
                    self.assertFalse(answers["read every field"][0]["api_secret"])
                else:
                    self.assertNotIn("api_secret", answers["fields_get"])
                self.assertNotIn("api_secret_enc", answers["fields_get"])
                self.assertNotIn("crm_key_hash", answers["fields_get"])
                self.assert_no_secret(answers, who)

    def test_users_without_telephony_read_no_server_at_all(self):
        for login, groups in (("r3cx_secret_internal", "base.group_user"),
                              ("r3cx_secret_portal", "base.group_portal")):
            user = new_test_user(self.env, login=login, groups=groups)
            Server = self.env["threecx.server"].with_user(user)
            for call in (lambda Server=Server: Server.search_read([], []),
                         lambda Server=Server: Server.browse(self.server.id).read(["name"]),
                         lambda Server=Server: Server.read_group([], ["name"], ["name"])):
                with self.subTest(login=login), self.assertRaises(AccessError):
                    call()

    def test_only_an_admin_gets_a_new_key_and_only_once(self):
        action = self.server.with_user(self.sysadmin).action_generate_crm_key()
        key = action["context"]["default_key"]
        self.assertTrue(self.server._crm_check_key(key))
        Dialog = self.env["threecx.crm.key.show"]
        shown = Dialog.with_user(self.sysadmin).with_context(**action["context"]).onchange(
            {}, [], {"key": {}, "endpoint": {}})
        self.assertEqual(shown["value"]["key"], key)
        # The dialog only echoes the action's context: without the action there is no key.
        self.assertFalse(Dialog.with_user(self.realtor).onchange(
            {}, [], {"key": {}})["value"].get("key"))
        for user in (self.realtor, self.manager):
            with self.assertRaises(AccessError):
                self.server.with_user(user).action_generate_crm_key()
        # Nothing kept it: the server's answers carry neither the new key nor its hash.
        self.secrets["CRM key"] = key
        self.env.cr.execute("SELECT crm_key_hash FROM threecx_server WHERE id = %s",
                            (self.server.id,))
        self.secrets["CRM key hash"] = self.env.cr.fetchone()[0]
        self.assert_no_secret(self.answers(self.admin), "admin after a new key")
