# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Teams: the 3CX queues and ring groups a call can ring, and a team's calls.

A call to a queue or a ring group rings several realtors at once. Until one of them answers
(or claims it from the pop-up, or calls the caller back) it is the *team's* call, not any one
member's: it keeps the team (``team_id``) and no realtor (``user_id``), every member sees it
(a record rule), and the reports and Missed Calls show it under the team. Who 3CX rings right
now is ``ringing_user_ids``, written by the worker from the legs, so that a page reloaded by
any member gets back the pop-ups of the calls ringing for that member.

The teams and their members are read by the worker from the XAPI (``GET /Queues?$expand=
Agents``, ``GET /RingGroups?$expand=Members``), as presence is; a member is an extension of
the server's map, so the members' users are the realtors of those extensions.

Speed to lead, enforced: a manager orders some members in the team's *rotation*; a missed lead
not called back by its deadline goes to the next eligible realtor of it, in order, wrapping
round, once each (threecx_speed_to_lead.py passes it on; :meth:`ThreecxTeam._rotation_next`
picks who).
"""

from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.exceptions import UserError

from .threecx_call_lead import MISSED_STATES

BUS_CLAIMED = "realtor_3cx.call/claimed"


def is_present(extension):
    """Present as the worker last read 3CX: a registered phone, and Available (a realtor on a
    call is still Available in 3CX, and will be free to call back)."""
    return bool(
        extension.presence_at
        and extension.registered
        and (extension.presence or "Available") == "Available"
    )


class ThreecxTeam(models.Model):
    _name = "threecx.team"
    _description = "3CX team (queue or ring group)"
    _order = "server_id, number, id"
    _check_company_auto = True

    server_id = fields.Many2one(
        "threecx.server",
        "3CX server",
        required=True,
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    number = fields.Char(required=True, help="The queue's or ring group's number on 3CX.")
    name = fields.Char(help="The name 3CX gives the queue or ring group.")
    kind = fields.Selection(
        [("queue", "Queue"), ("ring_group", "Ring group")],
        help="Empty until the worker has read the team from 3CX.",
    )
    member_ids = fields.Many2many(
        "threecx.extension",
        "threecx_team_extension_rel",
        "team_id",
        "extension_id",
        "Members",
        domain="[('server_id', '=', server_id)]",
        help="The extensions 3CX rings for this team (its agents or members), as 3CX lists them.",
    )
    active = fields.Boolean(default=True, help="Archived when 3CX no longer has this team.")
    company_id = fields.Many2one(related="server_id.company_id", store=True, index=True)
    # Speed to lead: the round robin of the missed leads nobody called back in time.
    rotation_active = fields.Boolean(
        "Pass on missed leads",
        help="A missed lead not called back by its speed-to-lead deadline goes to the next "
        "realtor of the rotation, and again at each new deadline, until someone calls back or "
        "every realtor of the rotation had it.",
    )
    rotation_ids = fields.One2many("threecx.team.rotation", "team_id")
    rotation_presence = fields.Boolean(
        "Only realtors present",
        help="Skip the realtors whose phone is not registered or whose 3CX status is not "
        "Available, as the worker last read it.",
    )
    rotation_manager_id = fields.Many2one(
        "res.users",
        "Told when nobody calls back",
        domain="[('share', '=', False)]",
        help="Told when a missed lead went round the whole rotation without a call back; "
        "empty: the company's telephony managers.",
    )

    _sql_constraints = [
        (
            "number_server_uniq",
            "UNIQUE(server_id, number)",
            "This queue or ring group number is already known on this 3CX server.",
        ),
    ]

    @api.depends("number", "name")
    def _compute_display_name(self):
        for team in self:
            team.display_name = (
                f"{team.name} ({team.number})" if team.name and team.name != team.number
                else team.number
            )

    @api.model
    def _for_number(self, server, number):
        """The team of ``number`` on ``server``, created if the worker sees a call through it
        before it read the teams (the call must keep its team); archived ones included."""
        if not number:
            return self.browse()
        team = self.with_context(active_test=False).search(
            [("server_id", "=", server.id), ("number", "=", number)], limit=1
        )
        return team or self.create({"server_id": server.id, "number": number, "name": number})

    @api.model
    def _apply_teams(self, server, teams):
        """The worker's reading of 3CX's queues and ring groups (``Xapi.teams()``)."""
        extensions = {ext.number: ext for ext in server.extension_ids}
        known = {
            team.number: team
            for team in self.with_context(active_test=False).search(
                [("server_id", "=", server.id)]
            )
        }
        for row in teams:
            members = self.env["threecx.extension"].union(
                *(extensions[n] for n in row["members"] if n in extensions)
            )
            values = {"name": row["name"] or row["number"], "kind": row["kind"], "active": True}
            team = known.pop(row["number"], None)
            if team is None:
                self.create(
                    {**values, "server_id": server.id, "number": row["number"],
                     "member_ids": [fields.Command.set(members.ids)]}
                )
                continue
            if any(team[k] != v for k, v in values.items()):
                team.write(values)
            if team.member_ids != members:
                team.member_ids = [fields.Command.set(members.ids)]
        for team in known.values():
            if team.active and team.kind:  # read from 3CX once, gone now
                team.active = False

    # -- speed to lead: the rotation ----------------------------------------------------------

    def _rotation_eligible(self):
        """The rotation's lines whose realtor may get a lead now: an active user, still a
        member of the team (3CX's list), and present when the team asks for it."""
        self.ensure_one()
        return self.rotation_ids.filtered(
            lambda line: line.user_id.active
            and line.extension_id in self.member_ids
            and (not self.rotation_presence or is_present(line.extension_id))
        )

    def _rotation_next(self, current, tried):
        """Who gets a lead ``current`` did not call back: the first eligible realtor after
        ``current`` in the rotation's order (from the top if ``current`` is not in it), wrapping
        round, who has not had it yet (``tried``). No one: the round is over."""
        self.ensure_one()
        lines = self.rotation_ids.sorted(lambda line: (line.sequence, line.id))
        users = lines.user_id
        start = next((i + 1 for i, line in enumerate(lines) if line.user_id == current), 0)
        eligible = self._rotation_eligible()
        for line in lines[start:] + lines[:start]:
            if line in eligible and line.user_id not in tried | current:
                return line.user_id
        return users.browse()

    def _rotation_managers(self):
        """Who is told when the round is over."""
        self.ensure_one()
        if self.rotation_manager_id:
            return self.rotation_manager_id
        group = self.env.ref("realtor_3cx.realtor_3cx_group_manager")
        return group.users.filtered(
            lambda u: not u.share and u.active and u._is_internal()
            and u.id != SUPERUSER_ID and self.company_id in u.company_ids
        )


class ThreecxCallTeamMixin(models.AbstractModel):
    """A call's team and who it rings now, on ``threecx.call`` (composed there)."""

    _name = "threecx.call.team.mixin"
    _description = "Phone Call: team calls"

    team_id = fields.Many2one(
        "threecx.team",
        index="btree_not_null",
        readonly=True,
        ondelete="set null",
        help="The queue or ring group the call came through: until a member answers or claims "
        "it, the call is the team's.",
    )
    ringing_user_ids = fields.Many2many(
        "res.users",
        "threecx_call_ringing_user_rel",
        "call_id",
        "user_id",
        "Ringing for",
        readonly=True,
        help="The realtors whose phones ring for this call now, as 3CX reports its legs.",
    )

    # -- the worker's side (threecx_call_sync.py) ---------------------------------------------

    @api.model
    def _team_values_from_view(self, server, view, users, call):
        """The team of a view, and its realtor: nobody until a member talks (or claimed it)."""
        Team = self.env["threecx.team"]
        team = Team._for_number(server, view.get("queue"))
        if not team and view["extension"] and view["extension"] not in users:
            # A call only the call log had (the worker never saw its legs) names the queue or
            # ring group it rang as its destination.
            team = Team.search([("server_id", "=", server.id),
                                ("number", "=", view["extension"])], limit=1)
        if not team:
            return {}
        values = {"team_id": team.id}
        if not view["chain"]:
            # Every member rings: the extension the tracker names is just one of them.
            values["user_id"] = call.user_id.id if call else False
        return values

    def _team_set_ringing(self, view, users):
        """Who rings now (the legs), so that a reload of any of their pages gets the pop-up."""
        self.ensure_one()
        ringing = self.env["res.users"].union(
            *(users[ext] for ext in view.get("ringing", ()) if users.get(ext))
        )
        if self.state != "ringing":
            ringing = self.env["res.users"]
        if self.ringing_user_ids != ringing:
            self.ringing_user_ids = [fields.Command.set(ringing.ids)]

    def _team_members(self):
        self.ensure_one()
        return self.team_id.sudo().member_ids.user_id

    # -- the pop-up's restore (threecx_dial.py) -----------------------------------------------

    @api.model
    def _team_ringing_for_me(self):
        """Calls ringing for the user now, whoever else they ring: theirs, or a team call no
        member has claimed yet."""
        return self.sudo().search(
            [
                ("state", "=", "ringing"),
                ("ringing_user_ids", "in", self.env.uid),
                "|",
                ("user_id", "=", False),
                ("user_id", "=", self.env.uid),
            ],
            limit=10,
        )

    # -- claim and call back ------------------------------------------------------------------

    def _team_check_claim(self):
        """Only a member (or a telephony manager) takes a team's call."""
        self.ensure_one()
        call = self.sudo()
        rung = call._team_members() | call.ringing_user_ids | call._did_listing_agent()
        if not call.team_id or self.env.user in rung:
            return
        if self.env.user.has_group("realtor_3cx.realtor_3cx_group_manager"):
            return
        raise UserError(_("Only the members of %s can claim its calls.", call.team_id.display_name))

    def _team_claimable_missed(self):
        self.ensure_one()
        return self.team_id and not self.user_id and self.state in MISSED_STATES

    def _team_after_claim(self):
        """Tell everyone the call rang for that it is taken; a missed call's call-back is now
        the claimer's."""
        self.ensure_one()
        call = self.sudo()
        payload = call._bus_payload()
        for user in call._team_members() | call.ringing_user_ids | call.user_id:
            user.partner_id._bus_send(BUS_CLAIMED, payload)
        if call.state in MISSED_STATES:
            call._team_call_back_is(call.user_id)

    def _team_call_back_is(self, user):
        """A missed team call becomes ``user``'s to call back (a claim, or their call back)."""
        self.ensure_one()
        if self.callback_deadline and not self.callback_user_id:
            self.callback_user_id = user
        if not self.activity_ids:  # nobody was told to call back: the team had it
            self._schedule_call_back({"rung": ()}, {})

    def _team_settle_by_call_back(self):
        """An outbound call from a member to a number the team missed makes those calls the
        member's (they called back): the team's call has a realtor at last."""
        for call in self.filtered(
            lambda c: c.direction == "outbound" and c.external_e164 and c.user_id
        ):
            missed = self.sudo().search(
                [
                    ("external_e164", "=", call.external_e164),
                    ("direction", "=", "inbound"),
                    ("state", "in", MISSED_STATES),
                    ("team_id", "!=", False),
                    ("user_id", "=", False),
                    ("start_at", "<=", call.start_at),
                    ("company_id", "=", call.company_id.id),
                ]
            )
            missed = missed.filtered(lambda m, user=call.user_id: user in m._team_members())
            if missed:
                missed.write({"user_id": call.user_id.id})
                for lead in missed:
                    if lead.callback_deadline and not lead.callback_user_id:
                        lead.callback_user_id = call.user_id

