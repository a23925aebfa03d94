# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Browser calls: the signalling between a realtor's browser and the worker's WebRTC bridge.

The browser posts its WebRTC offer (ICE candidates included) to
``/realtor_3cx/softphone/offer``, which checks it and returns at once: a session row carries
it to the worker (NOTIFY ``realtor_3cx_softphone``), which claims it (``offered`` ->
``connecting``, so it dials it once), places the call from the integration's route point (the
DN whose audio streams it may read and write), answers the offer with its aiortc peer and
sends the answer to the user's bus as ``realtor_3cx.softphone/answer``, in the transaction
that records it. The page waits for that with a timeout of its own and then cancels the
session; an offer older than :data:`OFFER_MAX_AGE` is never dialled (the page that made it
has given up). Hang-up from either side ends the session; the worker tears the bridge down.

The page names each offer with a uuid of its own (``client_ref``): Odoo replays a request
after a serialization failure, and the replay finds the session its first attempt made.
"""

import datetime
import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .threecx_call_sync import FINAL_STATES
from .worker_queue import enqueue

_logger = logging.getLogger(__name__)

SOFTPHONE_CHANNEL = "realtor_3cx_softphone"
# Seconds an offer may wait for the worker; older, it is refused, never dialled. The page
# waits longer (softphone.js, ANSWER_TIMEOUT_MS): placing the call and ICE come after it.
OFFER_MAX_AGE = 10
KEEP_ENDED_DAYS = 7  # ended browser calls are kept this long (autovacuum), for support


class ThreecxSoftphoneSession(models.Model):
    _name = "threecx.softphone.session"
    _description = "Browser call"
    _order = "id desc"

    server_id = fields.Many2one("threecx.server", required=True, ondelete="cascade", index=True)
    user_id = fields.Many2one("res.users", required=True, ondelete="cascade", index=True)
    extension = fields.Char(required=True)
    destination = fields.Char()
    offer = fields.Text(required=True)
    answer = fields.Text()
    client_ref = fields.Char(
        "Page's reference",
        readonly=True,
        copy=False,
        help="The uuid the page gave this offer: a replayed request finds this session again.",
    )
    state = fields.Selection(
        [
            ("offered", "Offered"),
            ("connecting", "Connecting"),
            ("answered", "Answered"),
            ("ended", "Ended"),
            ("failed", "Failed"),
        ],
        default="offered",
        required=True,
        index=True,
    )
    message = fields.Char()
    call_id = fields.Char("3CX call ID")
    resumes_id = fields.Many2one(
        "threecx.softphone.session",
        "Takes over",
        ondelete="set null",
        help="The browser call this one takes over: the same 3CX call, heard in another page "
        "(a reload, another tab).",
    )
    retryable = fields.Boolean(
        "May be retried",
        help="The failure was the connection's (audio, network), not a refusal: trying again "
        "may work."
    )

    _sql_constraints = [
        ("client_ref_unique", "UNIQUE(client_ref)", "A page's offer makes one browser call."),
    ]

    @api.autovacuum
    def _gc_sessions(self):
        """Ended browser calls after a week; offers nobody took, and calls a killed worker
        left "on the line", once they can no longer be live (the worker refuses such an offer
        and :meth:`_live` ignores such a call)."""
        now = fields.Datetime.now()
        self.search([("state", "in", ("ended", "failed")),
                     ("write_date", "<", now - datetime.timedelta(days=KEEP_ENDED_DAYS))]).unlink()
        self.search([("state", "in", ("offered", "connecting", "answered")),
                     ("create_date", "<", now - datetime.timedelta(hours=12))]).write(
            {"state": "failed", "message": "expired"})

    @api.model
    def _start(self, destination):
        """(extension, E.164) of a browser call the user may place; UserError says why not."""
        Call = self.env["threecx.call"]
        extension = Call._dial_extension()
        number = Call._dial_check(destination, False, False, path="browser_call")
        return extension, number

    @api.model
    def _start_answer(self, call_id):
        """(extension, 3CX call id) of a ringing call the user may take in the browser."""
        Call = self.env["threecx.call"]
        extension = Call._dial_extension()
        call = Call.sudo().browse(call_id).exists()
        if not call or call.state != "ringing" or call.server_id != extension.server_id:
            raise UserError(_("This call is no longer ringing for you."))
        return extension, call.call_id

    @api.model
    def _start_take_back(self, pbx_call_id):
        """(extension, 3CX call id) of the user's call on their desk phone, to bring it back
        into the browser: only a call connected to the user, on the user's 3CX server."""
        Call = self.env["threecx.call"]
        extension = Call._dial_extension()
        call = Call.sudo().search(
            [("server_id", "=", extension.server_id.id), ("call_id", "=", str(pbx_call_id))],
            limit=1,
        )
        if not call or call.state != "connected" or call.user_id != self.env.user:
            raise UserError(_("This call is no longer on your phone."))
        return extension, call.call_id

    @api.model
    def _start_resume(self, session_id):
        """The user's own live browser call ``session_id``, to hear it in this page instead:
        nobody else's, and only a call still on the line."""
        session = self.sudo().browse(session_id).exists()
        extension = self.env["threecx.call"]._dial_extension()
        if (
            not session
            or session.user_id != self.env.user
            or session.state != "answered"
            or session.server_id != extension.server_id
        ):
            raise UserError(_("This browser call is over."))
        return extension, session

    @api.model
    def _enqueue(self, extension, sdp, number, pbx_call_id, resumes=False, client_ref=False):
        """The session of this offer, created for the worker (committed, NOTIFYed); the
        page's ``client_ref`` names it, so a request Odoo replays (or two attempts of it at
        once) gets the first attempt's session. Returns its id."""
        return enqueue(
            self.env,
            self._name,
            {
                "server_id": extension.server_id.id,
                "user_id": self.env.uid,
                "extension": extension.number,
                "destination": number,
                "offer": sdp,
                "call_id": pbx_call_id,
                "resumes_id": resumes,
                "client_ref": client_ref or False,
            },
            SOFTPHONE_CHANNEL,
            unique=("client_ref", "user_id") if client_ref else (),
        )

    @api.model
    def _by_client_ref(self, client_ref):
        """The session the page named ``client_ref`` (read committed, in a cursor of its own:
        the replayed request's snapshot may predate it), or ``None``."""
        with self.env.registry.cursor() as cr:
            cr.execute("SELECT id, user_id FROM threecx_softphone_session WHERE client_ref = %s",
                       (client_ref,))
            row = cr.fetchone()
        if row and row[1] != self.env.uid:  # not this request's replay: someone else's uuid
            raise UserError(_("This browser call is not yours."))
        return row[0] if row else None

    def _cancel(self):
        """The page stopped waiting (its timeout) or hung up: an offer not taken yet is never
        dialled; one being placed or on the line ends (the worker hangs it up)."""
        for session in self:
            if session.state == "offered":
                session.write({"state": "failed", "message": "cancelled"})
            elif session.state in ("connecting", "answered"):
                session.state = "ended"
                session._notify_worker()

    def _peer(self):
        """Who is on the line of this browser call (see :meth:`_peer_of`)."""
        self.ensure_one()
        session = self.sudo()  # realtors do not read sessions: what they may see is checked
        return self._peer_of(session.server_id, session.call_id, session.destination)

    @api.model
    def _peer_of(self, server, pbx_call_id, destination):
        """Who is on the line of the 3CX call ``pbx_call_id`` (or of a call placed to
        ``destination``, not recorded yet), as far as the user may see them:
        ``{"number", "name", "partner_id", "company", "property", "candidates"}``."""
        call = self.env["threecx.call"].sudo().search(
            [("server_id", "=", server.id), ("call_id", "=", pbx_call_id)], limit=1,
        ) if pbx_call_id else self.env["threecx.call"]
        number = call.external_number or destination or ""
        partner = call.partner_id.with_env(self.env)
        listing = call.property_id.with_env(self.env)
        candidates = 1 if partner else 0
        if not partner and number:
            match = self.env["threecx.caller.lookup"].lookup(number, did=call.did_number or None)
            candidates = len(match["partners"])
            if candidates == 1:
                partner = self.env["res.partner"].browse(match["partners"][0]["id"])
            if not listing and match["property_id"]:
                listing = self.env["realtor.property"].browse(match["property_id"])
        if partner and not partner.has_access("read"):
            partner, candidates = self.env["res.partner"], 0
        if listing and not listing.has_access("read"):
            listing = self.env["realtor.property"]
        return {
            "number": number,
            "name": partner.name or False,
            "partner_id": partner.id or False,
            "company": partner.parent_id.name or False,
            "property": listing.display_name or False,
            "candidates": candidates,
        }

    @api.model
    def _live(self):
        """The user's browser call still on the line (at most one), for a page that loads
        while it goes on: ``{"session_id", "call_id", "connected", "answered_at", "peer"}``
        or ``False``."""
        extension = self.env["threecx.call"]._dial_extension(raise_if_missing=False)
        if not extension:
            return False
        session = self.sudo().search(
            [
                ("user_id", "=", self.env.uid),
                ("server_id", "=", extension.server_id.id),
                ("state", "=", "answered"),
                # A worker killed mid-call leaves its sessions answered: not a call of today.
                ("create_date", ">", fields.Datetime.now() - datetime.timedelta(hours=12)),
            ],
            limit=1,
        )
        if not session:
            return False
        call = self.env["threecx.call"].sudo().search(
            [("server_id", "=", session.server_id.id), ("call_id", "=", session.call_id)],
            limit=1,
        )
        if call.state in FINAL_STATES:
            return False
        return {
            "session_id": session.id,
            "call_id": session.call_id,
            "connected": call.state == "connected",
            "answered_at": call.answer_at and int(
                call.answer_at.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000),
            "peer": session.with_env(self.env)._peer(),
        }

    def _notify_worker(self):
        self.env.cr.execute("SELECT pg_notify(%s, %s)", (SOFTPHONE_CHANNEL, str(self.id)))
