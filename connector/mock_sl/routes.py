"""Entity-set routes: GET collection/by key/$count, POST, PATCH, DELETE, bound Cancel (§3, §4, §5).

Transport-free: a ``Request`` goes in, a ``Response`` comes out, so the HTTP layer stays thin.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from email.message import Message
from typing import Any
from urllib.parse import unquote

from connector.mock_sl import edmx, master_data, order_rules, paging, protocol, sap_rules, schema
from connector.mock_sl.odata_filter import (
    Literal,
    Node,
    Prop,
    QueryError,
    comparable,
    equality_names,
    evaluate,
    key_plan,
    parse_filter,
    parse_orderby,
    parse_select,
)
from connector.mock_sl.protocol import SapError
from connector.mock_sl.store import ENTITY_SETS, VALUE_INDEXED_SETS, Store

_PATH = re.compile(r"^(?P<set>[A-Za-z]\w*)(?:\((?P<key>.*)\))?(?:/(?P<rest>[^/]+))?$")
#: Sets whose documents SAP never deletes (DELETE → -5006, SAP-GUIDE §3.4).
DOCUMENT_SETS = ("InventoryGenEntries", "InventoryGenExits")
SERVICE_NOT_FOUND_CODE = -1000  # ASSUMPTION: §2.2 gives the text "Service Not Found", not its code
VALUE_TOO_LONG = (
    "CServiceData::SetPropertyValueString failed; Value too long in property '{name}' of '{type_name}'"
)
#: ◐ What SAP answers for a PATCH of a field it does not let change: integrators report
#: ``{"code": -1029, "message": {"lang": "en-us", "value": "Field cannot be updated (ODBC -1029)"}}`` and,
#: for ``PATCH InventoryGenEntries {"DocDate": ...}``, "[OIGN.DocDate], Field cannot be updated (ODBC -1029)".
FIELD_NOT_UPDATABLE = "Field cannot be updated (ODBC -1029)"
#: Header tables of the document sets, for the ``[TABLE.Field]`` hint of a refused PATCH.
DOCUMENT_TABLES = {"InventoryGenEntries": "OIGN", "InventoryGenExits": "OIGE"}
#: Document properties named as their OIGN/OIGE column, so SAP's hint can name them.
DOCUMENT_COLUMNS = frozenset({"DocEntry", "DocNum", "Series", "DocDate", "DocDueDate", "TaxDate"})
#: Sets whose entities carry no ETag (no ``odata.etag`` annotation, no ``ETag`` header): a real, complete
#: v1 ``BatchNumberDetails`` collection has none on its rows; serial records are the same kind of master data.
NO_ETAG_SETS = frozenset({"BatchNumberDetails", "SerialNumberDetails"})
#: Besides the key: properties SAP maintains itself, which a PATCH cannot change (-1029). Other
#: properties the mock does not model a change of stay -5006 (order_rules.PATCHABLE).
READ_ONLY: dict[str, frozenset[str]] = {
    "ProductionOrders": frozenset(
        {
            "DocumentNumber",
            "Series",
            "CompletedQuantity",
            "RejectedQuantity",
            "CreationDate",
            "ReleaseDate",
            "ClosingDate",
            "UserSignature",
            "TransactionNumber",
        }
    ),
    "BatchNumberDetails": frozenset({"ItemCode", "Batch", "SystemNumber"}),
    "SerialNumberDetails": frozenset({"ItemCode", "SerialNumber", "SystemNumber"}),
}


@dataclass
class Request:
    """One call after the root: ``path`` percent-decoded, ``raw_query`` exactly as sent."""

    method: str
    version: str
    path: str
    raw_query: str
    query: dict[str, str]
    #: The HTTP headers (the server's ``email.message.Message``: ``get`` ignores case).
    headers: Message[str, str] | Mapping[str, str]
    body: Any = None


@dataclass
class Response:
    """Status, headers, body bytes."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def parse_key(text: str, names: list[str]) -> tuple[Any, ...]:
    """``101`` / ``'A''B'`` / ``TableName='OIGN',FieldID=0`` → key tuple in ``names`` order."""
    parts = re.findall(r"\s*(?:(\w+)\s*=\s*)?('(?:[^']|'')*'|[^,]+)\s*(?:,|$)", text)
    values: dict[str, Any] = {}
    for index, (name, raw) in enumerate(parts):
        raw = raw.strip()
        value: Any = raw[1:-1].replace("''", "'") if raw.startswith("'") else raw
        if not raw.startswith("'"):
            try:
                value = int(raw)
            except ValueError:
                raise SapError(400, 201, "Query string error - Invalid key") from None  # ASSUMPTION
        values[name or (names[index] if index < len(names) else "")] = value
    return tuple(values.get(name) for name in names)


def key_text(key: tuple[Any, ...]) -> str:
    """The key as SAP quotes it in ``Entity with value('<key>') does not exist``."""
    return ",".join(str(part) for part in key)


def key_literal(key: tuple[Any, ...]) -> str:
    """The key as it is written in a URL: ``3585``, ``'A''B'`` (a string quoted, quotes doubled)."""
    return ",".join(
        f"'{part.replace(chr(39), chr(39) * 2)}'" if isinstance(part, str) else str(part) for part in key
    )


def _changed_only(row: Mapping[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The PATCH's properties whose value differs from the stored one.

    ASSUMPTION: a client that read an entity and sends it back names the key and the fields SAP
    maintains with their own values; SAP ignores those instead of refusing them (only a change is -1029).
    Collections always count as changed.
    """
    return {
        name: value
        for name, value in changes.items()
        if isinstance(value, list) or name not in row or row[name] != value
    }


def _not_updatable(entity_set: str, name: str) -> str:
    """-1029's text; documents name the column as ``[OIGN.DocDate], `` (◐ integrators' capture)."""
    table = DOCUMENT_TABLES.get(entity_set)
    if table is not None and name in DOCUMENT_COLUMNS:
        return f"[{table}.{name}], {FIELD_NOT_UPDATABLE}"
    return FIELD_NOT_UPDATABLE


def _key_floor(tree: Any, name: str) -> int | None:
    """N when the filter requires ``name gt N`` (an integer) in its top-level ``and`` chain."""
    if isinstance(tree, Node) and tree.op == "and":
        for arg in tree.args:
            found = _key_floor(arg, name)
            if found is not None:
                return found
        return None
    if isinstance(tree, Node) and tree.op == "gt" and len(tree.args) == 2:
        prop, literal = tree.args
        is_int = isinstance(literal, Literal) and type(literal.value) is int
        if isinstance(prop, Prop) and prop.name == name and isinstance(literal, Literal) and is_int:
            return int(literal.value)
    return None


def _above(value: Any, floor: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > floor


class Router:
    """Routes of one mock company; every call runs under the store lock for atomicity."""

    def __init__(
        self,
        store: Store,
        switches: sap_rules.MockSwitches,
        root: Callable[[str], str],
        today: Callable[[], date] = date.today,
    ) -> None:
        self.store = store
        self.switches = switches
        self.root = root
        self.today = today
        self._metadata_cache: dict[str, bytes] = {}
        self._metadata_lock = threading.Lock()

    def handle(self, request: Request) -> Response:
        """Dispatch; SAP errors become the version's error body."""
        try:
            return self._dispatch(request)
        except QueryError as exc:
            return self.error(request.version, 400, exc.code, exc.message)
        except SapError as exc:
            return self.error(request.version, exc.status, exc.code, exc.message)

    def error(self, version: str, status: int, code: int, message: str) -> Response:
        """A JSON error in the version's shape (§2.1)."""
        headers = {"Content-Type": protocol.json_type(version, error=True)}
        if version == "v2":
            headers["OData-Version"] = "4.0"
        body = protocol.error_body(version, code, message, v2_details=self.switches.v2_error_details)
        return Response(status, protocol.dumps(version, body), headers)

    def json(self, version: str, status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
        """A JSON data answer (v2 adds ``OData-Version: 4.0``, §8)."""
        return self._rendered(version, status, body, headers).response()

    def _rendered(
        self, version: str, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> _Rendered:
        out = {"Content-Type": protocol.json_type(version), **(headers or {})}
        if version == "v2":
            out["OData-Version"] = "4.0"
        return _Rendered(version, status, body, out)

    def _document_series(self, request: Request) -> Response:
        """``POST SeriesService_GetDocumentSeries`` {"DocumentTypeParams": {"Document": "59"}}: that object
        type's numbering series (a reading service operation; SAP's SeriesService names)."""
        params = request.body.get("DocumentTypeParams") if isinstance(request.body, dict) else None
        document = params.get("Document") if isinstance(params, dict) else None
        if document in (None, ""):
            # ASSUMPTION: SAP's text for a missing DocumentTypeParams was not captured.
            raise SapError(400, -1000, "DocumentTypeParams.Document is required")
        with self.store.lock:
            rows = [
                {
                    "Document": s.document,
                    "Series": s.series,
                    "Name": s.name,
                    "InitialNumber": s.initial_number,
                    "NextNumber": s.next_number,
                    "LastNumber": s.last_number,
                    "Locked": "tYES" if s.locked else "tNO",
                }
                for s in self.store.numbering.series.values()
                if s.document == str(document)
            ]
        return self.json(request.version, 200, {"value": rows})

    # -- dispatch --------------------------------------------------------------------------------
    def _dispatch(self, request: Request) -> Response:
        if request.path == "$metadata":
            if request.method != "GET":
                raise SapError(400, -5006, protocol.NOT_SUPPORTED)
            return self._metadata(request.version)
        if request.path == "SeriesService_GetDocumentSeries" and request.method == "POST":
            return self._document_series(request)
        match = _PATH.match(request.path)
        entity_set = match.group("set") if match else ""
        if match is None or schema.entity_type_of(entity_set) is None:
            raise SapError(400, SERVICE_NOT_FOUND_CODE, "Service Not Found")
        key = None
        if match.group("key") is not None:
            key = parse_key(unquote(match.group("key")), self.store.key_names(entity_set))
        with self.store.lock:
            answer = self._under_lock(request, entity_set, key, match.group("rest"))
        # Encoded once the lock is released: the rendered body shares nothing with the store, and
        # other sessions' requests go on meanwhile.
        return answer.response() if isinstance(answer, _Rendered) else answer

    def _under_lock(
        self, request: Request, entity_set: str, key: tuple[Any, ...] | None, rest: str | None
    ) -> Response | _Rendered:
        """Everything that reads or changes the store (callers hold its lock); JSON is not encoded yet."""
        method = request.method
        if rest == "$count" and method == "GET" and key is None:
            return self._count(request, entity_set)
        if rest == "Cancel" and method == "POST" and entity_set == "ProductionOrders" and key is not None:
            order = self._existing(entity_set, key)
            self._check_if_match(request, entity_set, key)
            order_rules.change_status(order, order_rules.CANCELLED, self.today())
            self.store.touch(entity_set, key)
            return Response(204)
        if rest == "Cancel" and method == "POST" and entity_set == "InventoryGenEntries" and key is not None:
            self._existing(entity_set, key)
            self._check_if_match(request, entity_set, key)
            sap_rules.cancel_receipt(self.store, key, self.switches, self.today())
            return Response(204)
        if rest is not None:
            raise SapError(400, SERVICE_NOT_FOUND_CODE, "Service Not Found")
        if method == "GET":
            return self._get(request, entity_set, key) if key is not None else self._list(request, entity_set)
        if method == "POST" and key is None:
            return self._post(request, entity_set)
        if method == "PATCH" and key is not None:
            return self._patch(request, entity_set, key)
        if method == "DELETE" and key is not None:
            self._existing(entity_set, key)
            raise SapError(400, -5006, protocol.NOT_SUPPORTED)
        raise SapError(400, -5006, protocol.NOT_SUPPORTED)

    def _metadata(self, version: str) -> Response:
        """The CSDL of the served sets, with the company's UDFs (generated once per version)."""
        with self._metadata_lock:
            body = self._metadata_cache.get(version)
            if body is None:
                udfs: dict[str, dict[str, str]] = {}
                for entity_set in ENTITY_SETS:
                    type_name = schema.entity_type_of(entity_set) or ""
                    udfs.setdefault(type_name, {}).update(self.store.udfs(entity_set))
                    line_type = edmx.LINE_TYPES.get(type_name)
                    if line_type is not None:
                        udfs.setdefault(line_type, {}).update(self.store.udfs(entity_set, lines=True))
                body = edmx.document(version, ENTITY_SETS, udfs)
                self._metadata_cache[version] = body
        headers = {"Content-Type": edmx.CONTENT_TYPE}
        if version == "v2":
            headers["OData-Version"] = "4.0"
        return Response(200, body, headers)

    def _existing(self, entity_set: str, key: tuple[Any, ...]) -> dict[str, Any]:
        row = self.store.live(entity_set, key)
        if row is None:
            # FP2608: PATCH/DELETE on a missing key says which value; GET says "No matching records".
            raise SapError(404, -2028, f"Entity with value('{key_text(key)}') does not exist")
        return row

    # -- reading ---------------------------------------------------------------------------------
    def _known(self, request: Request, entity_set: str) -> Mapping[str, str]:
        return self.store.header_props(entity_set, request.version)

    def _check_expand(self, request: Request, entity_set: str) -> None:
        text = request.query.get("$expand")
        if not text:
            return
        type_name = schema.entity_type_of(entity_set) or ""
        for part in text.split(","):
            name = part.split("(")[0].strip()
            if name not in schema.navs(type_name):
                # §3.1: complex collections (DocumentLines, ProductionOrderLines) are inline, not navigable.
                raise QueryError(
                    201, f"Cannot expand invalid navigation property '{name}' for entity type '{type_name}'"
                )

    def _filter_of(self, request: Request, entity_set: str) -> _Filter:
        """The request's ``$filter``, parsed once, and the rows it pins, for every way of answering."""
        known = self._known(request, entity_set)
        fold = request.headers.get("B1S-CaseInsensitive", "").lower() == "true"
        text = request.query.get("$filter")
        if not text:
            return _Filter(None, known, fold)
        tree = parse_filter(text, known, enum_numbers=self.switches.enum_numbers_in_filter)
        return _Filter(tree, known, fold, self._pinned(entity_set, tree, known, fold))

    def _filtered(self, entity_set: str, where: _Filter) -> list[dict[str, Any]]:
        """Every row the filter selects, in store order."""
        if where.pinned is None:
            return [row for row in self.store.live_rows(entity_set) if where.matches(row)]
        rows, rest = where.pinned
        return [row for row in rows if where.narrowed(rest).matches(row)]

    def _pinned(
        self, entity_set: str, tree: Any, known: Mapping[str, str], fold: bool
    ) -> tuple[list[dict[str, Any]], Any] | None:
        """(rows, rest) for a filter that pins the key (``Key eq a or Key eq b``, maybe ``and`` more), or
        on a document set any property compared with ``eq``.

        ``rows`` are taken by key in store order, and the filter's matches are exactly those of them
        for which ``rest`` is true (None: all): what evaluating it on every row gives, at the cost of
        the keys named rather than of the company's size (the connector re-reads 50 orders per request
        before posting). None when the filter does not pin the key: every row must be visited.
        """
        names = self.store.key_names(entity_set)
        if len(names) != 1 or not self.store.keyed(entity_set) or not comparable(tree, known):
            return None
        plan = key_plan(tree, names[0], known, fold=fold)
        if plan is not None:
            values, rest = plan
            return self.store.by_keys(entity_set, [(value,) for value in values]), rest
        # Documents are also found by any header value (the settle look-up ``U_B1BF_Key eq '...'``).
        for name in equality_names(tree) if entity_set in VALUE_INDEXED_SETS else ():
            plan = key_plan(tree, name, known, fold=fold)
            rows = None if plan is None else self.store.where_equal(entity_set, name, plan[0])
            if plan is not None and rows is not None:
                return rows, plan[1]
        return None

    def _first_matches(
        self, request: Request, entity_set: str, order: list[tuple[str, bool]], where: _Filter
    ) -> list[dict[str, Any]] | None:
        """Keyset paging (``... and (Key gt N)``, ``$orderby Key``, ``$top``) without filtering every row.

        The same rows ``page_of`` would take from the fully filtered, sorted list: rows at or below N
        are dropped by one integer comparison, and the filter runs only until ``$skip + $top`` rows
        matched. None when the request is not of that shape (or asks for a count): filter everything.
        """
        top = request.query.get("$top")
        if where.tree is None or not top or not top.isdigit() or len(order) != 1 or order[0][1]:
            return None
        if _counted(request):
            return None
        floor = _key_floor(where.tree, order[0][0])
        if floor is None:
            return None
        name = order[0][0]
        candidates: Iterable[dict[str, Any]]
        if where.pinned is not None:
            rows, rest = where.pinned
            above = (row for row in rows if _above(row.get(name), floor))
            candidates = sorted(above, key=lambda row: row[name])
            where = where.narrowed(rest)
        elif self.store.key_names(entity_set) == [name] and self.store.keyed(entity_set):
            candidates = self.store.above(entity_set, floor)  # in key order, one page read
        else:
            above = (row for row in self.store.live_rows(entity_set) if _above(row.get(name), floor))
            candidates = sorted(above, key=lambda row: row[name])
        skip = request.query.get("$skip", "0")
        return _first(candidates, where, int(top) + (int(skip) if skip.isdigit() else 0))

    def _first_in_order(
        self, request: Request, entity_set: str, order: list[tuple[str, bool]], where: _Filter
    ) -> list[dict[str, Any]] | None:
        """``$skip`` paging (no ``$orderby``, or the integer key ascending) without filtering every row.

        The rows ``page_of`` takes from the fully filtered, sorted list, and those before them: rows are
        visited in the answer's order and the filter runs only until ``$skip`` + the page matched. None
        when every row must be read: a count, another order, a filter that pins keys (already cheap) or
        one whose literals may fail on some row (the error must not depend on where reading stopped).
        """
        if _counted(request) or where.pinned is not None:
            return None
        if where.tree is not None and not comparable(where.tree, where.known):
            return None
        candidates: Iterable[dict[str, Any]] | None
        if not order:
            candidates = self.store.live_rows(entity_set)
        elif order == [(name, False) for name in self.store.key_names(entity_set)]:
            candidates = self.store.in_key_order(entity_set)
        else:
            candidates = None
        wanted = paging.rows_needed(request)
        if candidates is None or wanted is None:
            return None
        return _first(candidates, where, wanted)

    def _count(self, request: Request, entity_set: str) -> Response:
        count = len(self._filtered(entity_set, self._filter_of(request, entity_set)))
        headers = {"Content-Type": protocol.TEXT_PLAIN}
        if request.version == "v2":
            headers["OData-Version"] = "4.0"  # ◐ as on every v2 GET captured (§8)
        return Response(200, str(count).encode(), headers)

    def render_row(
        self, version: str, entity_set: str, row: dict[str, Any], select: list[str] | None
    ) -> dict[str, Any]:
        """A row in ``version``: every property (+ etag annotation) or only the selected ones (no etag)."""
        known = self.store.header_props(entity_set, version)
        if select is not None:
            return {name: schema.render(row.get(name), known[name], version) for name in select}
        key = tuple(row.get(name) for name in self.store.key_names(entity_set))
        out: dict[str, Any] = {}
        if entity_set not in NO_ETAG_SETS:
            out[protocol.etag_key(version)] = self.store.etag(entity_set, key)
        for name, edm in known.items():
            out[name] = schema.render(row.get(name), edm, version)
        return out

    def _list(self, request: Request, entity_set: str) -> _Rendered:
        known = self._known(request, entity_set)
        type_name = schema.entity_type_of(entity_set) or ""
        select = parse_select(request.query.get("$select"), known, type_name)
        order = parse_orderby(request.query.get("$orderby"), known)
        self._check_expand(request, entity_set)
        where = self._filter_of(request, entity_set)
        rows = self._first_matches(request, entity_set, order, where)
        if rows is None:
            rows = self._first_in_order(request, entity_set, order, where)
        if rows is None:
            rows = paging.sort(self._filtered(entity_set, where), order)
        page = paging.page_of(request, rows)
        version = request.version
        body: dict[str, Any] = {
            protocol.metadata_key(version): protocol.collection_context(self.root(version), entity_set)
        }
        if page.count is not None:
            body["odata.count" if version == "v1" else "@odata.count"] = page.count
        body["value"] = [self.render_row(version, entity_set, row, select) for row in page.rows]
        if page.next_link is not None:
            body[protocol.next_link_key(version)] = f"{entity_set}?{page.next_link}"
        return self._rendered(version, 200, body, page.headers)

    def _get(self, request: Request, entity_set: str, key: tuple[Any, ...]) -> _Rendered:
        known = self._known(request, entity_set)
        select = parse_select(request.query.get("$select"), known, schema.entity_type_of(entity_set) or "")
        self._check_expand(request, entity_set)
        row = self.store.live(entity_set, key)
        if row is None:
            raise SapError(404, -2028, protocol.NOT_FOUND)
        return self._entity(request.version, entity_set, row, select, 200)

    def _entity(
        self,
        version: str,
        entity_set: str,
        row: dict[str, Any],
        select: list[str] | None,
        status: int,
        extra: dict[str, str] | None = None,
    ) -> _Rendered:
        body = {
            protocol.metadata_key(version): protocol.entity_context(self.root(version), version, entity_set)
        }
        body.update(self.render_row(version, entity_set, row, select))
        key = tuple(row.get(name) for name in self.store.key_names(entity_set))
        headers = dict(extra or {})
        if select is None and entity_set not in NO_ETAG_SETS:
            headers["ETag"] = self.store.etag(entity_set, key)
        return self._rendered(version, status, body, headers)

    # -- writing ---------------------------------------------------------------------------------
    def _post(self, request: Request, entity_set: str) -> Response | _Rendered:
        body = self._with_udf_defaults(entity_set, self._checked_body(request, entity_set))
        today = self.today()
        if entity_set == "InventoryGenEntries":
            row = sap_rules.post_receipt(self.store, body, self.switches, today)
        elif entity_set == "InventoryGenExits":
            row = sap_rules.post_issue(self.store, body, self.switches, today)
        elif entity_set == "ProductionOrders":
            row = order_rules.create_order(self.store, body, today)
        elif entity_set == "Items":
            row = master_data.create_item(self.store, body, today)
        else:
            raise SapError(400, -5006, protocol.NOT_SUPPORTED)
        key = tuple(row.get(name) for name in self.store.key_names(entity_set))
        location = f"{self.root(request.version)}/{entity_set}({key_literal(key)})"
        if "return-no-content" in request.headers.get("Prefer", ""):
            return Response(204, b"", {"Location": location, "Preference-Applied": "return-no-content"})
        stored = self.store.live(entity_set, key) or row
        return self._entity(request.version, entity_set, stored, None, 201, {"Location": location})

    def _check_if_match(self, request: Request, entity_set: str, key: tuple[Any, ...]) -> None:
        """A stale ``If-Match`` on a PATCH or an action: 412 -2039 before anything changes (§2.3)."""
        if_match = request.headers.get("If-Match")
        if entity_set in NO_ETAG_SETS:
            return  # ASSUMPTION: an entity SAP gives no ETag is not checked against one
        if if_match and if_match != "*" and if_match != self.store.etag(entity_set, key):
            raise SapError(412, -2039, protocol.ETAG_MISMATCH)

    def _patch(self, request: Request, entity_set: str, key: tuple[Any, ...]) -> Response:
        row = self._existing(entity_set, key)
        self._check_if_match(request, entity_set, key)
        changes = _changed_only(row, self._checked_body(request, entity_set))
        read_only = {*self.store.key_names(entity_set), *READ_ONLY.get(entity_set, ())}
        for name in changes:
            if name in read_only or (
                entity_set in DOCUMENT_SETS and name not in self._document_patchable(entity_set)
            ):
                raise SapError(400, -1029, _not_updatable(entity_set, name))
        if entity_set == "ProductionOrders":
            order_rules.patch_order(self.store, key[0], changes, self.today())
        else:
            self.store.patch(entity_set, key, changes)
        return Response(204)

    def _document_patchable(self, entity_set: str) -> set[str]:
        """What a posted receipt or issue still lets change: its texts and UDFs (ASSUMPTION: the texts;
        ◐ a DocDate change is refused with -1029, as integrators report)."""
        return {"Comments", "Reference1", "Reference2", "JournalMemo", *self.store.udfs(entity_set)}

    def _checked_body(self, request: Request, entity_set: str) -> dict[str, Any]:
        if not isinstance(request.body, dict):
            raise SapError(400, -1000, protocol.INVALID_JSON)
        type_name = schema.entity_type_of(entity_set) or ""
        known = self.store.header_props(entity_set, request.version)
        fields = _Fields(
            udfs=self.store.udfs(entity_set, lines=True),
            header_sizes=self.store.udf_sizes(entity_set),
            line_sizes=self.store.udf_sizes(entity_set, lines=True),
            header_values=self.store.udf_valid_values(entity_set),
            line_values=self.store.udf_valid_values(entity_set, lines=True),
            v1_batch_name=request.version == "v1" or self.switches.v2_accepts_batch_number,
        )
        return _checked(request.body, type_name, known, request.version, fields, top=True)

    def _with_udf_defaults(self, entity_set: str, body: dict[str, Any]) -> dict[str, Any]:
        """✅ An omitted mandatory UDF gets its default on POST (§7), on the header and on each line."""
        header = self.store.udf_defaults(entity_set)
        lines = self.store.udf_defaults(entity_set, lines=True)
        out = {**{name: value for name, value in header.items() if name not in body}, **body}
        if lines:
            for name, edm in self.store.header_props(entity_set, "v1").items():
                if schema.complex_of(edm) in edmx.LINE_TYPES.values() and isinstance(out.get(name), list):
                    out[name] = [{**lines, **line} for line in out[name]]
        return out


@dataclass(frozen=True)
class _Filter:
    """A request's ``$filter`` parsed once: the tree (None without a filter), the properties it may
    name, whether text compares case-insensitively (``B1S-CaseInsensitive``), and the rows it pins by
    key with what must still hold for them (``Router._pinned``; None: every row must be visited)."""

    tree: Any
    known: Mapping[str, str]
    fold: bool
    pinned: tuple[list[dict[str, Any]], Any] | None = None

    def matches(self, row: Mapping[str, Any]) -> bool:
        return self.tree is None or bool(evaluate(self.tree, row, self.known, fold=self.fold))

    def narrowed(self, rest: Any) -> _Filter:
        """The filter left to check on the rows it pinned (``rest`` None: nothing)."""
        return _Filter(rest, self.known, self.fold)


def _counted(request: Request) -> bool:
    """The answer carries a count, so every matching row must be found."""
    return "$count" in request.query or "$inlinecount" in request.query


def _first(candidates: Iterable[dict[str, Any]], where: _Filter, wanted: int) -> list[dict[str, Any]]:
    """The first ``wanted`` candidates the filter selects, in the candidates' order."""
    found: list[dict[str, Any]] = []
    for row in candidates:
        if len(found) >= wanted:
            break
        if where.matches(row):
            found.append(row)
    return found


@dataclass(frozen=True)
class _Rendered:
    """A JSON answer rendered under the store lock, encoded after it (``body`` holds no stored object)."""

    version: str
    status: int
    body: Any
    headers: dict[str, str]

    def response(self) -> Response:
        return Response(self.status, protocol.dumps(self.version, self.body), self.headers)


@dataclass(frozen=True)
class _Fields:
    """What a body check needs beyond the metadata: line UDF types and the UDFs' sizes."""

    udfs: Mapping[str, str]
    header_sizes: Mapping[str, int]
    line_sizes: Mapping[str, int]
    header_values: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    line_values: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    #: v1's ``BatchNumber`` is a property of a batch (v1, or MockSwitches.v2_accepts_batch_number).
    v1_batch_name: bool = True


def _checked(
    body: Mapping[str, Any],
    type_name: str,
    known: Mapping[str, str],
    version: str,
    fields: _Fields,
    *,
    top: bool = False,
) -> dict[str, Any]:
    """Refuse unknown properties with -1000 (§2.3) and too long texts; convert values to the canonical form.

    ``top``: the entity itself (header UDF sizes apply); otherwise one element of a collection, where
    only the first level (``DocumentLines``) carries line UDFs.
    """
    limits = {**schema.MAX_LENGTHS.get(type_name, {}), **(fields.header_sizes if top else fields.line_sizes)}
    clean: dict[str, Any] = {}
    for name, value in body.items():
        if name.startswith(("odata.", "@odata.")):
            continue  # annotations a client echoes back are ignored
        if name not in known:
            raise SapError(400, -1000, f"Property '{name}' of '{type_name}' is invalid")
        edm = known[name]
        inner = schema.complex_of(edm)
        if inner is not None:
            if not isinstance(value, list):
                raise SapError(400, -1000, f"Property '{name}' of '{type_name}' is invalid")
            inner_known = {**schema.props(version, inner), **(fields.udfs if top else {})}
            if inner == "BatchNumber" and fields.v1_batch_name:
                inner_known.setdefault("BatchNumber", "Edm.String")
            inner_fields = fields if top else _Fields({}, {}, {}, v1_batch_name=fields.v1_batch_name)
            clean[name] = [
                _checked(
                    element if isinstance(element, Mapping) else {}, inner, inner_known, version, inner_fields
                )
                for element in value
            ]
        else:
            limit = limits.get(name)
            if limit is not None and isinstance(value, str) and len(value) > limit:
                # ◐ SAP's text as integrators quote it ("CServiceData::SetPropertyValueString failed; Value
                # too long in property 'Title' of 'ContactEmployee'"); ASSUMPTION: code -1000, the code
                # of the other property errors raised while reading a body (§2.3). Never truncated.
                raise SapError(400, -1000, VALUE_TOO_LONG.format(name=name, type_name=type_name))
            target = schema.BATCH_ALIASES.get(name, name) if type_name == "BatchNumber" else name
            clean[target] = schema.canonical(value, edm)
            if name.startswith("U_"):
                _check_udf_value(
                    name, clean[target], edm, (fields.header_values if top else fields.line_values)
                )
    return clean


def _check_udf_value(
    name: str, value: Any, edm: str, valid_values: Mapping[str, tuple[tuple[str, str], ...]]
) -> None:
    """A UDF's value must be of its type and one of its valid values (§7)."""
    if value is None:
        return
    if edm in schema.INT_TYPES | schema.FLOAT_TYPES and (
        isinstance(value, bool) or not isinstance(value, int | float)
    ):
        # ◐ the shape integrators report for a numeric UDF ("the given value('') of property 'U_…' is not
        # a NUMBER"), code 205; ASSUMPTION: the same for db_Float.
        raise SapError(400, 205, f"the given value('{value}') of property '{name}' is not a NUMBER")
    allowed = valid_values.get(name)
    if allowed and str(value) not in {code for code, _ in allowed}:
        listed = ", ".join(f"'{code}' - '{text}'" for code, text in allowed)
        # ✅ FP2608's text for a value outside the UDF's valid values.
        raise SapError(
            400,
            -1004,
            f"'{value}' is not a valid value for property '{name}'. The valid values are: {listed}",
        )
