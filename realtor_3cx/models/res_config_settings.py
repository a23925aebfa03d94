# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools import SecretKeyError
from .res_partner_outbound import DEFAULT_WINDOW, hours_to_hhmm, parse_calling_window
from .threecx_call_lead import DEFAULT_DEADLINE_MINUTES
from .threecx_dialer import DEFAULT_RECENT_HOURS, DEFAULT_TAKE_MINUTES
from .threecx_server import secret_box


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    # -- telephony status (views/res_config_settings_views.xml) ---------------------------------

    # Status shown to the admin, filled by get_values() (settings open through default_get,
    # which does not run computes without dependencies).
    realtor_3cx_key_configured = fields.Boolean("Encryption key configured", readonly=True)
    realtor_3cx_server_count = fields.Integer("3CX servers", readonly=True)
    realtor_3cx_extension_count = fields.Integer("3CX extensions", readonly=True)

    # -- call workflow (views/res_config_settings_workflow_views.xml) ---------------------------

    # The general default calling rule's hours (threecx_calling_rule.py): the window of every
    # number no more specific rule (a country's, a state's) covers.
    realtor_3cx_calling_window = fields.Char(
        "Calling window",
        default=DEFAULT_WINDOW,
        help="Outbound calls to numbers no other calling rule covers are placed only between "
        "these times in the contact's time zone (HH:MM-HH:MM).",
    )
    realtor_3cx_speed_to_lead_minutes = fields.Integer(
        "Call-back deadline (minutes)",
        config_parameter="realtor_3cx.speed_to_lead_minutes",
        default=DEFAULT_DEADLINE_MINUTES,
        help="A missed call from a new or active contact must be called back within this time.",
    )
    # The power dialer (threecx_dialer.py).
    realtor_3cx_dialer_recent_hours = fields.Integer(
        "Dialer: skip contacts called in the last (hours)",
        config_parameter="realtor_3cx.dialer_recent_hours", default=DEFAULT_RECENT_HOURS,
        help="The dialer skips a contact called this recently (0: never skips for that).",
    )
    realtor_3cx_dialer_take_minutes = fields.Integer(
        "Dialer: an entry is held for (minutes)",
        config_parameter="realtor_3cx.dialer_take_minutes", default=DEFAULT_TAKE_MINUTES,
        help="An entry a realtor took and did not call goes back to the list after this long "
             "(a closed laptop holds nobody up).",
    )

    @api.model
    def get_values(self):
        res = super().get_values()
        try:
            secret_box()
            configured = True
        except SecretKeyError:
            configured = False
        rule = self.env["threecx.calling.rule"]._realtor_3cx_default_rule()
        res.update(
            realtor_3cx_calling_window=(
                f"{hours_to_hhmm(rule.hour_from)}-{hours_to_hhmm(rule.hour_to)}"
                if rule else DEFAULT_WINDOW
            ),
            realtor_3cx_key_configured=configured,
            realtor_3cx_server_count=self.env["threecx.server"].search_count([]),
            realtor_3cx_extension_count=self.env["threecx.extension"].search_count([]),
        )
        return res

    def set_values(self):
        res = super().set_values()
        Rule = self.env["threecx.calling.rule"]
        rule = Rule._realtor_3cx_default_rule()
        window = parse_calling_window(self.realtor_3cx_calling_window)
        if not rule or window != (hours_to_hhmm(rule.hour_from), hours_to_hhmm(rule.hour_to)):
            Rule._realtor_3cx_set_default_window(self.realtor_3cx_calling_window)
        return res

    @api.constrains("realtor_3cx_calling_window", "realtor_3cx_speed_to_lead_minutes")
    def _check_realtor_3cx_workflow(self):
        for settings in self:
            if not parse_calling_window(settings.realtor_3cx_calling_window):
                raise ValidationError(
                    _(
                        "The calling window %s is not a time range such as 08:00-21:00 "
                        "(start before end, the same day).",
                        settings.realtor_3cx_calling_window or "",
                    )
                )
            if settings.realtor_3cx_speed_to_lead_minutes <= 0:
                raise ValidationError(_("The call-back deadline must be at least a minute."))
