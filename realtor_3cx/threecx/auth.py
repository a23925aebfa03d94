# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""OAuth2 client credentials for 3CX V20: one live token per Client ID, refreshed before expiry.

3CX revokes a client's previous token whenever a new one is minted (docs/3cx-api.md §1), so every
part of one process (REST, XAPI, the WebSocket, audio streams) must share one
:class:`TokenManager`. It mints lazily, refreshes ``refresh_margin`` seconds before the JWT's
``exp`` (``expires_in`` is minutes before 20.0.9 and seconds since, so the JWT wins), and
re-mints at most once for a token that came back 401 (:meth:`invalidate`).

While audio streams are open a refresh would kill them (one client reports it), so
:meth:`streaming` defers the early refresh until the token is about to expire.

The API key is never logged and never part of ``repr()``.
"""

import contextlib
import logging
import threading
import time

import requests

from .errors import AuthenticationError, CertificateError, ConnectionFailed, api_error
from .protocol import ProtocolError, parse_token_response

_logger = logging.getLogger(__name__)

TIMEOUT = (5, 15)  # (connect, read) seconds for every request to 3CX
REFRESH_MARGIN = 300  # 3CX tokens live about an hour; renew five minutes early
LAST_MOMENT = 30  # even while streaming, renew this close to expiry


def send(session, method, url, *, timeout=TIMEOUT, verify=True, **kwargs):
    """``session.request`` with transport failures turned into :mod:`.errors` exceptions."""
    try:
        return session.request(method, url, timeout=timeout, verify=verify, **kwargs)
    except requests.exceptions.SSLError as exc:
        raise CertificateError(f"the TLS certificate of {_origin(url)} was refused: "
                               f"{_short(exc)}", _short(exc)) from None
    except requests.exceptions.Timeout:
        raise ConnectionFailed(f"{_origin(url)} did not answer within {timeout} s",
                               f"no answer within {timeout} s") from None
    except requests.exceptions.ConnectionError as exc:
        raise ConnectionFailed(f"cannot reach {_origin(url)}: {_short(exc)}",
                               _short(exc)) from None


def _origin(url):
    return "/".join(url.split("/")[:3])


def _short(exc):
    # requests nests the useful part ("Connection refused", "certificate verify failed")
    # deep inside urllib3's wrappers; keep the innermost sentence.
    text = str(exc)
    for marker in ("certificate verify failed", "Connection refused", "Name or service not known",
                   "No route to host", "timed out"):
        if marker in text:
            return marker
    return text[-200:]


class TokenManager:
    """Mints and caches the one token of a 3CX API integration. Thread-safe.

    :param base_url: the PBX origin, e.g. ``https://pbx.example.com:5001``
    :param client_id: the integration's Client ID (also its route point DN)
    :param client_secret: its API key
    """

    def __init__(self, base_url, client_id, client_secret, *, session=None, timeout=TIMEOUT,
                 verify=True, refresh_margin=REFRESH_MARGIN, clock=time.time):
        self.base_url = base_url.rstrip("/")
        self.client_id = str(client_id)
        self._secret = client_secret
        self.session = session or requests.Session()
        self.timeout = timeout
        self.verify = verify
        self.refresh_margin = refresh_margin
        self.clock = clock
        self.minted = 0
        self._token = None
        self._streams = 0
        self._lock = threading.Lock()

    def __repr__(self):
        return f"<TokenManager {self.base_url} client {self.client_id}>"

    def token(self):
        """A token valid now, minting one if needed."""
        with self._lock:
            if self._token is None or self._due():
                self._token = self._mint()
            return self._token.access_token

    def _due(self):
        margin = LAST_MOMENT if self._streams else self.refresh_margin
        return self.clock() >= self._token.expires_at - margin

    def invalidate(self, token):
        """``token`` got a 401: the next :meth:`token` mints a new one, unless already done.

        Comparing with the current token keeps concurrent 401s from minting twice (each mint
        would revoke the token the other threads just received).
        """
        with self._lock:
            if self._token is not None and self._token.access_token == token:
                self._token = None

    @contextlib.contextmanager
    def streaming(self):
        """Hold while an audio stream is open: no early refresh (it would cut the stream)."""
        with self._lock:
            self._streams += 1
        try:
            yield
        finally:
            with self._lock:
                self._streams -= 1

    def _mint(self):
        url = f"{self.base_url}/connect/token"
        response = send(self.session, "POST", url, timeout=self.timeout, verify=self.verify,
                        data={"client_id": self.client_id, "client_secret": self._secret,
                              "grant_type": "client_credentials"})
        if response.status_code in (400, 401):
            raise AuthenticationError(
                f"3CX refused the credentials of client {self.client_id} "
                f"({response.status_code}): check the Client ID and API key")
        if response.status_code >= 300:
            raise api_error(response.status_code, response.text[:200], method="POST",
                            path="/connect/token")
        try:
            token = parse_token_response(response.json(), self.clock())
        except (ValueError, ProtocolError) as exc:
            raise AuthenticationError(f"/connect/token did not return a token: {exc}") from None
        self.minted += 1
        _logger.info("3CX token minted for client %s (valid %.0f s)", self.client_id,
                     token.expires_at - self.clock())
        return token
