/** @odoo-module **/
// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { useService } from "@web/core/utils/hooks";
import { patch } from "@web/core/utils/patch";
import { formPhoneField, PhoneField, phoneField } from "@web/views/fields/phone/phone_field";
import { ClickToCallButton, threecxCallsHere } from "./click_to_call";

// Every phone field gets the 3CX button (as the sms addon adds its SMS button): contacts,
// properties and anything else with a phone, once the addon is installed. For a user with an
// extension it replaces Odoo's tel: link, as Odoo VoIP does: one call button per field.
patch(PhoneField, {
    components: { ...PhoneField.components, ClickToCallButton },
    defaultProps: { ...PhoneField.defaultProps, enable3cx: true },
    props: { ...PhoneField.props, enable3cx: { type: Boolean, optional: true } },
});

patch(PhoneField.prototype, {
    setup() {
        super.setup(...arguments);
        this.realtor3cxState = useState(useService("realtor_3cx.call").state);
    },
    /** The 3CX button is this field's call button (no tel: link beside it). */
    get realtor3cx() {
        return threecxCallsHere(this.realtor3cxState, this.props);
    },
});

const optionPatch = (descriptor) => ({
    extractProps({ options }) {
        const props = super.extractProps(...arguments);
        props.enable3cx = options.enable_3cx;
        return props;
    },
    supportedOptions: [
        ...(descriptor.supportedOptions || []),
        { label: _t("Enable 3CX calls"), name: "enable_3cx", type: "boolean", default: true },
    ],
});

patch(phoneField, optionPatch(phoneField));
patch(formPhoneField, optionPatch(formPhoneField));
