// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { beforeEach, describe, expect, test } from "@odoo/hoot";
import { click, queryAll, queryOne } from "@odoo/hoot-dom";
import { animationFrame } from "@odoo/hoot-mock";
import { contains, mailModels, startServer } from "@mail/../tests/mail_test_helpers";
import { defineModels, fields, models, mountView, onRpc } from "@web/../tests/web_test_helpers";

describe.current.tags("desktop");

// The realtor's line, as the call service asks for it on start.
let extension = "101";

class ThreecxCall extends models.Model {
    _name = "threecx.call";

    realtor_3cx_session() {
        return { extension, server_id: 1, is_manager: false, bus_last_id: 0, ringing: [] };
    }
}

class RealtorTestContact extends models.Model {
    _name = "realtor.test.contact";

    name = fields.Char();
    phone = fields.Char();
    mobile = fields.Char();
    do_not_call = fields.Boolean();
}

defineModels({ ...mailModels, ThreecxCall, RealtorTestContact });

const FORM = `<form>
    <field name="name"/>
    <field name="do_not_call"/>
    <field name="phone" widget="phone"/>
    <field name="mobile" widget="phone" options="{'enable_3cx': false}"/>
</form>`;

beforeEach(() => {
    extension = "101";
});

/** The ways to call from a field: our buttons and tel: links. */
function callButtons(field) {
    const selector = `.o_field_widget[name=${field}]`;
    return {
        threecx: queryAll(`${selector} .o_realtor_3cx_dial`).length,
        tel: queryAll(`${selector} a[href^='tel:']`).length,
    };
}

test("with an extension, a phone field has one call button, ours; a field can opt out", async () => {
    const pyEnv = await startServer();
    const id = pyEnv["realtor.test.contact"].create({
        name: "Dana Buyer",
        phone: "+15550108301",
        mobile: "+15550108302",
    });
    await mountView({ type: "form", resModel: "realtor.test.contact", resId: id, arch: FORM });
    await contains(".o_field_widget[name=phone] .o_realtor_3cx_dial");
    expect(callButtons("phone")).toEqual({ threecx: 1, tel: 0 });
    // enable_3cx: false, as enable_sms: Odoo's own link, no 3CX button.
    expect(callButtons("mobile")).toEqual({ threecx: 0, tel: 1 });
});

test("read-only phone fields and list cells: the number as text and our button", async () => {
    const pyEnv = await startServer();
    const id = pyEnv["realtor.test.contact"].create({ name: "Dana", phone: "+15550108301" });
    pyEnv["realtor.test.contact"].create({ name: "Casey", phone: "+15550108303" });
    await mountView({
        type: "form",
        resModel: "realtor.test.contact",
        resId: id,
        arch: `<form><field name="phone" widget="phone" readonly="1"/></form>`,
    });
    await contains(".o_field_widget[name=phone] .o_realtor_3cx_dial");
    expect(callButtons("phone")).toEqual({ threecx: 1, tel: 0 });
    expect(".o_field_widget[name=phone] .o_realtor_3cx_number").toHaveText("+15550108301");
});

test("list cells get one call button each, ours", async () => {
    const pyEnv = await startServer();
    pyEnv["realtor.test.contact"].create({ name: "Dana", phone: "+15550108301" });
    pyEnv["realtor.test.contact"].create({ name: "Casey", phone: "+15550108303" });
    await mountView({
        type: "list",
        resModel: "realtor.test.contact",
        arch: `<list><field name="name"/><field name="phone" widget="phone"/></list>`,
    });
    await contains(".o_data_row .o_realtor_3cx_dial", { count: 2 });
    expect(queryAll(".o_data_row a[href^='tel:']")).toHaveLength(0);
});

test("a user without an extension sees no 3CX button and keeps Odoo's link", async () => {
    extension = false;
    const pyEnv = await startServer();
    const id = pyEnv["realtor.test.contact"].create({ name: "Dana", phone: "+15550108301" });
    await mountView({ type: "form", resModel: "realtor.test.contact", resId: id, arch: FORM });
    await contains(".o_field_widget[name=phone] a.o_phone_form_link[href='tel:+15550108301']");
    await animationFrame();
    expect(callButtons("phone")).toEqual({ threecx: 0, tel: 1 });
});

test("a do-not-call contact's button is disabled, the reason on hover", async () => {
    const pyEnv = await startServer();
    const id = pyEnv["realtor.test.contact"].create({
        name: "Never Call",
        phone: "+15550108801",
        do_not_call: true,
    });
    onRpc("threecx.call", "realtor_3cx_dial", () => {
        expect.step("dialled");
        return { ok: false, message: "", tel: false, request_id: false };
    });
    await mountView({ type: "form", resModel: "realtor.test.contact", resId: id, arch: FORM });
    await contains(".o_field_widget[name=phone] .o_realtor_3cx_dial[disabled]");
    const button = queryOne(".o_field_widget[name=phone] .o_realtor_3cx_dial");
    expect(button.title).toMatch(/Never Call is on the do-not-call list/);
    expect(callButtons("phone")).toEqual({ threecx: 1, tel: 0 });
    // Unflagged in the form: callable again at once.
    await click(".o_field_widget[name=do_not_call] input");
    await animationFrame();
    expect(".o_field_widget[name=phone] .o_realtor_3cx_dial").not.toHaveAttribute("disabled");
    expect.verifySteps([]);
});

test("a refusal by the rules shows the reason and no tel: way around it", async () => {
    const pyEnv = await startServer();
    const id = pyEnv["realtor.test.contact"].create({ name: "Late", phone: "+15550108802" });
    onRpc("threecx.call", "realtor_3cx_dial", () => ({
        ok: false,
        message:
            "It is 22:30 for Late (America/New_York): calls are allowed between 08:00 and 21:00.",
        tel: false,
        request_id: false,
    }));
    await mountView({ type: "form", resModel: "realtor.test.contact", resId: id, arch: FORM });
    await click(".o_field_widget[name=phone] .o_realtor_3cx_dial");
    await contains(".o_realtor_3cx_dial_status[data-status=failed]");
    expect(".o_realtor_3cx_dial_status").toHaveText(/It is 22:30/);
    // Not in the status nor the phone field (the notification: tests/test_day_outbound.py).
    expect(queryAll(".o_field_widget[name=phone] a[href^='tel:']")).toHaveLength(0);
    expect(queryAll(".o_realtor_3cx_dial_status a")).toHaveLength(0);
});

test("a call the rules allowed and the telephony could not place offers the phone", async () => {
    const pyEnv = await startServer();
    const id = pyEnv["realtor.test.contact"].create({ name: "Dana", phone: "+15550108301" });
    onRpc("threecx.call", "realtor_3cx_dial", () => ({
        ok: false,
        message: "The telephony service did not answer.",
        tel: "tel:+15550108301",
        request_id: 4,
    }));
    await mountView({ type: "form", resModel: "realtor.test.contact", resId: id, arch: FORM });
    await click(".o_field_widget[name=phone] .o_realtor_3cx_dial");
    await contains(".o_realtor_3cx_dial_status a[href='tel:+15550108301']");
});
