# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A realtor's day: a call's transcript, summary and debrief, end to end.

Chromium as a realtor against Odoo, the worker and the simulator, all real. First 3CX
transcribes only what it is asked to: the call form's button only queues the request; the
worker asks 3CX, and the transcript and its summary show on the call form once 3CX has them.
Then 3CX transcribes every recording by itself: the summary lands on the call, the contact's
chatter (the summary only) and the outcome prompt, open since the hang-up, with a suggested
outcome; a voicemail's words are in its call-back and on the caller's next pop-up. Last, a
recording 3CX does not transcribe is transcribed on this machine from the downloaded audio.
Each screen is saved to docs/screenshots/day/transcript_*.png (see browser_env.DAY_SHOTS).
"""

import base64
import os
import re
import time
import urllib.request

import pytest
from browser_env import DAY_SHOTS, PASSWORD, launch, login, odoo_server
from playwright.sync_api import expect, sync_playwright
from speech_clips import CLIPS, speak, word_error_rate
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

    # Later, in the Calls list, the realtor looks for what was said: words, or their starts.
    page.goto(f"{world['url']}/odoo/action-realtor_3cx.threecx_call_action")
    rows = page.locator(".o_list_view .o_data_row")
    expect(rows.first).to_be_visible(timeout=20000)
    search = page.locator(".o_searchview_input")
    search.fill("pier roa")
    option = page.locator(".o_searchview_autocomplete .o_menu_item",
                          has_text="Search Transcript for")
    expect(option).to_be_visible(timeout=10000)
    option.click()
    expect(page.locator(".o_searchview_facet", has_text="pier roa")).to_be_visible()
    expect(rows).to_have_count(1, timeout=15000)
    rows.first.click()
    expect(page.locator(".o_form_view").get_by_text(SUMMARY)).to_be_visible(timeout=20000)
    page.locator(".o_breadcrumb .breadcrumb-item a").first.click()
    # A word is a word: "lofts" was not said.
    facet = page.locator(".o_searchview_facet", has_text="pier roa")
    expect(facet).to_be_visible(timeout=15000)
    facet.locator(".o_facet_remove").click()
    expect(facet).to_have_count(0)
    search.fill("lofts")
    expect(option).to_be_visible(timeout=10000)
    option.click()
    expect(rows).to_have_count(0, timeout=15000)


def talk(world, page, said, summary=None):
    """A call from the contact answered on the desk phone, with what 3CX's transcription will
    hear in its recording; returns its 3CX id once the caller hung up."""
    sim = world["sim"]
    callid = control(sim, "calls/inbound", {"from": NUMBER, "to": "101",
                                            "ring_seconds": 600})["callid"]
    wait_for(lambda: call_fields(world, callid), "the call's record", timeout=15)
    control(sim, f"calls/{callid}/answer", {"dn": "101"})
    expect(page.locator(".o_realtor_3cx_popup[data-state=connected]")).to_be_visible(
        timeout=15000)
    control(sim, "transcripts", {"callid": callid, **said})
    control(sim, f"calls/{callid}/hangup", {"side": "caller"})
    return callid


def debrief_of(world, callid):
    def read(env):
        call = env["threecx.call"].search([("server_id", "=", world["server"]),
                                           ("call_id", "=", str(callid))])
        posted = call.partner_id.message_ids.filtered(lambda m: m == call.transcript_message_id)
        return {"id": call.id, "state": call.transcript_state, "text": call.transcript,
                "summary": call.transcript_summary, "source": call.transcript_source,
                "notes": call.notes, "outcome": call.outcome_id.code,
                "posted": posted.mapped("body"),
                "on_contact": [m.body for m in call.partner_id.message_ids
                               if SUMMARY_2 in (m.body or "")],
                "activities": [a.note for a in call.activity_ids]}
    return world["db"].do(read)


SAID_2 = ("Realtor: Hi Jo, Tess again.\nCaller: We would love a viewing of the Pier Road loft "
          "on Saturday. My budget is firm.")
SUMMARY_2 = "Jo wants a viewing of the Pier Road loft on Saturday."


def test_3cx_s_summary_lands_on_the_call_the_contact_and_the_open_outcome_prompt(world, page):
    db = world["db"]
    # 3CX transcribes every recording by itself, 100 s of PBX time (5 s) after writing it:
    # the prompt is open, and typed in, before the summary comes.
    control(world["sim"], "config", {"transcription": "auto", "transcribe_delay": 100.0})
    db.do(lambda env: env["threecx.server"].browse(world["server"]).write(
        {"transcripts_from_3cx": True}))
    page.goto(f"{world['url']}/odoo/action-contacts.action_contacts")
    expect(page.locator(".o_kanban_view")).to_be_visible(timeout=15000)
    callid = talk(world, page, {"text": SAID_2, "summary": SUMMARY_2, "sentiment": 8})
    record_id = wait_for(lambda: call_fields(world, callid)["state"] == "completed"
                         and call_fields(world, callid)["id"], "the completed call", timeout=15)
    panel = page.locator(".o_realtor_3cx_outcome_panel")
    if panel.locator(f".o_realtor_3cx_outcome_item[data-call-id='{record_id}']").count():
        panel.locator(f".o_realtor_3cx_outcome_item[data-call-id='{record_id}']").click()
    prompt = panel.locator(f".o_realtor_3cx_outcome[data-call-id='{record_id}']")
    expect(prompt).to_be_visible(timeout=15000)
    prompt.locator(".o_realtor_3cx_outcome_notes").fill("Bring the floor plan.")
    assert debrief_of(world, callid)["state"] != "done"  # typed before the summary came
    summary = prompt.locator(".o_realtor_3cx_outcome_summary")
    # Live on the bus once the worker stored 3CX's transcript: no reload.
    expect(summary).to_have_value(SUMMARY_2, timeout=60000)
    expect(prompt.locator(".o_realtor_3cx_outcome_notes")).to_have_value("Bring the floor plan.")
    expect(prompt.locator("[data-outcome=showing_booked][data-suggested='1']")).to_have_class(
        re.compile(r"\bbtn-primary\b"))  # chosen for the realtor to confirm
    expect(prompt.locator(".o_realtor_3cx_outcome_suggestion")).to_contain_text(
        "Showing booked")
    page.screenshot(path=str(DAY_SHOTS / "transcript_3_outcome_prompt.png"))
    got = debrief_of(world, callid)
    assert (got["text"], got["summary"], got["source"]) == (SAID_2, SUMMARY_2, "threecx")
    # The contact's chatter: the summary, once, with a link to the call; not the transcript.
    assert len(got["on_contact"]) == 1 and got["posted"] == got["on_contact"]
    assert f"/odoo/threecx.call/{record_id}" in got["posted"][0]
    assert "budget is firm" not in got["posted"][0]
    # The realtor corrects the summary and confirms the suggested outcome.
    summary.fill("Jo wants a viewing of the Pier Road loft, Saturday 10:00.")
    prompt.locator(".o_realtor_3cx_outcome_save").click()
    expect(prompt).to_have_count(0, timeout=10000)
    got = debrief_of(world, callid)
    assert got["outcome"] == "showing_booked"
    assert got["notes"] == ("Jo wants a viewing of the Pier Road loft, Saturday 10:00.\n\n"
                            "Bring the floor plan.")
    page.goto(f"{world['url']}/odoo/action-contacts.action_contacts/{world['partner']}")
    chatter = page.locator(".o-mail-Chatter")
    expect(chatter.get_by_text(SUMMARY_2)).to_be_visible(timeout=20000)
    expect(chatter.get_by_text("budget is firm")).to_have_count(0)
    page.screenshot(path=str(DAY_SHOTS / "transcript_4_contact_chatter.png"))


def test_a_voicemail_s_words_are_in_its_call_back_and_on_the_next_pop_up(world, page):
    sim, db = world["sim"], world["db"]
    control(sim, "config", {"transcription": "auto", "transcribe_delay": 20.0})
    db.do(lambda env: env["threecx.server"].browse(world["server"]).write(
        {"transcripts_from_3cx": True}))
    page.goto(f"{world['url']}/odoo/action-contacts.action_contacts")
    expect(page.locator(".o_kanban_view")).to_be_visible(timeout=15000)
    message = "Hi Tess, it is Jo. Call me back about an offer on the Pier Road loft."
    callid = control(sim, "calls/inbound", {"from": NUMBER, "to": "101",
                                            "ring_seconds": 2})["callid"]
    control(sim, "transcripts", {"callid": callid, "text": message})
    got = wait_for(lambda: (f := debrief_of(world, callid))["state"] == "done" and f,
                   "the voicemail's transcript", timeout=60)
    assert len(got["activities"]) == 1 and "an offer on the Pier Road loft" in \
        got["activities"][0]
    # Jo calls again: the card says what the message said.
    again = control(sim, "calls/inbound", {"from": NUMBER, "to": "101",
                                           "ring_seconds": 600})["callid"]
    line = page.locator(".o_realtor_3cx_popup[data-state=ringing] .o_realtor_3cx_popup_voicemail")
    expect(line).to_contain_text(f"Left a voicemail: “{message}”", timeout=15000)
    page.screenshot(path=str(DAY_SHOTS / "transcript_5_voicemail_on_the_pop_up.png"))
    control(sim, f"calls/{again}/hangup", {"side": "caller"})
    expect(line).to_have_count(0, timeout=15000)


def test_a_recording_3cx_does_not_transcribe_is_transcribed_here_and_suggests(world, page,
                                                                              tmp_path):
    sim, db = world["sim"], world["db"]
    # 3CX's transcription is off (its default): "3CX, else this machine" falls back.
    control(sim, "config", {"transcription": "off"})
    db.do(lambda env: env["threecx.server"].browse(world["server"]).write(
        {"transcripts_from_3cx": True, "transcription_engine": "threecx_local"}))
    voice, said = CLIPS[18]  # "The appraisal came in a little lower than the contract price."
    wav = tmp_path / "said.wav"
    speak(said, wav, voice)
    page.goto(f"{world['url']}/odoo/action-contacts.action_contacts")
    expect(page.locator(".o_kanban_view")).to_be_visible(timeout=15000)
    callid = talk(world, page, {"text": "", "audio": base64.b64encode(wav.read_bytes()).decode()})
    # The engine's first call loads the model (about 15 s on a loaded machine).
    got = wait_for(lambda: (f := debrief_of(world, callid))["state"] == "done" and f,
                   "the transcript made here", timeout=180)
    assert (got["source"], got["summary"], got["posted"]) == ("local", False, [])
    assert word_error_rate([(said, got["text"])]) < 0.35, got["text"]
    assert "transcript of call %s made here" % callid in world["worker"].output()
    # No summary from this machine's engine: the prompt suggests from the transcript.
    panel = page.locator(".o_realtor_3cx_outcome_panel")
    item = panel.locator(f".o_realtor_3cx_outcome_item[data-call-id='{got['id']}']")
    if item.count():
        item.click()
    prompt = panel.locator(f".o_realtor_3cx_outcome[data-call-id='{got['id']}']")
    expect(prompt.locator(".o_realtor_3cx_outcome_suggestion")).to_contain_text(
        "Listing appointment", timeout=20000)
    page.goto(f"{world['url']}/odoo/action-realtor_3cx.threecx_call_action/{got['id']}")
    expect(page.locator(".o_form_view").get_by_text("appraisal")).to_be_visible(timeout=20000)
    page.screenshot(path=str(DAY_SHOTS / "transcript_6_made_here.png"))
