# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json

from odoo.exceptions import AccessError, UserError, ValidationError

from .common import KEY_1, KEY_2, SECRET, Realtor3cxCase, use_keys


class TestThreecxServerSecret(Realtor3cxCase):
    def _raw_row(self, server):
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT row_to_json(s)::text, api_secret_enc FROM threecx_server s WHERE id = %s",
            (server.id,),
        )
        return self.env.cr.fetchone()

    def test_secret_round_trip(self):
        self.assertEqual(self.server._get_api_secret(), SECRET)
        self.assertTrue(self.server.api_secret_set)
        self.server.api_secret = "  another-secret  "
        self.assertEqual(self.server._get_api_secret(), "another-secret")

    def test_raw_row_holds_no_plaintext(self):
        row_json, token = self._raw_row(self.server)
        self.assertNotIn(SECRET, row_json)
        self.assertTrue(token.startswith("v1:"), token)
        self.assertGreater(len(token), len(SECRET))

    def test_same_secret_encrypts_differently(self):
        other = self.server.copy({"name": "Copy"})
        self.assertFalse(other.api_secret_set, "copy() must not carry the secret")
        other.api_secret = SECRET
        self.assertNotEqual(self._raw_row(other)[1], self._raw_row(self.server)[1])

    def test_ciphertext_is_bound_to_its_record(self):
        other = self.server.copy({"name": "Copy"})
        self.env.cr.execute(
            "UPDATE threecx_server SET api_secret_enc = "
            "(SELECT api_secret_enc FROM threecx_server WHERE id = %s) WHERE id = %s",
            (self.server.id, other.id),
        )
        with self.assertRaisesRegex(UserError, "cannot be read"):
            other._get_api_secret()

    def test_tampered_ciphertext_is_refused(self):
        token = self._raw_row(self.server)[1]
        flipped = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
        self.env.cr.execute(
            "UPDATE threecx_server SET api_secret_enc = %s WHERE id = %s", (flipped, self.server.id)
        )
        with self.assertRaisesRegex(UserError, "cannot be read"):
            self.server._get_api_secret()

    def test_wrong_key_is_reported(self):
        with use_keys(KEY_2), self.assertRaisesRegex(UserError, "not the one it was saved with"):
            self.server._get_api_secret()

    def test_key_rotation(self):
        with use_keys(f"{KEY_2},{KEY_1}"):
            self.assertEqual(self.server._get_api_secret(), SECRET)
            self.server.api_secret = "rotated"
        with use_keys(KEY_2):
            self.assertEqual(self.server._get_api_secret(), "rotated")

    def test_saving_without_key_fails_clearly_and_writes_nothing(self):
        Server = self.env["threecx.server"]
        # assertRaises (not assertRaisesRegex) rolls back to a savepoint, as a failed RPC would
        with use_keys(""), self.assertRaises(UserError) as caught:
            Server.create(
                {"name": "No key", "base_url": "https://pbx2.example.com", "api_secret": "x"}
            )
        self.assertIn("realtor_3cx_secret_key", str(caught.exception))
        self.assertFalse(Server.search([("name", "=", "No key")]))
        with use_keys("not-a-valid-key"), self.assertRaises(UserError) as caught:
            self.server.api_secret = "y"
        self.assertIn("32 random bytes", str(caught.exception))
        self.assertEqual(self.server._get_api_secret(), SECRET)

    def test_empty_value_keeps_the_secret_and_clear_removes_it(self):
        self.server.write({"api_secret": ""})
        self.assertEqual(self.server._get_api_secret(), SECRET)
        self.server.action_clear_api_secret()
        self.assertFalse(self.server.api_secret_set)
        with self.assertRaisesRegex(UserError, "No API secret"):
            self.server._get_api_secret()

    def test_no_rpc_returns_the_secret_to_an_admin(self):
        server = self.server.with_user(self.admin)
        spec = {"api_secret": {}, "api_secret_set": {}, "name": {}}
        results = {
            "read": server.read(),
            "read api_secret": server.read(["api_secret"]),
            "search_read": server.search_read([("id", "=", server.id)]),
            "web_read": server.web_read({"api_secret": {}, "api_secret_set": {}, "name": {}}),
            "web_search_read": server.web_search_read(
                [("id", "=", server.id)], {"api_secret": {}, "name": {}}
            ),
            "export_data": server.export_data(["name", "api_secret"]),
            "onchange": server.onchange({"name": "x", "api_secret": SECRET}, ["name"], spec),
            "fields_get": server.fields_get(),
            # saving answers with the record: the secret just typed must not come back
            "web_save": server.web_save({"api_secret": SECRET + "-typed"}, spec),
            "web_save new": server.browse().web_save(
                {"name": "New", "base_url": "https://n.example.com", "api_secret": SECRET}, spec
            ),
        }
        self.assertEqual(results["read api_secret"][0]["api_secret"], False)
        self.assertEqual(results["web_save"][0]["api_secret"], False)
        self.assertTrue(results["web_save new"][0]["api_secret_set"])
        self.assertEqual(self.server._get_api_secret(), SECRET + "-typed")
        self.assertTrue(results["web_read"][0]["api_secret_set"])
        for name, result in results.items():
            self.assertNotIn(SECRET, json.dumps(result, default=str), name)
            self.assertNotIn("v1:", json.dumps(result, default=str), name)
        self.assertNotIn("api_secret_enc", results["fields_get"])

    def test_non_admin_cannot_read_or_export_the_secret(self):
        for user in (self.realtor, self.manager):
            server = self.server.with_user(user)
            self.assertEqual(server.name, "Test PBX")  # the record itself is readable
            with self.assertRaises(AccessError):
                server.read(["api_secret"])
            with self.assertRaises(AccessError):
                server.export_data(["name", "api_secret"])
            with self.assertRaises(AccessError):
                server.search_read([], ["api_secret"])
            with self.assertRaises(AccessError):
                server.web_read({"api_secret": {}})
            with self.assertRaises(AccessError):
                server.write({"api_secret": "hijack"})
            with self.assertRaises(AccessError):
                server.action_clear_api_secret()
            self.assertNotIn("api_secret", server.read()[0])
        self.assertEqual(self.server._get_api_secret(), SECRET)


class TestThreecxServerConfig(Realtor3cxCase):
    def test_url_is_normalised(self):
        self.assertEqual(self.server.base_url, "https://pbx.example.com")

    def test_https_required_except_on_this_machine(self):
        Server = self.env["threecx.server"]
        for url in ("http://127.0.0.1:5001", "http://localhost:5001/", "http://[::1]:5001"):
            self.assertTrue(Server.create({"name": url, "base_url": url}))
        bad = {
            "http://pbx.example.com": "must use https",
            "ftp://pbx.example.com": "not a web address",
            "pbx.example.com": "not a web address",
            "https://": "not a web address",
            "https://pbx.example.com/?x=1": "query",
        }
        for url, message in bad.items():
            with self.subTest(url=url), self.assertRaisesRegex(ValidationError, message):
                Server.create({"name": "bad", "base_url": url})

    def test_only_admins_manage_servers(self):
        Server = self.env["threecx.server"]
        for user in (self.realtor, self.manager):
            with self.assertRaises(AccessError):
                Server.with_user(user).create({"name": "x", "base_url": "https://x.example.com"})
            with self.assertRaises(AccessError):
                self.server.with_user(user).write({"name": "renamed"})
            with self.assertRaises(AccessError):
                self.server.with_user(user).unlink()

    def test_status_defaults(self):
        self.assertEqual(self.server.connection_state, "not_connected")
        self.assertFalse(self.server.last_error)

    def test_multi_company_rule(self):
        other_company = self.env["res.company"].create({"name": "Other Brokerage"})
        other = self.env["threecx.server"].create(
            {
                "name": "Other PBX",
                "base_url": "https://other.example.com",
                "company_id": other_company.id,
            }
        )
        visible = self.env["threecx.server"].with_user(self.manager).search([])
        self.assertIn(self.server, visible)
        self.assertNotIn(other, visible)
        self.manager.write({"company_ids": [(4, other_company.id)]})
        visible = (
            self.env["threecx.server"]
            .with_user(self.manager)
            .with_context(allowed_company_ids=[other_company.id])
            .search([])
        )
        self.assertEqual(visible, other)

    def test_settings_report_key_and_counts(self):
        # What the settings form shows when it opens (default_get -> get_values).
        fields = ["realtor_3cx_key_configured", "realtor_3cx_server_count"]
        values = self.env["res.config.settings"].default_get(fields)
        self.assertTrue(values["realtor_3cx_key_configured"])
        self.assertEqual(
            values["realtor_3cx_server_count"], self.env["threecx.server"].search_count([])
        )
        self.assertGreaterEqual(values["realtor_3cx_server_count"], 1)
        with use_keys(""):
            values = self.env["res.config.settings"].default_get(fields)
            self.assertFalse(values["realtor_3cx_key_configured"])
