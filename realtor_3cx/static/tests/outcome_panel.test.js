// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { describe, expect, test } from "@odoo/hoot";
import { click, pointerDown, queryAll, queryOne } from "@odoo/hoot-dom";
import { advanceTime, animationFrame } from "@odoo/hoot-mock";
import {
    contains,
    defineMailModels,
    insertText,
    start,
    startServer,
} from "@mail/../tests/mail_test_helpers";
import { onRpc, serverState } from "@web/../tests/web_test_helpers";
import { browser } from "@web/core/browser/browser";
import { OWNER_KEY } from "@realtor_3cx/components/outcome_panel/outcome_service";

describe.current.tags("desktop");
defineMailModels();

const DANA = {
    id: 51,
    direction: "inbound",
    number: "+15550108301",
    partner: { id: 7, name: "Dana Buyer" },
    property: { id: 3, name: "7 Harbour Street" },
    end_at: "2026-12-01 10:00:00",
    talk_seconds: 65,
};
const UNKNOWN = { ...DANA, id: 52, partner: false, property: false, number: "+15550108302" };
const OUTCOMES = [
    { id: 3, code: "showing_booked", name: "Showing booked" },
    { id: 5, code: "left_message", name: "Left message" },
];

function session(pending, extra = {}) {
    onRpc("threecx.call", "realtor_3cx_session", () => ({
        extension: "101",
        server_id: 1,
        is_manager: false,
        bus_last_id: 0,
        ringing: [],
        ice_servers: [],
        pending_outcomes: { calls: pending, count: pending.length },
        ...extra,
    }));
    onRpc("threecx.outcome", "search_read", () => OUTCOMES);
}

function bus(pyEnv, type, payload) {
    pyEnv["bus.bus"]._sendone("broadcast", type, payload);
}

test("the panel lists the server's calls waiting for an outcome, docked, not a modal", async () => {
    await startServer();
    session([DANA, UNKNOWN]);
    onRpc("threecx.call", "action_save_outcome", ({ args, kwargs }) => {
        expect.step(["save", args[0], kwargs.outcome_id, kwargs.notes, kwargs.followup_date]);
        return true;
    });
    await start();
    await contains(".o_realtor_3cx_outcome_panel[data-count='2']");
    expect(".modal").toHaveCount(0);
    expect(".o_realtor_3cx_outcome_panel").toHaveStyle({ position: "fixed" });
    expect(queryAll(".o_realtor_3cx_outcome_item").map((b) => b.dataset.callId)).toEqual([
        "51",
        "52",
    ]);
    // The newest first; another one is picked from the list, what was typed is kept.
    await contains(".o_realtor_3cx_outcome[data-call-id='51'] .o_realtor_3cx_outcome_who", {
        text: "Dana Buyer",
    });
    await contains(".o_realtor_3cx_outcome_save:disabled"); // nothing to save yet
    await insertText(".o_realtor_3cx_outcome_notes", "Wants a garden");
    await contains(".o_realtor_3cx_outcome_save:enabled");
    await click(".o_realtor_3cx_outcome_item[data-call-id='52']");
    await contains(".o_realtor_3cx_outcome[data-call-id='52']", { text: "+15550108302" });
    await click(".o_realtor_3cx_outcome_item[data-call-id='51']");
    await contains(".o_realtor_3cx_outcome_notes", { value: "Wants a garden" });
    await click("[data-outcome=showing_booked]");
    await contains("[data-outcome=showing_booked].btn-primary");
    // A date input (Hoot's edit() types text into it): as the browser's date picker sets it.
    const day = queryOne(".o_realtor_3cx_outcome_followup");
    day.value = "2026-12-04";
    day.dispatchEvent(new Event("input", { bubbles: true }));
    await animationFrame();
    await click(".o_realtor_3cx_outcome_save");
    await expect.waitForSteps([["save", [51], 3, "Wants a garden", "2026-12-04"]]);
    await contains(".o_realtor_3cx_outcome_panel[data-count='1']");
    await contains(".o_realtor_3cx_outcome[data-call-id='52']");
});

test("it folds during a call, unfolds after, and goes when saved in another tab", async () => {
    const pyEnv = await startServer();
    session([DANA]);
    await start();
    await contains(".o_realtor_3cx_outcome[data-call-id='51']");
    const call = {
        id: 60,
        call_id: "9",
        direction: "inbound",
        state: "ringing",
        number: "+15550109999",
        partner: false,
        candidates: [],
        property: false,
        user_id: serverState.userId,
        match: { partners: [], properties: [] },
    };
    bus(pyEnv, "realtor_3cx.call/ringing", call);
    await contains(".o_realtor_3cx_popup[data-call-id='60']");
    bus(pyEnv, "realtor_3cx.call/answered", { ...call, state: "connected" });
    await contains(".o_realtor_3cx_outcome_panel[data-folded='1']");
    expect(".o_realtor_3cx_outcome").toHaveCount(0); // never over the call in progress
    expect(".o_realtor_3cx_outcome_panel_toggle").toHaveText(/After this call:\s*1 call to log/);
    // The call ends: the server lists it too, the panel opens again with both, on that call.
    onRpc("threecx.call", "realtor_3cx_pending_outcomes", () => {
        expect.step("reload");
        return { calls: [{ ...DANA, id: 60, partner: false }, DANA], count: 2 };
    });
    bus(pyEnv, "realtor_3cx.call/ended", { ...call, state: "completed" });
    await expect.waitForSteps(["reload"]);
    await contains(".o_realtor_3cx_outcome_panel[data-folded='0'][data-count='2']");
    await contains(".o_realtor_3cx_outcome[data-call-id='60']");
    // Logged elsewhere (another tab, the call's form): gone here.
    bus(pyEnv, "realtor_3cx.call/outcome_done", { id: 60 });
    await contains(".o_realtor_3cx_outcome[data-call-id='51']");
    bus(pyEnv, "realtor_3cx.call/outcome_done", { id: 51 });
    await contains(".o_realtor_3cx_outcome_panel", { count: 0 });
});

test("skip, skip all, and later", async () => {
    await startServer();
    session([DANA, UNKNOWN]);
    onRpc("threecx.call", "action_skip_outcome", ({ args }) => {
        expect.step(["skip", args[0]]);
        return true;
    });
    await start();
    await contains(".o_realtor_3cx_outcome[data-call-id='51']");
    await click(".o_realtor_3cx_outcome_later");
    await contains(".o_realtor_3cx_outcome_panel[data-folded='1']");
    await click(".o_realtor_3cx_outcome_panel_toggle");
    await contains(".o_realtor_3cx_outcome_skip");
    await click(".o_realtor_3cx_outcome_skip");
    await expect.waitForSteps([["skip", [51]]]);
    await contains(".o_realtor_3cx_outcome[data-call-id='52']");
    expect(".o_realtor_3cx_outcome_skip_all").toHaveCount(0); // one call left
});

test("only the tab the realtor uses shows the panel", async () => {
    await startServer();
    session([DANA]);
    await start();
    await contains(".o_realtor_3cx_outcome_panel");
    const mine = JSON.parse(browser.localStorage.getItem(OWNER_KEY)).tab;
    // Another tab was clicked: it holds the lock, this one hides the panel.
    browser.localStorage.setItem(OWNER_KEY, JSON.stringify({ tab: "other", at: Date.now() }));
    browser.dispatchEvent(new StorageEvent("storage", { key: OWNER_KEY }));
    await contains(".o_realtor_3cx_outcome_panel", { count: 0 });
    // ... and beats: this one stays hidden.
    await advanceTime(2000);
    browser.localStorage.setItem(OWNER_KEY, JSON.stringify({ tab: "other", at: Date.now() }));
    await advanceTime(2000);
    await animationFrame();
    expect(".o_realtor_3cx_outcome_panel").toHaveCount(0);
    // A click here takes it back, with the server's list.
    onRpc("threecx.call", "realtor_3cx_pending_outcomes", () => {
        expect.step("reload");
        return { calls: [DANA], count: 1 };
    });
    await pointerDown(document.body);
    await expect.waitForSteps(["reload"]);
    await contains(".o_realtor_3cx_outcome_panel");
    expect(JSON.parse(browser.localStorage.getItem(OWNER_KEY)).tab).toBe(mine);
    // The other tab was closed without a word: after its heartbeat stops, this one keeps it.
    browser.localStorage.setItem(OWNER_KEY, JSON.stringify({ tab: "other", at: Date.now() }));
    browser.dispatchEvent(new StorageEvent("storage", { key: OWNER_KEY }));
    await contains(".o_realtor_3cx_outcome_panel", { count: 0 });
    await advanceTime(8000);
    await expect.waitForSteps(["reload"]);
    await contains(".o_realtor_3cx_outcome_panel");
});

test("a ringing card goes as soon as nobody rings, and comes back for a transfer", async () => {
    const pyEnv = await startServer();
    session([]);
    const env = await start();
    // Subscribed after the call service: this one runs once the service has had the message.
    env.services.bus_service.subscribe("realtor_3cx.call/ended", () => expect.step("ended"));
    await contains(".o_realtor_3cx_systray");
    const call = {
        id: 70,
        call_id: "10",
        direction: "inbound",
        state: "ringing",
        number: "+15550109998",
        partner: false,
        candidates: [],
        property: false,
        user_id: serverState.userId,
        match: { partners: [], properties: [] },
    };
    bus(pyEnv, "realtor_3cx.call/ringing", call);
    await contains(".o_realtor_3cx_popup[data-call-id='70']");
    bus(pyEnv, "realtor_3cx.call/quiet", { id: 70 });
    await contains(".o_realtor_3cx_popup", { count: 0 });
    // Not ended after the worker's grace: a transfer rings on, the card is back.
    await advanceTime(5000);
    await contains(".o_realtor_3cx_popup[data-call-id='70']");
    // Quiet then ended (the caller hung up): it stays gone.
    bus(pyEnv, "realtor_3cx.call/quiet", { id: 70 });
    await contains(".o_realtor_3cx_popup", { count: 0 });
    bus(pyEnv, "realtor_3cx.call/ended", { ...call, state: "missed" });
    // The clock moves on only once the page has the message (on a loaded machine the bus's
    // delivery could otherwise come after the quiet card's 5 s and bring it back first).
    await expect.waitForSteps(["ended"]);
    await advanceTime(6000);
    await animationFrame();
    expect(".o_realtor_3cx_popup").toHaveCount(0);
});

test("the summary and a suggested outcome arrive while the prompt is open, typing kept", async () => {
    const pyEnv = await startServer();
    session([{ ...DANA, summary: "", suggestion: false, transcript_state: "requested" }]);
    onRpc("threecx.call", "action_save_outcome", ({ args, kwargs }) => {
        expect.step(["save", args[0], kwargs.outcome_id, kwargs.summary, kwargs.notes]);
        return true;
    });
    await start();
    await contains(".o_realtor_3cx_outcome_summary_waiting");
    expect(".o_realtor_3cx_outcome_summary").toHaveCount(0);
    await insertText(".o_realtor_3cx_outcome_notes", "Bring the floor plan");
    // The worker stored 3CX's transcript: its summary and what it suggests, on the bus.
    const showing = { id: 3, code: "showing_booked", name: "Showing booked", phrase: "viewing" };
    bus(pyEnv, "realtor_3cx.call/debrief", {
        id: 51,
        summary: "Dana wants a viewing on Saturday.",
        transcript_state: "done",
        suggestion: showing,
    });
    await contains(".o_realtor_3cx_outcome_summary", {
        value: "Dana wants a viewing on Saturday.",
    });
    await contains(".o_realtor_3cx_outcome_notes", { value: "Bring the floor plan" });
    await contains("[data-outcome=showing_booked][data-suggested='1'].btn-primary");
    await contains(".o_realtor_3cx_outcome_suggestion", {
        text: "Suggested: Showing booked, because the call mentions “viewing”.",
    });
    expect(".o_realtor_3cx_outcome_summary_waiting").toHaveCount(0);
    // The realtor edits the summary; a later word from the server does not undo it.
    await insertText(".o_realtor_3cx_outcome_summary", " 10:00.");
    bus(pyEnv, "realtor_3cx.call/debrief", {
        id: 51,
        summary: "Another summary.",
        transcript_state: "done",
        suggestion: showing,
    });
    await animationFrame();
    await contains(".o_realtor_3cx_outcome_summary", {
        value: "Dana wants a viewing on Saturday. 10:00.",
    });
    // The realtor confirms the suggestion with Save: the notes keep the edited summary.
    await click(".o_realtor_3cx_outcome_save");
    await expect.waitForSteps([
        ["save", [51], 3, "Dana wants a viewing on Saturday. 10:00.", "Bring the floor plan"],
    ]);
});

test("an outcome the realtor chose stays theirs when a suggestion arrives", async () => {
    const pyEnv = await startServer();
    session([DANA, UNKNOWN]);
    await start();
    await click("[data-outcome=left_message]");
    await contains("[data-outcome=left_message].btn-primary");
    bus(pyEnv, "realtor_3cx.call/debrief", {
        id: 51,
        summary: "Dana asked for a viewing.",
        transcript_state: "done",
        suggestion: { id: 3, code: "showing_booked", name: "Showing booked", phrase: "viewing" },
    });
    await contains(".o_realtor_3cx_outcome_summary", { value: "Dana asked for a viewing." });
    await contains("[data-outcome=showing_booked][data-suggested='1'].btn-outline-secondary");
    expect("[data-outcome=left_message]").toHaveClass("btn-primary");
    // The other call's draft is untouched; a debrief of a call not listed reloads the list.
    await click(".o_realtor_3cx_outcome_item[data-call-id='52']");
    await contains(".o_realtor_3cx_outcome[data-call-id='52']");
    expect(".o_realtor_3cx_outcome_summary").toHaveCount(0);
    expect("[data-outcome].btn-primary").toHaveCount(0);
    onRpc("threecx.call", "realtor_3cx_pending_outcomes", () => {
        expect.step("reload");
        return { calls: [DANA, UNKNOWN], count: 2 };
    });
    bus(pyEnv, "realtor_3cx.call/debrief", { id: 99, summary: "x", suggestion: false });
    await expect.waitForSteps(["reload"]);
});
