/** @odoo-module **/
// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { browser } from "@web/core/browser/browser";
import { _t } from "@web/core/l10n/translation";
import { rpc } from "@web/core/network/rpc";
import { registry } from "@web/core/registry";
import { dialRequest, NO_WORKER_SHORT } from "./dial_request";

// The realtor's choice of devices belongs to this computer, not to the Odoo user.
export const MICROPHONE_KEY = "realtor_3cx.microphone";
export const SPEAKER_KEY = "realtor_3cx.speaker";
const KEY_TONES = {
    1: [697, 1209],
    2: [697, 1336],
    3: [697, 1477],
    A: [697, 1633],
    4: [770, 1209],
    5: [770, 1336],
    6: [770, 1477],
    B: [770, 1633],
    7: [852, 1209],
    8: [852, 1336],
    9: [852, 1477],
    C: [852, 1633],
    "*": [941, 1209],
    0: [941, 1336],
    "#": [941, 1477],
    D: [941, 1633],
};

// The offer RPC returns at once; the worker's answer comes on the bus. Past this wait (the
// worker refuses an offer older than 10 s, then places the call and gathers ICE candidates),
// the page gives up and cancels its offer: it is never dialled after that.
export const ANSWER_TIMEOUT_MS = 20000;
export const ANSWER_TYPE = "realtor_3cx.softphone/answer";
const awaiting = new Map(); // the page's reference of an offer -> what receives its answer

/**
 * The worker's answer to the offer ``clientRef``: ``{session_id, client_ref, state, sdp,
 * message, call_id, retry}``, or ``null`` past ``ANSWER_TIMEOUT_MS`` (or when cancelled).
 * @returns {{promise: Promise<Object|null>, cancel: Function}}
 */
function awaitAnswer(clientRef) {
    let settle;
    const promise = new Promise((resolve) => {
        const timer = browser.setTimeout(() => settle(null), ANSWER_TIMEOUT_MS);
        settle = (payload) => {
            browser.clearTimeout(timer);
            awaiting.delete(clientRef);
            resolve(payload);
        };
    });
    awaiting.set(clientRef, settle);
    return { promise, cancel: () => settle(null) };
}

/** Every tab of the user receives the answers; the one whose offer it answers takes it. */
export const softphoneAnswerService = {
    dependencies: ["bus_service"],
    start(env, { bus_service: bus }) {
        bus.subscribe(ANSWER_TYPE, (payload) => awaiting.get(payload.client_ref)?.(payload));
    },
};
registry.category("services").add("realtor_3cx.softphone_answer", softphoneAnswerService);

/** A page-made reference for one offer (a uuid): a replayed request is dialled once. */
function newClientRef() {
    if (window.crypto.randomUUID) {
        return window.crypto.randomUUID(); // secure contexts (as the microphone needs)
    }
    const bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(
        16,
        20
    )}-${hex.slice(20)}`;
}

/**
 * The microphones and speakers this browser offers. Their names are only known once the
 * page may use the microphone; until then they are numbered.
 * @returns {Promise<{microphones: {id: string, label: string}[], speakers: {id: string, label: string}[]}>}
 */
export async function listAudioDevices() {
    const devices = (await browser.navigator.mediaDevices?.enumerateDevices?.()) || [];
    const pick = (kind, name) =>
        devices
            .filter((d) => d.kind === kind && d.deviceId)
            .map((d, i) => ({ id: d.deviceId, label: d.label || `${name} ${i + 1}` }));
    return {
        microphones: pick("audioinput", _t("Microphone")),
        // Choosing the speaker needs setSinkId (Chromium, Edge, recent Firefox).
        speakers:
            "setSinkId" in HTMLMediaElement.prototype ? pick("audiooutput", _t("Speaker")) : [],
    };
}

/**
 * Keep the choice of a device for this computer ("" = the system's default).
 * @param {string} key MICROPHONE_KEY or SPEAKER_KEY
 * @param {string} deviceId
 */
export function chooseDevice(key, deviceId) {
    if (deviceId) {
        browser.localStorage.setItem(key, deviceId);
    } else {
        browser.localStorage.removeItem(key);
    }
}

/** The microphone, the chosen one if it is still plugged in, else the default. */
async function openMicrophone() {
    const chosen = browser.localStorage.getItem(MICROPHONE_KEY);
    if (chosen) {
        try {
            return await browser.navigator.mediaDevices.getUserMedia({
                audio: { deviceId: { exact: chosen } },
            });
        } catch (error) {
            if (error.name !== "OverconstrainedError" && error.name !== "NotFoundError") {
                throw error;
            }
            browser.localStorage.removeItem(MICROPHONE_KEY); // unplugged: back to the default
        }
    }
    return browser.navigator.mediaDevices.getUserMedia({ audio: true });
}

/**
 * The browser end of a call bridged by the worker (see realtor_3cx/worker/media.py).
 *
 * The offer is sent once ICE gathering is complete (no trickling: one round trip through
 * Odoo); the worker answers with its own candidates. A data channel ("control") carries what
 * is not audio: the keys pressed (played into the call as tones by the worker) and hold.
 * ``state`` is the call service's reactive ``softphone`` object: status, number, timer start,
 * mute, hold, the keys sent, message.
 */
export class BrowserCall {
    constructor(state, iceServers = []) {
        this.state = state;
        this.iceServers = iceServers;
        this.pc = null;
        this.stream = null;
        this.audio = null;
        this.channel = null;
        this.sessionId = null;
        this.pending = null; // the offer waiting for the worker: {sessionId, cancel}
    }

    /**
     * @param {string} number the number to call, or the caller's (shown while answering)
     * @param {number} [answerCallId] a ringing ``threecx.call`` to answer here instead
     */
    async start(number, answerCallId = false) {
        this.reset({ number, peer: { number } });
        const result = await this.offer(
            { destination: answerCallId ? null : number, call_id: answerCallId || null },
            !answerCallId
        );
        if (!result) {
            return;
        }
        Object.assign(this.state, { status: "ringing", message: _t("Ringing...") });
        if (answerCallId) {
            this.connected(); // 3CX answered it on the route point already
        }
    }

    /**
     * Hear here a browser call that goes on elsewhere: this page reloaded during it, or
     * another tab (or the desk phone) has it. The 3CX call is the same; only its audio moves.
     * @param {{session_id: number, call_id: string, connected: boolean, answered_at: number, peer: Object}} live
     */
    async resume(live) {
        this.reset({ number: live.peer?.number || "", peer: live.peer || null });
        const params = live.desk
            ? { desk_call_id: live.call_id }
            : { resume_session_id: live.session_id };
        const result = await this.offer(params, true);
        if (!result) {
            return;
        }
        if (live.connected) {
            Object.assign(this.state, {
                status: "connected",
                message: _t("Connected"),
                startedAt: live.answered_at || Date.now(),
            });
        } else {
            Object.assign(this.state, { status: "ringing", message: _t("Ringing...") });
        }
    }

    reset(values) {
        Object.assign(this.state, {
            status: "connecting",
            message: _t("Connecting..."),
            muted: false,
            held: false,
            keys: "",
            startedAt: null,
            callId: null,
            sessionId: null,
            retry: false,
            resumable: null,
            elsewhere: null,
            ...values,
        });
    }

    /**
     * The microphone, the peer, the offer through Odoo and the worker's answer.
     * @param {Object} params what the offer is for (a number, a ringing call, a call to resume)
     * @param {boolean} retryable whether a failure of the connection may be retried
     * @returns {Promise<Object|null>} the server's answer, or null when it failed
     */
    async offer(params, retryable) {
        try {
            this.stream = await openMicrophone();
        } catch {
            return this.fail(
                _t(
                    "Odoo may not use your microphone. Allow it for this site (the icon in the address bar), then retry."
                ),
                retryable
            );
        }
        this.pc = new RTCPeerConnection({ iceServers: this.iceServers });
        for (const track of this.stream.getAudioTracks()) {
            this.pc.addTrack(track, this.stream);
        }
        this.channel = this.pc.createDataChannel("control");
        this.pc.ontrack = ({ streams }) => {
            this.audio = this.audio || document.createElement("audio");
            this.audio.className = "o_realtor_3cx_softphone_audio d-none";
            this.audio.autoplay = true;
            this.audio.srcObject = streams[0];
            this.applySpeaker();
            document.body.appendChild(this.audio);
        };
        this.pc.onconnectionstatechange = () => {
            if (this.pc && this.pc.connectionState === "failed") {
                // The 3CX call outlives the audio for a while in the worker: once a call is
                // under way, retrying takes that same call back rather than dialling again.
                const resumable = this.sessionId && {
                    session_id: this.sessionId,
                    call_id: this.state.callId,
                    connected: this.state.status === "connected",
                    answered_at: this.state.startedAt,
                    peer: this.state.peer,
                };
                this.fail(
                    _t("The audio connection failed. Check your network, then retry."),
                    retryable || Boolean(resumable)
                );
                this.state.resumable = resumable || null;
            }
        };
        await this.pc.setLocalDescription(await this.pc.createOffer());
        await new Promise((resolve) => {
            if (this.pc.iceGatheringState === "complete") {
                return resolve();
            }
            this.pc.onicegatheringstatechange = () =>
                this.pc.iceGatheringState === "complete" && resolve();
            setTimeout(resolve, 3000); // enough candidates on a LAN; never hang the click
        });
        const pc = this.pc;
        if (!pc) {
            return null; // hung up while gathering
        }
        const clientRef = newClientRef();
        const answer = awaitAnswer(clientRef);
        let result;
        try {
            result = await rpc("/realtor_3cx/softphone/offer", {
                ...params,
                sdp: pc.localDescription.sdp,
                client_ref: clientRef,
            });
        } catch {
            answer.cancel();
            return this.fail(
                _t("Odoo could not be reached. Check your network, then retry."),
                retryable
            );
        }
        if (!result.ok) {
            answer.cancel();
            return this.fail(result.message, retryable && result.retry);
        }
        if (this.pc !== pc) {
            answer.cancel(); // hung up meanwhile
            this.cancelOffer(result.session_id);
            return null;
        }
        this.pending = { sessionId: result.session_id, cancel: answer.cancel };
        Object.assign(this.state, { peer: result.peer || this.state.peer });
        const answered = await answer.promise;
        this.pending = null;
        if (this.pc !== pc) {
            return null; // hung up while the worker answered (the hang-up cancelled it)
        }
        if (!answered) {
            // The worker never answered: it may be stopped. The offer is cancelled so that it
            // is never dialled later, with nobody on this end.
            this.cancelOffer(result.session_id);
            return this.fail(
                _t("The telephony service did not answer: the 3CX worker may be stopped."),
                retryable
            );
        }
        if (answered.state !== "answered") {
            return this.fail(
                answered.message || _t("The call could not start."),
                retryable && answered.retry
            );
        }
        this.sessionId = result.session_id;
        Object.assign(this.state, { callId: answered.call_id, sessionId: result.session_id });
        await pc.setRemoteDescription({ type: "answer", sdp: answered.sdp });
        return { ...result, call_id: answered.call_id };
    }

    /** Tell Odoo this page no longer waits for the offer's answer (best effort). */
    cancelOffer(sessionId) {
        rpc("/realtor_3cx/softphone/hangup", { session_id: sessionId }).catch(() => {});
    }

    connected() {
        Object.assign(this.state, {
            status: "connected",
            message: _t("Connected"),
            startedAt: Date.now(),
        });
    }

    toggleMute() {
        this.state.muted = !this.state.muted;
        this.applyMicrophoneState();
    }

    /** The microphone is live only when neither muted nor on hold. */
    applyMicrophoneState() {
        for (const track of this.stream?.getAudioTracks() || []) {
            track.enabled = !this.state.muted && !this.state.held;
        }
    }

    /** Put the caller on hold (they hear a quiet beep) or take them back. */
    toggleHold() {
        if (!this.send({ hold: !this.state.held })) {
            return;
        }
        this.state.held = !this.state.held;
        this.applyMicrophoneState();
        if (this.audio) {
            this.audio.muted = this.state.held;
        }
        this.state.message = this.state.held ? _t("On hold") : _t("Connected");
    }

    /** Press keys during the call (an IVR's menu, a door code): 3CX hears their tones. */
    sendKeys(keys) {
        if (this.send({ dtmf: keys })) {
            this.state.keys += keys;
            this.playKeyTone(keys[keys.length - 1]);
        }
    }

    send(order) {
        if (this.channel?.readyState !== "open") {
            this.state.message = _t("Not connected yet: try again in a moment.");
            return false;
        }
        this.channel.send(JSON.stringify(order));
        return true;
    }

    /** A quiet local echo of the key, as a desk phone gives. */
    playKeyTone(key) {
        const tones = KEY_TONES[key];
        if (!tones || !browser.AudioContext) {
            return;
        }
        this.keyContext = this.keyContext || new browser.AudioContext();
        const gain = this.keyContext.createGain();
        gain.gain.value = 0.05;
        gain.connect(this.keyContext.destination);
        const end = this.keyContext.currentTime + 0.1;
        for (const hz of tones) {
            const oscillator = this.keyContext.createOscillator();
            oscillator.frequency.value = hz;
            oscillator.connect(gain);
            oscillator.start();
            oscillator.stop(end);
        }
    }

    /** Move the call to the microphone now chosen (the far end hears no gap in the call). */
    async switchMicrophone() {
        if (!this.pc) {
            return;
        }
        const stream = await openMicrophone();
        const [track] = stream.getAudioTracks();
        const sender = this.pc
            .getSenders()
            .find((s) => s.track?.kind === "audio" || s.track === null);
        await sender.replaceTrack(track);
        for (const old of this.stream?.getTracks() || []) {
            old.stop();
        }
        this.stream = stream;
        this.applyMicrophoneState();
    }

    async applySpeaker() {
        const chosen = browser.localStorage.getItem(SPEAKER_KEY) || "";
        if (this.audio?.setSinkId && this.audio.sinkId !== chosen) {
            try {
                await this.audio.setSinkId(chosen);
            } catch {
                browser.localStorage.removeItem(SPEAKER_KEY); // unplugged: the default plays
                await this.audio.setSinkId("");
            }
        }
    }

    /** Hand the call to a colleague's extension or a number; this browser leaves it. */
    async transfer(destination) {
        const result = await dialRequest(
            (clientRef) =>
                rpc("/realtor_3cx/softphone/transfer", {
                    session_id: this.sessionId,
                    destination,
                    client_ref: clientRef,
                }),
            NO_WORKER_SHORT()
        );
        if (result.ok) {
            this.teardown(_t("Transferred to %s", destination));
        } else {
            this.state.message = result.message;
        }
        return result;
    }

    /** Move the call to the realtor's desk phone (3CX rings it); "Switch here" brings it back. */
    async toDeskPhone(extension) {
        const result = await dialRequest(
            (clientRef) =>
                rpc("/realtor_3cx/softphone/transfer", {
                    session_id: this.sessionId,
                    destination: extension,
                    client_ref: clientRef,
                }),
            NO_WORKER_SHORT()
        );
        if (!result.ok) {
            this.state.message = result.message;
            return result;
        }
        this.moved(
            {
                desk: true,
                session_id: null,
                call_id: this.state.callId,
                connected: true,
                answered_at: this.state.startedAt,
                peer: this.state.peer,
            },
            _t("On your desk phone (%s).", extension)
        );
        return result;
    }

    async hangup() {
        const pending = this.pending;
        if (pending) {
            // Still waiting for the worker: the offer is cancelled, never dialled after this.
            pending.cancel();
            this.teardown(_t("Ended"));
            await rpc("/realtor_3cx/softphone/hangup", { session_id: pending.sessionId });
            return;
        }
        if (this.sessionId) {
            await rpc("/realtor_3cx/softphone/hangup", { session_id: this.sessionId });
        }
        this.teardown(_t("Ended"));
    }

    /**
     * @param {string} message why
     * @param {boolean} [retry] whether trying again may help (the connection failed, not a
     *     refusal such as do-not-call or calling hours)
     * @returns {null}
     */
    fail(message, retry = false) {
        this.teardown(message);
        Object.assign(this.state, { status: "failed", retry });
        return null;
    }

    /**
     * The call now plays in another page (or on the desk phone): this one lets its audio go
     * and shows where the call is, to take it back.
     * @param {Object} elsewhere ``{session_id, call_id, connected, answered_at, peer}``
     */
    moved(elsewhere, message = _t("On a call in another tab or window.")) {
        const { peer, startedAt } = this.state;
        this.teardown(message);
        Object.assign(this.state, {
            status: "elsewhere",
            sessionId: null, // this page's session is over; the call is not
            peer,
            startedAt,
            elsewhere,
        });
    }

    teardown(message) {
        this.pc?.close();
        for (const track of this.stream?.getTracks() || []) {
            track.stop();
        }
        this.audio?.remove();
        this.keyContext?.close();
        this.pc = this.stream = this.audio = this.channel = this.keyContext = null;
        this.sessionId = null;
        Object.assign(this.state, { status: "ended", message, startedAt: null, held: false });
    }
}
