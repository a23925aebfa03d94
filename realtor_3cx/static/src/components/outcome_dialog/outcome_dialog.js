/** @odoo-module **/
// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { Component, useState } from "@odoo/owl";
import { Dialog } from "@web/core/dialog/dialog";
import { _t } from "@web/core/l10n/translation";
import { useService } from "@web/core/utils/hooks";

// Mirrors CALL_OUTCOMES in models/threecx_call.py; the server creates the follow-up.
export const OUTCOMES = [
    ["showing_booked", _t("Showing booked")],
    ["listing_appointment", _t("Listing appointment")],
    ["interested", _t("Interested")],
    ["not_interested", _t("Not interested")],
    ["left_message", _t("Left message")],
    ["no_answer", _t("No answer")],
    ["busy", _t("Busy")],
    ["bad_number", _t("Bad number")],
    ["wrong_number", _t("Wrong number")],
];

/** After an answered call: how did it go? The outcome implies the next activity. */
export class OutcomeDialog extends Component {
    static template = "realtor_3cx.OutcomeDialog";
    static components = { Dialog };
    static props = { call: Object, close: Function };

    setup() {
        this.orm = useService("orm");
        this.notification = useService("notification");
        this.outcomes = OUTCOMES;
        this.state = useState({ outcome: "", notes: "", saving: false });
    }

    get who() {
        const call = this.props.call;
        return call.partner?.name || call.number || _t("this caller");
    }

    async save() {
        this.state.saving = true;
        const values = { notes: this.state.notes || false };
        if (this.state.outcome) {
            values.outcome = this.state.outcome;
        }
        await this.orm.write("threecx.call", [this.props.call.id], values);
        this.notification.add(_t("Call outcome saved"), { type: "success" });
        this.props.close();
    }
}
