# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Check XAPI bodies against 3CX's published OpenAPI spec, as extracted into the repository.

The simulator and the client are both written from that spec; validating the simulator's
answers (and the client's fixtures) against it keeps a wrong field type or a misspelt
PascalCase name from passing in both at once. A test helper, not a test file.

Which spec: ``docs/3cx/xapi-schemas.json`` holds the path items the client and the simulator
use and every component they reference, copied unchanged from the ``swagger.yaml`` 3CX
publishes in its GitHub repository ``3cx/xapi-tutorial`` (the file's ``info`` block names the
commit, the 3CX version and the digest; ``docs/3cx/README.md`` says how to refresh it with
``tests/tools/extract_xapi_schemas.py``). A schema or path outside that extract is a
:class:`LookupError` here, never a silent pass.

How strict the spec is (Microsoft.OpenApi.OData output, OpenAPI 3.0.4):

* Property types are declared, with ``nullable``, int32 bounds, enums (through
  ``allOf: [$ref]``), and a ``pattern`` for every date-time and duration: these are checked.
* No schema sets ``additionalProperties: false`` (in the whole spec only ``ReferenceCreate``
  opens it), so an unknown or misspelt property passes plain validation. ``strict=True``
  also rejects, at any depth, every property that the schema (with its ``allOf`` bases) does
  not declare; OData annotations (``@odata.context``, ``Prop@odata.type`` ...) are allowed,
  since the collection schemas do not declare even ``@odata.context``.
* No entity lists ``required`` properties (only the OData error shapes do), so a missing
  property is never reported: ``{}`` is a valid ``Pbx.User``.
* ``format`` is not checked (the patterns already cover date-time and duration).
* Numbers are ``oneOf: [number, string, ReferenceNumeric]`` whose branches overlap (null,
  ``'NaN'``), so ``oneOf`` is read as ``anyOf``, as the spec's generator means it.

The JSON is read once per process. If it is missing, the helpers raise: the tests must fail
loudly, never skip.
"""

import difflib
import functools
import json
from pathlib import Path

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parents[1] / "docs" / "3cx" / "xapi-schemas.json"

USER_BY_KEY_PATH = "/Users({Id})"
USER_BY_NUMBER_PATH = "/Users(Number={Number})"
REPORT_CALL_LOG_PATH = (
    "/ReportCallLogData/Pbx.GetCallLogData(periodFrom={periodFrom},periodTo={periodTo},"
    "sourceType={sourceType},sourceFilter={sourceFilter},destinationType={destinationType},"
    "destinationFilter={destinationFilter},callsType={callsType},"
    "callTimeFilterType={callTimeFilterType},callTimeFilterFrom={callTimeFilterFrom},"
    "callTimeFilterTo={callTimeFilterTo},hidePcalls={hidePcalls})"
)

# The spec becomes one registry resource; every $ref is rewritten to point into it, so that
# a schema taken out of `paths` still resolves its references.
_BASE_URI = "urn:3cx:xapi-schemas"
_SCHEMAS = "#/components/schemas/"
_MAX_REPORTED = 8
_NOT_EXTRACTED = "the extract holds what the project uses: see tests/tools/extract_xapi_schemas.py"


@functools.cache
def load_spec(path=SPEC_PATH):
    """The parsed spec extract, read once.

    :raises FileNotFoundError: when the extract is not in the checkout.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"3CX XAPI spec extract not found at {path}: the tests read the repository's "
            "docs/3cx/xapi-schemas.json (see docs/3cx/README.md)"
        )
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def schema_names():
    """The names under ``components/schemas`` (``Pbx.User``, ``Pbx.SystemStatus`` ...)."""
    return sorted(load_spec()["components"]["schemas"])


def _to_json_schema(schema):
    """An OpenAPI 3.0 schema as JSON Schema 2020-12 (nullable, oneOf, absolute $ref)."""
    if not isinstance(schema, dict):
        return schema
    converted = {}
    for key, value in schema.items():
        if key == "$ref":
            converted[key] = _BASE_URI + value
        elif key == "properties":
            converted[key] = {name: _to_json_schema(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            converted[key] = _to_json_schema(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            converted["anyOf" if key == "oneOf" else key] = [_to_json_schema(s) for s in value]
        elif key != "nullable":
            converted[key] = value
    if schema.get("nullable") is not True:
        return converted
    if "type" in converted and not {"$ref", "allOf", "anyOf"} & converted.keys():
        converted["type"] = [converted["type"], "null"]
        if "enum" in converted:
            converted["enum"] = [*converted["enum"], None]
        return converted
    # OpenAPI's nullable also covers an `allOf: [$ref]`, whose target knows nothing of null.
    return {"anyOf": [{"type": "null"}, converted]}


@functools.cache
def _registry():
    schemas = load_spec()["components"]["schemas"]
    document = {"components": {"schemas": {n: _to_json_schema(s) for n, s in schemas.items()}}}
    return Registry().with_resource(_BASE_URI, DRAFT202012.create_resource(document))


@functools.cache
def _validator(openapi_schema_key):
    """The validator of ``("ref", schema name)`` or ``("response", method, path, status)``."""
    if openapi_schema_key[0] == "ref":
        schema = {"$ref": _BASE_URI + _SCHEMAS + openapi_schema_key[1]}
    elif openapi_schema_key[0] == "request":
        schema = _to_json_schema(request_schema(*openapi_schema_key[1:]))
    else:
        schema = _to_json_schema(response_schema(*openapi_schema_key[1:]))
    return Draft202012Validator(schema, registry=_registry())


def _operation(method, path_template):
    paths = load_spec()["paths"]
    key = path_template if path_template.startswith("/") else "/" + path_template
    if key not in paths:
        close = difflib.get_close_matches(key, paths, n=3, cutoff=0.5)
        raise LookupError(f"No path {key!r} in the XAPI spec (close: {close}; {_NOT_EXTRACTED})")
    operation = paths[key].get(method.lower())
    if operation is None:
        raise LookupError(f"No {method.upper()} {key} in the XAPI spec")
    return key, operation


def request_schema(method, path_template):
    """The OpenAPI schema of an operation's ``application/json`` request body (an action's
    parameters, such as ``TranscribeRecordings``'s ``{"ids": [...]}``).

    :raises LookupError: when the spec has no such operation or JSON request body.
    """
    key, operation = _operation(method, path_template)
    content = _resolve(operation.get("requestBody", {})).get("content", {})
    if "application/json" not in content:
        raise LookupError(f"{method.upper()} {key} has no application/json request body")
    return content["application/json"]["schema"]


def response_schema(method, path_template, status=200):
    """The OpenAPI schema of an operation's ``application/json`` response.

    :param path_template: a key of the spec's ``paths``, such as ``/Users({Id})``.
    :param status: the HTTP status; 4xx and 5xx fall back to the ``default`` (error) response.
    :raises LookupError: when the spec has no such operation or JSON response.
    """
    key, operation = _operation(method, path_template)
    responses = operation["responses"]
    response = responses.get(str(status))
    if response is None and int(status) >= 400:
        response = responses.get("default")
    if response is None:
        raise LookupError(f"{method.upper()} {key} has no {status} response in the XAPI spec")
    response = _resolve(response)
    content = response.get("content", {}).get("application/json")
    if content is None:
        raise LookupError(f"{method.upper()} {key} {status} has no application/json body")
    return content["schema"]


def _resolve(node):
    """``node`` with its ``$ref`` chain followed, within the spec."""
    while isinstance(node, dict) and "$ref" in node:
        target = load_spec()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _branches(schema, seen=None):
    """``schema`` and, recursively, the schemas it composes (allOf, anyOf, oneOf)."""
    seen = set() if seen is None else seen
    schema = _resolve(schema)
    if not isinstance(schema, dict) or id(schema) in seen:
        return
    seen.add(id(schema))
    yield schema
    for key in ("allOf", "anyOf", "oneOf"):
        for branch in schema.get(key, ()):
            yield from _branches(branch, seen)


def _undeclared(instance, schema, path):
    """(path, message) for each property, at any depth, that ``schema`` does not declare."""
    if isinstance(instance, list):
        items = next((b["items"] for b in _branches(schema) if "items" in b), None)
        for index, item in enumerate(instance):
            if items is not None:
                yield from _undeclared(item, items, f"{path}[{index}]")
        return
    if not isinstance(instance, dict):
        return
    # A derived type announces itself, as in OData: {"@odata.type": "#Pbx.User", ...}.
    derived = str(instance.get("@odata.type", "")).lstrip("#")
    if derived in load_spec()["components"]["schemas"]:
        schema = {"$ref": _SCHEMAS + derived}
    declared, is_open = {}, False
    for branch in _branches(schema):
        declared.update(branch.get("properties", {}))
        extra = branch.get("additionalProperties")
        is_open = is_open or extra is True or isinstance(extra, dict)
    if is_open or not declared:
        return
    for key, value in instance.items():
        if "@" in key:
            continue
        if key in declared:
            yield from _undeclared(value, declared[key], f"{path}.{key}")
            continue
        lowered = {name.lower(): name for name in declared}
        guess = lowered.get(key.lower()) or next(
            iter(difflib.get_close_matches(key, declared, n=1)), None
        )
        hint = f" (did you mean {guess!r}?)" if guess else ""
        yield f"{path}.{key}", f"property {key!r} is not declared by the schema{hint}"


def _describe(error):
    """One readable line for a jsonschema error, looking through the nullable wrappers."""
    if error.context:
        relevant = [
            sub
            for sub in error.context
            if not (sub.validator == "type" and sub.validator_value == "null")
        ]
        if len(relevant) == 1:
            return _describe(relevant[0])
        if relevant:
            reasons = "; ".join(sub.message for sub in relevant)
            return error.json_path, f"{error.message} ({reasons})"
    return error.json_path, error.message


def _check(instance, validator, openapi_schema, label, strict):
    problems = [_describe(error) for error in validator.iter_errors(instance)]
    if strict:
        problems.extend(_undeclared(instance, openapi_schema, "$"))
    if not problems:
        return
    lines = [f"{label}: {len(problems)} violation(s) of 3CX's XAPI schema"]
    lines += [f"  {path}: {message}" for path, message in problems[:_MAX_REPORTED]]
    if len(problems) > _MAX_REPORTED:
        lines.append(f"  ... and {len(problems) - _MAX_REPORTED} more")
    raise AssertionError("\n".join(lines))


def validate_schema(instance, schema_name, *, strict=False):
    """Assert that ``instance`` is a valid ``components/schemas/<schema_name>``.

    :param schema_name: such as ``"Pbx.User"`` or ``"Pbx.SystemStatus"``.
    :param strict: also reject properties the schema does not declare.
    :raises AssertionError: listing the first violations with their JSON paths.
    :raises LookupError: for a name that is not in the spec.
    """
    if schema_name not in load_spec()["components"]["schemas"]:
        close = difflib.get_close_matches(schema_name, schema_names(), n=3)
        raise LookupError(
            f"No schema {schema_name!r} in the XAPI spec (close: {close}; {_NOT_EXTRACTED})"
        )
    validator = _validator(("ref", schema_name))
    _check(instance, validator, {"$ref": _SCHEMAS + schema_name}, schema_name, strict)


def validate_response(method, path_template, body, status=200, *, strict=False):
    """Assert that ``body`` is what the spec says ``method path_template`` answers.

    >>> validate_response("get", "/Users", {"@odata.context": "x", "value": [{"Number": "100"}]})

    :param path_template: a key of the spec's ``paths``: ``/Users``, :data:`USER_BY_KEY_PATH`,
        :data:`REPORT_CALL_LOG_PATH` ...
    :param status: the response's HTTP status; errors are checked against ``default``.
    :param strict: also reject properties the schema does not declare.
    :raises AssertionError: listing the first violations with their JSON paths.
    :raises LookupError: when the spec has no such operation or JSON response.
    """
    key = ("response", method.lower(), path_template, int(status))
    validator = _validator(key)
    label = f"{method.upper()} {path_template} {status}"
    _check(body, validator, response_schema(*key[1:]), label, strict)


def validate_request(method, path_template, body, *, strict=False):
    """Assert that ``body`` is a request body the spec lets a client send to ``method
    path_template``; the other arguments and errors are :func:`validate_response`'s."""
    validator = _validator(("request", method.lower(), path_template))
    label = f"{method.upper()} {path_template} request"
    _check(body, validator, request_schema(method, path_template), label, strict)
