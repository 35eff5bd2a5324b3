"""Posting a receipt exactly once: intent, POST, settle; and settling what a crash or a lost answer left.

The rules are those of docs/exactly-once.md. The key is deterministic and written on the
receipt (``mapping.idempotency.key_field``), so SAP itself answers "was this posted?":

* before the POST the intent is committed to the ledger (state ``sending``);
* a 201 settles it ``posted``; an SAP business error ``rejected``; a failure before anything was
  sent ``void``; anything else — the answer may be lost — ``uncertain``;
* an in-flight row (``sending`` after a crash, or ``uncertain``) is settled by looking the key up:
  one document → posted; none → wait until the quiet period is over (the SL may still be committing
  a slow receipt) and look again; still none → ``void`` and the order may be posted again; two or
  more → ``duplicate``: alert, never post. The quiet period ends ``read timeout + quiet period``
  after the POST was *sent* (``sent_at`` in the ledger), whenever and by whichever process the
  answer was found lost;
* a key posted again after that (``recheck``) is looked up once more at the next cycle: a first
  attempt SAP committed later still than the quiet period shows up there as a ``duplicate``.

``crash_point(name)`` marks the places the reliability tests kill the worker at (``CRASH_POINTS``):
``after_intent`` (intent committed, nothing sent), ``after_post`` (SAP answered 201, the ledger still
says sending), ``before_second_lookup`` (settling: the first look-up found nothing) and
``before_settle_update`` (settling: the deciding look-up answered, the ledger not updated yet).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeGuard

from connector import duplicate_guard
from connector.clock import REAL_CLOCK, Clock
from connector.errors import Action, SLConnectionError, SLError
from connector.ledger import Intent, Ledger, PostingRow
from connector.sl import odata
from connector.sl.client import ServiceLayerClient

log = logging.getLogger(__name__)

RECEIPTS = "InventoryGenEntries"

#: Every named crash point, in the order a posting meets them; the crash-point matrix covers each.
CRASH_POINTS = ("after_intent", "after_post", "before_second_lookup", "before_settle_update")

#: Installed by the crash-point tests only (a function that SIGKILLs the process at a named point).
CRASH_HOOK: Callable[[str], None] | None = None


#: What a key look-up reads of each receipt: enough to settle it and to tell a cancelled one.
RECEIPT_STATE_FIELDS = ("DocEntry", "DocNum", "Cancelled", "CancelStatus")


def is_cancelled(document: dict[str, Any]) -> bool:
    """A cancelled receipt, or the cancellation document SAP creates for it (B1 CANCELED 'Y' / 'C').

    ``CancelStatus`` (``csYes`` / ``csCancellation`` / ``csNo``, $metadata) tells the two apart;
    ``Cancelled`` (BoYesNoEnum) is read too. ❓ Whether the cancellation document copies the
    key UDF is not confirmed; if it does, it must not count as a second receipt for the key.
    """
    return document.get("Cancelled") == "tYES" or document.get("CancelStatus") in ("csYes", "csCancellation")


def is_doc_entry(value: object) -> TypeGuard[int]:
    """A DocEntry SAP can have given: a positive whole number (JSON true is not one)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def crash_point(name: str) -> None:
    """A named point in the posting path where a crash must never cause a duplicate or a loss."""
    if CRASH_HOOK is not None:
        CRASH_HOOK(name)


class KeyLocks:
    """One lock per posting key, shared by every poster of a worker: a key is posted or settled by one
    thread at a time, whatever the posting sessions do."""

    def __init__(self) -> None:
        self._guard = threading.Condition()
        self._held: set[str] = set()

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        """Wait until no other thread holds ``key``, then hold it for the block."""
        with self._guard:
            self._guard.wait_for(lambda: key not in self._held)
            self._held.add(key)
        try:
            yield
        finally:
            with self._guard:
                self._held.discard(key)
                self._guard.notify_all()


class PostingState(StrEnum):
    """A posting's state: the ledger's (``sending`` … ``duplicate``) and, for an outcome only,
    ``ledger_error`` (the ledger refused the intent: nothing was sent) and ``already_in_sap``.
    str-valued, so the ledger's text and every JSON document stay the same."""

    SENDING = "sending"
    POSTED = "posted"
    REJECTED = "rejected"
    UNCERTAIN = "uncertain"
    VOID = "void"
    DUPLICATE = "duplicate"
    LEDGER_ERROR = "ledger_error"
    #: An outcome only: SAP's duplicate guard refused the receipt because another receipt carries its
    #: key (the ledger then says ``posted``, pointing at that receipt).
    ALREADY_IN_SAP = "already_in_sap"


@dataclass(frozen=True)
class PostOutcome:
    """How one posting attempt ended."""

    state: PostingState
    receipt_entry: int | None = None
    receipt_number: int | None = None
    code: str | None = None
    message: str | None = None


@dataclass
class Poster:
    """Everything the exactly-once path needs; one per cycle (or per service run)."""

    client: ServiceLayerClient
    ledger: Ledger
    company: str
    key_field: str
    quiet_period_s: float
    #: Wall time for ``uncertain_since``, and the stop-aware sleep of the quiet period: SIGTERM never
    #: has to sit out a quiet period. Tests inject one (``pause``) to run in milliseconds.
    clock: Clock = REAL_CLOCK
    #: The client's read timeout: a POST's answer is lost no earlier than this after it was sent.
    read_timeout_s: float = 0.0
    #: Shared by every poster of one worker (the posting sessions): one thread per key at a time.
    key_locks: KeyLocks = field(default_factory=KeyLocks)

    # -- what the ledger remembers of postings: the worker asks the poster, never the ledger ------
    def posting(self, key: str) -> PostingRow | None:
        """The posting of ``key``, if the ledger has one."""
        return self.ledger.get(key)

    def unfinished_for_order(self, order_entry: int) -> PostingRow | None:
        """A posting of this order still in flight (sending, uncertain) or a duplicate to clear."""
        return self.ledger.unfinished_for_order(self.company, order_entry)

    def has_posted(self, order_entry: int) -> bool:
        """Whether the connector ever posted a receipt for this order."""
        return self.ledger.has_posted(self.company, order_entry)

    def postings_for_order(self, order_entry: int) -> list[PostingRow]:
        """Every posting the ledger has for this order (``explain`` shows them)."""
        return self.ledger.postings_for_order(self.company, order_entry)

    def lookup(self, key: str, field: str | None = None) -> list[dict[str, Any]]:
        """Receipts in SAP that carry ``key`` in ``field`` (default: the mapping's key field)."""
        field = field or self.key_field
        return list(
            self.client.iter_collection(
                RECEIPTS, where=odata.eq(field, key), select=[*RECEIPT_STATE_FIELDS, field]
            )
        )

    def cancelled_receipts(self, key_prefix: str) -> dict[str, dict[str, Any]]:
        """Receipts a person cancelled in SAP whose key starts with ``key_prefix``, by key.

        Keys SAP once had are never posted again, and the ledger is what remembers them; a lost or
        restored ledger forgets. The worker reads these once, before its first receipt, so such a
        ledger cannot make it post a cancelled confirmation a second time. Usually an empty answer.
        """
        rows = self.client.iter_collection(
            RECEIPTS,
            where=odata.and_(odata.startswith(self.key_field, key_prefix), odata.eq("Cancelled", "tYES")),
            select=[*RECEIPT_STATE_FIELDS, self.key_field],
        )
        return {
            row[self.key_field]: row
            for row in rows
            # ❓ A cancellation document that copied the key UDF is not the receipt the key was sent with.
            if isinstance(row.get(self.key_field), str) and row.get("CancelStatus") != "csCancellation"
        }

    def _lookup_posting(self, row: PostingRow) -> list[dict[str, Any]]:
        """The receipts of a posting the ledger has, looked up in the field its key was sent in."""
        return self.lookup(row.key, row.key_field())

    @staticmethod
    def _not_cancelled(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # A receipt a person cancelled in SAP still proves the key was posted (it is never re-sent),
        # but it no longer counts towards a duplicate: cancelling the extra one is the cure.
        return [d for d in found if not is_cancelled(d)]

    def post(self, intent: Intent) -> PostOutcome:
        """Intent → POST → settle. Never sends the same key twice without a lookup in between."""
        with self.key_locks.hold(intent.key):
            return self._post(intent)

    def _post(self, intent: Intent) -> PostOutcome:
        self.ledger.intend(intent, company=self.company)
        key, order_number = intent.key, intent.order_number
        crash_point("after_intent")
        try:
            created = self.client.create(RECEIPTS, intent.payload)
        except SLError as exc:
            # What the error's class says the caller does (connector/errors.py) decides the state.
            may_be_in_sap = isinstance(exc, SLConnectionError) and exc.request_sent
            if exc.action is Action.OUTCOME_UNKNOWN or may_be_in_sap:
                return self._uncertain(intent, str(exc))
            if exc.action is Action.HOLD_ORDER and duplicate_guard.is_refusal(exc.sap_message):
                return self._refused_as_duplicate(intent, exc)
            if exc.action is Action.HOLD_ORDER:  # SAP refused the receipt with its own error
                return self._rejected(intent, exc.code, exc.sap_message or str(exc))
            if isinstance(exc, SLConnectionError):  # nothing was sent: the order may be posted again
                self.ledger.mark_void(key, message=f"not sent: {exc}")
                return PostOutcome(PostingState.VOID, message=str(exc))
            # The session or the login was lost mid-way: the POST cannot be proven unsent.
            self.ledger.mark_uncertain(key, message=f"{type(exc).__name__}: {exc}")
            raise
        except BaseException as exc:
            # Anything else (auth lost mid-way, a bug, KeyboardInterrupt): we cannot prove the POST
            # did not reach SAP, so the only safe state is uncertain.
            self.ledger.mark_uncertain(key, message=f"{type(exc).__name__}: {exc}")
            raise
        crash_point("after_post")
        # After a 204 only the DocEntry is known (from Location); the worker reads the DocNums of such
        # receipts in batches (connector/receipt_numbers.py).
        entry, number = created.integer_key("DocEntry"), created.entity.get("DocNum")
        if not is_doc_entry(entry):
            # SAP said 201/204: it committed the receipt before answering, but without its DocEntry the
            # ledger cannot point at it. One look-up by key finds it now; whatever else happens (not
            # found, found twice, the look-up fails) is settled by key like any lost answer.
            found = self._found_at_once(key)
            if found is not None:
                entry, number = int(found["DocEntry"]), found.get("DocNum")
            else:
                return self._uncertain(
                    intent,
                    f"SAP created the receipt without naming a usable DocEntry ({entry!r}); "
                    "the key is looked up in SAP",
                )
        # Written with the next intent, not a commit of its own: a crash that loses this mark leaves
        # the row ``sending``, and settling looks the key up in SAP and finds this receipt
        # (docs/exactly-once.md).
        self.ledger.mark_posted(key, receipt_entry=entry, receipt_number=number, deferred=True)
        log.info(
            "posted",
            extra={"order": order_number, "key": key, "receipt_entry": entry, "receipt_number": number},
        )
        return PostOutcome(PostingState.POSTED, receipt_entry=entry, receipt_number=number)

    def _uncertain(self, intent: Intent, message: str) -> PostOutcome:
        """The POST may have reached SAP: its key is looked up before anything more is posted."""
        self.ledger.mark_uncertain(intent.key, message=message)
        log.warning(
            "posting_uncertain", extra={"order": intent.order_number, "key": intent.key, "error": message}
        )
        return PostOutcome(PostingState.UNCERTAIN, message=message)

    def _rejected(self, intent: Intent, code: str | None, message: str) -> PostOutcome:
        """SAP refused the receipt and created nothing: the order is held with SAP's word."""
        self.ledger.mark_rejected(intent.key, code=code, message=message)
        log.warning(
            "posting_rejected",
            extra={"order": intent.order_number, "key": intent.key, "code": code, "sap_message": message},
        )
        return PostOutcome(PostingState.REJECTED, code=code, message=message)

    def _refused_as_duplicate(self, intent: Intent, refusal: SLError) -> PostOutcome:
        """SAP's duplicate guard refused the receipt: another receipt already carries its key.

        Posted by another connector on this company, or by an earlier attempt whose answer was lost
        and whose commit came later than the quiet period. The ledger points at that receipt, so the
        key is never sent again (connector/duplicate_guard.py).
        """
        key = intent.key
        try:
            found = self.lookup(key)
        except SLError as exc:
            return self._uncertain(
                intent,
                f"SAP's duplicate guard refused the receipt ({refusal.sap_message}) and looking its key up "
                f"failed ({exc}); the key is looked up again before anything is posted for the order",
            )
        live = self._not_cancelled(found)
        if len(live) > 1:
            row = self.ledger.get(key)
            assert row is not None  # its intent was committed above
            return self._duplicate(row, found)
        if not found:
            # The guard saw the key on a receipt this look-up does not: it checks another UDF.
            return self._rejected(
                intent,
                refusal.code,
                f"{refusal.sap_message}: SAP's duplicate guard refused the receipt, but no receipt carries "
                f"key {key} in {self.key_field}; the guard in SBO_SP_TransactionNotification must check "
                "the UDF named by idempotency.key_field (b1-backflush mappings guard-sql)",
            )
        document = (live or found)[0]
        entry, number = int(document["DocEntry"]), document.get("DocNum")
        self.ledger.mark_posted(key, receipt_entry=entry, receipt_number=number)
        log.warning(
            "duplicate_refused_by_sap",
            extra={
                "order": intent.order_number,
                "key": key,
                "receipt_entry": entry,
                "receipt_number": number,
            },
        )
        return PostOutcome(
            PostingState.ALREADY_IN_SAP,
            receipt_entry=entry,
            receipt_number=number,
            code=refusal.code,
            message=refusal.sap_message,
        )

    def _found_at_once(self, key: str) -> dict[str, Any] | None:
        """The one receipt SAP holds under ``key`` right after it said it created it, else None."""
        try:
            found = self.lookup(key)
        except SLError as exc:
            log.warning("lookup_after_created_failed", extra={"key": key, "error": str(exc)})
            return None
        return found[0] if len(found) == 1 and is_doc_entry(found[0].get("DocEntry")) else None

    def settle(self, row: PostingRow) -> PostOutcome:
        """Settle one in-flight posting by looking its key up in SAP (twice, a quiet period apart)."""
        with self.key_locks.hold(row.key):
            return self._settle(row)

    def _settle(self, row: PostingRow) -> PostOutcome:
        if row.state == PostingState.SENDING:
            # A crash between intent and answer: the POST may or may not have been sent.
            self.ledger.mark_uncertain(row.key, message="worker stopped while the posting was in flight")
            row = self.ledger.get(row.key) or row
        found = self._lookup_posting(row)
        if not found:
            self.clock.sleep(self._rest_of_quiet_period(row))
            if self.clock.stopping():
                return PostOutcome(PostingState.UNCERTAIN, message="stopping; settled next start")
            crash_point("before_second_lookup")
            found = self._lookup_posting(row)
        crash_point("before_settle_update")  # SAP has answered the look-up; the ledger does not know yet
        live = self._not_cancelled(found)
        if found and len(live) <= 1:
            document = (live or found)[0]
            self.ledger.mark_posted(
                row.key, receipt_entry=int(document["DocEntry"]), receipt_number=document.get("DocNum")
            )
            log.info(
                "settled_posted",
                extra={"order": row.order_number, "key": row.key, "receipt_entry": document["DocEntry"]},
            )
            return PostOutcome(
                PostingState.POSTED, receipt_entry=document["DocEntry"], receipt_number=document.get("DocNum")
            )
        if not found:
            self.ledger.mark_void(
                row.key, message="not found in SAP by key after the quiet period", recheck=True
            )
            log.info("settled_not_posted", extra={"order": row.order_number, "key": row.key})
            return PostOutcome(PostingState.VOID)
        return self._duplicate(row, found)

    def _rest_of_quiet_period(self, row: PostingRow) -> float:
        """Seconds until ``read timeout + quiet period`` after the POST was sent have passed."""
        window = self.read_timeout_s + self.quiet_period_s
        now = self.clock.wall()
        if row.sent_at is not None:
            ends = row.sent_at + window
        else:  # a ledger from before send times were kept: count from when the answer was found lost
            ends = (row.uncertain_since if row.uncertain_since is not None else now) + self.quiet_period_s
        # Never longer than one window: a wall clock stepped back must not stall the cycle.
        return min(window, ends - now)

    def _duplicate(self, row: PostingRow, found: list[dict[str, Any]]) -> PostOutcome:
        entries = sorted(int(d["DocEntry"]) for d in found)
        # Users find a receipt in SAP by DocNum; DocEntry is the key. Name both, never one for the other.
        named = ", ".join(
            f"DocNum {d.get('DocNum')} (DocEntry {d['DocEntry']})"
            for d in sorted(found, key=lambda d: int(d["DocEntry"]))
        )
        message = f"{len(found)} receipts carry key {row.key}: {named}; a person must look"
        self.ledger.mark_duplicate(row.key, message=message)
        log.error(
            "duplicate_in_sap", extra={"order": row.order_number, "key": row.key, "receipt_entries": entries}
        )
        return PostOutcome(PostingState.DUPLICATE, message=message)

    def settle_all(self, on_each: Callable[[], None] | None = None) -> list[tuple[PostingRow, PostOutcome]]:
        """Settle every in-flight posting (start-up and the start of each cycle).

        ``on_each`` is called after each one: settling many lost answers, each possibly waiting out a
        quiet period, is progress the service's ``/healthz`` must see."""
        settled = []
        for row in self.ledger.in_flight(self.company):
            settled.append((row, self.settle(row)))
            if on_each is not None:
                on_each()
        return settled

    def recheck_reposted(self) -> list[tuple[PostingRow, PostOutcome]]:
        """Look up once more each key posted again after a look-up found it absent.

        Two look-ups a quiet period apart cannot rule out a commit slower still; if the first
        attempt did land after all, SAP now holds two receipts for the key: ``duplicate``.
        """
        found_twice = []
        for row in self.ledger.to_recheck(self.company):
            found = self._lookup_posting(row)
            if len(self._not_cancelled(found)) > 1:
                found_twice.append((row, self._duplicate(row, found)))
            else:
                self.ledger.mark_rechecked(row.key)
        return found_twice

    def recheck_duplicates(self) -> list[tuple[PostingRow, PostOutcome]]:
        """Duplicates a person has cleared in SAP (all but one cancelled) become ``posted`` again."""
        cleared = []
        for row in self.ledger.duplicates(self.company):
            live = self._not_cancelled(self._lookup_posting(row))
            if len(live) == 1:
                entry, number = int(live[0]["DocEntry"]), live[0].get("DocNum")
                self.ledger.mark_posted(row.key, receipt_entry=entry, receipt_number=number)
                log.info(
                    "duplicate_cleared",
                    extra={"order": row.order_number, "key": row.key, "receipt_entry": entry},
                )
                cleared.append(
                    (row, PostOutcome(PostingState.POSTED, receipt_entry=entry, receipt_number=number))
                )
        return cleared
