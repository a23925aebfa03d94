/** @odoo-module **/
// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { Component, useState } from "@odoo/owl";
import { deserializeDateTime } from "@web/core/l10n/dates";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { isOnCall } from "./outcome_service";

const { DateTime } = luxon;

/**
 * The calls still waiting for an outcome, docked at the bottom of the screen: never a modal,
 * never over a call in progress (it folds while the realtor talks), in one tab at a time.
 * Each call can be logged (outcome, notes, when to follow up) or skipped.
 */
export class OutcomePanel extends Component {
    static template = "realtor_3cx.OutcomePanel";
    static props = {};

    setup() {
        this.outcomes = useService("realtor_3cx.outcomes");
        this.state = useState(this.outcomes.state);
        this.calls = useState(useService("realtor_3cx.call").state);
        this.local = useState({ folded: false, saving: false });
    }

    get visible() {
        return this.state.owner && this.state.calls.length > 0;
    }

    get onCall() {
        // Read through this component's reactive view: the panel unfolds when the call ends.
        return isOnCall(this.calls);
    }

    get folded() {
        return this.local.folded || this.onCall;
    }

    get selected() {
        return this.state.calls.find((c) => c.id === this.state.selectedId) || null;
    }

    get draft() {
        // Through this component's reactive view of the service's state: typing re-renders.
        const id = this.selected.id;
        return this.state.drafts[id] || this.outcomes.draft(id);
    }

    who(call) {
        return call.partner?.name || call.number_display || call.number || _t("Unknown caller");
    }

    when(call) {
        if (!call.end_at) {
            return "";
        }
        return deserializeDateTime(call.end_at).toLocaleString(DateTime.TIME_SIMPLE);
    }

    duration(call) {
        const seconds = call.talk_seconds || 0;
        return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
    }

    toggle() {
        this.local.folded = !this.local.folded;
    }

    select(call) {
        this.outcomes.select(call.id);
    }

    chooseOutcome(outcome) {
        this.draft.outcomeId = this.draft.outcomeId === outcome.id ? false : outcome.id;
        this.draft.outcomeChosen = true; // a suggestion arriving later leaves it alone
    }

    get suggestion() {
        const suggested = this.selected.suggestion;
        return suggested && (this.state.outcomes || []).some((o) => o.id === suggested.id)
            ? suggested
            : null;
    }

    get suggestionText() {
        // Why it is suggested, in the words the call used: the realtor judges the guess.
        return _t("Suggested: %(outcome)s, because the call mentions “%(phrase)s”.", {
            outcome: this.suggestion.name,
            phrase: this.suggestion.phrase,
        });
    }

    async save() {
        this.local.saving = true;
        try {
            await this.outcomes.save(this.selected.id);
        } finally {
            this.local.saving = false;
        }
    }

    async skip() {
        await this.outcomes.skip([this.selected.id]);
    }

    async skipAll() {
        await this.outcomes.skip(this.state.calls.map((c) => c.id));
    }
}

registry.category("main_components").add("realtor_3cx.OutcomePanel", { Component: OutcomePanel });
