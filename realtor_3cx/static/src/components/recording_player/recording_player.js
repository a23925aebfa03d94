/** @odoo-module **/
// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { Component } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";
import { registry } from "@web/core/registry";
import { standardFieldProps } from "@web/views/fields/standard_field_props";
import { AttachmentList } from "@mail/core/common/attachment_list";

/**
 * Plays the call's recording (a many2one to its ir.attachment). The audio comes from
 * /web/content, which checks the reader may read the call: the player never widens access.
 */
export class RecordingPlayerField extends Component {
    static template = "realtor_3cx.RecordingPlayerField";
    static props = { ...standardFieldProps };

    get src() {
        const value = this.props.record.data[this.props.name];
        return value ? `/web/content/${value[0]}` : "";
    }

    get filename() {
        const value = this.props.record.data[this.props.name];
        return value ? value[1] : "";
    }
}

registry.category("fields").add("realtor_3cx_audio", {
    component: RecordingPlayerField,
    displayName: _t("Audio player"),
    supportedTypes: ["many2one"],
});

// In the chatter, an audio attachment (a call's recording or voicemail) plays in place.
patch(AttachmentList.prototype, {
    isAudio(attachment) {
        return Boolean(attachment.mimetype && attachment.mimetype.startsWith("audio/"));
    },
});
