# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Softphone signalling endpoints (authenticated users only; JSON-RPC, so CSRF-safe)."""

import logging
import re

from odoo import _, http
from odoo.exceptions import UserError
from odoo.http import request

from ..tools.record_id import as_record_id
from ..tools.sdp import offer_problem

_logger = logging.getLogger(__name__)

CLIENT_REF = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")  # a uuid


class SoftphoneController(http.Controller):
    @http.route("/realtor_3cx/softphone/offer", type="json", auth="user", methods=["POST"])
    def offer(self, sdp=None, destination=None, call_id=None, resume_session_id=None,
              desk_call_id=None, client_ref=None):
        """Start a browser call with the browser's WebRTC ``sdp`` offer: to ``destination``,
        answering the ringing call ``call_id`` (a ``threecx.call`` id) in the browser, or
        taking the user's own browser call ``resume_session_id`` into this page (a reload,
        another tab: the 3CX call goes on, only its audio moves), or taking back the call
        ``desk_call_id`` (a 3CX call id) the user has on their desk phone. ``client_ref`` is
        the page's uuid for this offer: the same request replayed (Odoo does after a
        serialization failure) gets the same session, dialled once.

        Returns at once, the offer queued for the worker: its answer (the SDP answer, or why
        not) reaches the user's bus as ``realtor_3cx.softphone/answer`` (see
        models/threecx_softphone.py).

        :returns: ``{"ok": True, "session_id", "client_ref", "peer"}`` or
            ``{"ok": False, "message", "retry"}``; ``retry`` says whether trying again may
            help (the connection failed) or not (a refusal: do-not-call, calling hours...).
        """
        env = request.env
        if not env.user.has_group("realtor_3cx.realtor_3cx_group_user"):
            return {"ok": False, "retry": False,
                    "message": _("Only realtors can call from the browser.")}
        if not isinstance(sdp, str) or not sdp.startswith("v=0"):
            return {"ok": False, "retry": False,
                    "message": _("The browser sent no valid WebRTC offer.")}
        Session = env["threecx.softphone.session"]
        if isinstance(client_ref, str) and CLIENT_REF.fullmatch(client_ref):
            client_ref = client_ref.lower()
            try:
                replayed = Session._by_client_ref(client_ref)
            except UserError as exc:
                return {"ok": False, "retry": False, "message": exc.args[0]}
            if replayed:
                # Odoo replays this request (a serialization failure after its first attempt
                # queued the offer): that session stands, whatever became of the call since.
                return {"ok": True, "session_id": replayed, "client_ref": client_ref,
                        "peer": Session.browse(replayed)._peer()}
        else:
            client_ref = None
        pbx_call_id = False
        resumes = False
        try:
            if resume_session_id:
                record_id = as_record_id(resume_session_id)
                if not record_id:
                    return {"ok": False, "retry": False,
                            "message": _("This browser call is over.")}
                extension, previous = Session._start_resume(record_id)
                number, pbx_call_id, resumes = previous.destination, previous.call_id, previous.id
            elif desk_call_id:
                if not str(desk_call_id).isdigit():
                    return {"ok": False, "retry": False,
                            "message": _("This call is no longer on your phone.")}
                extension, pbx_call_id = Session._start_take_back(desk_call_id)
                number = False
            elif call_id:
                record_id = as_record_id(call_id)
                if not record_id:
                    return {"ok": False, "retry": False,
                            "message": _("This call is no longer ringing for you.")}
                extension, pbx_call_id = Session._start_answer(record_id)
                number = False
            else:
                extension, number = Session._start(destination)
        except UserError as exc:
            return {"ok": False, "retry": False, "message": exc.args[0]}
        # Checked before anything is queued: the worker would dial, then fail to answer.
        problem = offer_problem(sdp)
        if problem:
            _logger.info("softphone: refused the offer of user %s: %s", env.uid, problem)
            return {"ok": False, "retry": False,
                    "message": _("The browser sent no valid WebRTC offer.")}
        if not client_ref:
            return {"ok": False, "retry": False,
                    "message": _("This page is out of date: reload it, then call again.")}
        try:
            session_id = Session._enqueue(extension, sdp, number, pbx_call_id, resumes,
                                          client_ref=client_ref)
        except UserError as exc:
            return {"ok": False, "retry": False, "message": exc.args[0]}
        return {"ok": True, "session_id": session_id, "client_ref": client_ref,
                "peer": Session._peer_of(extension.server_id, pbx_call_id, number)}

    @http.route("/realtor_3cx/softphone/live", type="json", auth="user", methods=["POST"])
    def live(self):
        """The user's browser call still on the line, for a page that (re)loads during it."""
        env = request.env
        if not env.user.has_group("realtor_3cx.realtor_3cx_group_user"):
            return False
        return env["threecx.softphone.session"]._live()

    @http.route("/realtor_3cx/softphone/hangup", type="json", auth="user", methods=["POST"])
    def hangup(self, session_id=None):
        env = request.env
        session = env["threecx.softphone.session"].sudo().browse(
            as_record_id(session_id) or ()).exists()
        if not session or session.user_id != env.user:
            return {"ok": False, "message": _("This browser call is not yours.")}
        if session.state == "answered":
            # The user's other tabs showing this call elsewhere learn it is over.
            env.user.partner_id._bus_send(
                "realtor_3cx.softphone/ended", {"session_id": session.id})
        # Also the page that stopped waiting for the worker's answer: never dialled then.
        session._cancel()
        return {"ok": True}

    @http.route("/realtor_3cx/softphone/transfer", type="json", auth="user", methods=["POST"])
    def transfer(self, session_id=None, destination=None, client_ref=None):
        """Hand the browser call over to ``destination`` (an extension or a number).

        A dial request like a click-to-call: ``state: pending`` at once, the worker's answer
        on the bus (threecx_dial.py); a refusal (not yours, a number the rules refuse) comes
        back here."""
        env = request.env
        refused = {"ok": False, "state": "refused", "client_ref": client_ref or False}
        session = env["threecx.softphone.session"].sudo().browse(
            as_record_id(session_id) or ()).exists()
        if not session or session.user_id != env.user:
            return {**refused, "message": _("This browser call is not yours.")}
        if session.state != "answered":
            return {**refused, "message": _("This browser call is over.")}
        target = str(destination or "").strip()
        if not target:
            return {**refused, "message": _("Say where to transfer the call.")}
        Call = env["threecx.call"]
        extension = Call._dial_extension()
        try:  # a colleague's extension, or an outside number checked like any call
            client_ref = Call._dial_client_ref(client_ref)
            target = Call._dial_transfer_target(session.server_id, target)
        except UserError as exc:
            return {**refused, "message": exc.args[0]}
        request_id = Call._dial_enqueue(
            extension, target, action="transfer", call_id=session.call_id, client_ref=client_ref
        )
        return {"ok": False, "state": "pending", "message": "", "request_id": request_id,
                "client_ref": client_ref}
