# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What the worker writes: call views from 3CX become ``threecx.call`` records, exactly once.

The worker (``python -m realtor_3cx.worker``) derives one view per 3CX call id from the legs
3CX reports (``realtor_3cx/worker/tracker.py``) and hands batches of them to
:meth:`ThreecxCall._sync_from_3cx` in one transaction. Everything here is idempotent on
(server, 3CX call id): a view applied twice changes nothing and notifies nobody twice, so
the worker may replay after a crash or a database outage.

Bus notifications (``realtor_3cx.call/ringing``, ``/answered``, ``/ended``) go to the realtors'
partners when the transaction commits, as Odoo's bus does.
"""

import datetime
import logging

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.tools import plaintext2html
from odoo.tools.misc import format_datetime

from ..tools.formats import format_duration
from ..tools.phone import to_display

_logger = logging.getLogger(__name__)

FINAL_STATES = ("completed", "missed", "voicemail", "busy", "failed", "transferred")
LIVE_STATES = ("ringing", "dialing", "connected")
BUS_RINGING = "realtor_3cx.call/ringing"
BUS_ANSWERED = "realtor_3cx.call/answered"
BUS_ENDED = "realtor_3cx.call/ended"
BUS_QUIET = "realtor_3cx.call/quiet"


def _dt(epoch):
    if not epoch:
        return False
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).replace(tzinfo=None)


class ThreecxCallSyncMixin(models.AbstractModel):
    """The worker's side of ``threecx.call`` (composed there, see ``threecx_call.py``)."""

    _name = "threecx.call.sync.mixin"
    _description = "Phone Call: 3CX sync"

    transfer_path = fields.Char(
        "Handled by", readonly=True, help="The extensions that talked on this call, in order."
    )
    queue = fields.Char(readonly=True, help="The 3CX queue the call came through.")

    @api.model
    def _sync_from_3cx(self, server, views):
        """Create or update the calls of ``views`` (dicts of ``CallView``) on ``server``.

        Each view may carry ``notify_ringing``: the extensions that started ringing since the
        worker last synced this call (the worker keeps that memory; the database does not).

        :returns: {3CX call id: record id}
        """
        if not views:
            return {}
        # The record's own chatter would repeat what its fields say (and cost a write per
        # state change); the contact's and the property's chatter get the one summary line.
        self = self.with_context(tracking_disable=True, mail_create_nolog=True)
        # In the server's company, whoever calls: the caller lookup keeps to what that company
        # may see and reads national numbers in its country; what is created is that company's.
        self = self.with_company(server.company_id)
        calls = self.search(
            [("server_id", "=", server.id), ("call_id", "in", [v["call_id"] for v in views])]
        )
        by_call_id = {call.call_id: call for call in calls}
        users = {ext.number: ext.user_id for ext in server.extension_ids}
        result = {}
        for view in views:
            call = by_call_id.get(view["call_id"])
            old_state = call.state if call else None
            if call and old_state in FINAL_STATES and view["state"] in LIVE_STATES:
                # Logged as over already (e.g. by a reconciliation): a stale view loses.
                result[view["call_id"]] = call.id
                continue
            values = self._values_from_view(view, users, call)
            values.update(self._team_values_from_view(server, view, users, call))
            match = None
            if call is None:
                call, match = self._create_from_view(server, view, values)
                by_call_id[view["call_id"]] = call
            else:
                changed = {k: v for k, v in values.items() if self._differs(call, k, v)}
                if changed:
                    call.write(changed)
            result[view["call_id"]] = call.id
            call._team_set_ringing(view, users)
            call._notify_transition(old_state, view, users, match)
        return result

    @api.model
    def _values_from_view(self, view, users, call):
        user = users.get(view["extension"]) or (call.user_id if call else False)
        values = {
            "state": view["state"],
            "direction": view["direction"],
            "extension": view["extension"] or (call.extension if call else False),
            "user_id": user.id if user else False,
            "transfer_path": " → ".join(view["chain"]) or False,
            "queue": view["queue"] or False,
            "end_at": _dt(view["end_at"]),
            "no_remote_answer": ",".join(view.get("no_direct_control") or ()) or False,
        }
        answer_at = _dt(view["answer_at"])
        if call and call.answer_at and (not answer_at or call.answer_at < answer_at):
            answer_at = call.answer_at  # a restarted worker first sees the call later
        values["answer_at"] = answer_at
        if call and call.end_at and values["end_at"] and values["end_at"] > call.end_at:
            values["end_at"] = call.end_at
        if not call:
            values.update(
                {
                    "external_number": view["external_number"] or False,
                    "external_name": view.get("external_name") or False,
                    "did_number": view["did_number"] or False,
                    "start_at": _dt(view["start_at"]),
                }
            )
        return values

    def _differs(self, call, name, value):
        current = call[name]
        if isinstance(current, models.BaseModel):
            current = current.id
        return (current or False) != (value or False)

    @api.model
    def _sync_create_from_view(self, server, view, values):
        """Create the call of a view no record has yet (``threecx.call._create_from_view``
        adopts a ReportCall record instead when there is one)."""
        values["server_id"] = server.id
        values["call_id"] = view["call_id"]
        match = None
        if view["external_number"] and view["direction"] != "internal":
            match = self.env["threecx.caller.lookup"].lookup(
                view["external_number"], did=view["did_number"] or None
            )
            values.update(self._values_from_lookup(match))
        # Times the worker could not see (it started mid-call) never precede the start.
        if values.get("answer_at") and values["answer_at"] < values["start_at"]:
            values["start_at"] = values["answer_at"]
        return self.create(values), match

    # -- notifications, activities, chatter ---------------------------------------------------

    def _bus_payload(self):
        self.ensure_one()
        return {
            "id": self.id,
            "call_id": self.call_id,
            "server_id": self.server_id.id,
            "direction": self.direction,
            "state": self.state,
            "number": self.external_number or "",
            "number_display": self._number_for(self.user_id) if self.external_number else "",
            "e164": self.external_e164 or "",
            "did": self.did_number or "",
            "partner": {"id": self.partner_id.id, "name": self.partner_id.name}
            if self.partner_id
            else False,
            "candidates": [{"id": p.id, "name": p.name} for p in self.candidate_partner_ids],
            "property": {"id": self.property_id.id, "name": self.property_id.display_name}
            if self.property_id
            else False,
            "user_id": self.user_id.id,
            **self._identity_payload(),  # caller name, listing line (threecx_call_identity.py)
        }

    def _sync_notify_transition(self, old_state, view, users, match=None):
        """Tell the realtors concerned (bus), plan the call back of a missed lead, log a
        completed call on the contact: step 2 of ``threecx.call._notify_transition``."""
        self.ensure_one()
        ringing_users = {users[ext] for ext in view.get("notify_ringing", ()) if users.get(ext)}
        if old_state is None and self.state == "ringing":
            # A call to a listing's own number pops up for its listing agent too, whoever 3CX
            # rings for it (often a team queue).
            ringing_users |= set(self._did_listing_agent())
        elif old_state == "ringing":
            # ... and that pop-up is still up when 3CX then rings the agent's own extension
            # (the queue's leg read later): not a second one.
            ringing_users -= set(self._did_listing_agent())
        payload = None
        if ringing_users:
            payload = self._ringing_payload(match)
            voicemail = self._debrief_voicemail_before()  # threecx_call_debrief.py
            for user in ringing_users:
                user.partner_id._bus_send(BUS_RINGING,
                                          {**payload, **self._remote_answer_payload(user),
                                           **self._debrief_voicemail_payload(voicemail, user)})
        if view.get("empty") and self.state in LIVE_STATES:
            self._notify_quiet(view, users)
        if old_state == self.state:
            return
        concerned = set(ringing_users) | {users[e] for e in view["rung"] if users.get(e)}
        concerned |= set(self._did_listing_agent())  # their pop-up closes with the others
        if self.user_id:
            concerned.add(self.user_id)
        if self.state == "connected" and old_state in (None, "ringing", "dialing"):
            payload = payload or self._bus_payload()
            for user in concerned:
                user.partner_id._bus_send(BUS_ANSWERED, payload)
        elif self.state in FINAL_STATES and old_state not in FINAL_STATES:
            payload = self._bus_payload()
            for user in concerned:
                user.partner_id._bus_send(BUS_ENDED, payload)
            if self.state in ("missed", "voicemail") and self.direction == "inbound":
                self._schedule_call_back(view, users)
            elif self.state == "completed":
                self._post_summary()

    def _notify_quiet(self, view, users):
        """Every leg of the live call left: its cards go now, not after the worker's end grace
        (a transfer's next leg brings them back, see the call service)."""
        concerned = {users[e] for e in view["rung"] if users.get(e)}
        concerned |= set(self._did_listing_agent()) | set(self.user_id)
        for user in concerned:
            user.partner_id._bus_send(BUS_QUIET, {"id": self.id})

    def _ringing_payload(self, match=None):
        """What the pop-up shows: the call, and everyone and everything the number matches."""
        payload = self._bus_payload()
        if self.external_number and self.direction != "internal":
            payload["match"] = match or self.env["threecx.caller.lookup"].lookup(
                self.external_number, did=self.did_number or None
            )
        return payload

    def _schedule_call_back(self, view, users):
        """Speed to lead: a missed caller becomes a call-back activity due today."""
        self.ensure_one()
        assignee = (
            # The listing agent only for a call to the listing's own line: an owner who rang a
            # realtor's extension wanted that realtor.
            self._did_listing_agent()
            or self.user_id
            # A team's call nobody took is the team's (threecx_team.py), not a member's.
            or (not self.team_id and next((users[e] for e in view["rung"] if users.get(e)),
                                          False))
        )
        if not assignee:
            _logger.info("missed call %s has no realtor to call back", self.call_id)
            return
        if self.callback_deadline and not self.callback_user_id:
            self.sudo().callback_user_id = assignee  # speed to lead: whose figure it is
        # The realtor's own day and clock: the worker runs without a user's time zone, and a
        # call at 19:30 in New York is "tomorrow 00:30" in UTC.
        tz = assignee.tz or self.company_id.partner_id.tz or "UTC"
        local = self.with_context(tz=tz, lang=assignee.lang or self.env.lang)
        who = self.partner_id.name or local._number_for(assignee) or local.env._(
            "an unknown number"
        )
        local.activity_schedule(
            "mail.mail_activity_data_call",
            date_deadline=fields.Datetime.context_timestamp(local, self.start_at).date(),
            summary=local.env._("Call back %s", who),
            # The caller's name or number comes from outside: text, never markup.
            note=plaintext2html(local.env._(
                "Missed call from %(who)s at %(time)s%(property)s.",
                who=who,
                time=format_datetime(local.env, self.start_at, tz=tz, dt_format="short"),
                property=local.env._(" about %s", self.property_id.display_name)
                if self.property_id else "",
            )),
            user_id=assignee.id,
        )

    def _number_for(self, user):
        """The call's number as ``user`` writes it (threecx_call_display.py)."""
        self.ensure_one()
        return to_display(
            self.external_number,
            (user.country_id or user.company_id.country_id or self.company_id.country_id).code,
        )

    def _post_summary(self):
        """One short line on the contact's and the property's chatter."""
        self.ensure_one()
        labels = dict(self._fields["direction"]._description_selection(self.env))
        body = Markup("%s") % _(
            "%(direction)s call with %(realtor)s, %(duration)s",
            direction=labels.get(self.direction, ""),
            realtor=self.user_id.name or self.extension or _("an extension"),
            duration=format_duration(self.talk_seconds),
        )
        for record in (self.partner_id, self.property_id):
            if record:
                record.message_post(body=body, subtype_xmlid="mail.mt_note")
