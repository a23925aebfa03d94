# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""3CX server-side CRM templates: emit the HTTP requests a real PBX sends to a CRM.

What
----
A 3CX admin uploads an XML *CRM template*; from then on the PBX itself calls the CRM: the
lookup scenario (``Scenario Id=""``) when a call rings, ``ReportCall`` after it ends, and
``ReportChat`` / ``SearchContacts*`` / ``CreateContactRecordFromClient`` … on demand. This module
loads such a template and plays the PBX's part, so the addon's CRM endpoints can be tested
against the requests 3CX would really send (docs/3cx-api.md §5).

How it works
------------
:func:`load_template` parses and validates the XML (defensively: size cap, no DOCTYPE or
entities) into frozen dataclasses, pre-parsing every expression so a bad template fails at load
with :class:`TemplateError` naming the element and attribute. :class:`CrmEmitter` runs scenarios:

1. variables = template parameters (admin values over defaults) < call variables < scenario
   results; ``[Number]`` is rewritten per ``<Number Prefix MaxLength>`` (:func:`format_number`);
2. ``SkipIf`` is evaluated; a skipped step sends nothing but still follows ``Outputs/@Next``;
3. the URL, headers and body are expanded (``Passes`` = how many expansion rounds) and sent,
   at most ``Connection/@MaxConcurrentRequests`` at a time (a ``BoundedSemaphore``);
4. the JSON answer is split into records at the first array on the first ``<Rule>`` path; the
   records that pass every rule fill ``<Variables>`` (with ``<Filter>`` picking array items) and
   either feed the ``Next`` scenario or become ``<Outputs>``;
5. a lookup keeps a contact only if the searched number is one of its phone outputs.

Timeouts, refused connections, non-2xx answers, non-JSON bodies and expression failures never
raise: the result says ``ok=False`` with ``status``/``error``/``elapsed`` and one WARNING is
logged. Secrets (``Type="Password"`` parameters, parameters named like key/secret/token/
password, the Basic password, the auth-scenario header value) are replaced by ``***`` in the
bounded :attr:`CrmEmitter.history`, in errors and in logs.

Expressions: ``[Name]`` expands a variable (unknown → empty); inside brackets ``IIf(c, a, b)``,
``==``, ``!=``, ``||``, ``&&``, ``!``, ``"strings"``, bare words (``Inbound``, ``True``) and
methods on values (``[[Number].Replace("+","%2B")]``, ``Trim``, ``ToLower``, ``Substring`` …).
``{{``, ``}}`` and ``^^`` stand for ``[``, ``]`` and ``"`` in the final text. No ``eval``.

Sources (S… as in docs/3cx-api.md)
----------------------------------
* 3CX docs, CRM template XML description (S6): ``<Crm Name Version Country SupportsEmojis>``
  and its children; Prefix ``AsIs`` (+,00 ⇒ +,00), ``Off`` (⇒ none), ``Plus`` (⇒ +), ``Zeros``
  (⇒ 00); ``MaxLength`` keeps the last N digits, empty = unchanged, and is an expression.
* renuo/redmine_3cx ``template.xml.erb`` (S17, in production): a ``<Scenario>`` with no Id is
  the lookup; Basic auth is ONE ``<Value>[ApiKey]:x</Value>`` (user:password); a rule over a
  list (``contacts.id``) yields one contact per item; ``<Variable><Filter/></Variable>``;
  ``Output Passes="0"`` still expands ``[Var]``; GET URLs write ``[[Number].Replace("+","%2B")]``,
  so 3CX does not URL-encode substituted values; ``[EscapedSearchText]`` for searches.
* tierklinik-dobersberg/3cx-support ``contrib/3cx-crm.template.xml`` (S17): ``ReportCall``
  chained with ``<Outputs Next=… AllowEmpty="true">``, one step per CallType with
  ``SkipIf="[ReportCallEnabled]!=True||[CallType]!=Inbound"``; ``<PostValues>`` ``<Value Key
  Passes Type>``; ``[Contact::ContactID]`` (lookup outputs seen from ReportCall).
* modestcrab/3CX-Pipedrive-Integration ``pipedrive.xml`` (S17): ``<Filter><Rule Type="Equals"
  Ethalon="work">data.phone.label</Rule></Filter>``; ``Rule Type="Number"``; ``If=
  "[CallType]==Inbound"`` on a PostValues ``<Value>``; ``Type="Integer"``; ``[[InboundCallText]]``
  with ``Passes="2"``.
* A public template-generation guide (S18, not 3CX): ``<Object>``/``<Array>`` in PostValues;
  ``Authentication Type="Scenario"`` + ``<Value>ScenarioId</Value>`` with ``HeaderName``/
  ``HeaderValue``/``BearerExpiration`` outputs; ``{{ }} ^^`` escapes; JSON booleans become
  ``True``/``False``; the number-in-phone-outputs rule; no positional ``[0]`` in paths.

Caveats
-------
``Passes="0"`` is taken as one pass (S17 templates rely on it). Bare words are literals, never
variables (S18 says 3CX may fail on them inside ``||``; S17 templates use them). ``UrlEncode``,
``Concat`` and ``IsNullOrEmpty`` were seen in no real template: they work here but are listed in
:attr:`CrmTemplate.warnings`, as are unknown functions (which fail when evaluated). PostValues of
a GET are appended as a query string [I]. Not simulated: OAuth, SQL scenarios, XML responses,
re-authentication on 401, ``[LineBreak]`` as anything but ``\\n``, the exact ``CallDirection``
/``Duration`` formats (callers pass them). Exceptions: :class:`TemplateError` (``ValueError``)
for a bad template, :class:`ExpressionError` (a ``TemplateError``) for a bad expression.
"""

import base64
import contextlib
import json
import logging
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from urllib.parse import quote, quote_plus, urlencode

import requests

_logger = logging.getLogger(__name__)

# Seconds for each CRM request (connect and read); 3CX's own value is not published.
TIMEOUT = 5.0
MAX_TEMPLATE_BYTES = 512 * 1024
MAX_RESPONSE_BYTES = 1024 * 1024
HISTORY_SIZE = 500
# Used when a template has no <Connection>; 2 is what most public templates declare.
DEFAULT_MAX_CONCURRENT = 2
# A Next chain longer than this is a loop in the template, not a real integration.
MAX_CHAIN_DEPTH = 8
# Minutes an auth-scenario header stays valid when the template gives no BearerExpiration.
DEFAULT_BEARER_MINUTES = 60.0
USER_AGENT = "realtor_3cx-crm-simulator/1"

EXAMPLE_TEMPLATE_PATH = Path(__file__).with_name("crm_template_example.xml")

LOOKUP_SCENARIO = ""
REPORT_CALL_SCENARIO = "ReportCall"
PREFIX_MODES = ("AsIs", "Off", "Plus", "Zeros")
CALL_TYPES = ("Inbound", "Outbound", "Missed", "Notanswered")
REPORT_CALL_VARIABLES = (
    "Number", "CallType", "CallDirection", "Name", "Agent", "AgentFirstName", "AgentLastName",
    "AgentEmail", "Duration", "DateTime", "CallStartTimeUTC", "CallEstablishedTimeUTC",
    "CallEndTimeUTC", "QueueExtension", "EntityId", "EntityType", "RecordingUrl",
    "Transcription", "Summary", "Sentiment", "LineBreak", "MaxLength",
)  # fmt: skip
PHONE_OUTPUTS = (
    "PhoneBusiness", "PhoneBusiness2", "PhoneHome", "PhoneHome2", "PhoneMobile",
    "PhoneMobile2", "PhoneOther", "FaxBusiness",
)  # fmt: skip
RULE_TYPES = ("Any", "Equals", "Number")
AUTH_TYPES = ("No", "Basic", "Scenario")

_SECRET_NAME_RE = re.compile(r"key|secret|token|password", re.IGNORECASE)
_FORBIDDEN_XML_RE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
# Emoji and pictograph blocks, dropped from chat text when SupportsEmojis is false.
_EMOJI_RE = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f\u200d]")


class TemplateError(ValueError):
    """A CRM template that 3CX would reject: the message names the element and attribute."""


class ExpressionError(TemplateError):
    """An expression that cannot be parsed or evaluated."""


# --------------------------------------------------------------------------- expressions

_TOKEN_RE = re.compile(
    r"""\s*(?:
        (?P<str>"[^"]*")
      | (?P<op>==|!=|\|\||&&|[!()\[\],.])
      | (?P<word>\d+(?:\.\d+)?|[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*)
    )""",
    re.VERBOSE,
)


def _tokenize(text):
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if not match:
            if not text[pos:].strip():
                break
            raise ExpressionError(f"unexpected {text[pos]!r} at offset {pos} in {text!r}")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Parser:
    """Recursive descent: or → and → comparison → unary → postfix (methods) → primary."""

    def __init__(self, text):
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    def parse(self):
        node = self._or()
        if self.pos != len(self.tokens):
            self._fail(f"unexpected {self.tokens[self.pos][1]!r}")
        return node

    def _fail(self, message):
        raise ExpressionError(f"{message} in {self.text!r}")

    def _peek(self, offset=0):
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else (None, None)

    def _accept(self, op):
        if self._peek() == ("op", op):
            self.pos += 1
            return True
        return False

    def _expect(self, op):
        if not self._accept(op):
            self._fail(f"expected {op!r}")

    def _or(self):
        node = self._and()
        while self._accept("||"):
            node = ("or", node, self._and())
        return node

    def _and(self):
        node = self._comparison()
        while self._accept("&&"):
            node = ("and", node, self._comparison())
        return node

    def _comparison(self):
        node = self._unary()
        for op in ("==", "!="):
            if self._accept(op):
                return ("cmp", op, node, self._unary())
        return node

    def _unary(self):
        if self._accept("!"):
            return ("not", self._unary())
        return self._postfix()

    def _postfix(self):
        node = self._primary()
        while self._accept("."):
            kind, name = self._peek()
            if kind != "word":
                self._fail("expected a method name after '.'")
            self.pos += 1
            node = ("method", node, name, self._arguments())
        return node

    def _arguments(self):
        self._expect("(")
        args = []
        if not self._accept(")"):
            args.append(self._or())
            while self._accept(","):
                args.append(self._or())
            self._expect(")")
        return tuple(args)

    def _primary(self):
        kind, value = self._peek()
        if kind is None:
            self._fail("unexpected end")
        if (kind, value) == ("op", "["):
            self.pos += 1
            name_kind, name = self._peek()
            # `[Name]` is a variable reference; anything else in brackets is an expression.
            if name_kind == "word" and not name[0].isdigit() and self._peek(1) == ("op", "]"):
                self.pos += 2
                return ("var", name)
            node = self._or()
            self._expect("]")
            return node
        if (kind, value) == ("op", "("):
            self.pos += 1
            node = self._or()
            self._expect(")")
            return node
        if kind == "str":
            self.pos += 1
            return ("lit", value[1:-1])
        if kind == "word":
            self.pos += 1
            if self._peek() == ("op", "("):
                return ("call", value, self._arguments())
            if value.lower() in ("true", "false"):
                return ("lit", value.lower() == "true")
            return ("lit", value)  # bare words are literals (`[CallType]!=Inbound`)
        self._fail(f"unexpected {value!r}")
        return None  # unreachable: _fail raises


@lru_cache(maxsize=4096)
def _parse_expression(text):
    if not text.strip():
        raise ExpressionError("empty expression")
    return _Parser(text).parse()


def _matching_bracket(text, start):
    depth, in_string = 0, False
    for index in range(start, len(text)):
        char = text[index]
        if in_string:
            in_string = char != '"'
        elif char == '"':
            in_string = True
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                return index
    raise ExpressionError(f"unclosed '[' at offset {start} in {text!r}")


@lru_cache(maxsize=4096)
def _parse_template(text):
    """Split text into literal strings and expression trees (one per top-level ``[...]``)."""
    parts, literal, index = [], [], 0
    while index < len(text):
        if text[index] == "[":
            end = _matching_bracket(text, index)
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(_parse_expression(text[index : end + 1]))
            index = end + 1
        else:
            literal.append(text[index])
            index += 1
    if literal:
        parts.append("".join(literal))
    return tuple(parts)


def _to_str(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def _as_bool(value, where):
    if isinstance(value, bool):
        return value
    text = _to_str(value).strip().lower()
    if text in ("true", "false", ""):
        return text == "true"
    # 3CX fails the same way (InvalidCastException) when a condition is not a boolean.
    raise ExpressionError(f"{where} needs a boolean, got {_to_str(value)!r}")


def _equal(left, right):
    if isinstance(left, bool) or isinstance(right, bool):
        try:
            return _as_bool(left, "==") == _as_bool(right, "==")
        except ExpressionError:
            return False
    return _to_str(left) == _to_str(right)


def _format_tostring(value, fmt=None):
    match = re.fullmatch(r"[FfNn](\d+)", _to_str(fmt)) if fmt is not None else None
    if match:
        with contextlib.suppress(ValueError):
            return f"{float(_to_str(value)):.{int(match.group(1))}f}"
    return _to_str(value)


def _substring(value, start, length=None):
    text, start = _to_str(value), int(_to_str(start))
    return text[start:] if length is None else text[start : start + int(_to_str(length))]


_METHODS = {
    "replace": lambda v, old, new: _to_str(v).replace(_to_str(old), _to_str(new)),
    "trim": lambda v: _to_str(v).strip(),
    "trimstart": lambda v: _to_str(v).lstrip(),
    "trimend": lambda v: _to_str(v).rstrip(),
    "tolower": lambda v: _to_str(v).lower(),
    "toupper": lambda v: _to_str(v).upper(),
    "substring": _substring,
    "startswith": lambda v, s: _to_str(v).startswith(_to_str(s)),
    "endswith": lambda v, s: _to_str(v).endswith(_to_str(s)),
    "contains": lambda v, s: _to_str(s) in _to_str(v),
    "indexof": lambda v, s: str(_to_str(v).find(_to_str(s))),
    "tostring": _format_tostring,
}
# Functions no public template was seen to use: accepted, but reported in template.warnings.
_UNCONFIRMED_FUNCTIONS = {
    "urlencode": lambda v: quote(_to_str(v), safe=""),
    "concat": lambda *values: "".join(_to_str(v) for v in values),
    "isnullorempty": lambda v: _to_str(v) == "",
}


def _evaluate(node, variables):
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "var":
        return variables.get(node[1], "")
    if kind == "not":
        return not _as_bool(_evaluate(node[1], variables), "'!'")
    if kind in ("or", "and"):
        op = "'||'" if kind == "or" else "'&&'"
        left = _as_bool(_evaluate(node[1], variables), op)
        if left is (kind == "or"):  # short-circuit like C#
            return left
        return _as_bool(_evaluate(node[2], variables), op)
    if kind == "cmp":
        equal = _equal(_evaluate(node[2], variables), _evaluate(node[3], variables))
        return equal if node[1] == "==" else not equal
    if kind == "call":
        name, args = node[1].lower(), node[2]
        if name == "iif":
            if len(args) != 3:
                raise ExpressionError(f"IIf takes 3 arguments, got {len(args)}")
            chosen = args[1] if _as_bool(_evaluate(args[0], variables), "IIf") else args[2]
            return _evaluate(chosen, variables)
        function = _UNCONFIRMED_FUNCTIONS.get(name)
        if function is None:
            raise ExpressionError(f"unknown function {node[1]}()")
        return _apply(function, node[1], [_evaluate(a, variables) for a in args])
    if kind == "method":
        method = _METHODS.get(node[2].lower())
        if method is None:
            raise ExpressionError(f"unknown method .{node[2]}()")
        receiver = _evaluate(node[1], variables)
        return _apply(method, node[2], [receiver] + [_evaluate(a, variables) for a in node[3]])
    raise ExpressionError(f"bad expression node {kind!r}")  # pragma: no cover


def _apply(function, name, args):
    try:
        return function(*args)
    except (TypeError, ValueError) as exc:
        raise ExpressionError(f"{name}() failed: {exc}") from None


def _functions_used(node):
    """``(kind, name)`` of every function and method in a tree, for load-time warnings."""
    kind, found = node[0], []
    if kind == "call":
        found.append(("call", node[1]))
        children = node[2]
    elif kind == "method":
        found.append(("method", node[2]))
        children = (node[1], *node[3])
    elif kind == "cmp":
        children = node[2:]
    elif kind in ("or", "and", "not"):
        children = node[1:]
    else:
        children = ()
    for child in children:
        found.extend(_functions_used(child))
    return found


def _unescape(text):
    return text.replace("{{", "[").replace("}}", "]").replace("^^", '"')


def expand(text, variables, passes=1):
    """Expand ``[...]`` in *text*; each pass re-expands what the previous one produced.

    ``Passes="0"`` in a template means one pass, as templates in production rely on.

    >>> expand("[[Greeting]] [Missing]!", {"Greeting": "Hi [Name]", "Name": "Ada"}, passes=2)
    'Hi Ada !'
    >>> expand('[IIf([CallType]==Missed, "missed", "taken")]', {"CallType": "Missed"})
    'missed'
    """
    result = text or ""
    for _ in range(max(1, int(passes or 0))):
        if "[" not in result:
            break
        parts = _parse_template(result)
        result = "".join(
            p if isinstance(p, str) else _to_str(_evaluate(p, variables)) for p in parts
        )
    return _unescape(result)


def evaluate_condition(text, variables):
    """Evaluate a ``SkipIf``/``If`` condition; empty means false.

    >>> evaluate_condition("[ReportCallEnabled]!=True||[CallType]!=Inbound",
    ...                    {"ReportCallEnabled": "True", "CallType": "Inbound"})
    False
    """
    if not (text or "").strip():
        return False
    return _as_bool(_evaluate(_parse_expression(text), variables), f"condition {text!r}")


# --------------------------------------------------------------------------- phone numbers


def format_number(number, prefix="AsIs", max_length=None):
    """Rewrite a caller number as ``<Number Prefix MaxLength>`` asks (3CX docs, S6).

    Only an international prefix (``+`` or ``00``) is rewritten; a national number is left
    alone. ``max_length`` keeps the last N digits when the number has more.

    >>> [format_number("+4930123", p) for p in PREFIX_MODES]
    ['+4930123', '4930123', '+4930123', '004930123']
    >>> format_number("+123456789", "AsIs", 6)
    '456789'
    """
    if prefix not in PREFIX_MODES:
        raise ValueError(f"prefix must be one of {PREFIX_MODES}, got {prefix!r}")
    text = _to_str(number).strip()
    rest = text[1:] if text.startswith("+") else text[2:] if text.startswith("00") else None
    if rest is not None and prefix != "AsIs":
        text = {"Off": rest, "Plus": "+" + rest, "Zeros": "00" + rest}[prefix]
    if max_length:
        digits = re.sub(r"\D", "", text)
        if len(digits) > int(max_length):
            text = digits[-int(max_length) :]
    return text


def _canonical_digits(number):
    text = _to_str(number).strip()
    digits = re.sub(r"\D", "", text)
    return digits[2:] if text.startswith("00") else digits


def numbers_match(first, second, max_length=None):
    """Whether two numbers are the same line: equal digits (+ and 00 alike), or equal last
    ``max_length`` digits when the PBX matches on a suffix [I]."""
    left, right = _canonical_digits(first), _canonical_digits(second)
    if not left or not right:
        return False
    if max_length:
        return left[-int(max_length) :] == right[-int(max_length) :]
    return left == right


# --------------------------------------------------------------------------- template model


@dataclass(frozen=True)
class Parameter:
    """A ``<Parameter>``: a setting the admin fills in on the PBX."""

    name: str
    type: str = "String"
    parent: str = ""
    editor: str = "String"
    title: str = ""
    default: str = ""

    @property
    def secret(self):
        return self.type == "Password" or bool(_SECRET_NAME_RE.search(self.name))


@dataclass(frozen=True)
class ValueNode:
    """A ``<Value>``, ``<Object>`` or ``<Array>`` of ``<Headers>``/``<PostValues>``."""

    key: str
    kind: str = "value"  # "value", "object" or "array"
    text: str = ""
    type: str = "String"
    passes: int = 0
    if_: str = ""
    skip_if: str = ""
    children: tuple = ()


@dataclass(frozen=True)
class Rule:
    type: str
    path: str
    ethalon: str = ""


@dataclass(frozen=True)
class Variable:
    name: str
    path: str
    filters: tuple = ()  # Rule, all of which an array item must pass


@dataclass(frozen=True)
class Output:
    type: str
    value: str
    passes: int = 0


@dataclass(frozen=True)
class Request:
    url: str
    method: str = "GET"
    encoding: str = "UrlEncoded"
    response_type: str = "Json"
    skip_if: str = ""
    content_type: str = ""
    message: str = ""
    message_passes: int = 0
    headers: tuple = ()
    post_values: tuple = ()


@dataclass(frozen=True)
class Scenario:
    id: str
    request: Request
    rules: tuple = ()
    variables: tuple = ()
    outputs: tuple = ()
    allow_empty: bool = False
    next: str = ""


@dataclass(frozen=True)
class Authentication:
    type: str = "No"
    value: str = ""  # Basic: "user:password" expression; Scenario: the scenario Id


@dataclass(frozen=True)
class CrmTemplate:
    """A parsed template plus the admin's parameter values."""

    name: str
    version: int
    country: str
    supports_emojis: bool
    number_prefix: str
    number_max_length: str
    max_concurrent_requests: int
    parameters: MappingProxyType
    parameter_values: MappingProxyType
    authentication: Authentication
    scenarios: MappingProxyType
    warnings: tuple = ()

    def secret_values(self):
        """Non-trivial values of secret parameters, to redact from logs and history."""
        return {
            self.parameter_values.get(name, "")
            for name, param in self.parameters.items()
            if param.secret and len(self.parameter_values.get(name, "")) >= 3
        }


def _where(element, attribute=None, parent=""):
    if element.tag == "Scenario":
        label = f'<Scenario Id="{element.get("Id", "")}">'
    elif element.get("Key") is not None:
        label = f'<{element.tag} Key="{element.get("Key")}">'
    else:
        label = f"<{element.tag}>"
    label = f"{parent}/{label}" if parent else label
    return f"{label}@{attribute}" if attribute else label


def _required(element, attribute, where):
    value = element.get(attribute)
    if value is None or not value.strip():
        raise TemplateError(f"{where}: attribute {attribute} is required")
    return value


# In these helpers *parent* is the path of the element's parent, for the error message.
def _choice(element, attribute, choices, default, parent):
    value = element.get(attribute, default)
    matches = [c for c in choices if c.lower() == (value or "").lower()]
    if not matches:
        where = _where(element, attribute, parent)
        raise TemplateError(f"{where}: {value!r} is not one of {', '.join(choices)}")
    return matches[0]


def _int(element, attribute, default, parent, minimum=None):
    raw = element.get(attribute)
    if raw is None or not raw.strip():
        return default
    where = _where(element, attribute, parent)
    try:
        value = int(raw)
    except ValueError:
        raise TemplateError(f"{where}: {raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise TemplateError(f"{where}: {value} is below the minimum of {minimum}")
    return value


def _bool(element, attribute, default, parent):
    raw = element.get(attribute)
    if raw is None or not raw.strip():
        return default
    if raw.strip().lower() not in ("true", "false"):
        raise TemplateError(f"{_where(element, attribute, parent)}: {raw!r} is not true/false")
    return raw.strip().lower() == "true"


class _Loader:
    """Builds a :class:`CrmTemplate`, checking every expression on the way."""

    def __init__(self):
        self.warnings = []

    def check_template(self, text, where):
        self._check(text, where, _parse_template, template=True)

    def check_condition(self, text, where):
        if text and text.strip():
            self._check(text, where, _parse_expression, template=False)

    def _check(self, text, where, parse, template):
        if not text:
            return
        try:
            parsed = parse(text)
        except ExpressionError as exc:
            raise TemplateError(f"{where}: {exc}") from None
        trees = [p for p in parsed if not isinstance(p, str)] if template else [parsed]
        for tree in trees:
            for kind, name in _functions_used(tree):
                lower = name.lower()
                if kind == "call" and lower in _UNCONFIRMED_FUNCTIONS:
                    message = f"{where}: {name}() is a simulator convenience, unseen in 3CX"
                elif kind == "call" and lower != "iif":
                    message = f"{where}: unknown function {name}() fails when evaluated"
                elif kind == "method" and lower not in _METHODS:
                    message = f"{where}: unknown method .{name}() fails when evaluated"
                else:
                    continue
                if message not in self.warnings:
                    self.warnings.append(message)

    def value_nodes(self, parent, where, allow_nested):
        nodes = []
        for child in parent:
            tag = child.tag
            kind_attr = (child.get("Type") or "").lower()
            if tag in ("Object", "Array") or (tag == "Value" and kind_attr in ("object", "array")):
                kind = (tag if tag != "Value" else child.get("Type")).lower()
                if not allow_nested:
                    raise TemplateError(
                        f"{_where(child, parent=where)}: a nested {kind} needs a Json request"
                        " (UrlEncoded bodies and headers are flat)"
                    )
            elif tag == "Value":
                kind = "value"
            else:
                raise TemplateError(f"{_where(child, parent=where)}: unexpected element")
            here = _where(child, parent=where)
            self.check_condition(child.get("If", ""), f"{here}@If")
            self.check_condition(child.get("SkipIf", ""), f"{here}@SkipIf")
            text = (child.text or "") if kind == "value" else ""
            self.check_template(text, here)
            nodes.append(
                ValueNode(
                    key=child.get("Key", ""),
                    kind=kind,
                    text=text,
                    type=child.get("Type", "String") if kind == "value" else kind.title(),
                    passes=_int(child, "Passes", 0, where, minimum=0),
                    if_=child.get("If", ""),
                    skip_if=child.get("SkipIf", ""),
                    children=tuple(self.value_nodes(child, here, allow_nested))
                    if kind != "value"
                    else (),
                )
            )
        return nodes

    def rule(self, element, where):
        rule_type = _choice(element, "Type", RULE_TYPES, "Any", where)
        path = (element.text or "").strip()
        if not path:
            raise TemplateError(f"{_where(element, parent=where)}: a rule needs a JSON path")
        ethalon = element.get("Ethalon", "")
        self.check_template(ethalon, f"{_where(element, 'Ethalon', where)}")
        return Rule(rule_type, path, ethalon)

    def request(self, element, where):
        here = _where(element, parent=where)
        url = _required(element, "Url", here)
        self.check_template(url, f"{here}@Url")
        skip_if = element.get("SkipIf", "")
        self.check_condition(skip_if, f"{here}@SkipIf")
        message = element.get("Message", "")
        self.check_template(message, f"{here}@Message")
        method = _choice(element, "RequestType", ("Get", "Post"), "Get", where)
        encoding = _choice(element, "RequestEncoding", ("UrlEncoded", "Json"), "UrlEncoded", where)
        response_type = _choice(element, "ResponseType", ("Json",), "Json", where)
        headers, post_values = (), ()
        for child in element:
            if child.tag == "Headers":
                headers = tuple(self.value_nodes(child, f"{here}/<Headers>", False))
            elif child.tag == "PostValues":
                post_values = tuple(
                    self.value_nodes(child, f"{here}/<PostValues>", encoding == "Json")
                )
        return Request(
            url=url,
            method=method.upper(),
            encoding=encoding,
            response_type=response_type,
            skip_if=skip_if,
            content_type=element.get("RequestContentType", ""),
            message=message,
            message_passes=_int(element, "MessagePasses", 0, where, minimum=0),
            headers=headers,
            post_values=post_values,
        )

    def scenario(self, element):
        where = _where(element)
        _choice(element, "Type", ("REST",), "REST", "")
        request = element.find("Request")
        if request is None:
            raise TemplateError(f"{where}: a <Request> element is required")
        rules = tuple(self.rule(r, f"{where}/<Rules>") for r in element.findall("Rules/Rule"))
        variables = []
        for var in element.findall("Variables/Variable"):
            here = f"{where}/<Variables>/<Variable>"
            filters = tuple(self.rule(r, f"{here}/<Filter>") for r in var.findall("Filter/Rule"))
            name, path = _required(var, "Name", here), _required(var, "Path", here)
            variables.append(Variable(name, path, filters))
        outputs_el = element.find("Outputs")
        outputs, allow_empty, next_id = (), False, ""
        if outputs_el is not None:
            here = f"{where}/<Outputs>"
            allow_empty = _bool(outputs_el, "AllowEmpty", False, where)
            next_id = outputs_el.get("Next", "")
            items = []
            for out in outputs_el.findall("Output"):
                out_type = _required(out, "Type", here)
                value = out.get("Value")
                if value is None:
                    raise TemplateError(f'{here}/<Output Type="{out_type}">: Value is required')
                self.check_template(value, f'{here}/<Output Type="{out_type}">@Value')
                items.append(Output(out_type, value, _int(out, "Passes", 0, here, minimum=0)))
            outputs = tuple(items)
        return Scenario(
            id=element.get("Id", ""),
            request=self.request(request, where),
            rules=rules,
            variables=tuple(variables),
            outputs=outputs,
            allow_empty=allow_empty,
            next=next_id,
        )


def _parse_xml(xml_text):
    data = xml_text.encode("utf-8") if isinstance(xml_text, str) else bytes(xml_text)
    if len(data) > MAX_TEMPLATE_BYTES:
        raise TemplateError(f"template too large: {len(data)} bytes > {MAX_TEMPLATE_BYTES}")
    # Entities are the XML bombs' vehicle and no CRM template needs a DTD: refuse both.
    if _FORBIDDEN_XML_RE.search(data):
        raise TemplateError("template must not contain a DOCTYPE or ENTITY declaration")
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise TemplateError(f"template is not well-formed XML: {exc}") from None


def load_template(xml_text, parameters=None):
    """Parse a 3CX CRM template; *parameters* are the admin's values over the defaults.

    :raises TemplateError: for anything 3CX would reject, naming the element and attribute.
    """
    root = _parse_xml(xml_text)
    if root.tag != "Crm":
        raise TemplateError(f"root element must be <Crm>, got <{root.tag}>")
    loader = _Loader()
    name = _required(root, "Name", "<Crm>")
    version = _int(root, "Version", 1, "", minimum=0)
    supports_emojis = _bool(root, "SupportsEmojis", False, "")

    number_el = root.find("Number")
    prefix, max_length = "AsIs", ""
    if number_el is not None:
        prefix = _choice(number_el, "Prefix", PREFIX_MODES, "AsIs", "")
        max_length = number_el.get("MaxLength", "")
        loader.check_template(max_length, "<Number>@MaxLength")

    connection = root.find("Connection")
    max_concurrent = DEFAULT_MAX_CONCURRENT
    if connection is not None:
        max_concurrent = _int(connection, "MaxConcurrentRequests", DEFAULT_MAX_CONCURRENT, "", 1)

    declared = {}
    for param in root.findall("Parameters/Parameter"):
        pname = _required(param, "Name", "<Parameters>/<Parameter>")
        where = f'<Parameter Name="{pname}">'
        if pname in declared:
            raise TemplateError(f"{where}: duplicate parameter")
        default = param.get("Default", "")
        loader.check_template(default, f"{where}@Default")
        declared[pname] = Parameter(
            name=pname,
            type=param.get("Type", "String"),
            parent=param.get("Parent", ""),
            editor=param.get("Editor", "String"),
            title=param.get("Title", ""),
            default=default,
        )
    values = {pname: p.default for pname, p in declared.items()}
    for pname, value in (parameters or {}).items():
        if pname not in declared:
            raise TemplateError(f"parameter {pname!r} is not declared in <Parameters>")
        values[pname] = _to_str(value)

    auth = Authentication()
    auth_el = root.find("Authentication")
    if auth_el is not None:
        auth_type = _choice(auth_el, "Type", AUTH_TYPES, "No", "")
        value_el = auth_el.find("Value")
        value = (value_el.text or "").strip() if value_el is not None else ""
        if auth_type != "No" and not value:
            raise TemplateError(f'<Authentication Type="{auth_type}">: a <Value> is required')
        if auth_type == "Basic":
            loader.check_template(value, "<Authentication>/<Value>")
        auth = Authentication(auth_type, value)

    scenarios = {}
    scenarios_el = root.find("Scenarios")
    for element in scenarios_el if scenarios_el is not None else ():
        if element.tag != "Scenario":
            raise TemplateError(f"<Scenarios>: unexpected element <{element.tag}>")
        scenario = loader.scenario(element)
        if scenario.id in scenarios:
            raise TemplateError(f"{_where(element)}: duplicate scenario Id")
        scenarios[scenario.id] = scenario
    if LOOKUP_SCENARIO not in scenarios:
        raise TemplateError('<Scenarios>: the contact lookup <Scenario Id=""> is required')
    for scenario in scenarios.values():
        if scenario.next and scenario.next not in scenarios:
            raise TemplateError(
                f'<Scenario Id="{scenario.id}">/<Outputs>@Next: no scenario {scenario.next!r}'
            )
    if auth.type == "Scenario" and auth.value not in scenarios:
        raise TemplateError(f"<Authentication>/<Value>: no scenario {auth.value!r}")

    return CrmTemplate(
        name=name,
        version=version,
        country=root.get("Country", ""),
        supports_emojis=supports_emojis,
        number_prefix=prefix,
        number_max_length=max_length,
        max_concurrent_requests=max_concurrent,
        parameters=MappingProxyType(declared),
        parameter_values=MappingProxyType(values),
        authentication=auth,
        scenarios=MappingProxyType(scenarios),
        warnings=tuple(loader.warnings),
    )


def load_example_template(parameters=None):
    """The generic JSON-CRM template shipped next to this module (used by tests)."""
    return load_template(EXAMPLE_TEMPLATE_PATH.read_bytes(), parameters)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Exchange:
    """One request the emitter sent, secrets redacted: the ground truth for tests."""

    scenario: str
    method: str
    url: str
    status: int | None
    elapsed: float
    error: str = ""
    body: str = ""
    at: float = 0.0  # time.time() when sent


@dataclass(frozen=True)
class ScenarioResult:
    """What running a scenario (and its Next chain) produced. Never raised, always returned.

    ``ok`` is false on a timeout, a refused connection, a non-2xx status, a non-JSON body or
    an expression failure; ``error`` says which. ``skipped`` means ``SkipIf`` stopped every
    request. ``outputs`` holds one dict per record that reached the end of the chain.
    """

    scenario_id: str
    ok: bool
    status: int | None = None
    error: str = ""
    elapsed: float = 0.0
    skipped: bool = False
    outputs: tuple = ()
    exchanges: tuple = ()


@dataclass(frozen=True)
class LookupResult(ScenarioResult):
    """A contact lookup: ``contact`` is the first kept contact's outputs, or None."""

    number: str = ""  # the number as sent, after <Number Prefix MaxLength>
    dropped: int = 0  # contacts dropped because no phone output matched the number

    @property
    def contact(self):
        return self.outputs[0] if self.outputs else None

    @property
    def contacts(self):
        return list(self.outputs)


@dataclass(frozen=True)
class ReportResult(ScenarioResult):
    """A ``ReportCall`` run."""

    call_type: str = ""


@dataclass
class _Run:
    raw_number: str = ""
    max_length: int | None = None
    exchanges: list = field(default_factory=list)
    status: int | None = None
    skipped_steps: int = 0


class _Failure(Exception):
    """A CRM failure, already redacted: ends the run with ok=False."""


# --------------------------------------------------------------------------- emitter


class CrmEmitter:
    """Plays the PBX's side of a CRM template over HTTP; safe to call from many threads.

    :param template: a :class:`CrmTemplate` from :func:`load_template`.
    :param session: a ``requests.Session`` to reuse (closed by :meth:`close` only if ours).
    :param timeout: seconds per request (or a ``(connect, read)`` tuple).
    :param max_concurrent: overrides ``Connection/@MaxConcurrentRequests``.
    :param require_number_match: keep a looked-up contact only if the number is one of its
        phone outputs, as 3CX does.
    :param max_length: the PBX's ``[MaxLength]`` when a call passes none.
    :param history_size: how many :class:`Exchange` records :attr:`history` keeps.
    """

    def __init__(
        self,
        template,
        *,
        session=None,
        timeout=TIMEOUT,
        max_concurrent=None,
        require_number_match=True,
        max_length=None,
        history_size=HISTORY_SIZE,
    ):
        self.template = template
        self.timeout = timeout
        self.require_number_match = require_number_match
        self.max_length = max_length
        self.max_concurrent = int(max_concurrent or template.max_concurrent_requests)
        if self.max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self._slots = threading.BoundedSemaphore(self.max_concurrent)
        self._session = session or requests.Session()
        self._own_session = session is None
        self._lock = threading.Lock()
        self._history = deque(maxlen=history_size)
        self._secrets = tuple(sorted(template.secret_values(), key=len, reverse=True))
        # Re-entrant: the auth scenario's own request asks for the auth header too.
        self._auth_lock = threading.RLock()
        self._auth_headers = {}
        self._auth_variables = {}
        self._auth_expires = 0.0

    def close(self):
        if self._own_session:
            self._session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    @property
    def history(self):
        """The last requests sent, oldest first (a copy)."""
        with self._lock:
            return list(self._history)

    def clear_history(self):
        with self._lock:
            self._history.clear()

    # ---------------------------------------------------------------- public scenarios

    def lookup(self, number, **call_vars):
        """Run the contact lookup (``Scenario Id=""``) for *number*, as 3CX does on ring."""
        variables = self._base_variables({**call_vars, "Number": number})
        run, outputs, error, elapsed = self._execute(LOOKUP_SCENARIO, variables)
        contacts, dropped = [], 0
        for outs in outputs:
            if not any(outs.values()):
                continue
            if self.require_number_match and not any(
                numbers_match(outs.get(name, ""), run.raw_number, run.max_length)
                for name in PHONE_OUTPUTS
            ):
                dropped += 1
                continue
            contacts.append(outs)
        return LookupResult(
            **self._result_fields(LOOKUP_SCENARIO, run, error, elapsed, contacts),
            number=variables["Number"],
            dropped=dropped,
        )

    def report_call(self, *, contact=None, **variables):
        """Run ``ReportCall`` with the journaling variables of docs/3cx-api.md §5.

        *contact* (a :class:`LookupResult` or an outputs dict) fills ``EntityId``,
        ``EntityType`` and ``[Contact::<Output>]`` unless given.
        """
        call_type = _to_str(variables.get("CallType"))
        if call_type not in CALL_TYPES:
            raise ValueError(f"CallType must be one of {CALL_TYPES}, got {call_type!r}")
        if not _to_str(variables.get("Number")):
            raise ValueError("report_call needs a Number")
        found = contact.contact if isinstance(contact, LookupResult) else contact
        values = dict(variables)
        if found:
            values.setdefault("EntityId", found.get("EntityId", ""))
            values.setdefault("EntityType", found.get("EntityType", ""))
            name = " ".join(filter(None, (found.get("FirstName"), found.get("LastName"))))
            values.setdefault("Name", name or found.get("CompanyName", ""))
            for key, value in found.items():
                values.setdefault(f"Contact::{key}", value)
        values.setdefault("LineBreak", "\n")
        for name in REPORT_CALL_VARIABLES:
            values.setdefault(name, "")
        if REPORT_CALL_SCENARIO not in self.template.scenarios:
            return ReportResult(REPORT_CALL_SCENARIO, ok=True, skipped=True, call_type=call_type)
        base = self._base_variables(values)
        run, outputs, error, elapsed = self._execute(REPORT_CALL_SCENARIO, base)
        return ReportResult(
            **self._result_fields(REPORT_CALL_SCENARIO, run, error, elapsed, outputs),
            call_type=call_type,
        )

    def run(self, scenario_id, variables=None):
        """Run any scenario (``ReportChat``, ``SearchContacts``, ``LookupByEmail`` …).

        :raises KeyError: when the template has no such scenario.
        """
        if scenario_id not in self.template.scenarios:
            raise KeyError(f"template {self.template.name!r} has no scenario {scenario_id!r}")
        values = dict(variables or {})
        if "SearchText" in values:
            # Seen as [EscapedSearchText] in production templates (redmine_3cx).
            values.setdefault("EscapedSearchText", quote(_to_str(values["SearchText"]), safe=""))
        if "ChatMessages" in values and not self.template.supports_emojis:
            values["ChatMessages"] = _EMOJI_RE.sub("", _to_str(values["ChatMessages"]))
        base = self._base_variables(values)
        run, outputs, error, elapsed = self._execute(scenario_id, base)
        return ScenarioResult(**self._result_fields(scenario_id, run, error, elapsed, outputs))

    # ---------------------------------------------------------------- engine

    def _base_variables(self, call_vars):
        variables = dict(self.template.parameter_values)
        variables.update({k: _to_str(v) for k, v in call_vars.items()})
        if not variables.get("MaxLength") and self.max_length:
            variables["MaxLength"] = _to_str(self.max_length)
        if "Number" in variables:
            variables["\0raw_number"] = variables["Number"]
            max_length = self._max_length(variables)
            variables["\0max_length"] = _to_str(max_length or "")
            variables["Number"] = format_number(
                variables["Number"], self.template.number_prefix, max_length
            )
        return variables

    def _max_length(self, variables):
        try:
            text = expand(self.template.number_max_length, variables).strip()
        except ExpressionError:
            return None
        return int(text) if text.isdigit() and int(text) > 0 else None

    def _result_fields(self, scenario_id, run, error, elapsed, outputs):
        return {
            "scenario_id": scenario_id,
            "ok": not error,
            "status": run.status,
            "error": error,
            "elapsed": elapsed,
            "skipped": not run.exchanges and run.skipped_steps > 0,
            "outputs": tuple(outputs),
            "exchanges": tuple(run.exchanges),
        }

    def _execute(self, scenario_id, variables):
        run = _Run(
            raw_number=variables.get("\0raw_number", ""),
            max_length=int(variables["\0max_length"]) if variables.get("\0max_length") else None,
        )
        start = time.monotonic()
        outputs, error = [], ""
        try:
            auth = self.template.authentication
            if auth.type == "Scenario" and scenario_id != auth.value:
                variables = {**variables, **self._ensure_auth(run)}
            steps = self._step(self.template.scenarios[scenario_id], variables, run, 0)
            outputs = [outs for outs, _ in steps]
        except _Failure as exc:
            error = str(exc)
        except ExpressionError as exc:
            error = self._redact(f"expression error in scenario {scenario_id!r}: {exc}")
        elapsed = time.monotonic() - start
        if error:
            _logger.warning("CRM scenario %r failed after %.3fs: %s", scenario_id, elapsed, error)
        return run, outputs, error, elapsed

    def _step(self, scenario, variables, run, depth):
        """Run one scenario and its Next chain; returns ``[(outputs, variables), …]``."""
        if depth > MAX_CHAIN_DEPTH:
            raise _Failure(f"Next chain deeper than {MAX_CHAIN_DEPTH} at {scenario.id!r}")
        if evaluate_condition(scenario.request.skip_if, variables):
            run.skipped_steps += 1
            if not scenario.next:
                return []
            # A skipped step still hands on: templates chain one ReportCall step per CallType.
            records = [{}]
        else:
            body = self._send(scenario, variables, run)
            records = self._records(scenario, body, variables, run)
            if not records:
                if not scenario.allow_empty:
                    return []
                records = [{}]
        results = []
        for record in records:
            merged = {**variables, **record}
            if scenario.next:
                nxt = self.template.scenarios[scenario.next]
                results.extend(self._step(nxt, merged, run, depth + 1))
            else:
                outs = {o.type: expand(o.value, merged, o.passes) for o in scenario.outputs}
                results.append((outs, merged))
        return results

    # ---------------------------------------------------------------- HTTP

    def _send(self, scenario, variables, run):
        req = scenario.request
        url = expand(req.url, variables)
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        payload = self._members(req.post_values, variables)
        body = None
        if req.method == "GET":
            if payload:
                flat = {k: _to_str(v) for k, v in payload.items()}
                url += ("&" if "?" in url else "?") + urlencode(flat)
        elif req.message.strip():
            body = expand(req.message, variables, req.message_passes).encode("utf-8")
            json_default = req.encoding == "Json"
            headers["Content-Type"] = req.content_type or (
                "application/json" if json_default else "application/x-www-form-urlencoded"
            )
        elif req.encoding == "Json":
            body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = req.content_type or "application/json"
        else:
            body = urlencode({k: _to_str(v) for k, v in payload.items()}).encode("utf-8")
            headers["Content-Type"] = req.content_type or "application/x-www-form-urlencoded"
        headers.update(self._auth_header(variables))
        for node in req.headers:
            if self._included(node, variables):
                headers[node.key] = _to_str(self._node_value(node, variables))

        safe_url = self._redact(url)
        started, start = time.time(), time.monotonic()
        status, reason, raw, error = None, "", b"", ""
        try:
            with self._slots:
                # stream=True: the body is read under the cap, and inside the slot.
                response = self._session.request(
                    req.method, url, headers=headers, data=body, timeout=self.timeout, stream=True
                )
                try:
                    status = response.status_code
                    reason = response.reason or ""
                    raw = self._read_capped(response)
                finally:
                    response.close()
        except requests.Timeout:
            error = f"timeout after {self.timeout}s: {req.method} {safe_url}"
        except requests.ConnectionError as exc:
            error = f"connection failed: {req.method} {safe_url}: {exc}"
        except requests.RequestException as exc:
            error = f"request failed: {req.method} {safe_url}: {exc}"
        except _Failure as exc:
            error = f"{exc}: {req.method} {safe_url}"
        elapsed = time.monotonic() - start
        parsed = None
        if not error and not 200 <= status < 300:
            error = f"HTTP {status} {reason}: {req.method} {safe_url}".replace("  ", " ")
        elif not error and raw.strip():
            try:
                parsed = json.loads(raw.decode("utf-8-sig"))
            except ValueError as exc:
                error = f"response is not JSON ({exc}): {req.method} {safe_url}"
        error = self._redact(error)
        exchange = Exchange(
            scenario=scenario.id,
            method=req.method,
            url=safe_url,
            status=status,
            elapsed=elapsed,
            error=error,
            body=self._redact((body or b"")[:4096].decode("utf-8", "replace")),
            at=started,
        )
        with self._lock:
            self._history.append(exchange)
        run.exchanges.append(exchange)
        run.status = status
        _logger.debug("CRM %s %s -> %s in %.3fs", req.method, safe_url, status, elapsed)
        if error:
            raise _Failure(error)
        return parsed

    @staticmethod
    def _read_capped(response):
        chunks, size = [], 0
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise _Failure(f"response larger than {MAX_RESPONSE_BYTES} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _auth_header(self, variables):
        auth = self.template.authentication
        if auth.type == "Basic":
            user, _, password = expand(auth.value, variables).partition(":")
            self._add_secret(password)
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            return {"Authorization": f"Basic {token}"}
        if auth.type == "Scenario":
            with self._auth_lock:
                return dict(self._auth_headers)
        return {}

    def _ensure_auth(self, run):
        """Run the authentication scenario when its header is missing or expired."""
        with self._auth_lock:
            if self._auth_headers and time.monotonic() < self._auth_expires:
                return dict(self._auth_variables)
            auth_id = self.template.authentication.value
            base = self._base_variables({})
            steps = self._step(self.template.scenarios[auth_id], base, run, 0)
            outs, merged = steps[0] if steps else ({}, {})
            name, value = outs.get("HeaderName", ""), outs.get("HeaderValue", "")
            if not name or not value:
                raise _Failure(f"authentication scenario {auth_id!r} gave no HeaderName/Value")
            self._add_secret(value)
            try:
                minutes = float(outs.get("BearerExpiration") or DEFAULT_BEARER_MINUTES)
            except ValueError:
                minutes = DEFAULT_BEARER_MINUTES
            self._auth_headers = {name: value}
            self._auth_variables = {k: v for k, v in merged.items() if base.get(k) != v}
            self._auth_expires = time.monotonic() + minutes * 60
            return dict(self._auth_variables)

    # ---------------------------------------------------------------- bodies

    def _included(self, node, variables):
        if node.if_.strip() and not evaluate_condition(node.if_, variables):
            return False
        return not evaluate_condition(node.skip_if, variables)

    def _members(self, nodes, variables):
        kept = [n for n in nodes if self._included(n, variables)]
        return {n.key: self._node_value(n, variables) for n in kept}

    def _node_value(self, node, variables):
        if node.kind == "object":
            return self._members(node.children, variables)
        if node.kind == "array":
            kept = [n for n in node.children if self._included(n, variables)]
            return [self._node_value(n, variables) for n in kept]
        text = expand(node.text, variables, node.passes)
        kind = node.type.lower()
        try:
            if kind in ("integer", "int", "long"):
                return int(float(text)) if text.strip() else None
            if kind in ("double", "decimal", "float", "number"):
                return float(text) if text.strip() else None
            if kind in ("boolean", "bool"):
                return _as_bool(text, f"Value {node.key!r}") if text.strip() else None
        except ValueError:
            raise ExpressionError(f"Value {node.key!r}: {text!r} is not {node.type}") from None
        return text

    # ---------------------------------------------------------------- responses

    def _records(self, scenario, body, variables, run):
        """Records (variable dicts) that pass every rule; one per item of the rule's array."""
        if scenario.rules:
            prefix, candidates = _record_candidates(body, scenario.rules[0].path)
        else:
            prefix, candidates = [], [body]
        records = []
        for item in candidates:
            if all(
                self._rule_passes(rule, _resolve(body, item, prefix, rule.path), variables, run)
                for rule in scenario.rules
            ):
                records.append(self._record_variables(scenario, body, item, prefix, variables, run))
        return records

    def _record_variables(self, scenario, body, item, prefix, variables, run):
        return {
            v.name: _to_str(self._variable(v, body, item, prefix, variables, run))
            for v in scenario.variables
        }

    def _rule_passes(self, rule, values, variables, run):
        if rule.type == "Any":
            return any(v not in (None, "", [], {}) for v in values)
        if rule.type == "Equals":
            expected = expand(rule.ethalon, variables)
            return any(_to_str(v) == expected for v in values)
        return any(numbers_match(_to_str(v), run.raw_number, run.max_length) for v in values)

    def _variable(self, variable, body, item, prefix, variables, run):
        var_segments = _segments(variable.path)
        if not variable.filters:
            values = _resolve(body, item, prefix, variable.path)
            return values[0] if values else None
        base, var_rel = _relative(body, item, prefix, var_segments)
        _, rule_rel = _relative(body, item, prefix, _segments(variable.filters[0].path))
        common = 0
        while common < min(len(var_rel), len(rule_rel)) and var_rel[common] == rule_rel[common]:
            common += 1
        # The filter picks the first array item (under the shared path) whose rules pass.
        for node in _walk(base, var_rel[:common]):
            if all(
                self._rule_passes(
                    rule,
                    _walk(node, _relative(body, item, prefix, _segments(rule.path))[1][common:]),
                    variables,
                    run,
                )
                for rule in variable.filters
            ):
                values = _walk(node, var_rel[common:])
                if values:
                    return values[0]
        return None

    # ---------------------------------------------------------------- secrets

    def _add_secret(self, value):
        if value and len(value) >= 3 and value not in self._secrets:
            with self._lock:
                self._secrets = tuple(sorted({*self._secrets, value}, key=len, reverse=True))

    def _redact(self, text):
        for secret in self._secrets:
            for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
                text = text.replace(form, "***")
        return text


def _segments(path):
    return [s for s in (path or "").strip().split(".") if s]


def _walk(node, segments):
    """Values at a dotted path; arrays met on the way are walked item by item."""
    if isinstance(node, list):
        return [value for item in node for value in _walk(item, segments)]
    if not segments:
        return [node]
    if isinstance(node, dict) and segments[0] in node:
        return _walk(node[segments[0]], segments[1:])
    return []


def _record_candidates(body, rule_path):
    """Split a response at the first array on the rule's path: each item is one record."""
    segments, node = _segments(rule_path), body
    for index, segment in enumerate(segments):
        if isinstance(node, list):
            return segments[:index], list(node)
        if not isinstance(node, dict) or segment not in node:
            break
        node = node[segment]
    return [], [body]


def _relative(body, item, prefix, segments):
    if prefix and segments[: len(prefix)] == prefix:
        return item, segments[len(prefix) :]
    if not prefix and item is not body:
        return item, segments  # the response itself was the array of records
    return body, segments


def _resolve(body, item, prefix, path):
    base, rel = _relative(body, item, prefix, _segments(path))
    return _walk(base, rel)
