// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { describe, expect, test } from "@odoo/hoot";
import { click } from "@odoo/hoot-dom";
import { animationFrame } from "@odoo/hoot-mock";
import { contains, defineMailModels, start, startServer } from "@mail/../tests/mail_test_helpers";
import { getService, onRpc, patchWithCleanup } from "@web/../tests/web_test_helpers";
import { browser } from "@web/core/browser/browser";

describe.current.tags("desktop");
defineMailModels();

// A call ringing on a desk phone 3CX cannot answer remotely (the leg's direct_control is
// false, docs/3cx-api.md §9): the card says to pick up the handset, and offers Here.
const RINGING = {
    id: 61,
    call_id: "955000061",
    server_id: 1,
    direction: "inbound",
    state: "ringing",
    number: "+15550102061",
    e164: "+15550102061",
    did: "",
    partner: false,
    candidates: [],
    property: false,
    user_id: false,
    match: { partners: [], properties: [], property_id: false, ambiguous: false },
};

function session() {
    onRpc("threecx.call", "realtor_3cx_session", () => ({
        extension: "101",
        server_id: 1,
        is_manager: false,
        bus_last_id: 0,
        ringing: [],
    }));
}

/** A browser that can take calls itself (WebRTC and a microphone), or not. */
function softphone(available) {
    patchWithCleanup(browser.navigator, {
        mediaDevices: available ? { getUserMedia: async () => null } : undefined,
    });
    patchWithCleanup(window, { RTCPeerConnection: available ? class {} : undefined });
}

const CARD = ".o_realtor_3cx_popup[data-call-id='61']";
const HANDSET_AND_HERE =
    "Your desk phone cannot be answered from Odoo: pick up the handset, or answer here in the browser.";

test("no Answer on a phone 3CX cannot answer: pick up the handset, or Here", async () => {
    softphone(true);
    const pyEnv = await startServer();
    session();
    await start();
    const calls = getService("realtor_3cx.call");
    patchWithCleanup(calls, { answerInBrowser: (call) => expect.step(`here ${call.id}`) });
    await contains(".o_realtor_3cx_systray");
    pyEnv["bus.bus"]._sendone("broadcast", "realtor_3cx.call/ringing", {
        ...RINGING,
        direct_control: false,
    });
    await contains(`${CARD} .o_realtor_3cx_no_remote_answer`, { text: HANDSET_AND_HERE });
    expect(`${CARD} .o_realtor_3cx_answer`).toHaveCount(0);
    expect(`${CARD} .o_realtor_3cx_decline`).toHaveCount(1); // declining needs no control
    // Here is the way to answer from Odoo now: the primary button.
    expect(`${CARD} .o_realtor_3cx_answer_here`).toHaveClass("btn-success");
    await click(`${CARD} .o_realtor_3cx_answer_here`);
    await animationFrame();
    expect.verifySteps(["here 61"]);
});

test("without a softphone in this browser the card only says to pick up", async () => {
    softphone(false);
    const pyEnv = await startServer();
    session();
    await start();
    await contains(".o_realtor_3cx_systray");
    pyEnv["bus.bus"]._sendone("broadcast", "realtor_3cx.call/ringing", {
        ...RINGING,
        direct_control: false,
    });
    await contains(`${CARD} .o_realtor_3cx_no_remote_answer`, {
        text: "Your desk phone cannot be answered from Odoo: pick up the handset.",
    });
    expect(`${CARD} .o_realtor_3cx_answer`).toHaveCount(0);
    expect(`${CARD} .o_realtor_3cx_answer_here`).toHaveCount(0);
});

test("the worker's refusal turns Answer into pick up the handset, without a toast", async () => {
    softphone(true);
    const pyEnv = await startServer();
    session();
    let clientRef;
    onRpc("threecx.call", "action_answer_on_phone", ({ args, kwargs }) => {
        expect.step(`answer ${args[0]}`);
        clientRef = kwargs.client_ref;
        return { ok: false, state: "pending", message: "", request_id: 3, client_ref: clientRef };
    });
    await start();
    await contains(".o_realtor_3cx_systray");
    // The ringing leg did not say (an older page's card, or a PBX without the flag).
    pyEnv["bus.bus"]._sendone("broadcast", "realtor_3cx.call/ringing", RINGING);
    await contains(`${CARD} .o_realtor_3cx_answer`);
    expect(`${CARD} .o_realtor_3cx_no_remote_answer`).toHaveCount(0);
    expect(`${CARD} .o_realtor_3cx_answer_here`).toHaveClass("btn-outline-success");
    await click(`${CARD} .o_realtor_3cx_answer`);
    await animationFrame();
    expect.verifySteps(["answer 61"]);
    pyEnv["bus.bus"]._sendone("broadcast", "realtor_3cx.dial/answer", {
        request_id: 3,
        client_ref: clientRef,
        state: "failed",
        message: "Your phone cannot be answered from Odoo (3CX cannot control it remotely).",
        remote_answer: false,
    });
    await contains(`${CARD} .o_realtor_3cx_no_remote_answer`, { text: HANDSET_AND_HERE });
    expect(`${CARD} .o_realtor_3cx_answer`).toHaveCount(0);
    expect(".o_notification").toHaveCount(0);
});
