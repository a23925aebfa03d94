# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Extract, from 3CX's published XAPI OpenAPI spec, the part this project relies on.

3CX publishes the Configuration API (XAPI) spec as ``swagger.yaml`` in its GitHub repository
``3cx/xapi-tutorial`` (about 1.2 MB, 300 paths). The client (``realtor_3cx/threecx/xapi.py``)
and the simulator (``realtor_3cx/threecx/simulator/xapi.py``) use a dozen of those paths; the
tests validate their bodies against the schemas of those paths (``tests/xapi_schema.py``). This
script copies those path items whole, plus every component they reference, directly or
through other components (schemas, responses, parameters, request bodies, examples), into one
JSON file inside the repository, so that the tests never need the full spec.

Refresh (a maintainer, after 3CX publishes a new spec)::

    git clone https://github.com/3cx/xapi-tutorial /tmp/xapi-tutorial
    python3 tests/tools/extract_xapi_schemas.py /tmp/xapi-tutorial/swagger.yaml \\
        --source https://github.com/3cx/xapi-tutorial/blob/<commit>/swagger.yaml \\
        --pbx-version <the 3CX version named in that commit>

then run ``make test T=tests/test_xapi_schema.py`` and the simulator and client tests: a field
3CX renamed or retyped fails there. ``--check`` only reports whether the file is current
(exit 1 when it would change), for a CI that has the spec at hand.

The output is deterministic (same spec in, same bytes out): path items in the order of
:data:`PATHS`, components sorted by name, the spec's own order inside each of them.
"""

import argparse
import copy
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "docs" / "3cx" / "xapi-schemas.json"

# Every XAPI path the client calls or the simulator answers, with the operations that come
# with it (kept whole: the helper's own tests look up operations that are not there, too).
PATHS = (
    "/Defs",  # Xapi.version(): the X-3CX-Version header of GET /Defs?$select=Id
    "/SystemStatus",
    "/LicenseStatus",
    "/Users",
    "/Users({Id})",
    "/Users(Number={Number})",
    "/ActiveCalls",
    "/ActiveCalls({Id})/Pbx.DropCall",
    "/CallHistoryView",
    "/ReportCallLogData/Pbx.GetCallLogData(periodFrom={periodFrom},periodTo={periodTo},"
    "sourceType={sourceType},sourceFilter={sourceFilter},destinationType={destinationType},"
    "destinationFilter={destinationFilter},callsType={callsType},"
    "callTimeFilterType={callTimeFilterType},callTimeFilterFrom={callTimeFilterFrom},"
    "callTimeFilterTo={callTimeFilterTo},hidePcalls={hidePcalls})",
    "/Recordings",
    "/Recordings/Pbx.DownloadRecording(recId={recId})",
    "/Recordings/Pbx.TranscribeRecordings",  # the call form's "Request transcription"
    "/Queues",  # the teams a call can ring, with their agents ($expand=Agents)
    "/RingGroups",  # ... and ring groups, with their members ($expand=Members)
    # The company phonebook Odoo's contacts are kept in step with (threecx/phonebook.py).
    "/Contacts",
    "/Contacts({Id})",
    "/Contacts/Pbx.DeleteContactsById",
)
# Entities named on their own (the paths above already reach most of them).
SCHEMAS = (
    "Pbx.User",
    "Pbx.SystemStatus",
    "Pbx.LicenseStatus",
    "Pbx.ActiveCall",
    "Pbx.CallHistoryView",
    "Pbx.CallLogData",
    "Pbx.Recording",
    "Pbx.Queue",
    "Pbx.RingGroup",
    "Pbx.Contact",
    # Not used by the code: its OData numbers (oneOf number/string/ReferenceNumeric) are what
    # tests/test_xapi_schema.py checks the helper's oneOf handling with.
    "Pbx.SystemTelemetry",
)


def load(path):
    """The parsed YAML (or JSON) spec."""
    import yaml  # only the maintainer's refresh reads YAML; the tests read the JSON output

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=loader)


def _pointer(ref):
    """``#/components/schemas/Pbx.User`` -> ``("components", "schemas", "Pbx.User")``."""
    if not ref.startswith("#/"):
        raise ValueError(f"only local references are supported, not {ref!r}")
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in ref[2:].split("/"))


def _refs(node):
    """Every ``$ref`` string inside ``node``, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _get(spec, pointer):
    node = spec
    for part in pointer:
        try:
            node = node[part]
        except (KeyError, TypeError):
            raise LookupError(f"the spec has no #/{'/'.join(pointer)}") from None
    return node


def extract(spec, paths=PATHS, schemas=SCHEMAS, *, source, pbx_version, digest=None):
    """The subset document: ``paths`` whole, ``schemas``, and their reference closure.

    :raises LookupError: a path, a schema or a reference the spec does not have.
    """
    missing = [p for p in paths if p not in spec.get("paths", {})]
    if missing:
        raise LookupError(f"the spec has no path(s) {missing}")
    kept_paths = {p: copy.deepcopy(spec["paths"][p]) for p in paths}
    todo = [f"#/components/schemas/{name}" for name in schemas]
    for item in kept_paths.values():
        todo.extend(_refs(item))
    components, seen = {}, set()
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        seen.add(ref)
        pointer = _pointer(ref)
        if len(pointer) != 3 or pointer[0] != "components":
            raise LookupError(f"{ref}: only references to #/components/<kind>/<name> are kept")
        target = _get(spec, pointer)
        components.setdefault(pointer[1], {})[pointer[2]] = copy.deepcopy(target)
        todo.extend(_refs(target))
    info = dict(spec.get("info", {}))
    info["x-realtor-3cx-extract"] = {
        "source": source,
        "pbx_version": pbx_version,
        "spec_info_version": spec.get("info", {}).get("version"),
        "spec_sha256": digest,
        "paths": len(kept_paths),
        "components": {kind: len(names) for kind, names in sorted(components.items())},
        "refresh": "python3 tests/tools/extract_xapi_schemas.py <swagger.yaml> "
        "--source <url> --pbx-version <version>",
    }
    return {
        "openapi": spec.get("openapi"),
        "info": info,
        "servers": spec.get("servers", []),
        "paths": kept_paths,
        "components": {
            kind: dict(sorted(names.items())) for kind, names in sorted(components.items())
        },
    }


def render(document):
    """The file's bytes: stable, one key per line, UTF-8."""
    return (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("spec", type=Path, help="3CX's swagger.yaml (the full XAPI spec)")
    parser.add_argument("--source", required=True,
                        help="where this spec is published (URL with the commit)")
    parser.add_argument("--pbx-version", required=True,
                        help="the 3CX version the spec describes, e.g. 20.0.10")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 when the output would change")
    args = parser.parse_args(argv)
    raw = args.spec.read_bytes()
    document = extract(load(args.spec), PATHS, SCHEMAS, source=args.source,
                       pbx_version=args.pbx_version, digest=hashlib.sha256(raw).hexdigest())
    data = render(document)
    if args.check:
        current = args.output.read_bytes() if args.output.is_file() else b""
        if current != data:
            print(f"{args.output} is not what {args.spec} gives: run without --check")
            return 1
        print(f"{args.output} is current")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    counts = document["info"]["x-realtor-3cx-extract"]["components"]
    print(f"wrote {args.output} ({len(data)} bytes, {len(document['paths'])} paths, {counts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
