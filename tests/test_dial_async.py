# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Click-to-call holds no Odoo HTTP worker: the click is queued and answered at once, the
worker's answer comes on the bus, and the page gives up by itself when no worker answers.

With Chromium, Odoo, the worker and the simulator all real; the replay of a request by Odoo
after a serialization failure runs through Odoo's HTTP application in this process, so that
the test can make its first attempt fail.
"""

import contextlib
import itertools
import os
import threading
import time
import urllib.request
import uuid
from unittest import mock

import pytest
import requests
from browser_env import PASSWORD, launch, odoo_server, signed_in
from playwright.sync_api import expect, sync_playwright
from threecx_sim import SECRET, control, running_simulator, wait_for
from worker_env import OdooDb, Worker

WORLDS = itertools.count()
NUMBERS = itertools.count(8401)
# What the page says when no worker answered (static/src/core/dial_request.js), and after how
# long: longer than the age past which a worker never dials a request (DIAL_EXPIRY, 8 s).
NO_WORKER = "The telephony service did not answer: the 3CX worker may be stopped."
PAGE_TIMEOUT = 10.0
FAST = 3.0  # seconds: an answer "at once" on this loaded 2-core machine (the old wait was 8 s)


def new_number():
    return f"+1555017{next(NUMBERS):04d}"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    db = OdooDb()
    logs = tmp_path_factory.mktemp("dial")
    # The contacts never answer and ring for long (30 s at the tests' speed): the page's
    # "your phone rings first" stays until the test hangs up.
    with running_simulator(ring_timeout=600) as sim:
        tag = f"{os.getpid()}_{next(WORLDS)}"

        def create(env):
            env.company.country_id = env.ref("base.us")
            realtor = env["res.users"].create({
                "name": "Dee Dialer", "login": f"dee_{tag}", "password": PASSWORD, "tz": "UTC",
                "groups_id": [(6, 0, [env.ref("base.group_user").id,
                                      env.ref("realtor_3cx.realtor_3cx_group_user").id])]})
            server = env["threecx.server"].create({
                "name": f"Dial PBX {tag}", "base_url": sim.url, "client_id": "900",
                "api_secret": SECRET})
            env["threecx.extension"].create(
                {"server_id": server.id, "number": "101", "user_id": realtor.id})
            return {"server": server.id, "realtor": realtor.login, "realtor_id": realtor.id}

        def restore(env):
            env["threecx.server"].browse(ids["server"]).active = False

        ids = db.do(create)
        # Calls at any hour: the contacts' calling rules are not what is tested here.
        hours = db.calling_hours((0.0, 24.0))
        try:
            with odoo_server(db.conf, db.db, logs / "odoo.log") as url, sync_playwright() as pw:
                browser = launch(pw)
                yield {"db": db, "sim": sim, "url": url, "browser": browser, "logs": logs, **ids}
                browser.close()
        finally:
            db.do(restore)
            db.calling_hours(hours)


def contact(world, number):
    control(world["sim"], "scripts", {"destination": number, "answer_after": None})
    return world["db"].do(lambda env: env["res.partner"].create(
        {"name": f"Contact {number[-4:]}", "phone": number}).id)


def requests_to(world, number):
    """This world's realtor's dial requests to ``number`` (the database outlives worlds)."""
    return world["db"].do(lambda env: env["threecx.dial.request"].search_read(
        [("destination", "=", number), ("user_id", "=", world["realtor_id"])],
        ["state", "client_ref", "message"]))


def makecalls(world, number):
    """The ground truth: the calls 3CX placed from the realtor's extension to ``number``."""
    return [c for c in control(world["sim"], "calls", method="GET")
            if (c["caller"], c["callee"]) == ("101", number)]


@contextlib.contextmanager
def running_worker(world, name):
    worker = Worker(world["db"], world["server"], world["logs"] / f"{name}.log")
    try:
        # This worker's own stream (the server's state may still be an earlier worker's).
        wait_for(lambda: "3CX events connected" in worker.output(), "the worker", timeout=60)
        yield worker
    finally:
        worker.stop()
        print(worker.output()[-3000:])  # shown by pytest when the test failed


@pytest.fixture
def page(world):
    with signed_in(world["browser"], world["url"], world["realtor"], world["logs"]) as page:
        yield page


def click_to_call(world, page, partner_id):
    """Click the contact's 3CX button; returns how long Odoo took to answer the click."""
    page.goto(f"{world['url']}/odoo/action-contacts.action_contacts/{partner_id}")
    dial = page.locator(".o_field_widget[name=phone] .o_realtor_3cx_dial")
    expect(dial).to_be_visible(timeout=15000)
    with page.expect_response(lambda r: "realtor_3cx_dial" in r.url, timeout=15000) as answer:
        started = time.monotonic()
        dial.click()
    assert answer.value.ok
    return time.monotonic() - started


def rpc(session, url, path, params, timeout=30):
    response = session.post(f"{url}{path}", json={"jsonrpc": "2.0", "method": "call", "id": 1,
                                                  "params": params}, timeout=timeout)
    response.raise_for_status()
    body = response.json()
    assert "error" not in body, body
    return body["result"]


def dial_rpc(session, url, number, partner_id, client_ref):
    return rpc(session, url, "/web/dataset/call_kw/threecx.call/realtor_3cx_dial", {
        "model": "threecx.call", "method": "realtor_3cx_dial",
        "args": [number, "res.partner", partner_id], "kwargs": {"client_ref": client_ref}})


def authenticated(world, url):
    session = requests.Session()
    rpc(session, url, "/web/session/authenticate", {
        "db": world["db"].db, "login": world["realtor"], "password": PASSWORD})
    return session


def login_page_seconds(url):
    started = time.monotonic()
    with urllib.request.urlopen(f"{url}/web/login", timeout=30) as response:
        response.read()
    return time.monotonic() - started


def test_with_the_worker_stopped_a_click_returns_at_once_and_the_page_gives_up(world, page):
    number = new_number()
    partner = contact(world, number)
    took = click_to_call(world, page, partner)
    answered = time.monotonic()
    status = page.locator(".o_field_widget[name=phone] .o_realtor_3cx_dial_status")
    expect(status).to_have_attribute("data-status", "calling")
    expect(status).to_contain_text("Calling...")
    assert took < FAST, f"the click took {took:.1f} s: it waited for the worker"
    # More clicks at once (three realtors, or one impatient): each answered at once, and
    # Odoo's login page stays fast while they all wait for a worker that is not there.
    session = authenticated(world, world["url"])
    others = [new_number() for _ in range(3)]
    others_ids = [contact(world, n) for n in others]
    times = {}

    def click(n, partner_id):
        started = time.monotonic()
        result = dial_rpc(session, world["url"], n, partner_id, str(uuid.uuid4()))
        times[n] = (time.monotonic() - started, result["state"])

    threads = [threading.Thread(target=click, args=pair) for pair in zip(others, others_ids,
                                                                          strict=True)]
    for thread in threads:
        thread.start()
    login_seconds = login_page_seconds(world["url"])
    for thread in threads:
        thread.join(30)
    print(f"click answered in {took:.2f} s; three more in "
          f"{', '.join(f'{t:.2f}' for t, _state in times.values())} s; "
          f"/web/login meanwhile {login_seconds:.2f} s")
    assert all(state == "pending" and seconds < FAST for seconds, state in times.values()), times
    assert login_seconds < FAST, f"/web/login took {login_seconds:.1f} s"
    # The page's own timeout, with what to do instead.
    expect(status).to_have_attribute("data-status", "failed", timeout=(PAGE_TIMEOUT + 10) * 1000)
    waited = time.monotonic() - answered
    expect(status).to_contain_text(NO_WORKER)
    expect(status.locator(f"a[href='tel:{number}']")).to_have_text("Use your phone")
    assert waited >= PAGE_TIMEOUT - 1, f"gave up after {waited:.1f} s"
    print(f"the page gave up after {waited:.1f} s")
    # A worker that comes back later never places what the page gave up on: it places the
    # next click (in the same round that skipped the old ones, the oldest first).
    [request] = requests_to(world, number)
    with running_worker(world, "late-worker"):
        fresh = new_number()
        click_to_call(world, page, contact(world, fresh))
        expect(status).to_have_attribute("data-status", "ringing", timeout=15000)
        [call] = wait_for(lambda: makecalls(world, fresh), "the new click's makecall")
        control(world["sim"], f"calls/{call['callid']}/hangup", {"side": "caller"})
    assert requests_to(world, number) == [request]  # still pending: nobody claimed it
    for n in (number, *others):
        assert makecalls(world, n) == [], f"{n} was dialled after its page gave up"


def test_with_a_worker_the_page_shows_the_placed_call(world, page):
    number = new_number()
    partner = contact(world, number)
    with running_worker(world, "worker"):
        took = click_to_call(world, page, partner)
        status = page.locator(".o_field_widget[name=phone] .o_realtor_3cx_dial_status")
        expect(status).to_have_attribute("data-status", "ringing", timeout=15000)
        expect(status).to_contain_text(f"Calling {number}: your phone rings first.")
        [call] = wait_for(lambda: makecalls(world, number), "the makecall in the simulator")
        [request] = requests_to(world, number)
        assert request["state"] == "done", request
        assert took < FAST
        control(world["sim"], f"calls/{call['callid']}/hangup", {"side": "caller"})


@contextlib.contextmanager
def odoo_in_this_process():
    """Odoo's HTTP application on a loopback port, in this process: a test can patch it."""
    from werkzeug.serving import make_server

    import odoo.http

    server = make_server("127.0.0.1", 0, odoo.http.root, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="odoo-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


def test_a_request_odoo_replays_after_a_serialization_failure_dials_once(world):
    from odoo.tools import mute_logger

    db = world["db"]
    number = new_number()
    partner = contact(world, number)
    Call = db.registry["threecx.call"]
    enqueue = Call._dial_enqueue
    attempts = []

    def enqueue_then_conflict(self, *args, **kwargs):
        request_id = enqueue(self, *args, **kwargs)
        attempts.append(request_id)
        if len(attempts) == 1:
            # What PostgreSQL answers when a concurrent transaction changed what this one
            # read: Odoo's retrying() rolls the request back and runs it again.
            with mute_logger("odoo.sql_db"):
                self.env.cr.execute("DO $$ BEGIN RAISE EXCEPTION 'forced by the test' "
                                    "USING ERRCODE = 'serialization_failure'; END $$")
        return request_id

    client_ref = str(uuid.uuid4())
    with running_worker(world, "replay-worker"), odoo_in_this_process() as url, \
            mock.patch.object(Call, "_dial_enqueue", enqueue_then_conflict):
        session = authenticated(world, url)
        result = dial_rpc(session, url, number, partner, client_ref)
        assert len(attempts) == 2, "Odoo did not replay the request"
        assert result["state"] == "pending", result
        assert result["request_id"] == attempts[0] == attempts[1]
        wait_for(lambda: requests_to(world, number)[0]["state"] == "done",
                 "the worker's answer", timeout=15)
        [call] = makecalls(world, number)
        requests_ = requests_to(world, number)
        assert [(r["state"], r["client_ref"]) for r in requests_] == [("done", client_ref)]
        control(world["sim"], f"calls/{call['callid']}/hangup", {"side": "caller"})


def test_a_request_a_worker_claimed_is_never_dialled_again(world):
    """A worker claims a request (pending -> dialing, committed) before it asks 3CX: one that
    died between the two leaves the row claimed, and the next worker leaves it alone."""
    db = world["db"]
    claimed, fresh = new_number(), new_number()

    def queue(env):
        values = {"server_id": world["server"], "user_id": world["realtor_id"],
                  "extension": "101", "action": "makecall"}
        env["threecx.dial.request"].create([
            {**values, "destination": claimed, "state": "dialing",
             "client_ref": str(uuid.uuid4())},
            {**values, "destination": fresh, "client_ref": str(uuid.uuid4())}])

    with running_worker(world, "claim-worker"):
        db.do(queue)  # younger than the age limit when the worker looks
        wait_for(lambda: requests_to(world, fresh)[0]["state"] == "done", "the fresh request",
                 timeout=15)
        [call] = makecalls(world, fresh)
        control(world["sim"], f"calls/{call['callid']}/hangup", {"side": "caller"})
    assert makecalls(world, claimed) == []
    assert requests_to(world, claimed)[0]["state"] == "dialing"
