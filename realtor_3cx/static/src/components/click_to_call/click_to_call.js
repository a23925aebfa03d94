/** @odoo-module **/
// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { Component, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { useService } from "@web/core/utils/hooks";

/**
 * "Call" next to a phone number: 3CX rings the realtor's own phone, then the number.
 * Shows the call's progress (Calling... / Connected / Ended) or why it was not placed,
 * with the plain tel: link as the fallback.
 */
export class ClickToCallButton extends Component {
    static template = "realtor_3cx.ClickToCallButton";
    static props = ["*"];

    setup() {
        this.calls = useService("realtor_3cx.call");
        this.state = useState(this.calls.state);
        this.title = _t("Call through 3CX from your extension");
    }

    get number() {
        return this.props.record.data[this.props.name] || "";
    }

    get mine() {
        const dialing = this.state.dialing;
        const record = this.props.record;
        // This button's own call: the same number placed from the same record.
        return dialing &&
            dialing.number === this.number &&
            dialing.resModel === record.resModel &&
            dialing.resId === (record.resId || false)
            ? dialing
            : null;
    }

    get available() {
        return Boolean(this.state.session);
    }

    async onClick(ev) {
        ev.preventDefault();
        ev.stopPropagation();
        if (this.props.record.isDirty) {
            await this.props.record.save();
        }
        await this.calls.dial(
            this.number,
            this.props.record.resModel,
            this.props.record.resId || false
        );
    }
}
