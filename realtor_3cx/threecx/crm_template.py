# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The 3CX server-side CRM template that makes the PBX call Odoo (no Odoo import).

What
----
:func:`render_template` writes the XML a 3CX admin uploads under *Integrations > CRM*
(docs/3cx-api.md §5). 3CX then calls the addon's endpoints
(``realtor_3cx/controllers/crm_template.py``) under ``<endpoint>`` =
``<Odoo URL>/realtor_3cx/crm/<database>/<server id>``: 3CX keeps no cookie, so the URL names
the database for Odoos that serve several:

=================================  ==========================================================
Scenario                           Request
=================================  ==========================================================
``""`` (lookup, on every call)     ``GET <endpoint>/lookup?number=%2B1555...&direction=...``
``SearchContacts`` (3CX clients)   ``GET <endpoint>/search?q=<EscapedSearchText>``
``LookupByEmail``                  ``POST <endpoint>/email`` ``{"email"}``
``CreateContactRecordFromClient``  ``POST <endpoint>/contact`` ``{"first_name", "last_name",
                                   "email", "number"}``
``ReportCall`` (after each call)   ``POST <endpoint>/report_call`` with the journaling variables
=================================  ==========================================================

Every request carries the server's CRM API key in ``X-Api-Key`` (the template's ``ApiKey``
parameter, typed by the admin in 3CX: the key is never written into the file). Contact answers
are ``{"contacts": [{"id", "first_name", "last_name", "company", "email", "phone_business",
"phone_mobile", "phone_other", "url"}]}``.

How it works
------------
Only constructs seen in production templates are used (the simulator's emitter,
``simulator/crm.py``, lists them): header values from parameters, ``[[Number].Replace("+",
"%2B")]`` because 3CX substitutes values into URLs without encoding them, JSON ``PostValues``
(so e-mail addresses and names need no URL encoding), ``Outputs AllowEmpty="true"`` for
ReportCall. ``<Number Prefix="Plus">`` asks 3CX for international numbers with a ``+``.

Caveats
-------
Whether 3CX fills ``[CallDirection]`` during a lookup is not documented: the endpoint treats an
empty direction as a possible outbound call (see the controller). The value of ``[Email]`` in
``LookupByEmail`` is inferred from the scenario's name.

>>> xml = render_template("https://crm.example.com", 7, "Head office", database="brokerage")
>>> b'Default="https://crm.example.com/realtor_3cx/crm/brokerage/7"' in xml
True
"""

from urllib.parse import quote
from xml.sax.saxutils import quoteattr

ENDPOINT_PATH = "/realtor_3cx/crm/{server_id}"  # no database: what templates before it used
DATABASE_ENDPOINT_PATH = "/realtor_3cx/crm/{database}/{server_id}"
API_KEY_HEADER = "X-Api-Key"
TEMPLATE_VERSION = 1

_CONTACT_VARIABLES = (
    ("ContactId", "id"),
    ("ContactFirstName", "first_name"),
    ("ContactLastName", "last_name"),
    ("ContactCompany", "company"),
    ("ContactEmail", "email"),
    ("ContactPhoneBusiness", "phone_business"),
    ("ContactPhoneMobile", "phone_mobile"),
    ("ContactPhoneOther", "phone_other"),
    ("ContactLink", "url"),
)
_CONTACT_OUTPUTS = (
    ("FirstName", "[ContactFirstName]"),
    ("LastName", "[ContactLastName]"),
    ("CompanyName", "[ContactCompany]"),
    ("Email", "[ContactEmail]"),
    ("PhoneBusiness", "[ContactPhoneBusiness]"),
    ("PhoneMobile", "[ContactPhoneMobile]"),
    ("PhoneOther", "[ContactPhoneOther]"),
    ("EntityId", "[ContactId]"),
    ("EntityType", "Contacts"),
    ("ContactUrl", "[ContactLink]"),
)
# ReportCall body key -> 3CX variable (docs/3cx-api.md §5).
REPORT_CALL_FIELDS = (
    ("call_type", "CallType"),
    ("call_direction", "CallDirection"),
    ("number", "Number"),
    ("name", "Name"),
    ("agent", "Agent"),
    ("agent_first_name", "AgentFirstName"),
    ("agent_last_name", "AgentLastName"),
    ("agent_email", "AgentEmail"),
    ("duration", "Duration"),
    ("date_time", "DateTime"),
    ("call_start_utc", "CallStartTimeUTC"),
    ("call_established_utc", "CallEstablishedTimeUTC"),
    ("call_end_utc", "CallEndTimeUTC"),
    ("queue_extension", "QueueExtension"),
    ("entity_id", "EntityId"),
    ("entity_type", "EntityType"),
    ("recording_url", "RecordingUrl"),
    ("transcription", "Transcription"),
    ("summary", "Summary"),
)


def _brackets(text):
    """Literal text for a template: ``[`` and ``]`` would start an expression in 3CX."""
    return text.replace("[", "{{").replace("]", "}}")


def _headers():
    return (
        "        <Headers>\n"
        f'          <Value Key="{API_KEY_HEADER}" Passes="1" Type="String">[ApiKey]</Value>\n'
        "        </Headers>\n"
    )


def _contact_mapping():
    variables = "".join(
        f'        <Variable Name="{name}" Path="contacts.{path}"><Filter /></Variable>\n'
        for name, path in _CONTACT_VARIABLES
    )
    outputs = "".join(
        f'        <Output Type="{kind}" Passes="0" Value="{value}" />\n'
        for kind, value in _CONTACT_OUTPUTS
    )
    return (
        "      <Rules>\n"
        '        <Rule Type="Any">contacts.id</Rule>\n'
        "      </Rules>\n"
        "      <Variables>\n"
        f"{variables}"
        "      </Variables>\n"
        '      <Outputs AllowEmpty="false">\n'
        f"{outputs}"
        "      </Outputs>\n"
    )


def _get_scenario(scenario_id, url, comment):
    return (
        f"    <!-- {comment} -->\n"
        f'    <Scenario Id="{scenario_id}" Type="REST">\n'
        f'      <Request SkipIf="" Url={quoteattr(url)} MessagePasses="0" '
        'RequestEncoding="UrlEncoded" RequestType="Get" ResponseType="Json">\n'
        f"{_headers()}"
        "      </Request>\n"
        f"{_contact_mapping()}"
        "    </Scenario>\n"
    )


def _post_scenario(scenario_id, url, values, comment, contact=True, skip_if=""):
    posted = "".join(
        f'          <Value Key="{key}" Passes="1" Type="String">[{var}]</Value>\n'
        for key, var in values
    )
    mapping = (
        _contact_mapping()
        if contact
        else '      <Variables />\n      <Outputs AllowEmpty="true" />\n'
    )
    return (
        f"    <!-- {comment} -->\n"
        f'    <Scenario Id="{scenario_id}" Type="REST">\n'
        f"      <Request SkipIf={quoteattr(skip_if)} Url={quoteattr(url)} MessagePasses=\"0\" "
        'RequestContentType="application/json" RequestEncoding="Json" RequestType="Post" '
        'ResponseType="Json">\n'
        f"{_headers()}"
        '        <PostValues Key="">\n'
        f"{posted}"
        "        </PostValues>\n"
        "      </Request>\n"
        f"{mapping}"
        "    </Scenario>\n"
    )


def endpoint_url(base_url, server_id, database=None):
    """Where the template sends 3CX: ``<base_url>/realtor_3cx/crm/<database>/<server_id>``
    (without a database: the older URL, which works only where Odoo picks one by itself)."""
    if database is None:
        return base_url.rstrip("/") + ENDPOINT_PATH.format(server_id=int(server_id))
    return base_url.rstrip("/") + DATABASE_ENDPOINT_PATH.format(
        database=quote(database, safe=""), server_id=int(server_id)
    )


def render_template(base_url, server_id, server_name="", database=None):
    """The CRM template for one Odoo database and 3CX server, as UTF-8 bytes.

    :param str base_url: the Odoo address 3CX reaches (``web.base.url``)
    :param int server_id: the ``threecx.server`` this PBX is
    :param str server_name: shown in 3CX's CRM list
    :param str database: the Odoo database, named in the URLs
    """
    url = _brackets(endpoint_url(base_url, server_id, database))
    name = f"Odoo realtor_3cx ({server_name})" if server_name else "Odoo realtor_3cx"
    scenarios = (
        _get_scenario(
            "",
            '[Url]/lookup?number=[[Number].Replace("+","%2B")]&direction=[CallDirection]',
            "Contact lookup: on every call, by the outside number.",
        )
        + _get_scenario(
            "SearchContacts",
            "[Url]/search?q=[EscapedSearchText]",
            "Free-text contact search from the 3CX clients.",
        )
        + _post_scenario(
            "LookupByEmail",
            "[Url]/email",
            (("email", "Email"),),
            "Contact lookup by e-mail address.",
        )
        + _post_scenario(
            "CreateContactRecordFromClient",
            "[Url]/contact",
            (("first_name", "FirstName"), ("last_name", "LastName"), ("email", "Email"),
             ("number", "Number"), ("agent", "Agent")),
            "A user creates a contact from the 3CX client.",
        )
        + _post_scenario(
            "ReportCall",
            "[Url]/report_call",
            REPORT_CALL_FIELDS,
            "Call journaling: after each call. Odoo merges it with the call the worker logged.",
            contact=False,
            skip_if="[ReportCallEnabled]!=True",
        )
    )
    xml = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        "<!-- Generated by Odoo (realtor_3cx) for this database: upload it in the 3CX admin\n"
        "     console under Integrations > CRM, then paste the CRM API key shown in Odoo. -->\n"
        f'<Crm Country="Global" Name={quoteattr(_brackets(name))} '
        f'Version="{TEMPLATE_VERSION}" SupportsEmojis="true">\n'
        '  <Number Prefix="Plus" MaxLength="[MaxLength]" />\n'
        '  <Connection MaxConcurrentRequests="4" />\n'
        "  <Parameters>\n"
        f'    <Parameter Name="Url" Type="String" Parent="General Configuration" '
        f'Editor="String" Title="Odoo endpoint:" Default={quoteattr(url)} />\n'
        '    <Parameter Name="ApiKey" Type="Password" Parent="General Configuration" '
        'Editor="String" Title="CRM API key (from the 3CX server form in Odoo):" Default="" />\n'
        '    <Parameter Name="ReportCallEnabled" Type="Boolean" Parent="" Editor="String" '
        'Title="Enable Call Journaling" Default="True" />\n'
        "  </Parameters>\n"
        '  <Authentication Type="No" />\n'
        "  <Scenarios>\n"
        f"{scenarios}"
        "  </Scenarios>\n"
        "</Crm>\n"
    )
    return xml.encode("utf-8")


