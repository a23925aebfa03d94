# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Speed to lead's cron run twice at once, in committed transactions: the lead is passed on
once, neither run fails or logs an error.

Odoo runs a cron in one process at a time, but "Run manually", a second Odoo or a second
database worker can start the same job alongside; each run takes the due leads under their row
lock (``FOR UPDATE SKIP LOCKED``) and checks them again under it (threecx_speed_to_lead.py).
The leads here are years old, so that the runs' explicit "now" finds no other test's lead due.
"""

import datetime
import logging
import os
import threading

import pytest
from worker_env import OdooDb

START = datetime.datetime(2020, 3, 2, 10, 0)
WINDOW = datetime.timedelta(minutes=15)
DUE = START + WINDOW + datetime.timedelta(seconds=1)


@pytest.fixture(scope="module")
def db():
    return OdooDb()


@pytest.fixture
def lead(db):
    tag = f"{os.getpid()}-{datetime.datetime.now().timestamp()}"

    def create(env):
        env["ir.config_parameter"].set_param("realtor_3cx.speed_to_lead_minutes", "15")
        groups = [env.ref("base.group_user").id, env.ref("realtor_3cx.realtor_3cx_group_user").id]
        alex, blair = env["res.users"].create([
            {"name": f"{name} Concurrent", "login": f"stl_conc_{name}_{tag}",
             "groups_id": [(6, 0, groups)]} for name in ("Alex", "Blair")])
        server = env["threecx.server"].create({"name": f"STL PBX {tag}",
                                               "base_url": "https://stl.example.com"})
        env["threecx.extension"].create([
            {"server_id": server.id, "number": "101", "user_id": alex.id},
            {"server_id": server.id, "number": "102", "user_id": blair.id}])
        env["threecx.team"]._apply_teams(server, [
            {"number": "800", "name": "Sales", "kind": "queue", "members": ["101", "102"]}])
        team = env["threecx.team"].search([("server_id", "=", server.id)])
        team.write({"rotation_active": True, "rotation_ids": [
            (0, 0, {"sequence": n, "extension_id": ext.id})
            for n, ext in enumerate(server.extension_ids.sorted("number"))]})
        call = env["threecx.call"].create({
            "server_id": server.id, "call_id": f"stl-{tag}", "direction": "inbound",
            "state": "missed", "external_number": "+15550109101", "start_at": START,
            "user_id": alex.id})
        return {"call": call.id, "alex": alex.id, "blair": blair.id, "server": server.id,
                "team": team.id}

    ids = db.do(create)
    yield ids

    def clean(env):
        # Out of every later cron's way: the lead is not waiting any more, the team passes none.
        env["threecx.call"].browse(ids["call"]).callback_reassign_at = False
        env["threecx.team"].browse(ids["team"]).rotation_active = False
        env["threecx.server"].browse(ids["server"]).write({"active": False})

    db.do(clean)


def passes(db, call_id):
    return db.do(lambda env: (lambda c: (c.callback_passes, c.callback_user_id.id))(
        env["threecx.call"].browse(call_id)))


def run(env):
    return env["threecx.call"]._speed_to_lead_pass_on_due(now=DUE).ids


@pytest.fixture
def errors(caplog):
    caplog.set_level(logging.WARNING, logger="odoo")
    yield lambda: [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_run_while_another_holds_the_lead_skips_it(db, lead, errors):
    from odoo import SUPERUSER_ID, api

    with db.registry.cursor() as cr1, db.registry.cursor() as cr2:
        env1 = api.Environment(cr1, SUPERUSER_ID, {})
        env2 = api.Environment(cr2, SUPERUSER_ID, {})
        assert run(env1) == [lead["call"]]  # holds the lead's row lock until it commits
        # Were the second run to wait for the lock (no SKIP LOCKED), this fails, not hangs.
        cr2.execute("SET LOCAL lock_timeout = '5s'")
        assert run(env2) == []  # SKIP LOCKED: left to the first run
        env1.flush_all()
        cr1.commit()
        cr2.commit()
    assert passes(db, lead["call"]) == (1, lead["blair"])
    assert not errors()


def test_a_run_whose_snapshot_predates_the_others_commit_does_not_pass_it_again(
        db, lead, errors):
    from odoo import SUPERUSER_ID, api

    with db.registry.cursor() as cr1, db.registry.cursor() as cr2:
        env1 = api.Environment(cr1, SUPERUSER_ID, {})
        env2 = api.Environment(cr2, SUPERUSER_ID, {})
        cr2.execute("SELECT 1 FROM threecx_call LIMIT 1")  # its snapshot, before the commit
        assert run(env1) == [lead["call"]]
        env1.flush_all()
        cr1.commit()
        # Still due in the old snapshot; the lock sees the newer row and gives it up.
        assert run(env2) == []
        cr2.commit()
    assert passes(db, lead["call"]) == (1, lead["blair"])
    assert not errors()


def test_two_runs_started_together_pass_the_lead_on_once(db, lead, errors):
    from odoo import SUPERUSER_ID, api

    barrier = threading.Barrier(2)
    results, failures = [], []

    def cron_run():
        try:
            with db.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                cr.execute("SET LOCAL lock_timeout = '5s'")  # a wait would fail, not hang
                barrier.wait(timeout=10)
                results.append(run(env))
                env.flush_all()
                cr.commit()
        except Exception as exc:  # noqa: BLE001 (reported below, the test's subject)
            failures.append(exc)

    threads = [threading.Thread(target=cron_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not failures
    assert sorted(results) == [[], [lead["call"]]]
    assert passes(db, lead["call"]) == (1, lead["blair"])
    assert not errors()
