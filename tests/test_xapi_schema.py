# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The XAPI schema helper: it must accept 3CX-shaped bodies and name what is wrong in others."""

import doctest
from datetime import UTC, datetime

import pytest
import xapi_schema
from xapi_schema import (
    REPORT_CALL_LOG_PATH,
    USER_BY_KEY_PATH,
    USER_BY_NUMBER_PATH,
    load_spec,
    response_schema,
    schema_names,
    validate_response,
    validate_schema,
)

from realtor_3cx.threecx.simulator.odata import ODataError, apply_query

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
                "/LicenseStatus"):  # fmt: skip
        assert "get" in paths[key], key
    assert {"Pbx.User", "Pbx.SystemStatus", "Pbx.CallLogData"} <= set(schema_names())


def test_a_missing_spec_fails_loudly(tmp_path):
    with pytest.raises(FileNotFoundError, match="xapi-swagger.yaml"):
        load_spec(tmp_path / "nowhere.yaml")
    assert xapi_schema.SPEC_PATH.parts[-3:] == ("shared", "3cx", "xapi-swagger.yaml")


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
