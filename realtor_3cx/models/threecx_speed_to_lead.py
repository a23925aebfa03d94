# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Speed to lead, enforced: a missed lead nobody called back in time goes to the next realtor.

A missed lead gets its call-back deadline in ``threecx_call_lead.py``; it also gets
``callback_reassign_at``, the moment it is passed on if still not called back (the deadline
first). A cron (:meth:`ThreecxCallSpeedMixin._cron_speed_to_lead`, every minute) takes the
leads whose moment has come and gives each to the next realtor of its team's rotation
(``threecx.team._rotation_next``): the call-back activity moves to them (or is planned for them),
they get a notification in the browser, the call's and the contact's chatter say so, and a new
deadline starts, a full speed-to-lead window from now. When the rotation has nobody left who has
not had the lead, the round is over: the team's manager is told, and the lead stays with the
last realtor. The first call back settles the lead (``_settle_callbacks``), which empties its
moment: the index on ``callback_reassign_at`` holds the leads still waiting only, and a run
reads the due ones and nothing else.

The team of a lead is the queue or ring group it came through, else the first team passing on
leads whose rotation has the realtor it is for.

Time-based work is the cron's, never an HTTP request's or the worker's: Odoo's cron runs in one
process of a multi-worker Odoo at a time, but a manual "Run manually" or a second database
worker can run it alongside. Each lead is therefore taken under its row lock (``FOR UPDATE SKIP
LOCKED``) and its moment checked again under the lock: a lead another run is passing on is left
to it, and one it passed on already is no longer due (its new moment is in the future).
"""

import datetime
import logging

import psycopg2.errors

from odoo import api, fields, models
from odoo.tools import SQL, format_datetime, plaintext2html

from .threecx_call_lead import DEFAULT_DEADLINE_MINUTES

_logger = logging.getLogger(__name__)

BATCH = 200  # leads per run; the cron is triggered again at once when more are due


class ThreecxTeamRotation(models.Model):
    _name = "threecx.team.rotation"
    _description = "Missed-lead rotation of a team"
    _order = "team_id, sequence, id"

    team_id = fields.Many2one("threecx.team", required=True, index=True, ondelete="cascade")
    sequence = fields.Integer(default=10)
    extension_id = fields.Many2one(
        "threecx.extension",
        "Realtor",
        required=True,
        ondelete="cascade",
        domain="[('id', 'in', parent.member_ids)]",
        help="A member of the team (3CX's list of its agents or members).",
    )
    user_id = fields.Many2one(related="extension_id.user_id", store=True)
    status_label = fields.Char(related="extension_id.status_label", string="Status")
    company_id = fields.Many2one(related="team_id.company_id", store=True)

    _sql_constraints = [
        ("team_extension_uniq", "UNIQUE(team_id, extension_id)",
         "This realtor is already in the team's rotation."),
    ]


class ThreecxCallSpeedMixin(models.AbstractModel):
    """The passing on of missed leads, on ``threecx.call`` (composed there)."""

    _name = "threecx.call.speed.mixin"
    _description = "Phone Call: speed to lead enforced"

    callback_reassign_at = fields.Datetime(
        "Passed on at",
        readonly=True,
        copy=False,
        # Partial: the leads still waiting only (a call back or the round's end empties it).
        index="btree_not_null",
        help="Speed to lead: if nobody called back by then, the lead goes to the next realtor "
        "of the team's rotation.",
    )
    callback_passes = fields.Integer("Times passed on", readonly=True, copy=False)
    callback_tried_user_ids = fields.Many2many(
        "res.users",
        "threecx_call_callback_tried_rel",
        "call_id",
        "user_id",
        "Had the lead",
        readonly=True,
        copy=False,
        help="The realtors the lead was for before the one it is for now.",
    )

    # -- the cron ---------------------------------------------------------------------------

    @api.model
    def _cron_speed_to_lead(self):
        self._speed_to_lead_pass_on_due()

    @api.model
    def _speed_to_lead_pass_on_due(self, now=None, limit=BATCH):
        """Pass on every lead due at ``now`` (the tests give it); returns the leads passed on
        or closed."""
        now = now or fields.Datetime.now()
        cr = self.env.cr
        # Through the partial index: the due leads only, oldest first.
        cr.execute(SQL(
            "SELECT id FROM threecx_call WHERE callback_reassign_at <= %s"
            " ORDER BY callback_reassign_at LIMIT %s", now, limit))
        due = [row[0] for row in cr.fetchall()]
        done = self.browse()
        for call_id in due:
            if not self._speed_to_lead_lock(call_id, now):
                continue
            call = self.sudo().browse(call_id)
            call.invalidate_recordset()
            call._speed_to_lead_pass_on(now)
            done |= call
        if len(due) == limit:
            self.env.ref("realtor_3cx.ir_cron_speed_to_lead")._trigger()
        return done

    @api.model
    def _speed_to_lead_lock(self, call_id, now):
        """Lock the lead if it is still due and no other run holds it."""
        cr = self.env.cr
        try:
            with cr.savepoint(flush=False):
                cr.execute(
                    SQL("SELECT id FROM threecx_call WHERE id = %s AND callback_reassign_at <= %s"
                        " FOR UPDATE SKIP LOCKED", call_id, now),
                    log_exceptions=False,
                )
                return bool(cr.fetchone())
        except psycopg2.errors.SerializationFailure:
            # Another run passed it on after this transaction's snapshot was taken.
            return False

    # -- one lead ---------------------------------------------------------------------------

    def _speed_to_lead_pass_on(self, now):
        self.ensure_one()
        if self.callback_call_id or not self.callback_deadline:
            self.callback_reassign_at = False
            return
        team = self._speed_to_lead_team()
        if not team:
            self.callback_reassign_at = False
            return
        current = self.callback_user_id
        following = team._rotation_next(current, self.callback_tried_user_ids)
        if not following:
            self.callback_reassign_at = False
            self._speed_to_lead_round_over(team)
            return
        minutes = int(self.env["ir.config_parameter"].sudo().get_param(
            "realtor_3cx.speed_to_lead_minutes", DEFAULT_DEADLINE_MINUTES))
        self.write({
            "callback_user_id": following.id,
            "callback_tried_user_ids": [fields.Command.link(u.id) for u in current],
            "callback_passes": self.callback_passes + 1,
            "callback_reassign_at": now + datetime.timedelta(minutes=minutes),
        })
        self._speed_to_lead_activity(following)
        self._speed_to_lead_tell(following, current)

    def _speed_to_lead_team(self):
        self.ensure_one()
        Team = self.env["threecx.team"].sudo()
        if self.team_id.rotation_active and self.team_id.active:
            return self.team_id
        if not self.callback_user_id:
            return Team
        return Team.search([
            ("rotation_active", "=", True),
            ("server_id", "=", self.server_id.id),
            ("rotation_ids.user_id", "=", self.callback_user_id.id),
        ], limit=1)

    def _speed_to_lead_who(self, user):
        local = self.with_context(lang=user.lang or self.env.lang)
        return self.partner_id.name or local._number_for(user) or local.env._(
            "an unknown number")

    def _speed_to_lead_activity(self, user):
        """The call-back activity is the new realtor's now (Odoo tells them by e-mail and bus,
        as for any activity given to someone)."""
        call_type = self.env.ref("mail.mail_activity_data_call")
        tz = user.tz or self.company_id.partner_id.tz or "UTC"
        local = self.with_context(tz=tz, lang=user.lang or self.env.lang)
        today = fields.Datetime.context_timestamp(local, fields.Datetime.now()).date()
        activities = self.activity_ids.filtered(lambda a: a.activity_type_id == call_type)
        if activities:
            activities.write({"user_id": user.id, "date_deadline": today})
            return
        who = self._speed_to_lead_who(user)
        local.activity_schedule(
            "mail.mail_activity_data_call",
            date_deadline=today,
            summary=local.env._("Call back %s", who),
            note=plaintext2html(local.env._(
                "Missed call from %(who)s at %(time)s, not called back in time: it is yours now.",
                who=who,
                time=format_datetime(local.env, self.start_at, tz=tz, dt_format="short"),
            )),
            user_id=user.id,
        )

    def _speed_to_lead_tell(self, user, previous):
        """The new realtor's browser, and a note on the call's and the contact's chatter."""
        local = self.with_context(lang=user.lang or self.env.lang)
        who = self._speed_to_lead_who(user)
        user.partner_id._bus_send("simple_notification", {
            "type": "warning",
            "sticky": True,
            "title": local.env._("A missed lead is yours"),
            "message": local.env._("Call back %s now: nobody did in time.", who),
        })
        if previous:
            note = self.env._("Not called back in time by %(previous)s: passed on to %(user)s.",
                              previous=previous.name, user=user.name)
        else:
            note = self.env._("Not called back in time by the team: passed on to %s.", user.name)
        for record in (self, self.partner_id) if self.partner_id else (self,):
            record.message_post(body=plaintext2html(note), message_type="comment",
                                subtype_xmlid="mail.mt_note")

    def _speed_to_lead_round_over(self, team):
        """Nobody left in the rotation: the managers are told, the lead stays where it is."""
        call_type = self.env.ref("mail.mail_activity_data_call")
        managers = team._rotation_managers()
        self.message_post(
            body=plaintext2html(self.env._(
                "Not called back by anyone of %s's rotation: the manager is told.",
                team.display_name)),
            message_type="comment",
            subtype_xmlid="mail.mt_note",
        )
        for manager in managers:
            local = self.with_context(lang=manager.lang or self.env.lang)
            who = self._speed_to_lead_who(manager)
            local.activity_schedule(
                activity_type_id=call_type.id,
                summary=local.env._("Nobody called back %s", who),
                note=plaintext2html(local.env._(
                    "The missed lead went round %(team)s's rotation without a call back.",
                    team=team.display_name)),
                user_id=manager.id,
            )
            manager.partner_id._bus_send("simple_notification", {
                "type": "danger",
                "sticky": True,
                "title": local.env._("Missed lead not called back"),
                "message": local.env._("Nobody of %(team)s called back %(who)s.",
                                       team=team.display_name, who=who),
            })
        if not managers:
            _logger.info("missed lead %s: round over, no manager to tell", self.call_id)
