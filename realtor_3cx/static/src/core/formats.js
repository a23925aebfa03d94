/** @odoo-module **/
// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { Component } from "@odoo/owl";
import { deserializeDateTime, formatDateTime } from "@web/core/l10n/dates";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { standardFieldProps } from "@web/views/fields/standard_field_props";

/**
 * Seconds as people read a call's length: ``m:ss``, ``h:mm:ss`` from an hour on. The same as
 * realtor_3cx/tools/formats.py writes in the chatter.
 */
export function formatDuration(seconds) {
    const total = Math.max(0, Math.floor(Number(seconds) || 0));
    const hours = Math.floor(total / 3600);
    const minutes = Math.floor((total % 3600) / 60);
    const secs = String(total % 60).padStart(2, "0");
    if (hours) {
        return `${hours}:${String(minutes).padStart(2, "0")}:${secs}`;
    }
    return `${minutes}:${secs}`;
}

/** A UTC datetime as the server sends it ("2026-12-01 14:05:00"), in the user's time zone. */
export function formatServerDateTime(value) {
    if (!value) {
        return "";
    }
    return formatDateTime(deserializeDateTime(value));
}

/** A duration field (integer or float seconds), read-only: it is measured, not typed. */
export class DurationField extends Component {
    static template = "realtor_3cx.DurationField";
    static props = { ...standardFieldProps };

    get formatted() {
        return formatDuration(this.props.record.data[this.props.name]);
    }
}

// Lists, forms (the field), and list sums, pivots (the formatter, looked up by widget name).
registry.category("formatters").add("realtor_3cx_duration", formatDuration);
registry.category("fields").add("realtor_3cx_duration", {
    component: DurationField,
    displayName: _t("Duration (m:ss)"),
    supportedTypes: ["integer", "float"],
});
