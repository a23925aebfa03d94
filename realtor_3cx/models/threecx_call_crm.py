# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Calls journaled by 3CX's CRM template (``ReportCall``), merged with the worker's.

3CX sends no call id with ``ReportCall`` (3cx-api.md §5 lists the variables), so one call seen
by both paths is recognised by what both know. **Merge rule**: same 3CX server, same direction,
same outside number (E.164, or as sent when it is not a phone number), a start within
``MERGE_TOLERANCE`` seconds, and the reported agent is the call's extension or one of its
transfer chain (either side may have no agent: a missed queue call), and the call was not
journaled already for another start. Of several, the closest start wins, so a caller who
rings twice in a minute still gets two records.

* ReportCall first finds the worker's record: it completes it (what the worker lacked: end,
  answer, realtor, contact) and marks it journaled; it never rewrites what the worker saw.
* Without one (no worker, or it lags) ReportCall creates the call with a deterministic id
  ``crm-<agent>-<number>-<start>``, so a repeated ReportCall is still one record.
* When the worker later logs that call (e.g. from the XAPI call log after a reconnect),
  :meth:`_crm_adopt_from_view` adopts the CRM record: it takes the real 3CX call id instead of
  creating a second one, and nobody is notified twice.

Outbound calls reported to a do-not-call contact, or outside the contact's calling window at
the time the call started, are flagged on the record and the telephony managers are told
(a message on the call and a to-do): 3CX dials whatever a CRM says, so the breach is made
visible rather than prevented (the lookup warns the realtor before the call connects).
"""

import datetime
import hashlib
import logging
import re

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.tools import plaintext2html

from ..tools.phone import to_e164
from .threecx_call_sync import FINAL_STATES, LIVE_STATES

_logger = logging.getLogger(__name__)

MERGE_TOLERANCE = 120  # seconds between the worker's start and 3CX's CallStartTimeUTC
# Times outside these years are no call's: year 1 or 9999 also overflow the merge window.
YEARS = (1970, 2999)
MAX_DURATION = 7 * 86400  # a longer "duration" is garbage, not a call
CRM_CALL_PREFIX = "crm-"
# ReportCall CallType -> (direction, state). An outbound call nobody answered is "failed", as
# the worker logs it without the XAPI call log.
CALL_TYPES = {
    "Inbound": ("inbound", "completed"),
    "Missed": ("inbound", "missed"),
    "Outbound": ("outbound", "completed"),
    "Notanswered": ("outbound", "failed"),
}
_ADOPTED = "realtor_3cx.crm_adopted"


class ReportError(ValueError):
    """A ReportCall body that cannot be journaled; the message says which field and why."""


def parse_utc(value, field_name):
    """A naive UTC datetime from 3CX's text (``2026-11-25 15:00:00``, ISO 8601, ``Z``).

    >>> parse_utc("2026-11-25 15:00:00", "x")
    datetime.datetime(2026, 11, 25, 15, 0)
    >>> parse_utc("2026-11-25T16:00:00+01:00", "x")
    datetime.datetime(2026, 11, 25, 15, 0)
    """
    text = (value or "").strip()
    if not text:
        return None
    try:
        moment = datetime.datetime.fromisoformat(text)
        if moment.tzinfo:
            moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise ReportError(
            f"{field_name}: {text[:40]!r} is not a date and time (YYYY-MM-DD HH:MM:SS, UTC)"
        ) from None
    if not YEARS[0] <= moment.year <= YEARS[1]:
        raise ReportError(
            f"{field_name}: {text[:40]!r} is not a plausible time for a call "
            f"(years {YEARS[0]}-{YEARS[1]})"
        )
    return moment.replace(microsecond=0)


def parse_duration(value):
    """Seconds from ``hh:mm:ss``, ``mm:ss`` or a number of seconds; None when unreadable
    or longer than a week (``"1" * 400`` would overflow every date it is added to).

    >>> parse_duration("00:01:05"), parse_duration("65"), parse_duration("x")
    (65, 65, None)
    >>> parse_duration("9" * 400), parse_duration("99999999:00:00")
    (None, None)
    """
    text = (value or "").strip()
    if re.fullmatch(r"\d+(\.\d+)?", text, re.ASCII):
        seconds = float(text)
    elif re.fullmatch(r"\d+(:\d{1,2}){1,2}", text, re.ASCII):
        seconds = 0
        for part in text.split(":"):
            seconds = seconds * 60 + int(part)
    else:
        return None
    return int(seconds) if seconds <= MAX_DURATION else None


class ThreecxCallCrmMixin(models.AbstractModel):
    """ReportCall on ``threecx.call`` (composed there)."""

    _name = "threecx.call.crm.mixin"
    _description = "Phone Call: 3CX CRM journal"

    crm_reported = fields.Boolean(
        "Journaled by 3CX",
        readonly=True,
        copy=False,
        help="3CX's CRM template reported this call (ReportCall).",
    )
    compliance_issue = fields.Selection(
        [("do_not_call", "Do-not-call contact"), ("calling_window", "Outside calling hours"),
         ("attempt_cap", "Too many calls")],
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="An outbound call 3CX placed although the contact is on the do-not-call list, "
        "it was outside their calling hours, or their calling rule's call limit was reached.",
    )
    compliance_note = fields.Char(readonly=True, copy=False)
    crm_start_at = fields.Datetime(
        "Start reported by 3CX",
        readonly=True,
        copy=False,
        help="CallStartTimeUTC of the ReportCall: a repeated report finds its call by it.",
    )

    # -- ReportCall -----------------------------------------------------------------------------

    @api.model
    def _crm_report_call(self, server, data):
        """Journal one ``ReportCall`` body (a dict of strings) for ``server``.

        :returns: ``(call, created)``
        :raises ReportError: for a body that cannot be journaled (nothing is written)
        """
        call_type = (data.get("call_type") or "").strip()
        if call_type not in CALL_TYPES:
            raise ReportError(
                f"call_type: {call_type[:20]!r} is not one of {', '.join(CALL_TYPES)}"
            )
        direction, state = CALL_TYPES[call_type]
        number = (data.get("number") or "").strip()
        if not number or len(number) > 64:
            raise ReportError("number: the outside party's number is required (64 characters max)")
        start = parse_utc(data.get("call_start_utc"), "call_start_utc")
        if not start:
            raise ReportError("call_start_utc: the call's start is required")
        answer = parse_utc(data.get("call_established_utc"), "call_established_utc")
        end = parse_utc(data.get("call_end_utc"), "call_end_utc")
        duration = parse_duration(data.get("duration"))
        if state == "completed" and not answer and end and duration is not None:
            answer = max(start, end - datetime.timedelta(seconds=duration))
        if state != "completed":
            answer = None  # a missed or unanswered call has no answer time, whatever was sent
        end = end or (answer and duration is not None and
                      answer + datetime.timedelta(seconds=duration)) or start
        if answer and answer < start:
            answer = start
        if end < (answer or start):
            end = answer or start
        agent = (data.get("agent") or "").strip()[:32]
        region = server.company_id.country_id.code
        e164 = to_e164(number, region)

        # In the server's company (the lookup keeps to its partners), as the worker's sync.
        self = self.with_context(tracking_disable=True, mail_create_nolog=True).with_company(
            server.company_id
        )
        users = {ext.number: ext.user_id for ext in server.extension_ids}
        user = users.get(agent)
        call = self._crm_find(server, direction, number, e164, agent, start)
        match = self.env["threecx.caller.lookup"].lookup(number)
        created = not call
        old_state = call.state if call else None
        if call:
            values = {"crm_reported": True, "crm_start_at": start}
            if call.state in LIVE_STATES:
                values["state"] = state  # the worker lags; its stale live view loses later
            if not call.answer_at and answer:
                values["answer_at"] = answer
            if not call.end_at:
                values["end_at"] = end
            if not call.user_id and user:
                values["user_id"] = user.id
            if not call.extension and agent:
                values["extension"] = agent
            if not call.partner_id and not call.candidate_partner_ids:
                values.update(self._values_from_lookup(match))
            if not call.notes and data.get("summary"):
                values["notes"] = data["summary"][:4000]
            call.write(call._crm_consistent_times(values))
        else:
            values = {
                "server_id": server.id,
                "call_id": self._crm_call_id(agent, e164 or number, start),
                "direction": direction,
                "state": state,
                "external_number": number,
                "extension": agent or False,
                "user_id": user.id if user else False,
                "queue": (data.get("queue_extension") or "").strip()[:32] or False,
                "start_at": start,
                "answer_at": answer or False,
                "end_at": end,
                "crm_reported": True,
                "crm_start_at": start,
                "notes": (data.get("summary") or "")[:4000] or False,
                **self._values_from_lookup(match),
            }
            call = self.create(values)
        if old_state not in FINAL_STATES:
            # What the worker does when it sees a call end: the realtor's pop-up closes, a
            # missed caller becomes a call-back activity, a completed call a chatter line.
            view = {"rung": [agent] if agent else [], "notify_ringing": ()}
            call._notify_transition(old_state, view, users)
        if direction == "outbound":
            partners = call.partner_id | call.candidate_partner_ids
            call._crm_flag_compliance(partners, e164 or number)
        return call, created

    @api.model
    def _crm_call_id(self, agent, number, start):
        # Deterministic, so that 3CX repeating a ReportCall finds the record it made.
        digest = hashlib.sha1(number.encode()).hexdigest()[:8]
        return f"{CRM_CALL_PREFIX}{agent or 'none'}-{digest}-{start:%Y%m%dT%H%M%S}"

    @api.model
    def _crm_find(self, server, direction, number, e164, agent, start, report=True):
        """The call a report (or, ``report=False``, a worker's view) is about: the merge rule
        of the module docstring."""
        tolerance = datetime.timedelta(seconds=MERGE_TOLERANCE)
        domain = [
            ("server_id", "=", server.id),
            ("direction", "=", direction),
            ("start_at", ">=", start - tolerance),
            ("start_at", "<=", start + tolerance),
            ("external_e164", "=", e164) if e164 else ("external_number", "=", number),
        ]
        candidates = self.search(domain).filtered(
            # A call already journaled is only the same one again if 3CX repeats its report.
            lambda c: c._crm_agent_matches(agent)
            and (not report or not c.crm_reported or c.crm_start_at == start)
        )
        if not candidates:
            return candidates
        return min(candidates, key=lambda c: (abs((c.start_at - start).total_seconds()), c.id))

    def _crm_consistent_times(self, values):
        """``values`` with times that keep start <= answer <= end once written.

        3CX's times are whole seconds and the worker's are its own clock's: mixing both on
        one record may put an end a fraction before the answer, which the record refuses.
        """
        self.ensure_one()
        start = values.get("start_at") or self.start_at
        answer = values["answer_at"] if "answer_at" in values else self.answer_at
        if answer and answer < start:
            values["answer_at"] = answer = start
        end = values["end_at"] if "end_at" in values else self.end_at
        if end and end < (answer or start):
            values["end_at"] = answer or start
        return values

    def _crm_agent_matches(self, agent):
        self.ensure_one()
        if not agent or not self.extension:
            return True
        return agent == self.extension or agent in (self.transfer_path or "").split(" → ")

    def _crm_flag_compliance(self, partners, number):
        """Flag an outbound call 3CX placed against the do-not-call or calling-window rule."""
        self.ensure_one()
        if self.compliance_issue:
            return
        restriction = partners._realtor_3cx_restriction(number, when=self.start_at)
        if not restriction:
            return
        self.write({"compliance_issue": restriction["kind"],
                    "compliance_note": restriction["message"][:250]})
        managers = self.env["res.users"].search(
            [
                ("groups_id", "in", self.env.ref("realtor_3cx.realtor_3cx_group_manager").id),
                ("company_ids", "in", self.company_id.id),
                ("share", "=", False),
            ],
            order="id",
        )
        realtor = self.user_id.name or self.extension or _("an extension")
        body = Markup("<p>%s</p><p>%s</p>") % (
            _("%(realtor)s called %(number)s through 3CX although:", realtor=realtor,
              number=number),
            restriction["message"],
        )
        self.message_post(
            body=body,
            partner_ids=managers.partner_id.ids,
            subtype_xmlid="mail.mt_comment",
            message_type="notification",
        )
        if managers:
            self.activity_schedule(
                "mail.mail_activity_data_todo",
                date_deadline=fields.Date.context_today(self.with_context(tz=managers[0].tz)),
                summary=_("Review a call to %s", restriction["partner"].name),
                note=plaintext2html(restriction["message"]),  # names the contact: text
                user_id=managers[0].id,
            )
        _logger.info("call %s flagged: %s", self.id, restriction["kind"])

    # -- the worker meets a call ReportCall logged first ----------------------------------------

    @api.model
    def _crm_adopt_from_view(self, server, view, values):
        """The ReportCall record a worker's new view is about, adopted, or ``None``: step 1
        of ``threecx.call._create_from_view``."""
        number = view["external_number"]
        if number and view["direction"] != "internal" and view["start_at"]:
            region = server.company_id.country_id.code
            start = datetime.datetime.fromtimestamp(
                view["start_at"], datetime.timezone.utc
            ).replace(tzinfo=None)
            orphan = self._crm_find(
                server, view["direction"], number, to_e164(number, region),
                view["extension"], start, report=False,
            ).filtered(lambda c: c.call_id.startswith(CRM_CALL_PREFIX))
            if orphan:
                return self._crm_adopt(orphan, view, values)
        return None

    def _crm_adopt(self, call, view, values):
        """Give a ReportCall record the worker's 3CX call id and fill what it lacks."""
        old_state = call.state
        updates = {"call_id": view["call_id"]}
        for name in ("extension", "user_id", "transfer_path", "queue", "did_number",
                     "answer_at", "end_at"):
            if values.get(name) and not call[name]:
                updates[name] = values[name]
        if values.get("state") in FINAL_STATES or old_state not in FINAL_STATES:
            updates["state"] = values["state"]
        call.write(call._crm_consistent_times(updates))
        # _sync_from_3cx takes this for a new call: it must not notify or post again.
        self.env.cr.precommit.data.setdefault(_ADOPTED, {})[call.id] = old_state
        return call

    def _crm_adopted_old_state(self, old_state):
        """The state an adopted record had, for the call ``_sync_from_3cx`` takes for new:
        step 1 of ``threecx.call._notify_transition``."""
        adopted = self.env.cr.precommit.data.get(_ADOPTED) or {}
        if old_state is None and self.id in adopted:
            old_state = adopted.pop(self.id)
        return old_state
