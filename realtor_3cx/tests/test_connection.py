# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The server form's *Test connection*, against a real (simulated) 3CX on 127.0.0.1."""

import json

from odoo.exceptions import AccessError, UserError

from ..models.threecx_connection_test import EXPIRY
from ..threecx.client import CREDENTIALS, ConnectionReport, Problem, ThreecxClient
from ..threecx.simulator.server import SimConfig, SimulatorThread
from .common import Realtor3cxCase, use_keys

SIM_SECRET = "simulator-secret-for-odoo"


class TestConnection(Realtor3cxCase):
    """The button leaves a request for the worker; the worker's report is told in plain words.

    The worker's side (it answers with its own session, minting nothing) is lived end to end
    in tests/test_day_admin.py; here the report of a real test against the simulator, made
    as the worker makes it, goes through the same ``threecx.connection.test._done``.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sim = SimulatorThread(SimConfig(port=0, client_secret=SIM_SECRET, speed=0.05))
        cls.sim.start()
        cls.addClassCleanup(cls.sim.stop)
        cls.server.write({"base_url": cls.sim.url, "api_secret": SIM_SECRET})
        cls.env["threecx.extension"].create(
            [
                {"server_id": cls.server.id, "number": "101", "user_id": cls.realtor.id},
                {"server_id": cls.server.id, "number": "4242", "user_id": cls.manager.id},
            ]
        )

    def _test(self, server=None, secret=SIM_SECRET):
        """Click *Test connection* as the admin, then answer it as the worker does."""
        server = server or self.server
        action = server.with_user(self.admin).action_test_connection()
        self.assertEqual(action["tag"], "realtor_3cx.connection_test")
        test = self.env["threecx.connection.test"].browse(action["params"]["test_id"])
        self.assertEqual((test.server_id, test.user_id), (server, self.admin))
        self.assertEqual(server.test_state, "pending")
        client = ThreecxClient(server.base_url, server.client_id, secret, timeout=5)
        try:
            report = client.test_connection()
        finally:
            client.close()
        self.env["bus.bus"].sudo().search([]).unlink()
        test._done(report)
        server.invalidate_recordset()
        self.env.cr.precommit.run()  # the bus sends at commit; read what it would send
        [bus] = self.env["bus.bus"].sudo().search([("message", "like", "realtor_3cx.server/test")])
        self.assertEqual(json.loads(bus.channel)[1:], ["res.partner", self.admin.partner_id.id])
        payload = json.loads(bus.message)["payload"]
        self.assertEqual(payload["message"], server.test_report)
        self.assertEqual(payload["ok"], server.test_state == "ok")
        self.assertTrue(server.test_done_at)
        return payload

    def test_success_reports_version_licence_and_unknown_extensions(self):
        payload = self._test()
        self.assertTrue(payload["ok"], payload["message"])
        self.assertEqual(self.server.test_state, "ok")
        self.assertIn("Connected to 3CX 20.0.9.995", payload["message"])
        self.assertIn("Call Control sees 900, 100, 101, 102", payload["message"])
        # 101 exists in 3CX, 4242 does not: the admin is told which mapping is wrong.
        self.assertIn("do not exist in 3CX: 4242.", payload["message"])
        self.assertEqual(self.server.threecx_version, "20.0.9.995")

    def test_wrong_secret_is_named(self):
        payload = self._test(secret="not-the-secret")
        self.assertFalse(payload["ok"])
        self.assertEqual(self.server.test_state, "failed")
        self.assertEqual(payload["title"], "3CX connection failed")
        self.assertIn("3CX refused the API client ID or secret", payload["message"])

    def test_missing_call_control_access_is_named(self):
        self.sim.simulator.config.callcontrol_access = False
        self.addCleanup(setattr, self.sim.simulator.config, "callcontrol_access", True)
        payload = self._test()
        self.assertFalse(payload["ok"])
        self.assertIn("may not use the Call Control API", payload["message"])
        self.assertNotIn("Connected to 3CX", payload["message"])

    def test_unreachable_pbx_is_named(self):
        server = self.server.copy({"name": "Nowhere", "base_url": "http://127.0.0.1:9"})
        server.api_secret = SIM_SECRET
        payload = self._test(server)
        self.assertIn("The worker cannot reach http://127.0.0.1:9 (Connection refused)",
                      payload["message"])

    def test_the_report_is_in_the_language_of_the_admin_who_asked(self):
        self.env["res.lang"]._activate_lang("es_419")
        self.admin.lang = "es_419"
        action = self.server.with_user(self.admin).action_test_connection()
        test = self.env["threecx.connection.test"].browse(action["params"]["test_id"])
        report = ConnectionReport(problems=[Problem(CREDENTIALS, "401")])
        test.with_context(lang="es_419")._done(report)
        self.assertIn("3CX rechazó", test.report)

    def test_only_an_admin_may_test(self):
        with self.assertRaises(AccessError):
            self.server.with_user(self.manager).action_test_connection()

    def test_nothing_to_test_without_credentials(self):
        server = self.server.copy({"name": "No key yet"})
        self.assertFalse(server.api_secret_set)
        with self.assertRaisesRegex(UserError, "API secret"):
            server.with_user(self.admin).action_test_connection()
        self.assertFalse(server.last_test_id)

    def test_a_request_no_worker_took_says_so(self):
        action = self.server.with_user(self.admin).action_test_connection()
        test = self.env["threecx.connection.test"].browse(action["params"]["test_id"])
        self.assertFalse(self.server.test_unanswered)
        self.env.cr.execute(
            "UPDATE threecx_connection_test SET create_date = create_date - %s * interval '1s'"
            " WHERE id = %s", (EXPIRY + 1, test.id))
        self.env.invalidate_all()
        self.assertTrue(self.server.test_unanswered)
        test._done(ConnectionReport())
        self.server.invalidate_recordset()
        self.assertFalse(self.server.test_unanswered)
        self.assertEqual(self.server.test_state, "ok")

    def test_the_form_shows_the_last_test_and_old_ones_are_cleared(self):
        tests = self.env["threecx.connection.test"]
        first = tests.browse(
            self.server.with_user(self.admin).action_test_connection()["params"]["test_id"])
        second = tests.browse(
            self.server.with_user(self.admin).action_test_connection()["params"]["test_id"])
        second._done(ConnectionReport(problems=[Problem(CREDENTIALS, "401")]))
        self.assertEqual(self.server.last_test_id, second)
        self.assertEqual(self.server.test_state, "failed")
        self.env.cr.execute(
            "UPDATE threecx_connection_test SET create_date = create_date - interval '31 days'"
            " WHERE id IN %s", ((first.id, second.id),))
        self.env.invalidate_all()
        tests._gc_old_tests()
        self.assertFalse(first.exists())
        self.assertTrue(second.exists(), "the server's last test stays for its form")


class TestDemoSecret(Realtor3cxCase):
    def test_demo_saves_the_simulator_key_only_when_odoo_has_a_key(self):
        server = self.server.copy({"name": "Demo PBX"})
        with use_keys(""), self.assertLogs("odoo.addons.realtor_3cx", "WARNING") as logs:
            server._demo_save_api_secret(server.id, "simulator-secret")
        self.assertFalse(server.api_secret_set)
        self.assertIn("API secret was not saved", logs.output[0])
        server._demo_save_api_secret(server.id, "simulator-secret")
        self.assertEqual(server._get_api_secret(), "simulator-secret")


class TestIceServers(Realtor3cxCase):
    def test_ice_servers_parse_for_browsers_and_the_worker(self):
        self.server.ice_servers = (
            "stun:stun.example.com:3478\n\nturn:agent:s3cret@turn.example.com:3478"
        )
        self.assertEqual(
            self.server._ice_servers(),
            [
                {"urls": "stun:stun.example.com:3478"},
                {"urls": "turn:turn.example.com:3478", "username": "agent",
                 "credential": "s3cret"},
            ],
        )

    def test_a_line_that_is_not_stun_or_turn_is_refused(self):
        from odoo.exceptions import ValidationError

        with self.assertRaises(ValidationError):
            self.server.ice_servers = "http://example.com"
