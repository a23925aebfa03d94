# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""``docker/upgrade.py``, the step before Odoo starts in the image, against a real Odoo 18.0.

On a database of its own in ``make test``'s PostgreSQL, with a copy of the addon it can change:
the first start installs the addon without demo data (a second container started with it
waits, then does nothing); a second start with the same addon does
nothing (and runs no Odoo); the workers' ``--wait`` returns at once then, and refuses to start
them on a database older than the addon; a start after a version bump upgrades, and so does one
after a change of the files without a bump. Each install or upgrade takes a minute or two.

Run with ``make test T=tests/test_docker_upgrade.py`` (it needs ``REALTOR_3CX_TEST_ODOO_CONF``
and ``REALTOR_3CX_ODOO_SRC``).
"""

import configparser
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import devenv
import psycopg2
import pytest

ROOT = Path(__file__).resolve().parent.parent
# The addon's version on disk, and the bump the test ships (its last digit plus one).
VERSION = re.search(r'"version": "([^"]+)"', (ROOT / "realtor_3cx" / "__manifest__.py")
                    .read_text(encoding="utf-8")).group(1)
NEXT = ".".join([*VERSION.split(".")[:-1], str(int(VERSION.split(".")[-1]) + 1)])
UPGRADE = ROOT / "docker" / "upgrade.py"
# An install of realtor_3cx and its dependencies on a busy 2-core machine.
ODOO_TIMEOUT = 900
MENU_XML = "views/realtor_3cx_menus.xml"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """``(conf, dbname, addon folder)`` for a database that does not exist yet."""
    conf = os.environ.get("REALTOR_3CX_TEST_ODOO_CONF")
    src = os.environ.get("REALTOR_3CX_ODOO_SRC")
    if not conf or not src:
        raise RuntimeError(
            "these tests need REALTOR_3CX_TEST_ODOO_CONF and REALTOR_3CX_ODOO_SRC from "
            "`make test`: run them with `make test T=tests/test_docker_upgrade.py`"
        )
    workdir = tmp_path_factory.mktemp("deploy")
    addons = workdir / "addons"
    addon = addons / "realtor_3cx"
    shutil.copytree(
        ROOT / "realtor_3cx", addon, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    dbname = f"r3cx_deploy_{secrets.token_hex(3)}"
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(conf)
    parser.set("options", "addons_path", f"{Path(src) / 'odoo' / 'addons'},{addons}")
    parser.set("options", "db_name", dbname)
    parser.set("options", "dbfilter", f"^{dbname}$")
    parser.set("options", "http_port", str(devenv.free_port()))
    parser.set("options", "data_dir", str(workdir / "filestore"))
    parser.set("options", "without_demo", "all")
    path = workdir / "odoo.conf"
    with path.open("w") as f:
        parser.write(f)
    path.chmod(0o600)
    try:
        yield path, dbname, addon, [sys.executable, str(Path(src) / "odoo-bin")]
    finally:
        devenv.drop_db(path, dbname)


def upgrade_cmd(deployment, *extra):
    conf, dbname, addon, odoo = deployment
    return [sys.executable, str(UPGRADE), "-c", str(conf), "-d", dbname, "--addon", str(addon),
            "--odoo", shlex.join(odoo), *extra]


def start(deployment, *extra, timeout=ODOO_TIMEOUT):
    """What the image's entrypoint runs before Odoo: ``(exit code, output, seconds)``."""
    began = time.monotonic()
    res = subprocess.run(
        upgrade_cmd(deployment, *extra),
        capture_output=True, text=True, timeout=timeout, check=False,
    )
    return res.returncode, res.stdout + res.stderr, time.monotonic() - began


def start_two_at_once(deployment):
    """Two containers starting together (``--scale odoo=2``, a restart racing a deploy)."""
    procs = [
        subprocess.Popen(upgrade_cmd(deployment), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    try:
        return [(proc.wait(timeout=ODOO_TIMEOUT), proc.stdout.read()) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()


def query(deployment, sql, *args):
    conf, dbname, _addon, _odoo = deployment
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(conf)
    o = parser["options"]
    conn = psycopg2.connect(dbname=dbname, host=o["db_host"], port=o["db_port"],
                            user=o["db_user"], password=o["db_password"])
    try:
        with conn.cursor() as cr:
            cr.execute(sql, args)
            return cr.fetchall()
    finally:
        conn.close()


def installed(deployment):
    """``(state, latest_version, demo)`` of the addon, and the recorded hash of its files."""
    (row,) = query(
        deployment,
        "SELECT state, latest_version, demo FROM ir_module_module WHERE name = 'realtor_3cx'",
    )
    recorded = query(
        deployment,
        "SELECT value FROM ir_config_parameter WHERE key = 'realtor_3cx.deployed_sha256'",
    )
    return row, recorded[0][0] if recorded else None


def menu_name(deployment):
    ((name,),) = query(
        deployment,
        "SELECT m.name->>'en_US' FROM ir_ui_menu m JOIN ir_model_data d ON d.res_id = m.id "
        "AND d.model = 'ir.ui.menu' WHERE d.module = 'realtor_3cx' "
        "AND d.name = 'threecx_menu_root'",
    )
    return name


def files_sha256(addon):
    code = (
        "import importlib.util, sys; "
        f"s = importlib.util.spec_from_file_location('upgrade', {str(UPGRADE)!r}); "
        "m = importlib.util.module_from_spec(s); s.loader.exec_module(m); "
        f"print(m.addon_sha256({str(addon)!r}))"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def assert_clean(output):
    """Odoo's own log of the install or upgrade has no error."""
    bad = [line for line in output.splitlines() if re.search(r" (ERROR|CRITICAL) |Traceback", line)]
    assert bad == [], "\n".join(bad)


def edit(addon, relpath, old, new):
    path = addon / relpath
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def test_start_installs_then_does_nothing_then_upgrades_what_changed(deployment):
    _conf, _dbname, addon, _odoo = deployment

    # First start, no database yet, two containers at once: one installs, without demo data;
    # the other waits for it, then finds nothing to do.
    runs = start_two_at_once(deployment)
    assert [rc for rc, _out in runs] == [0, 0], [out[-4000:] for _rc, out in runs]
    (out,) = [out for _rc, out in runs if " -i realtor_3cx" in out]
    (other,) = [other for _rc, other in runs if other != out]
    assert "another container is installing or upgrading; waiting" in other
    assert f"realtor_3cx {VERSION} is up to date" in other
    assert "odoo-bin" not in other
    assert "realtor_3cx is not installed" in out
    assert " -i realtor_3cx --without-demo=all --workers=0 --stop-after-init" in out
    assert_clean(out)
    (state, version, demo), recorded = installed(deployment)
    assert (state, version, demo) == ("installed", VERSION, False)
    assert recorded == files_sha256(addon)
    assert query(deployment, "SELECT count(*) FROM res_users WHERE login = 'demo'") == [(0,)]
    assert query(deployment, "SELECT bool_or(demo) FROM ir_module_module") == [(False,)]

    # Second start, same addon: nothing, and fast (no Odoo started).
    (write_date,) = query(
        deployment, "SELECT write_date FROM ir_module_module WHERE name = 'realtor_3cx'"
    )
    rc, out, secs = start(deployment)
    assert rc == 0, out
    assert f"realtor_3cx {VERSION} is up to date" in out
    assert "odoo-bin" not in out
    assert secs < 15, f"a start with nothing to do took {secs:.1f} s"
    assert query(
        deployment, "SELECT write_date FROM ir_module_module WHERE name = 'realtor_3cx'"
    ) == [write_date]
    # the workers' wait: up to date, so at once
    rc, out, secs = start(deployment, "--wait", "0")
    assert rc == 0 and "is up to date" in out, out
    assert secs < 15

    # A new version in the image: the workers wait for the odoo service...
    edit(addon, "__manifest__.py", f'"version": "{VERSION}"', f'"version": "{NEXT}"')
    edit(addon, MENU_XML, 'name="Telephony"', 'name="Telephony 1.0.1"')
    rc, out, _secs = start(deployment, "--wait", "1", timeout=60)
    assert rc != 0
    assert f"version {VERSION} installed, {NEXT} on disk" in out
    assert "still not up to date after 1.0 s" in out
    assert installed(deployment)[0][1] == VERSION
    # ...whose start upgrades.
    rc, out, _secs = start(deployment)
    assert rc == 0, out[-4000:]
    assert " -u realtor_3cx --without-demo=all --workers=0 --stop-after-init" in out
    assert_clean(out)
    (state, version, _demo), recorded = installed(deployment)
    assert (state, version) == ("installed", NEXT)
    assert recorded == files_sha256(addon)
    assert menu_name(deployment) == "Telephony 1.0.1"

    # A fix shipped without a version bump: its files changed, so it is upgraded too.
    edit(addon, MENU_XML, 'name="Telephony 1.0.1"', 'name="Telephony fixed"')
    rc, out, _secs = start(deployment)
    assert rc == 0, out[-4000:]
    assert "the addon's files changed since the last install or upgrade" in out
    assert_clean(out)
    assert menu_name(deployment) == "Telephony fixed"
    assert installed(deployment)[1] == files_sha256(addon)
    rc, out, _secs = start(deployment)
    assert rc == 0 and "is up to date" in out, out


def test_a_failed_upgrade_stops_the_start(deployment):
    """Odoo cannot load the addon: the entrypoint must not go on to serve it."""
    _conf, _dbname, addon, _odoo = deployment
    if installed_or_none(deployment) is None:
        rc, out, _secs = start(deployment)
        assert rc == 0, out[-4000:]
    edit(addon, "__manifest__.py", '"depends": [', '"depends": ["realtor_3cx_no_such_module", ')
    try:
        rc, out, _secs = start(deployment)
    finally:
        edit(addon, "__manifest__.py", '"depends": ["realtor_3cx_no_such_module", ', '"depends": [')
    assert rc != 0
    assert "upgrade.py: upgrade of realtor_3cx failed" in out, out[-4000:]
    # nothing recorded for the broken addon: the start after the fix finds it up to date
    (state, version, _demo), recorded = installed(deployment)
    assert state == "installed"
    assert recorded == files_sha256(addon)


def installed_or_none(deployment):
    try:
        return installed(deployment)
    except psycopg2.OperationalError:
        return None
