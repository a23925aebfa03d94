/** @odoo-module **/
// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { Component, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { user } from "@web/core/user";
import { useService } from "@web/core/utils/hooks";
import { formatServerDateTime } from "@realtor_3cx/core/formats";

/**
 * One incoming call: who it is (the ranked matches, with a picker when several people share
 * the number), their properties and last calls, the listing whose line was dialled, and what
 * to do: open, create (prefilled, never automatic), claim a team call, dismiss.
 */
export class CallPopupCard extends Component {
    static template = "realtor_3cx.CallPopupCard";
    static props = { call: Object };

    setup() {
        this.calls = useService("realtor_3cx.call");
        this.action = useService("action");
        this.orm = useService("orm");
        // Creating contacts is Odoo's own Contact Creation right, which an admin may take
        // away: without it the button would only lead to an access error on save. The answer
        // is cached per model by the user service; the card does not wait for it.
        this.local = useState({ picked: null, canCreatePartner: true });
        user.checkAccessRight("res.partner", "create").then(
            (allowed) => (this.local.canCreatePartner = allowed),
            // Not knowing keeps the button: saving the form still enforces the right.
            () => {}
        );
    }

    get match() {
        return this.props.call.match || { partners: [], properties: [] };
    }

    get partners() {
        return this.match.partners || [];
    }

    get chosen() {
        const id = this.local.picked || this.props.call.partner?.id;
        return (
            this.partners.find((p) => p.id === id) ||
            (this.partners.length === 1 ? this.partners[0] : null)
        );
    }

    get title() {
        if (this.chosen) {
            return this.chosen.name;
        }
        if (this.partners.length > 1) {
            return _t("%s people share this number", this.partners.length);
        }
        return _t("Unknown caller");
    }

    get properties() {
        // The caller's (or the chosen contact's) properties; the dialled listing is shown above.
        const listing = this.props.call.property?.id;
        const all = (this.match.properties || []).filter((p) => p.id !== listing);
        return this.chosen ? all.filter((p) => this.chosen.property_ids.includes(p.id)) : all;
    }

    get voicemailText() {
        // The caller's last call was a voicemail: what they said (threecx_call_debrief.py).
        return _t("Left a voicemail: “%s”", this.props.call.voicemail.text);
    }

    get lastCall() {
        // The server's UTC time, in the realtor's own time zone.
        return formatServerDateTime(this.chosen?.last_call_at);
    }

    /** 3CX can answer this call on the realtor's phone (false: a phone without remote
     * control, docs/3cx-api.md §9; unknown counts as yes, the worker then says). */
    get answersRemotely() {
        return this.props.call.direct_control !== false;
    }

    get canAnswerHere() {
        return this.calls.softphoneAvailable;
    }

    get claimable() {
        return !this.props.call.user_id && this.props.call.state === "ringing";
    }

    /** The call's relation to the property shown: its listing line, or the caller's own. */
    get propertyRole() {
        const call = this.props.call;
        if (!call.property) {
            return false;
        }
        if (call.listing_line) {
            return "listing_line";
        }
        const owners = this.chosen?.owner_property_ids || [];
        return owners.includes(call.property.id) ? "owner" : "about";
    }

    /** The realtor's choice is the call's contact (the server tells every tab). */
    async pick(partnerId) {
        this.local.picked = partnerId;
        await this.orm.call("threecx.call", "action_pick_contact", [
            [this.props.call.id],
            partnerId,
        ]);
    }

    openContact() {
        this.action.doAction({
            type: "ir.actions.act_window",
            res_model: "res.partner",
            res_id: this.chosen.id,
            views: [[false, "form"]],
        });
    }

    openProperty(propertyId) {
        this.action.doAction({
            type: "ir.actions.act_window",
            res_model: "realtor.property",
            res_id: propertyId,
            views: [[false, "form"]],
        });
    }

    async createContact() {
        // Pre-filled by the server (name 3CX gave, the number's time zone); saving it links
        // the call, and the card then shows the new contact.
        const action = await this.orm.call("threecx.call", "action_create_contact", [
            [this.props.call.id],
        ]);
        await this.action.doAction(action);
    }

    async answer() {
        await this.calls.answer(this.props.call.id);
    }

    async answerHere() {
        await this.calls.answerInBrowser(this.props.call);
    }

    async decline() {
        await this.calls.answer(this.props.call.id, true);
    }

    async claim() {
        await this.calls.claim(this.props.call.id);
    }

    dismiss() {
        this.calls.dismiss(this.props.call.id);
    }
}

export class CallPopupSystray extends Component {
    static template = "realtor_3cx.CallPopupSystray";
    static components = { CallPopupCard };
    static props = {};

    setup() {
        this.calls = useService("realtor_3cx.call");
        this.state = useState(this.calls.state);
    }

    get ringing() {
        return this.state.popups;
    }

    askPermission() {
        this.calls.askNotificationPermission();
    }
}

registry
    .category("systray")
    .add("realtor_3cx.CallPopupSystray", { Component: CallPopupSystray }, { sequence: 26 });
