"""Server-side paging as the real SL does it (docs/service-layer.md §3.2, §3.3).

- default page size 20; ``Prefer: odata.maxpagesize=N`` (answered with ``Preference-Applied``) or
  ``B1S-PageSize: N``; 0 turns paging off;
- the next link is RELATIVE to the service root, repeats the query exactly as sent (percent-encoding
  kept) and appends ``$skip``; never ``$skiptoken`` (FP2608);
- a full last page still carries a next link (the next page is ``[]``);
- ``$top`` across pages: the link carries the remaining ``$top``; a ``$top`` that fits gives no link;
- inline count: v1 ``$inlinecount=allpages`` → string; v2 ``$count=true`` (or ``$inlinecount``) → number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote

from connector.mock_sl.odata_filter import QueryError, sort_rows

DEFAULT_PAGE_SIZE = 20
_MAXPAGESIZE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)")

sort = sort_rows


class _Req(Protocol):
    version: str
    raw_query: str
    query: dict[str, str]
    headers: Any


@dataclass
class Page:
    """One page: its rows, the inline count (if asked), the next link's query, extra headers."""

    rows: list[dict[str, Any]]
    count: int | str | None = None
    next_link: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _int_option(request: _Req, name: str) -> int | None:
    text = request.query.get(name)
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise QueryError(201, f"Query string error - Invalid {name} value") from None  # ASSUMPTION: text
    if value < 0:
        raise QueryError(201, f"Query string error - Invalid {name} value")
    return value


def page_size(request: _Req) -> tuple[int, dict[str, str]]:
    """The page size in force and the headers that acknowledge it."""
    prefer = request.headers.get("Prefer") or ""
    match = _MAXPAGESIZE.search(prefer)
    if match:
        size = int(match.group(1))
        return size, {"Preference-Applied": f"odata.maxpagesize={size}"}
    header = request.headers.get("B1S-PageSize")
    if header is not None and header.strip().isdigit():
        return int(header.strip()), {}
    return DEFAULT_PAGE_SIZE, {}


def _inline_count(request: _Req, total: int) -> int | str | None:
    if request.version == "v1":
        return str(total) if request.query.get("$inlinecount") == "allpages" else None
    if request.query.get("$count") == "true" or request.query.get("$inlinecount") == "allpages":
        return total
    return None


def _link(raw_query: str, top: int | None, skip: int) -> str:
    """The query as sent without ``$skip``/``$top``, then the remaining ``$top`` and the new ``$skip``."""
    kept = [
        part
        for part in raw_query.split("&")
        if part and unquote(part.split("=", 1)[0]) not in ("$skip", "$top")
    ]
    if top is not None:
        kept.append(f"$top={top}")
    kept.append(f"$skip={skip}")
    return "&".join(kept)


def rows_needed(request: _Req) -> int | None:
    """How many rows of the full answer ``page_of`` looks at without a count: ``$skip`` + the page
    (None: every row, paging off and no ``$top``). Refuses a bad ``$skip``/``$top`` as ``page_of`` does."""
    skip = _int_option(request, "$skip") or 0
    top = _int_option(request, "$top")
    size, _headers = page_size(request)
    if size and (top is None or top > size):
        return skip + size
    return None if top is None else skip + top


def page_of(request: _Req, rows: list[dict[str, Any]]) -> Page:
    """Apply ``$skip``, ``$top`` and the page size; ``$skip`` comes before ``$top`` (§3.2)."""
    skip = _int_option(request, "$skip") or 0
    top = _int_option(request, "$top")
    size, headers = page_size(request)
    window = rows[skip:]
    count = _inline_count(request, len(rows))
    if size and (top is None or top > size):
        chunk = window[:size]
        link = None
        if len(chunk) == size:  # a full page links on, even when it is the last one (FP2608)
            link = _link(request.raw_query, None if top is None else top - size, skip + size)
        return Page(chunk, count, link, headers)
    return Page(window if top is None else window[:top], count, None, headers)
