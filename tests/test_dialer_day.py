# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A realtor's calling block with the power dialer: Chromium, Odoo, the worker and the simulator.

Ten contacts, selected in the Contacts list, "Start calling": one is on the do-not-call list,
one is outside the calling hours where they are, one was called an hour ago; the simulator's
far ends answer some calls and not others. The realtor calls through the list (Call, the
outcome panel for the calls answered, the next entry after the pause) and the database shows
what happened: the calls placed and logged, the skips and their reasons, the outcomes and the
follow-up activities they planned. Screenshots go to .data/screenshots/day/ (docs/ with
``REALTOR_3CX_UPDATE_SCREENSHOTS=1``).
"""

import datetime
import os
import re
import time
import urllib.request

import pytest
from browser_env import DAY_SHOTS, PASSWORD, launch, login, odoo_server
from playwright.sync_api import expect, sync_playwright
from threecx_sim import SECRET, control, running_simulator, wait_for
from worker_env import OdooDb, Worker

SHOTS = DAY_SHOTS


def zone_at(local_hour):
    """A fixed-offset zone (``Etc/GMT±N``) where it is now about ``local_hour``."""
    offset = (local_hour - datetime.datetime.now(datetime.timezone.utc).hour) % 24
    offset = offset - 24 if offset > 12 else offset
    # Etc/GMT's signs are POSIX's: Etc/GMT-3 is three hours ahead of UTC.
    return "Etc/GMT%+d" % -offset if offset else "UTC"


# name -> how their far end behaves (the simulator's per-destination script), or why they are
# never dialled.
PEOPLE = [
    ("DialDay 01 Ann", "answers"),
    ("DialDay 02 Dnc", "do_not_call"),
    ("DialDay 03 Bob", "no_answer"),
    ("DialDay 04 Far", "outside_hours"),
    ("DialDay 05 Cat", "answers"),
    ("DialDay 06 Rec", "called_recently"),
    ("DialDay 07 Dan", "busy"),
    ("DialDay 08 Eve", "answers"),
    ("DialDay 09 Fay", "no_answer"),
    ("DialDay 10 Gus", "answers"),
]
OUTCOMES = {"DialDay 01 Ann": "interested", "DialDay 05 Cat": "showing_booked",
            "DialDay 08 Eve": "not_interested", "DialDay 10 Gus": "interested"}


def number(n):
    return f"+1555018{os.getpid() % 100:02d}{n:02d}"


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    db = OdooDb()
    logs = tmp_path_factory.mktemp("dialer_day")
    with running_simulator() as sim:
        tag = f"dd{os.getpid()}"

        def create(env):
            env.company.country_id = env.ref("base.us")
            realtor = env["res.users"].create({
                "name": "Dee Dialer", "login": f"dee_{tag}", "password": PASSWORD,
                "tz": "UTC", "groups_id": [(6, 0, [
                    env.ref("base.group_user").id,
                    env.ref("realtor_3cx.realtor_3cx_group_user").id])]})
            server = env["threecx.server"].create({
                "name": "Dialer PBX", "base_url": sim.url, "client_id": "900",
                "api_secret": SECRET})
            env["threecx.extension"].create(
                {"server_id": server.id, "number": "101", "user_id": realtor.id})
            people = {}
            for n, (name, kind) in enumerate(PEOPLE):
                people[name] = env["res.partner"].create({
                    "name": name, "phone": number(n),
                    "do_not_call": kind == "do_not_call",
                    "tz": zone_at(0) if kind == "outside_hours" else zone_at(12),
                }).id
            env["realtor.property"].create({
                "name": "4 Dialer Row", "listing_agent_id": realtor.id,
                "owner_ids": [(6, 0, [people["DialDay 01 Ann"]])]})
            env["res.partner"].browse(people["DialDay 01 Ann"]).comment = (
                "<p>Wants to sell before summer</p>")
            hour_ago = datetime.datetime.now() - datetime.timedelta(hours=1)
            env["threecx.call"].create({
                "server_id": server.id, "call_id": f"{tag}-recent", "direction": "outbound",
                "state": "completed", "user_id": realtor.id, "outcome_skipped": True,
                "external_number": number(5), "partner_id": people["DialDay 06 Rec"],
                "start_at": hour_ago, "answer_at": hour_ago,
                "end_at": hour_ago + datetime.timedelta(minutes=2)})
            colleague = env["res.users"].create({
                "name": "Cole Colleague", "login": f"cole_{tag}", "password": PASSWORD,
                "tz": "UTC", "groups_id": [(6, 0, [
                    env.ref("base.group_user").id,
                    env.ref("realtor_3cx.realtor_3cx_group_user").id])]})
            env["threecx.extension"].create(
                {"server_id": server.id, "number": "102", "user_id": colleague.id})
            shared = env["res.partner"].create([
                {"name": f"DialShared {n:02d}", "phone": number(20 + n), "tz": zone_at(12)}
                for n in range(20)])
            shared_list = env["threecx.dialer.list"].with_user(realtor)._dialer_create_from(
                "res.partner", records=shared, name=f"Shared list {tag}")
            shared_list.shared_user_ids = [(6, 0, [colleague.id])]
            return {"server": server.id, "people": people, "realtor": realtor.login,
                    "realtor_id": realtor.id, "colleague": colleague.login,
                    "shared": shared.ids, "shared_list": shared_list.id}

        ids = db.do(create)
        for n, (_name, kind) in enumerate(PEOPLE):
            script = {"answers": {"answer_after": 1.0}, "no_answer": {"answer_after": None},
                      "busy": {"busy": True}}.get(kind)
            if script:
                control(sim, "scripts", {"destination": number(n), **script})
        # Open between 09:00 and 15:00 where the contact is: noon for all but one, midnight
        # for the one far away.
        saved = db.calling_hours((9.0, 15.0))
        worker = Worker(db, ids["server"], logs / "worker.log")
        try:
            with odoo_server(db.conf, db.db, logs / "odoo.log") as url, sync_playwright() as pw:
                for path in ("/web/binary/company_logo", "/web/static/img/favicon.ico"):
                    with urllib.request.urlopen(f"{url}{path}", timeout=60):
                        pass
                browser = launch(pw)
                wait_for(lambda: db.do(lambda env: env["threecx.server"].browse(
                    ids["server"]).connection_state) == "connected", "the worker", timeout=30)
                SHOTS.mkdir(parents=True, exist_ok=True)
                yield {"db": db, "sim": sim, "url": url, "browser": browser, "logs": logs,
                       **ids}
                browser.close()
        finally:
            worker.stop()
            db.calling_hours(saved)
            # Another run on a kept database finds its own ten, not these.
            db.do(lambda env: env["res.partner"].browse(
                list(ids["people"].values()) + ids["shared"]).write({"active": False}))


def open_page(day, login_name):
    context = day["browser"].new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    with page.expect_response(lambda r: r.url.endswith("/realtor_3cx_session"), timeout=90000):
        login(page, day["url"], login_name)
    page.wait_for_selector(".o_realtor_3cx_systray", timeout=20000)
    return page


def close_page(day, page):
    for each in page.context.pages:
        last = day["logs"] / f"last-{time.monotonic_ns()}.png"
        each.screenshot(path=str(last))
        print("last screen:", last, "url:", each.url)
    page.context.close()


@pytest.fixture
def page(day):
    page = open_page(day, day["realtor"])
    yield page
    close_page(day, page)


def sim_calls_to(day, destination):
    return [c for c in control(day["sim"], "calls", method="GET") if c["callee"] == destination]


def test_a_realtor_calls_through_a_list_of_ten(day, page):
    sim, db, people = day["sim"], day["db"], day["people"]
    # Contacts, filtered, all ten selected, Actions > Start calling.
    page.goto(f"{day['url']}/odoo/action-contacts.action_contacts?view_type=list")
    search = page.locator(".o_searchview_input")
    search.fill("DialDay")
    search.press("Enter")
    expect(page.locator(".o_data_row")).to_have_count(10, timeout=15000)
    page.locator("thead .o_list_record_selector input").check()
    page.locator(".o_cp_action_menus button").click()
    page.locator(".o-dropdown--menu .o-dropdown-item", has_text=re.compile(
        r"^\s*Start calling\s*$")).click()
    dialer = page.locator(".o_realtor_3cx_dialer")
    expect(dialer).to_be_visible(timeout=15000)
    page.locator(".o_realtor_3cx_dialer_pause_seconds").fill("1")
    page.locator(".o_realtor_3cx_dialer_pause_seconds").dispatch_event("change")

    entry = page.locator(".o_realtor_3cx_dialer_entry")
    seen = []
    for _step in range(7):
        expect(dialer).to_have_attribute("data-phase", "ready", timeout=20000)
        name = entry.locator(".o_realtor_3cx_dialer_name").inner_text()
        seen.append(name)
        current = entry.get_attribute("data-entry-id")
        print("dialer step", _step, name, current)
        kind = dict(PEOPLE)[name]
        n = [p for p, _k in PEOPLE].index(name)
        if name == "DialDay 01 Ann":
            # The card: why they are here, their property, the notes.
            expect(entry.locator(".o_realtor_3cx_dialer_reason")).to_have_text("On the list")
            expect(entry.locator(".o_realtor_3cx_dialer_properties")).to_contain_text(
                "4 Dialer Row")
            expect(entry.locator(".o_realtor_3cx_dialer_notes")).to_contain_text(
                "Wants to sell before summer")
            page.screenshot(path=str(SHOTS / "dialer_1_card.png"))
        page.locator(".o_realtor_3cx_dialer_call").click()
        if kind == "answers":
            placed = wait_for(lambda n=n: [c for c in sim_calls_to(day, number(n))
                                           if c.get("answered_at")],
                              f"{name} to answer", timeout=15)
            control(sim, f"calls/{placed[0]['callid']}/hangup", {"side": "callee"})
            expect(dialer).to_have_attribute("data-phase", "outcome", timeout=15000)
            panel = page.locator(".o_realtor_3cx_outcome_panel")
            expect(panel.locator(".o_realtor_3cx_outcome_who")).to_have_text(name,
                                                                            timeout=15000)
            if name == "DialDay 05 Cat":
                page.screenshot(path=str(SHOTS / "dialer_2_outcome.png"))
            panel.locator(f"[data-outcome={OUTCOMES[name]}]").click()
            panel.locator(".o_realtor_3cx_outcome_notes").fill(f"Spoke with {name}")
            panel.locator(".o_realtor_3cx_outcome_save").click()
        # The next entry comes by itself (the pause is 1 s: too short to be sure to see).
        wait_for(lambda current=current: dialer.get_attribute("data-phase") == "finished"
                 or entry.get_attribute("data-entry-id", timeout=1000) != current,
                 f"the entry after {name}", timeout=20)
        if _step == 2:
            # The skips so far, each with why.
            skipped = page.locator(".o_realtor_3cx_dialer_skipped")
            expect(skipped).to_contain_text("DialDay 02 Dnc")
            page.screenshot(path=str(SHOTS / "dialer_3_skipped.png"))
    expect(dialer).to_have_attribute("data-phase", "finished", timeout=20000)
    skipped = page.locator(".o_realtor_3cx_dialer_skipped_item")
    expect(skipped.filter(has_text="DialDay 02 Dnc")).to_contain_text("do-not-call list")
    expect(skipped.filter(has_text="DialDay 04 Far")).to_contain_text(
        "calls are allowed between 09:00 and 15:00")
    expect(skipped.filter(has_text="DialDay 06 Rec")).to_contain_text("Called 1 h")
    page.screenshot(path=str(SHOTS / "dialer_4_finished.png"))
    assert seen == [p for p, k in PEOPLE if k in ("answers", "no_answer", "busy")]

    # The database: a call per contact dialled, each linked, with its outcome and follow-up.
    def read(env):
        entries = env["threecx.dialer.entry"].search(
            [("partner_id", "in", list(people.values()))])
        out = {}
        for e in entries:
            out[e.partner_id.name] = {
                "state": e.state, "kind": e.skip_kind, "retry_at": e.retry_at,
                "call": (e.call_id.state, e.call_id.outcome_id.code, e.call_id.user_id.id,
                         e.call_id.partner_id.id) if e.call_id else False,
                "activities": e.partner_id.activity_ids.filtered(
                    lambda a: a.user_id.id == day["realtor_id"]).mapped("activity_type_id.name"),
            }
        calls = env["threecx.call"].search([("server_id", "=", day["server"]),
                                            ("direction", "=", "outbound"),
                                            ("call_id", "not like", "%-recent")])
        return out, sorted(calls.mapped("partner_id.name"))

    entries, called = wait_for(lambda: (lambda r: r if all(
        e["state"] in ("done", "skipped") for e in r[0].values()) else None)(db.do(read)),
        "every entry to be finished", timeout=15)
    assert called == sorted(seen)
    for name, kind in PEOPLE:
        got = entries[name]
        if kind in ("do_not_call", "outside_hours", "called_recently"):
            assert got["state"] == "skipped" and got["call"] is False, (name, got)
            assert not sim_calls_to(day, number([p for p, _k in PEOPLE].index(name)))
            assert got["kind"] == ("recent" if kind == "called_recently" else "rule")
            # The one outside hours and the one called recently come back later; do-not-call
            # does not.
            assert bool(got["retry_at"]) == (kind != "do_not_call"), (name, got)
            continue
        assert got["state"] == "done", (name, got)
        state, outcome, user_id, partner_id = got["call"]
        assert user_id == day["realtor_id"] and partner_id == people[name]
        if kind == "answers":
            assert (state, outcome) == ("completed", OUTCOMES[name]), (name, got)
        else:
            assert state != "completed", (name, got)
            assert outcome == ("busy" if kind == "busy" else "no_answer"), (name, got)
    # Follow-ups as the outcomes plan them (Interested: a call; Showing booked: a showing).
    assert "Call" in " ".join(entries["DialDay 01 Ann"]["activities"]), entries
    assert entries["DialDay 05 Cat"]["activities"], entries
    assert not entries["DialDay 08 Eve"]["activities"], entries  # not interested: nothing


def start_shared_list(day, page):
    """Telephony > Dialer > Dialer Lists, the shared list's Start calling."""
    page.goto(f"{day['url']}/odoo/action-realtor_3cx.threecx_dialer_list_action")
    row = page.locator(".o_data_row", has_text=f"Shared list dd{os.getpid()}")
    row.locator(".o_realtor_3cx_dialer_start").click(timeout=20000)
    dialer = page.locator(".o_realtor_3cx_dialer")
    expect(dialer).to_have_attribute("data-phase", "ready", timeout=20000)
    return dialer


def test_two_realtors_on_one_shared_list_never_get_the_same_entry(day):
    first, second = open_page(day, day["realtor"]), open_page(day, day["colleague"])
    try:
        pages = [first, second]
        dialers = [start_shared_list(day, p) for p in pages]
        got = {0: [], 1: []}
        for _step in range(20):
            live = [i for i, d in enumerate(dialers) if d.get_attribute("data-phase") == "ready"]
            if not live:
                break
            shown = {i: pages[i].locator(".o_realtor_3cx_dialer_entry").get_attribute(
                "data-entry-id") for i in live}
            # Both on screen at once, never the same person.
            assert len(set(shown.values())) == len(shown), shown
            for i in live:
                got[i].append(int(shown[i]))
            if _step == 0:
                first.screenshot(path=str(SHOTS / "dialer_5_shared_first.png"))
                second.screenshot(path=str(SHOTS / "dialer_6_shared_second.png"))
            # Both skip at the same moment: their requests for the next entry overlap.
            for i in live:
                pages[i].locator(".o_realtor_3cx_dialer_skip").click(no_wait_after=True)
            for i in live:
                old = shown[i]
                expect(dialers[i]).not_to_have_attribute("data-phase", "loading", timeout=20000)
                wait_for(lambda i=i, old=old: dialers[i].get_attribute("data-phase")
                         == "finished" or pages[i].locator(".o_realtor_3cx_dialer_entry")
                         .get_attribute("data-entry-id") != old, "the next entry", timeout=20)
        for dialer in dialers:
            expect(dialer).to_have_attribute("data-phase", "finished", timeout=20000)
        handed = got[0] + got[1]
        assert len(handed) == len(set(handed)) == 20, got
        assert got[0] and got[1], got  # both worked the list
        entries = day["db"].do(lambda env: env["threecx.dialer.list"].browse(
            day["shared_list"]).entry_ids.read(["state", "skip_kind"]))
        assert sorted(e["id"] for e in entries) == sorted(handed)
        assert {(e["state"], e["skip_kind"]) for e in entries} == {("skipped", "realtor")}
    finally:
        close_page(day, first)
        close_page(day, second)
