/** @odoo-module **/
// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { reactive } from "@odoo/owl";
import { browser } from "@web/core/browser/browser";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { user } from "@web/core/user";
import { OutcomeDialog } from "../components/outcome_dialog/outcome_dialog";
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
    updated: "realtor_3cx.call/updated",
    dial: "realtor_3cx.call/dial",
    softphoneEnded: "realtor_3cx.softphone/ended",
};
const DISMISSED_KEY = "realtor_3cx.dismissed";
const ASKED_KEY = "realtor_3cx.notification_permission_asked";

/**
 * The one owner of the realtor's real-time call state (style.md §5).
 *
 * It subscribes to the worker's bus notifications and exposes reactive ``state``:
 *   - ``popups``: ringing calls to show (one per call record, newest first);
 *   - ``dialing``: the click-to-call in progress ``{number, resModel, resId, status, message,
 *     tel}`` (the record it was placed from);
 *   - ``session``: ``{extension, server_id, is_manager}`` from the server.
 * Components (the systray pop-up, the phone widget, the outcome dialog) only read it and call
 * its methods. Every tab receives the bus; a dismissal is shared between tabs, and only the
 * main tab rings and raises a desktop notification, so a realtor hears one ring.
 */
export const callService = {
    dependencies: ["bus_service", "orm", "notification", "multi_tab", "dialog"],

    start(env, { bus_service: bus, orm, notification, multi_tab: multiTab, dialog }) {
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
            },
        });
        let browserCall = null;
        const api = {
            state,
            /** @returns {boolean} true when the tab may ring and notify (one tab does). */
            isMainTab: () => multiTab.isOnMainTab(),

            /**
             * Ask 3CX (through the server and the worker) to call ``number`` from the
             * realtor's own extension. Resolves with the server's answer.
             * @param {string} number
             * @param {string} [resModel]
             * @param {number} [resId]
             */
            async dial(number, resModel = false, resId = false) {
                // The record it was placed from: only that row's button shows the progress, not
                // every row with the same number (a caller missed three times).
                const origin = { resModel, resId };
                state.dialing = {
                    number,
                    ...origin,
                    status: "calling",
                    message: _t("Calling..."),
                    tel: "",
                };
                let result;
                try {
                    result = await orm.call("threecx.call", "realtor_3cx_dial", [
                        number,
                        resModel,
                        resId,
                    ]);
                } catch (error) {
                    state.dialing = {
                        number,
                        ...origin,
                        status: "failed",
                        message: _t("The call could not be requested."),
                        tel: "", // unchecked: no way around the rules
                    };
                    throw error;
                }
                if (result.ok) {
                    state.dialing = {
                        number,
                        ...origin,
                        status: "ringing",
                        message: result.message,
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

            /** Answer (or decline) a ringing call on the realtor's phone, through 3CX. */
            async answer(callId, decline = false) {
                const method = decline ? "action_decline" : "action_answer_on_phone";
                const result = await orm.call("threecx.call", method, [[callId]]);
                if (!result.ok) {
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

            /** Call ``number`` from the browser itself (WebRTC, bridged by the worker). */
            async browserCall(number) {
                browserCall = new BrowserCall(state.softphone, state.session?.ice_servers || []);
                await browserCall.start(number);
            },
            /** Answer a ringing call in the browser (away from the desk phone). */
            async answerInBrowser(call) {
                removePopup(call.id);
                stopRinging();
                browserCall = new BrowserCall(state.softphone, state.session?.ice_servers || []);
                await browserCall.start(call.number, call.id);
            },
            async transferBrowserCall(destination) {
                return browserCall?.transfer(destination);
            },
            async hangupBrowserCall() {
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

        function removePopup(callId) {
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
            if (browserCall && payload.session_id === state.softphone.sessionId) {
                browserCall.teardown(_t("The call ended."));
            }
        });
        on(BUS.answered, (payload) => {
            if (browserCall && payload.call_id === state.softphone.callId) {
                browserCall.connected();
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
        on(BUS.ended, (payload) => {
            removePopup(payload.id);
            stopRinging();
            if (state.dialing && payload.direction === "outbound") {
                state.dialing = { ...state.dialing, status: "ended", message: _t("Ended") };
            }
            if (
                payload.state === "completed" &&
                payload.user_id === user.userId &&
                !document.hidden
            ) {
                // The visible tab asks (a hidden one would show a stale dialog later).
                dialog.add(OutcomeDialog, { call: payload });
            }
        });
        on(BUS.dial, (payload) => {
            if (!payload.ok && state.dialing) {
                state.dialing = { ...state.dialing, status: "failed", message: payload.message };
            }
        });
        multiTab.bus.addEventListener("shared_value_updated", ({ detail }) => {
            if (detail.key === DISMISSED_KEY && detail.newValue) {
                const { id } = JSON.parse(detail.newValue);
                removePopup(id);
                stopRinging();
            }
        });
        bus.start();
        orm.call("threecx.call", "realtor_3cx_session", []).then((session) => {
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
