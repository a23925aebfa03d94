# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""3CX's company phonebook (XAPI ``Contacts``): the simulator, the client and the batch sync.

Plain Python against the simulator. Every request the client sends and every answer it gets
is checked against 3CX's published spec (strictly: no undeclared property either way).
"""

import re
import threading
import time

import pytest
import requests
from threecx_sim import SECRET, control, running_simulator
from xapi_schema import validate_request, validate_response

from realtor_3cx.threecx import phonebook
from realtor_3cx.threecx.client import ThreecxClient
from realtor_3cx.threecx.errors import ApiError, ForbiddenError, InvalidRequestError, NotFoundError

# The spec's path template of each request the client sends.
TEMPLATES = [
    (re.compile(r"/xapi/v1/Contacts$"), "/Contacts"),
    (re.compile(r"/xapi/v1/Contacts\(\d+\)$"), "/Contacts({Id})"),
    (re.compile(r"/xapi/v1/Contacts/Pbx\.DeleteContactsById$"), "/Contacts/Pbx.DeleteContactsById"),
]


def _template(path):
    for pattern, template in TEMPLATES:
        if pattern.match(path):
            return template
    raise AssertionError(f"the client sent {path}, which is not a phonebook path")


class Checked:
    """Wraps ``Xapi.request``: validates each body sent and each answer against the spec."""

    def __init__(self, xapi):
        self.sent = []
        self.lock = threading.Lock()
        original = xapi.request

        def request(method, path, **kwargs):
            template = _template(path)
            if kwargs.get("json") is not None:
                validate_request(method, template, kwargs["json"], strict=True)
            try:
                response = original(method, path, **kwargs)
            except ApiError as exc:
                with self.lock:
                    self.sent.append((method, template, exc.status))
                raise
            if response.status_code != 204:
                validate_response(method, template, response.json(), response.status_code,
                                  strict=True)
            with self.lock:
                self.sent.append((method, template, response.status_code))
            return response

        xapi.request = request


@pytest.fixture
def sim():
    with running_simulator() as sim:
        yield sim


@pytest.fixture
def client(sim):
    client = ThreecxClient(sim.url, "900", SECRET)
    client.checked = Checked(client.xapi)
    yield client
    client.close()


def book(sim):
    return sim.simulator.phonebook.rows()


def test_create_read_update_delete_as_the_spec_declares(sim, client):
    xapi = client.xapi
    body = phonebook.contact_body("Ann O'Neil", company="Acme Realty", phone="+12125550101",
                                  email="ann@example.com")
    created = xapi.create_contact(body)
    assert isinstance(created["Id"], int) and created["ContactType"] == "3CX"
    assert {k: created[k] for k in body} == body
    assert xapi.contact(created["Id"])["FirstName"] == "Ann O'Neil"
    xapi.update_contact(created["Id"], {"PhoneNumber": "+12125550199", "CompanyName": ""})
    again = xapi.contact(created["Id"])
    assert again["PhoneNumber"] == "+12125550199" and again["CompanyName"] == ""
    assert again["Business"] == "+12125550101"  # a PATCH leaves the others as they were
    xapi.delete_contact(created["Id"])
    with pytest.raises(NotFoundError):
        xapi.contact(created["Id"])
    with pytest.raises(NotFoundError):
        xapi.update_contact(created["Id"], {"FirstName": "Ann"})
    with pytest.raises(NotFoundError):
        xapi.delete_contact(created["Id"])
    assert [s for _m, _t, s in client.checked.sent] == [201, 200, 204, 200, 204, 404, 404, 404]


def test_the_list_takes_every_odata_option(sim, client):
    xapi = client.xapi
    for n in range(12):
        xapi.create_contact(phonebook.contact_body(f"Person {n:02d}", mobile=f"+1212555{n:04d}",
                                                   company="Acme" if n % 3 == 0 else ""))
    assert xapi.count("Contacts") == 12
    assert xapi.count("Contacts", filter="CompanyName eq 'Acme'") == 4
    rows = list(xapi.contacts(filter="startswith(FirstName,'Person 1')",
                              select=("Id", "FirstName"), page_size=2))
    assert [r["FirstName"] for r in rows] == ["Person 10", "Person 11"]
    assert set(rows[0]) == {"Id", "FirstName"}
    everyone = list(xapi.contacts(page_size=5))  # three pages
    assert [r["Id"] for r in everyone] == sorted(r["Id"] for r in everyone)
    assert len(everyone) == 12
    token = client.tokens.token()
    answer = requests.get(f"{sim.url}/xapi/v1/Contacts", timeout=5, params={
        "$search": "person 03", "$orderby": "FirstName desc", "$count": "true"},
        headers={"Authorization": f"Bearer {token}"})
    assert answer.json()["@odata.count"] == 1
    validate_response("get", "/Contacts", answer.json(), strict=True)
    # A property Pbx.Contact does not have is refused, even on an empty result.
    with pytest.raises(InvalidRequestError, match="Mobile"):
        list(xapi.contacts(filter="Mobile eq '1'"))


def test_what_3cx_refuses(sim):
    # Bodies the spec does not allow: sent by a client without the checks of the others.
    unchecked = ThreecxClient(sim.url, "900", SECRET)
    xapi = unchecked.xapi
    with pytest.raises(InvalidRequestError, match="property 'Mobile' does not exist"):
        xapi.create_contact({"FirstName": "A", "Mobile": "1"})
    with pytest.raises(InvalidRequestError, match="first name, a last name or a company"):
        xapi.create_contact(phonebook.contact_body("", phone="+12125550101"))
    with pytest.raises(InvalidRequestError, match="Edm.String"):
        xapi.create_contact({"FirstName": 5})
    with pytest.raises(InvalidRequestError, match="Pbx.ContactSource"):
        xapi.create_contact({"FirstName": "A", "ContactType": "Odoo"})
    # A refused request leaves nothing behind.
    assert book(sim) == []
    token = unchecked.tokens.token()
    answer = requests.post(f"{sim.url}/xapi/v1/Contacts", json={"Nick": "x"}, timeout=5,
                           headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 400
    validate_response("post", "/Contacts", answer.json(), 400, strict=True)
    unchecked.close()


def test_bulk_delete_skips_ids_that_are_gone(sim, client):
    xapi = client.xapi
    ids = [xapi.create_contact({"FirstName": f"P{n}"})["Id"] for n in range(4)]
    xapi.delete_contacts([ids[0], ids[2], 99999])
    assert sorted(r["Id"] for r in book(sim)) == [ids[1], ids[3]]
    xapi.delete_contacts([])  # nothing to send: no request
    assert client.checked.sent[-1][1] == "/Contacts/Pbx.DeleteContactsById"
    assert sum(t == "/Contacts/Pbx.DeleteContactsById" for _m, t, _s in client.checked.sent) == 1


def test_apply_creates_updates_and_deletes_and_says_what_became_of_each(sim, client):
    xapi = client.xapi
    creates = [phonebook.Change(phonebook.CREATE, n, 0, phonebook.contact_body(
        f"P{n}", mobile=f"+1212555{n:04d}")) for n in range(30)]
    results, fatal = phonebook.apply(xapi, creates, threads=4)
    assert fatal is None and len(results) == 30 and all(r.ok for r in results)
    ids = {r.change.key: r.contact_id for r in results}
    assert sorted(r["FirstName"] for r in book(sim)) == sorted(f"P{n}" for n in range(30))
    # A contact someone deleted in 3CX meanwhile is made again by its update.
    xapi.delete_contact(ids[1])
    changes = [
        phonebook.Change(phonebook.UPDATE, 0, ids[0], phonebook.contact_body("P0 renamed")),
        phonebook.Change(phonebook.UPDATE, 1, ids[1], phonebook.contact_body("P1 back")),
        phonebook.Change(phonebook.UPDATE, 2, ids[2], phonebook.contact_body("")),  # refused
        *[phonebook.Change(phonebook.DELETE, n, ids[n]) for n in range(10, 30)],
    ]
    results, fatal = phonebook.apply(xapi, changes, delete_chunk=7)
    assert fatal is None
    by_key = {(r.change.kind, r.change.key): r for r in results}
    assert by_key[("update", 0)].contact_id == ids[0]
    assert by_key[("update", 1)].contact_id not in (0, ids[1])
    assert "first name" in by_key[("update", 2)].error and not by_key[("update", 2)].ok
    names = sorted(r["FirstName"] for r in book(sim))
    assert names == sorted(["P0 renamed", "P1 back", *(f"P{n}" for n in range(2, 10))])
    bulk = [t for _m, t, _s in client.checked.sent if t.endswith("DeleteContactsById")]
    assert len(bulk) == 3  # 20 deletions, 7 per request


def test_a_fatal_refusal_stops_the_run_and_keeps_what_was_done(sim, client):
    xapi = client.xapi
    creates = [phonebook.Change(phonebook.CREATE, n, 0, phonebook.contact_body(f"P{n}"))
               for n in range(40)]
    results, fatal = phonebook.apply(xapi, creates[:5])
    assert fatal is None
    control(sim, "config", {"xapi_access": False})
    results, fatal = phonebook.apply(xapi, creates[5:], threads=2)
    assert isinstance(fatal, ForbiddenError)
    assert len(results) < 35  # not everyone was tried after the refusal
    # Named as the connection test names it (Odoo words the code on the server's form).
    assert phonebook.problem(fatal).code == "no_xapi"
    assert phonebook.problem(KeyError("x")).code == "unexpected"
    control(sim, "config", {"xapi_access": True})
    control(sim, "faults", {"http_errors": 1, "http_error_status": 503,
                            "http_error_path": "/xapi/v1/Contacts/Pbx.DeleteContactsById"})
    results, fatal = phonebook.apply(xapi, [phonebook.Change(phonebook.DELETE, 1, 1)])
    assert fatal is not None and results == []


class SlowFake:
    """A PBX that takes 20 ms per request, counting how many it serves at once."""

    def __init__(self):
        self.lock = threading.Lock()
        self.now = self.peak = self.created = 0

    def create_contact(self, body):
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
            self.created += 1
            new_id = self.created
        time.sleep(0.02)
        with self.lock:
            self.now -= 1
        return {"Id": new_id}


def test_writes_go_a_bounded_number_at_a_time():
    fake = SlowFake()
    creates = [phonebook.Change(phonebook.CREATE, n, 0, {"FirstName": str(n)})
               for n in range(60)]
    started = time.monotonic()
    results, fatal = phonebook.apply(fake, creates, threads=6)
    assert fatal is None and sorted(r.contact_id for r in results) == list(range(1, 61))
    assert 1 < fake.peak <= 6
    assert time.monotonic() - started < 60 * 0.02  # faster than one at a time


def test_the_body_holds_what_odoo_owns_and_only_declared_properties():
    body = phonebook.contact_body("  Juan García López ", company="Casa", phone=None,
                                  mobile="+34600000000", email="x" * 300)
    assert body["FirstName"] == "Juan García López" and body["LastName"] == ""
    assert body["Business"] == "" and body["PhoneNumber"] == "+34600000000"
    assert len(body["Email"]) == 255
    validate_request("post", "/Contacts", body, strict=True)
    validate_request("patch", "/Contacts({Id})", body, strict=True)
    assert phonebook.digest(body) != phonebook.digest({**body, "Email": ""})


def test_a_stop_sends_nothing_more():
    fake = SlowFake()
    stop = threading.Event()
    creates = [phonebook.Change(phonebook.CREATE, n, 0, {"FirstName": str(n)})
               for n in range(200)]
    threading.Timer(0.1, stop.set).start()
    results, fatal = phonebook.apply(fake, creates, threads=4, stop=stop)
    assert isinstance(fatal, phonebook.Stopped)
    assert 0 < fake.created < 200 and len(results) == fake.created
    results, fatal = phonebook.apply(fake, [phonebook.Change(phonebook.DELETE, 1, 1)], stop=stop)
    assert isinstance(fatal, phonebook.Stopped) and results == []
