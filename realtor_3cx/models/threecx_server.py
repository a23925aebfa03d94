# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import ipaddress
import logging
import os
from urllib.parse import urlsplit

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import config

from ..threecx import client as threecx_client
from ..tools import SecretBox, SecretDecryptError, SecretKeyError

_logger = logging.getLogger(__name__)

KEY_OPTION = "realtor_3cx_secret_key"
KEY_ENV = "REALTOR_3CX_SECRET_KEY"


def secret_box():
    """The configured :class:`SecretBox`; the key never lives in the database.

    :raises SecretKeyError: when neither ``realtor_3cx_secret_key`` in the Odoo configuration
        file nor ``REALTOR_3CX_SECRET_KEY`` in Odoo's environment holds a valid key.
    """
    return SecretBox(config.get(KEY_OPTION) or os.environ.get(KEY_ENV) or "")


def is_local_host(hostname):
    """True for this machine (where plain http is acceptable: nothing crosses a network)."""
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


class ThreecxServer(models.Model):
    """A 3CX phone system Odoo is connected to.

    Its features are AbstractModels composed here; ``init()`` and ``write()`` are defined in
    this class only.
    """

    _name = "threecx.server"
    _description = "3CX Server"
    _inherit = [
        "threecx.server.recording.mixin",  # threecx_recording.py: the recording policy
        "threecx.server.crm.mixin",  # threecx_server_crm.py: the CRM template and its key
    ]
    _order = "name, id"
    _check_company_auto = True

    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    base_url = fields.Char(
        "3CX URL",
        required=True,
        help="The address of the 3CX web client, e.g. https://brokerage.3cx.us. "
        "https is required, except for a 3CX on this machine (localhost).",
    )
    client_id = fields.Char(
        "API client ID",
        help="The Client ID of the API integration created in the 3CX admin console "
        "(Integrations > API).",
    )
    # Write-only: the value is encrypted into a column the ORM does not know (see init()), the
    # way res.users keeps password hashes, so no read, export or onchange can return it.
    api_secret = fields.Char(
        "API secret",
        compute="_compute_api_secret",
        inverse="_inverse_api_secret",
        groups="base.group_system",
        copy=False,
        help="The API key 3CX showed once when the integration was created. "
        "It is stored encrypted and never shown again; type a new one to replace it.",
    )
    api_secret_set = fields.Boolean("Secret saved", compute="_compute_api_secret_set")
    extension_ids = fields.One2many("threecx.extension", "server_id", "Extensions")
    extension_count = fields.Integer(compute="_compute_extension_count")
    # Health of the live connection, written by the worker.
    connection_state = fields.Selection(
        [
            ("not_connected", "Not connected"),
            ("connecting", "Connecting"),
            ("connected", "Connected"),
            ("error", "Error"),
        ],
        default="not_connected",
        required=True,
        readonly=True,
        copy=False,
    )
    connected_since = fields.Datetime(readonly=True, copy=False)
    threecx_version = fields.Char("3CX version", readonly=True, copy=False)
    last_event_at = fields.Datetime("Last event", readonly=True, copy=False)
    events_per_minute = fields.Integer(readonly=True, copy=False)
    acting_worker = fields.Char(
        "Worker",
        readonly=True,
        copy=False,
        help="The worker process (host:pid) that holds this server's connection. Workers share "
        "the servers out among themselves and take over a stopped one's within seconds.",
    )
    ice_servers = fields.Text(
        "STUN/TURN servers",
        help="For browser calls across networks, one per line: stun:host:port, or "
        "turn:user:password@host:port. None is needed when browsers and the worker share a LAN. "
        "TURN credentials are given to realtors' browsers, which need them to connect.",
    )
    last_error = fields.Text(readonly=True, copy=False)
    # The last *Test connection* (threecx_connection_test.py), for the form.
    last_test_id = fields.Many2one(
        "threecx.connection.test", compute="_compute_last_test", groups="base.group_system"
    )
    test_state = fields.Selection(
        lambda self: self.env["threecx.connection.test"]._fields["state"].selection,
        "Connection test",
        compute="_compute_last_test",
        groups="base.group_system",
    )
    test_done_at = fields.Datetime(
        "Tested", compute="_compute_last_test", groups="base.group_system"
    )
    test_report = fields.Text(
        "Test result", compute="_compute_last_test", groups="base.group_system"
    )
    test_unanswered = fields.Boolean(compute="_compute_last_test", groups="base.group_system")

    def _compute_last_test(self):
        tests = self.env["threecx.connection.test"].sudo()
        for server in self:
            test = tests.search([("server_id", "=", server.id)], limit=1)
            server.last_test_id = test
            server.test_state = test.state
            server.test_done_at = test.done_at
            server.test_report = test.report
            server.test_unanswered = test.unanswered

    def init(self):
        # The secrets' columns, which the ORM does not know: the API secret's (encrypted) and
        # the CRM key's hash (threecx_server_crm.py).
        self.env.cr.execute(
            "ALTER TABLE threecx_server ADD COLUMN IF NOT EXISTS api_secret_enc VARCHAR"
        )
        self._crm_init_key_column()

    @api.model
    def _normalize_vals(self, vals):
        if vals.get("base_url"):
            vals["base_url"] = vals["base_url"].strip().rstrip("/")
        if vals.get("client_id"):
            vals["client_id"] = vals["client_id"].strip()
        return vals

    @api.model_create_multi
    def create(self, vals_list):
        servers = super().create([self._normalize_vals(dict(vals)) for vals in vals_list])
        servers._forget_api_secret()
        return servers

    def write(self, vals):
        res = super().write(self._normalize_vals(dict(vals)))
        if "api_secret" in vals:
            self._forget_api_secret()
        return res

    def _forget_api_secret(self):
        # After the inverse, the cache still holds the plaintext that was written, and
        # web_save / onchange would send it back to the browser: drop it.
        self.invalidate_recordset(["api_secret"])

    @api.constrains("base_url")
    def _check_base_url(self):
        for server in self:
            parts = urlsplit(server.base_url or "")
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValidationError(
                    _(
                        "The 3CX URL %(url)s is not a web address: use the form "
                        "https://yourbrokerage.3cx.us",
                        url=server.base_url,
                    )
                )
            if parts.query or parts.fragment:
                raise ValidationError(
                    _(
                        "The 3CX URL %(url)s must not have a query or a fragment.",
                        url=server.base_url,
                    )
                )
            if parts.scheme == "http" and not is_local_host(parts.hostname):
                raise ValidationError(
                    _(
                        "The 3CX URL %(url)s must use https: the API secret and every call "
                        "would otherwise cross the network in clear. Plain http is only "
                        "accepted for a 3CX on this machine (localhost).",
                        url=server.base_url,
                    )
                )

    def _compute_api_secret(self):
        for server in self:
            server.api_secret = False

    def _inverse_api_secret(self):
        for server in self:
            # An empty value means "unchanged": the form always shows the field empty.
            if server.api_secret and server.api_secret.strip():
                server._store_api_secret(server.api_secret.strip())

    def _secret_context(self):
        # Bound to the ciphertext: a value copied onto another server does not decrypt.
        return f"threecx.server:{self.id}:api_secret"

    def _store_api_secret(self, secret):
        self.ensure_one()
        try:
            token = secret_box().seal(secret, self._secret_context()) if secret else None
        except SecretKeyError as exc:
            raise UserError(
                _(
                    "The 3CX API secret cannot be saved: %(reason)s. An administrator of the "
                    "Odoo server must set %(option)s in the [options] section of the Odoo "
                    "configuration file (or %(env)s in Odoo's environment) and restart Odoo. "
                    "Generate a key with: %(cmd)s",
                    reason=exc,
                    option=KEY_OPTION,
                    env=KEY_ENV,
                    cmd='python3 -c "import base64, os; '
                    'print(base64.urlsafe_b64encode(os.urandom(32)).decode())"',
                )
            ) from None
        self.env.cr.execute(
            "UPDATE threecx_server SET api_secret_enc = %s WHERE id = %s", (token, self.id)
        )
        self.invalidate_recordset(["api_secret_set"])
        _logger.info("3CX API secret of server %s %s", self.id, "saved" if token else "cleared")

    def _get_api_secret(self):
        """The decrypted API secret, for the server-side 3CX client only.

        Private (never callable over RPC) and never to be returned to a browser.

        :raises UserError: when no secret is saved or it cannot be decrypted.
        """
        self.ensure_one()
        self.env.cr.execute("SELECT api_secret_enc FROM threecx_server WHERE id = %s", (self.id,))
        row = self.env.cr.fetchone()
        if not row or not row[0]:
            raise UserError(_("No API secret is saved for the 3CX server %s.", self.name))
        try:
            return secret_box().open(row[0], self._secret_context())
        except (SecretKeyError, SecretDecryptError) as exc:
            raise UserError(
                _(
                    "The API secret of the 3CX server %(name)s cannot be read: %(reason)s.",
                    name=self.name,
                    reason=exc,
                )
            ) from None

    @api.model
    def _demo_save_api_secret(self, server_id, secret):
        """Demo data: save the simulator's key if this Odoo has an encryption key, else say so.

        Demo data must install everywhere, including on a server without the key option.
        """
        server = self.browse(server_id)
        try:
            server._store_api_secret(secret)
        except UserError:
            _logger.warning(
                "demo: the 3CX simulator's API secret was not saved: set %s to enable it",
                KEY_OPTION,
            )

    def _compute_api_secret_set(self):
        saved = set()
        if self.ids:
            self.env.cr.execute(
                "SELECT id FROM threecx_server WHERE id IN %s AND api_secret_enc IS NOT NULL",
                (tuple(self.ids),),
            )
            saved = {row[0] for row in self.env.cr.fetchall()}
        for server in self:
            server.api_secret_set = server.id in saved

    @api.depends("extension_ids")
    def _compute_extension_count(self):
        counts = dict(
            self.env["threecx.extension"]._read_group(
                [("server_id", "in", self.ids)], ["server_id"], ["__count"]
            )
        )
        for server in self:
            server.extension_count = counts.get(server, 0)

    def action_clear_api_secret(self):
        self.ensure_one()
        if not self.env.user.has_group("base.group_system"):
            raise AccessError(_("Only an administrator can clear the 3CX API secret."))
        self._store_api_secret(None)

    def action_view_extensions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "realtor_3cx.threecx_extension_action"
        )
        action["domain"] = [("server_id", "=", self.id)]
        action["context"] = {"default_server_id": self.id}
        return action

    def action_test_connection(self):
        """Ask the worker to test the connection; its report comes back on the bus.

        The worker tests with the session it holds (no new token, nothing cut); when 3CX
        refused it, it mints one for the test, since nobody else holds one then
        (threecx_connection_test.py).
        """
        self.ensure_one()
        if not self.env.user.has_group("base.group_system"):
            raise AccessError(_("Only an administrator can test the 3CX connection."))
        if not self.client_id:
            raise UserError(_("Enter the API client ID first."))
        if not self.api_secret_set:
            raise UserError(_("Enter the API secret first."))
        if not self.active:
            raise UserError(_("Restore the archived server before testing it."))
        return self.env["threecx.connection.test"]._request(self)

    def _problem_message(self, problem):
        url = self.base_url
        detail = problem.detail
        messages = {
            threecx_client.CREDENTIALS: _(
                "3CX refused the API client ID or secret. In 3CX, open Integrations > API and "
                "check the Client ID; the API key is shown only once, so generate a new one "
                "if in doubt and paste it here."
            ),
            threecx_client.NO_CALL_CONTROL: _(
                "The integration may not use the Call Control API (%(detail)s). In 3CX, edit "
                "it under Integrations > API, tick \"3CX Call Control API Access\" and add "
                "the extensions to monitor.",
                detail=detail,
            ),
            threecx_client.NO_XAPI: _(
                "The integration may not use the Configuration API (%(detail)s). In 3CX, edit "
                "it under Integrations > API and tick \"3CX Configuration API Access\".",
                detail=detail,
            ),
            threecx_client.UNREACHABLE: _(
                "The worker cannot reach %(url)s (%(detail)s). Check the address and port, and "
                "that the machine running the worker may connect to it through the firewall.",
                url=url,
                detail=detail,
            ),
            threecx_client.CERTIFICATE: _(
                "The certificate of %(url)s is not trusted (%(detail)s). Use the 3CX FQDN "
                "with its public certificate, or install the PBX's certificate authority on "
                "the worker's machine.",
                url=url,
                detail=detail,
            ),
            threecx_client.SERVER_ERROR: _(
                "3CX answered with a server error (%(detail)s). Try again in a minute; if it "
                "persists, check the 3CX services.",
                detail=detail,
            ),
        }
        return messages.get(
            problem.code, _("3CX gave an unexpected answer: %(detail)s", detail=detail)
        )

    def _ice_servers(self):
        """``ice_servers`` as RTCIceServer dicts (the browser's and aiortc's shape)."""
        self.ensure_one()
        servers = []
        for line in (self.ice_servers or "").splitlines():
            line = line.strip()
            if not line:
                continue
            scheme, _sep, rest = line.partition(":")
            if scheme in ("turn", "turns") and "@" in rest:
                credentials, _at, host = rest.rpartition("@")
                username, _colon, password = credentials.partition(":")
                servers.append(
                    {"urls": f"{scheme}:{host}", "username": username, "credential": password}
                )
            else:
                servers.append({"urls": line})
        return servers

    @api.constrains("ice_servers")
    def _check_ice_servers(self):
        for server in self:
            for line in (server.ice_servers or "").splitlines():
                if line.strip() and not line.strip().startswith(("stun:", "turn:", "turns:")):
                    raise ValidationError(
                        _(
                            "%(line)s is not a STUN or TURN server: write stun:host:port or "
                            "turn:user:password@host:port, one per line.",
                            line=line.strip(),
                        )
                    )
