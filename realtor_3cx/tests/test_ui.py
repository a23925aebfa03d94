# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json
from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, JsonRpcException, new_test_user, tagged

from .common import SECRET, Realtor3cxMixin


@tagged("post_install", "-at_install")
class TestRealtor3cxUi(HttpCase, Realtor3cxMixin):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_realtor_3cx()
        cls.tour_server = cls.env["threecx.server"].create(
            {"name": "Tour PBX", "base_url": "https://tour.example.com", "client_id": "901"}
        )

    def _call_kw(self, model, method, args, kwargs=None):
        return self.make_jsonrpc_request(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": args, "kwargs": kwargs or {}},
        )

    def test_settings_and_server_form_tour(self):
        self.start_tour(
            "/odoo/action-realtor_3cx.res_config_settings_action",
            "realtor_3cx_settings_tour",
            login="admin",
        )
        self.assertEqual(self.tour_server._get_api_secret(), "tour-typed-secret")

    def test_json_rpc_never_returns_the_secret_to_an_admin(self):
        self.authenticate("admin", "admin")
        ids = [self.server.id]
        spec = {"name": {}, "api_secret": {}, "api_secret_set": {}}
        # (method, args, kwargs, what the answer must hold to prove the call worked)
        calls = [
            ("read", [ids], {}, '"api_secret": false'),
            ("read", [ids, ["name", "api_secret"]], {}, "Test PBX"),
            ("search_read", [[("id", "in", ids)]], {}, '"api_secret": false'),
            ("web_read", [ids], {"specification": spec}, '"api_secret_set": true'),
            ("web_search_read", [[("id", "in", ids)]], {"specification": spec}, "Test PBX"),
            ("export_data", [ids, ["name", "api_secret"]], {}, "Test PBX"),
            ("onchange", [ids, {"name": "x"}, ["name"], spec], {}, '"value"'),
        ]
        for method, args, kwargs, proof in calls:
            with self.subTest(method=method, args=args):
                result = json.dumps(self._call_kw("threecx.server", method, args, kwargs))
                self.assertIn(proof, result)
                self.assertNotIn(SECRET, result)
                self.assertNotIn("v1:", result)

    def test_json_rpc_refuses_the_secret_to_a_realtor(self):
        self.authenticate("r3cx_realtor", "r3cx_realtor")
        with self.assertRaisesRegex(JsonRpcException, "AccessError"):
            self._call_kw("threecx.server", "read", [[self.server.id], ["api_secret"]])
        with self.assertRaisesRegex(JsonRpcException, "AccessError"):
            self._call_kw("threecx.server", "export_data", [[self.server.id], ["api_secret"]])

    def test_private_secret_reader_is_not_callable_over_rpc(self):
        self.authenticate("admin", "admin")
        with self.assertRaisesRegex(JsonRpcException, "AccessError|[Pp]rivate"):
            self._call_kw("threecx.server", "_get_api_secret", [[self.server.id]])

    def test_calls_views_and_partner_calls_tab_tour(self):
        realtor = new_test_user(
            self.env, login="tour_realtor", name="Tour Realtor",
            groups="realtor_3cx.realtor_3cx_group_user",
        )
        caller = self.env["res.partner"].create({"name": "Tour Caller", "phone": "+1 555 010 8888"})
        now = fields.Datetime.now()
        self.env["threecx.call"].create(
            [
                {
                    "server_id": self.server.id,
                    "call_id": "tour-1",
                    "user_id": realtor.id,
                    "partner_id": caller.id,
                    "external_number": "+1 555 010 8888",
                    "state": "completed",
                    "start_at": now - timedelta(minutes=10),
                    "answer_at": now - timedelta(minutes=9),
                    "end_at": now - timedelta(minutes=5),
                    "outcome_id": self.env.ref("realtor_3cx.threecx_outcome_showing_booked").id,
                },
                {
                    "server_id": self.server.id,
                    "call_id": "tour-2",
                    "user_id": realtor.id,
                    "external_number": "+1 555 010 8889",
                    "state": "missed",
                    "start_at": now - timedelta(minutes=3),
                    "end_at": now - timedelta(minutes=2),
                },
            ]
        )
        self.start_tour(
            "/odoo/action-realtor_3cx.threecx_call_action", "realtor_3cx_calls_tour",
            login="r3cx_manager",
        )
        # The realtor opens their contact: the Calls tab shows the call they took.
        self.start_tour(
            f"/odoo/contacts/{caller.id}", "realtor_3cx_partner_calls_tour", login="tour_realtor"
        )
