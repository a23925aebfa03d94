# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The simulator's OData engine: 3CX-style answers to XAPI query options, and its refusals."""

import doctest
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from realtor_3cx.threecx.simulator import odata
from realtor_3cx.threecx.simulator.odata import (
    ODataError,
    apply_query,
    parse_function_args,
    parse_key_segment,
)

USERS = [
    {"Id": 1, "Number": "100", "FirstName": "Ann", "LastName": "O'Neil", "Enabled": True,
     "Score": 2.5, "Mobile": None, "Started": datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
     "Joined": "2025-03-01T23:30:00Z", "Agent": {"Queue": "800"}},
    {"Id": 2, "Number": "101", "FirstName": "bob", "LastName": "Smith", "Enabled": False,
     "Score": 1, "Mobile": "+15550001", "Started": datetime(2025, 3, 2, 12, 0, tzinfo=UTC),
     "Joined": "2025-03-02T08:00:00.250Z", "Agent": None},
    {"Id": 3, "Number": "200", "FirstName": "Cid", "LastName": "Smith", "Enabled": True,
     "Score": 7, "Mobile": None, "Started": datetime(2025, 3, 15, 23, 59, tzinfo=UTC),
     "Joined": "2025-03-16T01:00:00+02:00", "Agent": {"Queue": "801"}},
]  # fmt: skip


def ids(params, rows=USERS, **kwargs):
    return [row["Id"] for row in apply_query(rows, params, "ctx", **kwargs)["value"]]


def odata_error(params, rows=USERS):
    with pytest.raises(ODataError) as caught:
        apply_query(rows, params, "ctx")
    assert caught.value.status == 400
    return str(caught.value)


def test_doctests():
    result = doctest.testmod(odata)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize(
    "expression, expected",
    [
        # comparisons on strings (case-sensitive), numbers, booleans and null
        ("Number eq '100'", [1]),
        ("Number ne '100'", [2, 3]),
        ("Number gt '100'", [2, 3]),
        ("Number ge '101'", [2, 3]),
        ("Number lt '101'", [1]),
        ("Number le '101'", [1, 2]),
        ("FirstName eq 'Bob'", []),
        ("FirstName eq 'bob'", [2]),
        ("Id gt 1", [2, 3]),
        ("Score ge 2.5", [1, 3]),
        ("Score lt 2", [2]),
        ("Enabled eq true", [1, 3]),
        ("Enabled", [1, 3]),
        ("Enabled eq false", [2]),
        ("Mobile eq null", [1, 3]),
        ("Mobile ne null", [2]),
        ("null eq Mobile", [1, 3]),
        ("Mobile gt 'a'", []),
        ("Id in (1,3)", [1, 3]),
        ("Mobile in ('+15550001', null)", [1, 2, 3]),
        # quoting: a doubled quote is one quote
        ("LastName eq 'O''Neil'", [1]),
        ("contains(LastName,'''')", [1]),
        # string functions
        ("contains(LastName,'mit')", [2, 3]),
        ("startswith(Number,'10')", [1, 2]),
        ("endswith(Number,'00')", [1, 3]),
        ("tolower(FirstName) eq 'bob'", [2]),
        ("toupper(FirstName) eq 'BOB'", [2]),
        ("contains(tolower(FirstName),'b')", [2]),
        ("trim(' x ') eq 'x' and Id eq 1", [1]),
        ("length(LastName) eq 5", [2, 3]),
        ("indexof(LastName,'N') eq 2", [1]),
        ("contains(Mobile,'555')", [2]),
        # dates and datetimes, held as datetimes or as ISO strings
        ("date(Started) ge 2025-03-02", [2, 3]),
        ("date(Started) ge 2025-03-01 and date(Started) le 2025-03-02", [1, 2]),
        ("date(Started) eq 2025-03-15", [3]),
        ("Started gt 2025-03-02T12:00:00Z", [3]),
        ("Started ge 2025-03-02T12:00:00Z", [2, 3]),
        ("Started lt 2025-03-01T11:00:00+01:00", [1]),
        ("Started lt 2025-03-01T11:00:00+02:00", []),
        ("Started lt 2025-03-01T09:30:00.001Z", [1]),
        ("date(Joined) eq 2025-03-15", [3]),
        ("Joined gt 2025-03-02T08:00:00.2Z", [2, 3]),
        ("year(Started) eq 2025 and month(Started) eq 3 and day(Started) eq 2", [2]),
        ("hour(Started) eq 23 and minute(Started) eq 59 and second(Started) eq 0", [3]),
        # complex properties
        ("Agent/Queue eq '801'", [3]),
        ("Agent/Queue eq null", [2]),
        # precedence: not > comparison > and > or
        ("Enabled or Id eq 2 and Id eq 1", [1, 3]),
        ("(Enabled or Id eq 2) and Id eq 1", [1]),
        ("not Enabled or Id eq 3", [2, 3]),
        ("not (Enabled or Id eq 2)", []),
        ("not contains(LastName,'Smith') and Enabled", [1]),
        ("Id eq 1 or Id eq 2 or Id eq 3 and not Enabled", [1, 2]),
        # null in logic: unknown is not true, and not unknown is still unknown
        ("contains(Mobile,'x') or Id eq 1", [1]),
        ("not contains(Mobile,'5')", []),
        ("Id eq 1 and  ( Number   eq   '100' )", [1]),
        # enum literals compare as their member names
        ("FirstName eq Pbx.Name'Ann'", [1]),
    ],
)
def test_filter(expression, expected):
    assert ids({"$filter": expression}) == expected


@pytest.mark.parametrize(
    "expression, message",
    [
        ("Foo eq 1", "Could not find a property named 'Foo'"),
        ("Agent/Team eq 'x'", "Could not find a property named 'Agent/Team'"),
        ("Number eq 100", "Type mismatch in $filter: Number (Edm.String) eq 100 (Edm.Number)"),
        ("Enabled eq 1", "Edm.Boolean"),
        ("Started ge 2025-03-01", "use date(Property)"),
        ("date(Number) eq 2025-03-01", "date() expects a date/time"),
        ("contains(Id,'1')", "contains() expects strings"),
        ("Agent eq 'x'", "Type mismatch"),
        ("Number", "'Number' is not a boolean expression"),
        ("not Id eq 1", "'Id' is not a boolean expression"),  # not binds tighter than eq
        ("tolower(Number)", "needs a boolean expression"),
        ("Id eq 1 and 'x'", "needs a boolean expression"),
        ("Number eq", "Syntax error at position 9"),
        ("Number eq '100", 'Syntax error at position 10 in $filter "Number eq \'100"'),
        ("Id eq 1)", "Syntax error at position 7"),
        ("(Id eq 1", "Syntax error at position 8"),
        ("Id eq 1 xor Id eq 2", "Syntax error at position 8"),
        ("Id == 1", "Syntax error at position 3"),
        ("contains(Number)", "contains() takes 2 argument(s), not 1"),
        ("frobnicate(Number)", "unknown function 'frobnicate'"),
        ("Agent/any()", "unknown function 'Agent/any'"),
        ("Id eq 2025-02-30", "invalid date '2025-02-30'"),
        ("Started gt 2025-03-01T10:00", "invalid datetime literal"),
        ("Id eq duration'PT1M'", "unsupported literal"),
        ("Id in 1", "expected '('"),
    ],
)
def test_filter_errors(expression, message):
    error = odata_error({"$filter": expression})
    assert message.replace('"', "'") in error


def test_errors_carry_the_odata_body_and_status():
    with pytest.raises(ODataError) as caught:
        apply_query([], {"$top": "-1"}, "ctx")
    assert isinstance(caught.value, ValueError)
    assert caught.value.body() == {
        "error": {
            "code": "BadRequest",
            "message": "Invalid value '-1' for $top: expected a non-negative integer",
            "details": [],
        }
    }
    assert ODataError("gone", status=404, code="NotFound").body()["error"]["code"] == "NotFound"
    assert ODataError("gone", status=404).status == 404


@pytest.mark.parametrize(
    "orderby, expected",
    [
        ("Id desc", [3, 2, 1]),
        ("LastName,Id desc", [1, 3, 2]),
        ("LastName desc,Id", [2, 3, 1]),
        ("LastName asc, Id DESC", [1, 3, 2]),
        ("Enabled desc,Score desc", [3, 1, 2]),
        ("Mobile", [1, 3, 2]),  # null first ascending, ties keep their order
        ("Mobile desc", [2, 1, 3]),  # null last descending, ties still stable
        ("FirstName", [1, 3, 2]),  # ordinal: upper case before lower case
        ("Started desc", [3, 2, 1]),
        ("Agent/Queue desc", [3, 1, 2]),
    ],
)
def test_orderby(orderby, expected):
    assert ids({"$orderby": orderby}) == expected


@pytest.mark.parametrize(
    "orderby, message",
    [
        ("Nope desc", "Could not find a property named 'Nope' ($orderby)"),
        ("Id sideways", "Invalid $orderby item 'Id sideways'"),
        ("Agent", "not a primitive property"),
        ("Id,", "Invalid $orderby item ''"),
    ],
)
def test_orderby_errors(orderby, message):
    assert message in odata_error({"$orderby": orderby})


def test_orderby_mixed_types_is_refused():
    rows = [{"Id": 1, "X": "a"}, {"Id": 2, "X": 3}]
    assert "different types" in odata_error({"$orderby": "X"}, rows)


@pytest.mark.parametrize(
    "params, expected_ids, expected_count",
    [
        ({"$top": "2"}, [1, 2], None),
        ({"$skip": "1"}, [2, 3], None),
        ({"$skip": "1", "$top": "1"}, [2], None),
        ({"$top": "0"}, [], None),
        ({"$skip": "5"}, [], None),
        ({"$count": "true"}, [1, 2, 3], 3),
        ({"$count": "True", "$top": "1", "$skip": "1"}, [2], 3),
        ({"$count": "true", "$filter": "Enabled", "$top": "1"}, [1], 2),
        ({"$count": "true", "$search": "smith", "$skip": "1"}, [3], 2),
        ({"$count": "false"}, [1, 2, 3], None),
        ({"$orderby": "Id desc", "$top": "2", "$skip": "1"}, [2, 1], None),
    ],
)
def test_paging_and_count(params, expected_ids, expected_count):
    body = apply_query(USERS, params, "ctx")
    assert [row["Id"] for row in body["value"]] == expected_ids
    assert body.get("@odata.count") == expected_count
    assert ("@odata.count" in body) == (expected_count is not None)
    assert list(body) == ["@odata.context", *(["@odata.count"] if expected_count else []), "value"]


@pytest.mark.parametrize(
    "params, message",
    [
        ({"$top": "-1"}, "Invalid value '-1' for $top"),
        ({"$top": "1.5"}, "Invalid value '1.5' for $top"),
        ({"$top": "ten"}, "Invalid value 'ten' for $top"),
        ({"$skip": "-3"}, "Invalid value '-3' for $skip"),
        ({"$skip": ""}, "Invalid value '' for $skip"),
        ({"$count": "yes"}, "Invalid value 'yes' for $count"),
        ({"$select": "Id,Nope"}, "Could not find a property named 'Nope' ($select)"),
        ({"$select": "Agent/Queue"}, "Invalid $select item 'Agent/Queue'"),
    ],
)
def test_option_errors(params, message):
    assert message in odata_error(params)


@pytest.mark.parametrize(
    "search, expected",
    [
        ("SMITH", [2, 3]),
        ("ann", [1]),
        ('"o\'neil"', [1]),
        ("555", [2]),
        ("zzz", []),
        ("", [1, 2, 3]),
    ],
)
def test_search_is_case_insensitive_over_string_values(search, expected):
    assert ids({"$search": search}) == expected


def test_select_keeps_only_the_named_properties():
    body = apply_query(USERS, {"$select": "Number, Id", "$filter": "Id eq 2"}, "ctx")
    assert body["value"] == [{"Id": 2, "Number": "101"}]
    assert apply_query(USERS, {"$select": "*"}, "ctx")["value"][0].keys() == USERS[0].keys()


def test_values_are_serialized_as_3cx_does_and_rows_are_not_changed():
    rows = [
        {"Id": 1, "At": datetime(2025, 3, 1, 10, 0, tzinfo=UTC), "Day": date(2025, 3, 1),
         "Frac": datetime(2025, 3, 1, 10, 0, 0, 250000, tzinfo=UTC),
         "Naive": datetime(2025, 3, 1, 10, 0), "Text": "2025-03-01T10:00:00+02:00",
         "Nested": [{"When": datetime(2025, 3, 1, 12, 0, tzinfo=UTC)}]},
    ]  # fmt: skip
    value = apply_query(rows, {}, "ctx")["value"][0]
    assert value == {
        "Id": 1,
        "At": "2025-03-01T10:00:00Z",
        "Day": "2025-03-01",
        "Frac": "2025-03-01T10:00:00.25Z",
        "Naive": "2025-03-01T10:00:00Z",
        "Text": "2025-03-01T10:00:00+02:00",
        "Nested": [{"When": "2025-03-01T12:00:00Z"}],
    }
    assert isinstance(rows[0]["At"], datetime)


def test_datetimes_with_an_offset_are_compared_and_dated_in_utc():
    paris = timezone(timedelta(hours=2))
    rows = [{"Id": 1, "At": datetime(2025, 3, 2, 0, 30, tzinfo=paris)}, {"Id": 2, "At": None}]
    assert ids({"$filter": "date(At) eq 2025-03-01 and hour(At) eq 22"}, rows) == [1]
    assert ids({"$filter": "At eq 2025-03-01T22:30:00Z"}, rows) == [1]
    assert apply_query(rows, {"$select": "At"}, "c")["value"][0] == {"At": "2025-03-01T22:30:00Z"}


def test_expand_shows_navigation_properties_only_when_asked():
    rows = [{"Id": 1, "Number": "100", "Groups": [{"Name": "Sales"}]}]
    kwargs = {"navigation": ["Groups"]}
    assert ids({}, rows, **kwargs) == [1]
    assert "Groups" not in apply_query(rows, {}, "c", **kwargs)["value"][0]
    expanded = apply_query(rows, {"$expand": "Groups($select=Name),Nope"}, "c", **kwargs)
    assert expanded["value"][0]["Groups"] == [{"Name": "Sales"}]
    selected = apply_query(rows, {"$expand": "*", "$select": "Id"}, "c", **kwargs)
    assert selected["value"] == [{"Id": 1, "Groups": [{"Name": "Sales"}]}]
    # Without declared navigation properties, $expand is accepted and changes nothing.
    assert apply_query(rows, {"$expand": "Groups"}, "c") == apply_query(rows, {}, "c")


def test_declared_keys_refuse_unknown_properties_even_without_rows():
    keys = ["Id", "Number"]
    assert apply_query([], {"$filter": "Number eq '1'"}, "c", keys=keys)["value"] == []
    with pytest.raises(ODataError, match="'Nope'"):
        apply_query([], {"$orderby": "Nope"}, "c", keys=keys)
    # No rows and no keys: nothing to check the name against, so it is let through.
    assert apply_query([], {"$filter": "Nope eq 1"}, "c") == {"@odata.context": "c", "value": []}
    # Declared but absent from a row reads as null.
    assert ids({"$filter": "Extra eq null"}, [{"Id": 1}], keys=["Id", "Extra"]) == [1]


def test_parse_qs_style_lists_are_accepted():
    assert ids({"$filter": ["Id eq 1", "Id eq 2"], "$top": ["1"]}) == [2]


@pytest.mark.parametrize(
    "segment, expected",
    [
        ("(42)", 42),
        ("(-1)", -1),
        ("( 42 )", 42),
        ("('abc')", "abc"),
        ("('O''Neil')", "O'Neil"),
        ("(Number='100')", {"Number": "100"}),
        ("(Id=7,Number='100')", {"Id": 7, "Number": "100"}),
    ],
)
def test_key_segments(segment, expected):
    assert parse_key_segment(segment) == expected


@pytest.mark.parametrize(
    "segment",
    ["42", "()", "(42", "(abc)", "(Number=)", "(1,2)", "(Id=1,2)", "(Id=1,Id=2)", "(true)",
     "(1.5)", "('x' 'y')", "(Number='100'"],
)  # fmt: skip
def test_bad_key_segments(segment):
    with pytest.raises(ODataError) as caught:
        parse_key_segment(segment)
    assert caught.value.status == 400


def test_call_log_report_arguments():
    args = parse_function_args(
        "periodFrom=2025-03-01T00:00:00Z,periodTo=2025-03-15T00:00:00Z,sourceType=0,"
        "sourceFilter='',destinationType=0,destinationFilter='',callsType=0,"
        "callTimeFilterType=0,callTimeFilterFrom='0:00:0',callTimeFilterTo='0:00:0',"
        "hidePcalls=false"
    )
    assert args == {
        "periodFrom": datetime(2025, 3, 1, tzinfo=UTC),
        "periodTo": datetime(2025, 3, 15, tzinfo=UTC),
        "sourceType": 0,
        "sourceFilter": "",
        "destinationType": 0,
        "destinationFilter": "",
        "callsType": 0,
        "callTimeFilterType": 0,
        "callTimeFilterFrom": "0:00:0",
        "callTimeFilterTo": "0:00:0",
        "hidePcalls": False,
    }
    assert args["periodFrom"].tzinfo is not None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("recId=5", {"recId": 5}),
        ("(recId=5)", {"recId": 5}),
        ("", {}),
        ("()", {}),
        ("number='+1 555'", {"number": "+1 555"}),
        ("periodFrom=2025-03-01T02:00:00.5+02:00", {"periodFrom": datetime(2025, 3, 1, 0, 0, 0,
                                                                          500000, tzinfo=UTC)}),
        ("day=2025-03-01,flag=true,none=null,rate=1.5",
         {"day": date(2025, 3, 1), "flag": True, "none": None, "rate": 1.5}),
    ],
)  # fmt: skip
def test_function_args(text, expected):
    assert parse_function_args(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("recId=", "position 6"),
        ("recId=5,", "position 8"),
        ("5", "every argument needs a name"),
        ("recId=5,recId=6", "repeated"),
        ("recId=five", "expected a literal"),
        ("periodFrom=2025-03-01T00:00", "invalid datetime literal"),
        ("sourceFilter='x", "unterminated string"),
        ("a=1;b=2", "unexpected character ';'"),
    ],
)
def test_bad_function_args(text, message):
    with pytest.raises(ODataError) as caught:
        parse_function_args(text)
    assert caught.value.status == 400 and message in str(caught.value)
