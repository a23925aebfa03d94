# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A running Odoo (HTTP), worker and simulator on the test database, and a real Chromium.

Used by the browser end-to-end tests and the pop-up benchmark. ``make test`` / ``make bench``
pass where Odoo and Chromium are (``REALTOR_3CX_ODOO_SRC``, ``REALTOR_3CX_CHROMIUM``).
"""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "e2e-password"


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
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def login(page, url, login_name, password=PASSWORD):
    page.goto(f"{url}/web/login")
    page.fill("input[name=login]", login_name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_selector(".o_main_navbar", timeout=30000)
