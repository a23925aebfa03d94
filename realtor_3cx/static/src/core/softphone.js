/** @odoo-module **/
// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { _t } from "@web/core/l10n/translation";
import { rpc } from "@web/core/network/rpc";

/**
 * The browser end of a call bridged by the worker (see realtor_3cx/worker/media.py).
 *
 * The offer is sent once ICE gathering is complete (no trickling: one round trip through
 * Odoo); the worker answers with its own candidates. ``state`` is the call service's reactive
 * ``softphone`` object: status, number, timer start, mute, message.
 */
export class BrowserCall {
    constructor(state, iceServers = []) {
        this.state = state;
        this.iceServers = iceServers;
        this.pc = null;
        this.stream = null;
        this.audio = null;
        this.sessionId = null;
    }

    /**
     * @param {string} number the number to call, or the caller's (shown while answering)
     * @param {number} [answerCallId] a ringing ``threecx.call`` to answer here instead
     */
    async start(number, answerCallId = false) {
        Object.assign(this.state, { status: "connecting", number, message: _t("Connecting..."), muted: false, startedAt: null, callId: null });
        try {
            this.stream = await navigator.mediaDevices.getUserMedia({ audio: true });
        } catch {
            return this.fail(_t("Odoo may not use your microphone. Allow it for this site (the icon in the address bar), then retry."));
        }
        this.pc = new RTCPeerConnection({ iceServers: this.iceServers });
        for (const track of this.stream.getAudioTracks()) {
            this.pc.addTrack(track, this.stream);
        }
        this.pc.ontrack = ({ streams }) => {
            this.audio = this.audio || document.createElement("audio");
            this.audio.className = "o_realtor_3cx_softphone_audio d-none";
            this.audio.autoplay = true;
            this.audio.srcObject = streams[0];
            document.body.appendChild(this.audio);
        };
        this.pc.onconnectionstatechange = () => {
            if (this.pc && this.pc.connectionState === "failed") {
                this.fail(_t("The audio connection failed. Check your network, then retry."));
            }
        };
        await this.pc.setLocalDescription(await this.pc.createOffer());
        await new Promise((resolve) => {
            if (this.pc.iceGatheringState === "complete") {
                return resolve();
            }
            this.pc.onicegatheringstatechange = () => this.pc.iceGatheringState === "complete" && resolve();
            setTimeout(resolve, 3000); // enough candidates on a LAN; never hang the click
        });
        const result = await rpc("/realtor_3cx/softphone/offer", {
            destination: answerCallId ? null : number,
            call_id: answerCallId || null,
            sdp: this.pc.localDescription.sdp,
        });
        if (!result.ok) {
            return this.fail(result.message);
        }
        this.sessionId = result.session_id;
        Object.assign(this.state, { status: "ringing", message: _t("Ringing..."), callId: result.call_id, sessionId: result.session_id });
        await this.pc.setRemoteDescription({ type: "answer", sdp: result.answer });
        if (answerCallId) {
            this.connected(); // 3CX answered it on the route point already
        }
    }

    connected() {
        Object.assign(this.state, { status: "connected", message: _t("Connected"), startedAt: Date.now() });
    }

    toggleMute() {
        this.state.muted = !this.state.muted;
        for (const track of this.stream?.getAudioTracks() || []) {
            track.enabled = !this.state.muted;
        }
    }

    /** Hand the call to a colleague's extension or a number; this browser leaves it. */
    async transfer(destination) {
        const result = await rpc("/realtor_3cx/softphone/transfer", {
            session_id: this.sessionId,
            destination,
        });
        if (result.ok) {
            this.teardown(_t("Transferred to %s", destination));
        } else {
            this.state.message = result.message;
        }
        return result;
    }

    async hangup() {
        if (this.sessionId) {
            await rpc("/realtor_3cx/softphone/hangup", { session_id: this.sessionId });
        }
        this.teardown(_t("Ended"));
    }

    fail(message) {
        this.teardown(message);
        this.state.status = "failed";
    }

    teardown(message) {
        this.pc?.close();
        for (const track of this.stream?.getTracks() || []) {
            track.stop();
        }
        this.audio?.remove();
        this.pc = this.stream = this.audio = null;
        this.sessionId = null;
        Object.assign(this.state, { status: "ended", message, startedAt: null });
    }
}
