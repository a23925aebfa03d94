# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Odoo's own test runner finds and passes every test of the addon.

``odoo-bin --test-tags /realtor_3cx`` is what OCA's CI and every Odoo integrator run. It sees
only the test modules ``realtor_3cx/tests/__init__.py`` imports, and it runs them on whatever
database it installs, with or without demo data. ``make test`` runs the addon's tests through
pytest-odoo instead, so these tests hold the two together: every test module is imported, and
``odoo-bin -i realtor_3cx --test-tags /realtor_3cx --stop-after-init`` on a fresh database
(with demo data, then with ``--without-demo=all``) exits 0, reports 0 failed and 0 errors (Odoo
counts an ERROR logged during a test as an error), and runs exactly as many tests as
pytest-odoo collects.

They need the database server and configuration ``make test`` prepares
(``REALTOR_3CX_TEST_ODOO_CONF``, ``REALTOR_3CX_TEST_DB``, ``REALTOR_3CX_ODOO_SRC``): run them
with ``make test T=tests/test_odoo_runner.py``. Each odoo-bin run takes a few minutes.
"""

import ast
import configparser
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import devenv
import pytest

ROOT = Path(__file__).resolve().parent.parent
ADDON_TESTS = ROOT / "realtor_3cx" / "tests"
# The line Odoo's runner ends with (odoo/tests/result.py, odoo/service/server.py).
SUMMARY = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database")
COLLECTED = re.compile(r"^(\d+) tests? collected", re.M)
# A full install with every test, HTTP and browser tests included, on a busy 2-core machine.
RUN_TIMEOUT = 1800


def odoo_settings():
    names = ("REALTOR_3CX_TEST_ODOO_CONF", "REALTOR_3CX_TEST_DB", "REALTOR_3CX_ODOO_SRC")
    values = [os.environ.get(name) for name in names]
    if not all(values):
        raise RuntimeError(
            f"these tests need {', '.join(names)} from `make test`: run them with "
            "`make test T=tests/test_odoo_runner.py`"
        )
    return Path(values[0]), values[1], Path(values[2])


def conf_for(conf, dbname, workdir):
    """The test configuration, for another database of the same server (own port and files):
    HttpCase requests reach a database only through ``dbfilter``."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(conf)
    parser.set("options", "db_name", dbname)
    parser.set("options", "dbfilter", f"^{dbname}$")
    parser.set("options", "http_port", str(devenv.free_port()))
    parser.set("options", "data_dir", str(workdir / "filestore"))
    path = workdir / "odoo.conf"
    with path.open("w") as f:
        parser.write(f)
    path.chmod(0o600)
    return path


def test_every_test_module_is_imported():
    """A module left out of ``__init__.py`` is a test Odoo's runner never runs."""
    tree = ast.parse((ADDON_TESTS / "__init__.py").read_text())
    imported = {
        alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module is None
        for alias in node.names
    }
    modules = {path.stem for path in ADDON_TESTS.glob("test_*.py")}
    assert sorted(modules - imported) == [], "not imported by realtor_3cx/tests/__init__.py"
    assert sorted(imported - modules) == [], "imported but missing"


@pytest.fixture(scope="module")
def collected():
    """How many tests pytest-odoo collects for the addon, as ``make test``'s addon suite."""
    conf, db, _src = odoo_settings()
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q",
         "--odoo-config", str(conf), "--odoo-database", db, "--odoo-http",
         str(ADDON_TESTS)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    found = COLLECTED.findall(res.stdout)
    assert res.returncode == 0 and found, res.stdout[-3000:] + res.stderr[-3000:]
    return int(found[-1])


@pytest.fixture(scope="module")
def odoo_bin_runs(tmp_path_factory):
    """``{demo: (exit code, log)}``: both runs at once, each on its own fresh database, port
    and files (most of a run is waiting on HTTP and browser tests; together they take little
    more than one)."""
    conf, _db, src = odoo_settings()
    runs = {}
    try:
        for demo in (True, False):
            workdir = tmp_path_factory.mktemp("demo" if demo else "nodemo")
            dbname = f"r3cx_runner_{'demo' if demo else 'nodemo'}_{secrets.token_hex(3)}"
            run_conf = conf_for(conf, dbname, workdir)
            cmd = [sys.executable, str(src / "odoo-bin"), "-c", str(run_conf), "-d", dbname,
                   "-i", "realtor_3cx", "--test-tags", "/realtor_3cx", "--stop-after-init",
                   "--log-level=info"]  # the files it loads, demo data included
            if not demo:
                cmd.append("--without-demo=all")
            log = workdir / "odoo.log"
            with log.open("w") as out:
                proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
            runs[demo] = (proc, log, run_conf, dbname)
        results = {}
        for demo, (proc, log, _conf, _name) in runs.items():
            try:
                rc = proc.wait(timeout=RUN_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = f"killed after {RUN_TIMEOUT} s"
            results[demo] = (rc, log.read_text(errors="replace"))
        yield results
    finally:
        for proc, _log, run_conf, dbname in runs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            devenv.drop_db(run_conf, dbname)


@pytest.mark.parametrize("demo", [True, False], ids=["with-demo", "without-demo"])
def test_odoo_bin_runs_every_test_and_passes(demo, collected, odoo_bin_runs):
    rc, text = odoo_bin_runs[demo]
    problems = "\n".join(
        line[:400] for line in text.splitlines()
        if " ERROR " in line or " CRITICAL " in line or line.startswith(("FAIL:", "ERROR:"))
    )
    summary = SUMMARY.findall(text)
    assert summary, f"odoo-bin printed no test summary (exit {rc}):\n{text[-4000:]}"
    failed, errors, ran = map(int, summary[-1])
    assert (rc, failed, errors) == (0, 0, 0), f"exit {rc}, {failed} failed, {errors} errors:\n" + (
        problems or text[-4000:])
    assert ran == collected, f"odoo-bin ran {ran} tests, pytest-odoo collects {collected}"
    # The database had demo data, or had none, as the run says.
    assert ("loading realtor_3cx/demo/realtor_3cx_demo.xml" in text) is demo
