/** @odoo-module **/
// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { Component } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { standardFieldProps } from "@web/views/fields/standard_field_props";

// 3CX scores a transcribed call's sentiment as an integer, higher more positive, 1 to 10 as
// far as is known (docs/3cx-api.md §4); 0 is no score. A third of the scale at each end:
// 1-3 negative, 4-7 neutral, 8-10 positive; an average (the dashboard's) by the same halves.
// The Calls list's filters (views/threecx_recording_views.xml) use the same bands.
const NEGATIVE_BELOW = 3.5;
const POSITIVE_ABOVE = 7.5;
const BANDS = {
    negative: { label: _t("Negative"), badge: "text-bg-danger" },
    neutral: { label: _t("Neutral"), badge: "text-bg-secondary" },
    positive: { label: _t("Positive"), badge: "text-bg-success" },
};

/** "negative", "neutral", "positive", or null for no score (0, false). */
export function sentimentBand(score) {
    if (!score) {
        return null;
    }
    if (score < NEGATIVE_BELOW) {
        return "negative";
    }
    return score > POSITIVE_ABOVE ? "positive" : "neutral";
}

/** "Positive (8.5)": a score, or a group's average, as the dashboard's cells show it. */
export function formatSentiment(score) {
    const band = sentimentBand(score);
    if (!band) {
        return "";
    }
    const value = Number.isInteger(score) ? String(score) : Number(score).toFixed(1);
    return `${BANDS[band].label} (${value})`;
}

/** The call's sentiment as a coloured badge, with 3CX's score; nothing without one. */
export class SentimentField extends Component {
    static template = "realtor_3cx.SentimentField";
    static props = { ...standardFieldProps };

    get score() {
        return this.props.record.data[this.props.name];
    }

    get band() {
        return sentimentBand(this.score);
    }

    get badgeClass() {
        return BANDS[this.band].badge;
    }

    get label() {
        return formatSentiment(this.score);
    }

    get title() {
        return _t("3CX's sentiment score: %(score)s (1 to 10, higher is more positive)", {
            score: this.score,
        });
    }
}

// Forms and lists (the field), pivots (the formatter, looked up by the widget's name).
registry.category("formatters").add("realtor_3cx_sentiment", formatSentiment);
registry.category("fields").add("realtor_3cx_sentiment", {
    component: SentimentField,
    displayName: _t("Sentiment (badge)"),
    supportedTypes: ["integer", "float"],
});
