# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Property-based fuzzing of every HTTP entry point of the addon, through the real server.

Hypothesis builds the requests (arbitrary text, JSON of any shape, numbers, dates and
durations at the edges of their ranges) and sends them to this test's Odoo over HTTP:

* the CRM-template endpoints (``controllers/crm_template.py``), with the right key and with
  wrong ones;
* click-to-call, as the browser calls it (JSON-RPC ``call_kw`` on
  ``threecx.call.realtor_3cx_dial``);
* the softphone signalling routes (``controllers/softphone.py``).

The properties: never a 500 (for JSON-RPC routes, never an error that is not one of Odoo's
user-facing exceptions: those are what a 500 becomes there); a refusal carries a message a
person can read; and a refused request writes nothing (row counts of calls, contacts, dial
requests, browser calls, messages and activities, and the states of the browser calls, are
the same before and after it). Seeds are fixed (``derandomize``) so CI is reproducible; the
example counts are modest to keep ``make test`` short.
"""

import datetime
import json

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from odoo.tests import HttpCase, new_test_user, tagged

from ..controllers.crm_template import reset_rate_limits
from .common import Realtor3cxMixin

TIMEOUT = 60  # the test server shares two busy cores: generous, never asserted on
CALLER = "+15550108801"
WORKER_GONE = "The telephony service did not answer"


def fuzz(examples):
    return settings(
        derandomize=True,
        deadline=None,
        database=None,
        max_examples=examples,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
# Text as it may arrive: anything, control characters and NUL included.
texts = st.text(max_size=60)
phone_like = st.one_of(
    st.text(alphabet="0123456789+-() ", max_size=20),
    st.sampled_from([CALLER, "00" + CALLER[1:], "555-010-8801", "101", "+1", "+" + "9" * 30]),
)
big_numbers = st.sampled_from([0, -1, 2**31, 2**63, 10**30, 1e300, -1e300])
odd_values = st.one_of(json_values, texts, phone_like, big_numbers)
dates = st.one_of(
    texts,
    st.datetimes().map(lambda d: d.isoformat(sep=" ")),
    st.sampled_from([
        "2026-11-25 15:00:00", "2026-11-25T16:00:00+01:00", "2026-11-25T15:00:00Z",
        "0001-01-01 00:00:00", "9999-12-31 23:59:59", "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00", "2026-02-30 10:00:00", "",
    ]),
)
durations = st.one_of(
    texts,
    st.integers(min_value=0).map(str),
    st.sampled_from(["00:01:05", "65", "1" * 400, "9" * 20, "99999999:59:59", "1.5", "-5"]),
)


def mutated(valid, **odd):
    """A body that is valid, or valid but for one field that is removed or replaced by
    something odd: random bodies alone would almost never get past the first check."""
    keys = sorted(odd)

    def mutate(body, key, value, remove):
        body = dict(body)
        if remove:
            body.pop(key, None)
        else:
            body[key] = value
        return body

    return st.one_of(
        valid,
        st.builds(mutate, valid, st.sampled_from(keys), st.none(), st.just(True)),
        *(st.builds(mutate, valid, st.just(key), strategy, st.just(False))
          for key, strategy in odd.items()),
    )


call_times = st.datetimes(min_value=datetime.datetime(2020, 1, 1),
                          max_value=datetime.datetime(2030, 12, 31))
report_bodies = mutated(
    st.fixed_dictionaries(
        {
            "call_type": st.sampled_from(["Inbound", "Missed", "Outbound", "Notanswered"]),
            "number": st.sampled_from([CALLER, "00" + CALLER[1:], "555-010-8801",
                                       "+15550108899"]),
            "call_start_utc": call_times.map(lambda d: d.isoformat(sep=" ", timespec="seconds")),
        },
        optional={
            "agent": st.sampled_from(["101", "999", ""]),
            "call_established_utc": dates,
            "call_end_utc": dates,
            "duration": durations,
            "summary": texts,
            "queue_extension": texts,
            "name": texts,
        },
    ),
    call_type=odd_values, number=phone_like | odd_values, agent=odd_values,
    call_start_utc=dates | odd_values, call_end_utc=dates | odd_values,
    duration=durations | odd_values, summary=odd_values,
)
contact_bodies = mutated(
    st.fixed_dictionaries(
        {"first_name": texts},
        optional={"last_name": texts, "email": st.emails(), "number": phone_like,
                  "agent": st.sampled_from(["101", ""])},
    ),
    first_name=odd_values, last_name=odd_values, email=texts | odd_values,
    number=phone_like | odd_values, agent=odd_values,
)
raw_bodies = st.one_of(
    st.binary(max_size=100),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.just(b"[" * 50000),
    st.just(b"\xef\xbb\xbf{}"),
)
# A JSON-RPC id of a record: what a browser sends, and what a hostile one might.
record_ids = st.one_of(odd_values, st.integers(min_value=-5, max_value=10**12))


@tagged("post_install", "-at_install")
class TestFuzzHttp(HttpCase, Realtor3cxMixin):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_realtor_3cx()
        cls.extension = cls.env["threecx.extension"].create(
            {"server_id": cls.server.id, "number": "101", "user_id": cls.realtor.id}
        )
        cls.env["res.partner"].create({"name": "Dana Fuzz", "phone": CALLER,
                                       "email": "dana.fuzz@example.com"})
        cls.key = cls.server.with_user(cls.admin).action_generate_crm_key()["context"][
            "default_key"
        ]
        cls.other_realtor = new_test_user(
            cls.env, login="r3cx_other", groups="realtor_3cx.realtor_3cx_group_user"
        )
        Session = cls.env["threecx.softphone.session"]
        base = {"server_id": cls.server.id, "extension": "101", "offer": "v=0\r\n",
                "state": "answered", "call_id": "4242"}
        cls.own_session = Session.create({**base, "user_id": cls.realtor.id})
        cls.foreign_session = Session.create({**base, "user_id": cls.other_realtor.id})
        # A high limit: fuzzing with the right key must reach the handlers, not the limiter.
        cls.env["ir.config_parameter"].set_param("realtor_3cx.crm_rate_limit", "1000000")

    def setUp(self):
        super().setUp()
        reset_rate_limits(self.env.cr)
        self.endpoint = (
            f"{self.base_url()}/realtor_3cx/crm/{self.env.cr.dbname}/{self.server.id}"
        )

    # -- helpers --------------------------------------------------------------------------------

    def snapshot(self):
        """What a request could have written, as plain values."""
        cr = self.env.cr
        counts = {}
        for table in ("threecx_call", "res_partner", "threecx_dial_request",
                      "threecx_softphone_session", "mail_message", "mail_activity"):
            cr.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (fixed table names)
            counts[table] = cr.fetchone()[0]
        cr.execute("SELECT string_agg(id || ':' || state, ',' ORDER BY id) "
                   "FROM threecx_softphone_session")
        counts["softphone states"] = cr.fetchone()[0]
        cr.execute("SELECT crm_key_hash FROM threecx_server WHERE id = %s", (self.server.id,))
        counts["crm key"] = cr.fetchone()[0]
        return counts

    def crm(self, method, path, body=None, key=None, params=None):
        headers = {}
        if key is not False:
            headers["X-Api-Key"] = self.key if key is None else key
        if body is not None:
            headers["Content-Type"] = "application/json"
        return self.opener.request(method, f"{self.endpoint}/{path}", data=body,
                                   params=params, headers=headers, timeout=TIMEOUT)

    def assert_crm_answer(self, response, before):
        """No 500; a refusal is a JSON error with a message and wrote nothing."""
        self.assertLess(response.status_code, 500, response.text[:500])
        body = response.json()
        # Seen with --hypothesis-show-statistics: how many examples got past validation.
        event(f"{response.status_code} {body.get('error', {}).get('code', 'ok')}")
        if response.status_code >= 400:
            self.assertIn(response.status_code, (400, 401, 404, 429), body)
            self.assertTrue(body["error"]["code"], body)
            self.assertGreater(len(body["error"]["message"]), 10, body)
            self.assertEqual(self.snapshot(), before, body)
        else:
            self.assertEqual(response.status_code, 200)
        return body

    def jsonrpc(self, route, params):
        return self.opener.post(
            f"{self.base_url()}{route}",
            data=json.dumps({"jsonrpc": "2.0", "method": "call", "id": 1, "params": params}),
            headers={"Content-Type": "application/json"},
            timeout=TIMEOUT,
        )

    def assert_rpc_answer(self, response, before):
        """The JSON-RPC counterpart: an error is a user-facing Odoo exception, a refusal
        (``ok: False``) has a message, and only a request handed to the worker wrote a row."""
        self.assertEqual(response.status_code, 200, response.text[:500])
        body = response.json()
        # The message's fixed tail names the reason without the fuzzed text in it.
        event(body["error"]["data"]["name"] if "error" in body
              else str(body["result"].get("message"))[-36:])
        if "error" in body:
            error = body["error"]
            # builtins.TypeError, psycopg2.errors...: what a plain route would answer with 500.
            self.assertTrue(error["data"]["name"].startswith("odoo.exceptions."), error)
            self.assertTrue(error["data"]["message"], error)
            self.assertEqual(self.snapshot(), before, error)
            return None
        result = body["result"]
        self.assertIsInstance(result, dict)
        if result.get("state") == "pending":
            return result  # handed to the worker (which answers on the bus): its row is written
        if not result.get("ok"):
            self.assertTrue(result.get("message"), result)
            if not str(result["message"]).startswith(WORKER_GONE):
                self.assertEqual(self.snapshot(), before, result)
        return result

    # -- the CRM-template endpoints ------------------------------------------------------------

    @given(number=st.one_of(phone_like, texts), direction=texts,
           extra=st.dictionaries(st.text(min_size=1, max_size=10), texts, max_size=2))
    @example(number="9" * 70, direction="inbound", extra={})
    @example(number="", direction="", extra={})
    @fuzz(60)
    def test_lookup_and_search_take_any_query(self, number, direction, extra):
        before = self.snapshot()
        lookup = self.crm("GET", "lookup", params={**extra, "number": number,
                                                   "direction": direction})
        result = self.assert_crm_answer(lookup, before)
        if lookup.status_code == 200:
            self.assertIsInstance(result["contacts"], list)
        search = self.crm("GET", "search", params={"q": number})
        result = self.assert_crm_answer(search, before)
        if search.status_code == 200:
            self.assertLessEqual(len(result["contacts"]), 20)
        self.assertEqual(self.snapshot(), before)  # lookups never write

    @given(body=st.one_of(raw_bodies, st.fixed_dictionaries(
        {}, optional={"email": st.emails() | texts | odd_values}).map(
        lambda v: json.dumps(v).encode())))
    @fuzz(40)
    def test_email_lookup_takes_any_body(self, body):
        before = self.snapshot()
        self.assert_crm_answer(self.crm("POST", "email", body), before)
        self.assertEqual(self.snapshot(), before)

    @given(body=st.one_of(raw_bodies, contact_bodies.map(lambda v: json.dumps(v).encode())))
    @example(body=json.dumps({"first_name": "Fuzz", "number": CALLER}).encode())
    @fuzz(60)
    def test_contact_creation_takes_any_body(self, body):
        before = self.snapshot()
        result = self.assert_crm_answer(self.crm("POST", "contact", body), before)
        if "created" in result:
            after = self.snapshot()
            self.assertEqual(after["res_partner"] - before["res_partner"],
                             1 if result["created"] else 0, result)
            self.assertTrue(result["contacts"])

    @given(body=st.one_of(raw_bodies, report_bodies.map(lambda v: json.dumps(v).encode())))
    @example(body=json.dumps({"call_type": "Inbound", "number": CALLER,
                              "call_start_utc": "2026-11-25 15:00:00", "duration": "1" * 400,
                              "call_end_utc": "2026-11-25 15:10:00"}).encode())
    @example(body=json.dumps({"call_type": "Inbound", "number": CALLER,
                              "call_start_utc": "2026-11-25 15:00:00",
                              "call_end_utc": "2026-11-25 15:10:00",
                              "duration": "99999999999"}).encode())
    @example(body=json.dumps({"call_type": "Missed", "number": CALLER,
                              "call_start_utc": "0001-01-01 00:00:00"}).encode())
    @example(body=json.dumps({"call_type": "Missed", "number": CALLER,
                              "call_start_utc": "9999-12-31 23:59:59"}).encode())
    @example(body=json.dumps({"call_type": "Missed", "number": CALLER,
                              "call_start_utc": "0001-01-01T00:00:00+01:00"}).encode())
    @fuzz(80)
    def test_report_call_takes_any_body(self, body):
        before = self.snapshot()
        result = self.assert_crm_answer(self.crm("POST", "report_call", body), before)
        if "created" in result:
            after = self.snapshot()
            self.assertEqual(after["threecx_call"] - before["threecx_call"],
                             1 if result["created"] else 0, result)
            call = self.env["threecx.call"].browse(result["id"])
            self.assertLessEqual(call.start_at, call.end_at)

    @given(
        key=st.one_of(st.none(), st.text(
            alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=300)),
        path=st.sampled_from(["lookup", "search", "email", "contact", "report_call"]),
        server_id=st.one_of(st.none(), st.none(), st.integers(min_value=0, max_value=10**20)),
    )
    @fuzz(40)
    def test_wrong_keys_and_servers_are_refused_with_a_reason(self, key, path, server_id):
        reset_rate_limits(self.env.cr)
        before = self.snapshot()
        method = "GET" if path in ("lookup", "search") else "POST"
        endpoint = self.endpoint
        if server_id is not None and server_id != self.server.id:
            self.endpoint = (
                f"{self.base_url()}/realtor_3cx/crm/{self.env.cr.dbname}/{server_id}"
            )
        try:
            response = self.crm(method, path,
                                body=json.dumps({"call_type": "Inbound", "number": CALLER,
                                                 "call_start_utc": "2026-11-25 15:00:00",
                                                 "first_name": "X", "email": "x@example.com"}),
                                key=False if key is None else key,
                                params={"number": CALLER, "q": "Dana"})
        finally:
            self.endpoint = endpoint
        if key == self.key and server_id in (None, self.server.id):
            return  # guessed right: not this test's subject (the odds are nil)
        self.assertIn(response.status_code, (401, 404), response.text[:300])
        self.assert_crm_answer(response, before)

    # -- click-to-call -------------------------------------------------------------------------

    @given(number=st.one_of(phone_like, odd_values),
           kwargs=st.fixed_dictionaries({}, optional={
               "res_model": st.sampled_from(["res.partner", "threecx.call", "res.users"])
               | odd_values,
               "res_id": record_ids,
           }))
    @example(number=CALLER, kwargs={"res_model": "res.partner", "res_id": "x"})
    @example(number=CALLER, kwargs={"res_model": "threecx.call", "res_id": [1, 2]})
    @example(number=CALLER, kwargs={"res_model": "res.partner", "res_id": 10**12})
    @example(number={"a": 1}, kwargs={})
    @fuzz(60)
    def test_click_to_call_takes_any_arguments(self, number, kwargs):
        self.authenticate("r3cx_realtor", "r3cx_realtor")
        before = self.snapshot()
        response = self.jsonrpc("/web/dataset/call_kw/threecx.call/realtor_3cx_dial", {
            "model": "threecx.call", "method": "realtor_3cx_dial",
            "args": [number], "kwargs": kwargs,
        })
        result = self.assert_rpc_answer(response, before)
        if result is not None:
            # a tel: link only for a number the rules allowed (the worker is what failed)
            self.assertTrue(result["tel"] is False or str(result["tel"]).startswith("tel:+"))
            self.assertFalse(result["ok"])  # no worker here: nothing is ever placed
            # queued for the worker only if the rules allowed it, with the number to dial
            self.assertEqual(result["state"] == "pending", bool(result["tel"]), result)

    @given(params=st.fixed_dictionaries(
        {"number": st.one_of(phone_like, odd_values)},
        optional={"did": st.one_of(phone_like, odd_values),
                  "region": st.one_of(st.sampled_from(["US", "FR", "XX", "", "us"]),
                                      odd_values)},
    ))
    @example(params={"number": CALLER, "region": 5})
    @example(params={"number": CALLER, "did": CALLER, "region": ["US"]})
    @fuzz(40)
    def test_caller_lookup_takes_any_arguments(self, params):
        """The pop-up's own lookup, callable by any realtor over RPC."""
        self.authenticate("r3cx_realtor", "r3cx_realtor")
        before = self.snapshot()
        response = self.jsonrpc("/web/dataset/call_kw/threecx.caller.lookup/lookup", {
            "model": "threecx.caller.lookup", "method": "lookup", "args": [],
            "kwargs": params,
        })
        self.assertEqual(response.status_code, 200)
        body = response.json()
        event(body["error"]["data"]["name"] if "error" in body else "answered")
        self.assertNotIn("error", body, body.get("error"))
        result = body["result"]
        self.assertEqual(result["ambiguous"], len(result["partners"]) > 1)
        self.assertEqual(self.snapshot(), before)  # a lookup never writes

    # -- the softphone -------------------------------------------------------------------------

    @given(params=st.fixed_dictionaries({}, optional={
        "sdp": st.one_of(odd_values, texts.map(lambda t: "v=0\r\n" + t),
                         st.just("v=0" + "x" * 70000)),
        "destination": phone_like | odd_values,
        "call_id": record_ids,
    }))
    @example(params={"sdp": "v=0\r\n", "call_id": "abc"})
    @example(params={"sdp": "v=0\r\n", "call_id": [1]})
    @example(params={"sdp": "v=0\r\n", "call_id": 10**12})
    @example(params={})
    @fuzz(60)
    def test_softphone_offer_takes_any_params(self, params):
        self.authenticate("r3cx_realtor", "r3cx_realtor")
        before = self.snapshot()
        result = self.assert_rpc_answer(
            self.jsonrpc("/realtor_3cx/softphone/offer", params), before)
        if result is not None:
            self.assertFalse(result["ok"])  # no worker here: no call ever starts

    @given(route=st.sampled_from(["hangup", "transfer"]),
           params=st.fixed_dictionaries({}, optional={
               "session_id": record_ids | st.just("foreign"),
               "destination": phone_like | odd_values,
           }))
    @example(route="hangup", params={"session_id": "abc"})
    @example(route="hangup", params={"session_id": 10**12})
    @example(route="transfer", params={"session_id": "foreign", "destination": "102"})
    @example(route="hangup", params={})
    @fuzz(60)
    def test_softphone_hangup_and_transfer_take_any_params(self, route, params):
        if params.get("session_id") == "foreign":
            params = {**params, "session_id": self.foreign_session.id}
        if params.get("session_id") == self.own_session.id:
            params = {**params, "session_id": self.own_session.id + 10**6}
        self.authenticate("r3cx_realtor", "r3cx_realtor")
        before = self.snapshot()
        result = self.assert_rpc_answer(
            self.jsonrpc(f"/realtor_3cx/softphone/{route}", params), before)
        if result is not None and route == "hangup":
            # Never this realtor's session (excluded above): nothing of theirs to end.
            self.assertFalse(result["ok"])
            self.assertIn("not yours", result["message"])

    @given(destination=phone_like | odd_values)
    @example(destination="102")
    @example(destination=["102"])
    @fuzz(40)
    def test_transfer_of_an_own_call_takes_any_destination(self, destination):
        self.authenticate("r3cx_realtor", "r3cx_realtor")
        before = self.snapshot()
        result = self.assert_rpc_answer(self.jsonrpc("/realtor_3cx/softphone/transfer", {
            "session_id": self.own_session.id, "destination": destination,
        }), before)
        if result is not None:
            self.assertFalse(result["ok"])  # no worker here: the transfer is never made
