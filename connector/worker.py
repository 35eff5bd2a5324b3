"""One cycle: settle → poll released orders → item master → validate → build → post once → report.

Data flows one way (README.md). The pure parts (confirmations, rules, receipt) decide;
this module only fetches, calls them, and hands postings to ``Poster``. An order that cannot be
processed is held with a reason and the cycle goes on; only a Service Layer that cannot be
reached, a refused login or a query SAP rejects stops the cycle.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from connector.clock import Clock
from connector.company_facts import read_company_facts
from connector.errors import (
    ENDS_THE_CYCLE,
    ConnectorError,
    LedgerConflictError,
    OrderError,
    SLError,
    SLNotFoundError,
    SLRequestError,
)
from connector.ledger import Intent, Ledger
from connector.mapping.spec import Mapping
from connector.poll import (
    FIRST_READ_PAGE,
    build_poll_filter,
    fetch_items,
    fetch_orders,
    item_codes,
    iter_order_pages,
    order_select,
    read_page_size,
)
from connector.posting import Poster, PostingState, PostOutcome
from connector.posting_pool import PostingPool
from connector.production import reasons as rc
from connector.production.assessment import (
    Assessment,
    OrderAction,
    already_posted,
    assess,
    order_block,
    refused_as_duplicate,
    unfinished_posting,
    unreadable_item_reasons,
)
from connector.production.company_facts import NO_FACTS, CompanyFacts
from connector.production.confirmations import ReceiptPlan, plan_receipt
from connector.production.orders import ItemMaster, ProductionOrder, parse_order
from connector.production.reasons import Reason
from connector.production.receipt import key_prefix
from connector.production.rules import Verdict, backflush_demand, evaluate
from connector.receipt_numbers import ReceiptNumbers
from connector.report import CycleError, CycleReport, CycleWarning, Held, Posted, Settled
from connector.sl import odata
from connector.sl.client import ServiceLayerClient

log = logging.getLogger(__name__)


#: ``_read_order``: the order no longer exists in SAP.
VANISHED = object()


def _parsed(raw: dict[str, Any]) -> ProductionOrder | OrderError:
    """The order, or what makes it unreadable (held, as the poll would hold it)."""
    try:
        return parse_order(raw)
    except OrderError as exc:
        return exc


@dataclass(frozen=True)
class Sent:
    """What posting one receipt did: the outcome, and whether the order was then closed."""

    outcome: PostOutcome
    closed: bool = False
    #: The CLOSE_FAILED warning when the receipt was posted but the order could not be closed.
    close_failed: CycleWarning | None = None


@dataclass
class Worker:
    """Runs cycles for one company against one Service Layer."""

    client: ServiceLayerClient
    ledger: Ledger
    mapping: Mapping
    company: str
    page_size: int = 100
    quiet_period_s: float = 30.0
    read_timeout_s: float = 0.0
    today: Callable[[], date] = date.today
    now: Callable[[], datetime] = datetime.now
    stop_event: threading.Event | None = None
    #: B1_MAX_RECEIPTS_PER_CYCLE: at most this many receipt POSTs per cycle (None: no limit).
    max_receipts_per_cycle: int | None = None
    #: Orders read again, lines included, with one GET right before they are posted (B1_FRESH_READ_CHUNK).
    fresh_read_chunk: int = 100
    #: B1_POST_SESSIONS > 1: the sessions that post; None posts in the cycle's own session.
    posting_pool: PostingPool | None = None
    #: Lines per order in the last re-read (None: none yet); sizes the next read's pages. Kept across
    #: the cycles of ``run``: only a worker's very first read pays for not knowing it.
    _lines_per_order: float | None = field(default=None, init=False, repr=False)
    #: Called whenever the cycle moves on (a page read, an order done): ``run``'s /healthz watches it.
    on_progress: Callable[[], None] | None = None
    #: Item codes whose item master SAP returned unreadable this cycle → what is wrong with it.
    _unreadable_items: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    #: Receipt POSTs sent in the current cycle (for max_receipts_per_cycle).
    _receipts_sent: int = field(default=0, init=False, repr=False)
    #: Warehouses, receipt UDF sizes and series, read once per cycle before its first order with
    #: something to receive is read again (``_read_facts``).
    _facts: CompanyFacts = field(default=NO_FACTS, init=False, repr=False)
    _facts_read: bool = field(default=False, init=False, repr=False)
    #: This company's receipts cancelled in SAP, by key: read once, before the worker's first receipt.
    _cancelled_in_sap: dict[str, dict[str, Any]] | None = field(default=None, init=False, repr=False)
    #: SAP refused that read this cycle: not asked again (nor warned about again) until the next one.
    _cancelled_read_refused: bool = field(default=False, init=False, repr=False)
    #: SAP refused a read of DocNums this cycle (``_read_receipt_numbers``).
    _docnum_read_refused: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        self._receipt_numbers = ReceiptNumbers(self.client, self.ledger, self.company)
        self.poster = Poster(
            self.client,
            self.ledger,
            self.company,
            self.mapping.idempotency.key_field,
            self.quiet_period_s,
            clock=Clock(stop_event=self.stop_event),
            read_timeout_s=self.read_timeout_s,
        )

    def use_posting_sessions(self, clients: list[ServiceLayerClient]) -> PostingPool:
        """Post with these sessions at once (``B1_POST_SESSIONS``); the caller closes the pool."""
        self.posting_pool = PostingPool(
            [
                Poster(
                    client,
                    self.ledger,
                    self.company,
                    self.mapping.idempotency.key_field,
                    self.quiet_period_s,
                    clock=self.poster.clock,
                    read_timeout_s=self.read_timeout_s,
                    key_locks=self.poster.key_locks,
                )
                for client in clients
            ]
        )
        return self.posting_pool

    def _assess(self, order: ProductionOrder, items: dict[str, ItemMaster]) -> Assessment:
        return assess(
            order,
            items,
            self.mapping,
            company=self.company,
            today=self.today(),
            now=self.now(),
            protocol=self.client.protocol,
            facts=self._facts,
        )

    def _read_cancelled_receipts(self, report: CycleReport | None) -> None:
        """The keys SAP holds only on cancelled receipts, so a lost ledger cannot post them again."""
        try:
            self._cancelled_in_sap = self.poster.cancelled_receipts(key_prefix(self.company))
        except SLError as exc:  # read again next cycle; the ledger still remembers what it posted
            self._cancelled_read_refused = True
            if report is None:
                return
            report.warnings.append(
                CycleWarning(
                    None,
                    "CANCELLED_RECEIPTS_UNREAD",
                    f"the receipts cancelled in SAP could not be read ({exc}); only the ledger "
                    "remembers which confirmations were received before; read again next cycle",
                )
            )

    def _read_facts(self, report: CycleReport | None) -> None:
        """The cycle's company facts (the receipts are checked against them); refused reads are warnings."""
        read = read_company_facts(self.client, self.mapping)
        self._facts = read.facts
        for message in read.warnings:
            if report is not None:
                report.warnings.append(CycleWarning(None, "COMPANY_FACTS_UNREAD", message))

    def _progress(self) -> None:
        if self.on_progress is not None:
            self.on_progress()

    def _stopping(self) -> bool:
        return self.stop_event is not None and self.stop_event.is_set()

    def run_cycle(self, *, dry_run: bool = False) -> CycleReport:
        """One full cycle; SL errors that stop the cycle propagate after the ledger records them."""
        report = CycleReport(company=self.company, dry_run=dry_run)
        cycle_id = self.ledger.start_cycle(self.company, dry_run=dry_run)
        self._receipts_sent = 0
        self._docnum_read_refused = False
        self._cancelled_read_refused = False
        status = "failed"
        try:
            if not dry_run:
                settled = [
                    *self.poster.settle_all(on_each=self._progress),
                    *self.poster.recheck_reposted(),
                    *self.poster.recheck_duplicates(),
                ]
                for row, outcome in settled:
                    report.settled.append(
                        Settled(
                            row.key,
                            row.order_number,
                            outcome.state,
                            outcome.receipt_entry,
                            outcome.receipt_number,
                        )
                    )
                self._receipt_numbers.owe_unread()  # a DocNum read that failed in an earlier cycle
            self._facts_read = False  # read before the cycle's first re-read: an idle cycle needs none
            items: dict[str, ItemMaster] = {}
            self._unreadable_items = {}
            # One dispatch for the whole cycle: with posting sessions, the next page and the next
            # chunk are read while the receipts already handed over are still being posted.
            with self._dispatch(report, items) as dispatch:
                for page in iter_order_pages(self.client, self.mapping, page_size=self.page_size):
                    orders = self._parse_page(page, report)
                    del page
                    fetch_items(self.client, item_codes(orders), items, self._unreadable_items)
                    self._progress()
                    due = [
                        order
                        for order in orders
                        if not self._stopping()
                        and self._guarded(order, report, self._screen, order, items, report)
                    ]
                    for start in range(0, len(due), self.fresh_read_chunk):
                        if self._stopping():
                            break
                        chunk = due[start : start + self.fresh_read_chunk]
                        self._post_chunk(chunk, items, report, dispatch, dry_run=dry_run)
                        self._progress()
                    if self._stopping():
                        report.aborted = "stop requested"
                        break
            self._read_receipt_numbers(report, all_owed=True)
            status = "stopped" if report.aborted else "ok"
        except Exception as exc:
            report.aborted = f"{type(exc).__name__}: {exc}"
            report.errors.append(CycleError("cycle", str(exc)))
            raise
        finally:
            if status == "ok":
                self._log_hold_changes(report)
            if not dry_run and status == "ok":
                self.ledger.replace_holds(self.company, [vars(h) for h in report.held])
            self.ledger.finish_cycle(cycle_id, status=status, summary=report.summary())
            log.info("cycle_finished", extra={"status": status, **report.summary()})
        return report

    def _log_hold_changes(self, report: CycleReport) -> None:
        """Log an order when it becomes held, when its reasons change and when it is no longer held —
        not again every cycle while it stays held for the same reasons (the ledger remembers holds)."""
        before = {h["order_entry"]: h for h in self.ledger.holds(self.company)}
        for held in report.held:
            codes = sorted({r["code"] for r in held.reasons})
            previous = before.pop(held.order_entry, None)
            if previous is not None and sorted({r["code"] for r in previous["reasons"]}) == codes:
                continue
            log.info(
                "order_held",
                extra={
                    "order": held.order_number,
                    "order_entry": held.order_entry,
                    "item": held.item,
                    "code": ",".join(codes),
                    "previous_code": None
                    if previous is None
                    else ",".join(sorted({r["code"] for r in previous["reasons"]})),
                    "reason": held.reasons[0]["message"] if held.reasons else None,
                    "dry_run": report.dry_run,
                },
            )
        for gone in before.values():
            log.info(
                "order_released",
                extra={
                    "order": gone["order_number"],
                    "order_entry": gone["order_entry"],
                    "dry_run": report.dry_run,
                },
            )

    def _parse_page(self, page: list[dict[str, Any]], report: CycleReport) -> list[ProductionOrder]:
        orders = []
        for raw in page:
            report.orders_seen += 1
            try:
                orders.append(parse_order(raw))
            except OrderError as exc:
                reason = Reason(
                    code=exc.reason_code, severity="block", message=str(exc), line=None, item=None
                )
                report.held.append(
                    Held.from_reasons(
                        order_entry=raw.get("AbsoluteEntry") or 0,
                        order_number=raw.get("DocumentNumber"),
                        item=raw.get("ItemNo"),
                        reasons=[reason],
                    )
                )
        return orders

    def _is_candidate(self, order: ProductionOrder, items: dict[str, ItemMaster]) -> bool:
        groups = self.mapping.candidates.item_groups
        if not groups:
            return True
        product = items.get(order.ItemNo)
        # An unknown product is still a candidate: it is held UNKNOWN_ITEM, visibly.
        return product is None or product.ItemsGroupCode in groups

    def _hold(self, report: CycleReport, order: ProductionOrder, reasons: list[Reason]) -> None:
        report.held.append(
            Held.from_reasons(
                order_entry=order.AbsoluteEntry,
                order_number=order.DocumentNumber,
                item=order.ItemNo,
                reasons=reasons,
            )
        )

    def _guarded(
        self, order: ProductionOrder, report: CycleReport, step: Callable[..., Any], *args: Any
    ) -> Any:
        """One order's step; what is wrong with this order alone is recorded and the cycle goes on."""
        try:
            return step(*args)
        except Exception as exc:  # SAP data we did not foresee, or a bug: never stall every other order
            if isinstance(exc, ConnectorError) and exc.action in ENDS_THE_CYCLE:
                raise  # SAP, our query or the ledger is unusable: stop the cycle, the next one starts afresh
            log.exception("order_failed", extra={"order": order.DocumentNumber})
            report.errors.append(
                CycleError(
                    f"order {order.DocumentNumber}",
                    f"{type(exc).__name__}: {exc}; the order is tried again next cycle",
                )
            )
            return None

    def _screen(self, order: ProductionOrder, items: dict[str, ItemMaster], report: CycleReport) -> bool:
        """The poll's header alone: True when the order has something to receive (its lines are read next).

        An order with nothing to receive is decided here, without its lines: held for what its header
        shows, or — fully received by us but still released — closed.
        """
        if not self._is_candidate(order, items):
            return False
        unfinished = self._unfinished_posting(order)
        if unfinished is not None:
            self._hold(report, order, [unfinished])
            return False
        plan = plan_receipt(order, self.mapping.quantities)
        if not plan.nothing_to_receive:
            return True
        unreadable = unreadable_item_reasons(order, self._unreadable_items)
        if unreadable:
            self._hold(report, order, unreadable)
            return False
        verdict = evaluate(order, plan, items, self.mapping)
        if verdict.blocked:
            self._hold(report, order, list(verdict.blocking))
            return False
        self._note_warnings(report, order, verdict)
        if not report.dry_run and self.poster.has_posted(order.AbsoluteEntry):
            # Fully received by us but still released: the close after our last receipt failed,
            # or the worker stopped between that receipt and the close.
            _closed, close_failed = self._close_if_complete(order, plan)
            if close_failed is not None:
                report.warnings.append(close_failed)
        return False

    def _post_chunk(
        self,
        due: list[ProductionOrder],
        items: dict[str, ItemMaster],
        report: CycleReport,
        dispatch: Callable[[Assessment], None],
        *,
        dry_run: bool,
    ) -> None:
        """Read the chunk's orders again, lines included, in one request; decide each, and hand the
        receipts to ``dispatch`` in batches: the whole chunk with one session, one receipt per session
        with posting sessions.

        Right before posting: an order may have been closed, or received by a user, since the poll
        (ORDER_NOT_RELEASED; a stale CompletedQuantity would over-receive). Deciding the chunk first
        changes no window: every decision rests on the chunk's one re-read either way.
        """
        if not self._facts_read:
            # Only receipts are checked against them (warehouses, series, UDF sizes), so a cycle
            # whose orders have nothing to receive costs its pages and item reads, nothing more.
            self._read_facts(report)
            self._facts_read = True
        if self._cancelled_in_sap is None and not self._cancelled_read_refused:
            self._read_cancelled_receipts(report)
        entries = [order.AbsoluteEntry for order in due]
        fresh: dict[int, ProductionOrder | OrderError] = {}
        try:
            if self._lines_per_order is None:
                # A worker's first read: how many lines orders have is not known yet, so a first
                # page of a few orders tells it before the rest of the chunk is read in full pages.
                self._read_fresh(entries[:FIRST_READ_PAGE], fresh)
                entries = entries[FIRST_READ_PAGE:]
            self._read_fresh(entries, fresh)
            rows_read = True
        except SLRequestError as exc:
            if exc.action in ENDS_THE_CYCLE:
                raise  # our query itself is wrong (SLQueryError): the same for every order
            # SAP refused the chunk's read (not a connection problem): read the orders one by one, so
            # a refusal stays with the order it concerns and the others are still posted.
            log.warning("chunk_read_refused", extra={"orders": len(due), "error": str(exc)})
            rows_read = False
        readable = [order for order in fresh.values() if isinstance(order, ProductionOrder)]
        fetch_items(self.client, item_codes(readable), items, self._unreadable_items)
        # Deciding right after a wait for SAP's answer costs twice the CPU, so receipts are decided in
        # batches, back to back: with one session the whole chunk before its first POST; with posting
        # sessions one receipt per session at a time, which the backlog of two per session absorbs
        # (no session waits for the rest of the chunk's decisions).
        pool = self.posting_pool
        batch = pool.size if pool is not None else len(due)
        ready: list[Assessment] = []
        for order in due:
            if self._stopping():
                break
            if not rows_read:
                read = self._guarded(order, report, self._read_order, order, items)
                if read is None:  # recorded as this order's error
                    continue
                if read is not VANISHED:
                    fresh[order.AbsoluteEntry] = read
            now = fresh.pop(order.AbsoluteEntry, None)
            if now is None:
                report.warnings.append(
                    CycleWarning(
                        order.DocumentNumber,
                        "ORDER_VANISHED",
                        f"Order {order.DocumentNumber} no longer exists in SAP",
                    )
                )
            elif isinstance(now, OrderError):
                self._hold(report, order, [order_block(order, now.reason_code, str(now))])
            else:
                decided = self._guarded(now, report, self._decide, now, items, report, dry_run)
                if decided is not None:
                    ready.append(decided)
                    if len(ready) >= batch:
                        self._hand_over(ready, items, report, dispatch)
        self._hand_over(ready, items, report, dispatch)

    def _hand_over(
        self,
        ready: list[Assessment],
        items: dict[str, ItemMaster],
        report: CycleReport,
        dispatch: Callable[[Assessment], None],
    ) -> None:
        """Send the decided receipts (``dispatch``), emptying ``ready``; once the worker is told to
        stop, the rest are given back instead: never sent, their orders are decided next cycle."""
        for a in ready:
            if self._stopping():
                self._take_backflushed_stock(a, items, sign=-1.0)
                self._receipts_sent -= 1
            else:
                self._guarded(a.order, report, dispatch, a)
        ready.clear()

    def _read_fresh(self, entries: list[int], fresh: dict[int, ProductionOrder | OrderError]) -> None:
        """Read ``entries`` with their lines into ``fresh``, pages sized by the lines orders have."""
        page_size = read_page_size(len(entries), self._lines_per_order)
        read, lines = 0, 0
        # Each page is parsed before the next is read: only the orders are kept, not SAP's rows.
        for page in fetch_orders(self.client, self.mapping, entries, page_size=page_size):
            for raw in page:
                fresh[raw.get("AbsoluteEntry")] = _parsed(raw)  # type: ignore[index]
                lines += len(raw.get("ProductionOrderLines") or ())
                read += 1
        if read:
            self._lines_per_order = lines / read

    def _read_order(self, order: ProductionOrder, items: dict[str, ItemMaster]) -> object:
        """One order read on its own (after SAP refused its chunk's read): the order, the OrderError
        that makes it unreadable, or ``VANISHED``."""
        try:
            raw = self.client.get_entity(
                "ProductionOrders", order.AbsoluteEntry, select=order_select(self.mapping)
            )
        except SLNotFoundError:
            return VANISHED
        read = _parsed(raw)
        if isinstance(read, ProductionOrder):
            fetch_items(self.client, item_codes([read]), items, self._unreadable_items)
        return read

    def _decide(
        self,
        order: ProductionOrder,
        items: dict[str, ItemMaster],
        report: CycleReport,
        dry_run: bool,
    ) -> Assessment | None:
        """The whole order as SAP has it now: hold it, or return the receipt to send (stock taken)."""
        unreadable = unreadable_item_reasons(order, self._unreadable_items)
        if unreadable:
            self._hold(report, order, unreadable)
            return None
        assessment = self._assess(order, items)
        if assessment.action is OrderAction.HOLD:
            self._hold(report, order, list(assessment.verdict.blocking))
            return None
        self._note_warnings(report, order, assessment.verdict)
        if assessment.action is OrderAction.NOTHING or assessment.built is None or assessment.key is None:
            return None
        if not dry_run and self._receipt_limit_reached(report):
            return None
        received = self._received_before(assessment)
        if received is not None:
            self._hold(report, order, [received])
            return None
        # Decided before the POST is sent: what this receipt backflushes is no longer there for the
        # next order (else two orders sharing a scarce component both pass the stock check). A dry
        # run takes it too (from this cycle's cache only), so that it holds what a real cycle holds.
        self._take_backflushed_stock(assessment, items)
        if dry_run:
            report.would_post.append(self._would_post(assessment))
            return None
        self._receipts_sent += 1  # counted here, in the cycle's thread, when the receipt is decided
        return assessment

    def _unfinished_posting(self, order: ProductionOrder) -> Reason | None:
        """POSTING_UNCERTAIN or DUPLICATE_IN_SAP while an earlier posting of the order is not cleared."""
        unfinished = self.poster.unfinished_for_order(order.AbsoluteEntry)
        return None if unfinished is None else unfinished_posting(order, unfinished)

    def _received_before(self, a: Assessment) -> Reason | None:
        """ALREADY_POSTED if the receipt's key was posted before: a key SAP once had is never posted
        again. The ledger remembers it; SAP's cancelled receipts cover a ledger that forgot it (lost,
        or restored from a backup)."""
        assert a.key is not None
        earlier = self.poster.posting(a.key)
        cancelled = (self._cancelled_in_sap or {}).get(a.key)
        if earlier is not None and earlier.state in (PostingState.POSTED, PostingState.DUPLICATE):
            number, entry = earlier.receipt_number, earlier.receipt_entry
        elif cancelled is not None:
            number, entry = cancelled.get("DocNum"), cancelled.get("DocEntry")
        else:
            return None
        return already_posted(a.order, a.plan, receipt_number=number, receipt_entry=entry)

    def _receipt_limit_reached(self, report: CycleReport) -> bool:
        """B1_MAX_RECEIPTS_PER_CYCLE: once that many POSTs were sent, a ready order waits for the next
        cycle (counted in ``report.deferred``). Holds are still assessed, so the status stays complete."""
        limit = self.max_receipts_per_cycle
        if limit is None or self._receipts_sent < limit:
            return False
        if not report.deferred:
            log.info("receipt_limit_reached", extra={"max_receipts_per_cycle": limit})
        report.receipt_limit = limit
        report.deferred += 1
        return True

    def _note_warnings(self, report: CycleReport, order: ProductionOrder, verdict: Verdict) -> None:
        for reason in verdict.warnings:
            report.warnings.append(CycleWarning.from_reason(order.DocumentNumber, reason))

    def _would_post(self, a: Assessment) -> dict[str, Any]:
        return {
            "order_entry": a.order.AbsoluteEntry,
            "order_number": a.order.DocumentNumber,
            "item": a.order.ItemNo,
            "quantity": a.plan.good,
            "rejected_quantity": a.plan.rejected,
            "key": a.key,
            "payload": a.built.payload if a.built else None,
        }

    @staticmethod
    def _take_backflushed_stock(a: Assessment, items: dict[str, ItemMaster], *, sign: float = 1.0) -> None:
        """The cycle's item cache was read once; what a receipt backflushes is taken from it before the
        receipt is sent (``sign=-1`` gives it back once SAP refused the receipt or it was never sent)."""
        for (code, warehouse), (quantity, _lines) in backflush_demand(a.order, a.plan, items).items():
            items[code] = items[code].with_stock_taken(warehouse, sign * quantity)

    @contextmanager
    def _dispatch(
        self, report: CycleReport, items: dict[str, ItemMaster]
    ) -> Iterator[Callable[[Assessment], None]]:
        """Where decided receipts go: posted at once (one session), or by the posting pool's sessions.

        With a pool, up to two receipts per session are handed over: while the cycle's thread reads
        the next chunk, every session still finds one waiting. No more: a chunk read while many of the
        last one's receipts still wait would widen the window between a chunk's read and its POSTs
        (docs/exactly-once.md). The outcomes are recorded here, in the cycle's thread. When a posting
        raises (SAP or the ledger unusable), or the worker is told to stop, the receipts not yet
        started are taken back (nothing was sent: their orders are decided afresh next cycle), the
        ones being posted are waited for and recorded, then the first error stops the cycle as it
        would sequentially.
        """
        pool = self.posting_pool
        if pool is None:
            yield lambda a: self._record(report, a, items, self._send(self.poster, a))
            return
        backlog = 2 * pool.size
        in_flight: dict[Future[Sent], Assessment] = {}
        failures: list[BaseException] = []

        def collect(futures: set[Future[Sent]]) -> None:
            for future in futures:
                a = in_flight.pop(future)
                if future.cancelled():  # taken back before a session started it: nothing was sent
                    self._take_backflushed_stock(a, items, sign=-1.0)
                    self._receipts_sent -= 1
                    continue
                try:
                    self._record(report, a, items, future.result())
                except BaseException as exc:  # re-raised below, once every posting in flight is recorded
                    failures.append(exc)

        def take_back_waiting() -> None:
            # Only a receipt no session has started can be cancelled. Recorded here: ``wait`` counts a
            # cancelled future as done only once a pool thread has looked at it.
            collect({future for future in list(in_flight) if future.cancel()})

        def submit(a: Assessment) -> None:
            if failures:
                take_back_waiting()
                raise failures[0]
            while len(in_flight) >= backlog:
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                collect(done)
                if failures:
                    take_back_waiting()
                    raise failures[0]
            in_flight[pool.submit(self._send, a)] = a

        try:
            yield submit
        except BaseException:
            take_back_waiting()
            raise
        finally:
            if self._stopping():
                take_back_waiting()
            while in_flight:
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                collect(done)
        if failures:
            raise failures[0]

    def _send(self, poster: Poster, a: Assessment) -> Sent:
        """Intent → POST → settle for one receipt, and the order's close; runs in a posting session."""
        order, plan = a.order, a.plan
        assert a.key is not None and a.built is not None
        try:
            outcome = poster.post(
                Intent(
                    key=a.key,
                    order_entry=order.AbsoluteEntry,
                    order_number=order.DocumentNumber,
                    item=order.ItemNo,
                    quantity=plan.good,
                    rejected_quantity=plan.rejected,
                    payload=a.built.payload,
                )
            )
        except LedgerConflictError as exc:  # this posting only; any other LedgerError stops the cycle
            return Sent(PostOutcome(PostingState.LEDGER_ERROR, message=str(exc)))
        if outcome.state != PostingState.POSTED:
            return Sent(outcome)
        closed, close_failed = self._close_if_complete(order, plan, poster.client)
        return Sent(outcome, closed, close_failed)

    def _record(self, report: CycleReport, a: Assessment, items: dict[str, ItemMaster], sent: Sent) -> None:
        """What one posting did, into the report (the cycle's thread only)."""
        order, plan, outcome = a.order, a.plan, sent.outcome
        self._progress()
        # Stock stays taken where a receipt exists or may: posted, uncertain, or SAP's guard naming
        # the receipt already there (its backflush happened after this cycle read the stock).
        if outcome.state not in (PostingState.POSTED, PostingState.UNCERTAIN, PostingState.ALREADY_IN_SAP):
            self._take_backflushed_stock(a, items, sign=-1.0)
        if sent.close_failed is not None:
            report.warnings.append(sent.close_failed)
        if outcome.state == PostingState.LEDGER_ERROR:
            self._hold(report, order, [order_block(order, rc.POSTING_UNCERTAIN, outcome.message or "")])
        elif outcome.state == PostingState.POSTED:
            assert a.key is not None
            report.add_posted(
                Posted(
                    order.AbsoluteEntry,
                    order.DocumentNumber,
                    order.ItemNo,
                    plan.good,
                    plan.rejected,
                    outcome.receipt_entry,
                    outcome.receipt_number,
                    a.key,
                    order_closed=sent.closed,
                )
            )
            if outcome.receipt_number is None and outcome.receipt_entry is not None:
                self._receipt_numbers.owe(a.key, outcome.receipt_entry)  # SAP answered 204
                self._read_receipt_numbers(report)
        elif outcome.state == PostingState.ALREADY_IN_SAP:
            report.refused_by_duplicate_guard += 1
            reason = refused_as_duplicate(
                order, plan, receipt_number=outcome.receipt_number, receipt_entry=outcome.receipt_entry
            )
            self._hold(report, order, [reason])
        elif outcome.state == PostingState.REJECTED:
            self._hold(
                report,
                order,
                [
                    order_block(
                        order,
                        rc.SL_REJECTED,
                        f"Order {order.DocumentNumber}: SAP refused the receipt: [{outcome.code}] "
                        f"{outcome.message}",
                    )
                ],
            )
        elif outcome.state == PostingState.UNCERTAIN:
            report.errors.append(
                CycleError(
                    f"order {order.DocumentNumber}",
                    f"the answer to the receipt POST was lost ({outcome.message}); "
                    "it is looked up in SAP by key before any new attempt",
                    key=a.key,
                    state="uncertain",
                )
            )
        else:
            report.errors.append(
                CycleError(
                    f"order {order.DocumentNumber}",
                    f"not sent, retried next cycle: {outcome.message}",
                    key=a.key,
                )
            )

    def _read_receipt_numbers(self, report: CycleReport, *, all_owed: bool = False) -> None:
        """The DocNums of receipts SAP created with a 204, a full read at a time (``all_owed``: every
        one owed). A read SAP refuses is a warning: the DocNums are read again next cycle."""
        numbers = self._receipt_numbers
        while not self._docnum_read_refused and (numbers.due() or (all_owed and numbers.owed)):
            try:
                read = numbers.read_some()
            except SLError as exc:
                self._docnum_read_refused = True  # not asked again, and not warned about again, this cycle
                report.warnings.append(
                    CycleWarning(
                        None,
                        "DOCNUM_UNREAD",
                        f"the DocNums of {numbers.owed} receipt(s) could not be read ({exc}); "
                        "they are read again next cycle",
                    )
                )
                return
            report.number_receipts(read)

    def _close_if_complete(
        self, order: ProductionOrder, plan: ReceiptPlan, client: ServiceLayerClient | None = None
    ) -> tuple[bool, CycleWarning | None]:
        """``after_full_receipt: close_order``: close a fully received order.

        Returns (closed, the warning when the close failed); ``client`` is the posting session's.
        """
        if self.mapping.after_full_receipt != "close_order":
            return False, None
        if plan.completed_target + plan.rejected_target + 1e-6 < order.PlannedQuantity:
            return False, None
        try:
            (client or self.client).patch(
                "ProductionOrders", order.AbsoluteEntry, {"ProductionOrderStatus": "boposClosed"}
            )
            log.info("order_closed", extra={"order": order.DocumentNumber})
            return True, None
        except Exception as exc:  # the receipt is posted; a failed close is only worth a warning
            return False, CycleWarning(
                order.DocumentNumber,
                "CLOSE_FAILED",
                f"Order {order.DocumentNumber} is fully received but "
                f"could not be closed: {exc}. It is tried again next "
                "cycle.",
            )

    def explain(self, *, document_number: int | None = None, absolute_entry: int | None = None) -> Assessment:
        """The verdict and exact payload for one order (any status). Posts nothing."""
        if absolute_entry is not None:
            raw = self.client.get_entity(
                "ProductionOrders", absolute_entry, select=order_select(self.mapping)
            )
        else:
            rows = list(
                self.client.iter_collection(
                    "ProductionOrders",
                    where=odata.eq("DocumentNumber", document_number),
                    select=order_select(self.mapping),
                )
            )
            if not rows:
                raise SLNotFoundError(
                    f"no production order with DocumentNumber {document_number}", status=404, code="-2028"
                )
            raw = rows[0]
        order = parse_order(raw)
        self._read_facts(None)
        items: dict[str, ItemMaster] = {}
        unreadable: dict[str, str] = {}
        fetch_items(self.client, item_codes([order]), items, unreadable)
        reasons = unreadable_item_reasons(order, unreadable)
        if reasons:
            plan = plan_receipt(order, self.mapping.quantities)
            assessment = Assessment(order, plan, Verdict(reasons=tuple(reasons)))
        else:
            assessment = self._assess(order, items)
        # What the cycle decides from earlier postings besides the assessment, in the cycle's order (an
        # unfinished posting first, a key received before only for a receipt it would post), so that
        # explain never answers POST for an order the cycle holds.
        earlier = self._unfinished_posting(order)
        if earlier is None and assessment.action is OrderAction.POST and assessment.key is not None:
            if self._cancelled_in_sap is None:
                self._read_cancelled_receipts(None)
            earlier = self._received_before(assessment)
        return replace(
            assessment,
            verdict=Verdict(reasons=(*((earlier,) if earlier else ()), *assessment.verdict.reasons)),
            not_a_candidate=self._why_not_a_candidate(order, items),
            postings=tuple(self.poster.postings_for_order(order.AbsoluteEntry)),
        )

    def _why_not_a_candidate(self, order: ProductionOrder, items: dict[str, ItemMaster]) -> str | None:
        """Asks SAP whether the poll's own ``$filter`` selects this order (one small request)."""
        poll_filter = build_poll_filter(self.mapping)
        selected = list(
            self.client.iter_collection(
                "ProductionOrders",
                where=odata.and_(odata.eq("AbsoluteEntry", order.AbsoluteEntry), poll_filter),
                select=["AbsoluteEntry"],
            )
        )
        if not selected:
            return (
                "the poll's $filter does not select it (released, confirmed or flagged, and the "
                f"mapping's candidates): {poll_filter}"
            )
        if not self._is_candidate(order, items):
            group = items[order.ItemNo].ItemsGroupCode if order.ItemNo in items else None
            return (
                f"its product's item group {group} is not in candidates.item_groups "
                f"{list(self.mapping.candidates.item_groups)}"
            )
        return None
