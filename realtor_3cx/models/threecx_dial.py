# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Click-to-call: a realtor's request, checked here, placed by the worker.

3CX keeps one live token per API integration and revokes the previous one whenever a new one
is minted, so Odoo's HTTP workers must not talk to 3CX themselves: every mint would cut the
worker's event connection. A dial request is a row the worker picks up at once (it LISTENs on
``realtor_3cx_dial``), places with its own token (``makecall`` from the realtor's extension:
their phone rings first, then the contact) and answers in the same row.

Nothing here waits for the worker: an HTTP worker held for seconds per click is one fewer for
everybody's pages, and a stopped telephony worker would hold them all. The request returns as
soon as the row is committed; the worker's answer reaches the page on the bus
(``realtor_3cx.dial/answer``, to the realtor's partner), and the page gives up by itself
after the worker's age limit (``DIAL_EXPIRY`` in worker/pipeline.py), past which no worker
dials the row any more. Each request carries an id the page made (``client_ref``): Odoo
replays a request after a serialization failure, and the replay finds the row the first
attempt committed instead of queueing a second call.
"""

import datetime
import logging
import uuid

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..tools.record_id import as_record_id
from .worker_queue import enqueue

_logger = logging.getLogger(__name__)

DIAL_CHANNEL = "realtor_3cx_dial"


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
        # dialing: a worker claimed it (committed before it asks 3CX): it is never dialled again
        [("pending", "Pending"), ("dialing", "Dialling"), ("done", "Placed"),
         ("failed", "Failed")],
        default="pending",
        required=True,
        index=True,
    )
    message = fields.Char()
    call_id = fields.Char("3CX call ID")
    client_ref = fields.Char(
        "Request reference", readonly=True, copy=False,
        help="The id the page made for this request: the same request replayed by Odoo finds "
             "this row instead of placing a second call.",
    )

    _sql_constraints = [
        ("client_ref_unique", "unique(client_ref)", "A dial request is queued once."),
    ]

    @api.autovacuum
    def _gc_old_requests(self):
        limit = fields.Datetime.now() - datetime.timedelta(days=7)
        self.search([("create_date", "<", limit)]).unlink()


class ThreecxCallDialMixin(models.AbstractModel):
    """What a realtor does from Odoo on ``threecx.call`` (composed there): place, claim,
    answer or decline a call."""

    _name = "threecx.call.dial.mixin"
    _description = "Phone Call: click-to-call"

    no_remote_answer = fields.Char(
        "Rings on phones 3CX cannot answer", readonly=True,
        help="The extensions this call rings on whose phone 3CX cannot answer remotely (the "
             "leg's direct_control is false): their pop-up offers no Answer button.",
    )

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
            "ringing": [{**call._ringing_payload(), **call._remote_answer_payload(self.env.user),
                         **call._debrief_voicemail_payload(call._debrief_voicemail_before(),
                                                           self.env.user)}
                        for call in ringing],
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
    def realtor_3cx_dial(self, number, res_model=False, res_id=False, client_ref=False):
        """Call ``number`` from the user's own extension (their phone rings first).

        :param client_ref: a uuid the page made for this click (a caller without one gets a
            fresh one, and no protection against Odoo replaying its request)
        :returns: ``{"ok", "state", "message", "tel", "request_id", "client_ref"}`` at once,
            without waiting for the worker. ``state`` is ``pending`` for a call handed to the
            worker, whose answer comes on the bus (``realtor_3cx.dial/answer``; ``ok`` is
            only true once a call is placed), or ``refused``: do-not-call, outside the
            contact's calling window, no extension, invalid number, with the reason, never an
            exception, so the button can show it. ``tel`` (the link to call from the
            realtor's own phone instead) is only there for a call the rules allowed: a
            refusal offers no way around.
        """
        return self._realtor_3cx_dial(number, res_model, res_id, client_ref)

    @api.model
    def _realtor_3cx_dial(self, number, res_model=False, res_id=False, client_ref=False,
                          path=False):
        """:meth:`realtor_3cx_dial`, for a caller that says which outbound ``path`` it is
        (the power dialer: its refusals are logged as its own)."""
        if not self.env.user.has_group("realtor_3cx.realtor_3cx_group_user"):
            raise UserError(_("Only realtors and telephony managers can call through 3CX."))
        try:
            client_ref = self._dial_client_ref(client_ref)
            extension = self._dial_extension()
            destination = self._dial_check(number, res_model, res_id, path=path)
        except UserError as exc:
            return {"ok": False, "state": "refused", "message": exc.args[0], "tel": False,
                    "request_id": False, "client_ref": client_ref or False}
        request_id = self._dial_enqueue(extension, destination, client_ref=client_ref)
        return {"ok": False, "state": "pending", "message": _("Calling..."),
                "placed_message": _("Calling %s: your phone rings first.", destination),
                "tel": "tel:" + destination, "request_id": request_id, "client_ref": client_ref}

    @api.model
    def _dial_client_ref(self, client_ref):
        """The page's id of a request, normalised; a fresh one when it sent none."""
        if not client_ref:
            return str(uuid.uuid4())
        try:
            return str(uuid.UUID(str(client_ref)))
        except ValueError:
            raise UserError(_("This request is not valid: reload the page.")) from None

    @api.model
    def _dial_check(self, number, res_model, res_id, path=False):
        """The E.164 to dial, or a UserError saying why not (res_partner_outbound.py); the
        refusal is logged for ``path`` (default: a call back from a call, else click-to-call),
        so callers answer it as a value, not by letting the error roll the log back."""
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
        path = path or ("call_back" if res_model == "threecx.call" else "click_to_call")
        destination, reason = partner._realtor_3cx_outbound_block(number, path=path)
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
        return self._dial_check(target, False, False, path="transfer")

    @api.model
    def _dial_enqueue(self, extension, destination, action="makecall", call_id=False,
                      client_ref=False):
        """Queue a request for the worker (committed at once) and return its id; a request
        of this user with the same ``client_ref`` already queued (this same HTTP request,
        replayed by Odoo after a serialization failure) is returned instead."""
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
                "client_ref": self._dial_client_ref(client_ref),
            },
            DIAL_CHANNEL,
            unique=("client_ref", "user_id"),
        )

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

    def _remote_answer_payload(self, user):
        """``{"direct_control": bool}`` for ``user``'s pop-up of this ringing call: false when
        it rings on a phone of theirs 3CX cannot answer remotely (docs/3cx-api.md §9), so the
        card says to pick up the handset instead of offering Answer."""
        self.ensure_one()
        blocked = set((self.no_remote_answer or "").split(",")) - {""}
        if not blocked:
            return {"direct_control": True}
        mine = self.sudo().server_id.extension_ids.filtered(lambda e: e.user_id == user)
        return {"direct_control": not blocked & set(mine.mapped("number"))}

    def action_answer_on_phone(self, client_ref=False):
        """Answer this ringing call on the realtor's phone (3CX picks up the ringing device).

        Like every request to the worker, it returns at once (see :meth:`_leg_request`)."""
        return self._leg_request("answer", client_ref)

    def action_decline(self, client_ref=False):
        """Decline this call on the realtor's line (a team call keeps ringing the others)."""
        return self._leg_request("drop", client_ref)

    def _leg_request(self, action, client_ref=False):
        """``{"ok", "state", "message", "request_id", "client_ref"}``: ``pending`` when the
        worker has it (its answer comes on the bus, as a click-to-call's), else ``refused``."""
        self.ensure_one()
        if not self.env.user.has_group("realtor_3cx.realtor_3cx_group_user"):
            raise UserError(_("Only realtors can answer calls."))
        refused = {"ok": False, "state": "refused", "request_id": False,
                   "client_ref": client_ref or False}
        call = self.sudo()
        if call.state != "ringing":
            return {**refused, "message": _("This call is no longer ringing.")}
        try:
            client_ref = self._dial_client_ref(client_ref)
            self._dial_extension()  # says so when the user has none at all
        except UserError as exc:
            return {**refused, "message": exc.args[0]}
        # The user's line on the server the call rings on, whichever server they dial from.
        extension = self.env.user._realtor_3cx_dial_extensions().filtered(
            lambda e: e.server_id == call.server_id)[:1]
        if not extension:
            return {**refused, "message": _("This call rings on another 3CX server.")}
        request_id = self._dial_enqueue(extension, False, action=action, call_id=call.call_id,
                                        client_ref=client_ref)
        return {"ok": False, "state": "pending", "message": "", "request_id": request_id,
                "client_ref": client_ref}
