# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class ResUsers(models.Model):
    _inherit = "res.users"

    threecx_extension_ids = fields.One2many("threecx.extension", "user_id", "3CX extensions")
    # A realtor with an extension on two 3CX servers (two offices) says which one dials.
    threecx_dial_server_id = fields.Many2one(
        "threecx.server",
        "Dial from",
        ondelete="set null",
        domain="[('extension_ids.user_id', '=', id)]",
        help="The 3CX server whose extension click-to-call rings first, when you have one on "
        "several. Empty: the first of them by name.",
    )
    threecx_dial_from = fields.Char(
        "Calls ring first on", compute="_compute_threecx_dial_from"
    )

    @property
    def SELF_READABLE_FIELDS(self):
        return super().SELF_READABLE_FIELDS + ["threecx_dial_server_id", "threecx_dial_from"]

    @property
    def SELF_WRITEABLE_FIELDS(self):
        return super().SELF_WRITEABLE_FIELDS + ["threecx_dial_server_id"]

    @api.constrains("threecx_dial_server_id")
    def _check_threecx_dial_server(self):
        for user in self.sudo():
            server = user.threecx_dial_server_id
            if server and server not in user.threecx_extension_ids.server_id:
                raise ValidationError(
                    _(
                        "%(user)s has no extension on the 3CX server %(server)s to dial from.",
                        user=user.name,
                        server=server.name,
                    )
                )

    @api.depends("threecx_dial_server_id", "threecx_extension_ids")
    @api.depends_context("allowed_company_ids")
    def _compute_threecx_dial_from(self):
        for user in self:
            extension = user._realtor_3cx_dial_extension()
            if not extension:
                user.threecx_dial_from = False
                continue
            text = _(
                "Extension %(number)s on %(server)s",
                number=extension.number,
                server=extension.server_id.name,
            )
            if extension.server_id != user.threecx_dial_server_id and len(
                user._realtor_3cx_dial_extensions().server_id
            ) > 1:
                # Chosen for the realtor, not by them: say so, and where to change it.
                text = _("%s (the first of your 3CX servers; choose one in Dial from)", text)
            user.threecx_dial_from = text

    def _realtor_3cx_dial_extensions(self):
        """The user's extensions that can dial now (active servers of the allowed companies),
        in a stable order: servers by name, then id."""
        self.ensure_one()
        return self.env["threecx.extension"].sudo().search(
            [
                ("user_id", "=", self.id),
                ("server_id.active", "=", True),
                ("server_id.company_id", "in", self.env.companies.ids),
            ]
        )

    def _realtor_3cx_dial_extension(self):
        """The extension click-to-call uses: the one on the user's *Dial from* server, else
        the first (the same one every time, and the Preferences say which)."""
        extensions = self._realtor_3cx_dial_extensions()
        chosen = extensions.filtered(lambda e: e.server_id == self.threecx_dial_server_id)
        return chosen[:1] or extensions[:1]
