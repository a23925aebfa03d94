# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""OData v4 query options over lists of dicts, answered the way 3CX's XAPI answers them.

The simulator keeps each XAPI entity set as a list of dicts with PascalCase keys. The client
under test sends the same ``$filter``/``$orderby``/``$top``/``$skip``/``$count``/``$select``/
``$search``/``$expand`` options it sends to a real PBX, so they are parsed here for real (a
tokenizer and a recursive-descent parser, never ``eval``): a query 3CX would refuse must fail
here too, with the OData error body, instead of passing silently (see docs/3cx-api.md §4).

Rows hold str, int, float, bool, None, tz-aware datetimes (or ISO-8601 strings for them) and
nested lists or dicts. Rows carry no type information, so type mismatches (``Number eq 100``
on a string) are detected on the first row whose value is not null, not when parsing.
Not supported, and refused with a 400: arithmetic, lambda operators (``any``/``all``), duration
and guid literals, nested ``$select``.

>>> rows = [
...     {"Id": 1, "Number": "100", "FirstName": "Ann", "Enabled": True},
...     {"Id": 2, "Number": "101", "FirstName": "Bob", "Enabled": True},
...     {"Id": 3, "Number": "200", "FirstName": "Cid", "Enabled": False},
... ]
>>> apply_query(rows, {"$filter": "startswith(Number,'10') and FirstName ne 'Ann'",
...                    "$select": "Id,Number", "$count": "true"}, "ctx")
{'@odata.context': 'ctx', '@odata.count': 1, 'value': [{'Id': 2, 'Number': '101'}]}
>>> [r["Id"] for r in apply_query(rows, {"$orderby": "Enabled,Id desc", "$top": "2"}, "")["value"]]
[3, 2]
>>> try:
...     apply_query(rows, {"$filter": "Number eq 100"}, "")
... except ODataError as error:
...     print(error.status, error)
400 Type mismatch in $filter: Number (Edm.String) eq 100 (Edm.Number)
"""

import contextlib
import operator
import re
from collections import namedtuple
from datetime import UTC, date, datetime, timedelta, timezone

__all__ = ["ODataError", "apply_query", "parse_function_args", "parse_key_segment"]


class ODataError(ValueError):
    """A request the XAPI refuses; :meth:`body` is the JSON error to send back.

    >>> ODataError("Bad $top").body()
    {'error': {'code': 'BadRequest', 'message': 'Bad $top', 'details': []}}
    """

    def __init__(self, message, *, status=400, code="BadRequest"):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code

    def body(self):
        return {"error": {"code": self.code, "message": self.message, "details": []}}


# ---------------------------------------------------------------------------------------------
# Values


_DATETIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})"
)
_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?![\w:])")


def _utc(value):
    # Rows should hold aware datetimes; a naive one is taken as UTC, as 3CX stores them.
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _datetime_from_match(match):
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    offset = timedelta(0)
    if zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        offset = sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    moment = datetime(
        int(year),
        int(month),
        int(day),
        int(hour),
        int(minute),
        int(second or 0),
        micro,
        tzinfo=timezone(offset),
    )
    return moment.astimezone(UTC)


def _parse_temporal(text):
    """The datetime or date an ISO-8601 string holds, or None (for strings that are not one)."""
    with contextlib.suppress(ValueError):
        match = _DATETIME_RE.fullmatch(text)
        if match:
            return _datetime_from_match(match)
        match = _DATE_RE.fullmatch(text)
        if match:
            return date(*map(int, match.groups()))
    return None


def _kind(value):
    """The EDM-like type name of a value, for type checks and their messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "Edm.Boolean"
    if isinstance(value, (int, float)):
        return "Edm.Number"
    if isinstance(value, str):
        return "Edm.String"
    if isinstance(value, datetime):
        return "Edm.DateTimeOffset"
    if isinstance(value, date):
        return "Edm.Date"
    return "complex"


def _format_datetime(value):
    value = _utc(value)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


def _json_value(value):
    if isinstance(value, datetime):
        return _format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(item) for item in value]
    return value


# ---------------------------------------------------------------------------------------------
# Tokens

_Token = namedtuple("_Token", "kind value pos text")

_NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.:-])")
_NAME_RE = re.compile(r"[A-Za-z_]\w*(?:[/.][A-Za-z_]\w*)*")
_BAD_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T[\w:.+-]*")
_LITERAL_WORDS = {"true": True, "false": False, "null": None}


def _syntax_error(option, text, pos, message):
    return ODataError(f"Syntax error at position {pos} in {option} '{text}': {message}")


def _found(token):
    return "found the end" if token.kind == "end" else f"found {token.text!r}"


def _tokenize(text, option):
    """Split ``text`` into tokens: literal, name, ``(``, ``)``, ``,``, ``=`` and a final end."""
    tokens = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
            continue
        start = pos
        if char in "(),=":
            tokens.append(_Token(char, char, start, char))
            pos += 1
            continue
        if char == "'":
            value, pos = _scan_string(text, pos, option)
            tokens.append(_Token("literal", value, start, text[start:pos]))
            continue
        match = _DATETIME_RE.match(text, pos) or _DATE_RE.match(text, pos)
        if match:
            try:
                value = (
                    _datetime_from_match(match)
                    if match.re is _DATETIME_RE
                    else date(*map(int, match.groups()))
                )
            except ValueError as error:
                raise _syntax_error(
                    option, text, start, f"invalid date {match[0]!r} ({error})"
                ) from None
            pos = match.end()
            tokens.append(_Token("literal", value, start, match[0]))
            continue
        match = _BAD_DATETIME_RE.match(text, pos)
        if match:
            raise _syntax_error(
                option,
                text,
                start,
                f"invalid datetime literal {match[0]!r}: "
                "expected YYYY-MM-DDThh:mm[:ss[.fff]] and Z or an offset",
            )
        match = _NUMBER_RE.match(text, pos)
        if match:
            literal = match[0]
            value = int(literal) if literal.lstrip("-").isdigit() else float(literal)
            pos = match.end()
            tokens.append(_Token("literal", value, start, literal))
            continue
        match = _NAME_RE.match(text, pos)
        if match:
            name = match[0]
            pos = match.end()
            if pos < len(text) and text[pos] == "'":
                # Namespace.EnumType'Member': 3CX compares enums as their member names.
                if "." not in name:
                    raise _syntax_error(option, text, start, f"unsupported literal {name}'...'")
                value, pos = _scan_string(text, pos, option)
                tokens.append(_Token("literal", value, start, text[start:pos]))
            elif name in _LITERAL_WORDS:
                tokens.append(_Token("literal", _LITERAL_WORDS[name], start, name))
            else:
                tokens.append(_Token("name", name, start, name))
            continue
        raise _syntax_error(option, text, start, f"unexpected character {char!r}")
    tokens.append(_Token("end", None, len(text), ""))
    return tokens


def _scan_string(text, pos, option):
    """Read the quoted string starting at ``text[pos]``; ``''`` stands for one quote."""
    chunks = []
    index = pos + 1
    while True:
        end = text.find("'", index)
        if end < 0:
            raise _syntax_error(option, text, pos, "unterminated string literal")
        chunks.append(text[index:end])
        if text.startswith("''", end):
            chunks.append("'")
            index = end + 2
            continue
        return "".join(chunks), end + 1


# ---------------------------------------------------------------------------------------------
# $filter

# kind: "bool" (always a boolean), "value" (never one), "any" (a property or null: seen at run)
_Node = namedtuple("_Node", "fn kind label")

_COMPARISONS = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_KEYWORDS = {"and", "or", "not", "in", *_COMPARISONS}


def _truth(value, node):
    if value is None or isinstance(value, bool):
        return value
    raise ODataError(f"'{node.label}' is not a boolean expression (it is {_kind(value)})")


def _require_boolean(node, where):
    if node.kind == "value":
        raise ODataError(f"{where} needs a boolean expression, not '{node.label}'")


def _align(left, right, op, label):
    """Both operands in comparable form, or ODataError when their types differ."""
    if isinstance(left, str) and isinstance(right, date):
        left = _parse_temporal(left) or left
    elif isinstance(right, str) and isinstance(left, date):
        right = _parse_temporal(right) or right
    left_kind, right_kind = _kind(left), _kind(right)
    if left_kind != right_kind or left_kind == "complex":
        hint = ""
        if {left_kind, right_kind} == {"Edm.DateTimeOffset", "Edm.Date"}:
            hint = "; use date(Property) to compare with a date"
        raise ODataError(
            f"Type mismatch in $filter: {label[0]} ({left_kind}) {op} "
            f"{label[1]} ({right_kind}){hint}"
        )
    if left_kind == "Edm.DateTimeOffset":
        return _utc(left), _utc(right)
    return left, right


def _compare(op, left, right, label):
    # OData: null equals only null, and every ordering with a null operand is false.
    if left is None or right is None:
        if op in ("eq", "ne"):
            return (left is None and right is None) == (op == "eq")
        return False
    left, right = _align(left, right, op, label)
    return _COMPARISONS[op](left, right)


def _strings(fn):
    def apply(name, *args):
        for arg in args:
            if not isinstance(arg, str):
                raise ODataError(f"{name}() expects strings, got {_kind(arg)}")
        return fn(*args)

    return apply


def _temporal(fn, *, dates=True):
    def apply(name, value):
        if isinstance(value, str):
            value = _parse_temporal(value) or value
        if isinstance(value, datetime):
            return fn(_utc(value))
        if dates and isinstance(value, date):
            return fn(value)
        raise ODataError(f"{name}() expects a date/time, got {_kind(value)}")

    return apply


# name: (arity, kind of the result, implementation taking the function name then the arguments)
_FUNCTIONS = {
    "contains": (2, "bool", _strings(lambda text, part: part in text)),
    "startswith": (2, "bool", _strings(str.startswith)),
    "endswith": (2, "bool", _strings(str.endswith)),
    "tolower": (1, "value", _strings(str.lower)),
    "toupper": (1, "value", _strings(str.upper)),
    "trim": (1, "value", _strings(str.strip)),
    "length": (1, "value", _strings(len)),
    "indexof": (2, "value", _strings(str.find)),
    "date": (1, "value", _temporal(lambda v: v.date() if isinstance(v, datetime) else v)),
    "year": (1, "value", _temporal(lambda v: v.year)),
    "month": (1, "value", _temporal(lambda v: v.month)),
    "day": (1, "value", _temporal(lambda v: v.day)),
    "hour": (1, "value", _temporal(lambda v: v.hour, dates=False)),
    "minute": (1, "value", _temporal(lambda v: v.minute, dates=False)),
    "second": (1, "value", _temporal(lambda v: v.second, dates=False)),
}


def _unknown_property(name, option):
    return ODataError(f"Could not find a property named '{name}' ({option})")


def _getter(path, known, option):
    """A function reading property ``path`` (``A`` or ``A/B`` into a complex value) of a row."""
    head, *rest = path.split("/")
    if known is not None and head not in known:
        raise _unknown_property(head, option)

    def get(row):
        value = row.get(head)
        for segment in rest:
            if value is None:
                return None
            if not isinstance(value, dict) or segment not in value:
                raise _unknown_property(path, option)
            value = value[segment]
        return value

    return get


class _FilterParser:
    """Recursive descent, with OData's precedence: or < and < comparisons < not < primary."""

    def __init__(self, text, known):
        self.text = text
        self.known = known
        self.tokens = _tokenize(text, "$filter")
        self.index = 0

    def parse(self):
        node = self._or()
        token = self._peek()
        if token.kind != "end":
            self._fail(token, "expected 'and', 'or' or an operator")
        _require_boolean(node, "$filter")
        return node

    def _peek(self):
        return self.tokens[self.index]

    def _advance(self):
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def _accept(self, kind, value=None):
        token = self._peek()
        if token.kind == kind and (value is None or token.value == value):
            self.index += 1
            return True
        return False

    def _expect(self, kind):
        if not self._accept(kind):
            self._fail(self._peek(), f"expected '{kind}'")

    def _fail(self, token, message, *, found=True):
        if found:
            message = f"{message}, {_found(token)}"
        raise _syntax_error("$filter", self.text, token.pos, message)

    def _or(self):
        node = self._and()
        while self._accept("name", "or"):
            node = _logical("or", node, self._and())
        return node

    def _and(self):
        node = self._comparison()
        while self._accept("name", "and"):
            node = _logical("and", node, self._comparison())
        return node

    def _comparison(self):
        node = self._unary()
        while True:
            token = self._peek()
            if token.kind == "name" and token.value in _COMPARISONS:
                self._advance()
                node = _comparison(token.value, node, self._unary())
            elif token.kind == "name" and token.value == "in":
                self._advance()
                node = _membership(node, self._literal_list())
            else:
                return node

    def _unary(self):
        if self._accept("name", "not"):
            return _negation(self._unary())
        return self._primary()

    def _primary(self):
        token = self._advance()
        if token.kind == "literal":
            value = token.value
            kind = "bool" if isinstance(value, bool) else "any" if value is None else "value"
            return _Node(lambda row: value, kind, token.text)
        if token.kind == "(":
            node = self._or()
            self._expect(")")
            return node._replace(label=f"({node.label})")
        if token.kind == "name" and token.value not in _KEYWORDS:
            if self._peek().kind == "(":
                return self._call(token)
            return _Node(_getter(token.value, self.known, "$filter"), "any", token.value)
        self._fail(token, "expected a property, a literal, a function or '('")

    def _call(self, token):
        if token.value not in _FUNCTIONS:
            self._fail(token, f"unknown function '{token.value}'", found=False)
        arity, kind, implementation = _FUNCTIONS[token.value]
        self._expect("(")
        args = []
        if not self._accept(")"):
            args.append(self._or())
            while self._accept(","):
                args.append(self._or())
            self._expect(")")
        if len(args) != arity:
            message = f"{token.value}() takes {arity} argument(s), not {len(args)}"
            self._fail(token, message, found=False)
        name = token.value

        def call(row):
            values = [arg.fn(row) for arg in args]
            if any(value is None for value in values):
                return None
            return implementation(name, *values)

        return _Node(call, kind, f"{name}({','.join(arg.label for arg in args)})")

    def _literal_list(self):
        self._expect("(")
        items = []
        while True:
            token = self._advance()
            if token.kind != "literal":
                self._fail(token, "expected a literal")
            items.append(token)
            if self._accept(")"):
                return items
            self._expect(",")


def _logical(word, left, right):
    _require_boolean(left, f"'{word}'")
    _require_boolean(right, f"'{word}'")
    decisive = word == "or"  # the value that settles the result, whatever the other side is

    def evaluate(row):
        first = _truth(left.fn(row), left)
        if first is decisive:
            return decisive
        second = _truth(right.fn(row), right)
        if second is decisive:
            return decisive
        return None if first is None or second is None else not decisive

    return _Node(evaluate, "bool", f"{left.label} {word} {right.label}")


def _negation(operand):
    _require_boolean(operand, "'not'")

    def evaluate(row):
        value = _truth(operand.fn(row), operand)
        return None if value is None else not value

    return _Node(evaluate, "bool", f"not {operand.label}")


def _comparison(op, left, right):
    label = (left.label, right.label)
    return _Node(
        lambda row: _compare(op, left.fn(row), right.fn(row), label),
        "bool",
        f"{left.label} {op} {right.label}",
    )


def _membership(left, items):
    def evaluate(row):
        value = left.fn(row)
        return any(_compare("eq", value, item.value, (left.label, item.text)) for item in items)

    return _Node(evaluate, "bool", f"{left.label} in (...)")


def _compile_filter(text, known):
    node = _FilterParser(text, known).parse()
    return lambda row: _truth(node.fn(row), node) is True


# ---------------------------------------------------------------------------------------------
# The other options

_ORDER_ITEM_RE = re.compile(
    r"\s*([A-Za-z_]\w*(?:/[A-Za-z_]\w*)*)(?:\s+(asc|desc))?\s*", re.IGNORECASE
)
_SELECT_ITEM_RE = re.compile(r"[A-Za-z_]\w*|\*")
_UNSIGNED_RE = re.compile(r"\d+")


def _option(params, name):
    value = params.get(name)
    if isinstance(value, (list, tuple)):  # parse_qs-style mappings
        value = value[-1] if value else None
    return value


def _split_top_level(text):
    """Split on commas that are outside parentheses and quotes (``A($select=B,C),D``)."""
    parts, depth, quoted, start = [], 0, False, 0
    for index, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif not quoted and depth == 0 and char == ",":
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return [part.strip() for part in parts]


def _non_negative(params, name):
    text = _option(params, name)
    if text is None:
        return None
    if not _UNSIGNED_RE.fullmatch(text.strip()):
        raise ODataError(f"Invalid value '{text}' for {name}: expected a non-negative integer")
    return int(text)


def _parse_count(params):
    text = _option(params, "$count")
    if text is None:
        return False
    if text.strip().lower() not in ("true", "false"):
        raise ODataError(f"Invalid value '{text}' for $count: expected true or false")
    return text.strip().lower() == "true"


def _parse_orderby(text, known):
    order = []
    for item in text.split(","):
        match = _ORDER_ITEM_RE.fullmatch(item)
        if not match:
            raise ODataError(
                f"Invalid $orderby item '{item.strip()}': expected 'Property [asc|desc]'"
            )
        path, direction = match.groups()
        order.append(
            (path, _getter(path, known, "$orderby"), (direction or "asc").lower() == "desc")
        )
    return order


def _parse_select(text, known):
    names = set()
    for item in text.split(","):
        item = item.strip()
        if not _SELECT_ITEM_RE.fullmatch(item):
            raise ODataError(f"Invalid $select item '{item}': expected a property name or *")
        if item == "*":
            return None
        if known is not None and item not in known:
            raise _unknown_property(item, "$select")
        names.add(item)
    return names


def _parse_expand(text):
    # 3CX tolerates expanding what it cannot expand; nested options are not applied here.
    return {part.split("(", 1)[0].strip() for part in _split_top_level(text)}


def _sort_key(value, path):
    if value is None:
        return (0, 0)
    if isinstance(value, (dict, list)):
        raise ODataError(f"Cannot order by '{path}': it is not a primitive property")
    return (1, _utc(value) if isinstance(value, datetime) else value)


def _sort_by(rows, path, get, descending):
    try:
        rows.sort(key=lambda row: _sort_key(get(row), path), reverse=descending)
    except TypeError:
        raise ODataError(f"Cannot order by '{path}': its values have different types") from None


def _sort(rows, order):
    # Stable sorts from the last key to the first give the multi-key order.
    for path, get, descending in reversed(order):
        _sort_by(rows, path, get, descending)


def _matches_search(row, term):
    return any(isinstance(value, str) and term in value.lower() for value in row.values())


def _shape(row, selected, expanded, navigation):
    shaped = {}
    for key, value in row.items():
        if key in navigation:
            if key not in expanded and "*" not in expanded:
                continue
        elif selected is not None and key not in selected:
            continue
        shaped[key] = _json_value(value)
    return shaped


def apply_query(rows, params, context_url, *, keys=None, navigation=()):
    """Answer an XAPI collection request over ``rows``, as 3CX would.

    :param rows: the entity set, dicts with PascalCase keys (left unchanged).
    :param params: the raw query-string options (``$filter`` ...); other keys are ignored.
    :param context_url: the ``@odata.context`` of the answer.
    :param keys: the entity type's property names, to refuse unknown ones even in an empty
        set; by default the keys found in ``rows`` (and anything goes when there are none).
    :param navigation: keys that, as in 3CX, appear only when ``$expand`` names them.
    :returns: ``{"@odata.context", ["@odata.count",] "value"}``, datetimes as ISO-8601 ``Z``.
    :raises ODataError: on any invalid option (status 400).
    """
    navigation = frozenset(navigation)
    if keys is not None:
        known = set(keys) | navigation
    else:
        known = {key for row in rows for key in row} or None
    # Every option is parsed before any row is read, so a bad query fails on an empty set too.
    text = _option(params, "$filter")
    predicate = _compile_filter(text, known) if text and text.strip() else None
    text = _option(params, "$orderby")
    order = _parse_orderby(text, known) if text and text.strip() else []
    text = _option(params, "$select")
    selected = _parse_select(text, known) if text and text.strip() else None
    text = _option(params, "$expand")
    expanded = _parse_expand(text) if text and text.strip() else set()
    term = (_option(params, "$search") or "").strip().strip('"').lower()
    top = _non_negative(params, "$top")
    skip = _non_negative(params, "$skip") or 0
    count = _parse_count(params)

    result = [row for row in rows if predicate is None or predicate(row)]
    if term:
        result = [row for row in result if _matches_search(row, term)]
    total = len(result)
    _sort(result, order)
    result = result[skip:] if top is None else result[skip : skip + top]

    body = {"@odata.context": context_url}
    if count:
        body["@odata.count"] = total
    body["value"] = [_shape(row, selected, expanded, navigation) for row in result]
    return body


# ---------------------------------------------------------------------------------------------
# Key segments and function arguments


def _parse_arguments(text, what):
    """``literal`` or ``name=literal, ...`` as a list of (name or None, value)."""
    tokens = _tokenize(text, what)
    arguments = []
    index = 0
    while True:
        name = None
        if tokens[index].kind == "name" and tokens[index + 1].kind == "=":
            name = tokens[index].value
            index += 2
        token = tokens[index]
        if token.kind != "literal":
            raise _syntax_error(what, text, token.pos, f"expected a literal, {_found(token)}")
        arguments.append((name, token.value))
        index += 1
        token = tokens[index]
        if token.kind == "end":
            return arguments
        if token.kind != ",":
            raise _syntax_error(what, text, token.pos, f"expected ',', {_found(token)}")
        index += 1


def _inner(text, what, *, required):
    stripped = text.strip()
    if stripped.startswith("(") and stripped.endswith(")"):
        return stripped[1:-1]
    if required:
        raise ODataError(f"Invalid {what} '{text}': expected '(...)'")
    return stripped


def parse_key_segment(text):
    """The key of ``Users(42)``-style routes: an int or str, or a dict of named keys.

    >>> parse_key_segment("(42)"), parse_key_segment("(Number='100')")
    (42, {'Number': '100'})
    >>> parse_key_segment("('O''Neil')")
    "O'Neil"

    :raises ODataError: (400) on anything else.
    """
    inner = _inner(text, "key segment", required=True)
    if not inner.strip():
        raise ODataError(f"Invalid key segment '{text}': no key")
    arguments = _parse_arguments(inner, "key segment")
    for _, value in arguments:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ODataError(f"Invalid key segment '{text}': keys are integers or strings")
    names = [name for name, _ in arguments]
    if names == [None]:
        return arguments[0][1]
    if None in names or len(set(names)) != len(names):
        raise ODataError(f"Invalid key segment '{text}': mix of named, unnamed or repeated keys")
    return dict(arguments)


def parse_function_args(text):
    """The named arguments of a bound function call, such as 3CX's call-log report, typed.

    >>> args = parse_function_args("periodFrom=2025-03-01T00:00:00Z,sourceType=0,"
    ...                            "sourceFilter='',hidePcalls=false")
    >>> args["periodFrom"].isoformat(), args["sourceType"], args["sourceFilter"], args["hidePcalls"]
    ('2025-03-01T00:00:00+00:00', 0, '', False)

    Surrounding parentheses are optional; an empty list gives ``{}``.

    :raises ODataError: (400) on unnamed or repeated arguments and on anything not a literal.
    """
    inner = _inner(text, "function arguments", required=False)
    if not inner.strip():
        return {}
    arguments = _parse_arguments(inner, "function arguments")
    names = [name for name, _ in arguments]
    if None in names:
        raise ODataError(f"Invalid function arguments '{text}': every argument needs a name")
    if len(set(names)) != len(names):
        raise ODataError(f"Invalid function arguments '{text}': an argument is repeated")
    return dict(arguments)
