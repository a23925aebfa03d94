/** @odoo-module **/
// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { registry } from "@web/core/registry";

// The admin's first steps: the Telephony settings, then a 3CX server form, saving its secret.
registry.category("web_tour.tours").add("realtor_3cx_settings_tour", {
    url: "/odoo/action-realtor_3cx.res_config_settings_action",
    steps: () => [
        {
            content: "The settings show the Telephony (3CX) section",
            trigger: ".app_settings_block[data-key='realtor_3cx']:contains('Telephony (3CX)')",
        },
        {
            content: "and say that the encryption key is configured",
            trigger: "#realtor_3cx_key:contains('A key is configured')",
        },
        {
            content: "Open the 3CX servers",
            trigger: "button:contains('Configure 3CX servers')",
            run: "click",
        },
        {
            content: "Open the server",
            trigger: ".o_list_view .o_data_row td:contains('Tour PBX')",
            run: "click",
        },
        {
            content: "The form shows the connection status",
            trigger:
                ".o_form_view .o_field_widget[name=connection_state]:contains('Not connected')",
        },
        {
            content: "and that no secret is saved yet",
            trigger: "div[name=api_secret_state]:contains('No secret saved yet')",
        },
        {
            content: "Type the API secret",
            trigger: ".o_field_widget[name=api_secret] input",
            run: "edit tour-typed-secret",
        },
        {
            content: "Save",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "The secret is saved, and not shown back",
            trigger: ".o_form_saved div[name=api_secret_state]:contains('A secret is saved')",
        },
        {
            content: "The secret field is empty again: saving did not send it back",
            trigger: ".o_form_saved .o_field_widget[name=api_secret] input",
            run() {
                if (this.anchor.value) {
                    throw new Error("the API secret came back to the browser after saving");
                }
            },
        },
    ],
});
