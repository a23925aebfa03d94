# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Browser calls: the signalling between a realtor's browser and the worker's WebRTC bridge.

The browser posts its WebRTC offer (ICE candidates included) to
``/realtor_3cx/softphone/offer``; a session row carries it to the worker (NOTIFY
``realtor_3cx_softphone``), which places the call from the integration's route point (the DN
whose audio streams it may read and write), answers the offer with its aiortc peer and writes
the answer back. Hang-up from either side ends the session; the worker tears the bridge down.
"""

import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .worker_queue import await_worker, enqueue

_logger = logging.getLogger(__name__)

SOFTPHONE_CHANNEL = "realtor_3cx_softphone"
ANSWER_WAIT = 15.0  # the worker gathers ICE candidates before answering


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
    state = fields.Selection(
        [
            ("offered", "Offered"),
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

    @api.model
    def _start(self, destination):
        """(extension, E.164) of a browser call the user may place; UserError says why not."""
        Call = self.env["threecx.call"]
        extension = Call._dial_extension()
        number = Call._dial_check(destination, False, False)
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
    def _enqueue(self, extension, sdp, number, pbx_call_id):
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
            },
            SOFTPHONE_CHANNEL,
        )

    @api.model
    def _wait_answer(self, session_id):
        answer = await_worker(
            self.env, "threecx_softphone_session", session_id, "offered",
            ["answer", "message", "call_id"], ANSWER_WAIT,
            _("The telephony service did not answer: the 3CX worker may be stopped."),
        )
        return answer["state"], answer["answer"], answer["message"], answer["call_id"]

    def _notify_worker(self):
        self.env.cr.execute("SELECT pg_notify(%s, %s)", (SOFTPHONE_CHANNEL, str(self.id)))
