# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""3CX's company phonebook: 10,000 Odoo contacts synced in one batch run, against the naive
way (one request per contact, one after the other), on the same contacts, in one run.

Ours is the worker's own run (``worker/phonebook.py``'s ``PhonebookSync.run``: the plan in
Odoo, the changes sent with ``threecx/phonebook.apply`` (``phonebook_threads`` requests at a
time, deletions ``DELETE_CHUNK`` ids per ``Pbx.DeleteContactsById``), the results recorded in
Odoo a chunk per transaction), against the simulator as a process of its own, as a PBX is.
Each of the ``REPEATS`` runs syncs the 10,000 contacts for a new server (empty entries), into
a phonebook the simulator empties first; the target is judged on their median.

Then, on the last server: a run with nothing changed (the watermark: no plan, no request), a
forced run (the full comparison, no request), 1% of the contacts renamed, and 10% archived.

Naive, beside it: the same contact bodies, ``POST /Contacts`` one after the other, then one
``DELETE`` each, with the same client (keep-alive session, one token); Odoo's share (plan and
record) is left out of the naive figure, so the ratio is what batching alone brings, at
least. On this machine 3CX answers in a fraction of a millisecond; a PBX in the cloud is
tens of milliseconds away, so both are measured again on ``WAN_CONTACTS`` contacts with the
simulator holding each request ``WAN_RTT`` seconds.
"""

import time
from types import SimpleNamespace

from realtor_3cx.threecx import phonebook
from realtor_3cx.threecx.client import ThreecxClient

from .client import SECRET, control, simulator
from .common import REPEATS, median_of_runs, timed_result

NAME = "phonebook"
CONTACTS = 10_000
WAN_CONTACTS = 1000
WAN_RTT = 0.02
TARGET_S = 60.0
BASE = 2_122_000_000  # valid NANP numbers (area code 212), as the lookup benchmark's


def _partners(bench, company_id):
    """The 10,000 contacts, made through the ORM (E.164 computed as for any contact)."""
    with bench.cursor() as cr:
        env = bench.env(cr)(context={"tracking_disable": True})
        env.company.country_id = env.ref("base.us")
        Partner = env["res.partner"]
        for start in range(0, CONTACTS, 1000):
            Partner.create([{
                "name": f"Phonebook Bench {n:05d}", "company_id": company_id,
                "phone": f"+1 {str(BASE + n * 7)[:3]} {str(BASE + n * 7)[3:6]} "
                         f"{str(BASE + n * 7)[6:]}",
                "mobile": f"+1{BASE + n * 7 + 3}" if n % 2 else False,
                "email": f"bench{n}@example.com"} for n in range(start, start + 1000)])
        env.flush_all()
        cr.commit()


def _server(bench, url, name):
    with bench.cursor() as cr:
        env = bench.env(cr)
        server = env["threecx.server"].create({
            "name": name, "base_url": url, "client_id": "900", "phonebook_sync": True,
            "phonebook_scope": "company"})
        cr.commit()
        return server.id, server.company_id.id


def _session(bench, url, server_id):
    """What PhonebookSync needs of the worker's session, as the worker makes them."""
    from realtor_3cx.worker.config import WorkerConfig
    from realtor_3cx.worker.runner import Database

    bench.registry  # noqa: B018 - parses the configuration Database() relies on
    return SimpleNamespace(odoo=Database(bench.db).for_server(server_id), server_id=server_id,
                           client=ThreecxClient(url, "900", SECRET), config=WorkerConfig(),
                           name="bench")


def _book_size(client):
    return client.xapi.count("Contacts")


def _empty_book(client):
    ids = [row["Id"] for row in client.xapi.contacts(select=("Id",))]
    for start in range(0, len(ids), 500):
        client.xapi.delete_contacts(ids[start:start + 500])


def _requests(url):
    import requests

    return requests.get(f"{url}/_sim/stats", timeout=10).json()["requests"]


def _naive(client, bodies):
    """One POST per contact, then one DELETE per contact, one after the other."""
    start = time.perf_counter()
    ids = [client.xapi.create_contact(body)["Id"] for body in bodies]
    created = time.perf_counter() - start
    start = time.perf_counter()
    for contact_id in ids:
        client.xapi.delete_contact(contact_id)
    return created, time.perf_counter() - start


def _ours(client, bodies):
    """The same through ``phonebook.apply``: creations, then bulk deletions."""
    changes = [phonebook.Change(phonebook.CREATE, n, 0, b) for n, b in enumerate(bodies)]
    start = time.perf_counter()
    results, fatal = phonebook.apply(client.xapi, changes)
    created = time.perf_counter() - start
    assert fatal is None and all(r.ok for r in results), fatal
    deletions = [phonebook.Change(phonebook.DELETE, r.change.key, r.contact_id)
                 for r in results]
    start = time.perf_counter()
    results, fatal = phonebook.apply(client.xapi, deletions)
    assert fatal is None and all(r.ok for r in results), fatal
    return created, time.perf_counter() - start


def run(bench):
    from realtor_3cx.worker.phonebook import PhonebookSync

    with simulator() as url:
        client = ThreecxClient(url, "900", SECRET)
        runs = []
        for repeat in range(REPEATS):
            server_id, company_id = _server(bench, url, f"Phonebook bench PBX {repeat}")
            if repeat == 0:
                _partners(bench, company_id)
            _empty_book(client)
            with bench.cursor() as cr:  # the 10,000, and the few the database had already
                expected = len(bench.env(cr)["threecx.server"].browse(server_id)
                               ._phonebook_bodies())
            assert expected >= CONTACTS, expected
            sync = PhonebookSync(_session(bench, url, server_id))
            seconds, counts = timed_result(sync.run)
            assert counts and counts["created"] == expected, counts
            assert _book_size(client) == expected
            runs.append(seconds)
            print(f"  run {repeat + 1}: {expected} contacts synced in {seconds:.1f} s",
                  flush=True)
        median, values = median_of_runs(runs, lambda s: s)
        with bench.cursor() as cr:
            bodies = list(bench.env(cr)["threecx.server"].browse(server_id)
                          ._phonebook_bodies().values())

        # The last server, in step: nothing changed, then forced, then 1% renamed and 10%
        # archived.
        before = _requests(url)
        seconds, counts = timed_result(sync.run)
        assert counts is None and _requests(url) == before, counts
        no_change_ms = seconds * 1000
        with bench.cursor() as cr:
            env = bench.env(cr)  # held: the commit flushes only live environments
            env["threecx.server"].browse(server_id)._phonebook_status().requested = True
            env.flush_all()
            cr.commit()
        forced, counts = timed_result(sync.run)
        assert counts == {"created": 0, "updated": 0, "deleted": 0, "refused": 0}, counts
        assert _requests(url) == before
        with bench.cursor() as cr:
            env = bench.env(cr)
            partners = env["res.partner"].search([("name", "=like", "Phonebook Bench %")],
                                                 order="id")
            for partner in partners[: CONTACTS // 100]:
                partner.name = partner.name.replace("Bench", "Renamed")
            partners[CONTACTS // 100: CONTACTS // 100 + CONTACTS // 10].action_archive()
            env.flush_all()
            cr.commit()
        changed, counts = timed_result(sync.run)
        assert counts["updated"] == CONTACTS // 100, counts
        assert counts["deleted"] == CONTACTS // 10, counts
        assert _book_size(client) == expected - CONTACTS // 10

        # The same bodies, the naive way and ours, sending only.
        _empty_book(client)
        naive_create, naive_delete = _naive(client, bodies)
        ours_create, ours_delete = _ours(client, bodies)
        # A PBX tens of milliseconds away: every request held WAN_RTT by the simulator.
        wan = bodies[:WAN_CONTACTS]
        control(url, "faults", {"slow": 10 * WAN_CONTACTS, "slow_seconds": WAN_RTT})
        wan_naive, _naive_delete = _naive(client, wan)
        wan_ours, _ours_delete = _ours(client, wan)
        client.close()

    bench.figure(f"phonebook: {CONTACTS} contacts synced in one run (worker, Odoo plan and "
                 "record included)", round(median, 1), "s", target=f"< {TARGET_S:.0f} s",
                 met=median < TARGET_S, ratio=naive_create / median, runs=values)
    bench.figure(f"phonebook: {CONTACTS} contacts, naive (a POST each, one at a time, "
                 "sending only)", round(naive_create, 1), "s")
    bench.figure(f"phonebook: {CONTACTS} creations sent, ours (sending only)",
                 round(ours_create, 1), "s", ratio=naive_create / ours_create)
    bench.figure(f"phonebook: {CONTACTS} deletions, ours (DeleteContactsById)",
                 round(ours_delete, 2), "s", ratio=naive_delete / ours_delete)
    bench.figure(f"phonebook: {CONTACTS} deletions, naive (a DELETE each)",
                 round(naive_delete, 1), "s")
    bench.figure(f"phonebook: {WAN_CONTACTS} creations at {WAN_RTT * 1000:.0f} ms a request, "
                 "ours", round(wan_ours, 2), "s", ratio=wan_naive / wan_ours)
    bench.figure(f"phonebook: {WAN_CONTACTS} creations at {WAN_RTT * 1000:.0f} ms a request, "
                 "naive", round(wan_naive, 1), "s")
    bench.figure("phonebook: a run with nothing changed (the watermark), no request",
                 round(no_change_ms, 1), "ms")
    bench.figure(f"phonebook: a forced run, {CONTACTS} compared, no request", round(forced, 2),
                 "s")
    bench.figure(f"phonebook: {CONTACTS // 100} renamed and {CONTACTS // 10} archived, one run",
                 round(changed, 2), "s")
