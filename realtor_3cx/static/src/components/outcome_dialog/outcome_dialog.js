/** @odoo-module **/
// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { Component, onWillStart, useState } from "@odoo/owl";
import { Dialog } from "@web/core/dialog/dialog";
import { _t } from "@web/core/l10n/translation";
import { useService } from "@web/core/utils/hooks";

/** After an answered call: how did it go? The outcome implies the next activity. */
export class OutcomeDialog extends Component {
    static template = "realtor_3cx.OutcomeDialog";
    static components = { Dialog };
    static props = { call: Object, close: Function };

    setup() {
        this.orm = useService("orm");
        this.notification = useService("notification");
        this.outcomes = [];
        this.state = useState({ outcomeId: false, notes: "", saving: false });
        // Managers configure the outcomes (Telephony > Configuration > Call Outcomes): the
        // dialog lists the active ones, in their order; the server plans the follow-up.
        onWillStart(async () => {
            this.outcomes = await this.orm.searchRead("threecx.outcome", [], ["code", "name"]);
        });
    }

    get who() {
        const call = this.props.call;
        return call.partner?.name || call.number_display || call.number || _t("this caller");
    }

    async save() {
        this.state.saving = true;
        const values = { notes: this.state.notes || false };
        if (this.state.outcomeId) {
            values.outcome_id = this.state.outcomeId;
        }
        await this.orm.write("threecx.call", [this.props.call.id], values);
        this.notification.add(_t("Call outcome saved"), { type: "success" });
        this.props.close();
    }
}
