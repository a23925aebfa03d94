# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What a realtor sees, end to end: Chromium, Odoo, the worker and the simulator, all real.

The screenshots it takes go to .data/screenshots/, or to docs/screenshots/ for the README with
``REALTOR_3CX_UPDATE_SCREENSHOTS=1 make test T=tests/test_browser_e2e.py``.
"""

import contextlib
import itertools
import os
import re
import time

import pytest
from browser_env import PASSWORD, ROOT, launch, login, odoo_server, signed_in
from playwright.sync_api import expect, sync_playwright
from threecx_sim import SECRET, control, running_simulator, wait_for
from worker_env import OdooDb, Worker

NUMBER = "+15550108301"
DID = "+15550108390"
WORLDS = itertools.count()
# The README's screenshots are refreshed on demand only, so a test run leaves the checkout clean.
SHOTS = (ROOT / "docs" / "screenshots" if os.environ.get("REALTOR_3CX_UPDATE_SCREENSHOTS")
         else ROOT / ".data" / "screenshots")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    db = OdooDb()
    logs = tmp_path_factory.mktemp("e2e")
    with running_simulator() as sim:
        # Other files start this world too (test_day_softphone.py), in the same database.
        tag = f"{os.getpid()}_{next(WORLDS)}"

        def create(env):
            # An earlier world's listing line and caller, set aside: the line is unique, and a
            # second contact on the number would make the pop-up ask who is calling.
            env["realtor.property"].search([("listing_phone", "=", DID)]).write(
                {"listing_phone": False})
            env["res.partner"].search([("phone", "=", NUMBER)]).write({"phone": False})
            # And an earlier Riley (another module's day): the dashboard would list two.
            env["res.users"].search([("name", "=", "Riley Realtor")]).write({"active": False})
            env.company.country_id = env.ref("base.us")
            realtor_group = env.ref("realtor_3cx.realtor_3cx_group_user")
            manager_group = env.ref("realtor_3cx.realtor_3cx_group_manager")
            realtor = env["res.users"].create({
                "name": "Riley Realtor", "login": f"riley_{tag}", "password": PASSWORD,
                "tz": "UTC", "groups_id": [(6, 0, [env.ref("base.group_user").id,
                                                   realtor_group.id])]})
            manager = env["res.users"].create({
                "name": "Max Manager", "login": f"max_{tag}", "password": PASSWORD,
                "groups_id": [(6, 0, [env.ref("base.group_user").id, manager_group.id])]})
            server = env["threecx.server"].create({
                "name": "E2E PBX", "base_url": sim.url, "client_id": "900",
                "api_secret": SECRET})
            env["threecx.extension"].create([
                {"server_id": server.id, "number": "101", "user_id": realtor.id},
                {"server_id": server.id, "number": "102", "user_id": manager.id}])
            partner = env["res.partner"].create({"name": "Dana Buyer", "phone": NUMBER})
            listing = env["realtor.property"].create({
                "name": "7 Harbour Street", "listing_phone": DID,
                "listing_agent_id": realtor.id, "interested_partner_ids": [(6, 0, [partner.id])]})
            return {"server": server.id, "partner": partner.id, "property": listing.id,
                    "realtor": realtor.login, "manager": manager.login, "realtor_id": realtor.id}

        ids = db.do(create)
        worker = Worker(db, ids["server"], logs / "worker.log")
        try:
            with odoo_server(db.conf, db.db, logs / "odoo.log") as url, sync_playwright() as pw:
                browser = launch(pw)
                wait_for(lambda: db.do(lambda env: env["threecx.server"].browse(
                    ids["server"]).connection_state) == "connected", "the worker", timeout=30)
                yield {"db": db, "sim": sim, "url": url, "browser": browser, **ids,
                       "worker": worker, "logs": logs, "playwright": pw}
                browser.close()
        finally:
            worker.stop()


@pytest.fixture
def realtor_page(world):
    with signed_in(world["browser"], world["url"], world["realtor"], world["logs"]) as page:
        yield page
        dialogs = page.locator(".o_technical_modal .modal-body")
        if dialogs.count():
            print("dialog:", dialogs.first.inner_text()[:2000])


def test_a_ringing_contact_pops_up_and_opens(world, realtor_page):
    page = realtor_page
    SHOTS.mkdir(parents=True, exist_ok=True)
    call = control(world["sim"], "calls/inbound", {
        "from": NUMBER, "to": "101", "did": DID, "name": "DANA BUYER", "ring_seconds": 600})
    popup = page.locator(".o_realtor_3cx_popup[data-call-id]").first
    expect(popup).to_be_visible(timeout=10000)
    expect(popup.locator(".o_realtor_3cx_popup_title")).to_have_text("Dana Buyer")
    expect(popup.locator(".o_realtor_3cx_popup_listing")).to_contain_text("7 Harbour Street")
    popup.screenshot(path=str(SHOTS / "popup.png"))
    popup.locator(".o_realtor_3cx_open_contact").click()
    expect(page.locator(".o_last_breadcrumb_item")).to_contain_text("Dana Buyer",
                                                                    timeout=10000)
    # Odoo's router writes the URL just after the form shows: wait for it.
    expect(page).to_have_url(re.compile(rf"res\.partner/{world['partner']}\b"))
    control(world["sim"], f"calls/{call['callid']}/hangup", {"side": "caller"})
    expect(page.locator(".o_realtor_3cx_popup")).to_have_count(0, timeout=10000)


def test_click_to_call_dials_from_the_realtors_extension_then_asks_the_outcome(
        world, realtor_page):
    page, sim, db = realtor_page, world["sim"], world["db"]
    page.goto(f"{world['url']}/odoo/action-contacts.action_contacts/{world['partner']}")
    dial = page.locator(".o_field_widget[name=phone] .o_realtor_3cx_dial")
    expect(dial).to_be_visible(timeout=15000)
    before = {c["callid"] for c in control(sim, "calls", method="GET")}
    dial.click()
    status = page.locator(".o_field_widget[name=phone] .o_realtor_3cx_dial_status")
    # The worker's "placed" and the contact's answer both come on the bus, at times in one
    # delivery: the page may go straight to Connected.
    expect(status).to_have_attribute("data-status", re.compile("ringing|connected"),
                                     timeout=15000)
    placed = wait_for(lambda: [c for c in control(sim, "calls", method="GET")
                               if c["callid"] not in before], "the makecall in the simulator")
    assert (placed[0]["caller"], placed[0]["callee"]) == ("101", NUMBER)  # the ground truth
    callid = placed[0]["callid"]
    wait_for(lambda: control(sim, f"calls/{callid}", method="GET")["answered_at"],
             "the contact to answer")
    expect(status).to_have_attribute("data-status", "connected", timeout=10000)
    time.sleep(1)  # they talk: a call with a talk time, as the outcome panel follows one
    control(sim, f"calls/{callid}/hangup", {"side": "callee"})
    dialog = page.locator(".o_realtor_3cx_outcome")
    expect(dialog).to_be_visible(timeout=10000)
    page.locator("[data-outcome=showing_booked]").click()
    page.fill(".o_realtor_3cx_outcome_notes", "Saturday 10:00 at 7 Harbour Street")
    page.locator(".o_realtor_3cx_outcome_save").click()
    expect(dialog).to_have_count(0, timeout=10000)

    def showing(env):
        partner = env["res.partner"].browse(world["partner"])
        return [(a.activity_type_id.name, a.user_id.id) for a in partner.activity_ids
                if a.activity_type_id == env.ref("realtor_3cx.mail_activity_type_showing")]

    assert db.do(showing) == [("Showing", world["realtor_id"])]
    # The contact's calls tab, with the call just made, for the README.
    page.reload()
    page.locator(".o_notebook .nav-link", has_text="Calls").click()
    expect(page.locator(".o_notebook .o_data_row").first).to_be_visible(timeout=10000)
    page.screenshot(path=str(SHOTS / "contact_calls.png"))


def test_do_not_call_is_refused_with_the_reason(world, realtor_page):
    page, db = realtor_page, world["db"]

    def flag(env, value):
        partner = env["res.partner"].browse(world["partner"])
        if value:
            partner._realtor_3cx_record_revocation("realtor")
        else:  # the ledger is append-only: the contact's consent is a new entry
            partner._realtor_3cx_record_consent("manager", note="test_browser_e2e: called again")

    db.do(lambda env: flag(env, True))
    try:
        page.goto(f"{world['url']}/odoo/action-contacts.action_contacts/{world['partner']}")
        # Refused before anyone clicks (the reason on hover), with no tel: way around it;
        # tests/test_day_outbound.py lives the rest.
        dial = page.locator(".o_field_widget[name=phone] .o_realtor_3cx_dial")
        expect(dial).to_be_disabled(timeout=10000)
        assert "do-not-call" in dial.get_attribute("title")
        expect(page.locator("a[href^='tel:']")).to_have_count(0)
    finally:
        db.do(lambda env: flag(env, False))


def test_the_live_dashboard_shows_calls_and_presence(world):
    with signed_in(world["browser"], world["url"], world["manager"], world["logs"],
                   systray=False) as page:
        call = control(world["sim"], "calls/inbound", {
            "from": NUMBER, "to": "101", "ring_seconds": 600})
        control(world["sim"], f"calls/{call['callid']}/answer", {"dn": "101"})
        page.goto(f"{world['url']}/odoo/action-realtor_3cx.threecx_call_dashboard_action")
        talking = page.locator(".o_realtor_3cx_talking tbody tr", has_text="Dana Buyer")
        expect(talking).to_be_visible(timeout=15000)
        presence = page.locator(".o_realtor_3cx_presence li", has_text="Riley Realtor")
        expect(presence).to_contain_text("On a call")
        expect(presence).not_to_contain_text("Available")
        page.screenshot(path=str(SHOTS / "dashboard.png"))
        control(world["sim"], f"calls/{call['callid']}/hangup", {"side": "caller"})
        expect(talking).to_have_count(0, timeout=10000)


def test_answer_and_decline_from_the_pop_up(world, realtor_page):
    page, sim = realtor_page, world["sim"]
    call = control(sim, "calls/inbound", {"from": NUMBER, "to": "101", "ring_seconds": 600})
    popup = page.locator(".o_realtor_3cx_popup[data-state=ringing]")
    expect(popup).to_be_visible(timeout=10000)
    popup.locator(".o_realtor_3cx_answer").click()
    wait_for(lambda: control(sim, f"calls/{call['callid']}", method="GET")["answered_by"]
             == "101", "3CX to answer on the realtor's extension")
    expect(page.locator(".o_realtor_3cx_popup[data-state=connected]")).to_be_visible(
        timeout=10000)
    control(sim, f"calls/{call['callid']}/hangup", {"side": "caller"})
    # The outcome panel follows an answered call; docked, it is in nobody's way.
    page.locator(".o_realtor_3cx_outcome").wait_for(timeout=10000)
    second = control(sim, "calls/inbound", {"from": NUMBER, "to": "101", "ring_seconds": 600})
    expect(page.locator(".o_realtor_3cx_popup[data-state=ringing]")).to_be_visible(
        timeout=10000)
    page.locator(".o_realtor_3cx_popup .o_realtor_3cx_decline").click()
    wait_for(lambda: control(sim, f"calls/{second['callid']}", method="GET")["ended_at"],
             "3CX to drop the declined call")
    assert control(sim, f"calls/{second['callid']}", method="GET")["ended_by"] == "101"
    expect(page.locator(".o_realtor_3cx_popup")).to_have_count(0, timeout=10000)


def tone_wav(path, seconds=40, hz=1000, rate=48000, on_ms=200, period_ms=1000):
    """A microphone recording of 1 kHz bursts (Chromium's fake capture device): 200 ms of tone
    every second, so each burst's return can be timed."""
    import math
    import struct
    import wave

    on, period = rate * on_ms // 1000, rate * period_ms // 1000
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(
            struct.pack("<h", int(9000 * math.sin(2 * math.pi * hz * i / rate))
                        if i % period < on else 0)
            for i in range(rate * seconds)))


HEAR_TONE = """
async () => {
    const audio = document.querySelector("audio.o_realtor_3cx_softphone_audio");
    const ctx = new AudioContext();
    await ctx.resume();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 4096;
    ctx.createMediaStreamSource(audio.srcObject).connect(analyser);
    const bins = new Float32Array(analyser.frequencyBinCount);
    const started = performance.now();
    while (performance.now() - started < 8000) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        analyser.getFloatFrequencyData(bins);
        let best = 1;
        for (let i = 2; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
        const hz = (best * ctx.sampleRate) / analyser.fftSize;
        if (bins[best] > -70 && Math.abs(hz - 1000) < 30) {
            return { hz, db: bins[best], after: performance.now() - started };
        }
    }
    return null;
}
"""


# The page's own senders, for the latency probe: recorded by the test, not by the product.
KEEP_LOCAL_TRACKS = """
window.__localAudio = [];
const addTrack = RTCPeerConnection.prototype.addTrack;
RTCPeerConnection.prototype.addTrack = function (track, ...streams) {
    window.__localAudio.push(track);
    return addTrack.call(this, track, ...streams);
};
"""

TONE_LEVEL = """
async (ms) => {
    // The loudest the 1 kHz bin of what the browser receives gets over ``ms``, in dB.
    const audio = document.querySelector("audio.o_realtor_3cx_softphone_audio");
    const ctx = new AudioContext();
    await ctx.resume();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 4096;
    ctx.createMediaStreamSource(audio.srcObject).connect(analyser);
    const bins = new Float32Array(analyser.frequencyBinCount);
    const bin = Math.round((1000 * analyser.fftSize) / ctx.sampleRate);
    let loudest = -200;
    const started = performance.now();
    while (performance.now() - started < ms) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        analyser.getFloatFrequencyData(bins);
        loudest = Math.max(loudest, bins[bin - 1], bins[bin], bins[bin + 1]);
    }
    await ctx.close();
    return loudest;
}
"""

ROUND_TRIP = """
async (ms) => {
    // Time each burst the microphone sends until it comes back in what the browser receives:
    // both streams go into one AudioWorklet, so both are timed on the same audio clock.
    const audio = document.querySelector("audio.o_realtor_3cx_softphone_audio");
    const local = new MediaStream([window.__localAudio.at(-1)]);
    const ctx = new AudioContext();
    await ctx.resume();
    const code = `registerProcessor("levels", class extends AudioWorkletProcessor {
        process(inputs) {
            const level = (input) => {
                const data = input[0] || [];
                let sum = 0;
                for (const x of data) sum += x * x;
                return data.length ? sum / data.length : 0;
            };
            this.port.postMessage([currentTime, level(inputs[0]), level(inputs[1])]);
            return true;
        }
    });`;
    await ctx.audioWorklet.addModule(
        URL.createObjectURL(new Blob([code], { type: "text/javascript" })));
    const node = new AudioWorkletNode(ctx, "levels", { numberOfInputs: 2 });
    const blocks = [];
    node.port.onmessage = ({ data }) => blocks.push(data);
    ctx.createMediaStreamSource(local).connect(node, 0, 0);
    ctx.createMediaStreamSource(audio.srcObject).connect(node, 0, 1);
    const silent = ctx.createGain();
    silent.gain.value = 0;
    node.connect(silent).connect(ctx.destination);
    await new Promise((resolve) => setTimeout(resolve, ms));
    await ctx.close();
    const onsets = (channel) => {
        // An absolute threshold (-40 dB): the microphone's automatic gain makes the first
        // burst louder than the next ones; silence between bursts is far below it.
        const found = [];
        let quietSince = -1;
        for (const b of blocks) {
            if (b[channel] > 1e-4) {
                if (quietSince >= 0 && b[0] - quietSince > 0.1) found.push(b[0]);
                quietSince = -1;
            } else if (quietSince < 0) {
                quietSince = b[0];
            }
        }
        return found;
    };
    const sent = onsets(1), back = onsets(2);
    const trips = sent
        .map((t) => back.find((r) => r > t && r - t < 0.9))
        .map((r, i) => (r === undefined ? null : (r - sent[i]) * 1000))
        .filter((x) => x !== null);
    return { sent: sent.length, back: back.length, trips };
}
"""


@contextlib.contextmanager
def fake_microphone_page(world, tmp_path):
    """A realtor's page in another Chromium whose microphone plays 1 kHz bursts (the module's
    Playwright: it cannot be started twice in one thread); the simulator echoes."""
    control(world["sim"], "config", {"audio": "echo"})
    wav = tmp_path / "tone.wav"
    tone_wav(wav)
    browser = launch(world["playwright"], "--use-fake-ui-for-media-stream",
                     "--use-fake-device-for-media-stream",
                     f"--use-file-for-fake-audio-capture={wav}",
                     "--autoplay-policy=no-user-gesture-required")
    context = browser.new_context(permissions=["microphone"])
    context.add_init_script(KEEP_LOCAL_TRACKS)
    page = context.new_page()
    try:
        login(page, world["url"], world["realtor"])
        page.wait_for_selector(".o_realtor_3cx_systray", timeout=20000)
        yield page
    finally:
        context.close()
        browser.close()
        control(world["sim"], "config", {"audio": "tone"})


def call_from_softphone(page, sim, number):
    """Dial ``number`` from the systray softphone until connected; the simulator's call id."""
    page.locator(".o_realtor_3cx_softphone_toggle").click()
    page.fill(".o_realtor_3cx_softphone_number", number)
    page.locator(".o_realtor_3cx_softphone_call").click()
    expect(page.locator(".o_realtor_3cx_softphone[data-status=connected]")).to_be_visible(
        timeout=20000)
    return next(c["callid"] for c in reversed(control(sim, "calls", method="GET"))
                if c["callee"] == number)


def test_a_browser_call_from_the_softphone_hears_its_own_tone_back(world, tmp_path):
    """Chromium's fake microphone plays 1 kHz bursts; the simulator echoes; the browser hears
    them and times their round trip; keys reach the far end; hold silences the microphone;
    another microphone can be chosen mid-call."""
    sim = world["sim"]
    number = "+15550108901"
    with fake_microphone_page(world, tmp_path) as page:
        callid = call_from_softphone(page, sim, number)
        page.wait_for_selector("audio.o_realtor_3cx_softphone_audio", state="attached")
        heard = page.evaluate(HEAR_TONE)
        assert heard, "the browser did not hear its tone come back through 3CX"
        print(f"heard {heard['hz']:.0f} Hz at {heard['db']:.0f} dB")

        measured = page.evaluate(ROUND_TRIP, 6000)
        trips = sorted(measured["trips"])
        backlog = max(figures.get("echo_backlog_ms", 0)
                      for figures in control(sim, "stats", method="GET")["streams"].values())
        print(f"round trip in Chromium (microphone to loudspeaker, through Odoo's worker and "
              f"3CX's echo): median {trips[len(trips) // 2]:.0f} ms over {len(trips)} bursts, "
              f"all {[round(t) for t in trips]}; the echo held at most "
              f"{backlog} ms")
        assert measured["sent"] >= 4 and len(trips) >= measured["sent"] - 1, measured
        assert trips[len(trips) // 2] < 1000, trips

        # Keys: the far end hears their tones (an IVR would act on them).
        for key in "15#":
            page.locator(".o_realtor_3cx_keypad button", has_text=key).click()
        expect(page.locator(".o_realtor_3cx_softphone_keys")).to_have_text("15#")
        wait_for(lambda: control(sim, f"calls/{callid}", method="GET")["heard_dtmf"] == "15#",
                 "the far end to hear the keys")

        # Hold: the microphone stops reaching the far end (its echo carries no 1 kHz), then
        # comes back.
        talking = page.evaluate(TONE_LEVEL, 1500)
        page.locator(".o_realtor_3cx_softphone_hold").click()
        expect(page.locator(".o_realtor_3cx_softphone_hold.btn-warning")).to_be_visible()
        time.sleep(0.6)  # what was already on its way back
        held = page.evaluate(TONE_LEVEL, 2000)
        page.locator(".o_realtor_3cx_softphone_hold").click()
        expect(page.locator(".o_realtor_3cx_softphone_hold.btn-outline-secondary")).to_be_visible()
        time.sleep(0.6)
        resumed = page.evaluate(TONE_LEVEL, 1500)
        print(f"1 kHz level: talking {talking:.0f} dB, on hold {held:.0f} dB, "
              f"resumed {resumed:.0f} dB")
        assert talking > -70 and resumed > -70 and held < talking - 20, (talking, held, resumed)

        # Another microphone, mid-call: the choice is kept and the far end still hears us.
        page.locator(".o_realtor_3cx_softphone_settings_toggle").click()
        options = page.locator(".o_realtor_3cx_softphone_microphone option")
        expect(options).not_to_have_count(1)  # the system default and the fake devices
        choice = options.nth(options.count() - 1).get_attribute("value")
        page.select_option(".o_realtor_3cx_softphone_microphone", choice)
        wait_for(lambda: page.evaluate(
            "localStorage.getItem('realtor_3cx.microphone')") == choice, "the choice kept")
        assert page.evaluate("window.__localAudio.length") == 1  # replaced, not renegotiated
        assert page.evaluate(TONE_LEVEL, 2000) > -70, "no tone after changing microphones"

        page.locator(".o_realtor_3cx_softphone_mute").click()
        expect(page.locator(".o_realtor_3cx_softphone_mute .fa-microphone-slash")).to_be_visible()
        page.locator(".o_realtor_3cx_softphone_hangup").click()
        expect(page.locator(".o_realtor_3cx_softphone[data-status=ended]")).to_be_visible(
            timeout=10000)
        # The bridge closes in the media process, off the worker's event loop (seconds).
        wait_for(lambda: "bridged to 3CX call" in world["worker"].output()
                 and "closed (peer" in world["worker"].output(), "the worker's teardown",
                 timeout=20)
        wait_for(lambda: control(sim, "stats", method="GET")["open_streams"] == 0,
                 "3CX's audio streams to close")


def test_the_far_end_hanging_up_ends_the_browser_call_everywhere(world, tmp_path):
    sim = world["sim"]
    number = "+15550108912"  # not test_crm_e2e.py's do-not-call number
    with fake_microphone_page(world, tmp_path) as page:
        callid = call_from_softphone(page, sim, number)
        wait_for(lambda: control(sim, "stats", method="GET")["open_streams"] == 2,
                 "the bridge's two audio streams")
        control(sim, f"calls/{callid}/hangup", {"side": "callee"})
        expect(page.locator(".o_realtor_3cx_softphone[data-status=ended]")).to_be_visible(
            timeout=10000)
        # Nothing left anywhere: no audio element or microphone in the page, no stream at
        # 3CX, and the session closed in Odoo.
        expect(page.locator("audio.o_realtor_3cx_softphone_audio")).to_have_count(0)
        assert page.evaluate("window.__localAudio.at(-1).readyState") == "ended"
        wait_for(lambda: control(sim, "stats", method="GET")["open_streams"] == 0,
                 "3CX's audio streams to close")
        assert world["db"].do(lambda env: env["threecx.softphone.session"].search(
            [("call_id", "=", str(callid))]).mapped("state")) == ["ended"]


def test_an_incoming_call_answered_in_the_browser(world, tmp_path):
    with fake_microphone_page(world, tmp_path) as page:
        call = control(world["sim"], "calls/inbound", {
            "from": NUMBER, "to": "101", "ring_seconds": 600})
        page.locator(".o_realtor_3cx_popup .o_realtor_3cx_answer_here").click(timeout=15000)
        expect(page.locator(".o_realtor_3cx_softphone[data-status=connected]")).to_be_visible(
            timeout=20000)
        truth = control(world["sim"], f"calls/{call['callid']}", method="GET")
        assert truth["answered_by"] == "900"  # taken on the route point, bridged to the page
        page.wait_for_selector("audio.o_realtor_3cx_softphone_audio", state="attached")
        assert page.evaluate(HEAR_TONE), "the browser did not hear the call's audio"
        # Hand the caller to a colleague: the browser leaves the call, the caller stays.
        page.fill(".o_realtor_3cx_softphone_transfer_to", "102")
        page.locator(".o_realtor_3cx_softphone_transfer").click()
        expect(page.locator(".o_realtor_3cx_softphone")).to_have_count(0, timeout=15000)
        moved = control(world["sim"], f"calls/{call['callid']}", method="GET")
        assert [leg["dn"] for leg in moved["legs"]] == ["102"] and moved["ended_at"] is None
        control(world["sim"], f"calls/{call['callid']}/answer", {"dn": "102"})
        time.sleep(1)  # they talk
        control(world["sim"], f"calls/{call['callid']}/hangup", {"side": "caller"})

        def logged(env):
            record = env["threecx.call"].search([
                ("server_id", "=", world["server"]), ("call_id", "=", str(call["callid"]))])
            return record.state == "completed" and record.transfer_path == "101 → 102"

        wait_for(lambda: world["db"].do(logged), "one record, the realtor then the colleague",
                 timeout=10)
