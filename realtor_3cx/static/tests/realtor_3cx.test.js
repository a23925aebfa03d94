// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { describe, expect, test } from "@odoo/hoot";
import { click, queryAll } from "@odoo/hoot-dom";
import { advanceTime, animationFrame } from "@odoo/hoot-mock";
import { contains, defineMailModels, start, startServer } from "@mail/../tests/mail_test_helpers";
import { getService, mountWithCleanup, onRpc } from "@web/../tests/web_test_helpers";
import { ClickToCallButton } from "@realtor_3cx/components/click_to_call/click_to_call";
import { PENDING_TIMEOUT_MS } from "@realtor_3cx/core/dial_request";

describe.current.tags("desktop");
defineMailModels();

const RINGING = {
    id: 41,
    call_id: "955000001",
    server_id: 1,
    direction: "inbound",
    state: "ringing",
    number: "+15550102030",
    e164: "+15550102030",
    did: "+15550101001",
    partner: false,
    candidates: [],
    property: { id: 3, name: "12 Ocean View Drive" },
    listing_line: true,
    user_id: false,
    match: {
        partners: [
            {
                id: 7,
                name: "Jordan Lee",
                in_progress: true,
                property_ids: [3],
                last_call_at: false,
            },
            { id: 8, name: "Casey Lee", in_progress: false, property_ids: [], last_call_at: false },
        ],
        properties: [{ id: 3, name: "12 Ocean View Drive", via: "listing_phone" }],
        property_id: 3,
        ambiguous: true,
    },
};

function session(extra = {}) {
    onRpc("threecx.call", "realtor_3cx_session", () => ({
        extension: "101",
        server_id: 1,
        is_manager: false,
        bus_last_id: 0,
        ringing: [],
        ...extra,
    }));
}

test("the call service turns bus notifications into pop-up state", async () => {
    const pyEnv = await startServer();
    session();
    await start();
    const calls = getService("realtor_3cx.call");
    await contains(".o_realtor_3cx_systray");
    pyEnv["bus.bus"]._sendone("broadcast", "realtor_3cx.call/ringing", RINGING);
    await contains(".o_realtor_3cx_popup[data-call-id='41']");
    expect(calls.state.popups.map((p) => p.id)).toEqual([41]);
    pyEnv["bus.bus"]._sendone("broadcast", "realtor_3cx.call/ended", {
        ...RINGING,
        state: "missed",
    });
    await contains(".o_realtor_3cx_popup", { count: 0 });
    expect(calls.state.popups).toEqual([]);
});

test("the pop-up ranks the people sharing a number and lets the realtor pick", async () => {
    const pyEnv = await startServer();
    session();
    await start();
    await contains(".o_realtor_3cx_systray");
    pyEnv["bus.bus"]._sendone("broadcast", "realtor_3cx.call/ringing", RINGING);
    await contains(".o_realtor_3cx_popup_title", { text: "2 people share this number" });
    await contains(".o_realtor_3cx_popup_listing", { text: "12 Ocean View Drive" });
    expect(queryAll(".o_realtor_3cx_picker button").map((b) => b.textContent.trim())).toEqual([
        "Jordan Lee",
        "Casey Lee",
    ]);
    // The choice is the call's contact, on the server (not only on this card).
    onRpc("threecx.call", "action_pick_contact", ({ args }) => {
        expect.step(`pick ${args[0]} ${args[1]}`);
        return true;
    });
    await click(".o_realtor_3cx_picker button:last-child");
    await contains(".o_realtor_3cx_popup_title", { text: "Casey Lee" });
    await expect.waitForSteps(["pick 41 8"]);
    await contains(".o_realtor_3cx_open_contact");
    // Claim is offered: nobody owns this team call yet.
    onRpc("threecx.call", "action_claim", ({ args }) => {
        expect.step(`claim ${args[0]}`);
        return { ok: true, message: "The call is yours." };
    });
    await click(".o_realtor_3cx_claim");
    await animationFrame();
    expect.verifySteps(["claim 41"]);
    onRpc("threecx.call", "action_answer_on_phone", ({ args }) => {
        expect.step(`answer ${args[0]}`);
        return { ok: true, message: "" };
    });
    await click(".o_realtor_3cx_answer");
    await animationFrame();
    expect.verifySteps(["answer 41"]);
    await click(".o_realtor_3cx_dismiss");
    await contains(".o_realtor_3cx_popup", { count: 0 });
});

const UNKNOWN = { ...RINGING, id: 42, match: { partners: [], properties: [] } };

async function ringUnknown(allowed) {
    const pyEnv = await startServer();
    session();
    onRpc("res.partner", "has_access", ({ args }) => {
        expect.step(`has_access ${args[1]}`);
        return allowed;
    });
    await start();
    await contains(".o_realtor_3cx_systray");
    pyEnv["bus.bus"]._sendone("broadcast", "realtor_3cx.call/ringing", UNKNOWN);
    await contains(".o_realtor_3cx_popup[data-call-id='42']");
    await expect.waitForSteps(["has_access create"]);
    await animationFrame();
}

test("an unknown caller can be created from the pop-up with Contact Creation", async () => {
    await ringUnknown(true);
    await contains(".o_realtor_3cx_popup[data-call-id='42'] .o_realtor_3cx_create_contact");
});

test("without Contact Creation the pop-up offers no Create contact", async () => {
    // An admin took the right away: the button would only end in an access error on save.
    await ringUnknown(false);
    await contains(".o_realtor_3cx_create_contact", { count: 0 });
    await contains(".o_realtor_3cx_popup[data-call-id='42'] .o_realtor_3cx_dismiss");
});

test("notifications from before the page loaded are ignored, ringing calls restored", async () => {
    const pyEnv = await startServer();
    session({ bus_last_id: 10_000, ringing: [{ ...RINGING, id: 42 }] });
    await start();
    await contains(".o_realtor_3cx_popup[data-call-id='42']");
    pyEnv["bus.bus"]._sendone("broadcast", "realtor_3cx.call/ringing", RINGING); // id <= 10000
    await animationFrame();
    expect(".o_realtor_3cx_popup[data-call-id='41']").toHaveCount(0);
});

test("click-to-call shows Calling... at once, then the worker's answer from the bus", async () => {
    const pyEnv = await startServer();
    session();
    let clientRef;
    let answer = (kwargs) => ({
        ok: false,
        state: "pending",
        message: "Calling...",
        placed_message: "Calling +15550108301: your phone rings first.",
        tel: "tel:+15550108301",
        request_id: 1,
        client_ref: kwargs.client_ref,
    });
    onRpc("threecx.call", "realtor_3cx_dial", ({ args, kwargs }) => {
        expect.step(`dial ${args[0]} ${args[1]} ${args[2]}`);
        clientRef = kwargs.client_ref;
        return answer(kwargs);
    });
    await start();
    // The button as the phone field renders it (the field patch itself runs in the E2E tests).
    const record = {
        data: { phone: "+15550108301" },
        resModel: "res.partner",
        resId: 5,
        isDirty: false,
    };
    await mountWithCleanup(ClickToCallButton, { props: { record, name: "phone" } });
    await contains(".o_realtor_3cx_dial");
    await click(".o_realtor_3cx_dial");
    await contains(".o_realtor_3cx_dial_status[data-status=calling]", { text: "Calling..." });
    await contains(".o_realtor_3cx_dial[disabled]"); // one click at a time
    expect.verifySteps(["dial +15550108301 res.partner 5"]);
    expect(clientRef).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
    );
    // Another request's answer is not this one's.
    pyEnv["bus.bus"]._sendone("broadcast", "realtor_3cx.dial/answer", {
        request_id: 9,
        client_ref: "00000000-0000-4000-8000-000000000000",
        state: "failed",
        message: "Someone else's",
    });
    pyEnv["bus.bus"]._sendone("broadcast", "realtor_3cx.dial/answer", {
        request_id: 1,
        client_ref: clientRef,
        state: "done",
        message: "",
    });
    await contains(".o_realtor_3cx_dial_status[data-status=ringing]", {
        text: "Calling +15550108301: your phone rings first.",
    });
    // The worker could not place it: why, and the realtor's own phone instead.
    await click(".o_realtor_3cx_dial");
    await contains(".o_realtor_3cx_dial_status[data-status=calling]");
    pyEnv["bus.bus"]._sendone("broadcast", "realtor_3cx.dial/answer", {
        request_id: 2,
        client_ref: clientRef,
        state: "failed",
        message: "3CX could not place the call: busy",
    });
    await contains(".o_realtor_3cx_dial_status[data-status=failed]");
    expect(".o_realtor_3cx_dial_status").toHaveText(/could not place the call: busy/);
    await contains(".o_realtor_3cx_dial_status a[href='tel:+15550108301']");
    // A refusal by the rules comes back at once, with no tel: way around it.
    answer = () => ({
        ok: false,
        state: "refused",
        message: "Dana is on the do-not-call list.",
        tel: false,
    });
    await click(".o_realtor_3cx_dial");
    await contains(".o_realtor_3cx_dial_status[data-status=failed]", {
        text: "Dana is on the do-not-call list.",
    });
    expect(queryAll(".o_realtor_3cx_dial_status a")).toHaveLength(0);
    expect.verifySteps(["dial +15550108301 res.partner 5", "dial +15550108301 res.partner 5"]);
});

test("without a worker's answer the page gives up by itself and offers the phone", async () => {
    await startServer();
    session();
    onRpc("threecx.call", "realtor_3cx_dial", ({ kwargs }) => ({
        ok: false,
        state: "pending",
        message: "Calling...",
        tel: "tel:+15550108301",
        request_id: 3,
        client_ref: kwargs.client_ref,
    }));
    await start();
    const record = {
        data: { phone: "+15550108301" },
        resModel: "res.partner",
        resId: 5,
        isDirty: false,
    };
    await mountWithCleanup(ClickToCallButton, { props: { record, name: "phone" } });
    await click(".o_realtor_3cx_dial");
    await contains(".o_realtor_3cx_dial_status[data-status=calling]");
    await animationFrame(); // Odoo's answer is in: the page's clock runs from there
    // Past the worker's age limit (8 s) it never dials this request: the page says so.
    await advanceTime(PENDING_TIMEOUT_MS - 500);
    expect(".o_realtor_3cx_dial_status").toHaveAttribute("data-status", "calling");
    await advanceTime(1000);
    await contains(".o_realtor_3cx_dial_status[data-status=failed]");
    expect(".o_realtor_3cx_dial_status").toHaveText(/The telephony service did not answer/);
    await contains(".o_realtor_3cx_dial_status a[href='tel:+15550108301']");
});

test("the card follows who the server says is calling (picked elsewhere, or just created)", async () => {
    const pyEnv = await startServer();
    session();
    onRpc("res.partner", "has_access", () => true);
    await start();
    await contains(".o_realtor_3cx_systray");
    pyEnv["bus.bus"]._sendone("broadcast", "realtor_3cx.call/ringing", {
        ...UNKNOWN,
        name: "CASEY LEE",
    });
    await contains(".o_realtor_3cx_popup_title", { text: "Unknown caller" });
    await contains(".o_realtor_3cx_popup_caller_name", { text: "· CASEY LEE" });
    await contains(".o_realtor_3cx_create_contact");
    const casey = { id: 8, name: "Casey Lee", property_ids: [], owner_property_ids: [] };
    pyEnv["bus.bus"]._sendone("broadcast", "realtor_3cx.call/updated", {
        ...UNKNOWN,
        state: "connected",
        partner: { id: 8, name: "Casey Lee" },
        match: { partners: [casey], properties: [] },
    });
    await contains(".o_realtor_3cx_popup_title", { text: "Casey Lee" });
    await contains(".o_realtor_3cx_create_contact", { count: 0 });
    await contains(".o_realtor_3cx_open_contact");
    await contains(".o_realtor_3cx_popup_caller_name", { count: 0 });
    // The update says who is calling; the call's state comes from its own notifications.
    expect(".o_realtor_3cx_popup").toHaveAttribute("data-state", "ringing");
});

test("an owner ringing the realtor is the owner of the property, not its listing line", async () => {
    const pyEnv = await startServer();
    session();
    await start();
    await contains(".o_realtor_3cx_systray");
    const owner = {
        id: 7,
        name: "Jordan Lee",
        in_progress: true,
        property_ids: [3],
        owner_property_ids: [3],
        last_call_at: false,
    };
    pyEnv["bus.bus"]._sendone("broadcast", "realtor_3cx.call/ringing", {
        ...RINGING,
        listing_line: false,
        partner: { id: 7, name: "Jordan Lee" },
        match: { partners: [owner], properties: [{ id: 3, name: "12 Ocean View Drive" }] },
    });
    await contains(".o_realtor_3cx_popup_owner", { text: "12 Ocean View Drive" });
    expect(".o_realtor_3cx_popup_owner").toHaveText(/^Owner of\s+12 Ocean View Drive$/);
    expect(".o_realtor_3cx_popup_listing").toHaveCount(0);
});

test("the next pop-up from a caller who left a voicemail says what they said", async () => {
    const pyEnv = await startServer();
    session();
    await start();
    await contains(".o_realtor_3cx_systray");
    pyEnv["bus.bus"]._sendone("broadcast", "realtor_3cx.call/ringing", {
        ...RINGING,
        voicemail: { id: 30, text: "Call me back about the offer.", at: "2026-12-01 09:00:00" },
    });
    await contains(".o_realtor_3cx_popup[data-call-id='41'] .o_realtor_3cx_popup_voicemail", {
        text: "Left a voicemail: “Call me back about the offer.”",
    });
    pyEnv["bus.bus"]._sendone("broadcast", "realtor_3cx.call/ringing", { ...RINGING, id: 43 });
    await contains(".o_realtor_3cx_popup[data-call-id='43']");
    expect(".o_realtor_3cx_popup[data-call-id='43'] .o_realtor_3cx_popup_voicemail").toHaveCount(0);
});
