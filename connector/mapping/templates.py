"""Template strings in mapping files: ``"{DocumentNumber}-{today:%Y%m%d}"``, ``"{left(ItemNo, 8)}"``.

A consultant's template is data, never code: it is read by the small tokenizer below, not by
``eval`` and not by ``str.format`` (which would allow ``{x.__class__}``-style attribute and index
access). Syntax:

* ``{Field}``: the value of a field (see :data:`ORDER_FIELDS` and :data:`EXTRA_FIELDS`, or any
  ``U_*`` UDF). A missing or empty value renders as ``""``.
* ``{Field:spec}``: a Python format spec for numbers and text (``{serial:04d}``, ``{PlannedQuantity:.2f}``,
  ``{ItemNo:>10}``) or an strftime pattern for dates (``{today:%Y%m%d}``, ``{DueDate:%y%m%d}``).
* ``{{`` and ``}}``: literal braces.
* Functions (:data:`FUNCTIONS`): ``upper(x)``, ``lower(x)``, ``left(x, n)``, ``right(x, n)``,
  ``trim(x)``, ``replace(x, 'old', 'new')``. Arguments are fields, nested functions, integers or
  single-quoted text (``''`` inside quotes is one quote). A format spec applies to the function's result.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

#: Scalar properties of the SL v2 entity type ``ProductionOrder`` (sl-metadata/metadata.json), in
#: metadata order. Collections (ProductionOrderLines, ...) cannot be rendered and are left out.
ORDER_FIELDS: frozenset[str] = frozenset(
    {
        "AbsoluteEntry", "DocumentNumber", "Series", "ItemNo", "ProductionOrderStatus",
        "ProductionOrderType", "PlannedQuantity", "CompletedQuantity", "RejectedQuantity",
        "PostingDate", "DueDate", "ProductionOrderOriginEntry", "ProductionOrderOriginNumber",
        "ProductionOrderOrigin", "UserSignature", "Remarks", "ClosingDate", "ReleaseDate",
        "CustomerCode", "Warehouse", "InventoryUOM", "JournalRemarks", "TransactionNumber",
        "CreationDate", "Printed", "DistributionRule", "Project", "DistributionRule2",
        "DistributionRule3", "DistributionRule4", "DistributionRule5", "UoMEntry", "StartDate",
        "ProductDescription", "Priority", "RoutingDateCalculation", "UpdateAllocation", "SAPPassport",
        "AttachmentEntry", "PickRemarks",
    }
)

#: Values the receipt builder adds besides the order's own fields. ``ItemName``, ``ItemsGroupCode``
#: and ``InventoryUOM`` come from the product's item master (the item's value wins for InventoryUOM);
#: ``today``/``now`` are the posting date/time; ``Quantity``/``RejectQuantity`` the quantities of this
#: receipt; ``key`` the posting key.
EXTRA_FIELDS: frozenset[str] = frozenset(
    {"ItemName", "ItemsGroupCode", "InventoryUOM", "today", "now", "Quantity", "RejectQuantity", "key"}
)

#: Only allowed in ``finished_good.serial.number``: the running serial counter (1, 2, ...).
SERIAL_FIELD = "serial"

#: Every field a template may name, except ``U_*`` UDFs (always allowed) and ``serial``.
ALLOWED_FIELDS: frozenset[str] = ORDER_FIELDS | EXTRA_FIELDS

_UDF = re.compile(r"^U_[A-Za-z0-9_]{1,50}$")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT = re.compile(r"-?[0-9]+")
# The standard format-spec mini-language, without nested fields: [[fill]align][sign][z][#][0][width]
# [grouping][.precision][type]. Anything else is refused before format() ever sees it.
_NUMBER_SPEC = re.compile(
    r"^(?:(?P<fill>[^{}])?(?P<align>[<>=^]))?[+\- ]?z?#?0?(?P<width>[0-9]+)?[,_]?(?:\.(?P<prec>[0-9]+))?"
    r"[bcdeEfFgGnosxX%]?$"
)
# strftime directives that are the same on every platform; anything else in a date spec is literal text.
_STRFTIME = re.compile(r"%(.)")
_STRFTIME_OK = set("aAbBdHIjmMpSUwWyYzZ%")
#: Widths and lengths beyond this are refused: no SAP text field is longer, and it caps memory.
MAX_WIDTH = 254


class TemplateError(ValueError):
    """A template cannot be parsed or rendered; the message names the template and the problem."""


@dataclass(frozen=True)
class _Text:
    text: str


@dataclass(frozen=True)
class _Field:
    name: str


@dataclass(frozen=True)
class _Literal:
    value: str | int


@dataclass(frozen=True)
class _Call:
    function: str
    args: tuple[_Node, ...]


_Node = _Field | _Literal | _Call


@dataclass(frozen=True)
class _Placeholder:
    expr: _Node
    spec: str | None


def _text_arg(value: Any) -> str:
    return "" if value is None else _plain(value)


def _int_arg(value: Any, function: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TemplateError(f"{function}(): the length must be a whole number, got {value!r}")
    if not 0 <= value <= MAX_WIDTH:
        raise TemplateError(f"{function}(): the length must be between 0 and {MAX_WIDTH}, got {value}")
    return value


def _right(text: Any, n: Any) -> str:
    count = _int_arg(n, "right")
    return _text_arg(text)[-count:] if count else ""


#: function name → (number of arguments, implementation). Every argument arrives as a value.
FUNCTIONS: dict[str, tuple[int, Callable[..., str]]] = {
    "upper": (1, lambda x: _text_arg(x).upper()),
    "lower": (1, lambda x: _text_arg(x).lower()),
    "trim": (1, lambda x: _text_arg(x).strip()),
    "left": (2, lambda x, n: _text_arg(x)[: _int_arg(n, "left")]),
    "right": (2, _right),
    "replace": (3, lambda x, old, new: _text_arg(x).replace(_text_arg(old), _text_arg(new)) if old else _text_arg(x)),
}


class _Parser:
    """Reads one placeholder's expression: NAME | NAME '(' arg {',' arg} ')' | INT | 'text'."""

    def __init__(self, source: str, template: str) -> None:
        self.source = source
        self.template = template
        self.pos = 0

    def fail(self, what: str) -> TemplateError:
        return TemplateError(f"template {self.template!r}: {what} in {{{self.source}}}")

    def skip_spaces(self) -> None:
        while self.pos < len(self.source) and self.source[self.pos] == " ":
            self.pos += 1

    def parse(self) -> _Node:
        node = self.expr()
        self.skip_spaces()
        if self.pos != len(self.source):
            rest = self.source[self.pos :]
            if rest.startswith((".", "[")):
                raise self.fail(f"attribute or index access ({rest!r}) is not allowed")
            raise self.fail(f"unexpected {rest!r}")
        return node

    def expr(self) -> _Node:
        self.skip_spaces()
        if self.pos >= len(self.source):
            raise self.fail("a field name is missing")
        char = self.source[self.pos]
        if char == "'":
            return self.quoted()
        match = _INT.match(self.source, self.pos)
        if match:
            self.pos = match.end()
            return _Literal(int(match.group()))
        match = _NAME.match(self.source, self.pos)
        if not match:
            raise self.fail(f"unexpected {self.source[self.pos:]!r} (expected a field name)")
        self.pos = match.end()
        self.skip_spaces()
        if self.pos < len(self.source) and self.source[self.pos] == "(":
            self.pos += 1
            return _Call(match.group(), self.arguments())
        return _Field(match.group())

    def arguments(self) -> tuple[_Node, ...]:
        args: list[_Node] = []
        self.skip_spaces()
        if self.source[self.pos : self.pos + 1] == ")":
            self.pos += 1
            return ()
        while True:
            args.append(self.expr())
            self.skip_spaces()
            nxt = self.source[self.pos : self.pos + 1]
            self.pos += 1
            if nxt == ")":
                return tuple(args)
            if nxt != ",":
                raise self.fail("a ')' is missing")

    def quoted(self) -> _Literal:
        out: list[str] = []
        self.pos += 1
        while self.pos < len(self.source):
            char = self.source[self.pos]
            self.pos += 1
            if char == "'":
                if self.source[self.pos : self.pos + 1] == "'":
                    out.append("'")
                    self.pos += 1
                    continue
                return _Literal("".join(out))
            out.append(char)
        raise self.fail("a closing quote is missing")


def _split_placeholder(body: str) -> tuple[str, str | None]:
    """Split ``expr:spec`` at the first colon outside quotes and parentheses."""
    depth = 0
    quoted = False
    for index, char in enumerate(body):
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif not quoted and depth == 0 and char == ":":
            return body[:index], body[index + 1 :]
    return body, None


def parse_template(template: str) -> list[_Text | _Placeholder]:
    """Tokenize a template into text and placeholders; raise :class:`TemplateError` on bad syntax."""
    parts: list[_Text | _Placeholder] = []
    text: list[str] = []
    pos = 0
    while pos < len(template):
        char = template[pos]
        if char in "{}" and template[pos + 1 : pos + 2] == char:
            text.append(char)
            pos += 2
            continue
        if char == "}":
            raise TemplateError(f"template {template!r}: a single '}}' at position {pos + 1}; write '}}}}' for a literal brace")
        if char != "{":
            text.append(char)
            pos += 1
            continue
        end = template.find("}", pos + 1)
        nested = template.find("{", pos + 1)
        if end == -1 or (nested != -1 and nested < end):
            raise TemplateError(
                f"template {template!r}: the '{{' at position {pos + 1} is not closed; write '{{{{' for a literal brace"
            )
        if text:
            parts.append(_Text("".join(text)))
            text = []
        body = template[pos + 1 : end]
        source, spec = _split_placeholder(body)
        parts.append(_Placeholder(_Parser(source.strip(), template).parse(), spec))
        pos = end + 1
    if text:
        parts.append(_Text("".join(text)))
    return parts


def _walk(node: _Node) -> list[_Node]:
    if isinstance(node, _Call):
        return [node, *(inner for arg in node.args for inner in _walk(arg))]
    return [node]


def template_fields(template: str) -> set[str]:
    """The field names a template references (functions excluded); raise TemplateError on bad syntax."""
    return {
        node.name
        for part in parse_template(template)
        if isinstance(part, _Placeholder)
        for node in _walk(part.expr)
        if isinstance(node, _Field)
    }


def _suggest(name: str, choices: set[str] | frozenset[str]) -> str:
    close = difflib.get_close_matches(name, sorted(choices), n=1, cutoff=0.6)
    return f" — did you mean {close[0]!r}?" if close else ""


def is_allowed_field(name: str, allowed: set[str] | frozenset[str]) -> bool:
    """Whether ``name`` may appear in a template: listed in ``allowed`` or a ``U_*`` UDF."""
    return name in allowed or bool(_UDF.match(name))


def validate_template(
    template: str, *, allowed_fields: set[str] | None = None, extra: set[str] | frozenset[str] = frozenset()
) -> list[str]:
    """Return every problem of a template (unknown fields/functions, wrong arity, bad specs); [] if fine."""
    allowed = set(ALLOWED_FIELDS if allowed_fields is None else allowed_fields) | set(extra)
    try:
        parts = parse_template(template)
    except TemplateError as exc:
        return [str(exc)]
    problems: list[str] = []
    for part in parts:
        if not isinstance(part, _Placeholder):
            continue
        if isinstance(part.expr, _Literal):
            problems.append(f"{{{part.expr.value!r}}} must name a field or a function; write text outside braces")
        for node in _walk(part.expr):
            if isinstance(node, _Field) and not is_allowed_field(node.name, allowed):
                hint = _suggest(node.name, allowed | {SERIAL_FIELD} if node.name != SERIAL_FIELD else allowed)
                if node.name == SERIAL_FIELD:
                    problems.append("{serial} is only allowed in finished_good.serial.number")
                else:
                    problems.append(f"unknown field {node.name!r}{hint}")
            elif isinstance(node, _Call):
                if node.function not in FUNCTIONS:
                    problems.append(f"unknown function {node.function}(){_suggest(node.function, set(FUNCTIONS))}")
                elif len(node.args) != FUNCTIONS[node.function][0]:
                    problems.append(
                        f"{node.function}() takes {FUNCTIONS[node.function][0]} argument(s), got {len(node.args)}"
                    )
        if part.spec is not None:
            problem = _spec_problem(part.spec)
            if problem:
                problems.append(problem)
    return problems


def _spec_problem(spec: str) -> str | None:
    if "%" in spec:
        bad = sorted({m.group(1) for m in _STRFTIME.finditer(spec)} - _STRFTIME_OK)
        if bad:
            return f"date format {spec!r}: unsupported directive(s) {', '.join('%' + b for b in bad)}"
        return None
    match = _NUMBER_SPEC.match(spec)
    if not match:
        return f"format {spec!r} is not a valid format (e.g. 04d, .2f, >10 or a date pattern such as %Y%m%d)"
    for group in ("width", "prec"):
        if match.group(group) and int(match.group(group)) > MAX_WIDTH:
            return f"format {spec!r}: widths and precisions above {MAX_WIDTH} are not allowed"
    return None


def _plain(value: Any) -> str:
    """The default rendering: dates ISO, whole floats without '.0', everything else str()."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "Y" if value else "N"
    return str(value)


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        # The SL sends dates as "2026-04-25" (v1) or "2026-04-25T00:00:00Z" (v2).
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def _apply_spec(value: Any, spec: str, template: str) -> str:
    problem = _spec_problem(spec)
    if problem:
        raise TemplateError(f"template {template!r}: {problem}")
    if value is None or value == "":
        return ""
    if "%" in spec:
        moment = _as_date(value)
        if moment is None:
            raise TemplateError(f"template {template!r}: date format {spec!r} used on a value that is not a date: {value!r}")
        return moment.strftime(spec)
    if isinstance(value, float) and value.is_integer() and spec[-1:] in {"d", "n", "x", "X", "o", "b", "c"}:
        value = int(value)
    elif isinstance(value, str) and spec[-1:] not in {"", "s"}:
        # Numeric UDFs can arrive as text from some SL versions; read them as numbers for numeric formats.
        try:
            value = int(value) if spec[-1:] in {"d", "n", "x", "X", "o", "b", "c"} else Decimal(value)
        except (ValueError, ArithmeticError):
            raise TemplateError(f"template {template!r}: format {spec!r} needs a number, got {value!r}") from None
    elif isinstance(value, date):
        value = _plain(value)
    try:
        # The builtin format() only calls value.__format__(spec) on str/int/float/Decimal: no
        # attribute or index lookup is possible, and the spec was checked against the grammar above.
        return format(value, spec)
    except (ValueError, TypeError) as exc:
        raise TemplateError(f"template {template!r}: format {spec!r} cannot be applied to {value!r} ({exc})") from None


def _evaluate(node: _Node, values: Mapping[str, Any], template: str) -> Any:
    if isinstance(node, _Literal):
        return node.value
    if isinstance(node, _Field):
        return values.get(node.name)
    if node.function not in FUNCTIONS:
        raise TemplateError(f"template {template!r}: unknown function {node.function}()")
    arity, function = FUNCTIONS[node.function]
    if len(node.args) != arity:
        raise TemplateError(f"template {template!r}: {node.function}() takes {arity} argument(s), got {len(node.args)}")
    return function(*(_evaluate(arg, values, template) for arg in node.args))


def render_template(template: str, values: Mapping[str, Any]) -> str:
    """Render a template with ``values`` (missing/None → ""); raise :class:`TemplateError` if it cannot."""
    out: list[str] = []
    for part in parse_template(template):
        if isinstance(part, _Text):
            out.append(part.text)
            continue
        try:
            value = _evaluate(part.expr, values, template)
        except TemplateError as exc:
            if str(exc).startswith("template "):
                raise
            raise TemplateError(f"template {template!r}: {exc}") from None
        out.append(_plain(value) if part.spec is None else _apply_spec(value, part.spec, template))
    return "".join(out)
