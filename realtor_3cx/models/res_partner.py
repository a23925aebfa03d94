# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json
import logging

from psycopg2.extras import execute_values

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools.misc import clean_context

from ..tools.phone import to_e164
from ..tools.record_id import as_record_id
from .threecx_call_identity import CREATED_FROM_CALL

_logger = logging.getLogger(__name__)

# Companies whose country changed, and how far the re-reading of their numbers went:
# {company id: {"old": the country code before, "after": the last partner id done}}.
E164_REFRESH = "realtor_3cx.e164_refresh"


class ResPartner(models.Model):
    _name = "res.partner"
    _inherit = [
        "res.partner",
        "threecx.outbound.mixin",  # res_partner_outbound.py: do-not-call, calling window
    ]

    # Exact, indexed E.164 forms: the caller lookup compares these and nothing else.
    # Precomputed: a contact of no company is read in the country of the company it is
    # created in, not of whichever environment flushes it later.
    phone_e164 = fields.Char(
        "Phone (E.164)", compute="_compute_e164", store=True, index="btree_not_null",
        copy=False, precompute=True,
    )
    mobile_e164 = fields.Char(
        "Mobile (E.164)", compute="_compute_e164", store=True, index="btree_not_null",
        copy=False, precompute=True,
    )
    # The consent ledger's current state (threecx_consent.py): ticking it records an opt-out.
    do_not_call = fields.Boolean(
        "Do not call",
        compute="_compute_do_not_call",
        inverse="_inverse_do_not_call",
        store=True,
        tracking=True,
        help="Click-to-call refuses to call this contact; inbound calls are still logged. "
        "The latest entry of the contact's consent ledger decides.",
    )
    # Calls and properties are for the telephony roles only; other employees see the partner
    # as before.
    threecx_call_ids = fields.One2many(
        "threecx.call", "partner_id", "Calls", groups="realtor_3cx.realtor_3cx_group_user"
    )
    threecx_call_count = fields.Integer(
        "Calls count",
        compute="_compute_threecx_call_count",
        groups="realtor_3cx.realtor_3cx_group_user",
    )
    realtor_owned_property_ids = fields.Many2many(
        "realtor.property",
        "realtor_property_owner_rel",
        "partner_id",
        "property_id",
        "Owned properties",
        groups="realtor_3cx.realtor_3cx_group_user",
    )
    realtor_interest_property_ids = fields.Many2many(
        "realtor.property",
        "realtor_property_interest_rel",
        "partner_id",
        "property_id",
        "Properties of interest",
        groups="realtor_3cx.realtor_3cx_group_user",
    )
    realtor_property_count = fields.Integer(
        "Properties count",
        compute="_compute_realtor_property_count",
        groups="realtor_3cx.realtor_3cx_group_user",
    )

    def _realtor_3cx_region(self):
        """The country national numbers are read in: the partner's, else its company's, else
        (a contact of no company) that of the company it is written in."""
        return (
            self.country_id.code
            or self.company_id.country_id.code
            or self.env.company.country_id.code
        )

    # Not "company_id.country_id": a company that changes country would recompute every one
    # of its contacts in that one transaction. Their numbers are read again in batches
    # afterwards instead (_realtor_3cx_refresh_e164, queued by write()).
    @api.depends("phone", "mobile", "country_id", "company_id")
    def _compute_e164(self):
        for partner in self:
            region = partner._realtor_3cx_region()
            partner.phone_e164 = to_e164(partner.phone, region)
            partner.mobile_e164 = to_e164(partner.mobile, region)

    @api.model_create_multi
    def create(self, vals_list):
        partners = super().create(vals_list)
        call_id = as_record_id(self.env.context.get(CREATED_FROM_CALL))
        if call_id:
            # "Create contact" from a call's pop-up (threecx_call_identity.py): the call, and
            # the earlier ones from that number, are the new contact's.
            # Without the form's default_* keys: they are the new contact's, not the calls'
            # (a new environment, as with_context(**keys) would keep them).
            env = self.env(context=clean_context(self.env.context))
            call = env["threecx.call"].sudo().browse(call_id).exists().sudo(False)
            try:
                if call:
                    call._identity_link_new_contacts(partners)
            except AccessError:
                # The call is no longer this user's (a colleague took the team call): the
                # contact is saved all the same, the call keeps its own.
                _logger.info("contact %s not linked to call %s", partners.ids, call_id)
        return partners

    def write(self, vals):
        companies = self.env["res.company"]
        if "country_id" in vals:
            companies = companies.sudo().search([("partner_id", "in", self.ids)])
        # The partner's country, not the company's: res.company's inverse writes here after
        # its own field already holds the new one.
        before = {company: company.partner_id.country_id.code for company in companies}
        res = super().write(vals)
        if companies:
            # the caller lookup caches each company's country (the region of national numbers)
            self.env.registry.clear_cache()
            changed = {c.id: code for c, code in before.items() if c.country_id.code != code}
            if changed:
                self._realtor_3cx_queue_e164_refresh(changed)
        return res

    @api.model
    def _realtor_3cx_queue_e164_refresh(self, old_codes):
        """Have the numbers read in these companies' former countries read again, in batches
        by a cron job rather than in the transaction that changed the country.

        :param dict old_codes: {company id: its country code before the change}
        """
        params = self.env["ir.config_parameter"].sudo()
        queue = json.loads(params.get_param(E164_REFRESH) or "{}")
        for company_id, code in old_codes.items():
            # Changed again before the job got to it: the numbers are still in the first.
            old = queue.get(str(company_id), {}).get("old", code)
            queue[str(company_id)] = {"old": old, "after": 0}
        params.set_param(E164_REFRESH, json.dumps(queue, sort_keys=True))
        # Anyone who may edit a company's address may start it; absent while installing.
        cron = self.env.ref("realtor_3cx.ir_cron_e164_refresh", raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger()

    @api.model
    def _realtor_3cx_refresh_e164(self, batch_size=2000):
        """One batch of the re-reading queued by a change of a company's country (cron).

        The contacts with no country of their own read in the old country are read in the new
        one: the company's, and, when no other company is still in the old country (they may
        be its), those of no company whose stored numbers are the old country's reading
        (others were written in another company). The company's listings with no country
        too. Written in SQL, as at install (no tracking, no write_date).

        :return: True when more remains (the job is triggered again)
        """
        params = self.env["ir.config_parameter"].sudo()
        queue = json.loads(params.get_param(E164_REFRESH) or "{}")
        if not queue:
            return False
        key = min(queue, key=int)
        company = self.env["res.company"].sudo().browse(int(key)).exists()
        old, after = queue[key]["old"], queue[key]["after"]
        new = company.country_id.code
        rows = []
        if company and new != old:
            shared = not self.env["res.company"].sudo().search_count(
                [("id", "!=", company.id)]
                + ([("partner_id.country_id.code", "=", old)] if old
                   else [("partner_id.country_id", "=", False)]),
                limit=1,
            )
            self.env.cr.execute(
                """
                SELECT id, company_id, phone, mobile, phone_e164, mobile_e164
                  FROM res_partner
                 WHERE id > %s AND country_id IS NULL
                   AND (company_id = %s OR (%s AND company_id IS NULL))
                   AND (phone IS NOT NULL OR mobile IS NOT NULL)
              ORDER BY id
                 LIMIT %s
                """,
                (after, company.id, shared, batch_size),
            )
            rows = self.env.cr.fetchall()
        values = []
        for pid, company_id, phone, mobile, phone_e164, mobile_e164 in rows:
            if not company_id and (to_e164(phone, old), to_e164(mobile, old)) != (
                phone_e164, mobile_e164
            ):
                continue  # written in another company's country: not this change's
            fresh = (to_e164(phone, new), to_e164(mobile, new))
            if fresh != (phone_e164, mobile_e164):
                values.append((pid, *fresh))
        if values:
            execute_values(
                self.env.cr._obj,
                """
                UPDATE res_partner p SET phone_e164 = v.phone, mobile_e164 = v.mobile
                  FROM (VALUES %s) AS v(id, phone, mobile) WHERE p.id = v.id
                """,
                values,
                template="(%s, %s::varchar, %s::varchar)",
                page_size=1000,
            )
            self.invalidate_model(["phone_e164", "mobile_e164"])
        if len(rows) == batch_size:
            queue[key]["after"] = rows[-1][0]
        else:
            if company and new != old:
                self.env["realtor.property"]._realtor_3cx_refresh_listing_e164(company)
            del queue[key]
        params.set_param(E164_REFRESH, json.dumps(queue, sort_keys=True))
        _logger.info("realtor_3cx: numbers of company %s read again in %s for %s partners",
                     key, new, len(values))
        if queue:
            self.env.ref("realtor_3cx.ir_cron_e164_refresh").sudo()._trigger()
        return bool(queue)

    def _compute_threecx_call_count(self):
        counts = dict(
            self.env["threecx.call"]._read_group(
                [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]
            )
        )
        for partner in self:
            partner.threecx_call_count = counts.get(partner, 0)

    @api.depends("realtor_owned_property_ids", "realtor_interest_property_ids")
    def _compute_realtor_property_count(self):
        for partner in self:
            partner.realtor_property_count = len(
                partner.realtor_owned_property_ids | partner.realtor_interest_property_ids
            )

    @api.model
    def _realtor_3cx_fill_e164(self, batch_size=5000):
        """Fill the E.164 columns of existing partners, ``batch_size`` rows at a time.

        Run at install instead of the ORM's recompute, which would load every partner at once
        (a million partners would not fit in a worker's memory). The columns are created empty
        by the pre-init hook so the ORM does not schedule that recompute.

        :return: the number of partners examined
        """
        cr = self.env.cr
        default_region = self.env.company.country_id.code
        last_id = done = 0
        while True:
            cr.execute(
                """
                SELECT p.id, p.phone, p.mobile, pc.code, cc.code
                  FROM res_partner p
             LEFT JOIN res_country pc ON pc.id = p.country_id
             LEFT JOIN res_company c ON c.id = p.company_id
             LEFT JOIN res_partner cp ON cp.id = c.partner_id
             LEFT JOIN res_country cc ON cc.id = cp.country_id
                 WHERE p.id > %s AND (p.phone IS NOT NULL OR p.mobile IS NOT NULL)
              ORDER BY p.id
                 LIMIT %s
                """,
                (last_id, batch_size),
            )
            rows = cr.fetchall()
            if not rows:
                break
            values = []
            for pid, phone, mobile, partner_country, company_country in rows:
                region = partner_country or company_country or default_region
                values.append((pid, to_e164(phone, region), to_e164(mobile, region)))
            execute_values(
                cr._obj,
                """
                UPDATE res_partner p SET phone_e164 = v.phone, mobile_e164 = v.mobile
                  FROM (VALUES %s) AS v(id, phone, mobile) WHERE p.id = v.id
                """,
                values,
                template="(%s, %s::varchar, %s::varchar)",
                page_size=1000,
            )
            done += len(rows)
            last_id = rows[-1][0]
            _logger.info("realtor_3cx: E.164 numbers filled for %s partners", done)
        self.invalidate_model(["phone_e164", "mobile_e164"])
        return done

    def action_view_threecx_calls(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("realtor_3cx.threecx_call_action")
        action["domain"] = [("partner_id", "=", self.id)]
        action["context"] = {"default_partner_id": self.id}
        return action

    def action_view_realtor_properties(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "realtor_3cx.realtor_property_action"
        )
        action["domain"] = [
            "|",
            ("owner_ids", "in", self.ids),
            ("interested_partner_ids", "in", self.ids),
        ]
        return action
