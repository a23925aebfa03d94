# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A realtor's day: asking 3CX for a call's transcript from the call form, end to end.

Chromium as a realtor against Odoo, the worker and the simulator (3CX transcribing only what
it is asked to), all real. The button only queues the request; the worker asks 3CX, and the
transcript and its summary show on the call form once 3CX has them. Each screen is saved to
docs/screenshots/day/transcript_*.png (see browser_env.DAY_SHOTS).
"""

import os
import time
import urllib.request

import pytest
from browser_env import DAY_SHOTS, PASSWORD, launch, login, odoo_server
from playwright.sync_api import expect, sync_playwright
from threecx_sim import SECRET, control, running_simulator, wait_for
from worker_env import OdooDb, Worker

NUMBER = f"+1555021{os.getpid() % 10000:04d}"  # test_xss_e2e has +1555019...
SAID = "Realtor: Hi Jo, it is Tess.\nCaller: Hi Tess, can we see the loft on Pier Road?"
SUMMARY = "Jo wants to view the loft on Pier Road."


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    db = OdooDb()
    logs = tmp_path_factory.mktemp("transcript")
    # 3CX transcribes on request, 60 s of PBX time (3 s) after it is asked.
    with running_simulator(transcription="request", transcribe_delay=60.0) as sim:
        tag = f"tr{os.getpid()}"

        def create(env):
            env.company.country_id = env.ref("base.us")
            realtor = env["res.users"].create({
                "name": "Tess Transcript", "login": f"tess_{tag}", "password": PASSWORD,
                "tz": "UTC", "groups_id": [(6, 0, [
                    env.ref("base.group_user").id,
                    env.ref("realtor_3cx.realtor_3cx_group_user").id])]})
            server = env["threecx.server"].create({
                "name": "Transcript PBX", "base_url": sim.url, "client_id": "900",
                "api_secret": SECRET, "record_calls": True, "transcripts_from_3cx": False})
            env["threecx.extension"].create(
                {"server_id": server.id, "number": "101", "user_id": realtor.id})
            partner = env["res.partner"].create({"name": "Jo Transcript", "phone": NUMBER})
            return {"server": server.id, "partner": partner.id, "realtor": realtor.login}

        ids = db.do(create)
        worker = Worker(db, ids["server"], logs / "worker.log",
                        REALTOR_3CX_WORKER_RECORDING_RETRY="0.5")
        try:
            with odoo_server(db.conf, db.db, logs / "odoo.log") as url, sync_playwright() as pw:
                for path in ("/web/binary/company_logo", "/web/static/img/favicon.ico"):
                    with urllib.request.urlopen(f"{url}{path}", timeout=60):
                        pass
                browser = launch(pw)
                wait_for(lambda: db.do(lambda env: env["threecx.server"].browse(
                    ids["server"]).connection_state) == "connected", "the worker", timeout=30)
                DAY_SHOTS.mkdir(parents=True, exist_ok=True)
                yield {"db": db, "sim": sim, "url": url, "browser": browser, "logs": logs,
                       "worker": worker, **ids}
                browser.close()
        finally:
            worker.stop()
            print(worker.output()[-3000:])


@pytest.fixture
def page(world):
    context = world["browser"].new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    login(page, world["url"], world["realtor"])
    yield page
    last = world["logs"] / f"last-{time.monotonic_ns()}.png"
    page.screenshot(path=str(last))
    print("last screen:", last, "url:", page.url)
    context.close()


def call_fields(world, callid):
    def read(env):
        call = env["threecx.call"].search([("server_id", "=", world["server"]),
                                           ("call_id", "=", str(callid))])
        return call and {"id": call.id, "state": call.state, "recording": call.recording_state,
                         "transcript": call.transcript_state, "ask": call.transcript_ask}
    return world["db"].do(read)


def test_a_realtor_requests_a_transcript_and_reads_it_on_the_call(world, page):
    sim = world["sim"]
    callid = control(sim, "calls/inbound", {"from": NUMBER, "to": "101",
                                            "ring_seconds": 600})["callid"]
    wait_for(lambda: call_fields(world, callid), "the call's record", timeout=15)
    control(sim, f"calls/{callid}/answer", {"dn": "101"})
    wait_for(lambda: call_fields(world, callid)["state"] == "connected", "the answer",
             timeout=15)
    control(sim, "transcripts", {"callid": callid, "text": SAID, "summary": SUMMARY,
                                 "sentiment": 9})
    control(sim, f"calls/{callid}/hangup", {"side": "caller"})
    fields = wait_for(lambda: (f := call_fields(world, callid))["recording"] == "fetched"
                      and f, "the recording", timeout=30)
    assert fields["transcript"] == "none"  # this server waits for no transcript by itself

    page.goto(f"{world['url']}/odoo/action-realtor_3cx.threecx_call_action/{fields['id']}")
    button = page.get_by_role("button", name="Request transcription")
    expect(button).to_be_visible(timeout=20000)
    expect(page.get_by_text("Pier Road")).to_have_count(0)
    page.screenshot(path=str(DAY_SHOTS / "transcript_1_request.png"))
    button.click()
    # The click only queued the request on the call: the worker asks 3CX.
    expect(button).to_be_hidden(timeout=10000)
    assert call_fields(world, callid)["transcript"] in ("requested", "done")
    wait_for(lambda: "was asked to transcribe" in world["worker"].output(),
             "the worker to ask 3CX", timeout=30)
    wait_for(lambda: call_fields(world, callid)["transcript"] == "done", "the transcript",
             timeout=60)
    page.reload()
    form = page.locator(".o_form_view")
    expect(form.get_by_text(SUMMARY)).to_be_visible(timeout=20000)
    expect(form.get_by_text("can we see the loft on Pier Road?")).to_be_visible()
    expect(page.get_by_role("button", name="Request transcription")).to_have_count(0)
    form.get_by_text("can we see the loft on Pier Road?").scroll_into_view_if_needed()
    page.screenshot(path=str(DAY_SHOTS / "transcript_2_shown.png"))
