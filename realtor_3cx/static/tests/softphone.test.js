// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { describe, expect, test } from "@odoo/hoot";
import { advanceTime, click, queryAll, select } from "@odoo/hoot-dom";
import { animationFrame } from "@odoo/hoot-mock";
import { reactive } from "@odoo/owl";
import { contains, defineMailModels, start, startServer } from "@mail/../tests/mail_test_helpers";
import { getService, onRpc, patchWithCleanup } from "@web/../tests/web_test_helpers";
import { browser } from "@web/core/browser/browser";
import {
    ANSWER_TIMEOUT_MS,
    BrowserCall,
    MICROPHONE_KEY,
    SPEAKER_KEY,
} from "@realtor_3cx/core/softphone";
import { HOLDER_KEY } from "@realtor_3cx/core/call_service";

describe.current.tags("desktop");
defineMailModels();

function session() {
    onRpc("threecx.call", "realtor_3cx_session", () => ({
        extension: "101",
        server_id: 1,
        is_manager: false,
        bus_last_id: 0,
        ringing: [],
        ice_servers: [],
    }));
}

const DEVICES = [
    { kind: "audioinput", deviceId: "default", label: "Default" },
    { kind: "audioinput", deviceId: "headset-mic", label: "Headset microphone" },
    { kind: "audiooutput", deviceId: "headset-ear", label: "Headset earpiece" },
    { kind: "videoinput", deviceId: "camera", label: "Camera" },
];

/** A call already connected, with a fake control channel and microphone. */
function connectedCall() {
    const state = reactive({
        status: "connected",
        muted: false,
        held: false,
        keys: "",
        message: "",
    });
    const call = new BrowserCall(state);
    const sent = [];
    const track = { enabled: true, stop() {} };
    call.channel = { readyState: "open", send: (message) => sent.push(JSON.parse(message)) };
    call.stream = { getAudioTracks: () => [track], getTracks: () => [track] };
    call.audio = { muted: false };
    return { state, call, sent, track };
}

test("keys during a call become tones for the far end; hold silences the microphone", async () => {
    await startServer(); // the web client, for its translations
    session();
    await start();
    const { state, call, sent, track } = connectedCall();
    call.sendKeys("1");
    call.sendKeys("#");
    expect(sent).toEqual([{ dtmf: "1" }, { dtmf: "#" }]);
    expect(state.keys).toBe("1#");

    call.toggleHold();
    expect(sent.at(-1)).toEqual({ hold: true });
    expect([state.held, track.enabled, call.audio.muted]).toEqual([true, false, true]);
    expect(state.message).toBe("On hold");
    call.toggleMute(); // muted while on hold: taking the call back keeps the microphone off
    call.toggleHold();
    expect(sent.at(-1)).toEqual({ hold: false });
    expect([state.held, track.enabled, call.audio.muted]).toEqual([false, false, false]);
    call.toggleMute();
    expect(track.enabled).toBe(true);

    call.channel.readyState = "connecting"; // not yet open: nothing is pretended
    call.sendKeys("5");
    call.toggleHold();
    expect(sent.length).toBe(4);
    expect([state.keys, state.held]).toEqual(["1#", false]);
    expect(state.message).toMatch(/Not connected yet/);
});

test("the softphone's keypad dials before the call and sends keys during it", async () => {
    await startServer();
    session();
    await start();
    const calls = getService("realtor_3cx.call");
    patchWithCleanup(calls, { sendKeys: (keys) => expect.step(`keys ${keys}`) });
    await contains(".o_realtor_3cx_softphone_toggle");
    await click(".o_realtor_3cx_softphone_toggle");
    await contains(".o_realtor_3cx_softphone");
    await click(".o_realtor_3cx_keypad button:contains(5)");
    await click(".o_realtor_3cx_keypad button:contains(0)");
    await animationFrame();
    expect(".o_realtor_3cx_softphone_number").toHaveValue("50");
    expect(".o_realtor_3cx_softphone_hold").toHaveCount(0);
    Object.assign(calls.state.softphone, { status: "connected", keys: "" });
    await contains(".o_realtor_3cx_softphone_hold");
    await click(".o_realtor_3cx_keypad button:contains(9)");
    expect.verifySteps(["keys 9"]);
    expect(".o_realtor_3cx_softphone_number").toHaveValue("50");
});

test("the microphone and speaker chosen are listed and kept for this computer", async () => {
    browser.localStorage.removeItem(MICROPHONE_KEY);
    browser.localStorage.removeItem(SPEAKER_KEY);
    await startServer();
    session();
    await start();
    patchWithCleanup(browser.navigator, {
        mediaDevices: { enumerateDevices: async () => DEVICES },
    });
    await contains(".o_realtor_3cx_softphone_toggle");
    await click(".o_realtor_3cx_softphone_toggle");
    await contains(".o_realtor_3cx_softphone_settings_toggle");
    await click(".o_realtor_3cx_softphone_settings_toggle");
    await contains(".o_realtor_3cx_softphone_microphone option", { count: 3 });
    expect(
        queryAll(".o_realtor_3cx_softphone_microphone option").map((o) => o.textContent)
    ).toEqual(["System default", "Default", "Headset microphone"]);
    expect(queryAll(".o_realtor_3cx_softphone_speaker option").map((o) => o.value)).toEqual([
        "",
        "headset-ear",
    ]);
    await select("headset-mic", { target: ".o_realtor_3cx_softphone_microphone" });
    await select("headset-ear", { target: ".o_realtor_3cx_softphone_speaker" });
    await animationFrame();
    expect(browser.localStorage.getItem(MICROPHONE_KEY)).toBe("headset-mic");
    expect(browser.localStorage.getItem(SPEAKER_KEY)).toBe("headset-ear");
    // Opened again later, the settings show the choice.
    await click(".o_realtor_3cx_softphone_settings_toggle");
    await contains(".o_realtor_3cx_softphone_microphone", { count: 0 });
    await click(".o_realtor_3cx_softphone_settings_toggle");
    await contains(".o_realtor_3cx_softphone_microphone option:checked", {
        text: "Headset microphone",
    });
    await select("", { target: ".o_realtor_3cx_softphone_microphone" });
    await animationFrame();
    expect(browser.localStorage.getItem(MICROPHONE_KEY)).toBe(null);
});

// -- who is on the line; a call that outlives its page; retry only where it helps ----------

const PEER = {
    number: "+15550102030",
    name: "Jordan Lee",
    partner_id: 7,
    company: "Lee Holdings",
    property: "12 Ocean View Drive",
    candidates: 1,
};

/** A browser with a microphone and a WebRTC stack that do nothing: the signalling is real. */
function fakeWebRTC() {
    const track = { kind: "audio", enabled: true, stop() {} };
    const stream = { getAudioTracks: () => [track], getTracks: () => [track] };
    patchWithCleanup(browser.navigator, {
        mediaDevices: { getUserMedia: async () => stream, enumerateDevices: async () => [] },
    });
    const peers = [];
    class FakePeer {
        constructor() {
            peers.push(this);
            this.iceGatheringState = "complete";
            this.connectionState = "new";
            this.localDescription = null;
        }
        addTrack() {}
        createDataChannel() {
            return { readyState: "open", send() {} };
        }
        async createOffer() {
            return { type: "offer", sdp: "v=0\r\n" };
        }
        async setLocalDescription(description) {
            this.localDescription = description;
        }
        async setRemoteDescription() {}
        close() {
            this.connectionState = "closed";
        }
    }
    patchWithCleanup(window, { RTCPeerConnection: FakePeer });
    return peers;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * The offers the page makes (their parameters, the page's reference aside), answered with
 * ``answer(params)`` as Odoo and the worker do: a refusal (``ok: false``) is the route's own;
 * otherwise the route returns the session at once and the worker's answer follows on the bus
 * (``worker: {state: "failed", message, retry}`` for its failure; ``silent`` for none).
 */
function offers(pyEnv, answer) {
    const made = [];
    made.refs = [];
    onRpc("/realtor_3cx/softphone/offer", async (request) => {
        const { client_ref: clientRef, ...params } = (await request.json()).params;
        made.push(params);
        made.refs.push(clientRef);
        const result = answer(params);
        if (!result.ok) {
            return result;
        }
        if (!result.silent) {
            pyEnv["bus.bus"]._sendone("broadcast", "realtor_3cx.softphone/answer", {
                session_id: result.session_id,
                client_ref: clientRef,
                state: "answered",
                sdp: result.answer,
                message: "",
                call_id: result.call_id,
                retry: false,
                ...result.worker,
            });
        }
        return {
            ok: true,
            session_id: result.session_id,
            client_ref: clientRef,
            peer: result.peer,
        };
    });
    return made;
}

test("a call placed from the softphone shows who is on the line, and opens their card", async () => {
    const pyEnv = await startServer();
    session();
    onRpc("/realtor_3cx/softphone/live", () => false);
    fakeWebRTC();
    const made = offers(pyEnv, () => ({
        ok: true,
        session_id: 5,
        call_id: "955000001",
        answer: "v=0\r\n",
        peer: PEER,
    }));
    await start();
    const calls = getService("realtor_3cx.call");
    patchWithCleanup(getService("action"), {
        doAction: (action) => expect.step(`open ${action.res_model} ${action.res_id}`),
    });
    await contains(".o_realtor_3cx_softphone_toggle");
    await click(".o_realtor_3cx_softphone_toggle");
    await contains(".o_realtor_3cx_softphone");
    expect(".o_realtor_3cx_softphone_peer").toHaveCount(0); // no line, nobody on it
    await calls.browserCall("+15550102030");
    expect(made.map((p) => p.destination)).toEqual(["+15550102030"]);
    await contains(".o_realtor_3cx_softphone_peer_name", { text: "Jordan Lee" });
    expect(".o_realtor_3cx_softphone_peer_number").toHaveText("+15550102030");
    expect(".o_realtor_3cx_softphone_peer_company").toHaveText("Lee Holdings");
    expect(".o_realtor_3cx_softphone_peer_property").toHaveText("12 Ocean View Drive");
    await click(".o_realtor_3cx_softphone_open_contact");
    expect.verifySteps(["open res.partner 7"]);
});

test("a call answered here shows its caller; an unknown number shows the number", async () => {
    const pyEnv = await startServer();
    session();
    onRpc("/realtor_3cx/softphone/live", () => false);
    fakeWebRTC();
    const made = offers(pyEnv, () => ({
        ok: true,
        session_id: 6,
        call_id: "955000002",
        answer: "v=0\r\n",
        peer: { ...PEER, name: false, partner_id: false, company: false, property: false },
    }));
    await start();
    const calls = getService("realtor_3cx.call");
    await contains(".o_realtor_3cx_softphone_toggle");
    await calls.answerInBrowser({ id: 41, number: "+15550102030" });
    expect(made).toEqual([{ destination: null, call_id: 41, sdp: "v=0\r\n" }]);
    await contains(".o_realtor_3cx_softphone[data-status=connected]");
    expect(".o_realtor_3cx_softphone_peer_name").toHaveText("+15550102030");
    expect(".o_realtor_3cx_softphone_open_contact").toHaveCount(0);
});

test("Retry is offered only where retrying can help", async () => {
    const pyEnv = await startServer();
    session();
    onRpc("/realtor_3cx/softphone/live", () => false);
    const hangups = [];
    onRpc("/realtor_3cx/softphone/hangup", async (request) => {
        hangups.push((await request.json()).params.session_id);
        return { ok: true };
    });
    const peers = fakeWebRTC();
    let answer = {};
    const made = offers(pyEnv, () => answer);
    await start();
    const calls = getService("realtor_3cx.call");
    await contains(".o_realtor_3cx_softphone_toggle");
    await click(".o_realtor_3cx_softphone_toggle");
    const worker = (failure) => ({ ok: true, session_id: 7, peer: PEER, worker: failure });
    for (const [refusal, message, retry] of [
        [{ ok: false, retry: false, message: "Jordan Lee is on the do-not-call list." }],
        [{ ok: false, retry: false, message: "Outside Jordan Lee's calling hours." }],
        [worker({ state: "failed", retry: false, message: "3CX could not connect the call" })],
        [
            worker({ state: "failed", retry: true, message: "The audio could not connect." }),
            null,
            true,
        ],
    ]) {
        answer = refusal;
        await calls.browserCall("+15550102030");
        await contains(".o_realtor_3cx_softphone[data-status=failed]");
        await animationFrame();
        const shown = queryAll(".o_realtor_3cx_softphone_message")[0].textContent;
        expect(shown.includes(message || refusal.message || refusal.worker.message)).toBe(true);
        expect(".o_realtor_3cx_softphone_retry").toHaveCount(retry ? 1 : 0);
    }
    expect(made.refs.every((ref) => UUID.test(ref))).toBe(true);
    expect(new Set(made.refs).size).toBe(made.refs.length); // one reference per offer
    expect(hangups).toEqual([]);
    // No answer at all (the worker is stopped): the page gives up, cancels its offer so that
    // it is never dialled, and offers Retry.
    answer = { ok: true, silent: true, session_id: 9, peer: PEER };
    const placing = calls.browserCall("+15550102030");
    await contains(".o_realtor_3cx_softphone[data-status=connecting]");
    await advanceTime(ANSWER_TIMEOUT_MS - 1000);
    expect(calls.state.softphone.status).toBe("connecting");
    await advanceTime(1000);
    await placing;
    await contains(".o_realtor_3cx_softphone[data-status=failed]");
    expect(
        queryAll(".o_realtor_3cx_softphone_message")[0].textContent.startsWith(
            "The telephony service did not answer: the 3CX worker may be stopped."
        )
    ).toBe(true);
    expect(".o_realtor_3cx_softphone_retry").toHaveCount(1);
    await animationFrame();
    expect(hangups).toEqual([9]);
    // The network drops mid-call: Retry takes the same call back instead of dialling again.
    answer = { ok: true, session_id: 8, call_id: "955000003", answer: "v=0\r\n", peer: PEER };
    await calls.browserCall("+15550102030");
    Object.assign(calls.state.softphone, { status: "connected", startedAt: Date.now() });
    expect(calls.state.softphone.sessionId).toBe(8);
    // What the browser does when ICE fails:
    const pc = peers.at(-1);
    pc.connectionState = "failed";
    pc.onconnectionstatechange();
    await contains(".o_realtor_3cx_softphone_retry");
    await click(".o_realtor_3cx_softphone_retry");
    await animationFrame();
    expect(made.at(-1).resume_session_id).toBe(8);
    expect(made.at(-1).destination).toBe(undefined);
});

test("a reloaded page takes its call back; another tab shows it elsewhere and can switch", async () => {
    const pyEnv = await startServer();
    session();
    const live = {
        session_id: 9,
        call_id: "955000004",
        connected: true,
        answered_at: Date.now() - 65000,
        peer: PEER,
    };
    onRpc("/realtor_3cx/softphone/live", () => live);
    fakeWebRTC();
    let next = 10;
    const made = offers(pyEnv, () => ({
        ok: true,
        session_id: next++,
        call_id: "955000004",
        answer: "v=0\r\n",
        peer: PEER,
    }));
    // Another tab holds the call (its heartbeat is fresh), and this tab never had it.
    browser.sessionStorage.removeItem(HOLDER_KEY);
    browser.localStorage.setItem(HOLDER_KEY, JSON.stringify({ session_id: 9, at: Date.now() }));
    await start();
    const calls = getService("realtor_3cx.call");
    await contains(".o_realtor_3cx_softphone[data-status=elsewhere]");
    expect(made).toEqual([]); // nothing taken from the other tab by just opening this one
    expect(".o_realtor_3cx_softphone_peer_name").toHaveText("Jordan Lee");
    expect(".o_realtor_3cx_softphone_call").toHaveCount(0);
    await click(".o_realtor_3cx_softphone_switch_here");
    await contains(".o_realtor_3cx_softphone[data-status=connected]");
    expect(made).toEqual([{ resume_session_id: 9, sdp: "v=0\r\n" }]);
    expect(calls.state.softphone.sessionId).toBe(10);
    expect(calls.state.softphone.startedAt).toBe(live.answered_at); // the timer goes on
    // A third tab takes it in turn: this one lets the audio go and shows the call elsewhere.
    pyEnv["bus.bus"]._sendone("broadcast", "realtor_3cx.softphone/moved", {
        session_id: 10,
        to: 11,
    });
    await contains(".o_realtor_3cx_softphone[data-status=elsewhere]");
    expect(calls.state.softphone.elsewhere.session_id).toBe(11);
    expect(".o_realtor_3cx_softphone_peer_name").toHaveText("Jordan Lee");
    expect("audio.o_realtor_3cx_softphone_audio").toHaveCount(0);
    // It ends there: here too (the softphone, never opened in this tab, closes).
    pyEnv["bus.bus"]._sendone("broadcast", "realtor_3cx.softphone/ended", { session_id: 11 });
    await contains(".o_realtor_3cx_softphone", { count: 0 });
    expect(calls.state.softphone.status).toBe("ended");
    expect(calls.state.softphone.elsewhere).toBe(null);
});

test("after a reload the tab that had the call takes it back by itself", async () => {
    const pyEnv = await startServer();
    session();
    onRpc("/realtor_3cx/softphone/live", () => ({
        session_id: 12,
        call_id: "955000005",
        connected: true,
        answered_at: Date.now() - 5000,
        peer: PEER,
    }));
    fakeWebRTC();
    const made = offers(pyEnv, () => ({
        ok: true,
        session_id: 13,
        call_id: "955000005",
        answer: "v=0\r\n",
        peer: PEER,
    }));
    // This tab had it (its sessionStorage outlives the reload); its heartbeat is still fresh.
    browser.sessionStorage.setItem(HOLDER_KEY, "12");
    browser.localStorage.setItem(HOLDER_KEY, JSON.stringify({ session_id: 12, at: Date.now() }));
    await start();
    await contains(".o_realtor_3cx_softphone[data-status=connected]");
    expect(made).toEqual([{ resume_session_id: 12, sdp: "v=0\r\n" }]);
    expect(".o_realtor_3cx_softphone_peer_name").toHaveText("Jordan Lee");
    browser.sessionStorage.removeItem(HOLDER_KEY);
    browser.localStorage.removeItem(HOLDER_KEY);
});

test("a browser call moves to the desk phone, and Switch here brings it back", async () => {
    const pyEnv = await startServer();
    session();
    onRpc("/realtor_3cx/softphone/live", () => false);
    fakeWebRTC();
    const transfers = [];
    onRpc("/realtor_3cx/softphone/transfer", async (request) => {
        // A dial request: the page's own id with it (dial_request.js).
        const { client_ref: clientRef, ...params } = (await request.json()).params;
        expect(clientRef).toMatch(/^[0-9a-f-]{36}$/);
        transfers.push(params);
        return { ok: true, message: "" };
    });
    let next = 20;
    const made = offers(pyEnv, () => ({
        ok: true,
        session_id: next++,
        call_id: "955000006",
        answer: "v=0\r\n",
        peer: PEER,
    }));
    await start();
    const calls = getService("realtor_3cx.call");
    await contains(".o_realtor_3cx_softphone_toggle");
    await calls.browserCall("+15550102030");
    Object.assign(calls.state.softphone, { status: "connected", startedAt: Date.now() });
    await contains(".o_realtor_3cx_softphone_to_desk");
    await click(".o_realtor_3cx_softphone_to_desk");
    await contains(".o_realtor_3cx_softphone[data-status=elsewhere]");
    expect(transfers).toEqual([{ session_id: 20, destination: "101" }]); // the realtor's own
    expect(".o_realtor_3cx_softphone_message").toHaveText("On your desk phone (101).");
    expect(".o_realtor_3cx_softphone_hangup").toHaveCount(0); // hung up on the desk phone
    expect(".o_realtor_3cx_softphone_peer_name").toHaveText("Jordan Lee");
    await click(".o_realtor_3cx_softphone_switch_here");
    await contains(".o_realtor_3cx_softphone[data-status=connected]");
    expect(made.at(-1)).toEqual({ desk_call_id: "955000006", sdp: "v=0\r\n" });
});

test("hanging up while the worker has not answered cancels the offer; a late answer is ignored", async () => {
    const pyEnv = await startServer();
    session();
    onRpc("/realtor_3cx/softphone/live", () => false);
    const hangups = [];
    onRpc("/realtor_3cx/softphone/hangup", async (request) => {
        hangups.push((await request.json()).params.session_id);
        return { ok: true };
    });
    const peers = fakeWebRTC();
    const made = offers(pyEnv, () => ({ ok: true, silent: true, session_id: 30, peer: PEER }));
    await start();
    const calls = getService("realtor_3cx.call");
    await contains(".o_realtor_3cx_softphone_toggle");
    await click(".o_realtor_3cx_softphone_toggle");
    const placing = calls.browserCall("+15550102030");
    await contains(".o_realtor_3cx_softphone[data-status=connecting]");
    expect(".o_realtor_3cx_softphone_peer_name").toHaveText("Jordan Lee"); // from the route
    await click(".o_realtor_3cx_softphone_hangup");
    await placing;
    await contains(".o_realtor_3cx_softphone[data-status=ended]");
    expect(hangups).toEqual([30]);
    // The worker answers after all (it took the offer just before the cancel): nothing here
    // comes back to life; the cancelled session is the worker's to hang up.
    pyEnv["bus.bus"]._sendone("broadcast", "realtor_3cx.softphone/answer", {
        session_id: 30,
        client_ref: made.refs[0],
        state: "answered",
        sdp: "v=0\r\n",
        message: "",
        call_id: "955000007",
        retry: false,
    });
    await animationFrame();
    await advanceTime(ANSWER_TIMEOUT_MS);
    expect(calls.state.softphone.status).toBe("ended");
    expect(peers.at(-1).connectionState).toBe("closed");
    expect(hangups).toEqual([30]);
});
