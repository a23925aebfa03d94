/** @odoo-module **/
// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("realtor_3cx_click_to_call_tour", {
    steps: () => [
        {
            content: "The contact's phone has the 3CX call button",
            trigger: ".o_field_widget[name=phone] .o_realtor_3cx_dial",
            run: "click",
        },
        {
            content: "3CX rings the realtor's phone first",
            trigger:
                ".o_realtor_3cx_dial_status[data-status=ringing]:contains(your phone rings first)",
        },
    ],
});
