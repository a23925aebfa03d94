# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The XAPI ``Contacts`` entity set: 3CX's company phonebook (docs/3cx-api.md §4).

Paths and fields as 3CX's spec declares them (docs/3cx/xapi-schemas.json): ``GET /Contacts``
with every OData query option, ``POST /Contacts`` (201 and the new entity),
``GET``/``PATCH``/``DELETE /Contacts({Id})`` (PATCH and DELETE answer 204) and
``POST /Contacts/Pbx.DeleteContactsById`` (``{"ids": [...]}``, 204). The spec declares no
``$batch`` and no bulk create or update.

What the spec does not say, and the simulator does [I]: a property the entity does not have,
or a value of the wrong type, is a 400 with the OData error shape (as any OData v4 service
answers); ``Id`` and ``ContactType`` in a body are ignored and kept (3CX assigns the key; a
contact made through the API is a ``3CX`` one); a contact needs a first name, a last name or a
company name, as 3CX's phonebook form does (400 otherwise); ``DeleteContactsById`` skips ids
that are not there. The phonebook outlives the calls: a simulated restart keeps it.
"""

import threading

from .odata import ODataError, apply_query, parse_key_segment

# Pbx.Contact's properties (all nullable strings but Id and the ContactSource enum).
FIELDS = ("Business", "Business2", "BusinessFax", "CompanyName", "ContactType", "Department",
          "Email", "FirstName", "Home", "Id", "LastName", "Mobile2", "Other", "Pager",
          "PhoneNumber", "Tag", "Title")
STRINGS = frozenset(FIELDS) - {"Id", "ContactType"}
CONTACT_SOURCES = ("3CX", "CRM", "Google", "M365")
MAX_LENGTH = 255  # [I] what 3CX's phonebook columns hold
INT32 = 2**31 - 1


class Phonebook:
    """The contacts, by id. Thread-safe: the bench reads it from another thread."""

    def __init__(self):
        self.contacts = {}
        self.last_id = 0
        self.lock = threading.Lock()
        self.stats = {"created": 0, "updated": 0, "deleted": 0}

    def rows(self):
        with self.lock:
            return [dict(row) for row in self.contacts.values()]

    def get(self, contact_id):
        with self.lock:
            row = self.contacts.get(contact_id)
            if row is None:
                raise ODataError(f"Contact with key {contact_id} was not found", status=404,
                                 code="NotFound")
            return dict(row)

    def add(self, body):
        values = _checked(body)
        contact = {name: None for name in FIELDS}
        contact.update(values)
        contact["ContactType"] = "3CX"
        _require_name(contact)
        with self.lock:
            self.last_id += 1
            contact["Id"] = self.last_id
            self.contacts[contact["Id"]] = contact
            self.stats["created"] += 1
            return dict(contact)

    def update(self, contact_id, body):
        values = _checked(body)
        with self.lock:
            contact = self.contacts.get(contact_id)
            if contact is None:
                raise ODataError(f"Contact with key {contact_id} was not found", status=404,
                                 code="NotFound")
            changed = {**contact, **values}
            _require_name(changed)
            contact.update(values)
            self.stats["updated"] += 1

    def delete(self, contact_ids, *, missing_ok=False):
        with self.lock:
            for contact_id in contact_ids:
                if self.contacts.pop(contact_id, None) is not None:
                    self.stats["deleted"] += 1
                elif not missing_ok:
                    raise ODataError(f"Contact with key {contact_id} was not found",
                                     status=404, code="NotFound")


def of(sim):
    """The simulator's phonebook, made on first use (kept across simulated restarts)."""
    book = getattr(sim, "phonebook", None)
    if book is None:
        book = sim.phonebook = Phonebook()
    return book


def _checked(body):
    """The writable properties of a Pbx.Contact body; 400 on anything else."""
    if not isinstance(body, dict):
        raise ODataError("The request body must be a Pbx.Contact object")
    values = {}
    for name, value in body.items():
        if name.startswith("@odata."):
            continue
        if name not in FIELDS:
            raise ODataError(f"The property '{name}' does not exist on type 'Pbx.Contact'. "
                             "Make sure to only use property names that are defined by the "
                             "type.")
        if name == "Id":
            if isinstance(value, bool) or not isinstance(value, int) or abs(value) > INT32:
                raise ODataError("Cannot convert the literal to the expected type 'Edm.Int32'")
            continue  # the key is 3CX's to give
        if name == "ContactType":
            if value is not None and value not in CONTACT_SOURCES:
                raise ODataError(f"The value '{value}' is not valid for Pbx.ContactSource")
            continue
        if value is not None and not isinstance(value, str):
            raise ODataError(f"Cannot convert the value of '{name}' to the expected type "
                             "'Edm.String'")
        if value is not None and len(value) > MAX_LENGTH:
            raise ODataError(f"'{name}' is longer than {MAX_LENGTH} characters")
        values[name] = value
    return values


def _require_name(contact):
    if not any((contact.get(name) or "").strip()
               for name in ("FirstName", "LastName", "CompanyName")):
        raise ODataError("A contact needs a first name, a last name or a company name")


def route(sim, request, key, op, body, context):
    """The answer (status, JSON body or None) to a ``Contacts`` request, or None when the
    method and path are not one of the phonebook's."""
    book = of(sim)
    method = request.method
    if not key and not op:
        if method == "GET":
            return 200, apply_query(book.rows(), request.query, context, keys=FIELDS)
        if method == "POST":
            return 201, {"@odata.context": f"{context}/$entity", **book.add(body)}
        return None
    if key and not op:
        contact_id = parse_key_segment(key)
        if isinstance(contact_id, bool) or not isinstance(contact_id, int):
            raise ODataError(f"Invalid key segment '{key}': a Contact's key is an Edm.Int32")
        if method == "GET":
            return 200, {"@odata.context": f"{context}/$entity", **book.get(contact_id)}
        if method == "PATCH":
            book.update(contact_id, body)
            return 204, None
        if method == "DELETE":
            book.delete([contact_id])
            return 204, None
        return None
    if not key and op == "Pbx.DeleteContactsById" and method == "POST":
        ids = body.get("ids") if isinstance(body, dict) else None
        if not isinstance(ids, list) or any(
                isinstance(i, bool) or not isinstance(i, int) for i in ids):
            raise ODataError("DeleteContactsById takes {\"ids\": [Edm.Int32, ...]}")
        book.delete(ids, missing_ok=True)
        return 204, None
    return None
