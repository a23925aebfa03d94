/** @odoo-module **/
// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { Component, onWillUnmount, useState } from "@odoo/owl";
import { browser } from "@web/core/browser/browser";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";

const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

/** The softphone in the systray: call from the browser when away from the desk phone. */
export class Softphone extends Component {
    static template = "realtor_3cx.Softphone";
    static props = {};

    setup() {
        this.calls = useService("realtor_3cx.call");
        this.action = useService("action");
        this.state = useState(this.calls.state);
        this.local = useState({
            open: false,
            number: "",
            transferTo: "",
            now: Date.now(),
            settings: false,
            devices: { microphones: [], speakers: [] },
            ...this.calls.audioDevices(),
        });
        this.keys = KEYS;
        this.tick = browser.setInterval(() => (this.local.now = Date.now()), 1000);
        onWillUnmount(() => browser.clearInterval(this.tick));
    }

    get phone() {
        return this.state.softphone;
    }

    get busy() {
        return ["connecting", "ringing", "connected"].includes(this.phone.status);
    }

    /** The call goes on in another tab or window: shown, with the way to take it back. */
    get elsewhere() {
        return this.phone.status === "elsewhere";
    }

    /** Who is on the line, while there is a line. */
    get peer() {
        return (this.busy || this.elsewhere) && this.phone.peer;
    }

    get timer() {
        if (!this.phone.startedAt) {
            return "";
        }
        const seconds = Math.max(0, Math.floor((this.local.now - this.phone.startedAt) / 1000));
        return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
    }

    toggle() {
        this.local.open = !this.local.open;
    }

    /** A key: part of the number before the call, a tone for the far end during it. */
    press(key) {
        if (this.phone.status === "connected") {
            this.calls.sendKeys(key);
        } else if (!this.busy && !this.elsewhere) {
            this.local.number += key;
        }
    }

    async toggleSettings() {
        this.local.settings = !this.local.settings;
        if (this.local.settings) {
            Object.assign(this.local, this.calls.audioDevices());
            this.local.devices = await this.calls.listAudioDevices();
        }
    }

    async chooseMicrophone(ev) {
        this.local.microphone = ev.target.value;
        await this.calls.setMicrophone(ev.target.value);
    }

    async chooseSpeaker(ev) {
        this.local.speaker = ev.target.value;
        await this.calls.setSpeaker(ev.target.value);
    }

    hold() {
        this.calls.toggleHold();
    }

    async call() {
        if (this.local.number.trim()) {
            await this.calls.browserCall(this.local.number.trim());
        }
    }

    async hangup() {
        await this.calls.hangupBrowserCall();
    }

    async toDeskPhone() {
        await this.calls.toDeskPhone();
    }

    async switchHere() {
        await this.calls.switchHere();
    }

    /** Retry what failed: the same call taken back if it still goes on, else a new one. */
    async retry() {
        if (this.phone.resumable) {
            await this.calls.switchHere();
        } else {
            await this.call();
        }
    }

    openContact() {
        this.action.doAction({
            type: "ir.actions.act_window",
            res_model: "res.partner",
            res_id: this.phone.peer.partner_id,
            views: [[false, "form"]],
        });
    }

    async transfer() {
        if (this.local.transferTo.trim()) {
            await this.calls.transferBrowserCall(this.local.transferTo.trim());
            this.local.transferTo = "";
        }
    }

    mute() {
        this.calls.toggleMute();
    }
}

registry
    .category("systray")
    .add("realtor_3cx.Softphone", { Component: Softphone }, { sequence: 27 });
