/** @odoo-module **/
// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { registry } from "@web/core/registry";

// An admin generates the CRM API key on the server form: it is shown once, in a dialog.
registry.category("web_tour.tours").add("realtor_3cx_crm_template_tour", {
    steps: () => [
        {
            content: "Open the CRM template tab of the server form",
            trigger: ".o_notebook a[name=crm_template]",
            run: "click",
        },
        {
            content: "It explains how to upload the template into 3CX",
            trigger: ".o_realtor_3cx_crm_help:contains('Integrations > CRM')",
        },
        {
            content: "Generate the key",
            trigger: "button[name=action_generate_crm_key]:contains('Generate API key')",
            run: "click",
        },
        {
            content: "The dialog shows the key once",
            trigger: ".modal .o_field_widget[name=key]",
            run() {
                const key = this.anchor.textContent.trim();
                if (key.length < 40) {
                    throw new Error(`the dialog shows no key: '${key}'`);
                }
            },
        },
        {
            content: "Close it",
            trigger: ".modal button:contains('Done')",
            run: "click",
        },
        {
            content: "The form now offers to rotate the key",
            trigger: "button[name=action_generate_crm_key]:contains('Rotate API key')",
        },
        {
            content: "and to download the template",
            trigger: "button[name=action_download_crm_template]",
        },
    ],
});
