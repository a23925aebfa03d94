# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The client's exceptions: one per thing a caller handles differently.

::

    ThreecxError                   anything the 3CX client raises
     +-- ConnectionFailed          unreachable, timed out, reset: retry later
     |    +-- CertificateError     TLS verification failed: fix the certificate, do not retry
     +-- AuthenticationError       401 from /connect/token, or again after one re-mint
     +-- ApiError                  any other HTTP error, with ``status`` and 3CX's reason text
     |    +-- ForbiddenError       403: not in the application's scope, or not controllable
     |    +-- NotFoundError        404: unknown or stale DN, device or participant
     |    +-- InvalidRequestError  400/415/422: the request itself is wrong
     |    +-- NoMediaError         424: audio asked for before the leg has media
     |    +-- ServerError          5xx
     +-- ActionFailed              HTTP 200 but ``finalstatus`` Failed or Rejected
     +-- ResponseError             a body that does not follow the protocol (a ProtocolError)
"""


class ThreecxError(Exception):
    """Base class; ``str()`` is a sentence fit for a log line, ``reason`` its short cause."""

    def __init__(self, message="", reason=None):
        super().__init__(message)
        self.reason = reason or message


class ConnectionFailed(ThreecxError):
    pass


class CertificateError(ConnectionFailed):
    pass


class AuthenticationError(ThreecxError):
    pass


class ResponseError(ThreecxError):
    pass


class ApiError(ThreecxError):
    """An HTTP error answer. ``reason`` is 3CX's ``reasontext`` or OData ``message``."""

    def __init__(self, status, reason, *, method="", path=""):
        self.status = status
        self.reason = reason
        self.method = method
        self.path = path
        where = f" on {method} {path}" if path else ""
        super().__init__(f"3CX answered {status}{where}: {reason}" if reason
                         else f"3CX answered {status}{where}", reason)


class ForbiddenError(ApiError):
    pass


class NotFoundError(ApiError):
    pass


class InvalidRequestError(ApiError):
    pass


class NoMediaError(ApiError):
    pass


class ServerError(ApiError):
    pass


class ActionFailed(ThreecxError):
    """``finalstatus`` said Failed or Rejected although the HTTP status was 2xx."""

    def __init__(self, final_status, reason, reasontext):
        self.final_status = final_status
        self.reason = reason
        self.reasontext = reasontext
        super().__init__(f"3CX refused the action ({final_status.name.title()}): "
                         f"{reasontext or reason or 'no reason given'}", reasontext or reason)
        self.reason = reason


_BY_STATUS = {403: ForbiddenError, 404: NotFoundError, 400: InvalidRequestError,
              415: InvalidRequestError, 422: InvalidRequestError, 424: NoMediaError}


def api_error(status, reason, *, method="", path=""):
    """The :class:`ApiError` subclass for an HTTP status."""
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    return cls(status, reason, method=method, path=path)
