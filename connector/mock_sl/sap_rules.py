"""What SAP does when production documents are posted (docs/service-layer.md §4.5, §5.3–§5.6).

Every function here runs with the store lock held, computes all effects first and applies them only
when nothing failed: a refused receipt leaves no trace at all (§5.4 "the whole receipt fails").
Texts marked REAL are copied verbatim (double spaces included) from ``sl-payloads``; the others are
assumptions, labelled where they are produced.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from connector.mock_sl import batch_numbers, numbering
from connector.mock_sl.protocol import SapError
from connector.mock_sl.stock import StockLedger, batch_serial_complete, is_batch, is_serial
from connector.mock_sl.store import Store

RELEASED = "boposReleased"
BACKFLUSH = "im_Backflush"
PRODUCTION_ORDER = 202  # BoObjectTypes.oProductionOrders, the BaseType of receipts and issues (§4.1)

# REAL (sl-payloads/error-400-receipt-backflush-negative-stock_v2_real.json), spacing kept exactly.
BACKFLUSH_STOCK = (
    "Make sure that the consumed quantity of the component item would not cause the item's "
    "inventory to fall below zero  [IGE1.WhsCode][line: {n}] , "
    "'Production Order no: {order} Line: {line}'  [Message 3559-7]"
)
# REAL (error-400-issue-on-backflush-line_v2_real.json). Reused for a receipt whose backflush component is
# batch/serial-managed: ASSUMPTION (§5.5 ❓ says "probably -5002 (as above) or -4014").
BACKFLUSH_BATCH = (
    "Issue type cannot be backflush for serial or batch number items  , "
    "'Production Order no: {order} Line: {line}'"
)
# ◐ practitioner text; exact spacing ❓ (§2.3).
NEGATIVE_INVENTORY = "Quantity falls into negative inventory [{table}.ItemCode][line: {n}]"
# ASSUMPTION: exact code and text not found (§2.3 last row, §4.5 "Status rules").
NOT_RELEASED = "Production order is not released"
# ◐ [NEST-PROD] gave only "...field should be empty if the document is referenced..."; the rest is ours.
ITEMCODE_REFERENCED = (
    "Item No. field should be empty if the document is referenced to a production order"
    "  [IGN1.ItemCode][line: {n}]"
)
# ❓ [NEST-PROD][DIAPI-PROD] report it; SAP's docs contradict it (§5.4). Only with receipt_requires_issue.
NOTHING_ISSUED = "Item Issued Qty in work order should be larger than zero"
# ASSUMPTION: texts not captured. BaseLine on a receipt line: only with receipt_base_line="refuse".
BASE_LINE_REFUSED = (
    "BaseLine is not allowed on a receipt line: the finished good is received without BaseLine; "
    "by-products and component returns are refused by this mock  [IGN1.BaseLine][line: {n}]"
)
RETURN_BEYOND_ISSUED = "Returned quantity exceeds the issued quantity  [IGN1.Quantity][line: {n}]"
# ASSUMPTION: over-receipt is ❓ (§5.4); refused unless over_receipt="allow".
OVER_RECEIPT = "Quantity exceeds planned quantity  [IGN1.Quantity][line: {n}]"

#: What the duplicate guard consultants install (``b1-backflush mappings guard-sql``) makes SAP answer:
#: its ``error`` and ``error_message``. ASSUMPTION (❓): the Service Layer passes a
#: TransactionNotification error on as HTTP 400 with that number as ``code`` and the text unchanged.
DUPLICATE_KEY_GUARD_CODE = 59059
DUPLICATE_KEY_GUARD = "B1BF-DUPLICATE-KEY {key}"
# ASSUMPTION: SAP's texts for a line in a missing or inactive warehouse were not captured. -5002 is the
# class B1 uses for a document line it refuses (both real production captures), and the hint has B1's
# ``[TABLE.Field][line: n]`` form. A mapping bug that names a wrong warehouse must fail here, not
# create stock in a warehouse that does not exist.
UNKNOWN_WAREHOUSE = "Warehouse code '{code}' is not defined  [{table}.WhsCode][line: {n}]"
INACTIVE_WAREHOUSE = "Warehouse '{code}' is inactive  [{table}.WhsCode][line: {n}]"


@dataclass
class MockSwitches:
    """Behaviour the reference marks unconfirmed (❓), one switch each; the defaults follow SAP's docs."""

    #: §5.4 conflict: two integrations report "Item Issued Qty in work order should be larger than zero"
    #: for a receipt before any issue; SAP's docs allow it. False = SAP's docs.
    receipt_requires_issue: bool = False
    #: §5.4: whether receiving beyond PlannedQuantity is refused is ❓. "allow" | "reject". Default
    #: "reject": strict, so a connector bug that over-receives fails against the mock; tests that post
    #: duplicates on purpose (lost answers, the exactly-once machine) choose "allow" explicitly.
    over_receipt: Literal["allow", "reject"] = "reject"
    #: §5.4: the company's "allow negative inventory" setting; False = blocked (as in the real -5002 capture).
    allow_negative_stock: bool = False
    #: §5.4 ❓: whether a botrntReject receipt backflushes components. True = it does (SAP issues for
    #: every reported quantity, [NEST-PROD] backflushes accepted plus rejected).
    backflush_on_reject: bool = True
    #: §5.3 ◐: a receipt line with ``BaseLine`` receives that component line's item (by-product or
    #: component return, [NEST-PROD][DIAPI-PROD]); unconfirmed on a real SL. "component" = that
    #: behaviour; "refuse" = a clear -5002 for any receipt line with BaseLine.
    receipt_base_line: Literal["component", "refuse"] = "component"
    #: §2.1 ◐: v2 error bodies carry ``details: [{"code": "", "message": ""}]`` on FP 2608 (login, write
    #: errors, batch sub-responses), but SAP's doc examples and the real P2 captures (1000191) show only
    #: ``code`` and ``message``. True = FP 2608; False = the older shape. Clients must accept both.
    v2_error_details: bool = True
    #: §5.5 ❓: v2's metadata names a batch ``BatchNumberProperty``; whether v2 still takes v1's
    #: ``BatchNumber`` in a body is not confirmed. False = refused like any unknown property (-1000), as
    #: the metadata says; True = taken as the same property (answers still say BatchNumberProperty).
    v2_accepts_batch_number: bool = False
    #: §3.1 ❓: an enum compared with its metadata ``Value`` in ``$filter`` (``ProductionOrderStatus eq 1``)
    #: was never tried. False = refused like an unknown member name (201); True = that member.
    enum_numbers_in_filter: bool = False
    #: A company with the connector's duplicate guard installed in SBO_SP_TransactionNotification (the
    #: UDF it checks, e.g. ``U_B1BF_Key``); None = without it, as SAP ships. See ``duplicate_key_refusal``.
    duplicate_key_guard: str | None = None


def _order(store: Store, entry: Any, n: int) -> dict[str, Any]:
    try:
        key = int(entry)
    except (TypeError, ValueError):
        raise SapError(400, -1000, "Property 'BaseEntry' of 'DocumentLine' is invalid") from None
    order = store.live("ProductionOrders", key)
    if order is None:
        # ASSUMPTION: SAP's answer for a BaseEntry that names no order was not found; -2028 is what
        # SAP says for any missing record (§2.3), as a 400 since the request itself was understood.
        raise SapError(400, -2028, "No matching records found (ODBC -2028)")
    if order.get("ProductionOrderStatus") != RELEASED:
        raise SapError(400, -5002, NOT_RELEASED)
    return order


def _warehouse(store: Store, code: Any, table: str, n: int) -> str:
    """The line's warehouse if it exists in ``Warehouses`` and is active; -5002 otherwise."""
    row = store.live("Warehouses", code) if isinstance(code, str) and code else None
    if row is None:
        raise SapError(400, -5002, UNKNOWN_WAREHOUSE.format(code=code or "", table=table, n=n))
    if row.get("Inactive") == "tYES":
        raise SapError(400, -5002, INACTIVE_WAREHOUSE.format(code=code, table=table, n=n))
    return str(code)


def _quantity(line: dict[str, Any], table: str, n: int) -> float:
    try:
        quantity = float(line.get("Quantity"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        quantity = 0.0
    if quantity <= 0:
        # ASSUMPTION: SAP's text for a missing or non-positive quantity was not captured.
        raise SapError(400, -5002, f"Quantity must be greater than zero  [{table}.Quantity][line: {n}]")
    return quantity


#: Entity set → (DocObjectCode name, object type code for numbering, header table in SAP's hints).
DOCUMENT_TYPES: dict[str, tuple[str, str, str]] = {
    "InventoryGenEntries": ("oInventoryGenEntry", numbering.RECEIPT, "OIGN"),
    "InventoryGenExits": ("oInventoryGenExit", numbering.ISSUE, "OIGE"),
}


def _check_series(store: Store, entity_set: str, body: dict[str, Any]) -> None:
    """Refuse an unknown or locked ``Series`` before anything else happens (nothing consumed yet)."""
    _name, document, table = DOCUMENT_TYPES[entity_set]
    store.numbering.resolve(document, body.get("Series"), table)


def _document(
    store: Store,
    entity_set: str,
    body: dict[str, Any],
    lines: list[dict[str, Any]],
    today: date,
) -> dict[str, Any]:
    """The stored document: DocEntry is the next internal key, DocNum comes from the series (§5.3)."""
    object_code, document, table = DOCUMENT_TYPES[entity_set]
    series, number = store.take_number(entity_set, "DocNum", document, body.get("Series"), table)
    doc_date = body.get("DocDate") or today.isoformat()
    return {
        **body,
        "DocEntry": store.next_number(entity_set, "DocEntry"),
        "DocNum": number,
        "Series": series,
        "DocType": "dDocument_Items",
        "DocDate": doc_date,
        "DocDueDate": body.get("DocDueDate") or doc_date,
        "TaxDate": body.get("TaxDate") or doc_date,
        "DocObjectCode": object_code,
        # ASSUMPTION: inventory documents are created closed in B1 (no follow-up document exists).
        "DocumentStatus": "bost_Close",
        "Cancelled": "tNO",
        "CancelStatus": "csNo",
        "CreationDate": today.isoformat(),
        "UpdateDate": today.isoformat(),
        "DataVersion": 1,
        "DocumentLines": lines,
    }


def _component_receipt(
    store: Store,
    line: dict[str, Any],
    quantity: float,
    n: int,
    stock: StockLedger,
    issued: dict[tuple[int, int], float],
) -> dict[str, Any]:
    """A receipt line with ``BaseLine``: the order's component line comes back into stock (§5.3 ◐).

    In B1 a receipt from production line with ``BaseLine`` = a ``LineNumber`` receives that line's item:
    a by-product (negative planned quantity) or a component returned to stock. Either way the line's
    ``IssuedQuantity`` goes down by the quantity. A connector that sends ``BaseLine`` on the finished
    good's line therefore receives component material, not the product: the mock does the same, so
    the mistake shows (wrong stock, CompletedQuantity unchanged). ``receipt_base_line="refuse"`` turns
    it into a clear refusal instead.
    """
    order = _order(store, line.get("BaseEntry"), n)
    entry = int(order["AbsoluteEntry"])
    match = [
        ol for ol in order.get("ProductionOrderLines") or [] if ol.get("LineNumber") == line.get("BaseLine")
    ]
    if not match:
        raise SapError(400, -2028, "No matching records found (ODBC -2028)")  # ASSUMPTION (as BaseEntry)
    ol = match[0]
    number = int(ol["LineNumber"])
    if ol.get("ItemType") != "pit_Item":
        # ASSUMPTION: text not captured; resources and text lines have no stock to receive.
        raise SapError(400, -5002, f"Only item lines can be received  [IGN1.BaseLine][line: {n}]")
    component = store.live("Items", ol.get("ItemNo"))
    if component is None:
        raise SapError(400, -5002, f"Invalid item code  [IGN1.ItemCode][line: {n}]")  # ASSUMPTION
    planned = float(ol.get("PlannedQuantity") or 0)
    left = float(ol.get("IssuedQuantity") or 0) + issued[(entry, number)]
    if planned >= 0 and quantity > left + 1e-9:
        # ASSUMPTION: B1 does not return more of a component than was issued; text not captured.
        raise SapError(400, -5002, RETURN_BEYOND_ISSUED.format(n=n))
    whs = _warehouse(store, line.get("WarehouseCode") or ol.get("Warehouse"), "IGN1", n)
    batch_serial_complete(component, line, quantity)
    stock.move(str(ol.get("ItemNo")), whs, quantity)
    issued[(entry, number)] -= quantity
    return {
        "ItemCode": ol.get("ItemNo"),
        "ItemDescription": component.get("ItemName"),
        "WarehouseCode": whs,
        "BaseType": PRODUCTION_ORDER,
        "BaseEntry": entry,
        "BaseRef": str(order.get("DocumentNumber")),
        "BaseLine": number,
    }


def _book_on_orders(
    store: Store, received: dict[int, dict[str, float]], issued: dict[tuple[int, int], float]
) -> None:
    """What a document did to its production orders: ``received`` adds to each order's Completed/
    RejectedQuantity, ``issued`` to each order line's IssuedQuantity (a negative amount takes back)."""
    for entry, delta in received.items():
        order = store.live("ProductionOrders", entry)
        assert order is not None
        for name, value in delta.items():
            order[name] = float(order.get(name) or 0) + value
    for (entry, line_number), value in issued.items():
        order = store.live("ProductionOrders", entry)
        assert order is not None
        for ol in order.get("ProductionOrderLines") or []:
            if int(ol["LineNumber"]) == line_number:
                ol["IssuedQuantity"] = float(ol.get("IssuedQuantity") or 0) + value
    for entry in {*received, *(e for e, _ in issued)}:
        store.touch("ProductionOrders", entry)


def header_of(body: dict[str, Any]) -> dict[str, Any]:
    """A document body without its lines."""
    return {k: v for k, v in body.items() if k != "DocumentLines"}


def duplicate_key_refusal(store: Store, header: dict[str, Any], switches: MockSwitches) -> None:
    """The duplicate guard in SBO_SP_TransactionNotification, when the company has it installed.

    SAP runs it after its own checks, inside the add's transaction: a receipt whose key another
    receipt already carries is rolled back. A cancelled receipt still counts (a cancelled key is never
    posted again); a cancellation document does not (SAP's cancel may copy the key, ❓). Callers hold
    the store's lock, as SAP's numbering lock makes adds of one document kind take turns.
    """
    field = switches.duplicate_key_guard
    key = header.get(field) if field else None
    if not field or not isinstance(key, str) or not key:
        return
    holders = store.where_equal("InventoryGenEntries", field, [key])
    assert holders is not None, "InventoryGenEntries keeps a value index (store.VALUE_INDEXED_SETS)"
    if any(row.get("CancelStatus") != "csCancellation" for row in holders):
        raise SapError(400, DUPLICATE_KEY_GUARD_CODE, DUPLICATE_KEY_GUARD.format(key=key)[:200])


def post_receipt(store: Store, body: dict[str, Any], switches: MockSwitches, today: date) -> dict[str, Any]:
    """POST InventoryGenEntries: finished goods in, backflush components out, one auto issue (§5.3, §5.4)."""
    lines = body.get("DocumentLines") or []
    if not lines:
        raise SapError(400, -5002, "Cannot add document without rows")  # ASSUMPTION: text not captured
    _check_series(store, "InventoryGenEntries", body)
    _check_series(store, "InventoryGenExits", {})  # the backflush issue takes the default series
    stock = StockLedger(store)
    received: dict[int, dict[str, float]] = defaultdict(
        lambda: {"CompletedQuantity": 0.0, "RejectedQuantity": 0.0}
    )
    issued: dict[tuple[int, int], float] = defaultdict(float)
    exit_lines: list[dict[str, Any]] = []
    exit_refs: list[tuple[int, int]] = []  # (order DocumentNumber, LineNumber + 1) of each auto-issue line
    out_lines: list[dict[str, Any]] = []
    for n, line in enumerate(lines, 1):
        out = dict(line)
        quantity = _quantity(line, "IGN1", n)
        if line.get("BaseType") is None and line.get("BaseEntry") is None:
            # A plain goods receipt line (no production order): the item comes in, nothing else.
            item = store.live("Items", line.get("ItemCode"))
            if item is None:
                raise SapError(400, -5002, f"Invalid item code  [IGN1.ItemCode][line: {n}]")  # ASSUMPTION
            whs = _warehouse(store, line.get("WarehouseCode") or item.get("DefaultWarehouse"), "IGN1", n)
            batch_serial_complete(item, line, quantity)
            stock.move(item["ItemCode"], whs, quantity)
            out.update(ItemDescription=item.get("ItemName"), WarehouseCode=whs)
        else:
            if line.get("BaseType") != PRODUCTION_ORDER:
                raise SapError(
                    400, -5002, f"Base document type is not supported by the mock  [IGN1.BaseType][line: {n}]"
                )
            if line.get("ItemCode"):
                raise SapError(400, -5002, ITEMCODE_REFERENCED.format(n=n))
            if line.get("BaseLine") is not None:
                if switches.receipt_base_line == "refuse":
                    raise SapError(400, -5002, BASE_LINE_REFUSED.format(n=n))
                out.update(_component_receipt(store, line, quantity, n, stock, issued))
                out.setdefault("InventoryQuantity", quantity)
                out_lines.append({**out, "Quantity": quantity, "LineNum": n - 1})
                continue
            order = _order(store, line.get("BaseEntry"), n)
            entry, order_no = int(order["AbsoluteEntry"]), order.get("DocumentNumber")
            transaction = line.get("TransactionType") or "botrntComplete"  # default complete (§5.3 ◐)
            if transaction not in ("botrntComplete", "botrntReject"):
                raise SapError(400, -1000, "Property 'TransactionType' of 'DocumentLine' is invalid")
            order_lines = order.get("ProductionOrderLines") or []
            if switches.receipt_requires_issue and not any(
                float(ol.get("IssuedQuantity") or 0) > 0 for ol in order_lines
            ):
                raise SapError(400, -5002, NOTHING_ISSUED)
            planned = float(order.get("PlannedQuantity") or 0)
            already = float(order.get("CompletedQuantity") or 0) + float(order.get("RejectedQuantity") or 0)
            in_doc = sum(received[entry].values())
            if switches.over_receipt == "reject" and already + in_doc + quantity > planned + 1e-9:
                raise SapError(400, -5002, OVER_RECEIPT.format(n=n))
            finished = store.live("Items", order.get("ItemNo"))
            if finished is not None:
                batch_serial_complete(finished, line, quantity)
            whs = _warehouse(store, line.get("WarehouseCode") or order.get("Warehouse"), "IGN1", n)
            stock.move(str(order.get("ItemNo")), whs, quantity)
            field = "CompletedQuantity" if transaction == "botrntComplete" else "RejectedQuantity"
            received[entry][field] += quantity
            out.update(
                ItemCode=order.get("ItemNo"),
                ItemDescription=(finished or {}).get("ItemName"),
                WarehouseCode=whs,
                BaseType=PRODUCTION_ORDER,
                BaseEntry=entry,
                BaseRef=str(order_no),
                TransactionType=transaction,
            )
            if transaction == "botrntReject" and not switches.backflush_on_reject:
                out_lines.append(out)
                continue
            for ol in order_lines:
                if ol.get("ProductionOrderIssueType") != BACKFLUSH or ol.get("ItemType") == "pit_Text":
                    continue
                share = quantity / planned * float(ol.get("PlannedQuantity") or 0) if planned else 0.0
                issued[(entry, int(ol["LineNumber"]))] += share
                if ol.get("ItemType") == "pit_Resource":
                    continue  # resources are issued without stock (§5.4)
                component = store.live("Items", ol.get("ItemNo"))
                if component is not None and (is_batch(component) or is_serial(component)):
                    raise SapError(
                        400, -5002, BACKFLUSH_BATCH.format(order=order_no, line=int(ol["LineNumber"]) + 1)
                    )
                # The auto-created issue's line n (IGE1, counted from 1 as in the real stock error).
                cwhs = _warehouse(store, ol.get("Warehouse"), "IGE1", len(exit_lines) + 1)
                exit_lines.append(
                    {
                        "LineNum": len(exit_lines),
                        "ItemCode": ol.get("ItemNo"),
                        "ItemDescription": (component or {}).get("ItemName") or ol.get("ItemName"),
                        "Quantity": share,
                        "InventoryQuantity": share,
                        "WarehouseCode": cwhs,
                        "BaseType": PRODUCTION_ORDER,
                        "BaseEntry": entry,
                        "BaseRef": str(order_no),
                        "BaseLine": int(ol["LineNumber"]),
                    }
                )
                exit_refs.append((int(order_no or 0), int(ol["LineNumber"]) + 1))
                stock.move(str(ol.get("ItemNo")), cwhs, -share)
        out.setdefault("InventoryQuantity", quantity)
        out["Quantity"] = quantity
        out["LineNum"] = n - 1
        out_lines.append(out)
    if not switches.allow_negative_stock:
        bad = stock.first_negative([(ln["ItemCode"], ln["WarehouseCode"]) for ln in exit_lines])
        if bad is not None:
            order_no, line_no = exit_refs[bad]
            raise SapError(400, -5002, BACKFLUSH_STOCK.format(n=bad + 1, order=order_no, line=line_no))
    duplicate_key_refusal(store, header_of(body), switches)
    # Nothing failed: apply every effect.
    stock.apply()
    _book_on_orders(store, received, issued)
    if exit_lines:
        store.insert(
            "InventoryGenExits",
            _document(
                store,
                "InventoryGenExits",
                {"DocDate": body.get("DocDate"), "JournalMemo": "Issue for Production"},
                exit_lines,
                today,
            ),
        )
    header = header_of(body)
    header.setdefault("JournalMemo", "Receipt from Production")
    document = _document(store, "InventoryGenEntries", header, out_lines, today)
    store.insert("InventoryGenEntries", document)
    batch_numbers.register(store, out_lines, document["DocDate"])
    return document


# ASSUMPTION: SAP's texts for a refused cancellation were not captured; -5002 as for the documents it
# refuses (a finished good no longer in stock: NEGATIVE_INVENTORY, -10, as for an issue).
ALREADY_CANCELLED = "Document is already cancelled or is a cancellation  [OIGN.CANCELED]"
CANCEL_CLOSED_ORDER = (
    "Cannot cancel: production order {order} is closed or cancelled  [IGN1.BaseEntry][line: {n}]"
)


def cancel_receipt(store: Store, key: Any, switches: MockSwitches, today: date) -> None:
    """POST InventoryGenEntries(k)/Cancel: what a person does to a receipt posted twice (§5.7; SAP lists
    the bound action but documents nothing of what it does).

    ASSUMPTIONS, as B1's cancellation documents behave in the client: the receipt becomes
    ``Cancelled`` tYES / ``CancelStatus`` csYes, and a cancellation document (csCancellation) with the
    same header, UDFs included, and lines, numbered from the series, takes its quantities back: the
    finished good leaves the warehouse and the order's Completed/RejectedQuantity go down. The
    components the receipt backflushed stay issued (their Issue for Production is a document of its
    own); a component the receipt returned (a line with ``BaseLine``) counts as issued again.
    Refused: a receipt already cancelled or a cancellation, a receipt of a closed or cancelled order,
    and a finished good no longer in stock (unless negative stock is allowed).
    """
    receipt = store.live("InventoryGenEntries", key)
    assert receipt is not None  # the route answered 404 already
    if receipt.get("Cancelled") == "tYES" or receipt.get("CancelStatus") in ("csYes", "csCancellation"):
        raise SapError(400, -5002, ALREADY_CANCELLED)
    stock = StockLedger(store)
    received: dict[int, dict[str, float]] = defaultdict(
        lambda: {"CompletedQuantity": 0.0, "RejectedQuantity": 0.0}
    )
    returned: dict[tuple[int, int], float] = defaultdict(float)
    lines = receipt.get("DocumentLines") or []
    for n, line in enumerate(lines, 1):
        quantity = float(line.get("Quantity") or 0)
        if line.get("BaseType") == PRODUCTION_ORDER and line.get("BaseLine") is None:
            order = store.live("ProductionOrders", line.get("BaseEntry"))
            if order is None or order.get("ProductionOrderStatus") != "boposReleased":
                number = (order or {}).get("DocumentNumber", line.get("BaseEntry"))
                raise SapError(400, -5002, CANCEL_CLOSED_ORDER.format(order=number, n=n))
            field = (
                "RejectedQuantity" if line.get("TransactionType") == "botrntReject" else "CompletedQuantity"
            )
            received[int(order["AbsoluteEntry"])][field] -= quantity
        elif line.get("BaseType") == PRODUCTION_ORDER:  # a component returned: it counts as issued again
            returned[(int(line["BaseEntry"]), int(line["BaseLine"]))] += quantity
        stock.move(str(line.get("ItemCode")), str(line.get("WarehouseCode")), -quantity)
    if not switches.allow_negative_stock:
        bad = stock.first_negative([(str(ln.get("ItemCode")), str(ln.get("WarehouseCode"))) for ln in lines])
        if bad is not None:
            raise SapError(400, -10, NEGATIVE_INVENTORY.format(table="IGN1", n=bad + 1))
    # Nothing failed: apply every effect.
    stock.apply()
    _book_on_orders(store, received, returned)
    receipt.update(Cancelled="tYES", CancelStatus="csYes")
    store.touch("InventoryGenEntries", key)
    kept = {k: v for k, v in header_of(receipt).items() if k not in _NUMBERED_BY_SAP}
    cancellation = _document(store, "InventoryGenEntries", kept, [dict(ln) for ln in lines], today)
    cancellation["CancelStatus"] = "csCancellation"  # its Cancelled stays tNO (ASSUMPTION: B1's 'C')
    store.insert("InventoryGenEntries", cancellation)


#: What a new document gets from SAP, never from the document it copies.
_NUMBERED_BY_SAP = frozenset(
    {"DocEntry", "DocNum", "CreationDate", "UpdateDate", "DataVersion", "Cancelled", "CancelStatus"}
)


def post_issue(store: Store, body: dict[str, Any], switches: MockSwitches, today: date) -> dict[str, Any]:
    """POST InventoryGenExits: manual issue for production against order lines (§5.6)."""
    lines = body.get("DocumentLines") or []
    if not lines:
        raise SapError(400, -5002, "Cannot add document without rows")  # ASSUMPTION: text not captured
    _check_series(store, "InventoryGenExits", body)
    stock = StockLedger(store)
    issued: list[tuple[dict[str, Any], float]] = []
    touched: set[int] = set()
    out_lines: list[dict[str, Any]] = []
    for n, line in enumerate(lines, 1):
        out = dict(line)
        quantity = _quantity(line, "IGE1", n)
        base_type = line.get("BaseType")
        if base_type is None and line.get("BaseEntry") is not None:
            base_type = PRODUCTION_ORDER  # SAP-APIREF's example omits BaseType (§5.6 ❓); treat as 202
        if base_type is None:
            item_code = line.get("ItemCode")
            whs = line.get("WarehouseCode") or ""  # checked below, once the item is known
        elif base_type != PRODUCTION_ORDER:
            raise SapError(
                400, -5002, f"Base document type is not supported by the mock  [IGE1.BaseType][line: {n}]"
            )
        else:
            if line.get("ItemCode"):
                # SAP derives the item from the order line (§5.6); ◐ text as on receipts, table IGE1.
                raise SapError(400, -5002, ITEMCODE_REFERENCED.replace("IGN1", "IGE1").format(n=n))
            order = _order(store, line.get("BaseEntry"), n)
            entry = int(order["AbsoluteEntry"])
            match = [
                ol
                for ol in order.get("ProductionOrderLines") or []
                if ol.get("LineNumber") == line.get("BaseLine")
            ]
            if not match:
                # ASSUMPTION (as BaseEntry)
                raise SapError(400, -2028, "No matching records found (ODBC -2028)")
            ol = match[0]
            if ol.get("ProductionOrderIssueType") == BACKFLUSH:
                # REAL text; "Production Order no" is the AbsoluteEntry here (§2.1 note).
                raise SapError(
                    400, -5002, BACKFLUSH_BATCH.format(order=entry, line=int(ol["LineNumber"]) + 1)
                )
            item_code, whs = ol.get("ItemNo"), line.get("WarehouseCode") or ol.get("Warehouse") or ""
            issued.append((ol, quantity))
            touched.add(entry)
            out.update(BaseType=PRODUCTION_ORDER, BaseEntry=entry, BaseRef=str(order.get("DocumentNumber")))
            if ol.get("ItemType") == "pit_Resource":
                out.update(ItemCode=item_code, Quantity=quantity, LineNum=n - 1)
                out_lines.append(out)
                continue
        item = store.live("Items", item_code)
        if item is None:
            raise SapError(400, -5002, f"Invalid item code  [IGE1.ItemCode][line: {n}]")  # ASSUMPTION
        whs = _warehouse(store, whs or item.get("DefaultWarehouse"), "IGE1", n)
        batch_serial_complete(item, line, quantity)
        stock.move(str(item_code), whs, -quantity)
        if not switches.allow_negative_stock and stock.first_negative([(str(item_code), whs)]) is not None:
            raise SapError(400, -10, NEGATIVE_INVENTORY.format(table="IGE1", n=n))
        out.update(
            ItemCode=item_code,
            ItemDescription=item.get("ItemName"),
            WarehouseCode=whs,
            Quantity=quantity,
            InventoryQuantity=quantity,
            LineNum=n - 1,
        )
        out_lines.append(out)
    stock.apply()
    for ol, quantity in issued:
        ol["IssuedQuantity"] = float(ol.get("IssuedQuantity") or 0) + quantity
    for entry in touched:
        store.touch("ProductionOrders", entry)
    document = _document(store, "InventoryGenExits", header_of(body), out_lines, today)
    store.insert("InventoryGenExits", document)
    return document
