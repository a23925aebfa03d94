/** @odoo-module **/
// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { registry } from "@web/core/registry";

// A manager's look at the calls: the list, the pivot by realtor and the graph per day.
registry.category("web_tour.tours").add("realtor_3cx_calls_tour", {
    url: "/odoo/action-realtor_3cx.threecx_call_action",
    steps: () => [
        {
            content: "The list shows the tour's call with its contact",
            trigger: ".o_list_view .o_data_row:contains('Tour Caller'):contains('Completed')",
        },
        {
            content: "A missed call is shown in red",
            trigger: ".o_list_view .o_data_row.text-danger:contains('Missed')",
        },
        {
            content: "Switch to the pivot",
            trigger: ".o_switch_view.o_pivot",
            run: "click",
        },
        {
            content: "The pivot has the realtor as a row and the states as columns",
            trigger: ".o_pivot table:contains('Tour Realtor'):contains('Completed')",
        },
        {
            content: "with the talk time measure",
            trigger: ".o_pivot table th:contains('Talk time')",
        },
        {
            content: "Switch to the graph",
            trigger: ".o_switch_view.o_graph",
            run: "click",
        },
        {
            content: "The graph is drawn",
            trigger: ".o_graph_renderer canvas",
        },
    ],
});

// A realtor's contact: the Calls tab lists the contact's recent calls.
registry.category("web_tour.tours").add("realtor_3cx_partner_calls_tour", {
    steps: () => [
        {
            content: "The contact has a Calls smart button",
            trigger: ".o_form_view .oe_stat_button:contains('Calls')",
        },
        {
            content: "Open the Calls tab",
            trigger: ".o_notebook .nav-link:contains('Calls')",
            run: "click",
        },
        {
            content: "The tab lists the call",
            trigger:
                ".o_notebook .tab-pane.active .o_data_row:contains('Inbound'):contains('Showing booked')",
        },
    ],
});
