#!/usr/bin/env python3
# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Install or upgrade realtor_3cx in a database before Odoo's servers start.

``upgrade.py -c odoo.conf -d DB [--addon PATH] [--odoo "odoo"] [--wait SECONDS]``

The image's entrypoint runs it on every start of the ``odoo`` service. It compares the addon on
disk with what the database has:

- no database, no Odoo tables, or the addon not installed: ``odoo -i realtor_3cx``;
- installed, but the manifest version differs from ``ir_module_module.latest_version``, or the
  SHA-256 of the addon's files differs from the one recorded at the last install or upgrade
  (a fix shipped without a version bump): ``odoo -u realtor_3cx``;
- otherwise nothing, in well under a second.

Both run with ``--without-demo=all --workers=0 --stop-after-init`` and the same configuration
file as the server. Afterwards the addon must be installed at the manifest's version, by this
run, else it exits non-zero and the container stops before serving anything. The files' hash
is recorded in the ``realtor_3cx.deployed_sha256`` system parameter.

With ``--wait`` it changes nothing and returns once the database is up to date (the telephony
workers' start, so that they never run new code on the previous schema or the reverse).

A PostgreSQL advisory lock (taken in the ``postgres`` database, which exists before the target
does) makes a second container that starts meanwhile wait, then find nothing left to do.

Plain Python and psycopg2 (Odoo's own driver): it reads the database settings of ``[options]``
(``db_host``, ``db_port``, ``db_user``, ``db_password``), left to libpq's ``PG*``
environment variables when unset.
"""

import argparse
import ast
import configparser
import hashlib
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import psycopg2

ADDON = "realtor_3cx"
PARAM = "realtor_3cx.deployed_sha256"
SERIE = "18.0"
# pg_advisory_lock key: "r3cx" as a 32-bit integer, arbitrary but fixed.
LOCK_KEY = 0x72336378
SKIPPED_PARTS = {"__pycache__", ".git"}
SKIPPED_SUFFIXES = {".pyc", ".pyo"}


def addon_sha256(path):
    """SHA-256 over the addon's relative file names and contents, in a stable order."""
    digest = hashlib.sha256()
    path = Path(path)
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = file.relative_to(path)
        if SKIPPED_PARTS.intersection(rel.parts) or file.suffix in SKIPPED_SUFFIXES:
            continue
        digest.update(rel.as_posix().encode() + b"\0")
        digest.update(file.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def manifest_version(path):
    """The version as Odoo stores it in ``latest_version`` (``18.0.`` prefixed when absent)."""
    manifest = ast.literal_eval((Path(path) / "__manifest__.py").read_text())
    version = manifest.get("version", "1.0")
    if version == SERIE or not version.startswith(SERIE + "."):
        version = f"{SERIE}.{version}"
    return version


def db_params(conf_path):
    """psycopg2 keywords from ``[options]``; unset ones are left to libpq's PG* variables."""
    parser = configparser.RawConfigParser()
    if not parser.read(conf_path):
        raise SystemExit(f"upgrade.py: cannot read {conf_path}")
    options = parser["options"] if parser.has_section("options") else {}
    params = {}
    for key, option in (
        ("host", "db_host"),
        ("port", "db_port"),
        ("user", "db_user"),
        ("password", "db_password"),
    ):
        value = options.get(option, "").strip()
        if value and value != "False":
            params[key] = value
    return params


def state(params, dbname):
    """``(module state, latest_version, recorded sha256, write_date)``; Nones when not there."""
    try:
        conn = psycopg2.connect(dbname=dbname, **params)
    except psycopg2.OperationalError as exc:
        if "does not exist" in str(exc):
            return None, None, None, None
        raise
    try:
        with conn.cursor() as cr:
            cr.execute("SELECT to_regclass('ir_module_module'), to_regclass('ir_config_parameter')")
            modules, params_table = cr.fetchone()
            if not modules:
                return None, None, None, None
            cr.execute(
                "SELECT state, latest_version, write_date FROM ir_module_module WHERE name = %s",
                (ADDON,),
            )
            row = cr.fetchone() or (None, None, None)
            recorded = None
            if params_table:
                cr.execute("SELECT value FROM ir_config_parameter WHERE key = %s", (PARAM,))
                found = cr.fetchone()
                recorded = found[0] if found else None
            return row[0], row[1], recorded, row[2]
    finally:
        conn.close()


def decide(current, version, sha):
    """``"install"``, ``"upgrade"`` or ``None``, and why (for the log), from what
    :func:`state` found and the addon on disk."""
    module_state, installed_version, recorded, _write_date = current
    if module_state in (None, "uninstalled", "uninstallable", "to install"):
        return "install", f"{ADDON} is not installed"
    if module_state != "installed":  # "to upgrade", "to remove": an interrupted operation
        return "upgrade", f"{ADDON} is in state {module_state!r}"
    if installed_version != version:
        return "upgrade", f"version {installed_version} installed, {version} on disk"
    if recorded != sha:
        return "upgrade", "the addon's files changed since the last install or upgrade"
    return None, f"{ADDON} {version} is up to date"


def record(params, dbname, sha):
    conn = psycopg2.connect(dbname=dbname, **params)
    try:
        with conn, conn.cursor() as cr:
            cr.execute(
                """
                INSERT INTO ir_config_parameter (key, value, create_uid, create_date,
                                                 write_uid, write_date)
                VALUES (%s, %s, 1, now() at time zone 'UTC', 1, now() at time zone 'UTC')
                ON CONFLICT (key) DO UPDATE
                    SET value = EXCLUDED.value, write_date = EXCLUDED.write_date
                """,
                (PARAM, sha),
            )
    finally:
        conn.close()


def log_line(message):
    print(message, flush=True)  # before Odoo's own output, which goes to the same stream


def run(conf, dbname, addon_path, odoo_cmd, log=log_line):
    """Bring ``dbname`` to the addon on disk; returns what was done (None, install, upgrade)."""
    params = db_params(conf)
    version = manifest_version(addon_path)
    sha = addon_sha256(addon_path)
    lock = psycopg2.connect(dbname="postgres", **params)
    lock.autocommit = True
    try:
        with lock.cursor() as cr:
            cr.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,))
            if not cr.fetchone()[0]:
                log("upgrade.py: another container is installing or upgrading; waiting")
                cr.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        before = state(params, dbname)
        action, why = decide(before, version, sha)
        log(f"upgrade.py: {dbname}: {why}")
        if action is None:
            return None
        flag = "-i" if action == "install" else "-u"
        # --workers=0: one process that loads the registry and exits, as in the tests (the
        # prefork server would bind the HTTP port for nothing first).
        cmd = [*odoo_cmd, "-c", str(conf), "-d", dbname, flag, ADDON,
               "--without-demo=all", "--workers=0", "--stop-after-init"]
        log(f"upgrade.py: {' '.join(cmd)}")
        rc = subprocess.run(cmd, check=False).returncode
        module_state, installed_version, _recorded, write_date = state(params, dbname)
        # Odoo can exit 0 having skipped the addon (an unmet dependency): the row must have
        # been written by this run.
        touched = before[3] is None or (write_date is not None and write_date > before[3])
        if rc or module_state != "installed" or installed_version != version or not touched:
            raise SystemExit(
                f"upgrade.py: {action} of {ADDON} failed (exit {rc}, state {module_state}, "
                f"version {installed_version}): Odoo's log above says why"
            )
        record(params, dbname, sha)
        log(f"upgrade.py: {dbname}: {ADDON} {version} {action} done")
        return action
    finally:
        lock.close()  # also releases the advisory lock


def wait(conf, dbname, addon_path, timeout, log=log_line, poll=2.0):
    """Return once ``dbname`` has the addon on disk installed (by the ``odoo`` service).

    The telephony workers start with this: new code never runs against the previous schema.

    :raises SystemExit: not up to date within ``timeout`` seconds
    """
    params = db_params(conf)
    version = manifest_version(addon_path)
    sha = addon_sha256(addon_path)
    deadline = time.monotonic() + timeout
    said = None
    while True:
        try:
            action, why = decide(state(params, dbname), version, sha)
        except psycopg2.OperationalError as exc:
            action, why = "wait", f"PostgreSQL: {str(exc).strip()}"
        if action is None:
            log(f"upgrade.py: {dbname}: {why}")
            return
        if why != said:
            log(f"upgrade.py: {dbname}: waiting for the odoo service ({why})")
            said = why
        if time.monotonic() > deadline:
            raise SystemExit(f"upgrade.py: {dbname} still not up to date after {timeout} s: {why}")
        time.sleep(poll)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-c", "--config", default=os.environ.get("ODOO_RC"), required=False)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument(
        "--addon",
        default="/mnt/extra-addons/realtor_3cx",
        help="the addon's folder (its manifest and files are compared)",
    )
    parser.add_argument("--odoo", default="odoo", help="the command that runs Odoo")
    parser.add_argument(
        "--wait",
        type=float,
        metavar="SECONDS",
        help="install nothing: wait until another process has brought the database up to date",
    )
    args = parser.parse_args(argv)
    if not args.config:
        parser.error("-c/--config (or ODOO_RC) is required")
    if args.wait is not None:
        wait(args.config, args.database, args.addon, args.wait)
    else:
        run(args.config, args.database, args.addon, shlex.split(args.odoo))
    return 0


if __name__ == "__main__":
    sys.exit(main())
