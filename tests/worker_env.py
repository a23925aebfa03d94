# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A real Odoo database, the simulator and worker processes, for end-to-end worker tests.

``make test`` creates the database with the addon installed and passes it here through
``REALTOR_3CX_TEST_ODOO_CONF`` / ``REALTOR_3CX_TEST_DB`` (and the commands that stop and start
its PostgreSQL). Run alone, these tests fail with a message saying to use ``make test``.
"""

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAST = {
    # Worker timings for tests: everything the worker waits for, divided by ten or more.
    "REALTOR_3CX_WORKER_END_GRACE": "0.3",
    "REALTOR_3CX_WORKER_LOCK_POLL": "0.3",
    "REALTOR_3CX_WORKER_HEALTH": "0.5",
    "REALTOR_3CX_WORKER_DISCOVERY": "1",
    "REALTOR_3CX_WORKER_BATCH_MS": "20",
    "REALTOR_3CX_BACKOFF_BASE": "0.05",
    "REALTOR_3CX_BACKOFF_CAP": "0.5",
}

# 3CX's documented quirks the worker must live with, on in every worker test and the soak: an
# Upset can arrive before a GET of the participant shows it (the simulator answers 404 for
# this long after it announced a leg; see realtor_3cx/threecx/simulator/server.py).
QUIRKS = {"early_upset_ms": 300}


def settings():
    conf, db = os.environ.get("REALTOR_3CX_TEST_ODOO_CONF"), os.environ.get("REALTOR_3CX_TEST_DB")
    if not conf or not db:
        raise RuntimeError("the worker tests need the database `make test` prepares: run them "
                           "with `make test T=tests/test_worker.py`")
    return conf, db


class OdooDb:
    """Odoo's registry of the test database, in this process, with committed transactions.

    One per process (``OdooDb()`` returns it): Odoo's configuration cannot be parsed twice.
    """

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
            cls._instance._setup()
        return cls._instance

    def _setup(self):
        conf, db = settings()
        import odoo
        from odoo import SUPERUSER_ID, api
        from odoo.tools import config

        config.parse_config(["-c", conf, "--log-level=warn"])
        self.conf, self.db = conf, db
        self._api, self._uid = api, SUPERUSER_ID
        self.registry = odoo.modules.registry.Registry(db)

    def do(self, fn, retries=40):
        """Run ``fn(env)`` in a transaction and commit; retried while PostgreSQL restarts."""
        import psycopg2

        for attempt in range(retries):
            try:
                with self.registry.cursor() as cr:
                    env = self._api.Environment(cr, self._uid, {})
                    result = fn(env)
                    # The transaction keeps its environments in a WeakSet: once ``fn``'s env
                    # is gone, commit() finds none to flush and pending writes are lost.
                    env.flush_all()
                    cr.commit()
                    return result
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                if attempt == retries - 1:
                    raise
                time.sleep(0.25)
        return None

    def calling_hours(self, hours):
        """Set every active calling rule's hours (``(from, to)`` in the callee's time, or a
        dict of what :meth:`calling_hours` returned, to put them back); returns what they
        were. Odoo's servers are told, as a manager's edit in the form would."""
        def write(env):
            rules = env["threecx.calling.rule"].search([])
            before = {r.id: (r.hour_from, r.hour_to) for r in rules}
            for rule in rules:
                start, end = hours[rule.id] if isinstance(hours, dict) else hours
                rule.write({"hour_from": start, "hour_to": end})
            return before

        before = self.do(write)
        self.registry.signal_changes()
        return before

    def calls(self, server_id):
        """Every call of a server, as plain dicts (read fresh)."""
        fields = ["call_id", "state", "direction", "external_number", "did_number",
                  "extension", "user_id", "partner_id", "property_id", "start_at",
                  "answer_at", "end_at", "talk_seconds", "transfer_path", "write_date"]

        def read(env):
            records = env["threecx.call"].search([("server_id", "=", server_id)])
            return {r["call_id"]: r for r in records.read(fields)}

        return self.do(read)


class Worker:
    """``python -m realtor_3cx.worker`` for one server (``--server``), or sharing every server
    of the database with the other workers (``server_id=None``), its output kept in a file."""

    # Called with each new worker (tests/conftest.py watches its log for errors).
    on_start = []

    def __init__(self, db, server_id, log_path, **env):
        self.log_path = log_path
        self.log = open(log_path, "w")  # noqa: SIM115 (closed in stop())
        for callback in self.on_start:
            callback(self)
        self.args = [sys.executable, "-m", "realtor_3cx.worker", "-c", db.conf, "-d", db.db,
                     *(("--server", str(server_id)) if server_id is not None else ()),
                     "--log-level", "info"]
        self.env = {**os.environ, **FAST, **env}
        self.proc = subprocess.Popen(self.args, cwd=ROOT, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=self.env)

    def restart(self):
        """Start it again after :meth:`stop`, its log continued (a service manager would)."""
        self.log = open(self.log_path, "a")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(self.args, cwd=ROOT, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=self.env)

    def output(self):
        if not self.log.closed:
            self.log.flush()
        return Path(self.log_path).read_text()

    def kill(self):
        self.proc.kill()
        self.proc.wait(10)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


def postgres(action):
    """Stop or start the test cluster (``make test`` passes the commands)."""
    command = os.environ.get(f"REALTOR_3CX_TEST_PG_{action.upper()}")
    if not command:
        raise RuntimeError("this test restarts PostgreSQL and needs make test's private "
                           "cluster (REALTOR_3CX_TEST_PG_STOP/START are not set)")
    subprocess.run(json.loads(command), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=60)


def peak_rss_mb(pid):
    """The most resident memory the process has had since it started (``VmHWM``), in MiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")


def media_processes(pid):
    """The worker's browser-call media processes (its children running
    realtor_3cx/worker/media_process.py)."""
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as children:
            for child in children.read().split():
                with contextlib.suppress(OSError), open(f"/proc/{child}/cmdline", "rb") as cmd:
                    if b"media_process" in cmd.read():
                        found.append(int(child))
    return found
