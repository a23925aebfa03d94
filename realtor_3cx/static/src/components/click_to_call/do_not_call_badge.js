/** @odoo-module **/
// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { Component } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { standardFieldProps } from "@web/views/fields/standard_field_props";

/**
 * ``widget="realtor_3cx_do_not_call"`` on a ``do_not_call`` field: a red "Do not call" badge
 * when set, nothing otherwise, so a realtor sees it before reaching for the phone (in the
 * contact's title, and in lists of contacts such as a property's owners).
 */
export class DoNotCallBadge extends Component {
    static template = "realtor_3cx.DoNotCallBadge";
    static props = { ...standardFieldProps };

    get title() {
        return _t("On the do-not-call list: 3CX will not dial this contact.");
    }
}

registry.category("fields").add("realtor_3cx_do_not_call", {
    component: DoNotCallBadge,
    displayName: _t("Do-not-call badge"),
    supportedTypes: ["boolean"],
});
