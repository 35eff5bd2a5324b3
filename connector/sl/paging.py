"""Collection paging: a generator that follows next links page by page, memory flat in the row count.

The SL pages by offset (``$skip``) and repeats the query in its next link, relative to the root
(FP 2608) or as an absolute path (SAP's doc). A full last page still carries a next link and the
next page is empty (§3.2). Guards: a link seen twice (a loop) or one leaving the host raises.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from connector.errors import SLProtocolError
from connector.sl import envelope, odata

if TYPE_CHECKING:
    from connector.sl.client import ServiceLayerClient


#: What to do about a page that is not a list of entity objects (SAP never sends one; a proxy might).
BROKEN_PAGE_FIX = (
    "the Service Layer or a proxy in front of it sent a broken page: nothing is posted from it, the "
    "cycle stops and the next one reads it again; if it persists, check the proxy and the SL log"
)


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list"}.get(
        type(value), "an object"
    )


def _snippet(value: object) -> str:
    """`` 'x'`` / `` [1, 2]`` after the kind (nothing for null), at most 40 characters."""
    if value is None:
        return ""
    text = repr(value)
    return " " + (text if len(text) <= 40 else text[:37] + "...")


def prefer_page_size(page_size: int) -> dict[str, str]:
    """The header that sets the SL page size for one request (§3.2; it beats b1s.conf's PageSize)."""
    return {"Prefer": f"odata.maxpagesize={page_size}"}


def iter_pages(client: ServiceLayerClient, first_url: str, page_size: int) -> Iterator[list[dict[str, Any]]]:
    """Yield each non-empty page of rows, starting at ``first_url``; stop at the last page."""
    headers = prefer_page_size(page_size)
    url: str | None = first_url
    seen_urls: set[str] = set()
    seen_skips: set[int] = set()
    while url is not None:
        skip = odata.skip_of(url)
        if url in seen_urls or (skip is not None and skip in seen_skips):
            raise SLProtocolError(
                f"GET {odata.display_path(url)}: the Service Layer's next link repeats $skip={skip}; "
                "stopping instead of looping",
                method="GET",
                path=odata.display_path(url),
            )
        seen_urls.add(url)
        if skip is not None:
            seen_skips.add(skip)
        body = client.get_url(url, headers=headers)
        rows = body.get("value")
        if not isinstance(rows, list):
            raise SLProtocolError(
                f"GET {odata.display_path(url)}: the answer is not a collection ('value' is "
                f"{_json_kind(rows)}, not a list); {BROKEN_PAGE_FIX}",
                method="GET",
                path=odata.display_path(url),
            )
        for position, row in enumerate(rows):
            if not isinstance(row, dict):
                # One unreadable row makes the whole page untrustworthy: stop rather than skip an order.
                raise SLProtocolError(
                    f"GET {odata.display_path(url)}: row {position + 1} of the page is {_json_kind(row)}"
                    f"{_snippet(row)}, not an entity object; {BROKEN_PAGE_FIX}",
                    method="GET",
                    path=odata.display_path(url),
                )
        if not rows:
            return  # the empty page after a full last page (§3.2): nothing more to read
        yield rows
        link = envelope.next_link(body)
        url = odata.resolve_next_link(client.base_url, link) if link else None
