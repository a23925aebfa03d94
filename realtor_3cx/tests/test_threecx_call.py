# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import datetime, timedelta

from psycopg2 import IntegrityError

from odoo import fields
from odoo.exceptions import AccessError, ValidationError
from odoo.models import is_definition_class
from odoo.tests import TransactionCase, new_test_user
from odoo.tools import mute_logger

from .common import Realtor3cxCase

T0 = datetime(2026, 11, 2, 9, 0, 0)


class TestThreecxCall(Realtor3cxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Call = cls.env["threecx.call"]
        cls.other_realtor = new_test_user(
            cls.env, login="r3cx_other", groups="realtor_3cx.realtor_3cx_group_user"
        )
        cls.my_call = cls.Call.create(
            {
                "server_id": cls.server.id,
                "call_id": "1001",
                "user_id": cls.realtor.id,
                "external_number": "555-010-2030",
                "did_number": "+1 555 010 1001",
                "start_at": T0,
                "answer_at": T0 + timedelta(seconds=12),
                "end_at": T0 + timedelta(seconds=312),
                "state": "completed",
            }
        )
        cls.their_call = cls.Call.create(
            {"server_id": cls.server.id, "call_id": "1002", "user_id": cls.other_realtor.id}
        )

    def test_numbers_and_durations(self):
        call = self.my_call
        self.assertEqual(call.external_e164, "+15550102030")
        self.assertEqual(call.did_e164, "+15550101001")
        self.assertEqual((call.ring_seconds, call.talk_seconds), (12, 300))
        missed = self.Call.create(
            {
                "server_id": self.server.id,
                "call_id": "1003",
                "start_at": T0,
                "end_at": T0 + timedelta(seconds=25),
                "state": "missed",
            }
        )
        self.assertEqual((missed.ring_seconds, missed.talk_seconds), (25, 0))

    def test_times_must_follow_each_other(self):
        with self.assertRaises(ValidationError):
            self.Call.create(
                {"server_id": self.server.id, "call_id": "1004", "start_at": T0,
                 "answer_at": T0 - timedelta(seconds=1)}
            )
        with self.assertRaises(ValidationError):
            self.Call.create(
                {"server_id": self.server.id, "call_id": "1005", "start_at": T0,
                 "answer_at": T0 + timedelta(seconds=5), "end_at": T0 + timedelta(seconds=2)}
            )

    def test_a_call_is_stored_once_per_server(self):
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            self.Call.create({"server_id": self.server.id, "call_id": "1001"})
        other_server = self.env["threecx.server"].create(
            {"name": "Branch", "base_url": "https://branch.example.com"}
        )
        self.assertTrue(self.Call.create({"server_id": other_server.id, "call_id": "1001"}))

    def test_realtor_sees_and_edits_only_their_own_calls(self):
        Call = self.Call.with_user(self.realtor)
        self.assertEqual(Call.search([]), self.my_call)
        mine = self.my_call.with_user(self.realtor)
        showing = self.env.ref("realtor_3cx.threecx_outcome_showing_booked")
        mine.write({"outcome_id": showing.id, "notes": "Saturday 10am"})
        self.assertEqual(self.my_call.outcome_id, showing)
        with self.assertRaises(AccessError):
            self.their_call.with_user(self.realtor).read(["state"])
        with self.assertRaises(AccessError):
            self.their_call.with_user(self.realtor).write({"notes": "mine now"})
        with self.assertRaises(AccessError):
            mine.write({"state": "missed"})
        with self.assertRaises(AccessError):
            mine.write({"user_id": self.other_realtor.id})
        with self.assertRaises(AccessError):
            Call.create({"server_id": self.server.id, "call_id": "1006"})
        with self.assertRaises(AccessError):
            mine.unlink()

    def test_manager_sees_every_call(self):
        calls = self.Call.with_user(self.manager).search([])
        self.assertIn(self.my_call, calls)
        self.assertIn(self.their_call, calls)
        self.their_call.with_user(self.manager).write({"state": "missed"})
        self.assertEqual(self.their_call.state, "missed")

    def test_calls_stay_in_their_company(self):
        other_company = self.env["res.company"].create({"name": "Other Brokerage"})
        other_server = self.env["threecx.server"].create(
            {"name": "Other", "base_url": "https://o.example.com", "company_id": other_company.id}
        )
        hidden = self.Call.create({"server_id": other_server.id, "call_id": "9"})
        self.assertEqual(hidden.company_id, other_company)
        self.assertNotIn(hidden, self.Call.with_user(self.manager).search([]))
        with self.assertRaises(AccessError):
            hidden.with_user(self.manager).read(["state"])

    def test_pick_a_contact_among_candidates(self):
        Partner = self.env["res.partner"]
        a, b = Partner.create([{"name": "A"}, {"name": "B"}])
        outsider = Partner.create({"name": "Outsider"})
        self.my_call.candidate_partner_ids = a | b
        mine = self.my_call.with_user(self.realtor)
        with self.assertRaises(ValidationError):
            mine.action_pick_contact(outsider.id)
        mine.action_pick_contact(b.id)
        self.assertEqual(self.my_call.partner_id, b)

    def test_display_name(self):
        self.assertEqual(self.my_call.display_name, "Inbound · 555-010-2030")


class TestModelStructure(TransactionCase):
    """The order of what a write or a sync sets off is written in one place.

    Each model's features are AbstractModels composed on the model (``_inherit``). None of the
    addon's classes of a model defines a method or field another one defines, and the methods
    several features take part in are defined by the model's own class only, which calls each
    feature's step explicitly: nothing depends on which file Python imports first.
    """

    SHARED = {
        "threecx.call": ("create", "write", "init", "_create_from_view", "_notify_transition"),
        "threecx.server": ("create", "write", "init"),
        "res.partner": ("create", "write"),
    }

    def _our_classes(self, model):
        return [
            cls
            for cls in type(self.env[model]).__mro__
            if is_definition_class(cls) and cls._module == "realtor_3cx"
        ]

    def test_shared_methods_defined_once(self):
        for model, methods in self.SHARED.items():
            ours = self._our_classes(model)
            self.assertGreater(len(ours), 1, f"{model} composes no feature mixin")
            for method in methods:
                with self.subTest(model=model, method=method):
                    defining = [cls._name for cls in ours if method in vars(cls)]
                    self.assertIn(
                        defining, ([], [model]),
                        f"{model}.{method} is defined by {defining}: only {model}'s own class "
                        "may define it, calling each feature's step",
                    )

    def test_no_feature_overrides_another(self):
        for model in self.SHARED:
            seen = {}
            for cls in self._our_classes(model):
                for name, value in vars(cls).items():
                    if not (callable(value) or isinstance(value, fields.Field)):
                        continue
                    with self.subTest(model=model, name=name):
                        self.assertFalse(
                            name in seen,
                            f"{model}: {name} is defined by {seen.get(name)} and {cls._name}",
                        )
                    seen[name] = cls._name
