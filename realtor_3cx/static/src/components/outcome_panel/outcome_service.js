/** @odoo-module **/
// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { reactive } from "@odoo/owl";
import { browser } from "@web/core/browser/browser";
import { _t } from "@web/core/l10n/translation";
import { ConnectionLostError } from "@web/core/network/rpc";
import { registry } from "@web/core/registry";
import { user } from "@web/core/user";
import { effect } from "@web/core/utils/reactive";
import { BUS } from "../../core/call_service";

export const OUTCOME_DONE = "realtor_3cx.call/outcome_done";
/** The worker stored a call's transcript: its summary and suggested outcome (Python side:
 * models/threecx_call_debrief.py). */
export const DEBRIEF = "realtor_3cx.call/debrief";
/** localStorage: ``{tab, at}`` of the one tab that shows the outcome panel. */
export const OWNER_KEY = "realtor_3cx.outcome_tab";
export const HEARTBEAT_MS = 2000;
// An owner that stopped beating (closed, crashed, frozen in the background) is replaced.
export const STALE_MS = 3 * HEARTBEAT_MS;

/**
 * The calls waiting for the realtor's outcome, and which of their tabs asks for them.
 *
 * The list is the server's (``threecx.call.realtor_3cx_pending_outcomes``): a reload, another
 * tab or another device shows the same calls, and a call leaves it only once its outcome is
 * logged or skipped (``realtor_3cx.call/outcome_done`` on the bus, to every tab). Only one
 * tab shows the panel: the one the realtor used last (a click, focus or showing the tab
 * claims it, through a localStorage lock with a heartbeat, so closing it hands over).
 */
/**
 * True while the realtor talks (on the desk phone or in the browser): the panel waits, folded,
 * until the call is over. Components pass their own reactive view of the call service's state.
 * @param {Object} calls the call service's ``state``
 */
export function isOnCall(calls) {
    return (
        calls.popups.some((p) => p.state === "connected") ||
        ["connecting", "ringing", "connected", "elsewhere"].includes(calls.softphone.status) ||
        calls.dialing?.status === "connected"
    );
}

export const outcomeService = {
    dependencies: ["bus_service", "orm", "notification", "realtor_3cx.call"],

    start(env, { bus_service: bus, orm, notification, "realtor_3cx.call": calls }) {
        const tabId = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
        const state = reactive({
            calls: [],
            count: 0,
            outcomes: null,
            owner: false,
            selectedId: false,
            // call id -> {outcomeId, notes, followupDate, summary}: switching keeps them
            drafts: {},
        });

        function readOwner() {
            try {
                return JSON.parse(browser.localStorage.getItem(OWNER_KEY) || "null");
            } catch {
                return null;
            }
        }
        function stamp() {
            browser.localStorage.setItem(OWNER_KEY, JSON.stringify({ tab: tabId, at: Date.now() }));
        }
        function claim() {
            stamp();
            if (!state.owner) {
                state.owner = true;
                refresh(); // what another tab logged meanwhile is gone here too
            }
        }
        function check() {
            const owner = readOwner();
            if (!owner || owner.tab === tabId || Date.now() - owner.at > STALE_MS) {
                claim();
            } else {
                state.owner = false;
            }
        }

        let loading = null;
        const done = new Set(); // calls logged or skipped since this page loaded
        async function apply(result) {
            if (result.calls.length && !state.outcomes) {
                // Managers configure them (Telephony > Configuration > Call Outcomes): the
                // active ones, in their order; the server plans each one's follow-up.
                state.outcomes = await orm.searchRead("threecx.outcome", [], ["code", "name"]);
            }
            // A list read before an outcome was saved must not bring its call back.
            state.calls = result.calls.filter((c) => !done.has(c.id));
            state.count = Math.max(
                state.calls.length,
                result.count - (result.calls.length - state.calls.length)
            );
            for (const call of state.calls) {
                debrief(call, call); // drafts are made here, not while the panel renders
            }
            if (!state.calls.some((c) => c.id === state.selectedId)) {
                state.selectedId = state.calls[0]?.id || false;
            }
        }
        function refresh() {
            loading = orm
                .call("threecx.call", "realtor_3cx_pending_outcomes", [])
                .then(apply, (error) => {
                    if (!(error instanceof ConnectionLostError)) {
                        throw error;
                    }
                    // Offline for a moment: the list stays, the next event reloads it.
                });
            return loading;
        }

        /**
         * The call's summary and suggested outcome, into its draft: only what the realtor has
         * not touched (a summary they edited, an outcome they chose, stay theirs).
         * @param {Object} call the listed call
         * @param {Object} debriefed ``{summary, suggestion}`` from the server
         */
        function debrief(call, debriefed) {
            const draft = api.draft(call.id);
            if (debriefed.summary && draft.summary === draft.summaryFrom) {
                draft.summary = draft.summaryFrom = debriefed.summary;
            }
            const suggested = debriefed.suggestion || false;
            if (!draft.outcomeChosen && suggested) {
                draft.outcomeId = suggested.id;
            }
            Object.assign(call, {
                summary: debriefed.summary || call.summary || "",
                suggestion: suggested || call.suggestion || false,
                transcript_state: debriefed.transcript_state || call.transcript_state,
            });
        }

        function forget(callId) {
            done.add(callId);
            const before = state.calls.length;
            state.calls = state.calls.filter((c) => c.id !== callId);
            if (state.calls.length < before) {
                state.count = Math.max(0, state.count - 1);
            }
            delete state.drafts[callId];
            if (state.selectedId === callId) {
                state.selectedId = state.calls[0]?.id || false;
            }
            if (!state.calls.length && state.count) {
                refresh(); // more than the first page were waiting
            }
        }

        const api = {
            state,
            get loaded() {
                return loading;
            },
            refresh,
            claim,
            draft(callId) {
                if (!state.drafts[callId]) {
                    state.drafts[callId] = {
                        outcomeId: false,
                        outcomeChosen: false, // by the realtor, not suggested
                        notes: "",
                        followupDate: "",
                        summary: "",
                        summaryFrom: "", // the server's summary the draft shows
                    };
                }
                return state.drafts[callId];
            },
            select(callId) {
                state.selectedId = callId;
            },
            async save(callId) {
                const draft = api.draft(callId);
                await orm.call("threecx.call", "action_save_outcome", [[callId]], {
                    outcome_id: draft.outcomeId || false,
                    notes: draft.notes || false,
                    followup_date: draft.followupDate || false,
                    summary: draft.summary || false, // as edited: the notes keep it
                });
                forget(callId);
                notification.add(_t("Call outcome saved"), { type: "success" });
            },
            async skip(callIds) {
                await orm.call("threecx.call", "action_skip_outcome", [callIds]);
                for (const id of callIds) {
                    forget(id);
                }
            },
        };

        bus.subscribe(BUS.ended, async (payload) => {
            if (payload.state === "completed" && payload.user_id === user.userId) {
                await refresh();
                // The call just over is the one to log, unless one is being typed already.
                const draft = state.drafts[state.selectedId];
                const typing = draft && (draft.outcomeChosen || draft.notes || draft.followupDate);
                if (!typing && state.calls.some((c) => c.id === payload.id)) {
                    state.selectedId = payload.id;
                }
            }
        });
        bus.subscribe(OUTCOME_DONE, ({ id }) => forget(id));
        bus.subscribe(DEBRIEF, (payload) => {
            // Usually while the prompt is open: the recording is fetched after the hang-up.
            const call = state.calls.find((c) => c.id === payload.id);
            if (call) {
                debrief(call, payload);
            } else if (!done.has(payload.id)) {
                refresh(); // listed after this page read the list: the list brings it
            }
        });

        // The tab the realtor is using claims the panel; the others hide it.
        browser.addEventListener("focus", claim);
        browser.addEventListener("pointerdown", () => state.owner || claim(), true);
        browser.addEventListener("keydown", () => state.owner || claim(), true);
        document.addEventListener("visibilitychange", () => {
            if (document.visibilityState === "visible") {
                claim();
            }
        });
        browser.addEventListener("storage", (ev) => {
            // Another tab claimed or left; this tab's own stamp is no news (and answering it
            // with another stamp would loop where a storage event also reaches its writer).
            if (ev.key === OWNER_KEY && readOwner()?.tab !== tabId) {
                check();
            }
        });
        browser.addEventListener("pagehide", () => {
            if (state.owner && readOwner()?.tab === tabId) {
                browser.localStorage.removeItem(OWNER_KEY);
            }
        });
        browser.setInterval(check, HEARTBEAT_MS);
        // A tab the realtor opens (or reloads) takes the panel; a hidden one only if no tab
        // holds it. The session brings the list: no refresh here.
        const owner = readOwner();
        if (document.visibilityState === "visible" || !owner || Date.now() - owner.at > STALE_MS) {
            stamp();
            state.owner = true;
        }
        // The list comes with the session the call service loads (one request at page load).
        let started = false;
        effect(
            (calls) => {
                if (calls.session && !started) {
                    started = true;
                    loading = apply(calls.session.pending_outcomes || { calls: [], count: 0 });
                }
            },
            [calls.state]
        );
        return api;
    },
};

registry.category("services").add("realtor_3cx.outcomes", outcomeService);
