/** @odoo-module **/
// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { registry } from "@web/core/registry";

// A manager's Telephony dashboard: the pivot per realtor and month, then the graph.
// The figures come from tests/test_call_report.py (make_activity).
registry.category("web_tour.tours").add("realtor_3cx_dashboard_tour", {
    url: "/odoo/action-realtor_3cx.threecx_call_report_action",
    steps: () => [
        {
            content: "The pivot has a row per realtor and a column per month",
            trigger: ".o_pivot table thead th:contains('October 2026')",
        },
        {
            content: "with the median time to call back among its measures",
            trigger: ".o_pivot table th:contains('Median time to call back')",
        },
        {
            content: "Dash Realtor's median call back is 2:30 (the mean would be 7:50)",
            trigger: ".o_pivot table tbody tr:has(th:contains('Dash Realtor')) td:contains('2:30')",
        },
        {
            content: "and their answer rate is 20 %",
            trigger:
                ".o_pivot table tbody tr:has(th:contains('Dash Realtor')) td:contains('20.00')",
        },
        {
            content: "3CX's sentiment is among the measures, with the calls it averages",
            trigger: ".o_pivot table th:contains('Calls with a sentiment')",
        },
        {
            content: "Dash Realtor's two scored calls (8 and 3) average a neutral 5.5",
            trigger:
                ".o_pivot table tbody tr:has(th:contains('Dash Realtor')) td:contains('Neutral (5.5)')",
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
        {
            content: "Back to the pivot",
            trigger: ".o_switch_view.o_pivot",
            run: "click",
        },
        {
            content: "The pivot shows the realtor again",
            trigger: ".o_pivot table tbody th:contains('Dash Realtor')",
        },
    ],
});
