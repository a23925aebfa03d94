# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models

from ..tools.phone import to_e164
from .realtor_property import IN_PROGRESS_STATUSES


class ThreecxCallerLookup(models.AbstractModel):
    """Who is calling: the one lookup the worker, the pop-up and the CRM template share.

    The number is normalised to E.164 and compared *exactly* with the indexed E.164 columns of
    partners and of property listing numbers: one index probe, never an ``ilike '%digits'``
    scan. Every match is returned, ranked; several partners sharing a number is reported as
    ``ambiguous`` rather than hidden.
    """

    _name = "threecx.caller.lookup"
    _description = "3CX caller lookup"

    @api.model
    def lookup(self, number, did=None, region=None):
        """Find the contacts and properties behind a phone number.

        :param str number: the caller's (or callee's) number, in any format
        :param str did: the number that was dialled, to find a property's listing line
        :param str region: country code for national numbers; default: the company's country
        :return: ``{"number", "e164", "partners": [{"id", "name", "in_progress",
            "last_call_at", "property_ids"}], "properties": [{"id", "name", "via"}],
            "property_id", "ambiguous"}``; partners are ranked: those with a property in
            progress first, then by their latest call.
        """
        region = region or self.env.company.country_id.code
        e164 = to_e164(number, region)
        did_e164 = to_e164(did, region) if did else None
        result = {
            "number": number,
            "e164": e164,
            "partners": [],
            "properties": [],
            "property_id": False,
            "ambiguous": False,
        }
        Partner = self.env["res.partner"]
        Property = self.env["realtor.property"]
        partners = Partner.browse()
        if e164:
            partners = Partner.search(["|", ("phone_e164", "=", e164), ("mobile_e164", "=", e164)])
        wanted_dids = [n for n in (did_e164, e164) if n]
        did_properties = (
            Property.search([("listing_phone_e164", "in", wanted_dids)]) if wanted_dids else Property
        )
        ranked = self._rank_partners(partners)
        result["partners"] = ranked
        result["ambiguous"] = len(ranked) > 1
        properties = [
            {"id": p.id, "name": p.display_name, "via": "listing_phone"} for p in did_properties
        ]
        seen = set(did_properties.ids)
        for partner in ranked:
            for prop_id in partner["property_ids"]:
                if prop_id not in seen:
                    seen.add(prop_id)
                    properties.append(
                        {"id": prop_id, "name": Property.browse(prop_id).display_name,
                         "via": "contact"}
                    )
        result["properties"] = properties
        if did_properties:
            result["property_id"] = did_properties[0].id
        elif len(ranked) == 1 and len(ranked[0]["in_progress_property_ids"]) == 1:
            # One caller with one deal under way: that is almost surely what the call is about.
            result["property_id"] = ranked[0]["in_progress_property_ids"][0]
        return result

    @api.model
    def _rank_partners(self, partners):
        if not partners:
            return []
        Property = self.env["realtor.property"]
        props = Property.search(
            ["|", ("owner_ids", "in", partners.ids), ("interested_partner_ids", "in", partners.ids)]
        )
        by_partner = {pid: [] for pid in partners.ids}
        in_progress = {pid: [] for pid in partners.ids}
        for prop in props:
            for pid in set((prop.owner_ids | prop.interested_partner_ids).ids) & set(partners.ids):
                by_partner[pid].append(prop.id)
                if prop.listing_status in IN_PROGRESS_STATUSES:
                    in_progress[pid].append(prop.id)
        # sudo: the ranking must not depend on whose calls the current user may read; only a
        # date per partner comes out of it.
        last_call = dict(
            self.env["threecx.call"].sudo()._read_group(
                [("partner_id", "in", partners.ids)], ["partner_id"], ["start_at:max"]
            )
        )
        rows = [
            {
                "id": partner.id,
                "name": partner.display_name,
                "in_progress": bool(in_progress[partner.id]),
                "in_progress_property_ids": in_progress[partner.id],
                "property_ids": by_partner[partner.id],
                # records compare by model and ids, whatever their environment (sudo here)
                "last_call_at": last_call.get(partner) or False,
            }
            for partner in partners
        ]
        rows.sort(
            key=lambda r: (
                not r["in_progress"],
                -(r["last_call_at"].timestamp() if r["last_call_at"] else 0),
                r["id"],
            )
        )
        return rows
