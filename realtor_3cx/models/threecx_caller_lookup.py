# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models
from odoo.tools import SQL, ormcache

from ..tools.phone import to_e164
from .realtor_property import IN_PROGRESS_STATUSES

# The lookup the worker makes on every ringing call, as superuser: the statement _query builds
# through the ORM for a superuser (no record rules; archived records left out), kept as a
# PL/pgSQL function because PostgreSQL then plans it once per connection. Planning the
# statement was most of the lookup's time, more than the index probes themselves. ``company``
# keeps to what that company may see (partners of no company or of it, its properties), as
# the multi-company rules would; NULL: every company (the caller applies the user's rules).
SUPERUSER_LOOKUP = """
DROP FUNCTION IF EXISTS realtor_3cx_caller_lookup(text, text[]);
CREATE OR REPLACE FUNCTION realtor_3cx_caller_lookup(e164 text, dids text[], company integer)
RETURNS TABLE (kind text, rec_id integer, name varchar, reference varchar,
               last_call_at timestamp, has_properties boolean)
LANGUAGE plpgsql STABLE ROWS 4 AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT 'partner'::text, p.id, p.complete_name::varchar, NULL::varchar,
           (SELECT max(c.start_at) FROM threecx_call c WHERE c.partner_id = p.id),
           EXISTS (SELECT 1 FROM realtor_property_owner_rel o WHERE o.partner_id = p.id)
           OR EXISTS (SELECT 1 FROM realtor_property_interest_rel i WHERE i.partner_id = p.id)
      FROM res_partner p
     WHERE p.active AND (p.phone_e164 = e164 OR p.mobile_e164 = e164)
       AND (company IS NULL OR p.company_id IS NULL OR p.company_id = company)
    UNION ALL
    SELECT 'property'::text, rp.id, rp.name::varchar, rp.reference::varchar,
           NULL::timestamp, NULL::boolean
      FROM realtor_property rp
     WHERE rp.active AND rp.listing_phone_e164 = ANY (dids)
       AND (company IS NULL OR rp.company_id = company);
END
$$
"""


class ThreecxCallerLookup(models.AbstractModel):
    """Who is calling: the one lookup the worker, the pop-up and the CRM template share.

    The number is normalised to E.164 and compared *exactly* with the indexed E.164 columns of
    partners and of property listing numbers: one index probe, never an ``ilike '%digits'``
    scan. Every match is returned, ranked; several partners sharing a number is reported as
    ``ambiguous`` rather than hidden.

    It sits on the path of every ringing call, so it is one statement for the usual caller
    (index probe, last call, whether they have properties) and a second only for callers
    linked to properties (the company's country is cached). The record rules of the current
    user still apply, to the few records the index probe found, in the same statement (see
    :meth:`_visible_rows`). As superuser (the worker, the CRM template), which no rule
    restricts, it keeps to the current company: partners of no company or of that one, and
    that company's properties, numbers read in its country.
    """

    _name = "threecx.caller.lookup"
    _description = "3CX caller lookup"

    def init(self):
        self.env.cr.execute(SUPERUSER_LOOKUP)

    @api.model
    def lookup(self, number, did=None, region=None, every_company=False):
        """Find the contacts and properties behind a phone number.

        :param str number: the caller's (or callee's) number, in any format
        :param str did: the number that was dialled, to find a property's listing line
        :param str region: country code for national numbers; default: the company's country
        :param bool every_company: as superuser, every company's records (the do-not-call
            check protects a contact whatever company they are in)
        :return: ``{"number", "e164", "partners": [{"id", "name", "in_progress",
            "in_progress_property_ids", "property_ids", "owner_property_ids",
            "last_call_at"}], "properties":
            [{"id", "name", "via"}], "property_id", "ambiguous"}``. Partners are ranked: those
            with a property in progress first, then the most recently called.
        """
        region = region or self._company_region()
        e164 = to_e164(number, region)
        result = {
            "number": number,
            "e164": e164,
            "partners": [],
            "properties": [],
            "property_id": False,
            "ambiguous": False,
        }
        wanted_dids = [n for n in {to_e164(did, region) if did else None, e164} if n]
        if not wanted_dids:
            return result
        if every_company:
            self = self.with_context(realtor_3cx_every_company=True)
        partners, did_properties = self._query(e164, wanted_dids)
        result["partners"] = partners
        result["ambiguous"] = len(partners) > 1
        properties = [dict(prop, via="listing_phone") for prop in did_properties]
        seen = {prop["id"] for prop in properties}
        for partner in partners:
            for prop in partner.pop("properties"):
                if prop["id"] not in seen:
                    seen.add(prop["id"])
                    properties.append(dict(prop, via="contact"))
        result["properties"] = properties
        if did_properties:
            result["property_id"] = did_properties[0]["id"]
        elif len(partners) == 1 and len(partners[0]["in_progress_property_ids"]) == 1:
            # One caller with one deal under way: that is almost surely what the call is about.
            result["property_id"] = partners[0]["in_progress_property_ids"][0]
        return result

    @api.model
    def _company_region(self):
        return self._region_of_company(self.env.company.id)

    @api.model
    @ormcache("company_id")
    def _region_of_company(self, company_id):
        # Cached: it is asked on every ringing call. res.partner.write() clears the cache when
        # a company's address changes country. Read through the ORM, which sees a change not
        # yet flushed to the database.
        return self.env["res.company"].sudo().browse(company_id).country_id.code

    @api.model
    def _query(self, e164, dids):
        """Partners and listing numbers in one index probe; ranking data only for matches."""
        if not self.env.context.get("active_test", True):
            # Archived records wanted: the function leaves them out, the ORM's statement not.
            self._query_orm(e164, dids)
            return self._rank(self.env.cr.fetchall())
        # The same statement, planned once per connection (the function leaves archived
        # records out, as the ORM's "active" does).
        lookup = SQL("SELECT f.* FROM realtor_3cx_caller_lookup(%s, %s, %s) f", e164, dids,
                     self._su_company())
        if not self.env.su:
            lookup = SQL("%s WHERE %s", lookup, self._visible_rows(e164))
        self.env.flush_all()
        self.env.cr.execute(lookup)
        return self._rank(self.env.cr.fetchall())

    @api.model
    def _visible_rows(self, e164):
        """The condition on the function's rows (``f``) that keeps those the current user may
        read: for each row, the ORM's own query of its model with the user's record rules
        (and access rights, checked as it is built), restricted to that row's id.

        The rules are the same as in a search of the whole table, but they are asked about
        the few candidates the index found (a primary-key probe each, none for an unknown
        caller), in the same statement: one round trip, and little for PostgreSQL to plan
        beside the function's own plan, which it keeps.
        """
        checks = []
        for kind, model, asked in (("partner", "res.partner", e164),
                                   ("property", "realtor.property", True)):
            if not asked:  # no number: the function returns no partner (and no right asked)
                continue
            query = self.env[model]._search([])
            query.add_where(SQL("%s = f.rec_id", SQL.identifier(query.table, "id")))
            checks.append(SQL("(f.kind = %s AND EXISTS (%s))", kind, query.select(SQL("1"))))
        return SQL("(%s)", SQL(" OR ").join(checks))

    @api.model
    def _su_company(self):
        """The company a superuser's lookup keeps to, or None (a user's rules say it)."""
        if not self.env.su or self.env.context.get("realtor_3cx_every_company"):
            return None
        return self.env.company.id

    @api.model
    def _su_company_domain(self, shared):
        """As superuser, the current company's records (and, ``shared``, those of none)."""
        company = self._su_company()
        if company is None:
            return []
        if shared:
            return [("company_id", "in", [False, company])]
        return [("company_id", "=", company)]

    @api.model
    def _query_orm(self, e164, dids):
        # The ORM builds each branch, with the current user's record rules and "active";
        # selecting from its queries directly (no "id IN (sub-query)") keeps the statement
        # cheap to plan, and planning is most of its cost.
        properties = self.env["realtor.property"]._search(
            [("listing_phone_e164", "in", dids)] + self._su_company_domain(False)
        )
        prop = SQL.identifier(properties.table)
        branches = [
            properties.select(
                SQL("'property'"), SQL("%s.id", prop), SQL("%s.name", prop),
                SQL("%s.reference", prop), SQL("NULL::timestamp"), SQL("NULL::boolean"),
            )
        ]
        if e164:
            partners = self.env["res.partner"]._search(
                ["|", ("phone_e164", "=", e164), ("mobile_e164", "=", e164)]
                + self._su_company_domain(True)
            )
            p = SQL.identifier(partners.table)
            branches.insert(0, partners.select(
                SQL("'partner'"), SQL("%s.id", p), SQL("%s.complete_name", p), SQL("NULL"),
                SQL("(SELECT max(c.start_at) FROM threecx_call c WHERE c.partner_id = %s.id)",
                    p),
                SQL(
                    """EXISTS (SELECT 1 FROM realtor_property_owner_rel o
                                WHERE o.partner_id = %s.id)
                       OR EXISTS (SELECT 1 FROM realtor_property_interest_rel i
                                   WHERE i.partner_id = %s.id)""",
                    p, p,
                ),
            ))
        self.env.flush_all()
        self.env.cr.execute(SQL(" UNION ALL ").join(branches))

    @api.model
    def _rank(self, rows):
        """The rows of either statement, with properties and ranking."""
        # The last call is any realtor's: the ranking must not depend on whose calls the
        # current user may read (only a date comes out of it).
        partners, did_properties, with_properties = {}, [], []
        for kind, rec_id, name, reference, last_call_at, has_properties in rows:
            if kind == "property":
                did_properties.append({"id": rec_id, "name": self._property_name(reference, name)})
                continue
            partners[rec_id] = {
                "id": rec_id,
                "name": name,
                "in_progress": False,
                "in_progress_property_ids": [],
                "property_ids": [],
                "owner_property_ids": [],
                "last_call_at": last_call_at or False,
                "properties": [],
            }
            if has_properties:
                with_properties.append(rec_id)
        if with_properties:
            # Most callers are linked to no property: this second statement is the exception.
            visible = self.env["realtor.property"]._search(
                self._su_company_domain(False)
            ).subselect()
            self._add_properties(partners, with_properties, visible)
        for partner in partners.values():
            partner["property_ids"].sort()
            partner["owner_property_ids"].sort()
            partner["in_progress_property_ids"].sort()
            partner["properties"].sort(key=lambda p: p["id"])
        ranked = sorted(
            partners.values(),
            key=lambda p: (
                not p["in_progress"],
                -(p["last_call_at"].timestamp() if p["last_call_at"] else 0),
                p["id"],
            ),
        )
        return ranked, sorted(did_properties, key=lambda p: p["id"])

    @api.model
    def _add_properties(self, partners, ids, visible_properties):
        """The visible properties each of ``ids`` owns or is interested in."""
        self.env.cr.execute(
            SQL(
                """
                SELECT r.partner_id, rp.id, rp.reference, rp.name,
                       rp.listing_status IN %(in_progress)s, bool_or(r.owner)
                  FROM (SELECT partner_id, property_id, TRUE AS owner
                          FROM realtor_property_owner_rel
                         WHERE partner_id = ANY(%(ids)s)
                         UNION ALL
                        SELECT partner_id, property_id, FALSE
                          FROM realtor_property_interest_rel
                         WHERE partner_id = ANY(%(ids)s)) r
                  JOIN realtor_property rp ON rp.id = r.property_id
                 WHERE rp.id IN %(visible)s
              GROUP BY r.partner_id, rp.id
                """,
                in_progress=IN_PROGRESS_STATUSES,
                ids=ids,
                visible=visible_properties,
            )
        )
        for partner_id, prop_id, reference, name, in_progress, owner in self.env.cr.fetchall():
            partner = partners[partner_id]
            partner["property_ids"].append(prop_id)
            if owner:
                # The pop-up says "Owner of ...", not "Called the listing line of ...".
                partner["owner_property_ids"].append(prop_id)
            partner["properties"].append(
                {"id": prop_id, "name": self._property_name(reference, name)}
            )
            if in_progress:
                partner["in_progress"] = True
                partner["in_progress_property_ids"].append(prop_id)

    @staticmethod
    def _property_name(reference, name):
        # The same text as realtor.property's display_name, without loading the records.
        return f"[{reference}] {name}" if reference else name
