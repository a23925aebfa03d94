# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The endpoints 3CX's server-side CRM template calls (see ``threecx/crm_template.py``).

3CX calls these itself, with no Odoo session: every one requires the server's CRM API key in
the ``X-Api-Key`` header, checked before anything else is read or written. Answers are JSON;
errors are ``{"error": {"code", "message"}}`` with 401 (missing or wrong key), 404 (no such
server or database), 400 (a malformed request), 405 (wrong method) or 429 (over the rate
limit, with ``Retry-After``). A rejected request writes nothing but its count.

The database
    The URLs name it: ``/realtor_3cx/crm/<database>/<server id>/...``. 3CX sends no cookie, so
    when one Odoo serves several databases and no host-based ``dbfilter`` picks one, Odoo
    finds none for the request and matches it against its database-free routes, those of the
    server-wide modules: with ``realtor_3cx`` among them (``--load=base,web,realtor_3cx``) the
    route below is one, and it serves the request in the database it names (if the dbfilter
    allows it) the way Odoo serves any request of a database (``_serve_db``: registry, route,
    transaction, retries). When Odoo did pick a database (one database, or a dbfilter), the
    URL must name that one. The older URLs without a database still work there.

Rate limits (shared by all of the database's HTTP workers, kept in PostgreSQL; see
``tools/rate_limit.py``)
    A key may make ``realtor_3cx.crm_rate_limit`` requests a minute (default 1200), in bursts
    of three seconds' worth. Requests with a wrong or missing key (or for no such server) are
    counted per remote address, 10 a minute, in a bucket of their own: a burst of wrong keys
    from an address is refused (429) without ever making the right key wait. Keys are 256
    random bits, so this is about load and noise, not guessing. The address is
    ``remote_addr``: behind a proxy, Odoo sets it from ``X-Forwarded-For`` only with
    ``proxy_mode`` (and the proxy's ``X-Forwarded-Host``); the header itself is never read.

Once the key is checked the ORM runs as superuser, in the server's company, and only for the
few reads and writes below: the key is the authority, as a user's API key would be.
"""

import json
import logging

from werkzeug.exceptions import Forbidden

from odoo import _, http
from odoo.exceptions import UserError, ValidationError
from odoo.http import content_disposition, request

from ..models.threecx_call_crm import ReportError
from ..threecx.crm_template import API_KEY_HEADER
from ..tools.phone import to_e164
from ..tools.rate_limit import SharedRateLimiter

_logger = logging.getLogger(__name__)

OLD_ROUTE = "/realtor_3cx/crm/<int:server_id>"  # templates made before URLs named the database
ROUTE = "/realtor_3cx/crm/<string:db>/<int:server_id>"
MAX_BODY = 64 * 1024  # a ReportCall with a transcription is a few kB
MAX_TEXT = 4000
SEARCH_LIMIT = 20
DEFAULT_RATE = 1200  # requests a minute per key: a large PBX looks up every call
BURST_SECONDS = 3  # a key's bucket holds this many seconds of its rate (at least one)
BAD_KEY_RATE = 10  # failed attempts a minute per remote address
# Where a request's verdict is kept: Odoo runs a request again after a serialization failure,
# and the second run must not take a second token.
VERDICT = "realtor_3cx.crm_rate_verdict"

_limiter = SharedRateLimiter()


def reset_rate_limits(cr):
    """Forget every bucket of ``cr``'s database (tests, or an admin after changing the rate)."""
    _limiter.reset(cr)


def key_burst(rate):
    return max(1, rate * BURST_SECONDS // 60)


class CrmRequestError(Exception):
    """A refused request. ``failure``: counted against the remote address (no right key)."""

    def __init__(self, status, code, message, retry_after=None, failure=False):
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after, self.failure = (
            status, code, message, retry_after, failure
        )


def _error(status, code, message, retry_after=None):
    headers = [("Retry-After", str(max(1, int(retry_after + 0.999))))] if retry_after else []
    return request.make_json_response(
        {"error": {"code": code, "message": message}}, headers=headers, status=status
    )


def _routes(name):
    return [f"{ROUTE}/{name}", f"{OLD_ROUTE}/{name}"]


class CrmTemplateController(http.Controller):
    # -- the endpoints ---------------------------------------------------------------------------
    # auth="none": the only kind of route Odoo serves to a request for which it found no
    # database (see the module's docstring); _serve() then acts as the public user. Not
    # readonly (auth="none"'s default): the handlers write, and so does the limiter.

    @http.route(_routes("lookup"), type="http", auth="none", methods=["GET"], csrf=False,
                save_session=False, readonly=False)
    def lookup(self, server_id, db=None, **kwargs):
        """Contact lookup by number (Scenario ""): ``?number=&direction=``."""
        return self._serve(db, server_id, self._lookup)

    @http.route(_routes("search"), type="http", auth="none", methods=["GET"], csrf=False,
                save_session=False, readonly=False)
    def search(self, server_id, db=None, **kwargs):
        """Free-text contact search (SearchContacts): ``?q=``."""
        return self._serve(db, server_id, self._search)

    @http.route(_routes("email"), type="http", auth="none", methods=["POST"], csrf=False,
                save_session=False, readonly=False)
    def email(self, server_id, db=None, **kwargs):
        """Contact lookup by e-mail (LookupByEmail): ``{"email"}``."""
        return self._serve(db, server_id, self._email)

    @http.route(_routes("contact"), type="http", auth="none", methods=["POST"], csrf=False,
                save_session=False, readonly=False)
    def contact(self, server_id, db=None, **kwargs):
        """Contact creation from the 3CX client (CreateContactRecordFromClient)."""
        return self._serve(db, server_id, self._create_contact)

    @http.route(_routes("report_call"), type="http", auth="none", methods=["POST"],
                csrf=False, save_session=False, readonly=False)
    def report_call(self, server_id, db=None, **kwargs):
        """Call journaling (ReportCall): creates or completes the ``threecx.call``."""
        return self._serve(db, server_id, self._report_call)

    @http.route(f"{OLD_ROUTE}/template.xml", type="http", auth="user", methods=["GET"])
    def template(self, server_id, **kwargs):
        """The CRM template to upload into 3CX: administrators only."""
        if not request.env.user.has_group("base.group_system"):
            raise Forbidden(_("Only an administrator can download the 3CX CRM template."))
        server = request.env["threecx.server"].browse(server_id).exists()
        if not server:
            return request.not_found()
        return request.make_response(
            server._crm_template(),
            headers=[
                ("Content-Type", "application/xml; charset=utf-8"),
                ("Content-Disposition", content_disposition(f"odoo-3cx-crm-{server.id}.xml")),
            ],
        )

    # -- the database ---------------------------------------------------------------------------

    def _serve_database(self, db):
        """Serve this request in database ``db``, which Odoo did not choose for it."""
        if request.db:
            # Odoo chose another one (the only database, or the dbfilter's for this host).
            return _error(404, "unknown_database", f"This address does not serve database {db!r}.")
        if db not in http.db_list(force=True):  # what the dbfilter lets this host reach
            return _error(404, "unknown_database", f"No database {db!r} here.")
        request.db = db
        # Odoo's own path for a request of a database: registry, the route matched again in
        # that database (this one, now with request.db set), transaction and retries.
        return request._serve_db()

    # -- authentication, limits, errors ---------------------------------------------------------

    def _serve(self, db, server_id, handler):
        if db is not None and db != request.db:
            return self._serve_database(db)
        if not request.db:
            return _error(
                404, "unknown_database",
                "This Odoo serves several databases and the URL names none: download the "
                "CRM template from the 3CX server form again (its URLs name the database).",
            )
        request.env["ir.http"]._auth_method_public()
        address = request.httprequest.remote_addr or ""
        try:
            server = self._authenticate(server_id)
            return request.make_json_response(handler(server))
        except (UserError, ValidationError) as exc:
            # Data the ORM refuses (e.g. a constraint): the request's fault, not the server's.
            request.env.cr.rollback()
            return _error(400, "rejected", exc.args[0] if exc.args else str(exc))
        except CrmRequestError as exc:
            # Nothing of a refused request may stay: handlers validate before writing, and
            # this undoes anything a failure midway did.
            request.env.cr.rollback()
            if exc.failure:
                wait = self._take("address", address, BAD_KEY_RATE)
                if wait:
                    exc = CrmRequestError(
                        429, "rate_limited",
                        "Too many requests with a wrong API key from this address: wait.", wait,
                    )
            if exc.status >= 401:
                _logger.info("3CX CRM request refused (%s %s) for server %s from %s",
                             exc.status, exc.code, server_id, address)
            return _error(exc.status, exc.code, exc.message, exc.retry_after)

    def _authenticate(self, server_id):
        # The key is judged first, and only a wrong one is counted against the address: the
        # right key never waits for what others sent from there.
        key = request.httprequest.headers.get(API_KEY_HEADER, "")
        server = request.env["threecx.server"].sudo().browse(server_id).exists()
        if not server or not server.active:
            raise CrmRequestError(404, "unknown_server", f"No active 3CX server {server_id}.",
                                  failure=True)
        if not key:
            raise CrmRequestError(
                401, "missing_key",
                f"Send the server's CRM API key in the {API_KEY_HEADER} header.", failure=True,
            )
        if len(key) > 256 or not server._crm_check_key(key):
            raise CrmRequestError(
                401, "invalid_key",
                "The CRM API key is wrong, or was replaced: generate a new one on the 3CX "
                "server form in Odoo and paste it into the CRM template's settings in 3CX.",
                failure=True,
            )
        rate = self._rate(server)
        wait = self._take("key", server.id, rate, key_burst(rate))
        if wait:
            raise CrmRequestError(
                429, "rate_limited", f"More than {rate} requests a minute with this key.", wait
            )
        return server.with_company(server.company_id)

    def _take(self, kind, name, rate, burst=None):
        """A token of bucket ``kind:name``, in a transaction of its own (see the limiter)."""
        bucket = f"{kind}:{name}"
        verdicts = request.httprequest.environ.setdefault(VERDICT, {})
        if bucket not in verdicts:
            with request.env.registry.cursor() as cr:
                verdicts[bucket] = _limiter.hit(cr, bucket, rate, burst)
        return verdicts[bucket]

    def _rate(self, server):
        raw = server.env["ir.config_parameter"].get_param("realtor_3cx.crm_rate_limit")
        try:
            return max(1, int(raw)) if raw else DEFAULT_RATE
        except ValueError:
            return DEFAULT_RATE

    # -- input ----------------------------------------------------------------------------------

    def _arg(self, name, required=False, max_length=256):
        value = request.httprequest.args.get(name, "")
        return self._text(name, value, required, max_length)

    def _text(self, name, value, required=False, max_length=256):
        if value is None:
            value = ""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise CrmRequestError(400, "malformed", f"{name} must be text.")
        value = value.strip()
        if "\x00" in value:
            # PostgreSQL refuses NUL in text: say so rather than fail in the database.
            raise CrmRequestError(400, "malformed", f"{name} contains a NUL character.")
        if required and not value:
            raise CrmRequestError(400, "malformed", f"{name} is required.")
        if len(value) > max_length:
            raise CrmRequestError(400, "malformed", f"{name} is longer than {max_length}.")
        return value

    def _json_body(self):
        length = request.httprequest.content_length
        if length is not None and length > MAX_BODY:
            raise CrmRequestError(400, "malformed", f"The body is larger than {MAX_BODY} bytes.")
        # Cached: when the worker updates the same call at the same moment, PostgreSQL refuses
        # one transaction and Odoo replays the request, which must find its body again.
        raw = request.httprequest.get_data(cache=True)
        if len(raw) > MAX_BODY:
            raise CrmRequestError(400, "malformed", f"The body is larger than {MAX_BODY} bytes.")
        try:
            body = json.loads(raw.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise CrmRequestError(400, "malformed", "The body is not JSON.") from None
        if not isinstance(body, dict):
            raise CrmRequestError(400, "malformed", "The body must be a JSON object.")
        return body

    # -- handlers -------------------------------------------------------------------------------

    def _lookup(self, server):
        number = self._arg("number", required=True, max_length=64)
        direction = self._arg("direction", max_length=32).lower()
        match = server.env["threecx.caller.lookup"].lookup(number)
        partners = self._visible(server, [p["id"] for p in match["partners"]])
        # 3CX may not say whether it is looking up for an outbound call; a call-time warning
        # on an inbound caller is harmless, a missing one on an outbound call is not.
        outbound = not direction.startswith("in")
        return {"contacts": [self._contact(server, p, number, outbound) for p in partners]}

    def _search(self, server):
        text = self._arg("q", required=True, max_length=100)
        if len(text) < 2:
            raise CrmRequestError(400, "malformed", "q needs at least 2 characters.")
        domain = ["|", ("name", "ilike", text), ("email", "ilike", text)]
        e164 = to_e164(text, server.company_id.country_id.code)
        if e164:
            domain = ["|", "|", ("phone_e164", "=", e164), ("mobile_e164", "=", e164)] + domain
        partners = server.env["res.partner"].search(
            domain + self._company_domain(server), limit=SEARCH_LIMIT, order="name, id"
        )
        return {"contacts": [self._contact(server, p, "", outbound=True) for p in partners]}

    def _email(self, server):
        body = self._json_body()
        email = self._text("email", body.get("email"), required=True)
        if "@" not in email:
            raise CrmRequestError(400, "malformed", "email is not an e-mail address.")
        partners = server.env["res.partner"].search(
            [("email", "=ilike", email)] + self._company_domain(server), limit=SEARCH_LIMIT,
            order="id",
        )
        return {"contacts": [self._contact(server, p, "", outbound=True) for p in partners]}

    def _create_contact(self, server):
        body = self._json_body()
        first = self._text("first_name", body.get("first_name"), max_length=128)
        last = self._text("last_name", body.get("last_name"), max_length=128)
        email = self._text("email", body.get("email"))
        number = self._text("number", body.get("number"), max_length=64)
        agent = self._text("agent", body.get("agent"), max_length=32)
        if email and "@" not in email:
            raise CrmRequestError(400, "malformed", "email is not an e-mail address.")
        e164 = to_e164(number, server.company_id.country_id.code) if number else None
        if number and not e164:
            raise CrmRequestError(400, "malformed", f"number {number!r} is not a phone number.")
        name = " ".join(filter(None, (first, last))) or email or e164
        if not name:
            raise CrmRequestError(400, "malformed", "Give a name, an e-mail or a number.")
        Partner = server.env["res.partner"]
        # The 3CX user may not have seen that the contact exists: never make a duplicate.
        existing = Partner
        if e164:
            match = server.env["threecx.caller.lookup"].lookup(e164)
            existing = self._visible(server, [p["id"] for p in match["partners"]])
        if not existing and email:
            existing = Partner.search(
                [("email", "=ilike", email)] + self._company_domain(server), limit=1
            )
        if existing:
            return {"created": False,
                    "contacts": [self._contact(server, p, number, outbound=True)
                                 for p in existing]}
        realtor = server.extension_ids.filtered(lambda e: e.number == agent).user_id
        partner = Partner.create({
            "name": name,
            "phone": e164 or False,
            "email": email or False,
            "user_id": realtor[:1].id or False,
        })
        partner.message_post(
            body=_("Created from the 3CX client by %s.", realtor[:1].name)
            if realtor
            else _("Created from the 3CX client."),
            subtype_xmlid="mail.mt_note",
        )
        return {"created": True, "contacts": [self._contact(server, partner, number, True)]}

    def _report_call(self, server):
        body = self._json_body()
        data = {}
        for key, value in body.items():
            if isinstance(key, str) and len(key) <= 64:
                data[key] = self._text(key, value, max_length=MAX_TEXT)
        try:
            call, created = server.env["threecx.call"]._crm_report_call(server, data)
        except ReportError as exc:
            raise CrmRequestError(400, "malformed", str(exc)) from None
        return {
            "id": call.id,
            "created": created,
            "call_id": call.call_id,
            "state": call.state,
            "contact_id": call.partner_id.id or None,
            "flagged": call.compliance_issue or None,
        }

    # -- output ---------------------------------------------------------------------------------

    def _company_domain(self, server):
        return ["|", ("company_id", "=", False), ("company_id", "=", server.company_id.id)]

    def _visible(self, server, partner_ids):
        """The partners among ``partner_ids`` the server's company may see, in that order."""
        allowed = server.env["res.partner"].search(
            [("id", "in", partner_ids)] + self._company_domain(server)
        )
        return [p for pid in partner_ids for p in allowed if p.id == pid]

    def _contact(self, server, partner, number, outbound):
        """A contact in the shape the template maps (3CX's lookup outputs).

        ``phone_other`` repeats the number exactly as 3CX sent it: 3CX keeps a contact only if
        the searched number is one of its phone outputs, and may send a national number
        where Odoo stores the E.164 form.
        """
        words = (partner.name or "").split()
        if partner.is_company or len(words) < 2:
            first, last = "", partner.name or ""
        else:
            first, last = " ".join(words[:-1]), words[-1]
        warning = ""
        restriction = partner._realtor_3cx_restriction(number or "")
        if restriction and (outbound or restriction["kind"] == "do_not_call"):
            # 3CX shows the name before the call connects: the warning travels in it.
            if restriction["kind"] == "do_not_call":
                label = _("DO NOT CALL")
            elif restriction["kind"] == "attempt_cap":
                label = _("CALL LIMIT REACHED")
            else:
                label = _("OUTSIDE CALLING HOURS (%s there)", restriction["local_time"])
            first = f"[{label}] {first}".strip()
            warning = restriction["message"]
            if outbound and number:
                server.env["threecx.blocked.attempt"]._realtor_3cx_log(
                    "crm_lookup", to_e164(number, server.company_id.country_id.code) or number,
                    restriction)
        base_url = server.env["ir.config_parameter"].get_param("web.base.url", "")
        company = partner.parent_id.name if partner.parent_id else (
            partner.name if partner.is_company else "")
        return {
            "id": partner.id,
            "first_name": first,
            "last_name": last,
            "company": company or "",
            "email": partner.email or "",
            "phone_business": partner.phone_e164 or partner.phone or "",
            "phone_mobile": partner.mobile_e164 or partner.mobile or "",
            "phone_other": number or "",
            "url": f"{base_url}/odoo/res.partner/{partner.id}",
            "warning": warning,
        }
