# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A running Odoo (HTTP), worker and simulator on the test database, and a real Chromium.

Used by the browser end-to-end tests and the pop-up benchmark. ``make test`` / ``make bench``
pass where Odoo and Chromium are (``REALTOR_3CX_ODOO_SRC``, ``REALTOR_3CX_CHROMIUM``).

Failures that would otherwise only be printed are collected in :data:`WATCH`: a console error or
an uncaught exception in a page of a browser launched by :func:`launch`, and an ERROR line or a
traceback in the log of an Odoo server started by :func:`odoo_server` or a worker
(``worker_env.Worker``). ``tests/conftest.py`` fails the test during which one appeared.
"""

import contextlib
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
# The day tests' screenshots (tests/test_day_*.py): beside the run's data, or refreshed in
# docs/screenshots/day/ for the README with REALTOR_3CX_UPDATE_SCREENSHOTS=1, so that a test run
# leaves the checkout clean.
DAY_SHOTS = (ROOT / "docs" if os.environ.get("REALTOR_3CX_UPDATE_SCREENSHOTS")
             else ROOT / ".data") / "screenshots" / "day"
PASSWORD = "e2e-password"

# A log line of Odoo (and of the worker, which logs through Odoo): "<date> <time>,<ms> <pid>
# <LEVEL> <db> <logger>: <message>"; the lines after it that have no such head belong to it.
LOG_HEAD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ ([A-Z]+) ")
TRACEBACK = "Traceback (most recent call last)"
# Loopback is where every server of these tests listens: a failure to reach it is ours.
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def not_ours(kind, text, url=""):
    """True for the only browser errors a test may ignore: the line Chromium itself logs when a
    request never reached a server because the host is not on this network (an external host:
    a gravatar, a CDN). The page's own code logged nothing, and the machine has no internet.
    Anything on loopback (Odoo, the simulator), any HTTP status and any script error is ours.
    """
    if kind != "console" or not text.startswith("Failed to load resource: net::ERR_"):
        return False
    host = urlsplit(url).hostname or ""
    return bool(host) and host not in LOCAL_HOSTS


def log_problems(text):
    """The ERROR / CRITICAL records and the tracebacks of an Odoo log excerpt, one string each,
    with the lines that belong to it (a traceback under its ERROR line is one problem)."""
    problems, current = [], None
    for line in text.splitlines():
        head = LOG_HEAD.match(line)
        if head:
            current = [line] if head.group(1) in ("ERROR", "CRITICAL") else None
            if current:
                problems.append(current)
        elif current is not None:
            if len(current) < 60:
                current.append(line)
        elif line.startswith(TRACEBACK):  # under a WARNING, or printed by itself
            current = [line]
            problems.append(current)
    return ["\n".join(p) for p in problems]


class Watch(logging.Handler):
    """What went wrong around a test without failing it: browser errors and logs.

    Pages are watched through their browser context (:meth:`context`), log files by path
    (:meth:`log`), and, as a logging handler, the ERROR records of the Odoo loaded in the test
    process (``worker_env.OdooDb``). :meth:`take` returns what appeared since its last call.
    """

    def __init__(self):
        super().__init__(logging.ERROR)
        self._found = []
        self._logs = {}  # path -> [what, offset already read]

    def context(self, context):
        """Watch every page of a Playwright browser context, present and future."""
        def console(message):
            if message.type == "error":
                url = (message.location or {}).get("url", "")
                self.browser_error("console", message.text, url)

        def weberror(error):
            exc = error.error
            self.browser_error("uncaught", exc.stack or exc.message)

        context.on("console", console)
        context.on("weberror", weberror)
        return context

    def browser_error(self, kind, text, url=""):
        if not not_ours(kind, text, url):
            where = f" ({url})" if url else ""
            with self.lock:
                self._found.append(f"browser {kind} error{where}: {text[:3000]}")

    def emit(self, record):
        with self.lock:
            self._found.append(f"Odoo in the test process logged: {self.format(record)}")

    def log(self, path, what):
        """Watch the log file ``path`` from its current end on."""
        path = Path(path)
        with self.lock:
            self._logs[path] = [what, path.stat().st_size if path.exists() else 0]

    def take(self):
        with self.lock:
            found, self._found = self._found, []
            for path, entry in self._logs.items():
                if not path.exists():
                    continue
                with path.open("rb") as fh:
                    if fh.seek(0, os.SEEK_END) < entry[1]:
                        entry[1] = 0  # written afresh
                    fh.seek(entry[1])
                    data = fh.read()
                # Whole lines only: the rest is read next time, once written.
                end = data.rfind(b"\n") + 1
                entry[1] += end
                found += [f"{entry[0]} ({path}):\n{problem}"
                          for problem in log_problems(data[:end].decode(errors="replace"))]
        return found


WATCH = Watch()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def chromium_path():
    path = os.environ.get("REALTOR_3CX_CHROMIUM") or shutil.which("chromium")
    if not path:
        raise RuntimeError("Chromium is missing: `apt-get install chromium` (make test does it)")
    return path


@contextlib.contextmanager
def odoo_server(conf, db, log_path):
    """Odoo serving ``db`` on a free loopback port; yields its base URL."""
    src = os.environ.get("REALTOR_3CX_ODOO_SRC")
    if not src:
        import odoo

        src = str(Path(odoo.__file__).resolve().parent.parent)
    port = free_port()
    log = open(log_path, "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [sys.executable, str(Path(src) / "odoo-bin"), "-c", conf, "-d", db,
         f"--http-port={port}", "--http-interface=127.0.0.1", "--workers=0",
         "--max-cron-threads=0", "--log-level=warn", f"--db-filter=^{db}$"],
        stdout=log, stderr=subprocess.STDOUT)
    WATCH.log(log_path, "the Odoo server's log")
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{url}/web/login", timeout=2):
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Odoo did not start: see {log_path}")
            time.sleep(0.3)
        # One static file first, alone: Odoo reads every manifest for the first one, and the
        # ast.literal_eval of Python 3.11 before 3.11.9 can fail with "AST constructor
        # recursion depth mismatch" when a page's parallel requests do that in several threads.
        with urllib.request.urlopen(f"{url}/web/static/img/favicon.ico", timeout=60):
            pass
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def launch(playwright, *args):
    """Debian's Chromium, every page of which is watched (:data:`WATCH`): use
    ``new_context()`` on it as usual."""
    browser = playwright.chromium.launch(executable_path=chromium_path(),
                                         args=["--no-sandbox", *args])
    new_context = browser.new_context

    def watched_context(**kwargs):
        return WATCH.context(new_context(**kwargs))

    browser.new_context = watched_context
    browser.new_page = lambda **kwargs: watched_context(**kwargs).new_page()
    return browser


@contextlib.contextmanager
def signed_in(browser, url, login_name, logs=None, *, systray=True, **context_args):
    """A page of a new context of ``browser``, signed in as ``login_name``; with ``systray``
    it waits for the telephony systray (the call service has started). On the way out the last
    screen is saved in ``logs`` (printed, shown by pytest when the test failed) and the context
    is closed."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, **context_args)
    try:
        page = context.new_page()
        login(page, url, login_name)
        if systray:
            page.wait_for_selector(".o_realtor_3cx_systray", timeout=20000)
        yield page
    finally:
        if logs is not None:
            for each in context.pages:
                last = Path(logs) / f"last-{time.monotonic_ns()}.png"
                each.screenshot(path=str(last))
                print("last screen:", last, "url:", each.url)
        context.close()


def login(page, url, login_name, password=PASSWORD):
    page.goto(f"{url}/web/login")
    page.fill("input[name=login]", login_name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    # The first login of a run builds the asset bundles: slow on a loaded 2-core machine.
    page.wait_for_selector(".o_main_navbar", timeout=90000)
