/** @odoo-module **/
// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { Component, onWillStart, onWillUnmount, useState } from "@odoo/owl";
import { browser } from "@web/core/browser/browser";
import { deserializeDateTime } from "@web/core/l10n/dates";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { user } from "@web/core/user";
import { useService } from "@web/core/utils/hooks";
import { BUS } from "../../core/call_service";
import { OUTCOME_DONE } from "../../components/outcome_panel/outcome_service";

const { DateTime } = luxon;

/**
 * The power dialer (threecx_dialer_session.py): one entry of a list at a time.
 *
 * Phases: ``ready`` (the card, the Call button), ``dialing`` (the call is placed: click-to-call
 * through the call service, or the softphone), ``outcome`` (the call was answered and ended:
 * the docked outcome panel asks for its outcome), ``countdown`` (the next entry comes after
 * the realtor's pause), ``paused``, ``failed`` (the call could not be placed) and
 * ``finished`` (nobody left to call now). Nothing here waits on the PBX: the call's progress
 * comes on the bus, as for any Call button.
 */
export class Dialer extends Component {
    static template = "realtor_3cx.Dialer";
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.bus = useService("bus_service");
        this.calls = useService("realtor_3cx.call");
        this.callState = useState(this.calls.state);
        this.state = useState({
            session: null,
            phase: "loading",
            message: "",
            remaining: 0,
            callId: false,
        });
        this.sessionId = this.props.action?.params?.session_id || false;
        this.timer = null;
        this.onEnded = (payload) => this.callEnded(payload);
        this.onOutcomeDone = ({ id }) => {
            if (this.state.phase === "outcome" && id === this.state.callId) {
                this.advance();
            }
        };
        this.bus.subscribe(BUS.ended, this.onEnded);
        this.bus.subscribe(OUTCOME_DONE, this.onOutcomeDone);
        onWillStart(() => this.load());
        onWillUnmount(() => {
            browser.clearInterval(this.timer);
            this.bus.unsubscribe(BUS.ended, this.onEnded);
            this.bus.unsubscribe(OUTCOME_DONE, this.onOutcomeDone);
            if (this.sessionId) {
                // Leaving hands the entry back to the list for a colleague.
                this.orm.silent.call("threecx.dialer.session", "dialer_leave", [[this.sessionId]]);
            }
        });
    }

    get entry() {
        return this.state.session?.entry || null;
    }

    get session() {
        return this.state.session;
    }

    get progress() {
        const counts = this.session?.counts || {};
        return (counts.done || 0) + (counts.called || 0) + (counts.skipped || 0);
    }

    when(value) {
        return value ? deserializeDateTime(value).toLocaleString(DateTime.DATETIME_SHORT) : "";
    }

    async rpc(method, args = [], kwargs = {}) {
        return this.orm.call("threecx.dialer.session", method, [[this.sessionId], ...args], kwargs);
    }

    show(session) {
        this.state.session = session;
        if (!session.entry) {
            this.state.phase = "finished";
        } else if (
            ["ready", "loading", "countdown", "paused", "failed"].includes(this.state.phase)
        ) {
            this.state.phase = "ready";
        }
    }

    async load() {
        if (!this.sessionId) {
            this.sessionId = await this.orm.call("threecx.dialer.session", "dialer_resume", []);
        }
        if (!this.sessionId) {
            this.state.phase = "finished";
            return;
        }
        const session = await this.rpc("dialer_state");
        if (session.entry && session.entry.state === "taken") {
            this.show(session);
        } else {
            await this.next();
        }
    }

    async next() {
        browser.clearInterval(this.timer);
        this.state.phase = "loading";
        this.state.callId = false;
        this.state.message = "";
        this.show(await this.rpc("dialer_next"));
        if (this.state.phase === "ready" && this.session.auto_dial) {
            await this.call();
        }
    }

    async skip() {
        browser.clearInterval(this.timer);
        this.state.phase = "loading";
        this.show(await this.rpc("dialer_skip"));
        if (this.state.phase === "ready" && this.session.auto_dial) {
            await this.call();
        }
    }

    async call() {
        const entry = this.entry;
        if (!entry || !["ready", "failed"].includes(this.state.phase)) {
            return; // one call per entry at a time, whatever clicked
        }
        this.state.phase = "dialing";
        this.state.message = _t("Calling...");
        const marked = await this.rpc("dialer_mark_dialed");
        if (this.session.mode === "softphone" && this.calls.softphoneAvailable) {
            await this.calls.browserCall(marked.number);
            return;
        }
        const result = await this.calls.dial(
            entry.phone,
            entry.partner_id ? "res.partner" : false,
            entry.partner_id || false
        );
        if (this.state.phase !== "dialing" || this.entry?.id !== entry.id) {
            return; // the call ended first (its answer and its end came on the bus)
        }
        if (result.state === "refused") {
            // The rules said no since the take (a do-not-call set meanwhile): skipped, with why.
            this.state.phase = "loading";
            this.show(await this.rpc("dialer_refused", [result.message]));
            this.state.message = result.message;
        } else if (!result.ok) {
            this.state.phase = "failed";
            this.state.message = result.message;
        } else {
            this.state.message = result.placed_message || result.message;
        }
    }

    async callEnded(payload) {
        const entry = this.entry;
        if (
            !entry ||
            this.state.phase !== "dialing" ||
            payload.direction !== "outbound" ||
            payload.user_id !== user.userId ||
            payload.e164 !== entry.e164
        ) {
            return;
        }
        const result = await this.rpc("dialer_call_ended", [payload.id]);
        this.state.callId = result.call_id;
        if (result.answered) {
            this.state.phase = "outcome";
            this.state.message = _t("Log the call's outcome: the next entry follows.");
        } else {
            this.state.message = _t("No answer: logged as such.");
            this.advance();
        }
    }

    /** The current entry is over: the next one after the realtor's pause. */
    advance() {
        this.countdown();
    }

    countdown() {
        browser.clearInterval(this.timer);
        const seconds = this.session?.pause_seconds || 0;
        if (!seconds) {
            this.next();
            return;
        }
        this.state.phase = "countdown";
        this.state.remaining = seconds;
        this.timer = browser.setInterval(() => {
            this.state.remaining -= 1;
            if (this.state.remaining <= 0) {
                browser.clearInterval(this.timer);
                this.next();
            }
        }, 1000);
    }

    pause() {
        browser.clearInterval(this.timer);
        this.state.phase = "paused";
    }

    async resume() {
        await this.next();
    }

    async configure(values) {
        const session = await this.rpc("dialer_configure", [], values);
        this.state.session = { ...this.state.session, ...session, entry: this.entry };
    }

    onPause(ev) {
        this.configure({ pause_seconds: parseInt(ev.target.value || "0", 10) || 0 });
    }

    onMode(ev) {
        this.configure({ mode: ev.target.value });
    }

    onAutoDial(ev) {
        this.configure({ auto_dial: ev.target.checked });
    }

    get softphoneAvailable() {
        return this.calls.softphoneAvailable;
    }
}

registry.category("actions").add("realtor_3cx.dialer", Dialer);
