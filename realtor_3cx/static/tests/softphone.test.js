// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { describe, expect, test } from "@odoo/hoot";
import { click, queryAll, select } from "@odoo/hoot-dom";
import { animationFrame } from "@odoo/hoot-mock";
import { reactive } from "@odoo/owl";
import { contains, defineMailModels, start, startServer } from "@mail/../tests/mail_test_helpers";
import { getService, onRpc, patchWithCleanup } from "@web/../tests/web_test_helpers";
import { browser } from "@web/core/browser/browser";
import { BrowserCall, MICROPHONE_KEY, SPEAKER_KEY } from "@realtor_3cx/core/softphone";

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
