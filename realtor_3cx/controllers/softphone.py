# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Softphone signalling endpoints (authenticated users only; JSON-RPC, so CSRF-safe)."""

from odoo import _, http
from odoo.exceptions import UserError
from odoo.http import request

from ..tools.record_id import as_record_id

MAX_SDP = 64 * 1024  # an SDP offer is a few kB; anything larger is not one


class SoftphoneController(http.Controller):
    @http.route("/realtor_3cx/softphone/offer", type="json", auth="user", methods=["POST"])
    def offer(self, sdp=None, destination=None, call_id=None):
        """Start a browser call with the browser's WebRTC ``sdp`` offer: to ``destination``,
        or answering the ringing call ``call_id`` (a ``threecx.call`` id) in the browser.

        :returns: ``{"ok": True, "session_id", "answer"}`` or ``{"ok": False, "message"}``
        """
        env = request.env
        if not env.user.has_group("realtor_3cx.realtor_3cx_group_user"):
            return {"ok": False, "message": _("Only realtors can call from the browser.")}
        if not isinstance(sdp, str) or not sdp.startswith("v=0") or len(sdp) > MAX_SDP:
            return {"ok": False, "message": _("The browser sent no valid WebRTC offer.")}
        Session = env["threecx.softphone.session"]
        pbx_call_id = False
        try:
            if call_id:
                record_id = as_record_id(call_id)
                if not record_id:
                    return {"ok": False, "message": _("This call is no longer ringing for you.")}
                extension, pbx_call_id = Session._start_answer(record_id)
                number = False
            else:
                extension, number = Session._start(destination)
        except UserError as exc:
            return {"ok": False, "message": exc.args[0]}
        session_id = Session._enqueue(extension, sdp, number, pbx_call_id)
        state, answer, message, call_id = Session._wait_answer(session_id)
        if state != "answered":
            return {"ok": False, "message": message or _("The call could not start.")}
        return {"ok": True, "session_id": session_id, "answer": answer, "call_id": call_id}

    @http.route("/realtor_3cx/softphone/hangup", type="json", auth="user", methods=["POST"])
    def hangup(self, session_id=None):
        env = request.env
        session = env["threecx.softphone.session"].sudo().browse(
            as_record_id(session_id) or ()).exists()
        if not session or session.user_id != env.user:
            return {"ok": False, "message": _("This browser call is not yours.")}
        if session.state in ("offered", "answered"):
            session.state = "ended"
            session._notify_worker()
        return {"ok": True}

    @http.route("/realtor_3cx/softphone/transfer", type="json", auth="user", methods=["POST"])
    def transfer(self, session_id=None, destination=None):
        """Hand the browser call over to ``destination`` (an extension or a number)."""
        env = request.env
        session = env["threecx.softphone.session"].sudo().browse(
            as_record_id(session_id) or ()).exists()
        if not session or session.user_id != env.user:
            return {"ok": False, "message": _("This browser call is not yours.")}
        if session.state != "answered":
            return {"ok": False, "message": _("This browser call is over.")}
        target = str(destination or "").strip()
        if not target:
            return {"ok": False, "message": _("Say where to transfer the call.")}
        Call = env["threecx.call"]
        extension = Call._dial_extension()
        try:  # a colleague's extension, or an outside number checked like any call
            target = Call._dial_transfer_target(session.server_id, target)
        except UserError as exc:
            return {"ok": False, "message": exc.args[0]}
        request_id = Call._dial_enqueue(
            extension, target, action="transfer", call_id=session.call_id
        )
        state, message = Call._dial_wait(request_id)
        return {"ok": state == "done", "message": message or ""}
