"""Template strings in mapping files: ``"{DocumentNumber}-{today:%Y%m%d}"``, ``"{left(ItemNo, 8)}"``.

A consultant's template is data, never code: it is read by the small tokenizer in
:mod:`connector.mapping.template_syntax`, not by ``eval`` and not by ``str.format`` (which would
allow ``{x.__class__}``-style attribute and index access). Syntax:

* ``{Field}``: the value of a field (see :data:`ORDER_FIELDS` and :data:`EXTRA_FIELDS`, or any
  ``U_*`` UDF). A missing or empty value renders as ``""``.
* ``{Field:spec}``: a Python format spec for numbers and text (``{serial:04d}``,
  ``{PlannedQuantity:.2f}``, ``{ItemNo:>10}``) or an strftime pattern for dates
  (``{today:%Y%m%d}``, ``{DueDate:%y%m%d}``).
* ``{{`` and ``}}``: literal braces.
* Functions (:data:`FUNCTIONS`): ``upper(x)``, ``lower(x)``, ``left(x, n)``, ``right(x, n)``,
  ``trim(x)``, ``replace(x, 'old', 'new')``. Arguments are fields, nested functions, integers or
  single-quoted text (``''`` inside quotes is one quote). A format spec applies to the result.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from connector.mapping.template_syntax import (
    Call,
    Field,
    Literal,
    Node,
    Placeholder,
    TemplateError,
    Text,
    parse_template,
    walk,
)

__all__ = [
    "ALLOWED_FIELDS",
    "EXTRA_FIELDS",
    "FUNCTIONS",
    "ORDER_FIELDS",
    "SERIAL_FIELD",
    "TemplateError",
    "is_allowed_field",
    "parse_template",
    "render_template",
    "template_fields",
    "validate_template",
]

#: Scalar properties of the SL v2 entity type ``ProductionOrder`` (mock_sl/metadata.json), in
#: metadata order. Collections (ProductionOrderLines, ...) cannot be rendered and are left out.
ORDER_FIELDS: frozenset[str] = frozenset(
    {
        "AbsoluteEntry",
        "DocumentNumber",
        "Series",
        "ItemNo",
        "ProductionOrderStatus",
        "ProductionOrderType",
        "PlannedQuantity",
        "CompletedQuantity",
        "RejectedQuantity",
        "PostingDate",
        "DueDate",
        "ProductionOrderOriginEntry",
        "ProductionOrderOriginNumber",
        "ProductionOrderOrigin",
        "UserSignature",
        "Remarks",
        "ClosingDate",
        "ReleaseDate",
        "CustomerCode",
        "Warehouse",
        "InventoryUOM",
        "JournalRemarks",
        "TransactionNumber",
        "CreationDate",
        "Printed",
        "DistributionRule",
        "Project",
        "DistributionRule2",
        "DistributionRule3",
        "DistributionRule4",
        "DistributionRule5",
        "UoMEntry",
        "StartDate",
        "ProductDescription",
        "Priority",
        "RoutingDateCalculation",
        "UpdateAllocation",
        "SAPPassport",
        "AttachmentEntry",
        "PickRemarks",
    }
)

#: Values the receipt builder adds besides the order's own fields. ``ItemName``, ``ItemsGroupCode``
#: and ``InventoryUOM`` come from the product's item master (the item's value wins for InventoryUOM);
#: ``today`` is the receipt's DocDate (receipt.doc_date; the host's local date for ``today``), ``now`` the
#: host's local time; ``Quantity``/``RejectQuantity`` the quantities of this
#: receipt; ``key`` the posting key.
EXTRA_FIELDS: frozenset[str] = frozenset(
    {"ItemName", "ItemsGroupCode", "InventoryUOM", "today", "now", "Quantity", "RejectQuantity", "key"}
)

#: Only allowed in ``finished_good.serial.number``: the running serial counter (1, 2, ...).
SERIAL_FIELD = "serial"

#: Every field a template may name, except ``U_*`` UDFs (always allowed) and ``serial``.
ALLOWED_FIELDS: frozenset[str] = ORDER_FIELDS | EXTRA_FIELDS

_UDF = re.compile(r"^U_[A-Za-z0-9_]{1,50}$")
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
_WHOLE_NUMBER_TYPES = {"d", "n", "x", "X", "o", "b", "c"}


def _text_arg(value: Any) -> str:
    return "" if value is None else _plain(value)


def _int_arg(value: Any, function: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TemplateError(f"{function}(): the length must be a whole number, got {value!r}")
    if not 0 <= value <= MAX_WIDTH:
        raise TemplateError(f"{function}(): the length must be between 0 and {MAX_WIDTH}, got {value}")
    return value


def _replace(text: Any, old: Any, new: Any) -> str:
    # An empty 'old' would insert 'new' between every character: treat it as "nothing to replace".
    return _text_arg(text).replace(_text_arg(old), _text_arg(new)) if old else _text_arg(text)


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
    "replace": (3, _replace),
}


def template_fields(template: str) -> set[str]:
    """The field names a template references (functions excluded); raise TemplateError on bad syntax."""
    return {
        node.name
        for part in parse_template(template)
        if isinstance(part, Placeholder)
        for node in walk(part.expr)
        if isinstance(node, Field)
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
        if not isinstance(part, Placeholder):
            continue
        if isinstance(part.expr, Literal):
            problems.append(
                f"{{{part.expr.value!r}}} must name a field or a function; write text outside braces"
            )
        for node in walk(part.expr):
            if isinstance(node, Field) and not is_allowed_field(node.name, allowed):
                hint = _suggest(node.name, allowed | {SERIAL_FIELD} if node.name != SERIAL_FIELD else allowed)
                if node.name == SERIAL_FIELD:
                    problems.append("{serial} is only allowed in finished_good.serial.number")
                else:
                    problems.append(f"unknown field {node.name!r}{hint}")
            elif isinstance(node, Call):
                if node.function not in FUNCTIONS:
                    hint = _suggest(node.function, set(FUNCTIONS))
                    problems.append(f"unknown function {node.function}(){hint}")
                elif len(node.args) != FUNCTIONS[node.function][0]:
                    arity = FUNCTIONS[node.function][0]
                    problems.append(f"{node.function}() takes {arity} argument(s), got {len(node.args)}")
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
            raise TemplateError(
                f"template {template!r}: date format {spec!r} used on a value that is not a date: {value!r}"
            )
        return moment.strftime(spec)
    if isinstance(value, float) and value.is_integer() and spec[-1:] in _WHOLE_NUMBER_TYPES:
        value = int(value)
    elif isinstance(value, str) and spec[-1:] not in {"", "s"}:
        # Numeric UDFs can arrive as text from some SL versions; read them as numbers for numeric formats.
        try:
            value = int(value) if spec[-1:] in _WHOLE_NUMBER_TYPES else Decimal(value)
        except (ValueError, ArithmeticError):
            raise TemplateError(
                f"template {template!r}: format {spec!r} needs a number, got {value!r}"
            ) from None
    elif isinstance(value, date):
        value = _plain(value)
    try:
        # The builtin format() only calls value.__format__(spec) on str/int/float/Decimal: no
        # attribute or index lookup is possible, and the spec was checked against the grammar above.
        return format(value, spec)
    except (ValueError, TypeError) as exc:
        raise TemplateError(
            f"template {template!r}: format {spec!r} cannot be applied to {value!r} ({exc})"
        ) from None


def _evaluate(node: Node, values: Mapping[str, Any], template: str) -> Any:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Field):
        return values.get(node.name)
    if node.function not in FUNCTIONS:
        raise TemplateError(f"template {template!r}: unknown function {node.function}()")
    arity, function = FUNCTIONS[node.function]
    if len(node.args) != arity:
        raise TemplateError(
            f"template {template!r}: {node.function}() takes {arity} argument(s), got {len(node.args)}"
        )
    return function(*(_evaluate(arg, values, template) for arg in node.args))


def render_template(template: str, values: Mapping[str, Any]) -> str:
    """Render a template with ``values`` (missing/None → ""); raise :class:`TemplateError` if it cannot."""
    out: list[str] = []
    for part in parse_template(template):
        if isinstance(part, Text):
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
