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
            content: "The click is answered at once; the worker's answer will come on the bus",
            trigger: ".o_realtor_3cx_dial_status[data-status=calling]:contains(Calling...)",
        },
        {
            content: "One click at a time: the button waits for the answer",
            trigger: ".o_field_widget[name=phone] .o_realtor_3cx_dial[disabled]",
        },
    ],
});
