// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { describe, expect, test } from "@odoo/hoot";
import { click, queryAll } from "@odoo/hoot-dom";
import { contains, defineMailModels, start, startServer } from "@mail/../tests/mail_test_helpers";
import { mockTimeZone } from "@odoo/hoot-mock";
import { makeMockEnv, mountWithCleanup, onRpc } from "@web/../tests/web_test_helpers";
import { registry } from "@web/core/registry";
import { ClickToCallButton } from "@realtor_3cx/components/click_to_call/click_to_call";
import { formatDuration, formatServerDateTime } from "@realtor_3cx/core/formats";

describe.current.tags("desktop");
defineMailModels();

function session() {
    onRpc("threecx.call", "realtor_3cx_session", () => ({
        extension: "101",
        server_id: 1,
        is_manager: false,
        bus_last_id: 0,
        ringing: [],
    }));
}

test("durations read as minutes and seconds, in lists, sums and pivots", () => {
    expect([0, 5, 65, 600, 3725, -4, null].map(formatDuration)).toEqual([
        "0:00",
        "0:05",
        "1:05",
        "10:00",
        "1:02:05",
        "0:00",
        "0:00",
    ]);
    // The list's sums and the pivot's cells look the formatter up by the widget's name.
    expect(registry.category("formatters").get("realtor_3cx_duration")(125.7)).toBe("2:05");
    expect(registry.category("fields").get("realtor_3cx_duration").supportedTypes).toEqual([
        "integer",
        "float",
    ]);
});

test("a server time is shown on the user's clock, not in UTC", async () => {
    session();
    await makeMockEnv(); // the user's date and time format
    mockTimeZone(-5); // New York in winter
    expect(formatServerDateTime("2026-12-02 00:30:00")).toMatch(/12\/01\/2026 19:30/);
    expect(formatServerDateTime(false)).toBe("");
});

test("calling one Missed Calls row does not show every row with that number connected", async () => {
    await startServer();
    session();
    onRpc("threecx.call", "realtor_3cx_dial", () => ({
        ok: true,
        message: "Calling +15550108301",
        tel: "tel:+15550108301",
        request_id: 1,
    }));
    await start();
    // Three rows of the same caller (three missed calls), as the list's phone field renders them.
    for (const resId of [11, 12, 13]) {
        const record = {
            data: { external_number_display: "(555) 010-8301" },
            resModel: "threecx.call",
            resId,
            isDirty: false,
        };
        await mountWithCleanup(ClickToCallButton, {
            props: { record, name: "external_number_display" },
        });
    }
    await contains(".o_realtor_3cx_dial", { count: 3 });
    await click(queryAll(".o_realtor_3cx_dial")[1]);
    await contains(".o_realtor_3cx_dial_status[data-status=ringing]");
    expect(".o_realtor_3cx_dial_status").toHaveCount(1);
});
