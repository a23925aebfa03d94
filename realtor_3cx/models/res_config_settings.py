# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from ..tools import SecretKeyError
from .threecx_server import secret_box


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    # Status shown to the admin, filled by get_values() (settings open through default_get,
    # which does not run computes without dependencies).
    realtor_3cx_key_configured = fields.Boolean("Encryption key configured", readonly=True)
    realtor_3cx_server_count = fields.Integer("3CX servers", readonly=True)
    realtor_3cx_extension_count = fields.Integer("3CX extensions", readonly=True)

    @api.model
    def get_values(self):
        res = super().get_values()
        try:
            secret_box()
            configured = True
        except SecretKeyError:
            configured = False
        res.update(
            realtor_3cx_key_configured=configured,
            realtor_3cx_server_count=self.env["threecx.server"].search_count([]),
            realtor_3cx_extension_count=self.env["threecx.extension"].search_count([]),
        )
        return res
