// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { describe, expect, test } from "@odoo/hoot";
import { queryAll, queryAllTexts } from "@odoo/hoot-dom";
import { contains, mailModels, startServer } from "@mail/../tests/mail_test_helpers";
import {
    defineModels,
    fields,
    makeMockEnv,
    models,
    mountView,
} from "@web/../tests/web_test_helpers";
import { registry } from "@web/core/registry";
import { formatSentiment, sentimentBand } from "@realtor_3cx/core/sentiment";

describe.current.tags("desktop");

class ThreecxCall extends models.Model {
    _name = "threecx.call";

    name = fields.Char();
    sentiment_score = fields.Integer({ string: "Sentiment" });

    // The call service (systray) asks for the realtor's session on start.
    realtor_3cx_session() {
        return {
            extension: false,
            server_id: false,
            is_manager: false,
            bus_last_id: 0,
            ringing: [],
        };
    }
}

class ThreecxCallReport extends models.Model {
    _name = "threecx.call.report";

    realtor = fields.Char({ string: "Realtor" });
    sentiment_score = fields.Float({ string: "Sentiment", aggregator: "avg" });
    sentiment_calls = fields.Integer({ string: "Calls with a sentiment", aggregator: "sum" });
}

defineModels({ ...mailModels, ThreecxCall, ThreecxCallReport });

test("3CX's score reads as negative, neutral or positive; no score reads as nothing", async () => {
    await makeMockEnv(); // the labels' translations
    expect([1, 3, 4, 7, 8, 10].map(sentimentBand)).toEqual([
        "negative",
        "negative",
        "neutral",
        "neutral",
        "positive",
        "positive",
    ]);
    expect([0, false, null].map(sentimentBand)).toEqual([null, null, null]);
    // An average by the same halves of the scale.
    expect([3.4, 3.5, 7.5, 7.6].map(sentimentBand)).toEqual([
        "negative",
        "neutral",
        "neutral",
        "positive",
    ]);
    expect([9, 5.5, 2.25, 0].map(formatSentiment)).toEqual([
        "Positive (9)",
        "Neutral (5.5)",
        "Negative (2.3)",
        "",
    ]);
    expect(registry.category("formatters").get("realtor_3cx_sentiment")(8)).toBe("Positive (8)");
});

test("the Calls list shows each call's sentiment as a coloured badge", async () => {
    const pyEnv = await startServer();
    pyEnv["threecx.call"].create([
        { name: "glad", sentiment_score: 9 },
        { name: "so-so", sentiment_score: 5 },
        { name: "cross", sentiment_score: 2 },
        { name: "not scored", sentiment_score: 0 },
    ]);
    await mountView({
        type: "list",
        resModel: "threecx.call",
        arch: `<list><field name="name"/><field name="sentiment_score" widget="realtor_3cx_sentiment"/></list>`,
    });
    await contains(".o_data_row", { count: 4 });
    expect(queryAllTexts(".o_data_row .o_realtor_3cx_sentiment")).toEqual([
        "Positive (9)",
        "Neutral (5)",
        "Negative (2)",
    ]);
    expect(".o_data_row:eq(0) .o_realtor_3cx_sentiment").toHaveClass("text-bg-success");
    expect(".o_data_row:eq(1) .o_realtor_3cx_sentiment").toHaveClass("text-bg-secondary");
    expect(".o_data_row:eq(2) .o_realtor_3cx_sentiment").toHaveClass("text-bg-danger");
    expect(".o_data_row:eq(2) .o_realtor_3cx_sentiment").toHaveAttribute(
        "title",
        "3CX's sentiment score: 2 (1 to 10, higher is more positive)"
    );
    expect(queryAll(".o_data_row:eq(3) .o_realtor_3cx_sentiment")).toHaveLength(0);
});

test("the dashboard's pivot shows each realtor's average sentiment with its band", async () => {
    const pyEnv = await startServer();
    // One row per realtor: the average itself is the server's (test_call_report.py); the
    // mock server sums whatever the aggregator.
    pyEnv["threecx.call.report"].create([
        { realtor: "Ann", sentiment_score: 5.5, sentiment_calls: 2 },
        { realtor: "Bob", sentiment_score: 9, sentiment_calls: 1 },
    ]);
    await mountView({
        type: "pivot",
        resModel: "threecx.call.report",
        arch: `<pivot>
            <field name="realtor" type="row"/>
            <field name="sentiment_score" type="measure" widget="realtor_3cx_sentiment"/>
            <field name="sentiment_calls" type="measure"/>
        </pivot>`,
    });
    await contains(".o_pivot table tbody tr", { count: 3 });
    const row = (name) => queryAllTexts(`.o_pivot table tbody tr:has(th:contains(${name})) td`);
    expect(row("Ann")).toEqual(["Neutral (5.5)", "2"]);
    expect(row("Bob")).toEqual(["Positive (9)", "1"]);
});
