# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The dashboard's roll-up under two writers at once, in committed transactions.

A realtor saving an outcome while the worker writes their next call changes calls of one
realtor in one quarter hour at the same time: both triggers sum the same roll-up row. The
second must not fail (Odoo would log an ERROR and retry the request; the worker would hold its
calls), and the figures must stay exact: its keys are marked stale, the report reads the view
meanwhile, and the next write sums them again.
"""

import datetime
import os
import threading

import pytest
from worker_env import OdooDb

START = datetime.datetime(2026, 11, 20, 14, 3)


@pytest.fixture(scope="module")
def db():
    return OdooDb()


@pytest.fixture
def calls(db):
    tag = f"{os.getpid()}-{datetime.datetime.now().timestamp()}"

    def create(env):
        realtor = env["res.users"].create({
            "name": "Concurrent Realtor", "login": f"rollup_conc_{tag}",
            "groups_id": [(6, 0, [env.ref("base.group_user").id,
                                  env.ref("realtor_3cx.realtor_3cx_group_user").id])]})
        server = env["threecx.server"].create({"name": f"Rollup PBX {tag}",
                                               "base_url": "https://rollup.example.com"})
        made = env["threecx.call"].create([{
            "server_id": server.id, "call_id": f"conc-{tag}-{n}", "direction": "inbound",
            "state": "completed", "external_number": "+15550109001", "user_id": realtor.id,
            "start_at": START + datetime.timedelta(minutes=n), "talk_seconds": 60,
        } for n in range(2)])
        return {"realtor": realtor.id, "calls": made.ids, "server": server.id}

    ids = db.do(create)
    yield ids
    db.do(lambda env: env["threecx.server"].browse(ids["server"]).write({"active": False}))


def stale_count(db):
    def read(env):
        env.cr.execute("SELECT count(*) FROM threecx_call_rollup_stale")
        return env.cr.fetchone()[0]

    return db.do(read)


def rollup_row(env, realtor):
    env.cr.execute(
        "SELECT call_count, talk_seconds FROM threecx_call_rollup WHERE NOT is_day AND "
        "user_id = %s AND start_at = %s", (realtor, START.replace(minute=0)))
    return env.cr.fetchone()


def pivot(env, realtor, from_view=False):
    report = env["threecx.call.report"].with_context(realtor_3cx_report_from_view=from_view)
    return report._read_group([("user_id", "=", realtor)], ["user_id"],
                              ["__count", "talk_seconds:sum"])


def test_two_writers_on_one_realtors_quarter_hour_both_commit_and_the_figures_stay_exact(
        db, calls):
    first, second = calls["calls"]
    registry = db.registry
    from odoo import SUPERUSER_ID, api

    with registry.cursor() as cr1, registry.cursor() as cr2:
        env1 = api.Environment(cr1, SUPERUSER_ID, {})
        env2 = api.Environment(cr2, SUPERUSER_ID, {})
        # Both snapshots taken before either write, as two requests at the same moment.
        cr1.execute("SELECT 1")
        cr2.execute("SELECT 1")
        env1["threecx.call"].browse(first).write({"talk_seconds": 100})
        env1.flush_all()
        errors = []

        def second_writer():
            try:
                # Waits for the first writer's lock on the roll-up row, then conflicts.
                env2["threecx.call"].browse(second).write({"talk_seconds": 200})
                env2.flush_all()
                cr2.commit()
            except Exception as exc:  # the failure this test is about
                errors.append(exc)

        thread = threading.Thread(target=second_writer)
        thread.start()
        thread.join(2)
        assert thread.is_alive(), "the second writer should wait for the first one's row"
        cr1.commit()
        thread.join(30)
        assert not thread.is_alive()
        assert not errors, errors
    # The second write's keys are stale: the report reads the view, which is exact.
    assert stale_count(db) == 1
    assert db.do(lambda env: pivot(env, calls["realtor"])) == db.do(
        lambda env: pivot(env, calls["realtor"], from_view=True))
    assert db.do(lambda env: pivot(env, calls["realtor"]))[0][1:] == (2, 300)
    # The next write on any call sums the stale keys again and clears them.
    db.do(lambda env: env["threecx.call"].browse(first).write({"notes": "called back"}))
    assert stale_count(db) == 0
    assert db.do(lambda env: rollup_row(env, calls["realtor"])) == (2, 300)
    assert db.do(lambda env: pivot(env, calls["realtor"])) == db.do(
        lambda env: pivot(env, calls["realtor"], from_view=True))


def test_the_cron_clears_stale_keys_when_no_write_comes(db, calls):
    def mark(env):
        env.cr.execute(
            "INSERT INTO threecx_call_rollup_stale (company_id, user_id, start_at) "
            "SELECT company_id, %s, %s FROM threecx_call WHERE id = %s",
            (calls["realtor"], START.replace(minute=0), calls["calls"][0]))

    db.do(mark)
    assert stale_count(db) == 1
    db.do(lambda env: env["threecx.call.rollup"]._cron_refresh_stale())
    assert stale_count(db) == 0
