# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The CRM-template API key of a 3CX server, and the template to upload into 3CX.

The key is 32 random bytes (url-safe base64). Only an HMAC-SHA-256 of it is stored, keyed with
the database's ``database.secret`` and bound to the server id: a copied database row is useless
on another server or database, and a leaked hash cannot be replayed as a key. As with the 3CX
API secret, the hash lives in a column the ORM does not know (see ``_crm_init_key_column()``),
so no read, export or onchange can return it. The key is shown once, the way Odoo shows its own
API keys: in a dialog whose only copy of it is the action's context.
"""

import hashlib
import hmac
import logging
import secrets

import odoo
from odoo import _, api, fields, models
from odoo.exceptions import AccessError
from odoo.http import db_filter
from odoo.service.db import list_dbs
from odoo.tools import config

from ..threecx.crm_template import endpoint_url, render_template
from ..tools.rate_limit import SharedRateLimiter

_logger = logging.getLogger(__name__)

KEY_BYTES = 32
ADDON = "realtor_3cx"


class ThreecxServerCrmMixin(models.AbstractModel):
    """A 3CX server's CRM-template key and template (composed on ``threecx.server``)."""

    _name = "threecx.server.crm.mixin"
    _description = "3CX Server: CRM template"

    crm_key_set = fields.Boolean("CRM API key set", compute="_compute_crm_key_set")
    crm_key_created_at = fields.Datetime("CRM API key created", readonly=True, copy=False)
    crm_endpoint = fields.Char("CRM endpoint", compute="_compute_crm_endpoint")
    crm_needs_server_wide = fields.Boolean(
        "CRM template needs the addon server-wide", compute="_compute_crm_needs_server_wide"
    )

    def _crm_init_key_column(self):
        # Called by threecx.server's init(): the abstract mixin has no table of its own.
        self.env.cr.execute(
            "ALTER TABLE threecx_server ADD COLUMN IF NOT EXISTS crm_key_hash VARCHAR"
        )
        # The CRM endpoints' rate-limit buckets, shared by all HTTP workers (no ORM model:
        # one UPSERT per request, see tools/rate_limit.py).
        SharedRateLimiter.create_table(self.env.cr)

    def _compute_crm_key_set(self):
        with_key = set()
        if self.ids:
            self.env.cr.execute(
                "SELECT id FROM threecx_server WHERE id IN %s AND crm_key_hash IS NOT NULL",
                (tuple(self.ids),),
            )
            with_key = {row[0] for row in self.env.cr.fetchall()}
        for server in self:
            server.crm_key_set = server.id in with_key

    def _compute_crm_endpoint(self):
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        for server in self:
            server.crm_endpoint = (
                endpoint_url(base_url, server.id, self.env.cr.dbname) if server.id else False
            )

    def _compute_crm_needs_server_wide(self):
        # 3CX sends no cookie: with several databases and no host-based dbfilter Odoo finds no
        # database for its requests, and only server-wide modules' routes answer those
        # (controllers/crm_template.py).
        needs = False
        if ADDON not in odoo.conf.server_wide_modules and not any(
            part in (config["dbfilter"] or "") for part in ("%h", "%d")
        ):
            needs = len(db_filter(list_dbs(force=True), host="")) > 1
        for server in self:
            server.crm_needs_server_wide = needs

    def _crm_key_digest(self, key):
        self.ensure_one()
        pepper = self.env["ir.config_parameter"].sudo().get_param("database.secret", "")
        message = f"threecx.server:{self.id}:crm_key:{key}".encode()
        return hmac.new(pepper.encode(), message, hashlib.sha256).hexdigest()

    def _crm_check_key(self, key):
        """Whether ``key`` is this server's CRM key (constant-time comparison)."""
        self.ensure_one()
        self.env.cr.execute("SELECT crm_key_hash FROM threecx_server WHERE id = %s", (self.id,))
        row = self.env.cr.fetchone()
        stored = row[0] if row else None
        # Hash whatever came, even with no key stored, so timing tells nothing either way.
        candidate = self._crm_key_digest(key or "")
        return bool(stored) and bool(key) and hmac.compare_digest(stored, candidate)

    def _crm_set_key(self, key):
        self.ensure_one()
        digest = self._crm_key_digest(key) if key else None
        self.env.cr.execute(
            "UPDATE threecx_server SET crm_key_hash = %s WHERE id = %s", (digest, self.id)
        )
        self.crm_key_created_at = fields.Datetime.now() if key else False
        self.invalidate_recordset(["crm_key_set"])
        _logger.info("CRM API key of 3CX server %s %s", self.id, "set" if key else "revoked")

    def _check_crm_admin(self):
        if not self.env.user.has_group("base.group_system"):
            raise AccessError(_("Only an administrator can manage the 3CX CRM template."))

    def action_generate_crm_key(self):
        """A new key (the previous one stops working at once), shown once in a dialog."""
        self.ensure_one()
        self._check_crm_admin()
        key = secrets.token_urlsafe(KEY_BYTES)
        self._crm_set_key(key)
        return {
            "type": "ir.actions.act_window",
            "res_model": "threecx.crm.key.show",
            "name": _("CRM API key"),
            "views": [(False, "form")],
            "target": "new",
            "context": {"default_key": key, "default_endpoint": self.crm_endpoint},
        }

    def action_revoke_crm_key(self):
        self.ensure_one()
        self._check_crm_admin()
        self._crm_set_key(None)

    def action_download_crm_template(self):
        self.ensure_one()
        self._check_crm_admin()
        return {
            "type": "ir.actions.act_url",
            "url": f"/realtor_3cx/crm/{self.id}/template.xml",
            "target": "download",
        }

    def _crm_template(self):
        """The template for this server and database (bytes): its URLs name the database."""
        self.ensure_one()
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        return render_template(base_url, self.id, self.name, database=self.env.cr.dbname)


class ThreecxCrmKeyShow(models.AbstractModel):
    """The dialog that shows a new CRM key once (after ``res.users.apikeys.show``).

    Abstract: nothing is stored, the key exists only in the action that opened the dialog.
    """

    _name = "threecx.crm.key.show"
    _description = "Show the 3CX CRM API key"

    # The field 'id' is necessary for the onchange that returns the value of 'key'.
    id = fields.Id()
    key = fields.Char(readonly=True)
    endpoint = fields.Char(readonly=True)

    @api.model
    def action_close(self):
        return {"type": "ir.actions.act_window_close"}
