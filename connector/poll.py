"""Reading candidates from SAP: released production orders (keyset-paged) and their item master.

Paging over ``ProductionOrders`` uses the key, not the Service Layer's offset next links:
``AbsoluteEntry gt <last>`` with ``$top``. The SL pages by ``$skip`` with no snapshot, so rows
that leave the filtered set while we traverse it (an order we close after its final receipt)
would make offset paging skip an order silently (docs/service-layer.md §3.2). Keyset paging cannot.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from connector.errors import OrderError
from connector.mapping.loader import order_fields_used
from connector.mapping.spec import ConfirmedFieldsSource, Mapping
from connector.production.orders import (
    ITEM_SELECT,
    ORDER_SELECT,
    RELEASED,
    ItemMaster,
    ProductionOrder,
    parse_item,
)
from connector.sl import odata
from connector.sl.client import ServiceLayerClient

log = logging.getLogger(__name__)

#: Item codes per ``Items`` request: an ``or`` of ``eq`` clauses keeps the URL well below
#: the 8 KB Apache request-line limit even for long, quote-heavy codes.
ITEMS_PER_REQUEST = 20

_ALL_ORDER_TYPES = {"bopotStandard", "bopotSpecial"}


def build_poll_filter(mapping: Mapping) -> str:
    """The server-side ``$filter``: released, plus everything the mapping lets SAP filter."""
    clauses = [odata.eq("ProductionOrderStatus", RELEASED)]
    candidates = mapping.candidates
    if candidates.series:
        clauses.append(odata.any_of("Series", candidates.series))
    if candidates.warehouses:
        clauses.append(odata.any_of("Warehouse", candidates.warehouses))
    if set(candidates.order_types) != _ALL_ORDER_TYPES:
        clauses.append(odata.any_of("ProductionOrderType", candidates.order_types))
    source = mapping.quantities
    if isinstance(source, ConfirmedFieldsSource):
        # A field-to-field comparison (confirmed gt CompletedQuantity) is not documented for the SL;
        # "some confirmation at all" is, and drops every order nobody has confirmed yet.
        confirmed = [f"{source.confirmed_field} gt 0"]
        if source.rejected_field:
            confirmed.append(f"{source.rejected_field} gt 0")
        clauses.append(odata.or_(*confirmed))
    else:
        clauses.append(odata.eq(source.ready_field, source.ready_value))
    if candidates.extra_filter:
        clauses.append(f"({candidates.extra_filter})")
    return odata.and_(*clauses)


LINES = "ProductionOrderLines"


def order_select(mapping: Mapping) -> list[str]:
    """``$select`` of a whole order: what the rules read plus the mapping's UDFs and template fields."""
    return sorted(set(ORDER_SELECT) | order_fields_used(mapping))


def order_header_select(mapping: Mapping) -> list[str]:
    """``$select`` for the poll: the order without its lines (read later, only for orders to post)."""
    return [name for name in order_select(mapping) if name != LINES]


def iter_order_pages(
    client: ServiceLayerClient, mapping: Mapping, *, page_size: int
) -> Iterator[list[dict[str, Any]]]:
    """Released candidate orders' headers, one page at a time, ordered by ``AbsoluteEntry``.

    Each request asks for one row more than a page: when it comes back, the next page starts
    after the last row yielded; when it does not, that was the last page. So N orders cost
    ceil(N / page_size) requests, a full last page included (no empty request to learn the end).
    """
    base = build_poll_filter(mapping)
    select = order_header_select(mapping)
    last_entry: int | None = None
    while True:
        page_filter = base if last_entry is None else odata.and_(base, f"AbsoluteEntry gt {last_entry}")
        rows = [
            row
            for chunk in client.iter_pages(
                "ProductionOrders",
                where=page_filter,
                select=select,
                orderby="AbsoluteEntry",
                top=page_size + 1,
                page_size=page_size + 1,
            )
            for row in chunk
        ]
        page, more = rows[:page_size], len(rows) > page_size
        del rows
        if not page:
            return
        yield page
        entries = [int(row["AbsoluteEntry"]) for row in page if isinstance(row.get("AbsoluteEntry"), int)]
        if not entries or not more:
            return
        last_entry = max(entries)


#: Component lines one read of orders may bring back, about 3.5 KB each while parsed: the page size
#: of the read right before posting shrinks for orders with many lines, so memory stays bounded.
LINES_PER_READ = 2000
#: Orders per page of a cycle's first read, before the connector has seen how many lines they have.
FIRST_READ_PAGE = 10


def read_page_size(chunk: int, lines_per_order: float | None) -> int:
    """Orders per page of a re-read, so a page holds about ``LINES_PER_READ`` lines at most."""
    if lines_per_order is None:
        return min(chunk, FIRST_READ_PAGE)
    return max(1, min(chunk, int(LINES_PER_READ // max(lines_per_order, 1.0))))


def fetch_orders(
    client: ServiceLayerClient, mapping: Mapping, entries: list[int], *, page_size: int
) -> Iterator[list[dict[str, Any]]]:
    """The orders ``entries`` as SAP has them now, lines included, page by page (any status).

    The fresh read right before posting: an order closed, or received by hand, since the poll is
    seen here. An order that no longer exists is simply missing from the answer. ``page_size``
    bounds what one answer holds (see ``read_page_size``); with all ``entries`` on one page it is
    one request.
    """
    if not entries:
        return iter(())
    # One row more than can come back when every entry fits on one page, so a full answer carries
    # no next link to follow.
    size = page_size + 1 if page_size >= len(entries) else page_size
    return client.iter_pages(
        "ProductionOrders",
        where=odata.any_of("AbsoluteEntry", entries),
        select=order_select(mapping),
        orderby="AbsoluteEntry",
        page_size=size,
    )


def item_codes(orders: Iterable[ProductionOrder]) -> set[str]:
    """Every item the orders name: their products and the item lines' components."""
    return {
        code
        for order in orders
        for code in (order.ItemNo, *(ln.ItemNo for ln in order.lines if ln.is_item))
        if code
    }


def fetch_items(
    client: ServiceLayerClient,
    codes: Iterable[str],
    cache: dict[str, ItemMaster],
    unreadable: dict[str, str] | None = None,
) -> None:
    """Load the item master of ``codes`` not yet in ``cache``, a few codes per request.

    With ``unreadable``, an item whose data cannot be parsed is recorded there (code → what is wrong)
    instead of raising, so only the orders that use it are held (INVALID_ITEM_DATA).
    """
    skip = unreadable or {}
    missing = sorted({code for code in codes if code and code not in cache and code not in skip})
    for start in range(0, len(missing), ITEMS_PER_REQUEST):
        chunk = missing[start : start + ITEMS_PER_REQUEST]
        # One row more than can come back: a full page carries a next link even when it is the last
        # (docs/service-layer.md §3.2), which would cost an extra, empty request per chunk.
        for row in client.iter_collection(
            "Items",
            where=odata.any_of("ItemCode", chunk),
            select=list(ITEM_SELECT),
            page_size=len(chunk) + 1,
        ):
            try:
                item = parse_item(row)
            except OrderError as exc:
                if unreadable is None:
                    raise
                unreadable[str(row.get("ItemCode"))] = str(exc)
                continue
            cache[item.ItemCode] = item
    log.debug("items_fetched", extra={"count": len(missing)})
