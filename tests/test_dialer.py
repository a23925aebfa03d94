# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The power dialer's lists and takes, in committed transactions of a real database.

The take is what keeps two realtors on one shared list from calling the same person: each
thread here is a realtor's HTTP request with its own cursor, all taking at the same moment,
and none is replayed (Odoo would replay a request that failed on a concurrent update): no
entry may be handed out twice, and none may be lost.
"""

import datetime
import os
import threading

import pytest
from worker_env import OdooDb

REALTORS = 4


@pytest.fixture(scope="module")
def db():
    return OdooDb()


@pytest.fixture
def world(db):
    tag = f"{os.getpid()}{datetime.datetime.now().microsecond}"

    def create(env):
        env.company.country_id = env.ref("base.us")
        groups = [env.ref("base.group_user").id,
                  env.ref("realtor_3cx.realtor_3cx_group_user").id]
        users = env["res.users"].create([
            {"name": f"Dialer Realtor {n}", "login": f"dialer_{tag}_{n}",
             "tz": "UTC", "groups_id": [(6, 0, groups)]} for n in range(REALTORS)])
        server = env["threecx.server"].create({"name": f"Dialer PBX {tag}",
                                               "base_url": "https://dialer.example.com"})
        env["threecx.extension"].create([
            {"server_id": server.id, "number": f"3{n:02d}", "user_id": u.id}
            for n, u in enumerate(users)])
        partners = env["res.partner"].create([
            {"name": f"Dialer Contact {n}", "tz": "UTC",
             "phone": f"+1555017{int(tag) % 100:02d}{n:02d}"} for n in range(20)])
        return {"users": users.ids, "partners": partners.ids, "server": server.id,
                "tag": tag}

    ids = db.do(create)
    saved = db.calling_hours((0.0, 24.0))
    yield ids
    db.calling_hours(saved)
    db.do(lambda env: env["threecx.server"].browse(ids["server"]).write({"active": False}))


def make_list(db, world, partner_ids):
    def create(env):
        owner = env["res.users"].browse(world["users"][0])
        Lists = env["threecx.dialer.list"].with_user(owner)
        dialer_list = Lists._dialer_create_from(
            "res.partner", records=env["res.partner"].browse(partner_ids))
        dialer_list.sudo().shared_user_ids = [(6, 0, world["users"][1:])]
        return dialer_list.id

    return db.do(create)


def test_the_take_never_gives_one_entry_to_two_realtors(db, world):
    list_id = make_list(db, world, world["partners"])
    barrier = threading.Barrier(REALTORS)
    taken = {uid: [] for uid in world["users"]}
    errors = []

    def realtor(uid):
        try:
            barrier.wait(10)
            while True:
                with db.registry.cursor() as cr:
                    env = db._api.Environment(cr, uid, {})
                    Entry = env["threecx.dialer.entry"]
                    dialer_list = env["threecx.dialer.list"].browse(list_id)
                    # No retry: a take never fails for a colleague's (tests/conftest.py
                    # also fails on the ERROR Odoo would log for a failed statement).
                    entry = Entry._dialer_take(dialer_list)
                    entry_id = entry.id
                    if entry:
                        # The realtor calls them: the entry is theirs until done.
                        entry.write({"state": "called"})
                    env.flush_all()
                    cr.commit()
                if not entry_id:
                    return
                taken[uid].append(entry_id)
        except Exception as exc:  # surfaced below, with the thread's realtor
            errors.append((uid, exc))

    threads = [threading.Thread(target=realtor, args=(uid,)) for uid in world["users"]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    handed = [e for ids in taken.values() for e in ids]
    assert len(handed) == len(set(handed)), "an entry was taken by two realtors"
    entries = db.do(lambda env: env["threecx.dialer.list"].browse(list_id).entry_ids.read(
        ["state", "user_id"]))
    assert sorted(handed) == sorted(e["id"] for e in entries)  # none lost
    for uid, ids in taken.items():
        assert all(next(e for e in entries if e["id"] == i)["user_id"][0] == uid for i in ids)
    # Several realtors worked it (the machine has 2 cores: not necessarily all four).
    assert sum(1 for ids in taken.values() if ids) >= 2, taken


def test_sessions_skip_with_the_reason_and_release_on_leave(db, world):
    partners = world["partners"][:5]

    def setup(env):
        Partner = env["res.partner"]
        Partner.browse(partners[1]).do_not_call = True
        # Called an hour ago: skipped for the last N hours.
        env["threecx.call"].create({
            "server_id": world["server"], "call_id": f"dialer-recent-{world['tag']}",
            "direction": "outbound", "state": "completed", "user_id": world["users"][1],
            "external_number": Partner.browse(partners[2]).phone,
            "partner_id": partners[2],
            "start_at": datetime.datetime.now() - datetime.timedelta(hours=1)})

    db.do(setup)
    list_id = make_list(db, world, partners)

    def as_user(uid, fn):
        def run(env):
            user_env = env(user=uid)
            return fn(user_env)
        return db.do(run)

    def open_session(env):
        dialer_list = env["threecx.dialer.list"].browse(list_id)
        return env["threecx.dialer.session"]._dialer_open(dialer_list).id

    alice, bob = world["users"][0], world["users"][1]
    s_alice = as_user(alice, open_session)
    s_bob = as_user(bob, open_session)
    first = as_user(alice, lambda env: env["threecx.dialer.session"].browse(s_alice)
                    .dialer_next())
    assert first["entry"]["partner_id"] == partners[0]
    second = as_user(bob, lambda env: env["threecx.dialer.session"].browse(s_bob)
                     .dialer_next())
    # Bob skips the do-not-call contact and the one called an hour ago, each with why.
    assert second["entry"]["partner_id"] == partners[3]
    reasons = {s["name"]: s["reason"] for s in second["skipped"]}
    assert "do-not-call" in reasons["Dialer Contact 1"]
    assert reasons["Dialer Contact 2"].startswith("Called 1 h 0")
    # Alice leaves without calling: her entry is the next one anybody takes.
    as_user(alice, lambda env: env["threecx.dialer.session"].browse(s_alice).dialer_leave())
    again = as_user(bob, lambda env: env["threecx.dialer.session"].browse(s_bob)
                    .dialer_skip())
    assert again["entry"]["partner_id"] == partners[0]
    states = db.do(lambda env: {e.partner_id.id: (e.state, e.skip_kind) for e in
                                env["threecx.dialer.list"].browse(list_id).entry_ids})
    assert states[partners[1]] == ("skipped", "rule")
    assert states[partners[2]] == ("skipped", "recent")
    assert states[partners[3]] == ("skipped", "realtor")
    assert states[partners[0]] == ("taken", False)
    assert states[partners[4]] == ("pending", False)

    # The rules' refusals are in the compliance log once each, on the dialer's own path; a
    # contact skipped for a recent call or by the realtor is no refusal.
    def refusals(env):
        rows = env["threecx.blocked.attempt"].search(
            [("partner_id", "in", partners)], order="id")
        return [(r.partner_id.id, r.path, r.reason, r.user_id.id) for r in rows]

    assert db.do(refusals) == [(partners[1], "dialer", "do_not_call", bob)]
    # A do-not-call recorded meanwhile: the dialer's own call is refused, logged once more.
    db.do(lambda env: env["res.partner"].browse(partners[0]).write({"do_not_call": True}))
    refused = as_user(bob, lambda env: env["threecx.dialer.session"].browse(s_bob)
                      .dialer_dial())
    assert refused["state"] == "refused"
    assert db.do(refusals) == [(partners[1], "dialer", "do_not_call", bob),
                               (partners[0], "dialer", "do_not_call", bob)]


def test_a_saved_search_is_the_same_search_again(db, world):
    def create(env):
        owner = env["res.users"].browse(world["users"][0])
        domain = [("name", "=like", "Dialer Contact 1%"), ("id", "in", world["partners"])]
        dialer_list = env["threecx.dialer.list"].with_user(owner)._dialer_create_from(
            "res.partner", domain=domain)
        return dialer_list.id, len(dialer_list.entry_ids)

    list_id, count = db.do(create)
    assert count == 11  # Dialer Contact 1, 10..19
    db.do(lambda env: env["res.partner"].browse(world["partners"][2]).write(
        {"name": "Dialer Contact 1b"}))
    db.do(lambda env: env["threecx.dialer.list"].browse(list_id)._dialer_refresh())
    names = db.do(lambda env: env["threecx.dialer.list"].browse(list_id).entry_ids.mapped(
        "partner_id.name"))
    assert len(names) == 12 and "Dialer Contact 1b" in names


def test_start_calling_from_properties_activities_and_missed_calls(db, world):
    owner_uid = world["users"][0]
    p = world["partners"]

    def setup(env):
        Partner = env["res.partner"]
        prop = env["realtor.property"].create({
            "name": f"5 Dialer Court {world['tag']}", "owner_ids": [(6, 0, [p[0]])],
            "interested_partner_ids": [(6, 0, [p[1], p[0]])]})
        today = datetime.date.today()
        Partner.browse(p[2]).activity_schedule(
            "mail.mail_activity_data_call", date_deadline=today, summary="Price dropped",
            user_id=owner_uid)
        Partner.browse(p[3]).activity_schedule(
            "mail.mail_activity_data_call", date_deadline=today + datetime.timedelta(days=3),
            summary="Next week", user_id=owner_uid)
        now = datetime.datetime.now()
        unknown = f"+1555017{int(world['tag']) % 100:02d}99"
        missed = env["threecx.call"].create([
            {"server_id": world["server"], "call_id": f"dialer-missed-{world['tag']}-{n}",
             "direction": "inbound", "state": "missed", "user_id": owner_uid,
             "external_number": number, "start_at": now - datetime.timedelta(minutes=n)}
            for n, number in enumerate([unknown, Partner.browse(p[4]).phone])])
        # The second one was called back already: not on the list.
        missed[1].sudo().callback_call_id = env["threecx.call"].create({
            "server_id": world["server"], "call_id": f"dialer-back-{world['tag']}",
            "direction": "outbound", "state": "completed", "user_id": owner_uid,
            "external_number": Partner.browse(p[4]).phone, "start_at": now})
        return prop.id, unknown

    prop_id, unknown = db.do(setup)

    def start(fn):
        def run(env):
            env = env(user=owner_uid)
            action = fn(env)
            session = env["threecx.dialer.session"].browse(action["params"]["session_id"])
            assert action["tag"] == "realtor_3cx.dialer"
            return [(e.partner_id.id, e.phone, e.reason) for e in session.list_id.entry_ids]
        return db.do(run)

    on_property = start(lambda env: env["realtor.property"].browse(prop_id)
                        .action_realtor_3cx_start_calling())
    assert [(e[0], e[2].split(" ")[0]) for e in on_property] == [
        (p[0], "Owner"), (p[1], "Interested")]  # the owner once, as owner
    activities = start(lambda env: env["threecx.dialer.list"].action_start_call_activities())
    assert [(e[0], e[2]) for e in activities] == [(p[2], "Price dropped")]
    missed = start(lambda env: env["threecx.dialer.list"].action_start_missed_calls())
    assert [(e[0], e[1]) for e in missed] == [(False, unknown)]
    assert missed[0][2].startswith("Missed call on ")
