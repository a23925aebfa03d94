// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { describe, expect, test } from "@odoo/hoot";
import { queryAll } from "@odoo/hoot-dom";
import {
    contains,
    mailModels,
    openFormView,
    start,
    startServer,
} from "@mail/../tests/mail_test_helpers";
import { defineModels, fields, models, mountView } from "@web/../tests/web_test_helpers";

describe.current.tags("desktop");

class ThreecxCall extends models.Model {
    _name = "threecx.call";

    recording_attachment_id = fields.Many2one({ relation: "ir.attachment", string: "Audio" });

    // The call service (systray) asks for the realtor's session on start: a realtor without
    // an extension and nothing ringing.
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

defineModels({ ...mailModels, ThreecxCall });

const FORM = `<form><field name="recording_attachment_id" widget="realtor_3cx_audio"/></form>`;

test("the call form plays its recording from /web/content", async () => {
    const pyEnv = await startServer();
    const attachmentId = pyEnv["ir.attachment"].create({
        name: "recording-955000001.wav",
        mimetype: "audio/wav",
    });
    const callId = pyEnv["threecx.call"].create({ recording_attachment_id: attachmentId });
    await mountView({ type: "form", resModel: "threecx.call", resId: callId, arch: FORM });
    await contains(".o_realtor_3cx_audio audio");
    expect(".o_realtor_3cx_audio audio").toHaveAttribute("src", `/web/content/${attachmentId}`);
    expect(".o_realtor_3cx_audio audio").toHaveAttribute("controls");
    expect(".o_realtor_3cx_audio a").toHaveAttribute(
        "href",
        `/web/content/${attachmentId}?download=true`
    );
});

test("a call without a recording shows no player", async () => {
    const pyEnv = await startServer();
    const callId = pyEnv["threecx.call"].create({});
    await mountView({ type: "form", resModel: "threecx.call", resId: callId, arch: FORM });
    await contains(".o_form_view");
    expect(queryAll(".o_realtor_3cx_audio")).toHaveLength(0);
});

test("an audio attachment plays in the chatter, other files do not", async () => {
    const pyEnv = await startServer();
    const partnerId = pyEnv["res.partner"].create({ name: "Thread holder" });
    const audioId = pyEnv["ir.attachment"].create({
        name: "voicemail-955000002.wav",
        mimetype: "audio/wav",
    });
    const textId = pyEnv["ir.attachment"].create({ name: "notes.txt", mimetype: "text/plain" });
    pyEnv["mail.message"].create({
        attachment_ids: [audioId, textId],
        body: "<p>Voicemail left by Pat Caller</p>",
        model: "res.partner",
        res_id: partnerId,
        message_type: "comment",
    });
    await start();
    await openFormView("res.partner", partnerId);
    await contains(".o-mail-AttachmentCard", { count: 2 });
    await contains(".o-mail-AttachmentCard audio.o_realtor_3cx_audio", { count: 1 });
    expect(".o-mail-AttachmentCard audio.o_realtor_3cx_audio").toHaveAttribute(
        "src",
        `/web/content/${audioId}`
    );
});
