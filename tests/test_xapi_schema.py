# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The XAPI schema helper: it must accept 3CX-shaped bodies and name what is wrong in others.

Also the in-repository extract it reads (``docs/3cx/xapi-schemas.json``) and the script that
makes it (``tests/tools/extract_xapi_schemas.py``): the extract must be closed under ``$ref``,
say where it comes from, and be what the script makes of 3CX's spec.
"""

import doctest
import importlib.util
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import xapi_schema
from xapi_schema import (
    REPORT_CALL_LOG_PATH,
    USER_BY_KEY_PATH,
    USER_BY_NUMBER_PATH,
    load_spec,
    request_schema,
    response_schema,
    schema_names,
    validate_request,
    validate_response,
    validate_schema,
)

from realtor_3cx.threecx.simulator.odata import ODataError, apply_query

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "extract_xapi_schemas", ROOT / "tests" / "tools" / "extract_xapi_schemas.py"
)
extract_xapi_schemas = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(extract_xapi_schemas)

USER = {
    "Id": 27,
    "Number": "100",
    "FirstName": "Ann",
    "LastName": "O'Neil",
    "DisplayName": "Ann O'Neil",
    "EmailAddress": "ann@example.com",
    "Mobile": None,
    "OutboundCallerID": "+15550100",
    "Enabled": True,
    "IsRegistered": False,
    "CurrentProfileName": "Available",
    "QueueStatus": "LoggedIn",
    "TranscriptionMode": "Nothing",
    "Groups": [{"GroupId": 1, "Name": "DEFAULT", "Rights": {"RoleName": "users"}}],
}
SYSTEM_STATUS = {
    "Id": 1,
    "Version": "20.0.9.995",
    "FQDN": "pbx.example.com",
    "CallsActive": 2,
    "ExtensionsRegistered": 3,
    "ExtensionsTotal": 10,
    "MaxSimCalls": 8,
    "LicenseActive": True,
    "ProductCode": "3CXPSPROFENT",
    "TrunksRegistered": 1,
    "ExpirationDate": "2026-12-31T00:00:00Z",
    "LastBackupDateTime": "2025-03-01T02:00:00.1234567+01:00",
    "OS": None,
}


def failure(check, *args, **kwargs):
    with pytest.raises(AssertionError) as caught:
        check(*args, **kwargs)
    return str(caught.value)


def test_doctests():
    result = doctest.testmod(xapi_schema)
    assert result.attempted > 0 and result.failed == 0


def test_the_spec_is_loaded_once_and_holds_the_paths_the_project_uses():
    assert load_spec() is load_spec()
    paths = load_spec()["paths"]
    for key in (USER_BY_KEY_PATH, USER_BY_NUMBER_PATH, REPORT_CALL_LOG_PATH, "/Users",
                "/SystemStatus", "/ActiveCalls", "/CallHistoryView", "/Recordings",
                "/LicenseStatus", "/Defs",
                "/Recordings/Pbx.DownloadRecording(recId={recId})"):  # fmt: skip
        assert "get" in paths[key], key
    assert "post" in paths["/ActiveCalls({Id})/Pbx.DropCall"]
    # The company phonebook: list and create, one contact's read/update/delete, bulk delete.
    assert {"get", "post"} <= set(paths["/Contacts"])
    assert {"get", "patch", "delete"} <= set(paths["/Contacts({Id})"])
    assert "post" in paths["/Contacts/Pbx.DeleteContactsById"]
    assert "Pbx.Contact" in schema_names()
    assert {"Pbx.User", "Pbx.SystemStatus", "Pbx.CallLogData"} <= set(schema_names())
    # The script's list is the one the tests check the project against.
    assert set(paths) == set(extract_xapi_schemas.PATHS)
    assert set(extract_xapi_schemas.SCHEMAS) <= set(schema_names())


def test_a_missing_spec_fails_loudly(tmp_path):
    with pytest.raises(FileNotFoundError, match="docs/3cx/xapi-schemas.json"):
        load_spec(tmp_path / "nowhere.json")
    # Inside the repository, never beside it.
    assert xapi_schema.SPEC_PATH == ROOT / "docs" / "3cx" / "xapi-schemas.json"


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from [value] if key == "$ref" else _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_the_extract_is_closed_and_says_where_it_comes_from():
    spec = load_spec()
    refs = set(_refs(spec))
    assert len(refs) > 50  # Pbx.User alone reaches dozens of components
    for ref in refs:
        kind, name = ref.removeprefix("#/components/").split("/")
        assert name in spec["components"][kind], f"{ref} is not in the extract"
    origin = spec["info"]["x-realtor-3cx-extract"]
    assert origin["source"].startswith("https://github.com/3cx/xapi-tutorial/blob/")
    assert origin["source"].endswith("/swagger.yaml")
    assert origin["pbx_version"].startswith("20.")
    assert len(origin["spec_sha256"]) == 64
    assert spec["openapi"] == "3.0.4"
    readme = (ROOT / "docs" / "3cx" / "README.md").read_text(encoding="utf-8")
    assert origin["source"] in readme and origin["pbx_version"] in readme


TINY_SPEC = {
    "openapi": "3.0.4",
    "info": {"title": "XAPI", "version": "1.0.0"},
    "servers": [{"url": "/xapi/v1"}],
    "paths": {
        "/Things": {"get": {"responses": {
            "200": {"$ref": "#/components/responses/ThingCollection"},
            "default": {"$ref": "#/components/responses/error"}}}},
        "/Unused": {"get": {"responses": {"200": {"$ref": "#/components/responses/Other"}}}},
    },
    "components": {
        "responses": {
            "ThingCollection": {"content": {"application/json": {"schema": {
                "type": "object", "properties": {"value": {
                    "type": "array", "items": {"$ref": "#/components/schemas/Pbx.Thing"}}}}}}},
            "error": {"content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/Error"}}}},
            "Other": {"description": "never reached"},
        },
        "schemas": {
            "Pbx.Thing": {"allOf": [{"$ref": "#/components/schemas/Pbx.Base"}],
                          "properties": {"Kind": {"$ref": "#/components/schemas/Pbx.Kind"}}},
            "Pbx.Base": {"properties": {"Id": {"type": "integer"}}},
            "Pbx.Kind": {"enum": ["A", "B"]},
            "Error": {"required": ["message"], "properties": {"message": {"type": "string"}}},
            "Pbx.Alone": {"type": "string"},
            "Pbx.Unreached": {"type": "string"},
        },
    },
}  # fmt: skip


def test_the_extraction_keeps_the_paths_and_their_reference_closure_only():
    document = extract_xapi_schemas.extract(
        TINY_SPEC, ["/Things"], ["Pbx.Alone"], source="https://example.test/s.yaml",
        pbx_version="20.0.10", digest="0" * 64)
    assert list(document["paths"]) == ["/Things"]
    assert document["paths"]["/Things"] == TINY_SPEC["paths"]["/Things"]
    components = document["components"]
    assert sorted(components["schemas"]) == ["Error", "Pbx.Alone", "Pbx.Base", "Pbx.Kind",
                                             "Pbx.Thing"]  # fmt: skip
    assert sorted(components["responses"]) == ["ThingCollection", "error"]
    assert components["schemas"]["Pbx.Thing"] == TINY_SPEC["components"]["schemas"]["Pbx.Thing"]
    origin = document["info"]["x-realtor-3cx-extract"]
    assert origin["source"] == "https://example.test/s.yaml" and origin["pbx_version"] == "20.0.10"
    assert origin["components"] == {"responses": 2, "schemas": 5}
    # Deterministic: the same spec gives the same bytes, and they are JSON.
    again = extract_xapi_schemas.extract(
        TINY_SPEC, ["/Things"], ["Pbx.Alone"], source="https://example.test/s.yaml",
        pbx_version="20.0.10", digest="0" * 64)
    assert extract_xapi_schemas.render(document) == extract_xapi_schemas.render(again)
    assert json.loads(extract_xapi_schemas.render(document)) == document


def test_the_extraction_refuses_what_the_spec_lacks():
    with pytest.raises(LookupError, match="no path"):
        extract_xapi_schemas.extract(TINY_SPEC, ["/Nothing"], [], source="s", pbx_version="v")
    with pytest.raises(LookupError, match="Pbx.Missing"):
        extract_xapi_schemas.extract(TINY_SPEC, [], ["Pbx.Missing"], source="s", pbx_version="v")
    broken = json.loads(json.dumps(TINY_SPEC))
    del broken["components"]["schemas"]["Pbx.Kind"]
    with pytest.raises(LookupError, match="Pbx.Kind"):
        extract_xapi_schemas.extract(broken, ["/Things"], [], source="s", pbx_version="v")


def test_the_extraction_script_writes_and_checks(tmp_path, capsys):
    spec_file, output = tmp_path / "swagger.json", tmp_path / "out" / "xapi-schemas.json"
    spec_file.write_text(json.dumps(TINY_SPEC), encoding="utf-8")  # JSON is YAML too
    extract_xapi_schemas.PATHS, saved = ("/Things",), extract_xapi_schemas.PATHS
    extract_xapi_schemas.SCHEMAS, saved_schemas = (), extract_xapi_schemas.SCHEMAS
    try:
        args = [str(spec_file), "--source", "https://example.test/s.yaml",
                "--pbx-version", "20.0.10", "--output", str(output)]  # fmt: skip
        assert extract_xapi_schemas.main([*args, "--check"]) == 1  # nothing written yet
        assert not output.exists()
        assert extract_xapi_schemas.main(args) == 0
        written = json.loads(output.read_text(encoding="utf-8"))
        assert list(written["paths"]) == ["/Things"]
        assert len(written["info"]["x-realtor-3cx-extract"]["spec_sha256"]) == 64
        assert extract_xapi_schemas.main([*args, "--check"]) == 0
        output.write_text("{}", encoding="utf-8")
        assert extract_xapi_schemas.main([*args, "--check"]) == 1
    finally:
        extract_xapi_schemas.PATHS, extract_xapi_schemas.SCHEMAS = saved, saved_schemas
    assert "is current" in capsys.readouterr().out


@pytest.mark.parametrize("strict", [False, True])
def test_valid_bodies_pass(strict):
    validate_schema(USER, "Pbx.User", strict=strict)
    validate_schema(SYSTEM_STATUS, "Pbx.SystemStatus", strict=strict)
    validate_schema({}, "Pbx.User", strict=strict)  # the spec requires no property
    validate_response("get", USER_BY_KEY_PATH, USER, strict=strict)
    validate_response("get", "/SystemStatus", SYSTEM_STATUS, strict=strict)


@pytest.mark.parametrize(
    "schema_name, body, path, words",
    [
        ("Pbx.User", {"Number": 100}, "$.Number", "is not of type 'string', 'null'"),
        ("Pbx.User", {"Id": None}, "$.Id", "is not of type 'integer'"),
        ("Pbx.User", {"Id": 2**31}, "$.Id", "maximum"),
        ("Pbx.User", {"Enabled": "true"}, "$.Enabled", "is not of type 'boolean'"),
        ("Pbx.User", {"TranscriptionMode": "Always"}, "$.TranscriptionMode", "is not one of"),
        ("Pbx.User", {"Groups": [{"Name": 5}]}, "$.Groups[0].Name", "'string'"),
        ("Pbx.SystemStatus", {"ExpirationDate": "2026-12-31"}, "$.ExpirationDate", "match"),
        ("Pbx.SystemStatus", {"CallsActive": "2"}, "$.CallsActive", "'integer'"),
        ("Pbx.CallHistoryView", {"CallTime": "65"}, "$.CallTime", "match"),
        ("Pbx.SystemTelemetry", {"CpuUsage": True}, "$.CpuUsage", "not valid under any"),
    ],
)
def test_wrong_types_are_reported_with_their_path(schema_name, body, path, words):
    message = failure(validate_schema, body, schema_name)
    assert message.startswith(f"{schema_name}: 1 violation(s)")
    assert f"{path}: " in message and words in message
    # The nullable wrappers are looked through: only OData numbers keep their alternatives.
    assert ("not valid under any" in message) == (schema_name == "Pbx.SystemTelemetry")


@pytest.mark.parametrize(
    "schema_name, body",
    [
        ("Pbx.User", {"TranscriptionMode": None, "AgentSettings": None, "FirstName": None}),
        ("Pbx.CallHistoryView", {"CallTime": "PT1M5S", "SegmentStartTime": "2025-03-01T10:00:00Z"}),
        # OData numbers: a plain number, null, or one of the special strings
        ("Pbx.SystemTelemetry", {"CpuUsage": 12.5}),
        ("Pbx.SystemTelemetry", {"CpuUsage": 3}),
        ("Pbx.SystemTelemetry", {"CpuUsage": None}),
        ("Pbx.SystemTelemetry", {"CpuUsage": "NaN"}),
    ],
)
def test_openapi_nullable_and_numeric_alternatives_are_accepted(schema_name, body):
    validate_schema(body, schema_name, strict=True)


def test_several_violations_are_listed_then_cut():
    body = {f"Unknown{index}": index for index in range(12)} | {"Number": 1}
    message = failure(validate_schema, body, "Pbx.User", strict=True)
    assert message.startswith("Pbx.User: 13 violation(s)")
    assert "$.Number: 1 is not of type" in message
    assert "... and 5 more" in message


def test_strict_mode_rejects_undeclared_properties_at_any_depth():
    misspelt = USER | {"Firstname": "Ann"}
    validate_schema(misspelt, "Pbx.User")  # the spec itself does not forbid them
    message = failure(validate_schema, misspelt, "Pbx.User", strict=True)
    assert "$.Firstname: property 'Firstname' is not declared" in message
    assert "did you mean 'FirstName'?" in message

    nested = USER | {"Groups": [{"Name": "DEFAULT", "Rights": {"RoleNam": "users"}}]}
    message = failure(validate_schema, nested, "Pbx.User", strict=True)
    assert "$.Groups[0].Rights.RoleNam" in message

    body = {"@odata.context": "x", "value": [USER, {"Id": 2, "Nickname": "x"}]}
    message = failure(validate_response, "get", "/Users", body, strict=True)
    assert "$.value[1].Nickname" in message and "$.value[0]" not in message


def test_strict_mode_allows_odata_annotations_and_inherited_properties():
    # Pbx.User declares Number and Id only through its allOf bases.
    body = {
        "@odata.context": "https://pbx/xapi/v1/$metadata#Users",
        "@odata.count": 1,
        "@odata.nextLink": "https://pbx/xapi/v1/Users?$skip=1",
        "value": [{"Id": 1, "Number": "100", "Groups@odata.count": 0}],
    }
    validate_response("get", "/Users", body, strict=True)


def test_collection_responses_validate_their_items():
    body = {"@odata.context": "x", "@odata.count": "1", "value": [{"Id": "1"}]}
    message = failure(validate_response, "get", "/Users", body)
    assert "$['@odata.count']" in message or "$.@odata.count" in message
    assert "$.value[0].Id" in message
    assert message.startswith("GET /Users 200:")


def test_the_call_log_report_and_other_collections():
    row = {
        "CallId": 5,
        "CdrId": "00000000-0000-0000-0000-000000000005",
        "StartTime": "2025-03-01T10:00:00Z",
        "Direction": "Inbound",
        "Status": "Answered",
        "Answered": True,
        "SourceCallerId": "+15550100",
        "SourceDn": "10000",
        "DestinationDn": "100",
        "RingingDuration": "PT5S",
        "TalkingDuration": "PT1M5.25S",
        "Recordings": [],
    }
    validate_response("get", REPORT_CALL_LOG_PATH, {"value": [row]}, strict=True)
    message = failure(
        validate_response, "get", REPORT_CALL_LOG_PATH, {"value": [row | {"TalkingDuration": 65}]}
    )
    assert "$.value[0].TalkingDuration" in message

    active = {
        "Id": 1,
        "Caller": "100",
        "Callee": "+15550100",
        "Status": "Talking",
        "EstablishedAt": "2025-03-01T10:00:00Z",
        "ServerNow": "2025-03-01T10:01:00Z",
    }
    validate_response("get", "/ActiveCalls", {"value": [active]}, strict=True)
    recording = {
        "Id": 3,
        "StartTime": "2025-03-01T10:00:00Z",
        "CallType": "InboundExternal",
        "RecordingUrl": "/recordings/3",
        "IsArchived": False,
    }
    validate_response("get", "/Recordings", {"value": [recording]}, strict=True)
    message = failure(
        validate_response, "get", "/Recordings", {"value": [recording | {"CallType": "Inbound"}]}
    )
    assert "$.value[0].CallType" in message


def test_errors_are_checked_against_the_default_response():
    validate_response("get", "/Users", {"error": {"code": "", "message": "Not found"}}, 404)
    validate_response("get", "/Users", ODataError("Bad $top").body(), 400, strict=True)
    # innerError is service-specific: strict mode has no declared properties to hold it to.
    free_form = {"error": {"code": "", "message": "m", "innerError": {"trace": "abc"}}}
    validate_response("get", "/Users", free_form, 500, strict=True)
    message = failure(validate_response, "get", USER_BY_KEY_PATH, {"error": {"code": "x"}}, 404)
    assert "'message' is a required property" in message


def test_unknown_operations_are_lookup_errors():
    with pytest.raises(LookupError, match="close: .*'/Users'"):
        response_schema("get", "/User")
    with pytest.raises(LookupError, match="No DELETE /SystemStatus"):
        response_schema("delete", "/SystemStatus")
    with pytest.raises(LookupError, match="no 201 response"):
        response_schema("get", "/Users", 201)
    with pytest.raises(LookupError, match="no application/json body"):
        response_schema("patch", USER_BY_KEY_PATH, 204)
    with pytest.raises(LookupError, match="Pbx.Users"):
        validate_schema({}, "Pbx.Users")


def test_odata_engine_output_is_what_3cx_declares():
    # The simulator's path: typed rows through apply_query, then the spec in strict mode.
    segments = [
        {"SegmentId": 1, "SegmentStartTime": datetime(2025, 3, 1, 10, 0, tzinfo=UTC),
         "SegmentEndTime": datetime(2025, 3, 1, 10, 1, 5, 500000, tzinfo=UTC),
         "CallTime": "PT1M5.5S", "CallAnswered": True, "SrcDn": "10000", "DstDn": "100",
         "SrcExternal": True, "DstExternal": False, "SrcRecId": None},
    ]  # fmt: skip
    params = {"$filter": "date(SegmentStartTime) ge 2025-03-01", "$count": "true"}
    body = apply_query(segments, params, "https://pbx/xapi/v1/$metadata#CallHistoryView")
    assert body["@odata.count"] == 1
    validate_response("get", "/CallHistoryView", body, strict=True)


def test_action_request_bodies_are_checked_too():
    # TranscribeRecordings: the call form's "Request transcription" (worker/recordings.py).
    path = "/Recordings/Pbx.TranscribeRecordings"
    validate_request("post", path, {"ids": [3, 4]}, strict=True)
    assert "$.ids[0]" in failure(validate_request, "post", path, {"ids": ["3"]})
    assert "'recIds' is not declared" in failure(validate_request, "post", path,
                                                  {"recIds": [3]}, strict=True)
    with pytest.raises(LookupError, match="no application/json request body"):
        request_schema("get", "/Recordings")
    with pytest.raises(LookupError, match="No POST /Recordings in"):
        request_schema("post", "/Recordings")


CONTACT = {"Id": 7, "FirstName": "Ann O'Neil", "LastName": "", "CompanyName": "Acme Realty",
           "Business": "+12125550101", "PhoneNumber": None, "Email": "ann@example.com",
           "ContactType": "3CX"}


def test_contacts_bodies_both_ways():
    # What the simulator answers ...
    validate_response("get", "/Contacts", {"@odata.context": "x", "@odata.count": 1,
                                           "value": [CONTACT]}, strict=True)
    validate_response("post", "/Contacts", CONTACT, 201, strict=True)
    validate_response("get", "/Contacts({Id})", CONTACT, strict=True)
    # ... and what the client sends.
    validate_request("post", "/Contacts", {k: v for k, v in CONTACT.items() if k != "Id"},
                     strict=True)
    validate_request("patch", "/Contacts({Id})", {"FirstName": "Ann"}, strict=True)
    validate_request("post", "/Contacts/Pbx.DeleteContactsById", {"ids": [1, 2]}, strict=True)
    message = failure(validate_request, "post", "/Contacts", {"Mobile": "+1212"}, strict=True)
    assert "$.Mobile: property 'Mobile' is not declared" in message
    message = failure(validate_request, "post", "/Contacts/Pbx.DeleteContactsById",
                      {"ids": ["1"]})
    assert "$.ids[0]" in message
    message = failure(validate_schema, CONTACT | {"ContactType": "Odoo"}, "Pbx.Contact")
    assert "$.ContactType" in message and "is not one of" in message
    with pytest.raises(LookupError, match="no application/json request body"):
        request_schema("delete", "/Contacts({Id})")
    with pytest.raises(LookupError, match="No PUT"):
        request_schema("put", "/Contacts({Id})")
