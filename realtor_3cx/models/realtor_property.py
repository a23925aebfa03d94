# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools.phone import to_e164

# A property is "in progress" while it can still be bought or sold: callers about it come first.
IN_PROGRESS_STATUSES = ("active", "under_contract")


class RealtorProperty(models.Model):
    _name = "realtor.property"
    _description = "Property"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "create_date desc, id desc"
    _check_company_auto = True

    reference = fields.Char(
        required=True, copy=False, readonly=True, index=True, default=lambda self: _("New")
    )
    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True)
    listing_status = fields.Selection(
        [
            ("draft", "Draft"),
            ("active", "Active"),
            ("under_contract", "Under contract"),
            ("sold", "Sold"),
            ("withdrawn", "Withdrawn"),
        ],
        default="draft",
        required=True,
        tracking=True,
        group_expand=True,
    )
    street = fields.Char()
    street2 = fields.Char()
    zip = fields.Char()
    city = fields.Char()
    state_id = fields.Many2one(
        "res.country.state", domain="[('country_id', '=?', country_id)]"
    )
    country_id = fields.Many2one("res.country")
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(
        "res.currency", required=True, default=lambda self: self.env.company.currency_id
    )
    list_price = fields.Monetary(tracking=True)
    owner_ids = fields.Many2many(
        "res.partner", "realtor_property_owner_rel", "property_id", "partner_id", "Owners"
    )
    listing_agent_id = fields.Many2one(
        "res.users",
        "Listing agent",
        index=True,
        tracking=True,
        default=lambda self: self.env.user,
        domain="[('share', '=', False)]",
    )
    interested_partner_ids = fields.Many2many(
        "res.partner",
        "realtor_property_interest_rel",
        "property_id",
        "partner_id",
        "Interested contacts",
    )
    listing_phone = fields.Char(
        "Listing phone (DID)",
        help="The number advertised for this property (sign rider, portal ad). "
        "Calls to it pop up this property and are logged on it.",
    )
    listing_phone_e164 = fields.Char(
        compute="_compute_listing_phone_e164", store=True, index="btree_not_null"
    )
    call_ids = fields.One2many("threecx.call", "property_id", "Calls")
    call_count = fields.Integer(compute="_compute_call_count")
    color = fields.Integer()

    # Not "company_id.country_id": a company changing country would rewrite all its listings
    # in that transaction; res.partner's queued job reads them again instead.
    @api.depends("listing_phone", "country_id", "company_id")
    def _compute_listing_phone_e164(self):
        for prop in self:
            region = prop.country_id.code or prop.company_id.country_id.code
            prop.listing_phone_e164 = to_e164(prop.listing_phone, region)

    @api.model
    def _realtor_3cx_refresh_listing_e164(self, company):
        """Read again the listing numbers of ``company``'s properties with no country of their
        own, after the company changed country (res.partner._realtor_3cx_refresh_e164).

        Written in SQL: a number the new country cannot read is left empty rather than
        refused (the listing's own check is for what a user types).
        """
        region = company.country_id.code
        self.env.cr.execute(
            """SELECT id, listing_phone FROM realtor_property
                WHERE company_id = %s AND country_id IS NULL AND listing_phone IS NOT NULL""",
            [company.id],
        )
        for prop_id, phone in self.env.cr.fetchall():
            self.env.cr.execute(
                "UPDATE realtor_property SET listing_phone_e164 = %s WHERE id = %s",
                [to_e164(phone, region), prop_id],
            )
        self.invalidate_model(["listing_phone_e164"])

    def _compute_call_count(self):
        counts = dict(
            self.env["threecx.call"]._read_group(
                [("property_id", "in", self.ids)], ["property_id"], ["__count"]
            )
        )
        for prop in self:
            prop.call_count = counts.get(prop, 0)

    @api.constrains("listing_phone", "listing_phone_e164")
    def _check_listing_phone(self):
        for prop in self:
            if prop.listing_phone and not prop.listing_phone_e164:
                raise ValidationError(
                    _(
                        "The listing phone %(number)s is not a phone number: type it with its "
                        "country code, e.g. +1 555 010 2030.",
                        number=prop.listing_phone,
                    )
                )
            if prop.listing_phone_e164:
                other = self.sudo().search(
                    [("listing_phone_e164", "=", prop.listing_phone_e164), ("id", "!=", prop.id)],
                    limit=1,
                )
                if other:
                    raise ValidationError(
                        _(
                            "The listing phone %(number)s already belongs to %(other)s: "
                            "each property needs its own number to know which one was called.",
                            number=prop.listing_phone,
                            other=other.display_name,
                        )
                    )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("reference", _("New")) == _("New"):
                vals["reference"] = self.env["ir.sequence"].next_by_code("realtor.property") or _(
                    "New"
                )
        return super().create(vals_list)

    @api.depends("reference", "name")
    def _compute_display_name(self):
        for prop in self:
            prop.display_name = f"[{prop.reference}] {prop.name}" if prop.reference else prop.name

    def action_view_calls(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("realtor_3cx.threecx_call_action")
        action["domain"] = [("property_id", "=", self.id)]
        action["context"] = {"default_property_id": self.id}
        return action
