# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The CRM-template endpoints, driven by the requests 3CX would send.

The requests come from the simulator's CRM emitter (``threecx/simulator/crm.py``) loaded with
the template the server form downloads, pointed at this test server; raw requests cover what
no template produces (malformed bodies, wrong methods).
"""

import datetime
import json
from unittest import mock

from psycopg2 import errors

from odoo.tests import HttpCase, tagged
from odoo.tools import config

from ..controllers import crm_template
from ..controllers.crm_template import reset_rate_limits
from ..threecx.simulator.crm import CrmEmitter, load_template
from .common import Realtor3cxMixin

CALLER = "+15550108701"
DNC = "+15550108702"
LATE = "+15550108703"
TIMEOUT = 60  # the test server shares two busy cores: generous, never asserted on


@tagged("post_install", "-at_install")
class TestCrmEndpoints(HttpCase, Realtor3cxMixin):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_realtor_3cx()
        cls.env["threecx.extension"].create(
            {"server_id": cls.server.id, "number": "101", "user_id": cls.realtor.id}
        )
        cls.company_contact = cls.env["res.partner"].create(
            {"name": "Harbor Homes", "is_company": True}
        )
        cls.partner = cls.env["res.partner"].create({
            "name": "Dana Q Buyer", "phone": CALLER, "email": "dana@example.com",
            "parent_id": cls.company_contact.id,
        })
        cls.dnc = cls.env["res.partner"].create(
            {"name": "Never Call", "mobile": DNC, "do_not_call": True}
        )
        cls.late = cls.env["res.partner"].create({"name": "Night Owl", "phone": LATE, "tz": "UTC"})
        cls.key = cls.server.with_user(cls.admin).action_generate_crm_key()["context"][
            "default_key"
        ]

    def setUp(self):
        super().setUp()
        reset_rate_limits(self.env.cr)
        # The limiter's clock stands still: a token never comes back during a test, however
        # slowly the machine runs it.
        clock = mock.patch.object(crm_template._limiter, "clock", lambda: 1000.0)
        clock.start()
        self.addCleanup(clock.stop)
        self.env["ir.config_parameter"].set_param("web.base.url", self.base_url())
        self.endpoint = (
            f"{self.base_url()}/realtor_3cx/crm/{self.env.cr.dbname}/{self.server.id}"
        )

    def emitter(self, key=None, url=None):
        params = {"ApiKey": self.key if key is None else key}
        if url:
            params["Url"] = url
        template = load_template(self.server._crm_template(), params)
        # The opener carries the test cursor's cookie: the requests see this transaction.
        emitter = CrmEmitter(template, session=self.opener, timeout=TIMEOUT)
        return emitter

    def raw(self, method, path, body=None, key=None, headers=None):
        headers = dict(headers or {})
        if key is not False:
            headers["X-Api-Key"] = self.key if key is None else key
        data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
        if data is not None:
            headers.setdefault("Content-Type", "application/json")
        return self.opener.request(
            method, f"{self.endpoint}/{path}", data=data, headers=headers, timeout=TIMEOUT
        )

    def assert_error(self, response, status, code):
        self.assertEqual(response.status_code, status, response.text)
        self.assertEqual(response.json()["error"]["code"], code)
        self.assertTrue(response.json()["error"]["message"])

    def calls(self):
        return self.env["threecx.call"].search([("server_id", "=", self.server.id)])

    # -- lookup ---------------------------------------------------------------------------------

    def test_lookup_returns_what_3cx_maps(self):
        result = self.emitter().lookup("00" + CALLER[1:])
        self.assertTrue(result.ok, result.error)
        self.assertEqual(result.number, CALLER)  # <Number Prefix="Plus">
        contact = result.contact
        self.assertEqual(
            {k: contact[k] for k in ("FirstName", "LastName", "CompanyName", "Email",
                                     "PhoneBusiness", "EntityId", "EntityType")},
            {"FirstName": "Dana Q", "LastName": "Buyer", "CompanyName": "Harbor Homes",
             "Email": "dana@example.com", "PhoneBusiness": CALLER,
             "EntityId": str(self.partner.id), "EntityType": "Contacts"},
        )
        self.assertEqual(contact["ContactUrl"],
                         f"{self.base_url()}/odoo/res.partner/{self.partner.id}")
        # A national number (as some trunks send it) still matches, and 3CX keeps the
        # contact: the number as sent comes back among its phones.
        national = self.emitter().lookup("5550108701")
        self.assertEqual(national.contact["EntityId"], str(self.partner.id))
        self.assertEqual(national.contact["PhoneOther"], "5550108701")
        unknown = self.emitter().lookup("+15550108799")
        self.assertTrue(unknown.ok)
        self.assertIsNone(unknown.contact)

    def test_lookup_marks_a_do_not_call_contact_in_the_name(self):
        result = self.emitter().lookup(DNC)
        self.assertEqual(result.contact["FirstName"], "[DO NOT CALL] Never")
        self.assertEqual(result.contact["LastName"], "Call")
        self.assertEqual(result.contact["PhoneMobile"], DNC)
        body = self.raw("GET", f"lookup?number=%2B{DNC[1:]}&direction=Inbound").json()
        self.assertIn("do-not-call", body["contacts"][0]["warning"])  # both directions

    def test_lookup_marks_a_contact_outside_their_calling_hours(self):
        hour = datetime.datetime.now(datetime.timezone.utc).hour
        # A window two hours ahead in the contact's zone (UTC): it excludes the present hour.
        window = f"{(hour + 2) % 24:02d}:00-{(hour + 3) % 24:02d}:00"
        # LATE is a US number: the US calling rule decides.
        start, end = (int(part[:2]) for part in window.split("-"))
        self.env.ref("realtor_3cx.calling_rule_us").write(
            {"hour_from": start, "hour_to": end or 24})
        outbound = self.raw("GET", f"lookup?number=%2B{LATE[1:]}&direction=Outbound").json()
        self.assertTrue(outbound["contacts"][0]["first_name"].startswith(
            "[OUTSIDE CALLING HOURS ("))
        self.assertIn("calls are allowed between", outbound["contacts"][0]["warning"])
        # Unknown direction (3CX may not send it): warned, as it may be an outbound call.
        self.assertTrue(self.emitter().lookup(LATE).contact["FirstName"].startswith("[OUTSIDE"))
        inbound = self.raw("GET", f"lookup?number=%2B{LATE[1:]}&direction=Inbound").json()
        self.assertEqual(inbound["contacts"][0]["first_name"], "Night")  # they call us: fine
        self.assertEqual(inbound["contacts"][0]["warning"], "")

    def test_lookup_marks_a_contact_at_their_calling_rules_call_limit(self):
        # Florida allows 3 calls in 24 h (calling_rule_us_fl); any hour, so only the cap counts.
        self.env.ref("realtor_3cx.calling_rule_us_fl").write({"hour_from": 0, "hour_to": 24})
        florida = self.env["res.partner"].create({"name": "Miami Buyer", "phone": "+13055550148"})
        now = datetime.datetime.now().replace(microsecond=0)
        for hours in (3, 2, 1):
            self.env["threecx.call"].create({
                "server_id": self.server.id, "call_id": f"cap-{hours}", "direction": "outbound",
                "state": "completed", "external_number": "+13055550148",
                "partner_id": florida.id, "start_at": now - datetime.timedelta(hours=hours),
            })
        contact = self.raw("GET", "lookup?number=%2B13055550148&direction=Outbound").json()[
            "contacts"][0]
        self.assertEqual(contact["first_name"], "[CALL LIMIT REACHED] Miami")
        self.assertIn("This would be call 4 to Miami Buyer in 24 h", contact["warning"])

    def test_lookup_keys(self):
        wrong = self.emitter(key="not-the-key").lookup(CALLER)
        self.assertEqual((wrong.ok, wrong.status), (False, 401))
        missing = self.emitter(key="").lookup(CALLER)
        self.assertEqual((missing.ok, missing.status), (False, 401))
        self.assert_error(self.raw("GET", f"lookup?number={CALLER[1:]}", key=False), 401,
                          "missing_key")
        self.assert_error(self.raw("GET", f"lookup?number={CALLER[1:]}", key="x" * 300), 401,
                          "invalid_key")
        other = self.emitter(
            url=f"{self.base_url()}/realtor_3cx/crm/{self.env.cr.dbname}/999999").lookup(CALLER)
        self.assertEqual(other.status, 404)

    def test_lookup_malformed(self):
        self.assert_error(self.raw("GET", "lookup"), 400, "malformed")
        self.assert_error(self.raw("GET", "lookup?number=" + "1" * 65), 400, "malformed")
        self.assertEqual(self.raw("POST", "lookup", {"number": CALLER}).status_code, 405)
        self.assert_error(self.raw("GET", "lookup?number=%00123"), 400, "malformed")
        garbage = self.raw("GET", "lookup?number=%FF%2B%2B&direction=%FF")
        self.assertEqual(garbage.status_code, 200)
        self.assertEqual(garbage.json(), {"contacts": []})

    # -- search and e-mail ----------------------------------------------------------------------

    def test_search_contacts(self):
        result = self.emitter().run("SearchContacts", {"SearchText": "Dana Q"})
        self.assertTrue(result.ok, result.error)
        self.assertEqual([o["EntityId"] for o in result.outputs], [str(self.partner.id)])
        by_number = self.raw("GET", "search?q=(555) 010-8701").json()
        self.assertEqual([c["id"] for c in by_number["contacts"]], [self.partner.id])
        self.assertEqual(self.emitter(key="wrong").run("SearchContacts",
                                                       {"SearchText": "Dana"}).status, 401)
        self.assertEqual(self.emitter(key="").run("SearchContacts",
                                                  {"SearchText": "Dana"}).status, 401)
        self.assert_error(self.raw("GET", "search?q=D"), 400, "malformed")
        self.assert_error(self.raw("GET", "search?q=Da%00na"), 400, "malformed")
        self.assert_error(self.raw("GET", "search"), 400, "malformed")

    def test_lookup_by_email(self):
        result = self.emitter().run("LookupByEmail", {"Email": "DANA@example.com"})
        self.assertTrue(result.ok, result.error)
        self.assertEqual(result.outputs[0]["LastName"], "Buyer")
        self.assertEqual(self.emitter(key="wrong").run("LookupByEmail",
                                                       {"Email": "dana@example.com"}).status, 401)
        self.assertEqual(self.emitter(key="").run("LookupByEmail",
                                                  {"Email": "dana@example.com"}).status, 401)
        self.assert_error(self.raw("POST", "email", b"{not json"), 400, "malformed")
        self.assert_error(self.raw("POST", "email", [1, 2]), 400, "malformed")
        self.assert_error(self.raw("POST", "email", {"email": ["a@b"]}), 400, "malformed")
        self.assert_error(self.raw("POST", "email", {"email": "nobody"}), 400, "malformed")
        self.assert_error(self.raw("POST", "email", b"\xff\xfe"), 400, "malformed")
        self.assert_error(self.raw("POST", "email", b"[" * 30000 + b"]" * 30000), 400,
                          "malformed")
        self.assert_error(self.raw("POST", "email", b" " * (65 * 1024)), 400, "malformed")

    # -- contact creation -----------------------------------------------------------------------

    def test_create_contact_from_the_3cx_client(self):
        Partner = self.env["res.partner"]
        before = Partner.search_count([])
        variables = {"FirstName": "Sam", "LastName": "Seller", "Email": "sam@example.com",
                     "Number": "+15550108777", "Agent": "101"}
        for key in ("wrong", ""):
            refused = self.emitter(key=key).run("CreateContactRecordFromClient", variables)
            self.assertEqual(refused.status, 401)
        self.assertEqual(Partner.search_count([]), before)  # nothing written when refused
        result = self.emitter().run("CreateContactRecordFromClient", variables)
        self.assertTrue(result.ok, result.error)
        partner = Partner.browse(int(result.outputs[0]["EntityId"]))
        self.assertEqual((partner.name, partner.phone_e164, partner.email, partner.user_id),
                         ("Sam Seller", "+15550108777", "sam@example.com", self.realtor))
        # Asked again (the 3CX user did not see it exists): the same contact, no duplicate.
        again = self.emitter().run("CreateContactRecordFromClient", variables)
        self.assertEqual(again.outputs[0]["EntityId"], str(partner.id))
        self.assertEqual(Partner.search_count([]), before + 1)

    def test_create_contact_malformed(self):
        before = self.env["res.partner"].search_count([])
        self.assert_error(self.raw("POST", "contact", {}), 400, "malformed")
        self.assert_error(self.raw("POST", "contact", {"first_name": "A", "number": "12ab"}),
                          400, "malformed")
        self.assert_error(self.raw("POST", "contact", {"first_name": {"x": 1}}), 400, "malformed")
        self.assert_error(self.raw("POST", "contact", b"[]"), 400, "malformed")
        self.assertEqual(self.env["res.partner"].search_count([]), before)

    # -- ReportCall -----------------------------------------------------------------------------

    def report_variables(self, **values):
        variables = {
            "Number": CALLER, "CallType": "Inbound", "CallDirection": "Inbound",
            "Agent": "101", "AgentFirstName": "R", "AgentLastName": "Realtor",
            "Duration": "00:01:00", "DateTime": "2026-11-25 15:00:00",
            "CallStartTimeUTC": "2026-11-25 15:00:00",
            "CallEstablishedTimeUTC": "2026-11-25 15:00:05",
            "CallEndTimeUTC": "2026-11-25 15:01:05",
        }
        variables.update(values)
        return variables

    def test_report_call_merges_with_the_call_the_worker_logged(self):
        start = datetime.datetime(2026, 11, 25, 15, 0, 2, tzinfo=datetime.timezone.utc)
        epoch = start.timestamp()
        self.env["threecx.call"]._sync_from_3cx(self.server, [{
            "call_id": "8801", "direction": "inbound", "state": "completed",
            "external_number": CALLER, "external_name": "", "did_number": "",
            "extension": "101", "chain": ("101",), "ringing": (), "rung": ("101",),
            "queue": "", "start_at": epoch, "answer_at": epoch + 4, "end_at": epoch + 64,
            "notify_ringing": [],
        }])
        emitter = self.emitter()
        lookup = emitter.lookup(CALLER)
        result = emitter.report_call(contact=lookup, **self.report_variables())
        self.assertTrue(result.ok, result.error)
        call = self.calls()
        self.assertEqual(len(call), 1)  # one record, not two
        self.assertEqual((call.call_id, call.crm_reported, call.partner_id),
                         ("8801", True, self.partner))

    def test_report_call_without_the_worker_creates_the_call(self):
        result = self.emitter().report_call(**self.report_variables(
            CallType="Missed", CallEstablishedTimeUTC="", Duration="00:00:00"))
        self.assertTrue(result.ok, result.error)
        call = self.calls()
        self.assertEqual((len(call), call.state, call.user_id, call.partner_id),
                         (1, "missed", self.realtor, self.partner))
        self.assertIn("Call back", call.activity_ids.summary)

    def test_report_call_of_an_outbound_call_to_a_do_not_call_contact(self):
        result = self.emitter().report_call(**self.report_variables(
            Number=DNC, CallType="Outbound", CallDirection="Outbound"))
        self.assertTrue(result.ok, result.error)
        call = self.calls()
        self.assertEqual((call.direction, call.compliance_issue), ("outbound", "do_not_call"))
        self.assertIn(self.manager.partner_id, call.message_ids.partner_ids)

    def test_report_call_keys_and_malformed_bodies_write_nothing(self):
        for key in ("wrong", ""):
            refused = self.emitter(key=key).report_call(**self.report_variables())
            self.assertEqual((refused.ok, refused.status), (False, 401))
        good = {"call_type": "Inbound", "number": CALLER, "agent": "101",
                "call_start_utc": "2026-11-25 15:00:00"}
        for body in (
            b"not json",
            b"[]",
            {**good, "call_type": "Sideways"},
            {**good, "call_start_utc": "soon"},
            {**good, "number": ""},
            {**good, "number": ["+1555"]},
            {**good, "number": "101\u0000"},
            {**good, "agent": True},
            {**good, "summary": "x" * 5000},
        ):
            self.assert_error(self.raw("POST", "report_call", body), 400, "malformed")
        self.assert_error(self.raw("POST", "report_call", good, key=False), 401, "missing_key")
        self.assertFalse(self.calls())
        self.assertEqual(self.raw("GET", "report_call").status_code, 405)

    def test_report_call_replayed_after_a_concurrent_update_keeps_its_body(self):
        # The worker writing the same call at that moment makes PostgreSQL refuse one
        # transaction; Odoo replays the request, which must read the same body again.
        Call = type(self.env["threecx.call"])
        original = Call._crm_report_call
        attempts = []

        def conflict_once(records, server, data):
            attempts.append(dict(data))
            if len(attempts) == 1:
                raise errors.SerializationFailure("could not serialize access")
            return original(records, server, data)

        with mock.patch.object(Call, "_crm_report_call", conflict_once), \
                mock.patch("odoo.service.model.errorcodes.lookup", return_value="40001"), \
                mock.patch("odoo.service.model.random.uniform", return_value=0.0):
            result = self.emitter().report_call(**self.report_variables())
        self.assertTrue(result.ok, result.error)
        self.assertEqual(len(attempts), 2)
        self.assertEqual(attempts[0], attempts[1])
        self.assertEqual(len(self.calls()), 1)

    # -- limits ---------------------------------------------------------------------------------

    def test_rate_limit_per_key(self):
        self.env["ir.config_parameter"].set_param("realtor_3cx.crm_rate_limit", "60")
        statuses = [self.raw("GET", f"lookup?number={CALLER[1:]}").status_code
                    for _i in range(3)]
        self.assertEqual(statuses, [200] * 3)  # bursts of three seconds' worth: 3 requests
        limited = self.raw("GET", f"lookup?number={CALLER[1:]}")
        self.assert_error(limited, 429, "rate_limited")
        self.assertEqual(limited.headers["Retry-After"], "1")  # one token a second
        # The count is the database's, not this process's: the shared table has it.
        self.env.cr.execute("SELECT tokens FROM realtor_3cx_rate_bucket WHERE bucket = %s",
                            (f"key:{self.server.id}",))
        self.assertEqual(self.env.cr.fetchall(), [(0.0,)])

    def test_wrong_keys_are_limited_per_address_and_never_lock_out_the_right_key(self):
        codes = [self.raw("GET", f"lookup?number={CALLER[1:]}", key=f"guess{i}").status_code
                 for i in range(12)]
        self.assertEqual(codes[:10], [401] * 10)
        self.assertEqual(codes[10:], [429, 429])
        limited = self.raw("GET", f"lookup?number={CALLER[1:]}", key="guess again")
        self.assert_error(limited, 429, "rate_limited")
        self.assertIn("Retry-After", limited.headers)
        missing = self.raw("GET", f"lookup?number={CALLER[1:]}", key=False)
        self.assert_error(missing, 429, "rate_limited")  # a missing key counts as wrong
        right = self.raw("GET", f"lookup?number={CALLER[1:]}")  # same address, right key
        self.assertEqual(right.status_code, 200, right.text)
        self.assertEqual(right.json()["contacts"][0]["id"], self.partner.id)

    def test_x_forwarded_for_is_trusted_only_in_proxy_mode(self):
        def guesses(count, **headers):
            return [self.raw("GET", f"lookup?number={CALLER[1:]}", key="guess",
                             headers={k.replace("_", "-"): v(i) for k, v in headers.items()}
                             ).status_code for i in range(count)]

        forged = {"X_Forwarded_For": lambda i: f"198.51.100.{i}",
                  "X_Forwarded_Host": lambda i: "odoo.example.com"}
        # Without proxy_mode the header is the client's word: every guess is 127.0.0.1's.
        self.assertEqual(guesses(11, **forged), [401] * 10 + [429])
        # With it, Odoo's ProxyFix sets remote_addr from the proxy's header: each address
        # has its own bucket, and the one at 127.0.0.1 is still empty.
        with mock.patch.dict(config.options, {"proxy_mode": True}):
            self.assertEqual(guesses(11, **forged), [401] * 11)
            self.assertEqual(guesses(10, X_Forwarded_For=lambda i: "203.0.113.9",
                                     X_Forwarded_Host=lambda i: "odoo.example.com"),
                             [401] * 10)
            self.assertEqual(guesses(1, X_Forwarded_For=lambda i: "203.0.113.9",
                                     X_Forwarded_Host=lambda i: "odoo.example.com"), [429])
        self.assertEqual(guesses(1), [429])

    def test_the_url_names_the_database(self):
        other = f"{self.base_url()}/realtor_3cx/crm/not_this_db/{self.server.id}/lookup"
        response = self.opener.get(other, params={"number": CALLER},
                                   headers={"X-Api-Key": self.key}, timeout=TIMEOUT)
        self.assert_error(response, 404, "unknown_database")
        # Templates made before the URLs named the database keep working where Odoo picks one.
        old = self.opener.get(
            f"{self.base_url()}/realtor_3cx/crm/{self.server.id}/lookup",
            params={"number": CALLER}, headers={"X-Api-Key": self.key}, timeout=TIMEOUT)
        self.assertEqual(old.status_code, 200, old.text)
        self.assertEqual(old.json()["contacts"][0]["id"], self.partner.id)
        self.assertEqual(self.server.crm_endpoint, self.endpoint)

    # -- the server form ------------------------------------------------------------------------

    def test_an_admin_generates_the_key_on_the_server_form(self):
        self.server._crm_set_key(None)
        self.start_tour(
            f"/odoo/action-realtor_3cx.threecx_server_action/{self.server.id}",
            "realtor_3cx_crm_template_tour",
            login="admin",
        )
        self.env.invalidate_all()
        self.assertTrue(self.server.crm_key_set)
        self.assertFalse(self.server._crm_check_key(self.key))  # a new key replaced it

    # -- the template download ------------------------------------------------------------------

    def test_the_template_downloads_for_admins_only(self):
        self.authenticate("admin", "admin")
        response = self.url_open(f"/realtor_3cx/crm/{self.server.id}/template.xml")
        self.assertEqual(response.status_code, 200)
        self.assertIn("attachment", response.headers["Content-Disposition"])
        template = load_template(response.content, {"ApiKey": self.key})
        self.assertEqual(template.parameter_values["Url"], self.endpoint)
        self.assertNotIn(self.key.encode(), response.content)
        self.assertEqual(self.url_open("/realtor_3cx/crm/999999/template.xml").status_code, 404)
        self.authenticate("r3cx_realtor", "r3cx_realtor")
        forbidden = self.url_open(f"/realtor_3cx/crm/{self.server.id}/template.xml")
        self.assertEqual(forbidden.status_code, 403)
