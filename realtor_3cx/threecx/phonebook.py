# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Keeping 3CX's company phonebook in step with a list of contacts (docs/3cx-api.md §4).

Plain Python: Odoo decides *what* changes (``models/threecx_phonebook.py`` plans creations,
updates and deletions by comparing each contact's :func:`digest` with the one last sent);
:func:`apply` sends them to the XAPI ``Contacts`` entity set and says what became of each.

3CX's spec has one bulk phonebook operation, ``Pbx.DeleteContactsById``: deletions go
``DELETE_CHUNK`` ids per request. It has no ``$batch`` and no bulk create or update, so those
are one request each, ``threads`` at a time on the one keep-alive session and token: the
PBX's round trip, not the count, sets the time, and a bounded pool keeps a large first sync
from flooding a PBX that also carries calls.

>>> body = contact_body("Ann O'Neil", company="Acme Realty", phone="+12125550101")
>>> body["FirstName"], body["CompanyName"], body["Business"], body["PhoneNumber"]
("Ann O'Neil", 'Acme Realty', '+12125550101', '')
>>> digest(body) == digest(dict(reversed(list(body.items()))))
True
"""

import concurrent.futures
import hashlib
import json
import logging
from dataclasses import dataclass

from . import client
from .errors import InvalidRequestError, NotFoundError, ThreecxError

_logger = logging.getLogger(__name__)

CREATE, UPDATE, DELETE = "create", "update", "delete"
THREADS = 8
DELETE_CHUNK = 500
MAX_LENGTH = 255  # what a phonebook column holds [I]: longer values are cut, not refused


def _text(value):
    return (str(value or "").strip())[:MAX_LENGTH]


def contact_body(name, *, company="", phone="", mobile="", email=""):
    """The ``Pbx.Contact`` properties Odoo owns, every one of them (an emptied field is sent
    as ``""``, so a PATCH clears it in 3CX too).

    The whole name goes in ``FirstName``: Odoo keeps one name, 3CX shows "first last", and
    splitting "Juan García López" or "Ann Marie O'Neil" at a guessed space would file people
    under the wrong surname. ``PhoneNumber`` is the contact's *Mobile* in 3CX's phonebook,
    ``Business`` its business number.
    """
    return {
        "FirstName": _text(name),
        "LastName": "",
        "CompanyName": _text(company),
        "Business": _text(phone),
        "PhoneNumber": _text(mobile),
        "Email": _text(email),
    }


def digest(body):
    """A short fingerprint of a body: equal digests, nothing to send."""
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()[:20]


@dataclass(frozen=True)
class Change:
    """One thing to do: ``key`` is the caller's (a partner or entry id), handed back."""

    kind: str  # CREATE, UPDATE or DELETE
    key: object
    contact_id: int = 0  # 3CX's Id (UPDATE, DELETE)
    body: dict = None  # the Pbx.Contact properties (CREATE, UPDATE)


@dataclass(frozen=True)
class Result:
    """What became of a :class:`Change`: ``contact_id`` is 3CX's id now (0 once deleted);
    ``error`` is 3CX's reason when it refused this contact."""

    change: Change
    contact_id: int = 0
    error: str = ""

    @property
    def ok(self):
        return not self.error


class Stopped(Exception):
    """The caller asked :func:`apply` to stop (its ``stop`` event is set)."""


def apply(xapi, changes, *, threads=THREADS, delete_chunk=DELETE_CHUNK, stop=None):
    """Send ``changes`` to 3CX; returns ``(results, fatal)``.

    A refusal of one contact (400/422, or a 404 on a contact already gone) is that contact's
    :class:`Result` and the others go on: an update of a contact deleted in 3CX creates it
    again, a deletion of one already gone counts as done. Anything else (unreachable,
    refused credentials, no XAPI access, a server error) is ``fatal``: nothing more is sent,
    and the results of what was done before it are still returned, so they can be recorded.
    Once ``stop`` (a :class:`threading.Event`) is set, no request starts and ``fatal`` is
    :class:`Stopped`.
    """
    results = []
    fatal = None
    deletions = [c for c in changes if c.kind == DELETE]
    writes = [c for c in changes if c.kind != DELETE]
    for start in range(0, len(deletions), delete_chunk):
        chunk = deletions[start:start + delete_chunk]
        if stop is not None and stop.is_set():
            return results, Stopped()
        try:
            results.extend(_delete(xapi, chunk))
        except Exception as exc:  # noqa: BLE001 - handed back: the caller records and reports
            return results, exc
    if not writes:
        return results, None
    with concurrent.futures.ThreadPoolExecutor(max(1, threads),
                                               thread_name_prefix="3cx-phonebook") as pool:
        pending = {pool.submit(_write, xapi, change, stop): change for change in writes}
        for future in concurrent.futures.as_completed(pending):
            try:
                results.append(future.result())
            except concurrent.futures.CancelledError:
                continue
            except Exception as exc:  # noqa: BLE001 - see above
                if fatal is None:
                    fatal = exc
                    for other in pending:
                        other.cancel()
    return results, fatal


def _delete(xapi, chunk):
    ids = [c.contact_id for c in chunk if c.contact_id]
    try:
        xapi.delete_contacts(ids)
    except (InvalidRequestError, NotFoundError) as exc:
        # One bad id must not keep the others in the phonebook: one by one, to name it.
        _logger.info("3CX refused a bulk deletion of %s contacts (%s): deleting one by one",
                     len(ids), exc.reason)
        return [_delete_one(xapi, change) for change in chunk]
    return [Result(change) for change in chunk]


def _delete_one(xapi, change):
    if not change.contact_id:
        return Result(change)
    try:
        xapi.delete_contact(change.contact_id)
    except NotFoundError:
        _logger.debug("3CX contact %s was deleted already", change.contact_id)
    except InvalidRequestError as exc:
        return Result(change, change.contact_id, exc.reason or str(exc))
    return Result(change)


def _write(xapi, change, stop=None):
    if stop is not None and stop.is_set():
        raise Stopped()
    try:
        if change.kind == UPDATE and change.contact_id:
            try:
                xapi.update_contact(change.contact_id, change.body)
                return Result(change, change.contact_id)
            except NotFoundError:
                # Deleted in 3CX meanwhile: Odoo still wants it, so it is made again.
                _logger.info("3CX contact %s is gone: making it again", change.contact_id)
        created = xapi.create_contact(change.body)
        return Result(change, created["Id"])
    except InvalidRequestError as exc:  # a 404 on POST /Contacts is no contact's fault: fatal
        return Result(change, change.contact_id if change.kind == UPDATE else 0,
                      exc.reason or str(exc))


def problem(exc):
    """What stopped :func:`apply`, as the connection test names it (a :class:`~.client.Problem`
    with a stable ``code``): Odoo words it the same way on the server's form."""
    if isinstance(exc, ThreecxError):
        return client._problem(exc, xapi=True)
    return client.Problem(client.UNEXPECTED, f"{type(exc).__name__}: {exc}")
