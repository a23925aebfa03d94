# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Click-to-call: a realtor's request, checked here, placed by the worker.

3CX keeps one live token per API integration and revokes the previous one whenever a new one
is minted, so Odoo's HTTP workers must not talk to 3CX themselves: every mint would cut the
worker's event connection. A dial request is a row the worker picks up at once (it LISTENs on
``realtor_3cx_dial``), places with its own token (``makecall`` from the realtor's extension:
their phone rings first, then the contact) and answers in the same row.
"""

import datetime
import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..tools.record_id import as_record_id
from .worker_queue import await_worker, enqueue

_logger = logging.getLogger(__name__)

DIAL_CHANNEL = "realtor_3cx_dial"
DIAL_WAIT = 8.0  # seconds a click waits for the worker before offering the tel: link


class ThreecxDialRequest(models.Model):
    _name = "threecx.dial.request"
    _description = "Click-to-call request"
    _order = "id desc"

    server_id = fields.Many2one("threecx.server", required=True, ondelete="cascade", index=True)
    user_id = fields.Many2one("res.users", required=True, ondelete="cascade")
    action = fields.Selection(
        [("makecall", "Call"), ("answer", "Answer"), ("drop", "Decline"),
         ("transfer", "Transfer a browser call")],
        default="makecall",
        required=True,
    )
    extension = fields.Char(required=True)
    destination = fields.Char(help="The number to call (makecall).")
    state = fields.Selection(
        [("pending", "Pending"), ("done", "Placed"), ("failed", "Failed")],
        default="pending",
        required=True,
        index=True,
    )
    message = fields.Char()
    call_id = fields.Char("3CX call ID")

    @api.autovacuum
    def _gc_old_requests(self):
        limit = fields.Datetime.now() - datetime.timedelta(days=7)
        self.search([("create_date", "<", limit)]).unlink()


class ThreecxCallDialMixin(models.AbstractModel):
    """What a realtor does from Odoo on ``threecx.call`` (composed there): place, claim,
    answer or decline a call."""

    _name = "threecx.call.dial.mixin"
    _description = "Phone Call: click-to-call"

    # -- the realtor's session -----------------------------------------------------------------

    @api.model
    def realtor_3cx_session(self):
        """What the browser's call service needs at start: the user's line and rights."""
        extension = self._dial_extension(raise_if_missing=False)
        # The bus replays the last minute's notifications to a page that just loaded: the
        # browser ignores those up to this id, and gets the calls ringing now from here
        # instead, so a refresh neither loses a ringing pop-up nor revives an ended one.
        self.env.cr.execute("SELECT coalesce(max(id), 0) FROM bus_bus")
        bus_last_id = self.env.cr.fetchone()[0]
        # The user's own ringing calls, calls ringing on the listing lines they are the
        # agent of (threecx_call_lead.py), and team calls ringing for them that nobody
        # claimed (threecx_team.py), as the ringing notification had them.
        ringing = self.sudo().search(
            [
                ("state", "=", "ringing"),
                "|",
                ("user_id", "=", self.env.uid),
                ("property_id.listing_agent_id", "=", self.env.uid),
            ],
            limit=10,
        ).filtered(lambda c: self.env.user in (c.user_id | c._did_listing_agent()))
        ringing = (ringing | self._team_ringing_for_me()).sorted()[:5]
        return {
            "extension": extension.number if extension else False,
            "server_id": extension.server_id.id if extension else False,
            "is_manager": self.env.user.has_group("realtor_3cx.realtor_3cx_group_manager"),
            "bus_last_id": bus_last_id,
            "ice_servers": extension.server_id.sudo()._ice_servers() if extension else [],
            "ringing": [call._ringing_payload() for call in ringing],
            # The calls waiting for an outcome (threecx_call_outcome.py), for the docked panel.
            "pending_outcomes": self.realtor_3cx_pending_outcomes(),
        }

    @api.model
    def _dial_extension(self, raise_if_missing=True):
        # On several servers: the user's *Dial from* one, else the first (res_users.py).
        extension = self.env.user._realtor_3cx_dial_extension()
        if not extension and raise_if_missing:
            raise UserError(
                _(
                    "You have no 3CX extension in Odoo yet. Ask your administrator to map yours "
                    "(Telephony > Configuration > Extensions, or the Telephony tab of your user)."
                )
            )
        return extension

    # -- click-to-call -------------------------------------------------------------------------

    @api.model
    def realtor_3cx_dial(self, number, res_model=False, res_id=False):
        """Call ``number`` from the user's own extension (their phone rings first).

        :returns: ``{"ok", "message", "tel", "request_id"}``; refusals (do-not-call, outside
            the contact's calling window, no extension, invalid number) are ``ok: False``
            with the reason, never an exception, so the button can show it. ``tel`` (the
            link to call from the realtor's own phone instead) is only there for a call the
            rules allowed and the telephony could not place: a refusal offers no way around.
        """
        if not self.env.user.has_group("realtor_3cx.realtor_3cx_group_user"):
            raise UserError(_("Only realtors and telephony managers can call through 3CX."))
        try:
            extension = self._dial_extension()
            destination = self._dial_check(number, res_model, res_id)
        except UserError as exc:
            return {"ok": False, "message": exc.args[0], "tel": False, "request_id": False}
        tel = "tel:" + destination
        request_id = self._dial_enqueue(extension, destination)
        state, message = self._dial_wait(request_id)
        if state == "done":
            return {"ok": True, "message": _("Calling %s: your phone rings first.", destination),
                    "tel": tel, "request_id": request_id}
        return {"ok": False, "message": message, "tel": tel, "request_id": request_id}

    @api.model
    def _dial_check(self, number, res_model, res_id):
        """The E.164 to dial, or a UserError saying why not (res_partner_outbound.py)."""
        partner = self.env["res.partner"]
        if res_id and res_model in ("res.partner", "threecx.call"):
            # The browser's word: an id PostgreSQL would refuse is a bad request, not a crash.
            res_id = as_record_id(res_id)
            if not res_id:
                raise UserError(_("The record this call was placed from is not valid."))
        if res_model == "res.partner" and res_id:
            partner = partner.browse(res_id).exists()
        elif res_model == "threecx.call" and res_id:
            # A call back from the Missed Calls list or a calls tab: the call's contact counts
            # even when the number is not (or no longer) on their record. Read as superuser:
            # the check only protects, and a manager's row may be another realtor's call.
            partner = self.sudo().browse(res_id).exists().partner_id
        destination, reason = partner._realtor_3cx_outbound_block(number)
        if reason:
            raise UserError(reason)
        return destination

    @api.model
    def _dial_transfer_target(self, server, target):
        """Where a call on ``server`` may be handed over to: ``target`` itself when it is a
        known extension of that server (a colleague: no contact rules apply), else the E.164
        the outbound check allows, or a UserError saying why not.

        Length says nothing: a US national number is 10 digits, and 3CX extensions may be as
        long. What 3CX would dial outside is whatever is not one of its extensions.
        """
        target = str(target or "").strip()
        if target and self.env["threecx.extension"].sudo().search_count(
            [("server_id", "=", server.id), ("number", "=", target)], limit=1
        ):
            return target
        return self._dial_check(target, False, False)

    @api.model
    def _dial_enqueue(self, extension, destination, action="makecall", call_id=False):
        return enqueue(
            self.env,
            "threecx.dial.request",
            {
                "server_id": extension.server_id.id,
                "user_id": self.env.uid,
                "extension": extension.number,
                "destination": destination,
                "action": action,
                "call_id": call_id,
            },
            DIAL_CHANNEL,
        )

    @api.model
    def _dial_wait(self, request_id):
        answer = await_worker(
            self.env, "threecx_dial_request", request_id, "pending", ["message"], DIAL_WAIT,
            _(
                "The telephony service did not answer: the 3CX worker may be stopped. Use "
                "your phone, or ask your administrator."
            ),
        )
        return answer["state"], answer["message"]

    # -- claim a team call from the pop-up -----------------------------------------------------

    def action_claim(self):
        """The first realtor to claim an unassigned ringing call (a team line) owns it."""
        self.ensure_one()
        if not self.env.user.has_group("realtor_3cx.realtor_3cx_group_user"):
            raise UserError(_("Only realtors can claim calls."))
        call = self.sudo()
        if call.company_id not in self.env.companies:
            raise UserError(_("This call belongs to another company."))
        self._team_check_claim()
        if call.state not in ("ringing", "dialing", "connected") and \
                not call._team_claimable_missed():
            return {"ok": False, "message": _("This call is over.")}
        # One statement: two realtors clicking at once cannot both win.
        self.env.cr.execute(
            "UPDATE threecx_call SET user_id = %s, write_date = now() at time zone 'utc', "
            "write_uid = %s WHERE id = %s AND user_id IS NULL RETURNING id",
            (self.env.uid, self.env.uid, call.id),
        )
        claimed = bool(self.env.cr.fetchone())
        call.invalidate_recordset(["user_id"])
        if not claimed:
            return {
                "ok": call.user_id == self.env.user,
                "message": _("%s took this call already.", call.user_id.name),
            }
        call._team_after_claim()
        return {"ok": True, "message": _("The call is yours.")}

    # -- answer or decline from the pop-up -----------------------------------------------------

    def action_answer_on_phone(self):
        """Answer this ringing call on the realtor's phone (3CX picks up the ringing device)."""
        return self._leg_request("answer")

    def action_decline(self):
        """Decline this call on the realtor's line (a team call keeps ringing the others)."""
        return self._leg_request("drop")

    def _leg_request(self, action):
        self.ensure_one()
        if not self.env.user.has_group("realtor_3cx.realtor_3cx_group_user"):
            raise UserError(_("Only realtors can answer calls."))
        call = self.sudo()
        if call.state != "ringing":
            return {"ok": False, "message": _("This call is no longer ringing.")}
        try:
            extension = self._dial_extension()
        except UserError as exc:
            return {"ok": False, "message": exc.args[0]}
        if extension.server_id != call.server_id:
            return {"ok": False, "message": _("This call rings on another 3CX server.")}
        request_id = self._dial_enqueue(extension, False, action=action, call_id=call.call_id)
        state, message = self._dial_wait(request_id)
        return {"ok": state == "done", "message": message or ""}
