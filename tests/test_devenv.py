# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The set-up behind `make run` and `make test`: its decisions, without running them."""

import configparser
import stat

import devenv
import pytest

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="4">
  <testcase classname="a.T" name="test_ok"/>
  <testcase classname="a.T" name="test_bad"><failure message="boom"/></testcase>
  <testcase classname="a.T" name="test_err"><error message="boom"/></testcase>
  <testcase classname="a.T" name="test_tour">
    <skipped message="Chrome executable not found"/>
  </testcase>
</testsuite></testsuites>
"""


def test_junit_counts_report_skips_by_name(tmp_path):
    report = tmp_path / "junit.xml"
    report.write_text(JUNIT)
    assert devenv.junit_counts(report) == (1, 2, ["a.T::test_tour"])
    assert devenv.junit_counts(tmp_path / "missing.xml") == (0, 0, [])


def make_tree(path, version="18, 0"):
    (path / "odoo").mkdir(parents=True)
    (path / "odoo" / "release.py").write_text(f"version_info = ({version}, 0, FINAL, 0, '')\n")
    (path / "odoo-bin").write_text("")
    return path


@pytest.fixture
def no_odoo(monkeypatch, tmp_path):
    """A machine where nothing provides Odoo and downloads fail."""
    monkeypatch.delenv("ODOO_SRC", raising=False)
    monkeypatch.setattr(devenv, "DATA", tmp_path / "data")
    monkeypatch.setattr(devenv, "importable_odoo_src", lambda: None)

    def offline(target):
        raise OSError("Name or service not known")

    monkeypatch.setattr(devenv, "download_odoo", offline)
    return tmp_path


def test_no_odoo_anywhere_stops_with_what_to_do(no_odoo):
    with pytest.raises(devenv.SetupError) as caught:
        devenv.ensure_odoo()
    message = str(caught.value)
    assert "ODOO_SRC" in message
    assert "pip install -e" in message
    assert "internet" in message
    assert "Name or service not known" in message


def test_odoo_src_of_another_version_is_refused(no_odoo, monkeypatch):
    monkeypatch.setenv("ODOO_SRC", str(make_tree(no_odoo / "odoo17", "17, 0")))
    with pytest.raises(devenv.SetupError, match="not Odoo 18.0"):
        devenv.ensure_odoo()


def test_odoo_version_reads_release_py(tmp_path):
    assert devenv.odoo_version(make_tree(tmp_path / "o")) == (18, 0)
    assert devenv.odoo_version(tmp_path / "nothing") is None


def test_external_server_from_conf_or_environment(monkeypatch):
    conf = configparser.ConfigParser()
    conf.read_string("[options]\ndb_host =\ndb_user = odoo\n")
    for var in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD"):
        monkeypatch.delenv(var, raising=False)
    assert devenv.external_server(conf) is None
    monkeypatch.setenv("PGHOST", "db.internal")
    monkeypatch.setenv("PGPORT", "6543")
    assert devenv.external_server(conf) == {
        "db_host": "db.internal",
        "db_port": "6543",
        "db_user": "odoo",
        "db_password": "odoo",
    }


def test_generated_conf_has_paths_server_and_a_private_key(monkeypatch, tmp_path):
    monkeypatch.setattr(devenv, "DATA", tmp_path / "data")
    monkeypatch.delenv("REALTOR_3CX_SECRET_KEY", raising=False)
    db = {"db_host": "127.0.0.1", "db_port": "5999", "db_user": "odoo", "db_password": "odoo"}
    path = devenv.write_conf(tmp_path / "odoo.conf", tmp_path / "src", db, 8123, tmp_path / "fs")
    conf = configparser.ConfigParser(interpolation=None)
    conf.read(path)
    options = conf["options"]
    assert options["addons_path"] == f"{tmp_path / 'src' / 'odoo' / 'addons'},{devenv.ROOT}"
    assert options["db_port"] == "5999" and options["http_port"] == "8123"
    key = options["realtor_3cx_secret_key"]
    assert len(key) == 44
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # the key is kept, so secrets saved by an earlier run still decrypt
    again = devenv.write_conf(tmp_path / "again.conf", tmp_path / "src", db, 8123, tmp_path / "fs")
    conf.read(again)
    assert conf["options"]["realtor_3cx_secret_key"] == key


def test_a_key_from_the_environment_is_not_overridden(monkeypatch, tmp_path):
    monkeypatch.setattr(devenv, "DATA", tmp_path / "data")
    monkeypatch.setenv("REALTOR_3CX_SECRET_KEY", "x" * 44)
    db = {"db_host": "h", "db_port": "1", "db_user": "u", "db_password": "p"}
    path = devenv.write_conf(tmp_path / "odoo.conf", tmp_path / "src", db, 1, tmp_path / "fs")
    assert "realtor_3cx_secret_key" not in path.read_text()


def test_ci_runs_exactly_the_readme_test_command():
    ci = (devenv.ROOT / ".ci" / "run").read_text()
    readme = (devenv.ROOT / "README.md").read_text()
    commands = [line.strip() for line in ci.splitlines() if line and not line.startswith("#")]
    assert commands[-1] == "make test"
    assert "make test" in readme and "make run" in readme
