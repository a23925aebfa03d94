# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The CRM-template emitter against a real local HTTP server standing in for the CRM.

The server records every request (method, path, query, headers, body) and answers from a
per-path script, optionally after a delay, counting how many requests are in flight at once.
"""

import base64
import doctest
import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from realtor_3cx.threecx.simulator import crm
from realtor_3cx.threecx.simulator.crm import (
    CALL_TYPES,
    CrmEmitter,
    ExpressionError,
    LookupResult,
    TemplateError,
    evaluate_condition,
    expand,
    format_number,
    load_example_template,
    load_template,
    numbers_match,
)

API_KEY = "k3y-S3cr3t-value"
ADA = {
    "id": 7,
    "first_name": "Ada",
    "last_name": "Lovelace",
    "company": "Analytical Engines",
    "email": "ada@example.com",
    "phone_business": "+44 20 7946 0001",
    "phone_mobile": "+4915112345678",
    "url": "http://crm.test/contacts/7",
}


class FakeCrm:
    """A scripted JSON CRM on 127.0.0.1: ``route(path, ...)`` sets what a path answers."""

    def __init__(self):
        self.requests = []
        self.routes = {}
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        crm_server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                crm_server.handle(self)

            do_POST = do_GET

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # clients that timed out leave broken pipes behind; not a test failure

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        # A short poll keeps shutdown() (run at every teardown) from waiting 0.5 s.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def route(self, path, json_body=None, *, status=200, raw=None, delay=0.0, ctype=None):
        body = raw if raw is not None else json.dumps(json_body or {}).encode()
        self.routes[path] = (status, body, delay, ctype or "application/json")

    def handle(self, handler):
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        parts = urlsplit(handler.path)
        with self.lock:
            self.requests.append(
                {
                    "method": handler.command,
                    "path": parts.path,
                    "raw_query": parts.query,
                    "query": parse_qs(parts.query, keep_blank_values=True),
                    "headers": dict(handler.headers),
                    "body": body,
                }
            )
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            status, payload, delay, ctype = self.routes.get(
                parts.path, (404, b'{"error": "no route"}', 0.0, "application/json")
            )
            if delay:
                time.sleep(delay)
            handler.send_response(status)
            handler.send_header("Content-Type", ctype)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        finally:
            with self.lock:
                self.in_flight -= 1

    def json(self, index=-1):
        return json.loads(self.requests[index]["body"])

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def fake_crm(request):
    server = FakeCrm()
    request.addfinalizer(server.close)
    return server


@pytest.fixture
def emitter(fake_crm):
    template = load_example_template({"Url": fake_crm.url, "ApiKey": API_KEY})
    with CrmEmitter(template, timeout=2.0) as emitter:
        yield emitter


def crm_xml(
    scenarios,
    *,
    parameters="",
    auth='<Authentication Type="No" />',
    number='<Number Prefix="AsIs" MaxLength="" />',
    connection='<Connection MaxConcurrentRequests="2" />',
):
    """A minimal template around the given <Scenario> elements."""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<Crm Country="Global" Name="Test" Version="1" SupportsEmojis="false">
  {number}
  {connection}
  <Parameters>
    <Parameter Name="Url" Type="String" Default="" />
    {parameters}
  </Parameters>
  {auth}
  <Scenarios>{scenarios}</Scenarios>
</Crm>"""


LOOKUP = """
<Scenario Id="" Type="REST">
  <Request Url="[Url]/lookup?number=[Number]" RequestType="Get" ResponseType="Json" />
  <Rules><Rule Type="Any">contacts.id</Rule></Rules>
  <Variables>
    <Variable Name="Id" Path="contacts.id" />
    <Variable Name="First" Path="contacts.first_name" />
    <Variable Name="Mobile" Path="contacts.phone_mobile" />
  </Variables>
  <Outputs AllowEmpty="false">
    <Output Type="FirstName" Value="[First]" />
    <Output Type="PhoneMobile" Value="[Mobile]" />
    <Output Type="EntityId" Value="[Id]" />
  </Outputs>
</Scenario>"""

SCENARIO_AUTH = '<Authentication Type="Scenario"><Value>Auth</Value></Authentication>'
FORM_AND_TYPED = """
<Scenario Id="ReportCall" Type="REST">
  <Request Url="[Url]/form" RequestType="Post" RequestEncoding="UrlEncoded" ResponseType="Json">
    <PostValues>
      <Value Key="number" Type="String">[Number]</Value>
      <Value Key="who" Passes="1" Type="String">[Agent] &amp; co</Value>
      <Value Key="skipped" SkipIf="[CallType]==Inbound" Type="String">no</Value>
    </PostValues>
  </Request>
  <Outputs AllowEmpty="true" />
</Scenario>
<Scenario Id="Typed" Type="REST">
  <Request Url="[Url]/typed" RequestType="Post" RequestEncoding="Json" ResponseType="Json">
    <PostValues>
      <Value Key="count" Type="Integer">[Count]</Value>
      <Value Key="flag" Type="Boolean">[Flag]</Value>
      <Value Key="none" Type="Integer">[Missing]</Value>
      <Array Key="ids">
        <Value Key="" Type="Integer">1</Value><Value Key="" Type="String">x</Value>
      </Array>
      <Object Key="kw"><Value Key="ctx" Type="String">[Agent]</Value></Object>
    </PostValues>
  </Request>
  <Outputs AllowEmpty="true" />
</Scenario>"""
AUTH_SCENARIO = """
<Scenario Id="Auth" Type="REST">
  <Request Url="[Url]/auth" RequestType="Post" RequestEncoding="Json" ResponseType="Json">
    <PostValues><Value Key="key" Type="String">[ApiKey]</Value></PostValues>
  </Request>
  <Rules><Rule Type="Any">token</Rule></Rules>
  <Variables><Variable Name="Token" Path="token" /></Variables>
  <Outputs AllowEmpty="false">
    <Output Type="HeaderName" Value="X-Session" />
    <Output Type="HeaderValue" Value="[Token]" />
    <Output Type="BearerExpiration" Value="30" />
  </Outputs>
</Scenario>"""
SECRET_JOURNAL = """
<Scenario Id="ReportCall" Type="REST">
  <Request Url="[Url]/journal?key=[ApiKey]" RequestType="Post" RequestEncoding="Json">
    <PostValues><Value Key="pw" Type="String">[Password]</Value></PostValues>
  </Request>
  <Outputs AllowEmpty="true" />
</Scenario>"""


def make_emitter(fake_crm, scenarios, parameters=None, *, parameter_xml="", **kwargs):
    """An emitter for ``crm_xml(scenarios)``; auth/number/connection go to the template."""
    template_kwargs = {k: kwargs.pop(k) for k in ("auth", "number", "connection") if k in kwargs}
    xml = crm_xml(scenarios, parameters=parameter_xml, **template_kwargs)
    template = load_template(xml, {"Url": fake_crm.url, **(parameters or {})})
    kwargs.setdefault("timeout", 2.0)
    return CrmEmitter(template, **kwargs)


# --------------------------------------------------------------------------- template parsing


def test_doctests():
    result = doctest.testmod(crm)
    assert result.attempted > 0 and result.failed == 0


def test_example_template_parses():
    template = load_example_template({"ApiKey": API_KEY})
    assert template.name == "Generic JSON CRM (realtor_3cx example)"
    assert (template.number_prefix, template.number_max_length) == ("Plus", "[MaxLength]")
    assert template.max_concurrent_requests == 2
    assert set(template.scenarios) == {"", "SearchContacts", "ReportCall"}
    assert template.parameters["ApiKey"].secret and not template.parameters["Url"].secret
    assert template.parameter_values["Url"] == "http://127.0.0.1:8069"  # the default
    assert template.parameter_values["ApiKey"] == API_KEY
    report = template.scenarios["ReportCall"]
    assert report.request.method == "POST" and report.request.encoding == "Json"
    assert report.allow_empty and report.request.skip_if == "[ReportCallEnabled]!=True"
    assert template.warnings == ()  # only constructs seen in production templates


def test_template_records_unconfirmed_functions_as_warnings():
    scenario = LOOKUP.replace("[Url]/lookup?number=[Number]", "[Url]/l?n=[UrlEncode([Number])]")
    template = load_template(crm_xml(scenario.replace("[First]", "[[First].Frobnicate()]")))
    assert any("UrlEncode() is a simulator convenience" in w for w in template.warnings)
    assert any("unknown method .Frobnicate()" in w for w in template.warnings)


def _scenario(request='<Request Url="[Url]/x" RequestType="Get" />', body=""):
    return f'<Scenario Id="" Type="REST">{request}{body}</Scenario>'


@pytest.mark.parametrize(
    "xml, message",
    [
        ("<Crm Name='x'><Scenarios>", "not well-formed XML"),
        (
            '<!DOCTYPE Crm [<!ENTITY a "aaaa">]><Crm Name="x"/>',
            "must not contain a DOCTYPE or ENTITY",
        ),
        ('<Template Name="x"/>', "root element must be <Crm>, got <Template>"),
        ("<Crm><Scenarios/></Crm>", "<Crm>: attribute Name is required"),
        (crm_xml(_scenario(), number='<Number Prefix="Sometimes" />'), "<Number>@Prefix"),
        (
            crm_xml(_scenario(), connection='<Connection MaxConcurrentRequests="0" />'),
            "<Connection>@MaxConcurrentRequests: 0 is below the minimum of 1",
        ),
        (
            crm_xml(_scenario(), connection='<Connection MaxConcurrentRequests="two" />'),
            "<Connection>@MaxConcurrentRequests: 'two' is not an integer",
        ),
        (crm_xml(_scenario(), auth='<Authentication Type="OAuth" />'), "<Authentication>@Type"),
        (
            crm_xml(_scenario(), auth='<Authentication Type="Basic" />'),
            '<Authentication Type="Basic">: a <Value> is required',
        ),
        (
            crm_xml(_scenario(), auth=SCENARIO_AUTH),
            "<Authentication>/<Value>: no scenario 'Auth'",
        ),
        (crm_xml('<Scenario Id="" Type="REST" />'), '<Scenario Id="">: a <Request> element'),
        (
            crm_xml('<Scenario Id="" Type="SQLDatabase"><Request Url="x"/></Scenario>'),
            '<Scenario Id="">@Type',
        ),
        (crm_xml(_scenario("<Request />")), '<Scenario Id="">/<Request>: attribute Url'),
        (
            crm_xml(_scenario('<Request Url="x" RequestType="Put" />')),
            "<Request>@RequestType: 'Put' is not one of Get, Post",
        ),
        (
            crm_xml(_scenario('<Request Url="[Url]/x?n=[Number" />')),
            "<Request>@Url: unclosed '['",
        ),
        (
            crm_xml(_scenario('<Request Url="x" SkipIf="[A]==" />')),
            "<Request>@SkipIf: unexpected end",
        ),
        (
            crm_xml(_scenario(body='<Rules><Rule Type="Regex">a.b</Rule></Rules>')),
            "<Rules>/<Rule>@Type: 'Regex' is not one of Any, Equals, Number",
        ),
        (
            crm_xml(_scenario(body='<Outputs Next="Nowhere" />')),
            "<Outputs>@Next: no scenario 'Nowhere'",
        ),
        (
            crm_xml(_scenario(body='<Outputs AllowEmpty="maybe" />')),
            "<Outputs>@AllowEmpty: 'maybe' is not true/false",
        ),
        (
            crm_xml(_scenario(body='<Outputs><Output Type="FirstName" Value="[IIf(]"/></Outputs>')),
            '<Output Type="FirstName">@Value',
        ),
        (crm_xml(_scenario() + _scenario()), "duplicate scenario Id"),
        (
            crm_xml('<Scenario Id="ReportCall"><Request Url="x" /></Scenario>'),
            'the contact lookup <Scenario Id=""> is required',
        ),
        (
            crm_xml(
                _scenario(
                    '<Request Url="x" RequestType="Post" RequestEncoding="UrlEncoded">'
                    '<PostValues><Object Key="o"><Value Key="a">1</Value></Object></PostValues>'
                    "</Request>"
                )
            ),
            "a nested object needs a Json request (UrlEncoded bodies and headers are flat)",
        ),
    ],
)
def test_malformed_templates_say_where(xml, message):
    with pytest.raises(TemplateError) as info:
        load_template(xml)
    assert message in str(info.value)


def test_undeclared_parameter_and_oversized_template_are_rejected():
    with pytest.raises(TemplateError, match="parameter 'Nope' is not declared"):
        load_template(crm_xml(LOOKUP), {"Nope": "x"})
    padding = "<!--" + "x" * crm.MAX_TEMPLATE_BYTES + "-->"
    with pytest.raises(TemplateError, match="template too large"):
        load_template(crm_xml(LOOKUP) + padding)


# --------------------------------------------------------------------------- expressions


def test_passes_control_how_deep_parameters_expand():
    variables = {"Text": "call from [Number]", "Number": "+4930123"}
    assert expand("[[Text]]", variables, passes=1) == "call from [Number]"
    assert expand("[[Text]]", variables, passes=2) == "call from +4930123"
    # Passes="0" is one pass: production templates write Passes="0" on "[FirstName]" outputs.
    assert expand("[Number]", variables, passes=0) == "+4930123"
    assert expand("[Unknown]-[Number]", variables) == "-+4930123"


def test_iif_comparisons_methods_and_escapes():
    variables = {"CallType": "Missed", "Flag": "True", "Empty": "", "Number": "+49 30"}
    assert expand("[IIf([CallType]==Missed,missed,taken)]", variables) == "missed"
    assert expand('[IIf([CallType]!="Missed","x",[IIf([Flag]==True,"y","z")])]', variables) == "y"
    assert expand('[[Number].Replace("+","%2B").Replace(" ","")]', variables) == "%2B4930"
    assert expand("[[CallType].ToUpper()] [[CallType].Substring(0,3)]", variables) == "MISSED Mis"
    assert expand("{{^^[CallType]^^}}", variables) == '["Missed"]'
    assert evaluate_condition('[Flag]!=True||[Empty]==""', variables) is True
    assert evaluate_condition("[Flag]==True&&!([CallType]==Missed)", variables) is False
    assert evaluate_condition("", variables) is False
    with pytest.raises(ExpressionError, match="'\\|\\|' needs a boolean, got 'Missed'"):
        evaluate_condition("[CallType]||[Flag]", variables)
    with pytest.raises(ExpressionError, match="unknown method .Nope"):
        expand("[[CallType].Nope()]", variables)


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    "number, prefix, max_length, expected",
    [
        ("+4930123456", "AsIs", None, "+4930123456"),
        ("004930123456", "AsIs", None, "004930123456"),
        ("+4930123456", "Off", None, "4930123456"),
        ("004930123456", "Off", None, "4930123456"),
        ("+4930123456", "Plus", None, "+4930123456"),
        ("004930123456", "Plus", None, "+4930123456"),
        ("+4930123456", "Zeros", None, "004930123456"),
        ("004930123456", "Zeros", None, "004930123456"),
        ("030123456", "Plus", None, "030123456"),  # national: no international prefix to swap
        ("+4930123456", "Plus", 6, "123456"),
        ("+4930123456", "Zeros", 20, "004930123456"),  # shorter than MaxLength: unchanged
    ],
)
def test_format_number(number, prefix, max_length, expected):
    assert format_number(number, prefix, max_length) == expected


def test_numbers_match_ignores_formatting_and_honours_max_length():
    assert numbers_match("+49 (30) 123-456", "004930123456")
    assert not numbers_match("+4930123456", "030123456")
    assert numbers_match("+4930123456", "030123456", max_length=6)
    assert not numbers_match("", "")


# --------------------------------------------------------------------------- lookup


def test_lookup_match_sends_3cx_request_and_returns_outputs(emitter, fake_crm):
    fake_crm.route("/lookup", {"contacts": [ADA]})
    result = emitter.lookup("004915112345678", CallDirection="Inbound")
    assert isinstance(result, LookupResult) and result.ok and not result.skipped
    assert result.status == 200 and result.error == "" and result.elapsed > 0
    assert result.number == "+4915112345678"  # Prefix="Plus" rewrote 00
    assert result.contact == {
        "FirstName": "Ada",
        "LastName": "Lovelace",
        "CompanyName": "Analytical Engines",
        "Email": "ada@example.com",
        "PhoneBusiness": "+44 20 7946 0001",
        "PhoneMobile": "+4915112345678",
        "EntityId": "7",
        "EntityType": "Contacts",
        "ContactUrl": "http://crm.test/contacts/7",
    }
    (sent,) = fake_crm.requests
    assert (sent["method"], sent["path"]) == ("GET", "/lookup")
    # The template writes %2B by hand: 3CX does not encode what it substitutes.
    assert sent["raw_query"] == "number=%2B4915112345678"
    assert sent["query"] == {"number": ["+4915112345678"]}
    assert sent["headers"]["X-Api-Key"] == API_KEY


def test_lookup_no_match(emitter, fake_crm):
    fake_crm.route("/lookup", {"contacts": []})
    result = emitter.lookup("+4930999")
    assert result.ok and result.contact is None and result.contacts == []


def test_lookup_drops_contacts_whose_phones_lack_the_number(fake_crm):
    stranger = dict(ADA, phone_business="+4930111", phone_mobile="+4930222")
    fake_crm.route("/lookup", {"contacts": [stranger]})
    template = load_example_template({"Url": fake_crm.url})
    with CrmEmitter(template, timeout=2.0) as strict:
        result = strict.lookup("+4930999")
    assert result.ok and result.contact is None and result.dropped == 1
    with CrmEmitter(template, timeout=2.0, require_number_match=False) as lenient:
        assert lenient.lookup("+4930999").contact["EntityId"] == "7"


def test_lookup_keeps_the_contact_that_owns_the_number(emitter, fake_crm):
    other = dict(ADA, id=8, first_name="Bob", phone_mobile="+4930111", phone_business="")
    fake_crm.route("/lookup", {"contacts": [other, ADA]})
    result = emitter.lookup("+44 20 7946 0001")
    assert [c["FirstName"] for c in result.contacts] == ["Ada"] and result.dropped == 1


def test_max_length_variable_truncates_the_number_and_matching(emitter, fake_crm):
    fake_crm.route("/lookup", {"contacts": [ADA]})
    result = emitter.lookup("+4915112345678", MaxLength=6)
    assert fake_crm.requests[-1]["query"] == {"number": ["345678"]}
    assert result.number == "345678" and result.contact["FirstName"] == "Ada"
    template = load_example_template({"Url": fake_crm.url})
    with CrmEmitter(template, timeout=2.0, max_length=4) as pbx_default:
        assert pbx_default.lookup("+4915112345678").number == "5678"


def test_plain_number_in_a_get_url_is_not_encoded(fake_crm):
    """What 3CX does with `?number=[Number]`: the CRM receives a space instead of the +."""
    fake_crm.route("/lookup", {"contacts": []})
    with make_emitter(fake_crm, LOOKUP) as plain:
        plain.lookup("+4930 123")
    sent = fake_crm.requests[-1]
    assert sent["raw_query"] == "number=+4930%20123"  # only the space is quoted on the wire
    assert sent["query"] == {"number": [" 4930 123"]}


def test_rule_filter_equals_and_next_chain(fake_crm):
    scenarios = """
<Scenario Type="REST">
  <Request Url="[Url]/find?term=[Number]" RequestType="Get" ResponseType="Json" />
  <Rules><Rule Type="Number">data.items.phones</Rule></Rules>
  <Variables><Variable Name="PersonId" Path="data.items.id"><Filter /></Variable></Variables>
  <Outputs Next="GetContactData" AllowEmpty="false" />
</Scenario>
<Scenario Id="GetContactData" Type="REST">
  <Request Url="[Url]/persons/[PersonId]" RequestType="Get" ResponseType="Json" />
  <Rules><Rule Type="Equals" Ethalon="[PersonId]">data.id</Rule></Rules>
  <Variables>
    <Variable Name="First" Path="data.first_name" />
    <Variable Name="Work" Path="data.phone.value">
      <Filter><Rule Type="Equals" Ethalon="work">data.phone.label</Rule></Filter>
    </Variable>
    <Variable Name="Mobile" Path="data.phone.value">
      <Filter><Rule Type="Equals" Ethalon="mobile">data.phone.label</Rule></Filter>
    </Variable>
  </Variables>
  <Outputs AllowEmpty="false">
    <Output Type="FirstName" Value="[First]" />
    <Output Type="PhoneBusiness" Value="[Work]" />
    <Output Type="PhoneMobile" Value="[Mobile]" />
    <Output Type="EntityId" Value="[PersonId]" />
  </Outputs>
</Scenario>"""
    fake_crm.route(
        "/find",
        {"data": {"items": [{"id": 1, "phones": ["+4930111"]}, {"id": 2, "phones": ["+4930222"]}]}},
    )
    phones = [{"label": "mobile", "value": "+4930222"}, {"label": "work", "value": "+4930999"}]
    fake_crm.route("/persons/2", {"data": {"id": 2, "first_name": "Grace", "phone": phones}})
    with make_emitter(fake_crm, scenarios) as chained:
        result = chained.lookup("+4930222")
    assert [r["path"] for r in fake_crm.requests] == ["/find", "/persons/2"]
    assert result.contact == {
        "FirstName": "Grace",
        "PhoneBusiness": "+4930999",
        "PhoneMobile": "+4930222",
        "EntityId": "2",
    }
    assert [e.scenario for e in result.exchanges] == ["", "GetContactData"]


def test_search_contacts_via_generic_run(emitter, fake_crm):
    fake_crm.route("/search", {"contacts": [ADA]})
    result = emitter.run("SearchContacts", {"SearchText": "Ada L&co"})
    assert result.ok and result.outputs[0]["FirstName"] == "Ada"
    assert fake_crm.requests[-1]["query"] == {"q": ["Ada L&co"]}  # [EscapedSearchText]
    with pytest.raises(KeyError, match="ReportChat"):
        emitter.run("ReportChat", {})


# --------------------------------------------------------------------------- ReportCall


def call(call_type, **extra):
    return {
        "CallType": call_type,
        "Number": "+4915112345678",
        "CallDirection": "Inbound" if call_type in ("Inbound", "Missed") else "Outbound",
        "Agent": "101",
        "AgentFirstName": "Alan",
        "AgentLastName": "Turing",
        "AgentEmail": "alan@example.com",
        "Duration": "00:01:05",
        "DateTime": "2026-01-02 10:00",
        "CallStartTimeUTC": "2026-01-02T09:00:00Z",
        "CallEstablishedTimeUTC": "2026-01-02T09:00:05Z",
        "CallEndTimeUTC": "2026-01-02T09:01:10Z",
        "QueueExtension": "800",
        "RecordingUrl": "https://pbx.test/rec/1.wav",
        **extra,
    }


WHEN, WHO = "2026-01-02 10:00:", "+4915112345678 Ada Lovelace"


@pytest.mark.parametrize(
    "call_type, body",
    [
        ("Inbound", f"{WHEN} Answered incoming call from {WHO} to 101 (00:01:05)"),
        ("Missed", f"{WHEN} Missed call from {WHO} to 101"),
        ("Outbound", f"{WHEN} Answered outgoing call from 101 to {WHO} (00:01:05)"),
        ("Notanswered", f"{WHEN} Unanswered outgoing call from 101 to {WHO}"),
    ],
)
def test_report_call_posts_json_for_every_call_type(emitter, fake_crm, call_type, body):
    fake_crm.route("/lookup", {"contacts": [ADA]})
    fake_crm.route("/journal", {"id": 99})
    contact = emitter.lookup("+4915112345678")
    result = emitter.report_call(contact=contact, **call(call_type))
    assert result.ok and result.status == 200 and result.call_type == call_type
    sent = fake_crm.requests[-1]
    assert (sent["method"], sent["path"]) == ("POST", "/journal")
    assert sent["headers"]["Content-Type"] == "application/json"
    assert sent["headers"]["X-Api-Key"] == API_KEY
    payload = fake_crm.json()
    assert payload["body"] == body
    assert payload["subject"] == f"3CX call {call_type}"
    assert payload["call_type"] == call_type and payload["entity_id"] == "7"
    assert payload["entity_type"] == "Contacts" and payload["name"] == "Ada Lovelace"
    assert payload["queue_extension"] == "800" and payload["transcription"] == ""


def test_report_call_rejects_unknown_call_type(emitter):
    assert set(CALL_TYPES) == {"Inbound", "Outbound", "Missed", "Notanswered"}
    with pytest.raises(ValueError, match="CallType must be one of"):
        emitter.report_call(**call("Voicemail"))
    with pytest.raises(ValueError, match="needs a Number"):
        emitter.report_call(CallType="Inbound")


def test_skip_if_sends_nothing(fake_crm):
    template = load_example_template({"Url": fake_crm.url, "ReportCallEnabled": False})
    with CrmEmitter(template, timeout=2.0) as emitter:
        result = emitter.report_call(**call("Inbound"))
    assert result.ok and result.skipped and result.exchanges == () and fake_crm.requests == []


def test_chained_report_call_sends_only_the_matching_call_type(fake_crm):
    steps = ""
    chain = ["ReportCall", "ReportCallMissed", "ReportCallOutbound"]
    for index, scenario_id in enumerate(chain):
        call_type = scenario_id.removeprefix("ReportCall") or "Inbound"
        nxt = chain[index + 1] if index + 1 < len(chain) else ""
        steps += f"""
<Scenario Id="{scenario_id}" Type="REST">
  <Request SkipIf="[ReportCallEnabled]!=True||[CallType]!={call_type}" Url="[Url]/{call_type}"
           RequestType="Post" RequestEncoding="Json" ResponseType="Json">
    <PostValues Key=""><Value Key="n" Passes="1" Type="String">[Number]</Value></PostValues>
  </Request>
  <Outputs Next="{nxt}" AllowEmpty="true" />
</Scenario>"""
    flag = '<Parameter Name="ReportCallEnabled" Type="Boolean" Default="True" />'
    fake_crm.route("/Missed", {})
    with make_emitter(fake_crm, LOOKUP + steps, parameter_xml=flag) as chained:
        result = chained.report_call(**call("Missed"))
    assert result.ok and not result.skipped
    assert [r["path"] for r in fake_crm.requests] == ["/Missed"]


def test_post_urlencoded_body_types_and_basic_auth(fake_crm):
    scenarios = LOOKUP + FORM_AND_TYPED
    params = '<Parameter Name="Password" Type="Password" Default="" />'
    auth = '<Authentication Type="Basic"><Value>svc:[Password]</Value></Authentication>'
    fake_crm.route("/form", {})
    fake_crm.route("/typed", {})
    emitter = make_emitter(
        fake_crm, scenarios, {"Password": "pa55word"}, parameter_xml=params, auth=auth
    )
    with emitter:
        assert emitter.report_call(**call("Inbound")).ok
        assert emitter.run("Typed", {"Count": "42", "Flag": "true", "Agent": "101"}).ok
    form, typed = fake_crm.requests
    assert form["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(form["body"].decode()) == {"number": ["+4915112345678"], "who": ["101 & co"]}
    expected = "Basic " + base64.b64encode(b"svc:pa55word").decode()
    assert form["headers"]["Authorization"] == expected
    assert typed["headers"]["Authorization"] == expected
    assert json.loads(typed["body"]) == {
        "count": 42,
        "flag": True,
        "none": None,
        "ids": [1, "x"],
        "kw": {"ctx": "101"},
    }


def test_scenario_authentication_header_is_fetched_once(fake_crm):
    scenarios = LOOKUP + AUTH_SCENARIO
    params = '<Parameter Name="ApiKey" Type="String" Default="" />'
    auth = SCENARIO_AUTH
    fake_crm.route("/auth", {"token": "sess-0123456789"})
    fake_crm.route("/lookup", {"contacts": [ADA]})
    emitter = make_emitter(
        fake_crm, scenarios, {"ApiKey": API_KEY}, parameter_xml=params, auth=auth
    )
    with emitter:
        assert emitter.lookup("+4915112345678").contact["FirstName"] == "Ada"
        assert emitter.lookup("+4915112345678").ok
    assert [r["path"] for r in fake_crm.requests] == ["/auth", "/lookup", "/lookup"]
    assert fake_crm.json(0) == {"key": API_KEY}
    assert fake_crm.requests[1]["headers"]["X-Session"] == "sess-0123456789"


# --------------------------------------------------------------------------- concurrency


@pytest.mark.parametrize("override, expected", [(None, 2), (3, 3)])
def test_max_concurrent_requests_caps_parallelism(fake_crm, override, expected):
    fake_crm.route("/lookup", {"contacts": []}, delay=0.15)
    template = load_example_template({"Url": fake_crm.url})
    results = []
    with CrmEmitter(template, timeout=2.0, max_concurrent=override) as emitter:
        threads = [
            threading.Thread(target=lambda: results.append(emitter.lookup("+4930123")))
            for _ in range(7)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=5)
    assert len(results) == 7 and all(r.ok for r in results)
    assert fake_crm.max_in_flight == expected


# --------------------------------------------------------------------------- failures


def _assert_one_warning(caplog, fragment):
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and fragment in warnings[0].getMessage()


def test_crm_timeout_is_a_result_not_an_exception(fake_crm, caplog):
    fake_crm.route("/lookup", {"contacts": [ADA]}, delay=1.0)
    template = load_example_template({"Url": fake_crm.url})
    with caplog.at_level(logging.WARNING, logger=crm.__name__):
        with CrmEmitter(template, timeout=0.2) as emitter:
            result = emitter.lookup("+4915112345678")
    assert not result.ok and result.status is None and result.contact is None
    assert result.error.startswith("timeout after 0.2s: GET ")
    assert 0.2 <= result.elapsed < 0.9
    _assert_one_warning(caplog, "timeout after 0.2s")


def test_connection_refused_is_a_result(caplog):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    template = load_example_template({"Url": f"http://127.0.0.1:{port}"})
    with caplog.at_level(logging.WARNING, logger=crm.__name__):
        with CrmEmitter(template, timeout=1.0) as emitter:
            result = emitter.report_call(**call("Inbound"))
    assert not result.ok and result.status is None
    assert result.error.startswith("connection failed: POST ")
    assert "refused" in result.error.lower()
    _assert_one_warning(caplog, "connection failed")


def test_http_500_and_non_json_are_results(emitter, fake_crm, caplog):
    fake_crm.route("/lookup", raw=b"oops", status=500, ctype="text/plain")
    fake_crm.route("/journal", raw=b"<html>ok</html>", ctype="text/html")
    with caplog.at_level(logging.WARNING, logger=crm.__name__):
        failed = emitter.lookup("+4915112345678")
        assert not failed.ok and failed.status == 500
        assert failed.error.startswith("HTTP 500 Internal Server Error: GET ")
        _assert_one_warning(caplog, "HTTP 500")
        caplog.clear()
        garbled = emitter.report_call(**call("Missed"))
    assert not garbled.ok and garbled.status == 200
    assert garbled.error.startswith("response is not JSON")
    _assert_one_warning(caplog, "not JSON")


def test_empty_2xx_body_journals_fine(emitter, fake_crm):
    fake_crm.route("/journal", raw=b"", status=204)
    assert emitter.report_call(**call("Outbound")).ok


# --------------------------------------------------------------------------- secrets, history


def test_secrets_are_redacted_in_history_errors_and_logs(fake_crm, caplog):
    scenarios = LOOKUP.replace("number=[Number]", "number=[Number]&amp;token=[Token]")
    scenarios += SECRET_JOURNAL
    params = (
        '<Parameter Name="ApiKey" Type="String" Default="" />'
        '<Parameter Name="Token" Type="String" Default="" />'
        '<Parameter Name="Password" Type="Password" Default="" />'
    )
    auth = '<Authentication Type="Basic"><Value>svc:[Password]</Value></Authentication>'
    secrets = {"ApiKey": API_KEY, "Token": "tok/en+42", "Password": "hunter22"}
    fake_crm.route("/lookup", raw=b"no", status=500)
    fake_crm.route("/journal", raw=b"no", status=503)
    with caplog.at_level(logging.DEBUG, logger=crm.__name__):
        with make_emitter(fake_crm, scenarios, secrets, parameter_xml=params, auth=auth) as em:
            lookup = em.lookup("+4930123")
            report = em.report_call(**call("Inbound"))
            history = em.history
    assert fake_crm.requests[0]["query"]["token"] == ["tok/en 42"]  # really sent
    texts = [lookup.error, report.error, caplog.text]
    texts += [e.url + e.error + e.body for e in history]
    for text in texts:
        for secret in secrets.values():
            assert secret not in text
    assert history[0].url.endswith("&token=***") and "key=***" in history[1].url
    assert json.loads(history[1].body) == {"pw": "***"}
    assert "***" in caplog.text


def test_history_is_bounded_and_records_ground_truth(fake_crm):
    fake_crm.route("/lookup", {"contacts": []})
    template = load_example_template({"Url": fake_crm.url})
    with CrmEmitter(template, timeout=2.0, history_size=3) as emitter:
        for index in range(5):
            emitter.lookup(f"+49301234{index}")
        history = emitter.history
        emitter.clear_history()
        assert emitter.history == []
    assert len(history) == 3
    expected = [f"%2B49301234{index}" for index in (2, 3, 4)]
    assert [e.url.rsplit("=", 1)[1] for e in history] == expected
    assert all(e.method == "GET" and e.status == 200 and e.scenario == "" for e in history)
    assert all(e.elapsed > 0 and e.error == "" for e in history)
