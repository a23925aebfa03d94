# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Shared set-up of the addon's tests.

``Realtor3cxCase`` gives every test a known encryption key (never the machine's), a company in
the US (national numbers are read as US numbers), an admin, a realtor and a telephony manager,
and one 3CX server whose secret is ``SECRET``::

    class TestThing(Realtor3cxCase):
        def test_it(self):
            self.assertEqual(self.server._get_api_secret(), SECRET)
"""

import base64
import os
from unittest import mock

from odoo import http
from odoo.tests import TransactionCase, new_test_user
from odoo.tools import config

from ..models.threecx_server import KEY_ENV, KEY_OPTION

KEY_1 = base64.urlsafe_b64encode(bytes(range(32))).decode()
KEY_2 = base64.urlsafe_b64encode(bytes(range(100, 132))).decode()
SECRET = "pl41n-t3xt-SECRET-value"


def use_keys(keys):
    """Patch the configured key(s) for the duration of a ``with`` block or a class."""
    return mock.patch.dict(config.options, {KEY_OPTION: keys})


def read_manifests_once():
    """Have Odoo read every addon's manifest now, in this one thread.

    The first static file a browser asks for makes Odoo read them all (``http.root.statics``,
    cached for the process) with ``ast.literal_eval``; CPython 3.11 before 3.11.9 can fail
    that with "AST constructor recursion depth mismatch" when the page's parallel requests
    parse in several threads at once, and the page then loads without its assets.
    """
    return http.root.statics


class Realtor3cxMixin:
    @classmethod
    def setup_realtor_3cx(cls):
        read_manifests_once()
        cls.startClassPatcher(use_keys(KEY_1))
        cls.startClassPatcher(mock.patch.dict(os.environ, {KEY_ENV: ""}))
        cls.env.company.country_id = cls.env.ref("base.us")
        cls.admin = cls.env.ref("base.user_admin")
        cls.realtor = new_test_user(
            cls.env,
            login="r3cx_realtor",
            # export rights, so that what stops the export is the field's own protection
            groups="realtor_3cx.realtor_3cx_group_user,base.group_allow_export",
        )
        cls.manager = new_test_user(
            cls.env,
            login="r3cx_manager",
            groups="realtor_3cx.realtor_3cx_group_manager,base.group_allow_export",
        )
        cls.server = (
            cls.env["threecx.server"]
            .with_user(cls.admin)
            .create(
                {
                    "name": "Test PBX",
                    "base_url": "https://pbx.example.com/",
                    "client_id": "900",
                    "api_secret": SECRET,
                }
            )
        )


class Realtor3cxCase(TransactionCase, Realtor3cxMixin):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_realtor_3cx()
