/** @odoo-module **/
// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { Component, onWillStart, onWillUnmount, useState } from "@odoo/owl";
import { browser } from "@web/core/browser/browser";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";

const LIVE = ["ringing", "dialing", "connected"];
const DIRECTIONS = {
    inbound: _t("Inbound"),
    outbound: _t("Outbound"),
    internal: _t("Internal"),
};
const REFRESH_MS = 2000;

/**
 * Managers' live view: calls in progress with their timers, calls ringing and waiting, and
 * each realtor's presence from 3CX (profile, registered phone, in queues, on a call).
 * Re-read every two seconds; timers tick every second in between.
 */
export class CallDashboard extends Component {
    static template = "realtor_3cx.CallDashboard";
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.state = useState({ calls: [], extensions: [], now: Date.now(), loaded: false });
        onWillStart(() => this.load());
        this.refresh = browser.setInterval(() => this.load(), REFRESH_MS);
        this.tick = browser.setInterval(() => (this.state.now = Date.now()), 1000);
        onWillUnmount(() => {
            browser.clearInterval(this.refresh);
            browser.clearInterval(this.tick);
        });
    }

    async load() {
        const [calls, extensions] = await Promise.all([
            this.orm.searchRead(
                "threecx.call",
                [["state", "in", LIVE]],
                [
                    "state",
                    "direction",
                    "external_number_display",
                    "partner_id",
                    "property_id",
                    "user_id",
                    "extension",
                    "start_at",
                    "answer_at",
                    "queue",
                    "server_id",
                ],
                { order: "start_at asc" }
            ),
            this.orm.searchRead(
                "threecx.extension",
                // A realtor who left (archived user) or a PBX taken out of service is no one's
                // presence to watch.
                [
                    ["user_id.active", "=", true],
                    ["server_id.active", "=", true],
                ],
                [
                    "number",
                    "user_id",
                    "presence",
                    "registered",
                    "queue_logged_in",
                    "server_id",
                    "presence_at",
                    "status",
                    "status_label",
                ],
                { order: "number" }
            ),
        ]);
        this.state.calls = calls;
        this.state.extensions = extensions;
        this.state.loaded = true;
    }

    get talking() {
        return this.state.calls.filter((c) => c.state === "connected");
    }

    get waiting() {
        return this.state.calls.filter((c) => c.state !== "connected");
    }

    directionLabel(call) {
        return DIRECTIONS[call.direction] || call.direction;
    }

    elapsed(since) {
        if (!since) {
            return "";
        }
        const start = Date.parse(since.replace(" ", "T") + "Z");
        const seconds = Math.max(0, Math.floor((this.state.now - start) / 1000));
        const m = Math.floor(seconds / 60);
        const s = String(seconds % 60).padStart(2, "0");
        return `${m}:${s}`;
    }

    openCall(call) {
        this.action.doAction({
            type: "ir.actions.act_window",
            res_model: "threecx.call",
            res_id: call.id,
            views: [[false, "form"]],
        });
    }
}

registry.category("actions").add("realtor_3cx.call_dashboard", CallDashboard);
