# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

# 3CX extension numbers are digits only; the length is chosen when 3CX is installed.
EXTENSION_RE = re.compile(r"^\d{2,10}$")


class ThreecxExtension(models.Model):
    _name = "threecx.extension"
    _description = "3CX Extension"
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
    number = fields.Char(
        "Extension", required=True, help="The user's extension number on this 3CX server."
    )
    user_id = fields.Many2one(
        "res.users",
        required=True,
        index=True,
        ondelete="cascade",
        domain="[('share', '=', False)]",
    )
    company_id = fields.Many2one(related="server_id.company_id", store=True, index=True)
    # Presence, as 3CX reports it (XAPI Users), refreshed by the worker.
    presence = fields.Char(readonly=True, help="The 3CX status profile (Available, Away...).")
    registered = fields.Boolean(readonly=True, help="A phone or app is registered on it.")
    queue_logged_in = fields.Boolean("In queues", readonly=True)
    presence_at = fields.Datetime("Presence read at", readonly=True)
    # What the managers' live view shows: one status, derived from the calls and the presence,
    # so that a realtor is never "on a call" and "Available" at once.
    status = fields.Selection(
        [
            ("on_call", "On a call"),
            ("available", "Available"),
            ("away", "Away"),
            ("no_phone", "No phone"),
            ("unknown", "Not seen yet"),
        ],
        compute="_compute_status",
    )
    status_label = fields.Char("Status shown", compute="_compute_status")

    _sql_constraints = [
        (
            "number_server_uniq",
            "UNIQUE(server_id, number)",
            "This extension number is already assigned to another user on this 3CX server.",
        ),
        (
            "user_server_uniq",
            "UNIQUE(server_id, user_id)",
            "A user has one extension per 3CX server.",
        ),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("number"):
                vals["number"] = vals["number"].strip()
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("number"):
            vals = dict(vals, number=vals["number"].strip())
        return super().write(vals)

    @api.constrains("number")
    def _check_number(self):
        for extension in self:
            if not EXTENSION_RE.match(extension.number or ""):
                raise ValidationError(
                    _(
                        "The extension %(number)s is not a 3CX extension number: use its digits "
                        "only (2 to 10), e.g. 101.",
                        number=extension.number,
                    )
                )

    @api.depends("number", "user_id.name", "server_id.name")
    def _compute_display_name(self):
        for extension in self:
            extension.display_name = f"{extension.number} {extension.user_id.name or ''}".strip()

    # The calls are read at every compute (the live view reads every two seconds).
    @api.depends("number", "server_id", "presence", "registered", "presence_at")
    def _compute_status(self):
        labels = dict(self._fields["status"]._description_selection(self.env))
        talking = set()
        if self.ids:
            # As superuser: a realtor's status shows whoever may read the call.
            calls = self.env["threecx.call"].sudo().search(
                [
                    ("state", "=", "connected"),
                    ("server_id", "in", self.server_id.ids),
                    ("extension", "in", [e for e in self.mapped("number") if e]),
                ]
            )
            talking = {(call.server_id.id, call.extension) for call in calls}
        for extension in self:
            if (extension.server_id.id, extension.number) in talking:
                status, label = "on_call", labels["on_call"]
            elif not extension.presence_at:
                status, label = "unknown", labels["unknown"]
            elif not extension.registered:
                status, label = "no_phone", labels["no_phone"]
            elif (extension.presence or "Available") == "Available":
                status, label = "available", labels["available"]
            else:
                # 3CX's own profile name (Away, Do Not Disturb, Lunch...), as the realtor set it.
                status, label = "away", extension.presence
            extension.status = status
            extension.status_label = label

    @api.model
    def _apply_presence(self, server, users):
        """The worker's XAPI ``Users`` rows -> presence of the mapped extensions."""
        rows = {str(u.get("Number")): u for u in users}
        now = fields.Datetime.now()
        for extension in self.search([("server_id", "=", server.id)]):
            row = rows.get(extension.number)
            values = {
                "presence": row.get("CurrentProfileName") or False if row else False,
                "registered": bool(row and row.get("IsRegistered")),
                "queue_logged_in": bool(row and row.get("QueueStatus") == "LoggedIn"),
                "presence_at": now,
            }
            extension.write(values)
