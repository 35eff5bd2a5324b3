"""The OData subset the Service Layer supports (docs/service-layer.md §3.1): $filter, $select, $orderby.

``$filter``: ``eq ne gt ge lt le and or not``, parentheses, ``startswith endswith contains
substringof``; string literals with ``''`` escaping, numbers, ``true/false/null``, dates
(``'2014-04-23'``, ``'20140423'``, ``datetime'...'``, ``'...T00:00:00Z'``), enum names and DB codes
(``'R'`` ≡ ``'boposReleased'``). No arithmetic, no ``toupper``/``tolower`` (§8 limitations).
Errors carry SAP's code 201 texts (§2.3).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from connector.mock_sl import schema

FILTER_SYNTAX = "Query string error - Invalid filter condition"
COMPARISONS = ("eq", "ne", "gt", "ge", "lt", "le")
FUNCTIONS = ("startswith", "endswith", "contains", "substringof")

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<dt>datetime'[^']*')|(?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?[dDmMfFlL]?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_/]*)|(?P<punct>[(),]))"
)


class QueryError(Exception):
    """A query option SAP would refuse: ``code`` (201 or -1000) and SAP's message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Literal:
    """A constant; ``text`` keeps a string literal's content for enum/date coercion."""

    value: Any
    is_string: bool = False


@dataclass(frozen=True)
class Prop:
    """A property reference."""

    name: str


@dataclass(frozen=True)
class Node:
    """An operator or function application."""

    op: str
    args: tuple[Any, ...]


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise QueryError(201, FILTER_SYNTAX)
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (expected is not None and token[1] != expected):
            raise QueryError(201, FILTER_SYNTAX)
        self.pos += 1
        return token

    def is_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "name" and token[1] in words

    def parse(self) -> Any:
        node = self.or_expr()
        if self.peek() is not None:
            raise QueryError(201, FILTER_SYNTAX)
        return node

    def or_expr(self) -> Any:
        node = self.and_expr()
        while self.is_word("or"):
            self.take()
            node = Node("or", (node, self.and_expr()))
        return node

    def and_expr(self) -> Any:
        node = self.unary()
        while self.is_word("and"):
            self.take()
            node = Node("and", (node, self.unary()))
        return node

    def unary(self) -> Any:
        if self.is_word("not"):
            self.take()
            return Node("not", (self.unary(),))
        left = self.operand()
        if self.is_word(*COMPARISONS):
            op = self.take()[1]
            return Node(op, (left, self.operand()))
        return left

    def operand(self) -> Any:
        kind, text = self.take()
        if kind == "punct" and text == "(":
            node = self.or_expr()
            self.take(")")
            return node
        if kind == "str":
            return Literal(text[1:-1].replace("''", "'"), is_string=True)
        if kind == "dt":
            return Literal(text[len("datetime'") : -1], is_string=True)
        if kind == "num":
            return Literal(_number(text.rstrip("dDmMfFlL")))
        if kind == "name":
            if text in ("true", "false"):
                return Literal(text == "true")
            if text == "null":
                return Literal(None)
            if text in FUNCTIONS and self.peek() == ("punct", "("):
                self.take("(")
                first = self.or_expr()
                self.take(",")
                second = self.or_expr()
                self.take(")")
                return Node(text, (first, second))
            if text in (*COMPARISONS, "and", "or", "not"):
                raise QueryError(201, FILTER_SYNTAX)
            return Prop(text)
        raise QueryError(201, FILTER_SYNTAX)


def parse_filter(text: str, known: Mapping[str, str], *, enum_numbers: bool = False) -> Any:
    """Parse ``$filter`` and check every property against ``known`` (name → EDM type).

    ``enum_numbers``: an enum property compared with a number means the member of that metadata
    ``Value`` (MockSwitches.enum_numbers_in_filter); otherwise the number is refused as an unknown name.
    """
    tree = _Parser(text).parse()
    _check_props(tree, known)
    _check_enums(tree, known, enum_numbers)
    return tree


def _check_enums(node: Any, known: Mapping[str, str], enum_numbers: bool = False) -> None:
    """An enum property compared with a string that is neither a member name nor a DB code is refused.

    Without this a typo (``ProductionOrderStatus eq 'boposFoo'``) would return an empty list, and a
    connector polling with it would quietly see no orders. ◐ Text as a real SL answered an unknown enum
    value ("Invalid item name '1004' in Enum 'BoYesNoEnum'. The valid names are: 'tNO'-'N', 'tYES'-'Y'",
    seen by an integrator); ASSUMPTION: code 201, the code of every other ``$filter`` error (§2.3).
    """
    if not isinstance(node, Node):
        return
    if node.op in COMPARISONS:
        left, right = node.args
        for prop, literal in ((left, right), (right, left)):
            if isinstance(prop, Prop) and isinstance(literal, Literal) and literal.is_string:
                enum = schema.enum_of(known.get(prop.name, ""))
                if enum is not None and schema.normalize_enum(enum, literal.value) is None:
                    raise QueryError(201, invalid_enum_text(enum, literal.value))
            elif isinstance(prop, Prop) and isinstance(literal, Literal) and _is_number(literal.value):
                # ❓ an enum's metadata Value (``ProductionOrderStatus eq 1``) was never tried on a real
                # SL: refused as SAP refuses an unknown name, unless the switch reads it as that member.
                enum = schema.enum_of(known.get(prop.name, ""))
                if enum is not None and (not enum_numbers or schema.enum_member(enum, literal.value) is None):
                    raise QueryError(201, invalid_enum_text(enum, literal.value))
    for arg in node.args:
        _check_enums(arg, known, enum_numbers)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def invalid_enum_text(enum: str, value: Any) -> str:
    """``Invalid item name 'X' in Enum 'E'. The valid names are: 'a'-'A', 'b'-'B'`` (DB code when known)."""
    codes = {name: code for code, name in schema.DB_CODES.get(enum, {}).items()}
    names = ", ".join(
        f"'{member}'-'{codes[member]}'" if member in codes else f"'{member}'"
        for member in schema.enum_members(enum)
    )
    return f"Invalid item name '{value}' in Enum '{enum}'. The valid names are: {names}"


def _number(text: str) -> int | float:
    """A numeric literal; one no OData type holds (beyond Int64, or a Double that overflows) is refused.

    ASSUMPTION (SAP's answer is not captured): refused like any malformed filter."""
    try:
        value: int | float = float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:  # more digits than Python converts to a number
        raise QueryError(201, FILTER_SYNTAX) from None
    if (isinstance(value, int) and not -(2**63) <= value < 2**63) or not math.isfinite(value):
        raise QueryError(201, FILTER_SYNTAX)
    return value


def _check_props(node: Any, known: Mapping[str, str]) -> None:
    if isinstance(node, Prop):
        if node.name not in known:
            raise QueryError(201, f"Property '{node.name}' is invalid")
    elif isinstance(node, Node):
        for arg in node.args:
            _check_props(arg, known)


def _coerce(literal: Literal, edm: str) -> Any:
    """A literal compared with a property of type ``edm`` → the property's canonical form."""
    value = literal.value
    if value is None:
        return None
    enum = schema.enum_of(edm)
    if enum is not None:
        if _is_number(value):  # only reaches here when parse_filter let numbers through
            return schema.enum_member(enum, value) or value
        return schema.normalize_enum(enum, value) or value
    if edm in schema.DATE_TYPES:
        return schema.to_date(value) or value
    if edm in schema.FLOAT_TYPES or edm in schema.INT_TYPES:
        try:
            return float(value)
        except (TypeError, ValueError, OverflowError):
            raise QueryError(201, FILTER_SYNTAX) from None
    return value


def comparable(node: Any, known: Mapping[str, str]) -> bool:
    """True when every literal of the filter converts to its property's type, so ``evaluate`` cannot fail.

    A literal that does not (``Quantity eq 'x'``) fails only when ``evaluate`` reaches it, which depends
    on the rows visited; a filter with one must visit every row, exactly as before, to answer the same.
    """
    if not isinstance(node, Node):
        return True
    if node.op not in ("and", "or", "not"):
        first, second = node.args
        for arg, other in ((first, second), (second, first)):
            if isinstance(arg, Literal):
                try:
                    _coerce(arg, known.get(other.name, "") if isinstance(other, Prop) else "")
                except Exception:  # whatever evaluate would raise there, the full scan still raises
                    return False
    return all(comparable(arg, known) for arg in node.args)


def key_plan(
    node: Any, name: str, known: Mapping[str, str], *, fold: bool = False
) -> tuple[set[Any], Any] | None:
    """(values, rest) when the filter pins property ``name`` to a few values, None when it does not.

    A row matches ``node`` only if its ``name`` is one of ``values``; among those rows it matches
    exactly when ``rest`` is true (``rest`` None: every one matches). ``name eq v`` pins {v}; an ``or``
    of such pins their union; a conjunct of the top-level ``and`` chain that does so pins the rows and
    drops out of ``rest`` (several: the intersection). Otherwise a pin found deeper (``(K eq 1 and X)
    or (K eq 2 and Y)``) gives its values and the whole filter as ``rest``. Case-insensitive text
    (``fold``) pins nothing. Values are converted as ``evaluate`` converts them (``AbsoluteEntry eq
    '5'`` pins 5.0, equal to 5). Only for filters that are ``comparable``: dropping a conjunct must not
    change which errors are raised.
    """
    pinned: set[Any] | None = None
    rest: list[Any] = []
    for conjunct in _conjuncts(node):
        exact = _key_set(conjunct, name, known, fold)
        if exact is None:
            rest.append(conjunct)
        else:
            pinned = exact if pinned is None else pinned & exact
    if pinned is not None:
        return pinned, _all_of(rest)
    values = _superset(node, name, known, fold)
    return None if values is None else (values, node)


def equality_names(node: Any) -> list[str]:
    """Properties that a conjunct of the top-level ``and`` chain compares with ``eq`` to a literal (also
    as the first test of an ``or`` chain): the ones ``key_plan`` may pin."""
    names: list[str] = []
    for conjunct in _conjuncts(node):
        while isinstance(conjunct, Node) and conjunct.op == "or":
            conjunct = conjunct.args[0]
        if isinstance(conjunct, Node) and conjunct.op == "eq":
            for prop, literal in (conjunct.args, reversed(conjunct.args)):
                if isinstance(prop, Prop) and isinstance(literal, Literal) and prop.name not in names:
                    names.append(prop.name)
    return names


def _conjuncts(node: Any) -> list[Any]:
    if isinstance(node, Node) and node.op == "and":
        return _conjuncts(node.args[0]) + _conjuncts(node.args[1])
    return [node]


def _all_of(conjuncts: list[Any]) -> Any:
    if not conjuncts:
        return None
    tree = conjuncts[0]
    for conjunct in conjuncts[1:]:
        tree = Node("and", (tree, conjunct))
    return tree


def _key_set(node: Any, name: str, known: Mapping[str, str], fold: bool) -> set[Any] | None:
    """The values of ``name`` a row must have for ``node`` to be true, when that is all ``node`` says."""
    if not isinstance(node, Node):
        return None
    if node.op == "eq":
        first, second = node.args
        for prop, literal in ((first, second), (second, first)):
            if isinstance(prop, Prop) and prop.name == name and isinstance(literal, Literal):
                value = _coerce(literal, known.get(name, ""))
                return None if fold and isinstance(value, str) else {value}
        return None
    if node.op == "or":
        left = _key_set(node.args[0], name, known, fold)
        right = None if left is None else _key_set(node.args[1], name, known, fold)
        return None if left is None or right is None else left | right
    return None


def _superset(node: Any, name: str, known: Mapping[str, str], fold: bool) -> set[Any] | None:
    """Values of ``name`` that include every row ``node`` selects (None: any value may match)."""
    exact = _key_set(node, name, known, fold)
    if exact is not None or not isinstance(node, Node):
        return exact
    if node.op == "or":
        left = _superset(node.args[0], name, known, fold)
        right = None if left is None else _superset(node.args[1], name, known, fold)
        return None if left is None or right is None else left | right
    if node.op == "and":
        left = _superset(node.args[0], name, known, fold)
        right = _superset(node.args[1], name, known, fold)
        if left is None or right is None:
            return left if right is None else right
        return left & right
    return None


def evaluate(node: Any, row: Mapping[str, Any], known: Mapping[str, str], *, fold: bool = False) -> Any:
    """Evaluate a parsed filter on a canonical row; ``fold`` = case-insensitive strings."""

    def value_of(arg: Any, other: Any) -> Any:
        if isinstance(arg, Prop):
            return _fold(row.get(arg.name), fold)
        if isinstance(arg, Literal):
            edm = known.get(other.name, "") if isinstance(other, Prop) else ""
            return _fold(_coerce(arg, edm), fold)
        return evaluate(arg, row, known, fold=fold)

    op, args = node.op if isinstance(node, Node) else "", node.args if isinstance(node, Node) else ()
    if not isinstance(node, Node):
        return value_of(node, None)
    if op == "and":
        return bool(evaluate(args[0], row, known, fold=fold)) and bool(
            evaluate(args[1], row, known, fold=fold)
        )
    if op == "or":
        return bool(evaluate(args[0], row, known, fold=fold)) or bool(
            evaluate(args[1], row, known, fold=fold)
        )
    if op == "not":
        return not evaluate(args[0], row, known, fold=fold)
    left, right = value_of(args[0], args[1]), value_of(args[1], args[0])
    if op in FUNCTIONS:
        haystack, needle = (right, left) if op == "substringof" else (left, right)
        if not isinstance(haystack, str) or not isinstance(needle, str):
            return False
        check: Callable[[str], bool] = {
            "startswith": haystack.startswith,
            "endswith": haystack.endswith,
        }.get(op, haystack.__contains__)
        return check(needle)
    return _compare(op, left, right)


def _fold(value: Any, fold: bool) -> Any:
    return value.casefold() if fold and isinstance(value, str) else value


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        return bool({"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}[op])
    except TypeError:
        return False


def parse_select(text: str | None, known: Mapping[str, str], type_name: str) -> list[str] | None:
    """``$select`` → property list; an unknown name is -1000 ``Property 'X' of 'T' is invalid`` (§3.1)."""
    if text is None:
        return None
    names = [part.strip() for part in text.split(",") if part.strip()]
    for name in names:
        if name not in known:
            raise QueryError(-1000, f"Property '{name}' of '{type_name}' is invalid")
    # The SL answers in the entity type's metadata order, whatever order $select listed them in
    # (a client that reads columns by position must not pass only because it asked in that order).
    wanted = set(names)
    return [name for name in known if name in wanted]


def parse_orderby(text: str | None, known: Mapping[str, str]) -> list[tuple[str, bool]]:
    """``$orderby=F asc, G desc`` → [(F, descending?)]."""
    if not text:
        return []
    order: list[tuple[str, bool]] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise QueryError(201, "Query string error - Invalid order by condition")
        if words[0] not in known:
            raise QueryError(201, f"Property '{words[0]}' is invalid")
        order.append((words[0], len(words) == 2 and words[1].lower() == "desc"))
    return order


def sort_rows(rows: list[dict[str, Any]], order: list[tuple[str, bool]]) -> list[dict[str, Any]]:
    """Stable multi-key sort; nulls first ascending, as SQL Server and HANA do by default."""
    for name, descending in reversed(order):
        rows = sorted(rows, key=_sort_key(name), reverse=descending)
    return rows


def _sort_key(name: str) -> Callable[[dict[str, Any]], tuple[bool, Any]]:
    def key(row: dict[str, Any]) -> tuple[bool, Any]:
        value = row.get(name)
        return (value is not None, value or 0 if not isinstance(value, str) else value)

    return key
