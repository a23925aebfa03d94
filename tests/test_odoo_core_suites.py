# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Odoo's own tests of what the addon extends still pass with the addon and its demo data.

The addon overrides contacts (E.164 columns, do-not-call, call counts), users (telephony
groups, extensions), the bus (call pop-ups) and mail (activities an outcome plans, chatter),
and its demo makes Marc Demo, the user many of Odoo's tests act as, a realtor. So Odoo's suites
of those modules run here on a fresh database with realtor_3cx (and auth_signup, which Odoo
installs with it) and demo data, through pytest-odoo: it runs each test class as it is
whatever its at_install/post_install tag, on the whole registry, which ``odoo-bin -u`` cannot
do for base's at-install tests (they run before the addon is loaded).

The suites (files of the Odoo 18.0 source, ``odoo/addons/<module>/tests/``): CORE_SUITES below.

They need the database server and configuration ``make test`` prepares: run them with
``make test T=tests/test_odoo_core_suites.py``.
"""

import re
import secrets
import subprocess
import sys
import xml.etree.ElementTree as ET

import devenv
import pytest
from test_odoo_runner import ROOT, conf_for, odoo_settings

CORE_SUITES = {
    "base": ["test_res_partner.py", "test_res_partner_merge.py", "test_res_users.py",
             "test_user_has_group.py"],
    "phone_validation": ["test_phonenumbers.py", "test_phonenumbers_blacklist.py",
                         "test_phonenumbers_patch.py"],
    "contacts": ["test_ui.py"],
    "bus": ["test_assetsbundle.py", "test_bus_presence.py", "test_health.py",
            "test_ir_model.py", "test_ir_websocket.py", "test_notify.py",
            "test_websocket_caryall.py", "test_websocket_controller.py",
            "test_websocket_rate_limiting.py"],
    "mail": ["test_res_partner.py", "test_res_users.py", "test_mail_activity.py",
             "test_thread_controller.py"],
    "auth_signup": ["test_auth_signup.py", "test_login.py", "test_reset_password.py"],
}
# Fails the same way without realtor_3cx (a database with contacts and phone_validation only,
# under pytest-odoo): it reads groups as a user without any user type, which no ACL allows
# once the cache of its fresh record is gone. Odoo only ever runs it at base's install.
NOT_OURS = ["base/tests/test_user_has_group.py::TestHasGroup::test_other_user"]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    """A fresh database with realtor_3cx and demo data; dropped afterwards."""
    conf, _db, src = odoo_settings()
    dbname = f"r3cx_core_{secrets.token_hex(3)}"
    run_conf = conf_for(conf, dbname, tmp_path_factory.mktemp("core"))
    try:
        res = subprocess.run(
            [sys.executable, str(src / "odoo-bin"), "-c", str(run_conf), "-d", dbname,
             "-i", "realtor_3cx", "--stop-after-init", "--log-level=warn"],
            cwd=ROOT, capture_output=True, text=True, timeout=900,
        )
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
        yield run_conf, dbname, src
    finally:
        devenv.drop_db(run_conf, dbname)


def test_odoo_core_suites_pass_with_the_addon_and_demo_data(demo_db, tmp_path):
    run_conf, dbname, src = demo_db
    files = [src / "odoo" / "addons" / module / "tests" / name
             for module, names in CORE_SUITES.items() for name in names]
    missing = [str(f) for f in files if not f.is_file()]
    assert not missing, f"not in this Odoo 18.0 source: {missing}"
    report = tmp_path / "junit.xml"
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfEs",
         f"--rootdir={src / 'odoo' / 'addons'}", f"--junitxml={report}",
         "--odoo-config", str(run_conf), "--odoo-database", dbname, "--odoo-http",
         "--odoo-log-level", "warn", *map(str, files),
         *(f"--deselect={node}" for node in NOT_OURS)],
        cwd=ROOT, capture_output=True, text=True, timeout=1200,
    )
    output = res.stdout[-6000:] + res.stderr[-3000:]
    assert report.exists(), output
    cases = list(ET.parse(report).getroot().iter("testcase"))
    bad = [f"{c.get('classname')}::{c.get('name')}" for c in cases
           if c.find("failure") is not None or c.find("error") is not None]
    skipped = [f"{c.get('classname')}::{c.get('name')}" for c in cases
               if c.find("skipped") is not None]
    assert res.returncode == 0 and not bad, f"failed: {bad}\n{output}"
    # A skipped test proves nothing (a tour without Chromium, a class Odoo's own tags skip).
    assert not skipped, f"skipped: {skipped}\n{output}"
    # Every suite ran: each module's file contributed tests.
    for module in CORE_SUITES:
        assert any(re.search(rf"\b{module}\.tests\.", c.get("classname") or "") for c in cases), (
            f"no test of {module} ran\n{output}")
