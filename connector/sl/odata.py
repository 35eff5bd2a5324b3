"""OData literals, keys, query builders and next-link resolution for the Service Layer (v1 and v2).

Everything here is pure string work, so it is tested with tables. The one rule that matters most:
a string literal doubles its single quotes (``A'B`` → ``'A''B'``), so no item code can break out
of a ``$filter`` or a key (docs/service-layer.md §3.1, §6.1).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import SplitResult, parse_qs, quote, unquote, urljoin, urlsplit

from connector.errors import SLProtocolError

#: Characters left unencoded in query values besides the RFC 3986 unreserved ones. ``'``, space,
#: ``&``, ``#``, ``+`` and ``=`` are always percent-encoded so a literal can never end the value.
_QUERY_SAFE = "$,()/:"

#: SAP property names are plain identifiers (``U_`` UDFs included); anything else is a bug or an attack.
_PROPERTY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$")
_ORDER = re.compile(r"^[A-Za-z_][A-Za-z0-9_/]*( (asc|desc))?$")

ODataValue = str | int | float | Decimal | bool | date | datetime | None


def literal(value: ODataValue) -> str:
    """Render a Python value as an OData literal: ``'A''B'``, ``12``, ``1.5``, ``'2026-04-25'``, ``null``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        # Checked before int: bool is an int subclass. SL accepts OData booleans in filters on
        # Edm.Boolean properties; B1 itself mostly uses BoYesNoEnum strings ('tYES') instead.
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"cannot express {value!r} as an OData literal")
        return repr(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot express {value!r} as an OData literal")
        return format(value, "f")
    if isinstance(value, datetime):
        # The SL ignores the time part in date filters (§3.1); only the date is meaningful.
        return f"'{value.date().isoformat()}'"
    if isinstance(value, date):
        # The plain quoted form is accepted by both v1 and v2 (§3.1 "Dates in $filter").
        return f"'{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no OData literal for {type(value).__name__}")


def key(value: ODataValue) -> str:
    """Render an entity key in parentheses: ``(3585)`` or ``('A''B')``; digit-only strings stay quoted."""
    if value is None or isinstance(value, bool | float | Decimal):
        raise TypeError(f"not a valid entity key: {value!r}")
    return f"({literal(value)})"


def property_name(name: str) -> str:
    """Return ``name`` if it is a valid property (path); raise ``ValueError`` otherwise."""
    if not _PROPERTY.match(name):
        raise ValueError(f"not a valid OData property name: {name!r}")
    return name


def eq(field: str, value: ODataValue) -> str:
    """``Field eq <literal>``."""
    return f"{property_name(field)} eq {literal(value)}"


def compare(field: str, op: str, value: ODataValue) -> str:
    """``Field <op> <literal>`` for ``eq ne gt ge lt le``."""
    if op not in {"eq", "ne", "gt", "ge", "lt", "le"}:
        raise ValueError(f"unsupported OData comparison operator: {op!r}")
    return f"{property_name(field)} {op} {literal(value)}"


def _join(op: str, clauses: Iterable[str]) -> str:
    parts = [c for c in clauses if c]
    if not parts:
        raise ValueError(f"{op}_ needs at least one clause")
    if len(parts) == 1:
        return parts[0]
    return " ".join(_wrap(p) if i == 0 else f"{op} {_wrap(p)}" for i, p in enumerate(parts))


def _wrap(clause: str) -> str:
    return f"({clause})"


def and_(*clauses: str) -> str:
    """Join clauses with ``and``, each parenthesised so operator precedence can never surprise."""
    return _join("and", clauses)


def or_(*clauses: str) -> str:
    """Join clauses with ``or``, each parenthesised."""
    return _join("or", clauses)


def startswith(field: str, prefix: str) -> str:
    """``startswith(Field,'prefix')`` (documented for UDFs too, docs/service-layer.md §7)."""
    return f"startswith({property_name(field)},{literal(prefix)})"


def any_of(field: str, values: Iterable[ODataValue]) -> str:
    """``(F eq a) or (F eq b) ...``: the SL has no ``in`` operator (§3.1)."""
    return or_(*(eq(field, v) for v in values))


def select(fields: Iterable[str]) -> str:
    """A ``$select`` value: validated property names joined by commas."""
    names = [property_name(f) for f in fields]
    if not names:
        raise ValueError("$select needs at least one property")
    return ",".join(names)


def orderby(clauses: str | Iterable[str]) -> str:
    """A ``$orderby`` value (``"AbsoluteEntry"`` or ``["DueDate desc", "AbsoluteEntry"]``)."""
    items = [clauses] if isinstance(clauses, str) else list(clauses)
    for item in items:
        if not _ORDER.match(item.strip()):
            raise ValueError(f"not a valid $orderby clause: {item!r}")
    return ",".join(i.strip() for i in items)


# build_query's keyword arguments shadow these builders; keep private aliases for it.
_select = select
_orderby = orderby


def encode_query(params: Mapping[str, str | int | None]) -> str:
    """Percent-encode query options in order; ``None`` values are left out. No leading ``?``."""
    parts = []
    for name, value in params.items():
        if value is None:
            continue
        parts.append(f"{quote(name, safe='$')}={quote(str(value), safe=_QUERY_SAFE)}")
    return "&".join(parts)


def build_query(
    *,
    where: str | None = None,
    select: str | Iterable[str] | None = None,
    orderby: str | Iterable[str] | None = None,
    top: int | None = None,
    skip: int | None = None,
) -> str:
    """The query string for a collection GET (``$select``, ``$filter`` from ``where``, ``$orderby``, ``$top``,
    ``$skip``)."""
    select_value = None
    if select is not None:
        select_value = select if isinstance(select, str) else _select(select)
    order_value = None
    if orderby is not None:
        order_value = _orderby(orderby)
    return encode_query(
        {"$select": select_value, "$filter": where, "$orderby": order_value, "$top": top, "$skip": skip}
    )


def resolve_next_link(root_url: str, link: str) -> str:
    """Turn a next link (relative to the root, absolute path or absolute URL) into an absolute URL.

    Raises ``SLProtocolError`` if the link leaves the Service Layer's host or its ``/b1s/`` tree: the
    client never sends its session cookie anywhere else.
    """
    root = urlsplit(root_url)
    root_path = root.path.rstrip("/")
    if "://" in link or link.startswith("//"):
        target = link
    elif link.startswith("/"):
        # SAP's doc example: "/b1s/v1/Orders?$skip=20". Behind a reverse proxy that adds a path
        # prefix the SL still answers "/b1s/...", so graft the proxy prefix back on.
        prefix = root_path[: root_path.rfind("/b1s/")] if "/b1s/" in root_path else ""
        target = f"{root.scheme}://{root.netloc}{link if link.startswith(prefix + '/') else prefix + link}"
    else:
        # FP 2608: "Orders?$select=DocEntry&$skip=100", relative to the service root.
        target = urljoin(root_url.rstrip("/") + "/", link)
    parsed = urlsplit(target)
    # Assumption (unconfirmed, docs/service-layer.md §3.2 shows only relative links): an absolute link
    # naming another host (e.g. the SL's internal name behind a proxy) is refused, not rewritten;
    # the error names the host so an administrator can fix the proxy instead of us leaking cookies.
    if (parsed.scheme, _netloc(parsed)) != (root.scheme, _netloc(root)):
        raise SLProtocolError(f"next link points to another host ({parsed.hostname}); refusing to follow it")
    if not (parsed.path + "/").startswith(root_path.rsplit("/", 1)[0] + "/"):
        raise SLProtocolError(
            f"next link leaves the Service Layer root ({parsed.path}); refusing to follow it"
        )
    return target


def _netloc(split: SplitResult) -> tuple[str, int | None]:
    port = split.port if split.port is not None else {"http": 80, "https": 443}.get(split.scheme)
    return (split.hostname or "").lower(), port


def skip_of(url: str) -> int | None:
    """The ``$skip`` value of a URL (0 when absent, ``None`` when unparseable)."""
    values = parse_qs(urlsplit(url).query).get("$skip")
    if not values:
        return 0
    try:
        return int(values[-1])
    except ValueError:
        return None


def key_in_location(location: str | None, entity_set: str) -> str | None:
    """The key text of ``…/EntitySet(key)`` in a ``Location`` header (``None`` when it names none)."""
    if not location:
        return None
    path = unquote(urlsplit(location).path)
    marker = f"/{entity_set}("
    start = path.rfind(marker)
    if start < 0 or not path.endswith(")"):
        return None
    return path[start + len(marker) : -1] or None


def display_path(url: str) -> str:
    """The path and decoded query of ``url`` for logs and errors; a Login never shows its query."""
    parts = urlsplit(url)
    text = unquote(parts.path)
    if parts.query and not parts.path.rstrip("/").endswith("/Login"):
        text += "?" + unquote(parts.query)
    return text
