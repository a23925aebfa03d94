// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { describe, expect, test } from "@odoo/hoot";
import { click, queryAll } from "@odoo/hoot-dom";
import { animationFrame } from "@odoo/hoot-mock";
import {
    contains,
    defineMailModels,
    insertText,
    start,
    startServer,
} from "@mail/../tests/mail_test_helpers";
import { getService, mountWithCleanup, onRpc } from "@web/../tests/web_test_helpers";
import { ClickToCallButton } from "@realtor_3cx/components/click_to_call/click_to_call";
import { OutcomeDialog } from "@realtor_3cx/components/outcome_dialog/outcome_dialog";

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

test("click-to-call shows progress, or the reason (a refusal has no tel: fallback)", async () => {
    await startServer();
    session();
    let answer = {
        ok: true,
        message: "Calling +15550108301",
        tel: "tel:+15550108301",
        request_id: 1,
    };
    onRpc("threecx.call", "realtor_3cx_dial", ({ args }) => {
        expect.step(`dial ${args[0]} ${args[1]} ${args[2]}`);
        return answer;
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
    await contains(".o_realtor_3cx_dial_status[data-status=ringing]");
    expect.verifySteps(["dial +15550108301 res.partner 5"]);
    answer = { ok: false, message: "Dana is on the do-not-call list.", tel: false };
    await click(".o_realtor_3cx_dial");
    await contains(".o_realtor_3cx_dial_status[data-status=failed]");
    expect(".o_realtor_3cx_dial_status").toHaveText(/do-not-call/);
    expect(queryAll(".o_realtor_3cx_dial_status a")).toHaveLength(0);
    expect.verifySteps(["dial +15550108301 res.partner 5"]);
});

test("the outcome dialog saves the outcome and the notes", async () => {
    await startServer();
    session();
    onRpc("threecx.call", "write", ({ args }) => {
        expect.step(JSON.stringify(args));
        return true;
    });
    // The configured outcomes, in the managers' order (an archived one is not returned).
    onRpc("threecx.outcome", "search_read", () => [
        { id: 3, code: "showing_booked", name: "Showing booked" },
        { id: 5, code: "left_message", name: "Left message" },
        { id: 9, code: "open_house", name: "Coming to the open house" },
    ]);
    await start();
    getService("dialog").add(OutcomeDialog, { call: { ...RINGING, state: "completed" } });
    await contains(".o_realtor_3cx_outcome");
    expect("[data-outcome]").toHaveCount(3);
    expect("[data-outcome=open_house]").toHaveText("Coming to the open house");
    await click("[data-outcome=left_message]");
    await contains("[data-outcome=left_message].btn-primary");
    await insertText(".o_realtor_3cx_outcome_notes", "Call Friday");
    await click(".o_realtor_3cx_outcome_save");
    await contains(".o_realtor_3cx_outcome", { count: 0 });
    expect.verifySteps([JSON.stringify([[41], { notes: "Call Friday", outcome_id: 5 }])]);
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
