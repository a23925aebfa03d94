/** @odoo-module **/
// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { patch } from "@web/core/utils/patch";
import { PhoneField } from "@web/views/fields/phone/phone_field";
import { ClickToCallButton } from "./click_to_call";

// Every phone field gets the 3CX button (as the sms addon adds its SMS button): contacts,
// properties and anything else with a phone, once the addon is installed.
patch(PhoneField, {
    components: { ...PhoneField.components, ClickToCallButton },
});
