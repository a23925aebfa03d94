# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The tests' own alarm: an error in a browser page or in Odoo's log fails the test it happened
in, even when the test's assertions all hold (tests/conftest.py with browser_env.WATCH for the
project tests; the root conftest.py for the addon's tests under pytest-odoo).

The proof runs small pytest sessions of its own, with those conftests, a real Chromium and a
log written as Odoo writes it, and reads which of their tests failed.
"""

import subprocess
import sys
import textwrap
from pathlib import Path

from browser_env import log_problems, not_ours

TESTS = Path(__file__).resolve().parent
ADDON_CONFTEST = TESTS.parent / "conftest.py"  # the addon tests' (pytest-odoo)

# The inner session's conftest is the project's, loaded under another name (both are
# "conftest" to pytest).
CONFTEST = f"""
import importlib.util
import sys

sys.path.insert(0, {str(TESTS)!r})
spec = importlib.util.spec_from_file_location("project_conftest", {str(TESTS / "conftest.py")!r})
project = importlib.util.module_from_spec(spec)
spec.loader.exec_module(project)
globals().update({{k: v for k, v in vars(project).items() if k.startswith(("pytest_", "_"))
                  and not k.startswith("__")}})
"""

INNER = '''
import logging

import pytest
from browser_env import WATCH, free_port, launch
from playwright.sync_api import sync_playwright

ODOO_LINE = "2026-12-01 09:00:00,123 4242 {level} r3cx odoo.addons.realtor_3cx.x: {message}"


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        browser = launch(pw)
        yield browser
        browser.close()


def page_running(browser, script):
    page = browser.new_context().new_page()
    page.set_content(f"<html><body><script>{script}</script></body></html>")
    page.wait_for_function("window.done === true")
    return page


def test_a_page_that_throws(browser):
    page_running(browser, "setTimeout(() => {window.done = true; throw new Error('boom-1')})")
    assert True  # the assertions hold: the page's error alone must fail the test


def test_a_page_that_logs_an_error(browser):
    page_running(browser, "console.error('boom-2'); window.done = true;")


def test_a_rejected_promise(browser):
    page_running(browser, "Promise.reject(new Error('boom-3')); window.done = true;")


def test_a_page_that_cannot_reach_an_external_host_and_warns(browser):
    # The allow-list: Chromium's own line for a host that does not resolve; a warning is no error
    page_running(browser, "const i = new Image(); i.src = 'http://unreachable.invalid/x.png';"
                          "i.onerror = () => { console.warn('fine'); window.done = true; };")


def test_a_local_server_refusing_a_request_is_not_excused(browser):
    page_running(browser, f"const i = new Image(); i.src = 'http://127.0.0.1:{free_port()}/x';"
                          "i.onerror = () => { window.done = true; };")


def odoo_log(tmp_path, *lines):
    log = tmp_path / "odoo.log"
    log.write_text("")
    WATCH.log(log, "the Odoo server's log")
    with log.open("a") as out:
        for line in lines:
            out.write(line + "\\n")


def test_an_error_line_in_odoo_s_log(tmp_path):
    odoo_log(tmp_path, ODOO_LINE.format(level="INFO", message="fine"),
             ODOO_LINE.format(level="ERROR", message="boom-4"))


def test_a_traceback_in_odoo_s_log(tmp_path):
    odoo_log(tmp_path, ODOO_LINE.format(level="WARNING", message="a warning with a traceback"),
             "Traceback (most recent call last):", '  File "x.py", line 1', "ValueError: boom-5")


def test_warnings_and_info_in_odoo_s_log_are_fine(tmp_path):
    odoo_log(tmp_path, ODOO_LINE.format(level="WARNING", message="fine"),
             ODOO_LINE.format(level="INFO", message="an ERROR word inside a message is fine"))


def test_an_error_logged_by_odoo_in_this_process():
    logging.getLogger("odoo.addons.realtor_3cx.models").error("boom-6")


@pytest.fixture
def late_error(tmp_path):
    log = tmp_path / "late.log"
    log.write_text("")
    WATCH.log(log, "the worker's log")
    yield
    with log.open("a") as out:
        out.write(ODOO_LINE.format(level="CRITICAL", message="boom-7") + "\\n")


def test_an_error_while_tearing_down(late_error):
    pass


@pytest.mark.tolerates("boom-8", why="this test logs it")
def test_an_error_the_test_provokes_on_purpose(browser):
    page_running(browser, "console.error('boom-8'); window.done = true;")


@pytest.mark.tolerates("boom-8", why="not the error that happens")
def test_a_tolerated_error_excuses_no_other(browser):
    page_running(browser, "console.error('boom-9'); window.done = true;")
'''


# As the addon's tests are, under pytest-odoo: unittest cases whose code logs through Odoo.
INNER_ADDON = '''
import logging
import unittest

from odoo.tools import mute_logger

_logger = logging.getLogger("odoo.addons.realtor_3cx.models.threecx_call")


class TestLogged(unittest.TestCase):
    def test_an_error_logged(self):
        _logger.error("boom-odoo-1")
        self.assertTrue(True)

    def test_an_exception_logged_by_the_http_layer(self):
        try:
            raise KeyError("x")
        except KeyError:
            logging.getLogger("odoo.http").exception("boom-odoo-2")

    def test_an_error_muted_as_odoo_tests_do(self):
        with mute_logger("odoo.addons.realtor_3cx.models.threecx_call"):
            _logger.error("expected, muted")

    def test_an_error_asserted(self):
        with self.assertLogs("odoo.addons.realtor_3cx.models.threecx_call", "ERROR"):
            _logger.error("expected, asserted")

    def test_warnings_are_fine(self):
        _logger.warning("fine")
'''


def run_inner(tmp_path, conftest=CONFTEST, tests=INNER):
    (tmp_path / "conftest.py").write_text(conftest)
    (tmp_path / "test_inner.py").write_text(tests)
    report = tmp_path / "report.txt"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:odoo", "-rA",
         "--rootdir", str(tmp_path), str(tmp_path / "test_inner.py")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    report.write_text(proc.stdout + proc.stderr)
    outcomes = {}
    for line in proc.stdout.splitlines():
        for word in ("PASSED", "FAILED", "ERROR"):
            if line.startswith(word + " ") and "::" in line:
                name = line.split("::", 1)[1].split(" ")[0]
                outcomes.setdefault(name, set()).add(word)
    return outcomes, proc.stdout


def test_browser_errors_and_odoo_log_errors_fail_the_test_they_happen_in(tmp_path):
    outcomes, output = run_inner(tmp_path)
    assert outcomes, output[-4000:]
    failed = {name for name, seen in outcomes.items() if seen & {"FAILED", "ERROR"}}
    assert failed == {
        "test_a_page_that_throws", "test_a_page_that_logs_an_error", "test_a_rejected_promise",
        "test_a_local_server_refusing_a_request_is_not_excused",
        "test_an_error_line_in_odoo_s_log", "test_a_traceback_in_odoo_s_log",
        "test_an_error_logged_by_odoo_in_this_process", "test_an_error_while_tearing_down",
        "test_a_tolerated_error_excuses_no_other",
    }, output[-6000:]
    # ... and each says what happened.
    for boom in ("boom-1", "boom-2", "boom-3", "boom-4", "boom-5", "boom-6", "boom-7", "boom-9"):
        assert boom in output, boom
    assert outcomes["test_an_error_while_tearing_down"] == {"PASSED", "ERROR"}  # at teardown
    assert "the Odoo server's log" in output and "browser uncaught error" in output


def test_an_error_odoo_logs_fails_the_addon_test_it_happens_in(tmp_path):
    outcomes, output = run_inner(tmp_path, ADDON_CONFTEST.read_text(), INNER_ADDON)
    failed = {name.split("::")[-1] for name, seen in outcomes.items() if "FAILED" in seen}
    passed = {name.split("::")[-1] for name, seen in outcomes.items() if seen == {"PASSED"}}
    assert failed == {"test_an_error_logged", "test_an_exception_logged_by_the_http_layer"}, \
        output[-4000:]
    assert passed == {"test_an_error_muted_as_odoo_tests_do", "test_an_error_asserted",
                      "test_warnings_are_fine"}, output[-4000:]
    assert "boom-odoo-1" in output and "boom-odoo-2" in output


def test_log_problems_reads_odoo_s_log_format():
    log = textwrap.dedent("""\
        2026-12-01 09:00:00,001 77 INFO db odoo.modules.loading: loading 1 modules...
        2026-12-01 09:00:00,002 77 ERROR db odoo.http: Exception during request handling.
        Traceback (most recent call last):
          File "odoo/http.py", line 2374, in __call__
        KeyError: 'x'
        2026-12-01 09:00:00,003 77 WARNING db odoo.models: fine
        2026-12-01 09:00:00,004 77 INFO db werkzeug: 127.0.0.1 "GET /ERROR HTTP/1.1" 200
        2026-12-01 09:00:00,005 77 CRITICAL db odoo.service.server: Failed to initialize
    """)
    problems = log_problems(log)
    assert len(problems) == 2
    assert problems[0].splitlines()[0].endswith("Exception during request handling.")
    assert problems[0].splitlines()[-1] == "KeyError: 'x'"  # the traceback belongs to it
    assert "CRITICAL" in problems[1]


def test_only_chromium_s_own_network_errors_for_external_hosts_are_excused():
    failed = "Failed to load resource: net::ERR_NAME_NOT_RESOLVED"
    assert not_ours("console", failed, "https://www.gravatar.com/avatar/x")
    assert not not_ours("console", failed, "http://127.0.0.1:8069/web/image")
    assert not not_ours("console", "Failed to load resource: the server responded with a "
                                   "status of 500", "https://cdn.example.com/x.js")
    assert not not_ours("uncaught", failed, "https://www.gravatar.com/avatar/x")
    assert not not_ours("console", "TypeError: x is undefined", "https://cdn.example.com/x.js")


def test_every_browser_test_launches_chromium_through_the_watched_helper():
    # A page of a browser launched otherwise would print its errors and pass again.
    direct = [path.name for path in sorted(TESTS.glob("test_*.py"))
              if path.name != Path(__file__).name and "chromium.launch(" in path.read_text()]
    assert direct == [], f"launch Chromium with browser_env.launch(): {direct}"
