/** @odoo-module **/
// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { reactive } from "@odoo/owl";
import { browser } from "@web/core/browser/browser";
import { _t } from "@web/core/l10n/translation";
import { rpc } from "@web/core/network/rpc";
import { registry } from "@web/core/registry";
import { user } from "@web/core/user";
import { DIAL_ANSWER, dialRequest, NO_WORKER, NO_WORKER_SHORT, onDialAnswer } from "./dial_request";
import {
    BrowserCall,
    chooseDevice,
    listAudioDevices,
    MICROPHONE_KEY,
    SPEAKER_KEY,
} from "./softphone";

export const BUS = {
    ringing: "realtor_3cx.call/ringing",
    answered: "realtor_3cx.call/answered",
    ended: "realtor_3cx.call/ended",
    quiet: "realtor_3cx.call/quiet",
    updated: "realtor_3cx.call/updated",
    claimed: "realtor_3cx.call/claimed",
    dial: DIAL_ANSWER,
    softphoneEnded: "realtor_3cx.softphone/ended",
    softphoneMoved: "realtor_3cx.softphone/moved",
};
const DISMISSED_KEY = "realtor_3cx.dismissed";
const ASKED_KEY = "realtor_3cx.notification_permission_asked";
// A call whose legs all left ends after the worker's grace (2 s); a transfer's next leg
// comes within it. A card hidden at once comes back if the call has not ended by then.
const QUIET_RESTORE_MS = 5000;
// Which browser call a tab holds: in localStorage, a heartbeat the other tabs see; in the
// tab's sessionStorage (which outlives a reload), that this tab had it.
export const HOLDER_KEY = "realtor_3cx.softphone_holder";
const HEARTBEAT_MS = 1000;

/**
 * The one owner of the realtor's real-time call state (style.md §5).
 *
 * It subscribes to the worker's bus notifications and exposes reactive ``state``:
 *   - ``popups``: ringing calls to show (one per call record, newest first);
 *   - ``dialing``: the click-to-call in progress ``{number, resModel, resId, status, message,
 *     tel}`` (the record it was placed from);
 *   - ``session``: ``{extension, server_id, is_manager}`` from the server.
 * Components (the systray pop-up, the phone widget) only read it and call its methods; the
 * outcome panel has its own service (outcome_service.js). Every tab receives the bus; a
 * dismissal is shared between tabs, and only the main tab rings and raises a desktop notification, so a realtor hears one ring.
 */
export const callService = {
    dependencies: ["bus_service", "orm", "notification", "multi_tab"],

    start(env, { bus_service: bus, orm, notification, multi_tab: multiTab }) {
        const state = reactive({
            session: null,
            popups: [],
            dialing: null,
            ringtoneBlocked: false,
            softphone: {
                status: "idle",
                number: "",
                message: "",
                muted: false,
                held: false,
                keys: "",
                startedAt: null,
                callId: null,
                sessionId: null,
                peer: null,
                retry: false,
                resumable: null,
                elsewhere: null,
            },
        });
        let browserCall = null;
        // The 3CX call a browser call placed can be answered before the worker's answer to
        // the offer reaches this page (the worker sets the audio up beside its event loop):
        // the last calls answered are kept for that answer to find.
        const answeredCalls = new Set();
        let dialSeq = 0;
        const newBrowserCall = () =>
            new BrowserCall(state.softphone, state.session?.ice_servers || []);
        const api = {
            state,
            /** @returns {boolean} true when the tab may ring and notify (one tab does). */
            isMainTab: () => multiTab.isOnMainTab(),

            /**
             * Ask 3CX (through the server and the worker) to call ``number`` from the
             * realtor's own extension. "Calling..." shows at once; resolves with the final
             * answer: placed, refused by the rules, failed in 3CX, or no worker answered
             * (dial_request.js).
             * @param {string} number
             * @param {string} [resModel]
             * @param {number} [resId]
             */
            async dial(number, resModel = false, resId = false) {
                // The record it was placed from: only that row's button shows the progress, not
                // every row with the same number (a caller missed three times).
                // ``seq``: which click this is, so that a late answer never overwrites a
                // newer click's progress.
                const origin = { resModel, resId, seq: ++dialSeq };
                const current = () => state.dialing?.seq === origin.seq;
                state.dialing = {
                    number,
                    ...origin,
                    status: "calling",
                    message: _t("Calling..."),
                    tel: "",
                };
                let result;
                try {
                    result = await dialRequest(
                        (clientRef) =>
                            orm.call(
                                "threecx.call",
                                "realtor_3cx_dial",
                                [number, resModel, resId],
                                {
                                    client_ref: clientRef,
                                }
                            ),
                        NO_WORKER()
                    );
                } catch (error) {
                    if (current()) {
                        state.dialing = {
                            number,
                            ...origin,
                            status: "failed",
                            message: _t("The call could not be requested."),
                            tel: "", // unchecked: no way around the rules
                        };
                    }
                    throw error;
                }
                if (!current() || state.dialing.status !== "calling") {
                    // A newer click, or the call's own progress (connected, ended) came first.
                    return result;
                }
                if (result.ok) {
                    state.dialing = {
                        number,
                        ...origin,
                        status: "ringing",
                        message: result.placed_message || result.message,
                        tel: result.tel,
                    };
                } else {
                    state.dialing = {
                        number,
                        ...origin,
                        status: "failed",
                        message: result.message,
                        tel: result.tel,
                    };
                    notification.add(result.message, {
                        type: "warning",
                        title: _t("Call not placed"),
                    });
                }
                return result;
            },

            /** Close a pop-up here and in the realtor's other tabs. */
            dismiss(callId) {
                removePopup(callId);
                multiTab.setSharedValue(DISMISSED_KEY, { id: callId, at: Date.now() });
                stopRinging();
            },

            /**
             * Answer (or decline) a ringing call on the realtor's phone, through 3CX. A phone
             * 3CX cannot answer remotely (the worker says ``remote_answer: false``) turns the
             * card into "pick up the handset" (CallPopupCard), without a toast.
             */
            async answer(callId, decline = false) {
                const method = decline ? "action_decline" : "action_answer_on_phone";
                const result = await dialRequest(
                    (clientRef) =>
                        orm.call("threecx.call", method, [[callId]], { client_ref: clientRef }),
                    NO_WORKER_SHORT()
                );
                const popup = state.popups.find((p) => p.id === callId);
                if (!result.ok && result.remote_answer === false && popup) {
                    popup.direct_control = false;
                } else if (!result.ok) {
                    notification.add(result.message, { type: "warning" });
                } else if (decline) {
                    api.dismiss(callId);
                }
                return result;
            },

            async claim(callId) {
                const result = await orm.call("threecx.call", "action_claim", [[callId]]);
                if (!result.ok) {
                    notification.add(result.message, { type: "warning" });
                }
                return result;
            },

            /** Desktop notifications: asked once, from a click (browsers require a gesture). */
            async askNotificationPermission() {
                browser.localStorage.setItem(ASKED_KEY, "1");
                if ("Notification" in browser) {
                    await browser.Notification.requestPermission();
                }
            },
            get mayAskNotificationPermission() {
                return (
                    "Notification" in browser &&
                    browser.Notification.permission === "default" &&
                    !browser.localStorage.getItem(ASKED_KEY)
                );
            },

            /** Whether this browser can take calls itself: WebRTC and a microphone API (pages
             * served over plain http from another host have no ``mediaDevices``). */
            get softphoneAvailable() {
                return Boolean(
                    browser.navigator.mediaDevices?.getUserMedia && window.RTCPeerConnection
                );
            },
            /** Call ``number`` from the browser itself (WebRTC, bridged by the worker). */
            async browserCall(number) {
                browserCall = newBrowserCall();
                await browserCall.start(number);
                if (
                    state.softphone.status === "ringing" &&
                    answeredCalls.has(state.softphone.callId)
                ) {
                    browserCall.connected(); // answered before the offer's answer came
                }
            },
            /** Answer a ringing call in the browser (away from the desk phone). */
            async answerInBrowser(call) {
                removePopup(call.id);
                stopRinging();
                browserCall = newBrowserCall();
                await browserCall.start(call.number, call.id);
            },
            /** Take the browser call that plays in another tab (or was cut) into this one. */
            async switchHere() {
                const live = state.softphone.elsewhere || state.softphone.resumable;
                if (live) {
                    browserCall = newBrowserCall();
                    await browserCall.resume(live);
                }
            },
            /** Move the browser call to the realtor's own desk phone. */
            async toDeskPhone() {
                return browserCall?.toDeskPhone(state.session.extension);
            },
            async transferBrowserCall(destination) {
                return browserCall?.transfer(destination);
            },
            async hangupBrowserCall() {
                const elsewhere = state.softphone.elsewhere;
                if (state.softphone.status === "elsewhere" && elsewhere) {
                    await rpc("/realtor_3cx/softphone/hangup", {
                        session_id: elsewhere.session_id,
                    });
                    Object.assign(state.softphone, {
                        status: "ended",
                        message: _t("Ended"),
                        elsewhere: null,
                        startedAt: null,
                    });
                    return;
                }
                await browserCall?.hangup();
            },
            toggleMute() {
                browserCall?.toggleMute();
            },
            toggleHold() {
                browserCall?.toggleHold();
            },
            /** @param {string} keys DTMF keys to play into the browser call */
            sendKeys(keys) {
                browserCall?.sendKeys(keys);
            },
            listAudioDevices,
            /** The chosen microphone and speaker ids ("" = the system's default). */
            audioDevices() {
                return {
                    microphone: browser.localStorage.getItem(MICROPHONE_KEY) || "",
                    speaker: browser.localStorage.getItem(SPEAKER_KEY) || "",
                };
            },
            /** Choose a microphone; a call in progress moves to it at once. */
            async setMicrophone(deviceId) {
                chooseDevice(MICROPHONE_KEY, deviceId);
                await browserCall?.switchMicrophone();
            },
            async setSpeaker(deviceId) {
                chooseDevice(SPEAKER_KEY, deviceId);
                await browserCall?.applySpeaker();
            },
        };

        const quiet = new Map(); // call id -> [hidden pop-up, timer]
        function removePopup(callId) {
            const hidden = quiet.get(callId);
            if (hidden) {
                browser.clearTimeout(hidden[1]);
                quiet.delete(callId);
            }
            const index = state.popups.findIndex((p) => p.id === callId);
            if (index >= 0) {
                state.popups.splice(index, 1);
            }
        }

        // -- ringtone: Web Audio beeps, which browsers allow only after a user gesture --------
        let audio = null;
        let ringTimer = null;
        function beep() {
            try {
                audio = audio || new browser.AudioContext();
                if (audio.state !== "running") {
                    audio.resume().catch(() => {});
                    state.ringtoneBlocked = audio.state !== "running";
                    if (state.ringtoneBlocked) {
                        return;
                    }
                }
                for (const offset of [0, 0.4]) {
                    const osc = audio.createOscillator();
                    const gain = audio.createGain();
                    osc.frequency.value = 440;
                    gain.gain.value = 0.08;
                    osc.connect(gain).connect(audio.destination);
                    osc.start(audio.currentTime + offset);
                    osc.stop(audio.currentTime + offset + 0.3);
                }
            } catch {
                state.ringtoneBlocked = true;
            }
        }
        function startRinging() {
            if (!ringTimer && multiTab.isOnMainTab()) {
                beep();
                ringTimer = browser.setInterval(beep, 2500);
            }
        }
        function stopRinging() {
            if (ringTimer && !state.popups.some((p) => p.state === "ringing")) {
                browser.clearInterval(ringTimer);
                ringTimer = null;
            }
        }

        function desktopNotification(payload) {
            if (
                !document.hidden ||
                !multiTab.isOnMainTab() ||
                !("Notification" in browser) ||
                browser.Notification.permission !== "granted"
            ) {
                return;
            }
            const who =
                payload.partner?.name || payload.match?.partners?.[0]?.name || payload.number;
            const n = new browser.Notification(_t("Incoming call"), {
                body: payload.property ? `${who} · ${payload.property.name}` : who,
                tag: `realtor_3cx-${payload.id}`,
            });
            n.onclick = () => {
                browser.focus();
                n.close();
            };
        }

        // -- bus ------------------------------------------------------------------------------
        // Until the session is known, notifications wait: those the bus replays from before
        // this page loaded (id <= session.bus_last_id) are dropped, the rest are applied.
        const waiting = [];
        function on(type, handler) {
            bus.subscribe(type, (payload, { id }) => {
                if (!state.session) {
                    waiting.push([id, handler, payload]);
                } else if (id > state.session.bus_last_id) {
                    handler(payload);
                }
            });
        }
        on(BUS.ringing, (payload) => {
            const existing = state.popups.find((p) => p.id === payload.id);
            if (existing) {
                Object.assign(existing, payload, { state: "ringing" });
            } else {
                state.popups.unshift({ ...payload, state: "ringing", receivedAt: Date.now() });
            }
            startRinging();
            desktopNotification(payload);
        });
        on(BUS.updated, (payload) => {
            // Who the caller is, settled (picked, or a contact created): the card follows.
            const popup = state.popups.find((p) => p.id === payload.id);
            if (popup) {
                const { partner, candidates, property, listing_line, match } = payload;
                Object.assign(popup, { partner, candidates, property, listing_line, match });
            }
        });
        on(BUS.softphoneEnded, (payload) => {
            const phone = state.softphone;
            if (browserCall && payload.session_id === phone.sessionId) {
                browserCall.teardown(_t("The call ended."));
            } else if (payload.session_id === (phone.elsewhere || phone.resumable)?.session_id) {
                Object.assign(phone, {
                    status: "ended",
                    message: _t("The call ended."),
                    elsewhere: null,
                    resumable: null,
                    startedAt: null,
                    retry: false,
                });
            }
        });
        on(BUS.softphoneMoved, (payload) => {
            // Another page took the call's audio: this one shows where the call went.
            const phone = state.softphone;
            if (browserCall && payload.session_id === phone.sessionId) {
                browserCall.moved({
                    session_id: payload.to,
                    call_id: phone.callId,
                    connected: phone.status === "connected",
                    answered_at: phone.startedAt,
                    peer: phone.peer,
                });
            } else if (phone.elsewhere && payload.session_id === phone.elsewhere.session_id) {
                phone.elsewhere = { ...phone.elsewhere, session_id: payload.to };
            } else if (phone.resumable && payload.session_id === phone.resumable.session_id) {
                // This page lost its audio and another took the call: it plays there now.
                Object.assign(phone, {
                    status: "elsewhere",
                    message: _t("On a call in another tab or window."),
                    elsewhere: { ...phone.resumable, session_id: payload.to },
                    resumable: null,
                    retry: false,
                });
            }
        });
        on(BUS.answered, (payload) => {
            answeredCalls.add(payload.call_id);
            if (answeredCalls.size > 20) {
                answeredCalls.delete(answeredCalls.values().next().value);
            }
            if (browserCall && payload.call_id === state.softphone.callId) {
                browserCall.connected();
            } else if (
                state.softphone.elsewhere &&
                payload.call_id === state.softphone.elsewhere.call_id
            ) {
                state.softphone.elsewhere.connected = true;
                state.softphone.startedAt = Date.now();
            }
            if (quiet.has(payload.id) && payload.user_id === user.userId) {
                const [hidden] = quiet.get(payload.id);
                removePopup(payload.id);
                state.popups.unshift(hidden); // the transfer came back to this realtor
            }
            const popup = state.popups.find((p) => p.id === payload.id);
            if (payload.user_id === user.userId) {
                if (popup) {
                    Object.assign(popup, payload, { state: "connected" });
                }
                if (state.dialing && payload.direction === "outbound") {
                    state.dialing = {
                        ...state.dialing,
                        status: "connected",
                        message: _t("Connected"),
                    };
                }
            } else {
                removePopup(payload.id); // a colleague took it
            }
            stopRinging();
        });
        // A team call a member claimed: theirs now, gone from the other members' screens.
        on(BUS.claimed, (payload) => {
            const popup = state.popups.find((p) => p.id === payload.id);
            if (payload.user_id === user.userId) {
                if (popup) {
                    popup.user_id = payload.user_id;
                }
            } else {
                removePopup(payload.id);
                stopRinging();
            }
        });
        on(BUS.ended, (payload) => {
            const elsewhere = state.softphone.elsewhere;
            if (state.softphone.status === "elsewhere" && payload.call_id === elsewhere?.call_id) {
                Object.assign(state.softphone, {
                    status: "ended",
                    message: _t("The call ended."),
                    elsewhere: null,
                    startedAt: null,
                });
            }
            removePopup(payload.id);
            stopRinging();
            if (state.dialing && payload.direction === "outbound") {
                state.dialing = { ...state.dialing, status: "ended", message: _t("Ended") };
            }
        });
        on(BUS.quiet, ({ id }) => {
            // Nobody rings any more (the caller hung up): the card goes now, not in 2 s.
            const popup = state.popups.find((p) => p.id === id);
            if (!popup || quiet.has(id)) {
                return;
            }
            removePopup(id);
            stopRinging();
            const timer = browser.setTimeout(() => {
                quiet.delete(id);
                if (!state.popups.some((p) => p.id === id)) {
                    state.popups.unshift(popup); // a transfer's next leg: still ringing
                }
            }, QUIET_RESTORE_MS);
            quiet.set(id, [popup, timer]);
        });
        // Not through on(): an answer is to a request of this page, never one from before it.
        bus.subscribe(BUS.dial, onDialAnswer);
        multiTab.bus.addEventListener("shared_value_updated", ({ detail }) => {
            if (detail.key === DISMISSED_KEY && detail.newValue) {
                const { id } = JSON.parse(detail.newValue);
                removePopup(id);
                stopRinging();
            }
        });
        // -- a browser call outlives its page -------------------------------------------------
        // The 3CX call lives in the worker: a page that loads while the user's browser call
        // goes on takes its audio back if it is the tab that had it (a reload: the tab's
        // sessionStorage remembers), or if no other tab holds it (their heartbeat is stale);
        // otherwise it shows the call as elsewhere, with "Switch here".
        function heartbeat() {
            const sessionId = browserCall?.sessionId;
            if (sessionId) {
                const beat = JSON.stringify({ session_id: sessionId, at: Date.now() });
                browser.localStorage.setItem(HOLDER_KEY, beat);
                browser.sessionStorage.setItem(HOLDER_KEY, String(sessionId));
            } else if (browserCall && state.softphone.status !== "connecting") {
                browser.sessionStorage.removeItem(HOLDER_KEY);
            }
        }
        browser.setInterval(heartbeat, HEARTBEAT_MS);
        async function takeBackLiveCall() {
            let live = false;
            try {
                live = await rpc("/realtor_3cx/softphone/live", {});
            } catch {
                return; // Odoo unreachable: the page works without the call
            }
            if (!live || browserCall?.sessionId) {
                return;
            }
            const mine = browser.sessionStorage.getItem(HOLDER_KEY) === String(live.session_id);
            let holder = null;
            try {
                holder = JSON.parse(browser.localStorage.getItem(HOLDER_KEY) || "null");
            } catch {
                holder = null;
            }
            const heldElsewhere =
                holder &&
                holder.session_id === live.session_id &&
                Date.now() - holder.at < HEARTBEAT_MS * 3;
            if (mine || !heldElsewhere) {
                browserCall = newBrowserCall();
                await browserCall.resume(live);
            } else {
                Object.assign(state.softphone, {
                    status: "elsewhere",
                    message: _t("On a call in another tab or window."),
                    number: live.peer?.number || "",
                    peer: live.peer,
                    callId: live.call_id,
                    startedAt: live.connected ? live.answered_at : null,
                    elsewhere: live,
                });
            }
        }
        bus.start();
        orm.call("threecx.call", "realtor_3cx_session", []).then((session) => {
            if (session.extension) {
                takeBackLiveCall();
            }
            state.session = session;
            for (const payload of session.ringing) {
                state.popups.push({ ...payload, state: "ringing", receivedAt: Date.now() });
            }
            for (const [id, handler, payload] of waiting.splice(0)) {
                if (id > session.bus_last_id) {
                    handler(payload);
                }
            }
        });
        return api;
    },
};

registry.category("services").add("realtor_3cx.call", callService);
