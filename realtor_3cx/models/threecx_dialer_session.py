# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A realtor's dialer session: one list, one entry at a time (the dialer client action).

The page asks for the next entry (:meth:`dialer_next`: the take of threecx_dialer.py, the
entries the rules refuse now skipped on the way, with their reasons), shows its contact's
card, and calls it the way the realtor chose: click-to-call (:meth:`dialer_dial` queues the
dial request and returns at once; the worker's answer and the call's progress come on the bus,
as for any Call button) or the softphone (the browser places the call itself, through the
same checks). The call is a normal call: the worker logs it, the outcome panel asks for its
outcome; the session only links it to the entry (:meth:`dialer_call_ended`) and logs
"no answer" or "busy" itself for a call nobody answered, which plans those outcomes'
follow-ups as configured.
"""

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import html2plaintext

MAX_SKIPS_PER_TAKE = 500
DEFAULT_PAUSE_SECONDS = 5
# The outcome the session logs for a call that never connected, by the call's final state.
UNANSWERED_OUTCOMES = {"busy": "busy", "missed": "no_answer", "failed": "no_answer",
                       "voicemail": "no_answer"}


class ThreecxDialerSession(models.Model):
    _name = "threecx.dialer.session"
    _description = "Dialer session"
    _order = "id desc"

    user_id = fields.Many2one("res.users", required=True, default=lambda self: self.env.user,
                              ondelete="cascade", index=True)
    list_id = fields.Many2one("threecx.dialer.list", required=True, ondelete="cascade")
    state = fields.Selection([("running", "Running"), ("ended", "Ended")],
                             default="running", required=True)
    entry_id = fields.Many2one("threecx.dialer.entry", "Current entry", ondelete="set null")
    pause_seconds = fields.Integer(
        "Pause between calls", default=DEFAULT_PAUSE_SECONDS,
        help="Seconds between one entry's end and the next entry.")
    mode = fields.Selection([("phone", "My phone (click-to-call)"),
                             ("softphone", "This browser (softphone)")],
                            default="phone", required=True)
    auto_dial = fields.Boolean(
        "Call automatically", help="Call each entry as soon as it shows, after the pause.")
    ended_at = fields.Datetime(readonly=True)
    company_id = fields.Many2one("res.company", related="list_id.company_id", store=True)

    # -- opening and leaving ---------------------------------------------------------------

    @api.model
    def _dialer_open(self, dialer_list):
        """The realtor's session on ``dialer_list``: their other sessions end (releasing what
        they held), the last one's choices (pause, phone or browser) carry over."""
        previous = self.search([("user_id", "=", self.env.uid)], limit=1)
        self.search([("user_id", "=", self.env.uid), ("state", "=", "running")])._dialer_end()
        return self.create({
            "list_id": dialer_list.id,
            "pause_seconds": previous.pause_seconds if previous else DEFAULT_PAUSE_SECONDS,
            "mode": previous.mode or "phone",
            "auto_dial": previous.auto_dial,
        })

    def _dialer_client_action(self):
        self.ensure_one()
        return {
            "type": "ir.actions.client",
            "tag": "realtor_3cx.dialer",
            "name": self.list_id.name,
            "params": {"session_id": self.id},
        }

    def _dialer_end(self):
        self.entry_id._dialer_release()
        self.write({"state": "ended", "ended_at": fields.Datetime.now(), "entry_id": False})

    def _dialer_mine(self):
        self.ensure_one()
        if self.user_id != self.env.user:
            raise UserError(_("This dialer session is another realtor's."))
        return self

    def dialer_leave(self):
        """The realtor closed the dialer: the entry they held goes back to the list."""
        for session in self:
            session._dialer_mine()._dialer_end()
        return True

    # -- the page's requests ---------------------------------------------------------------

    def dialer_state(self):
        """What the page shows: the session, the current entry and its card, the counts."""
        self.ensure_one()
        self._dialer_mine()
        entries = self.list_id.entry_ids
        counts = {state: 0 for state in ("pending", "taken", "called", "skipped", "done")}
        for entry in entries:
            counts[entry.state] += 1
        skipped = entries.filtered(lambda e: e.state == "skipped").sorted("write_date",
                                                                           reverse=True)
        return {
            "id": self.id,
            "state": self.state,
            "list": {"id": self.list_id.id, "name": self.list_id.name},
            "pause_seconds": self.pause_seconds,
            "mode": self.mode,
            "auto_dial": self.auto_dial,
            "counts": counts,
            "total": len(entries),
            "entry": self.entry_id._dialer_card() if self.entry_id else False,
            "skipped": [{"id": e.id, "name": e.partner_id.name or e.phone,
                         "reason": e.skip_reason or ""} for e in skipped[:20]],
        }

    def dialer_configure(self, pause_seconds=None, mode=None, auto_dial=None):
        self.ensure_one()
        self._dialer_mine()
        values = {}
        if pause_seconds is not None:
            values["pause_seconds"] = max(0, min(int(pause_seconds), 600))
        if mode in ("phone", "softphone"):
            values["mode"] = mode
        if auto_dial is not None:
            values["auto_dial"] = bool(auto_dial)
        self.write(values)
        return self.dialer_state()

    def dialer_next(self):
        """Finish the current entry and take the next one the rules allow now."""
        self.ensure_one()
        self._dialer_mine()
        if self.state != "running":
            raise UserError(_("This dialer session has ended: start it again from the list."))
        self._dialer_finish_current()
        Entry = self.env["threecx.dialer.entry"]
        for _attempt in range(MAX_SKIPS_PER_TAKE):
            entry = Entry._dialer_take(self.list_id)
            if not entry:
                break
            refusal = entry._dialer_refusal()
            if refusal:
                entry._dialer_skip(*refusal)
                continue
            self.entry_id = entry
            break
        return self.dialer_state()

    def _dialer_finish_current(self):
        entry = self.entry_id
        if not entry:
            return
        if entry.state == "taken":
            entry._dialer_release()
        elif entry.state == "called":
            entry._dialer_link_call()
            entry.state = "done"
        self.entry_id = False

    def dialer_skip(self):
        """The realtor skips this entry (it stays skipped for this list until refreshed)."""
        self.ensure_one()
        self._dialer_mine()
        entry = self.entry_id
        if entry and entry.state == "taken":
            entry._dialer_skip("realtor", _("Skipped by %s", self.env.user.name))
            self.entry_id = False
        return self.dialer_next()

    def _dialer_current(self):
        entry = self.entry_id
        if not entry or entry.user_id != self.env.user or entry.state not in ("taken", "called"):
            raise UserError(_("This entry is no longer yours: take the next one."))
        return entry

    def dialer_dial(self, client_ref=False):
        """Call the current entry by click-to-call (the realtor's phone rings first).

        Returns what ``threecx.call.realtor_3cx_dial`` returns, at once: the worker's answer
        comes on the bus. A refusal by the rules skips the entry with the reason."""
        self.ensure_one()
        self._dialer_mine()
        entry = self._dialer_current()
        result = self.env["threecx.call"]._realtor_3cx_dial(
            entry.phone, "res.partner" if entry.partner_id else False,
            entry.partner_id.id, client_ref=client_ref, path="dialer")
        if result["state"] == "refused":
            entry._dialer_skip("rule", result["message"])
        else:
            entry.write({"state": "called", "dialed_at": fields.Datetime.now()})
        result["e164"] = entry._dialer_e164()
        return result

    def dialer_mark_dialed(self):
        """The page is placing the current entry's call (the call service's click-to-call
        or the softphone, each through the rule check of every call)."""
        self.ensure_one()
        self._dialer_mine()
        entry = self._dialer_current()
        entry.write({"state": "called", "dialed_at": fields.Datetime.now()})
        return {"e164": entry._dialer_e164(), "number": entry.phone}

    def dialer_refused(self, message):
        """The rule check refused the call the page asked for: skipped with its reason (it
        comes back once allowed), and the next entry. Not logged again: the path that
        refused it (click-to-call, the softphone) logged the refusal."""
        self.ensure_one()
        self._dialer_mine()
        entry = self.entry_id
        if entry and entry.user_id == self.env.user and entry.state in ("taken", "called"):
            entry._dialer_skip("rule", str(message or "")[:500])
            self.entry_id = False
        return self.dialer_next()

    @api.model
    def dialer_resume(self):
        """The realtor's running session (a reloaded page has no session id)."""
        return self.search([("user_id", "=", self.env.uid), ("state", "=", "running")],
                           limit=1).id

    def dialer_call_ended(self, call_id):
        """The call of the current entry ended (the page saw it on the bus).

        :returns: ``{"answered": bool, "call_id"}``: an answered call waits for the realtor's
            outcome (the outcome panel); one nobody answered gets "no answer" (or "busy") now,
            with that outcome's follow-up."""
        self.ensure_one()
        self._dialer_mine()
        entry = self.entry_id
        call = self.env["threecx.call"].browse(int(call_id)).exists()
        if not entry or not call or call.user_id != self.env.user:
            return {"answered": False, "call_id": False}
        if not entry.call_id:
            entry.call_id = call
            if entry.partner_id and not call.partner_id:
                call.partner_id = entry.partner_id
        answered = bool(call.answer_at) or call.state in ("completed", "connected",
                                                          "transferred")
        if not answered:
            code = UNANSWERED_OUTCOMES.get(call.state, "no_answer")
            outcome = self.env["threecx.outcome"].search([("code", "=", code)], limit=1)
            if outcome and not call.outcome_id:
                call.outcome_id = outcome
            entry.state = "done"
        return {"answered": answered, "call_id": call.id}


class ThreecxDialerEntryCard(models.Model):
    _inherit = "threecx.dialer.entry"

    def _dialer_card(self):
        """Who this is: their properties, their last calls and outcomes, notes, and the
        summary of the last call when 3CX transcribed it. Calls are the ones the realtor may
        read (a realtor reads their own)."""
        self.ensure_one()
        partner = self.partner_id
        calls = self.env["threecx.call"]
        if partner:
            calls = calls.search([("partner_id", "=", partner.id)], limit=5)
        else:
            calls = calls.search([("external_e164", "=", self._dialer_e164())], limit=5)
        properties = partner.realtor_owned_property_ids.mapped(
            lambda p: {"id": p.id, "name": p.display_name, "role": _("Owner")})
        properties += partner.realtor_interest_property_ids.mapped(
            lambda p: {"id": p.id, "name": p.display_name, "role": _("Interested")})
        states = dict(calls._fields["state"]._description_selection(self.env))
        directions = dict(calls._fields["direction"]._description_selection(self.env))
        last_summary = calls[:1].transcript_summary if calls else False
        return {
            "id": self.id,
            "state": self.state,
            "name": partner.name or self.phone,
            "partner_id": partner.id,
            "phone": self.phone,
            "e164": self._dialer_e164(),
            "reason": self.reason or "",
            "notes": html2plaintext(partner.comment) if partner.comment else "",
            "properties": properties,
            "calls": [{
                "id": call.id,
                "start_at": fields.Datetime.to_string(call.start_at),
                "direction": directions.get(call.direction, ""),
                "state": states.get(call.state, ""),
                "outcome": call.outcome_id.name or "",
                "notes": call.notes or "",
            } for call in calls],
            "summary": last_summary or "",
        }
