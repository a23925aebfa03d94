# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""End to end: the worker keeps the simulator's company phonebook in step with Odoo's contacts.

A real worker process, a real database and the simulator: a contact created, renamed and
deleted in Odoo appears, changes and goes in 3CX's phonebook (``GET /xapi/v1/Contacts``, as an
administrator would look); a run after a run changes nothing; a contact of another company
never appears; what 3CX refuses is said on the server's form.
"""

import itertools
import os

import pytest
from threecx_sim import SECRET, control, running_simulator, wait_for
from worker_env import QUIRKS, OdooDb, Worker

from realtor_3cx.threecx.simulator.odata import apply_query

SERIAL = itertools.count()
TAG = f"pb{os.getpid()}"
# A run every half second: the tests wait for what happens, not for time.
FAST = {"REALTOR_3CX_WORKER_PHONEBOOK_INTERVAL": "0.5"}


@pytest.fixture(scope="module")
def db():
    return OdooDb()


@pytest.fixture
def pbx(db):
    with running_simulator(**QUIRKS) as sim:
        def create(env):
            server = env["threecx.server"].create({
                "name": f"Phonebook PBX {next(SERIAL)}", "base_url": sim.url,
                "client_id": "900", "api_secret": SECRET, "phonebook_sync": True})
            return server.id, server.company_id.id

        sim.server_id, sim.company_id = db.do(create)
        yield sim
        db.do(lambda env: env["threecx.server"].browse(sim.server_id).write({"active": False}))


@pytest.fixture
def worker(db, pbx, tmp_path):
    worker = Worker(db, pbx.server_id, tmp_path / "worker.log", **FAST)

    def connected():
        assert worker.proc.poll() is None, worker.output()
        return db.do(lambda env: env["threecx.server"].browse(pbx.server_id)
                     .connection_state) == "connected"

    try:
        wait_for(connected, "the worker to connect", timeout=30)
        yield worker
    finally:  # also when it never connected: a worker left running would outlive the test
        worker.stop()


def ours(pbx):
    """This test's contacts in the simulator's phonebook, by first name, as ``GET /Contacts``
    lists them (read in the simulator: a client of the test's own would mint a token, and
    3CX keeps one per integration, the worker's)."""
    book = getattr(pbx.simulator, "phonebook", None)
    rows = apply_query(book.rows() if book else [],
                       {"$filter": f"contains(FirstName,'{TAG}')"}, "")["value"]
    return {row["FirstName"]: row for row in rows}


def book_stats(pbx):
    book = getattr(pbx.simulator, "phonebook", None)
    return dict(book.stats) if book else {}


def server(db, pbx, *names):
    return db.do(lambda env: env["threecx.server"].browse(pbx.server_id).read(list(names))[0])


def test_created_renamed_deleted_and_a_rerun_changes_nothing(db, pbx, worker):
    def create(env):
        Partner = env["res.partner"]
        other = env["res.company"].create({"name": f"Other brokerage {TAG}"})
        mine = Partner.create({"name": f"Pat {TAG}", "phone": "+1 212 555 0141",
                               "mobile": "+1 212 555 0142", "email": "pat@example.com",
                               "company_id": pbx.company_id})
        shared = Partner.create({"name": f"Sam {TAG}", "phone": "(212) 555-0143"})
        foreign = Partner.create({"name": f"Fay {TAG}", "phone": "+12125550144",
                                  "company_id": other.id})
        return mine.id, shared.id, foreign.id

    mine, shared, foreign = db.do(create)
    found = wait_for(lambda: len(ours(pbx)) == 2 and ours(pbx), "Pat and Sam in 3CX",
                     timeout=30)
    pat = found[f"Pat {TAG}"]
    assert (pat["Business"], pat["PhoneNumber"], pat["Email"]) == (
        "+12125550141", "+12125550142", "pat@example.com")
    assert found[f"Sam {TAG}"]["Business"] == "+12125550143"
    assert f"Fay {TAG}" not in found  # another company's contact

    # Renamed: the same 3CX contact changes.
    db.do(lambda env: env["res.partner"].browse(mine).write({"name": f"Patricia {TAG}"}))
    renamed = wait_for(lambda: f"Patricia {TAG}" in ours(pbx) and ours(pbx),
                       "the new name in 3CX", timeout=30)
    assert renamed[f"Patricia {TAG}"]["Id"] == pat["Id"] and f"Pat {TAG}" not in renamed

    # Settled: runs keep coming (every 0.5 s) and change nothing, Sync now included.
    wait_for(lambda: "1 changed" in (server(db, pbx, "phonebook_summary")["phonebook_summary"]
                                     or ""), "the rename's run on the form", timeout=30)
    before = book_stats(pbx)
    db.do(lambda env: env["threecx.server"].browse(pbx.server_id).action_phonebook_sync())
    wait_for(lambda: not server(db, pbx, "phonebook_requested")["phonebook_requested"],
             "the worker to take Sync now", timeout=30)
    wait_for(lambda: "0 added, 0 changed, 0 removed" in server(
        db, pbx, "phonebook_summary")["phonebook_summary"], "the forced run's summary",
        timeout=30)
    assert book_stats(pbx) == before
    assert "phonebook of 3CX server" in worker.output()

    # Deleted in Odoo: gone from 3CX.
    db.do(lambda env: env["res.partner"].browse(mine).unlink())
    left = wait_for(lambda: len(ours(pbx)) == 1 and ours(pbx), "Patricia gone from 3CX",
                    timeout=30)
    assert list(left) == [f"Sam {TAG}"]
    form = server(db, pbx, "phonebook_error", "phonebook_count", "phonebook_synced_at")
    assert not form["phonebook_error"] and form["phonebook_synced_at"]
    assert form["phonebook_count"] >= 1
    db.do(lambda env: env["res.partner"].browse([shared, foreign]).unlink())


def test_what_3cx_refuses_is_said_on_the_form(db, pbx, worker):
    # A name of blanks: 3CX takes no contact without a first, last or company name.
    def create(env):
        return env["res.partner"].create({"name": "  ", "phone": "+12125550151",
                                          "company_id": pbx.company_id}).id

    blank = db.do(create)
    try:
        error = wait_for(lambda: server(db, pbx, "phonebook_error")["phonebook_error"],
                         "3CX's refusal on the form", timeout=30)
        assert "3CX refused 1 contact(s)" in error
        assert "first name, a last name or a company name" in error
        # No XAPI access: the run stops and the form says what to tick in 3CX.
        control(pbx, "config", {"xapi_access": False})
        db.do(lambda env: env["threecx.server"].browse(pbx.server_id).action_phonebook_sync())
        error = wait_for(lambda: "Configuration API" in (server(
            db, pbx, "phonebook_error")["phonebook_error"] or "") and server(
            db, pbx, "phonebook_error")["phonebook_error"], "the refusal on the form",
            timeout=30)
        assert "3CX Configuration API Access" in error
    finally:
        control(pbx, "config", {"xapi_access": True})
        db.do(lambda env: env["res.partner"].browse(blank).unlink())
