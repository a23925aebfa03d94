# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The server form's *Test connection*, against a real (simulated) 3CX on 127.0.0.1."""

from odoo.exceptions import AccessError

from ..threecx.simulator.server import SimConfig, SimulatorThread
from .common import Realtor3cxCase, use_keys

SIM_SECRET = "simulator-secret-for-odoo"


class TestConnection(Realtor3cxCase):
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

    def _test(self, server=None):
        action = (server or self.server).with_user(self.admin).action_test_connection()
        self.assertEqual(action["tag"], "display_notification")
        return action["params"]

    def test_success_reports_version_licence_and_unknown_extensions(self):
        params = self._test()
        self.assertEqual(params["type"], "success", params["message"])
        self.assertIn("Connected to 3CX 20.0.9.995", params["message"])
        self.assertIn("Call Control sees 900, 100, 101, 102", params["message"])
        # 101 exists in 3CX, 4242 does not: the admin is told which mapping is wrong.
        self.assertIn("do not exist in 3CX: 4242.", params["message"])
        self.assertEqual(self.server.threecx_version, "20.0.9.995")

    def test_wrong_secret_is_named(self):
        self.server.api_secret = "not-the-secret"
        params = self._test()
        self.assertEqual(params["type"], "danger")
        self.assertTrue(params["sticky"])
        self.assertIn("3CX refused the API client ID or secret", params["message"])

    def test_missing_call_control_access_is_named(self):
        self.sim.simulator.config.callcontrol_access = False
        self.addCleanup(setattr, self.sim.simulator.config, "callcontrol_access", True)
        params = self._test()
        self.assertEqual(params["type"], "danger")
        self.assertIn("may not use the Call Control API", params["message"])
        self.assertNotIn("Connected to 3CX", params["message"])

    def test_unreachable_pbx_is_named(self):
        server = self.server.copy({"name": "Nowhere", "base_url": "http://127.0.0.1:9"})
        server.api_secret = SIM_SECRET
        params = self._test(server)
        self.assertIn("Odoo cannot reach http://127.0.0.1:9 (Connection refused)",
                      params["message"])

    def test_only_an_admin_may_test(self):
        with self.assertRaises(AccessError):
            self.server.with_user(self.manager).action_test_connection()


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
