/** @odoo-module **/
// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { Component, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { useService } from "@web/core/utils/hooks";

/**
 * Whether the 3CX button replaces Odoo's ``tel:`` link on this phone field: the user has an
 * extension (a user without one keeps Odoo's plain link) and the field did not opt out
 * (``options="{'enable_3cx': false}"``, as the sms addon's ``enable_sms``).
 * @param {object} callState the call service's state
 * @param {object} props the phone field's props
 */
export function threecxCallsHere(callState, props) {
    return Boolean(callState.session?.extension) && props.enable3cx !== false;
}

/**
 * "Call" next to a phone number: 3CX rings the realtor's own phone, then the number.
 * Shows the call's progress (Calling... / Connected / Ended) or why it was not placed. A
 * refusal by the rules (do-not-call, calling hours) offers no way around them; only a call
 * the rules allowed and the telephony could not place offers the plain ``tel:`` link. A
 * do-not-call contact's button is disabled beforehand, the reason in its tooltip.
 */
export class ClickToCallButton extends Component {
    static template = "realtor_3cx.ClickToCallButton";
    static props = ["*"];

    setup() {
        this.calls = useService("realtor_3cx.call");
        this.state = useState(this.calls.state);
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
        return threecxCallsHere(this.state, this.props);
    }

    /** The record is a contact flagged do-not-call (when the view loads that flag). */
    get doNotCall() {
        return Boolean(this.props.record.data.do_not_call);
    }

    get title() {
        if (this.doNotCall) {
            const name = this.props.record.data.display_name || this.props.record.data.name;
            return name
                ? _t("%s is on the do-not-call list: 3CX will not dial this number.", name)
                : _t("This contact is on the do-not-call list: 3CX will not dial this number.");
        }
        return _t("Call through 3CX from your extension");
    }

    async onClick(ev) {
        ev.preventDefault();
        ev.stopPropagation();
        if (this.doNotCall) {
            return;
        }
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
