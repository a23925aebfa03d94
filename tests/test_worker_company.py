# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The running worker sees what other Odoo processes change, and acts in its server's company.

* Settings (speed to lead, lead days) and a company's country changed while it runs: the next
  call shows the new value, without a restart (Odoo's cache signalling).
* A registry change (what ``-u realtor_3cx`` signals at its end): the worker loads the new
  registry and runs its code from the next transaction on.
* Two companies, one 3CX server each, the same national number in both: each server's call
  finds its own company's contact.
"""

import os

import pytest
from test_worker import SERIAL, db, inbound, pbx, people, record, start_worker, truth, worker
from threecx_sim import SECRET, running_simulator, wait_for
from worker_env import QUIRKS

# The fixtures this module shares with test_worker.py (pytest finds them by name here).
__all__ = ["db", "people", "pbx", "worker"]
PROBE = "x_r3cx_company_probe"


def signalled(db, fn):
    """``fn(env)`` committed, then its registry and cache changes signalled to the other
    processes, as Odoo does after an HTTP request or an RPC call."""
    result = db.do(fn)
    db.registry.signal_changes()
    return result


def set_params(db, **params):
    def write(env):
        for key, value in params.items():
            env["ir.config_parameter"].set_param(f"realtor_3cx.{key}", value)

    signalled(db, write)


def missed_call(db, pbx, frm):
    """A call nobody answers: the finished record (its deadline, its contact)."""
    # The PBX's usual 20 s of ringing before voicemail (1 s at the tests' speed).
    callid = inbound(pbx, to="101", frm=frm, ring_seconds=20)
    return record(db, pbx, callid, lambda r: r["state"] in ("missed", "voicemail"),
                  timeout=15), callid


def deadline_minutes(db, pbx, callid):
    def read(env):
        call = env["threecx.call"].search([("server_id", "=", pbx.server_id),
                                           ("call_id", "=", str(callid))])
        if not call.callback_deadline:
            return None
        return round((call.callback_deadline - call.start_at).total_seconds() / 60)

    return db.do(read)


def unknown_number(db):
    """A number no contact has (those an earlier run gave it lose it, as in test_worker.py)."""
    number = f"+1555019{(os.getpid() + next(SERIAL)) % 10000:04d}"
    db.do(lambda env: env["res.partner"].search(
        ["|", ("phone_e164", "=", number), ("mobile_e164", "=", number)]).write(
        {"phone": False, "mobile": False}))
    return number


def test_settings_and_a_companys_country_change_under_a_running_worker(db, pbx, worker):
    try:
        set_params(db, speed_to_lead_minutes="7")
        _call, callid = missed_call(db, pbx, unknown_number(db))
        wait_for(lambda: deadline_minutes(db, pbx, callid), "the first deadline")
        assert deadline_minutes(db, pbx, callid) == 7
        # Settings saved through the settings form, as an admin would, while the worker runs.
        signalled(db, lambda env: env["res.config.settings"].create(
            {"realtor_3cx_speed_to_lead_minutes": 11}).execute())
        _call, callid = missed_call(db, pbx, unknown_number(db))
        wait_for(lambda: deadline_minutes(db, pbx, callid), "the second deadline")
        assert deadline_minutes(db, pbx, callid) == 11

        # Lead days: a contact created today is a lead while "new" lasts a day or more.
        number = unknown_number(db)
        db.do(lambda env: env["res.partner"].create({"name": "Fresh Contact", "phone": number}))
        call, callid = missed_call(db, pbx, number)
        assert call["partner_id"]
        wait_for(lambda: deadline_minutes(db, pbx, callid), "a new contact's deadline")
        set_params(db, lead_new_days="0", lead_active_days="0")
        call, callid = missed_call(db, pbx, number)
        assert call["partner_id"] and deadline_minutes(db, pbx, callid) is None

        # The company's country: national numbers are read in the new one at the next call.
        spanish = "612345678"

        def create_spanish_contact(env):
            env["res.partner"].search([("phone_e164", "=", "+34612345678")]).write(
                {"phone": False})  # an earlier run's
            return env["res.partner"].create(
                {"name": "Cliente Madrid", "phone": "+34 612 34 56 78"}).id

        partner = db.do(create_spanish_contact)
        call, _callid = missed_call(db, pbx, spanish)
        assert not call["partner_id"]  # a US company: not a number
        signalled(db, lambda env: env.company.write({"country_id": env.ref("base.es").id}))
        call, _callid = missed_call(db, pbx, spanish)
        assert call["partner_id"] and call["partner_id"][0] == partner
        assert "Reloading the model registry" not in worker.output()  # caches only
        assert "Invalidating caches after database signaling" in worker.output()
    finally:
        signalled(db, lambda env: env.company.write({"country_id": env.ref("base.us").id}))
        # False removes a parameter: the defaults again, for the other tests.
        set_params(db, speed_to_lead_minutes=False, lead_new_days=False, lead_active_days=False)


def test_a_registry_change_under_a_running_worker_runs_the_new_code(db, pbx, worker):
    """A field added with its code (what an upgrade brings, as a manual field can): the worker
    computes it for the next call without a restart."""
    def add_field(env):
        env["ir.model.fields"].create({
            "model_id": env["ir.model"]._get_id("threecx.call"), "name": PROBE,
            "field_description": "Company probe", "ttype": "char", "store": True,
            "depends": "external_number",
            "compute": f"for call in self:\n    call['{PROBE}'] = 'new registry'",
        })

    def remove_field(env):
        env["ir.model.fields"].search([("model", "=", "threecx.call"),
                                       ("name", "=", PROBE)]).unlink()

    # No call of this server is being written meanwhile: the new column's first compute
    # updates every call, and would wait on the worker's row locks.
    sequence = db.do(lambda env: env.registry.registry_sequence)
    try:
        signalled(db, add_field)
        assert db.do(lambda env: env.registry.registry_sequence) > sequence
        callid = inbound(pbx, to="101")
        # Loading a registry takes seconds on a busy machine: the call waits meanwhile.
        record(db, pbx, callid, what="a call under the new registry", timeout=120)

        def probe(env):
            return env["threecx.call"].search([("server_id", "=", pbx.server_id),
                                               ("call_id", "=", str(callid))])[PROBE]

        assert wait_for(lambda: db.do(probe), "the new field's compute") == "new registry"
        assert "worker: registry of" in worker.output()
        assert truth(pbx, callid)["callid"] == callid
        assert worker.proc.poll() is None  # the same process
    finally:
        signalled(db, remove_field)


@pytest.fixture
def second_company(db):
    tag = f"{os.getpid()}_{next(SERIAL)}"

    def create(env):
        return env["res.company"].create(
            {"name": f"Second Brokerage {tag}", "country_id": env.ref("base.us").id}).id

    return db.do(create)


def test_two_companies_each_server_finds_its_own_companys_contact(db, pbx, second_company,
                                                                  tmp_path):
    e164 = unknown_number(db)
    national = f"{e164[2:5]} {e164[5:8]} {e164[8:]}"

    def create_partners(env):
        Partner = env["res.partner"]
        return (Partner.create({"name": "Pat of the first company", "phone": national,
                                "company_id": env.company.id}).id,
                Partner.create({"name": "Pat of the second company", "phone": national,
                                "company_id": second_company}).id)

    mine, theirs = db.do(create_partners)
    with running_simulator(**QUIRKS) as sim_b:
        def create_server(env):
            return env["threecx.server"].create({
                "name": f"PBX B {next(SERIAL)}", "base_url": sim_b.url, "client_id": "900",
                "api_secret": SECRET, "company_id": second_company}).id

        sim_b.server_id = db.do(create_server)
        workers = [start_worker(db, pbx, tmp_path, "worker-a"),
                   start_worker(db, sim_b, tmp_path, "worker-b")]
        try:
            for sim in (pbx, sim_b):
                wait_for(lambda sim=sim: db.do(lambda env: env["threecx.server"].browse(
                    sim.server_id).connection_state) == "connected", "both workers",
                    timeout=120)  # two Odoo registries loading at once on a busy machine
            digits = national.replace(" ", "")
            call_a = record(db, pbx, inbound(pbx, to="101", frm=digits))
            call_b = record(db, sim_b, inbound(sim_b, to="101", frm=digits))
            assert call_a["partner_id"] and call_a["partner_id"][0] == mine
            assert call_b["partner_id"] and call_b["partner_id"][0] == theirs

            def companies(env):
                calls = env["threecx.call"].search([
                    ("server_id", "in", [pbx.server_id, sim_b.server_id]),
                    ("call_id", "in", [call_a["call_id"], call_b["call_id"]])])
                return {c.server_id.id: (c.company_id.id, c.candidate_partner_ids.ids)
                        for c in calls}

            found = db.do(companies)
            assert found[sim_b.server_id] == (second_company, [])
        finally:
            for worker in workers:
                worker.stop()
                print(worker.output()[-3000:])
            db.do(lambda env: env["threecx.server"].browse(sim_b.server_id).write(
                {"active": False}))
