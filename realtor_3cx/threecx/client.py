# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""One object per 3CX API integration: the shared token, Call Control, XAPI, events.

>>> client = ThreecxClient("https://pbx.example.com", "900", "api-key")  # doctest: +SKIP
>>> report = client.test_connection()                                    # doctest: +SKIP
>>> report.ok, report.version, [p.code for p in report.problems]         # doctest: +SKIP
(True, '20.0.9.995', [])

:meth:`ThreecxClient.test_connection` is what the server form's *Test connection* button runs:
it never raises for a PBX problem; each one becomes a :class:`Problem` with a stable ``code``
(which Odoo translates) and an English detail.
"""

import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

from .auth import TIMEOUT, TokenManager
from .errors import (
    ApiError,
    AuthenticationError,
    CertificateError,
    ConnectionFailed,
    ForbiddenError,
    ServerError,
    ThreecxError,
)
from .events import CallMirror, EventStream
from .rest import CallControl
from .xapi import Xapi

_logger = logging.getLogger(__name__)

# Problem codes, in the order a connection test meets them.
UNREACHABLE = "unreachable"
CERTIFICATE = "certificate"
CREDENTIALS = "credentials"
NO_CALL_CONTROL = "no_call_control"
NO_XAPI = "no_xapi"
SERVER_ERROR = "server_error"
UNEXPECTED = "unexpected"


@dataclass(frozen=True)
class Problem:
    code: str
    detail: str


@dataclass
class ConnectionReport:
    version: str = ""
    product_code: str = ""
    max_sim_calls: int | None = None
    license_active: bool | None = None
    license_expires: str = ""
    extensions: list = field(default_factory=list)  # [(number, display name, registered)]
    call_control_dns: list = field(default_factory=list)  # DNs the integration can control
    problems: list = field(default_factory=list)

    @property
    def ok(self):
        return not self.problems


def check_base_url(base_url):
    """The PBX origin without a trailing slash; ``ValueError`` when it is not http(s)."""
    parts = urlsplit(str(base_url or "").strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{base_url!r} is not an http(s) URL")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


class ThreecxClient:
    """All the APIs of one 3CX integration, sharing one token (3CX keeps only one alive).

    :param verify: verify the PBX's TLS certificate (``False`` or a CA bundle path for a
        self-signed PBX certificate)
    """

    def __init__(self, base_url, client_id, client_secret, *, timeout=TIMEOUT, verify=True,
                 session=None):
        self.base_url = check_base_url(base_url)
        self.tokens = TokenManager(self.base_url, client_id, client_secret,
                                   session=session or requests.Session(), timeout=timeout,
                                   verify=verify)
        self.callcontrol = CallControl(self.tokens, timeout=timeout)
        self.xapi = Xapi(self.tokens, timeout=timeout)

    def __repr__(self):
        return f"<ThreecxClient {self.base_url} client {self.tokens.client_id}>"

    def events(self, on_event, **kwargs):
        """An :class:`~.events.EventStream` on this client's token (run it in a thread)."""
        return EventStream(self.callcontrol, on_event, **kwargs)

    def mirror(self):
        return CallMirror(self.callcontrol)

    def close(self):
        self.tokens.session.close()

    def test_connection(self):
        """Mint a token, read version and licence, list extensions, probe Call Control."""
        report = ConnectionReport()
        try:
            self.tokens.token()
        except ThreecxError as exc:
            report.problems.append(_problem(exc))
            return report  # nothing else can work without a token
        try:
            report.version = self.xapi.version()
            status = self.xapi.system_status()
            licence = self.xapi.license_status()
            report.product_code = str(licence.get("ProductCode") or status.get("ProductCode")
                                      or "")
            report.max_sim_calls = licence.get("MaxSimCalls", status.get("MaxSimCalls"))
            report.license_active = status.get("LicenseActive")
            report.license_expires = str(licence.get("ExpirationDate") or "")
            report.extensions = [
                (str(u.get("Number") or ""), str(u.get("DisplayName") or ""),
                 bool(u.get("IsRegistered")))
                for u in self.xapi.users(select=("Number", "DisplayName", "IsRegistered"))]
        except ThreecxError as exc:
            report.problems.append(_problem(exc, xapi=True))
        try:
            report.call_control_dns = [(dn.dn, dn.type) for dn in self.callcontrol.snapshot()]
        except ThreecxError as exc:
            problem = _problem(exc, call_control=True)
            if problem not in report.problems:
                report.problems.append(problem)
        return report


def _problem(exc, *, xapi=False, call_control=False):
    """A :class:`Problem` whose detail is the short cause (the code already says what failed)."""
    reason = exc.reason or str(exc)
    if isinstance(exc, CertificateError):
        return Problem(CERTIFICATE, reason)
    if isinstance(exc, ConnectionFailed):
        return Problem(UNREACHABLE, reason)
    if isinstance(exc, AuthenticationError) or (isinstance(exc, ApiError) and exc.status == 401):
        return Problem(CREDENTIALS, str(exc))
    if isinstance(exc, ForbiddenError) and call_control:
        return Problem(NO_CALL_CONTROL, reason)
    if isinstance(exc, ForbiddenError) and xapi:
        return Problem(NO_XAPI, reason)
    if isinstance(exc, ServerError):
        return Problem(SERVER_ERROR, str(exc))
    return Problem(UNEXPECTED, str(exc))
