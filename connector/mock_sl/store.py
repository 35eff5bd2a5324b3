"""The mock company's data: entity sets keyed like SAP's, loaded from fixture JSON, thread-safe.

Rows are stored canonical (see ``schema``): only the properties that were set, enum names, ISO
dates. ``rows``/``get`` hand out complete copies (every header property and UDF, null when unset)
so tests can assert on SAP-side state without caring about rendering.

Per-request work does not grow with the company: rows are found by key (``by_keys``, ``above``),
documents also by any header value (``where_equal``), the numbers already used (``next_number``,
``take_number``) are kept sorted as rows are stored, and the property lists (metadata + the UDFs of
``UserFieldsMD``) are computed once until a UDF changes. Those indexes follow ``_put``, ``patch`` and
``touch``: code that changes a stored row in place calls ``touch`` afterwards (as it must anyway, for
the ETag), and never changes a key or a document's header except through ``patch``.
"""

from __future__ import annotations

import bisect
import copy
import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from connector.mock_sl import schema
from connector.mock_sl.numbering import Numbering

#: Entity sets a fixture directory may hold (``<EntitySet>.json``: a list or ``{"value": [...]}``).
ENTITY_SETS: tuple[str, ...] = (
    "Warehouses",
    "Items",
    "ProductionOrders",
    "UserFieldsMD",
    "InventoryGenEntries",
    "InventoryGenExits",
    "BatchNumberDetails",
    "SerialNumberDetails",
)

Key = tuple[Any, ...]

#: Sets whose rows change only through the store (``_put``, ``patch``, ``touch``): documents, never edited
#: in place by the business rules. Equality look-ups on their header properties (the connector's
#: settle look-up ``U_B1BF_Key eq '...'``) use an index kept as they change.
VALUE_INDEXED_SETS = frozenset(
    {"InventoryGenEntries", "InventoryGenExits", "BatchNumberDetails", "SerialNumberDetails"}
)


def load_data(data: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """A fixture directory (``company.json`` + ``<EntitySet>.json``) or an equivalent dict."""
    if isinstance(data, Mapping):
        return copy.deepcopy(dict(data))
    folder = Path(data)
    loaded: dict[str, Any] = {}
    for path in sorted(folder.glob("*.json")):
        body = json.loads(path.read_text(encoding="utf-8"))
        loaded[path.stem] = body["value"] if isinstance(body, dict) and "value" in body else body
    if "company" not in loaded:
        raise FileNotFoundError(f"{folder}: company.json is missing (CompanyDB, users)")
    return loaded


class Store:
    """Entity sets of one company database, guarded by one re-entrant lock."""

    def __init__(self, data: str | Path | Mapping[str, Any]) -> None:
        raw = load_data(data)
        company = raw.get("company", {})
        self.company_db: str = company.get("CompanyDB", "SBODEMOUS")
        self.users: dict[str, str] = dict(company.get("users", {"manager": "1234"}))
        self.version: str = str(company.get("Version", "1000280"))
        self.numbering = Numbering.from_company(company)
        self.lock = threading.RLock()
        self._sets: dict[str, dict[Key, dict[str, Any]]] = {name: {} for name in ENTITY_SETS}
        self._versions: dict[tuple[str, Key], int] = {}
        #: Insertion position of every key (the order ``live_rows`` hands rows out in).
        self._positions: dict[str, dict[Key, int]] = {name: {} for name in ENTITY_SETS}
        #: Integer single-column keys of each set, sorted (``above``: keyset paging without a scan).
        self._sorted_keys: dict[str, list[int]] = {name: [] for name in ENTITY_SETS}
        #: (set, field) → the integers that field holds on the set's rows, sorted, duplicates kept;
        #: built on the first ``next_number``/``take_number`` for that field, then kept up to date by
        #: ``_put`` and ``patch`` (the only ways a stored row gets or changes a number).
        self._numbers: dict[tuple[str, str], list[int]] = {}
        #: Sets where a PATCH changed a key property (rows there can no longer be found by key).
        self._moved_keys: set[str] = set()
        #: (set, property) → rows by that property's value, for sets in VALUE_INDEXED_SETS (built on the
        #: first look-up, then kept up to date by ``_put`` and ``touch``).
        self._value_indexes: dict[tuple[str, str], _ValueIndex] = {}
        #: Property lists per (what, set, version/lines); dropped whenever UserFieldsMD changes (computed
        #: under ``lock``, so a list computed while a UDF changes is never kept).
        self._props_cache: dict[tuple[str, str, str], Mapping[str, Any]] = {}
        # UserFieldsMD first: it defines which U_ properties the other sets have.
        for row in raw.get("UserFieldsMD", []):
            self._put("UserFieldsMD", row)
        for name in ENTITY_SETS:
            if name != "UserFieldsMD":
                for row in raw.get(name, []):
                    self._put(name, row)

    # -- types -----------------------------------------------------------------------------------
    def udfs(self, entity_set: str, *, lines: bool = False) -> Mapping[str, str]:
        """``U_<Name>`` → EDM type of the UDFs defined on the set's header (or line) tables (read-only)."""
        return self._per_udf("udfs", entity_set, lines, lambda row: schema.udf_edm(str(row.get("Type", ""))))

    def udf_sizes(self, entity_set: str, *, lines: bool = False) -> Mapping[str, int]:
        """``U_<Name>`` → UserFieldsMD ``Size`` of the set's alphanumeric header (or line) UDFs."""

        def size(row: dict[str, Any]) -> int | None:
            sized = str(row.get("Type", "")) in schema.SIZED_UDF_TYPES
            return row["Size"] if sized and isinstance(row.get("Size"), int) and row["Size"] > 0 else None

        return self._per_udf("udf_sizes", entity_set, lines, size)

    def udf_valid_values(
        self, entity_set: str, *, lines: bool = False
    ) -> Mapping[str, tuple[tuple[str, str], ...]]:
        """``U_<Name>`` → its ``ValidValuesMD`` as (Value, Description), for the UDFs that have some."""

        def valid_values(row: dict[str, Any]) -> tuple[tuple[str, str], ...] | None:
            values = row.get("ValidValuesMD")
            if not isinstance(values, list) or not values:
                return None
            return tuple(
                (str(v.get("Value")), str(v.get("Description") or ""))
                for v in values
                if isinstance(v, Mapping)
            )

        return self._per_udf("udf_values", entity_set, lines, valid_values)

    def udf_defaults(self, entity_set: str, *, lines: bool = False) -> Mapping[str, Any]:
        """``U_<Name>`` → ``DefaultValue`` of the mandatory UDFs (a POST that omits them gets it)."""

        def default(row: dict[str, Any]) -> Any:
            mandatory = row.get("Mandatory") in ("tYES", "Y")
            return row["DefaultValue"] if mandatory and row.get("DefaultValue") not in (None, "") else None

        return self._per_udf("udf_defaults", entity_set, lines, default)

    def _per_udf(
        self, what: str, entity_set: str, lines: bool, value_of: Callable[[dict[str, Any]], Any]
    ) -> Mapping[str, Any]:
        """``U_<Name>`` → ``value_of(row)`` for the set's header (or line) UDFs where it is not None, the
        first row of a name winning; cached until UserFieldsMD changes."""
        return self._cached(
            (what, entity_set, "lines" if lines else "header"),
            lambda: _first_of_each(
                (f"U_{row['Name']}", value)
                for row in self._udf_rows(entity_set, lines)
                if (value := value_of(row)) is not None
            ),
        )

    def header_props(self, entity_set: str, version: str) -> Mapping[str, str]:
        """Every property of the set's entity type plus its header UDFs (read-only)."""
        return self._cached(
            ("header", entity_set, version),
            lambda: {
                **schema.props(version, schema.entity_type_of(entity_set) or ""),
                **self.udfs(entity_set),
            },
        )

    def _udf_rows(self, entity_set: str, lines: bool) -> list[dict[str, Any]]:
        """The UserFieldsMD rows of the set's header (or line) tables, in store order."""
        tables = schema.UDF_TABLES.get(entity_set, ((), ()))[1 if lines else 0]
        return [row for row in self._sets["UserFieldsMD"].values() if row.get("TableName") in tables]

    def _cached(
        self, cache_key: tuple[str, str, str], compute: Callable[[], dict[str, Any]]
    ) -> Mapping[str, Any]:
        """A property list computed once until UserFieldsMD changes (computed under ``lock``, so one
        computed while a UDF changes is never kept; ``$metadata`` asks without the lock)."""
        cached = self._props_cache.get(cache_key)
        if cached is None:
            with self.lock:
                cached = self._props_cache[cache_key] = MappingProxyType(compute())
        return cached

    def key_names(self, entity_set: str) -> list[str]:
        """Key properties of the set (``AbsoluteEntry``; ``TableName``+``FieldID``)."""
        return list(schema.key_of(schema.entity_type_of(entity_set) or ""))

    def make_key(self, entity_set: str, key: Any) -> Key:
        """A scalar, tuple or ``{name: value}`` key → the internal tuple."""
        names = self.key_names(entity_set)
        if isinstance(key, Mapping):
            return tuple(key.get(name) for name in names)
        if isinstance(key, tuple):
            return key
        return (key,)

    # -- reading ---------------------------------------------------------------------------------
    def rows(self, entity_set: str) -> list[dict[str, Any]]:
        """Complete copies of every row, in key order of insertion."""
        with self.lock:
            return [self._complete(entity_set, row) for row in self._sets[entity_set].values()]

    def get(self, entity_set: str, key: Any) -> dict[str, Any] | None:
        """A complete copy of one row, or None."""
        with self.lock:
            row = self._sets[entity_set].get(self.make_key(entity_set, key))
            return None if row is None else self._complete(entity_set, row)

    def live(self, entity_set: str, key: Any) -> dict[str, Any] | None:
        """The stored row itself (callers hold ``lock`` and mutate through ``touch``)."""
        return self._sets[entity_set].get(self.make_key(entity_set, key))

    def live_rows(self, entity_set: str) -> Iterator[dict[str, Any]]:
        """The stored rows themselves (callers hold ``lock``)."""
        return iter(list(self._sets[entity_set].values()))

    def keyed(self, entity_set: str) -> bool:
        """Every row of the set holds its key's values (``by_keys`` and ``above`` find all of them)."""
        return entity_set not in self._moved_keys

    def by_keys(self, entity_set: str, keys: Iterable[Key]) -> list[dict[str, Any]]:
        """The stored rows of ``keys`` that exist, once each, in ``live_rows`` order (callers hold ``lock``).

        A key is matched as a dict key, i.e. by ``==`` (``5.0`` finds ``5``), as a ``$filter`` ``eq`` does.
        """
        rows, positions = self._sets[entity_set], self._positions[entity_set]
        found = {positions[key]: rows[key] for key in set(keys) if key in rows}
        return [found[position] for position in sorted(found)]

    def where_equal(self, entity_set: str, name: str, values: Iterable[Any]) -> list[dict[str, Any]] | None:
        """The stored rows whose ``name`` equals one of ``values`` (``==``), in ``live_rows`` order.

        None for a set that keeps no value index (its rows are changed in place): visit every row.
        Callers hold ``lock``.
        """
        if entity_set not in VALUE_INDEXED_SETS:
            return None
        index = self._value_indexes.get((entity_set, name))
        if index is None:
            index = self._value_indexes[(entity_set, name)] = _ValueIndex()
            for key, row in self._sets[entity_set].items():
                index.put(key, row.get(name))
        return self.by_keys(entity_set, index.keys_for(values))

    def above(self, entity_set: str, floor: int) -> Iterator[dict[str, Any]]:
        """The stored rows whose single key is an integer greater than ``floor``, in key order, lazily.

        Callers hold ``lock`` while they iterate. Keyset paging (``Key gt N``, ``$top``) reads one page
        without visiting the rows before it or after it.
        """
        keys = self._sorted_keys[entity_set]
        rows = self._sets[entity_set]
        for index in range(bisect.bisect_right(keys, floor), len(keys)):
            yield rows[(keys[index],)]

    def in_key_order(self, entity_set: str) -> Iterator[dict[str, Any]] | None:
        """Every stored row in ascending key order, lazily, when every key is one integer (None otherwise).

        Callers hold ``lock`` while they iterate (``$skip`` paging by key reads one page's worth).
        """
        keys = self._sorted_keys[entity_set]
        rows = self._sets[entity_set]
        if not self.keyed(entity_set) or len(keys) != len(rows):
            return None
        return (rows[(key,)] for key in keys)

    def etag(self, entity_set: str, key: Any) -> str:
        """``W/"<uppercase SHA-1 of the decimal DataVersion>"`` (§6.1 ETag, inferred from two captures)."""
        version = self._versions.get((entity_set, self.make_key(entity_set, key)), 1)
        digest = hashlib.sha1(str(version).encode("ascii"), usedforsecurity=False).hexdigest().upper()
        return f'W/"{digest}"'

    # -- writing ---------------------------------------------------------------------------------
    def patch(self, entity_set: str, key: Any, changes: Mapping[str, Any]) -> None:
        """Merge ``changes`` into a row as SAP would store them (e.g. the shop floor raising a UDF)."""
        with self.lock:
            row = self.live(entity_set, key)
            if row is None:
                raise KeyError(f"{entity_set}({key!r}) does not exist")
            types = self.header_props(entity_set, "v1")
            if any(name in changes and changes[name] != row.get(name) for name in self.key_names(entity_set)):
                # The row keeps its place under the old key (as before); finding rows by key would
                # now miss it, so queries on this set go back to visiting every row.
                self._moved_keys.add(entity_set)
            indexed = [field for (name, field) in self._numbers if name == entity_set and field in changes]
            for field in indexed:
                self._unindex_number(entity_set, field, row)
            for name, value in changes.items():
                row[name] = schema.canonical(value, types.get(name, ""))
            for field in indexed:
                self._index_number(entity_set, field, row)
            self.touch(entity_set, key)

    def insert(self, entity_set: str, row: dict[str, Any]) -> Key:
        """Store a new row (already canonical) and return its key."""
        with self.lock:
            return self._put(entity_set, row)

    def touch(self, entity_set: str, key: Any) -> None:
        """A row changed: its DataVersion (and so its ETag) moves on."""
        internal = self.make_key(entity_set, key)
        version = self._versions.get((entity_set, internal), 1) + 1
        self._versions[(entity_set, internal)] = version
        row = self._sets[entity_set].get(internal)
        if row is not None and "DataVersion" in row:
            row["DataVersion"] = version
        if entity_set == "UserFieldsMD":
            self._props_cache.clear()  # a UDF changed: the property lists are computed again
        if row is not None:
            self._reindex_values(entity_set, internal, row)

    def next_number(self, entity_set: str, field: str, start: int = 1) -> int:
        """The next internal key (``DocEntry``, ``AbsoluteEntry``); user-facing numbers come from series."""
        with self.lock:
            used = self._used_numbers(entity_set, field)
            return max(start - 1, used[-1]) + 1 if used else start

    def take_number(
        self, entity_set: str, field: str, document: str, series: Any, table: str
    ) -> tuple[int, int]:
        """(Series, number) from the numbering series for a new ``entity_set`` row (see ``numbering``)."""
        with self.lock:
            used = self._used_numbers(entity_set, field)
            return self.numbering.take(document, series, table, _highest_in(used))

    # -- change sets (``$batch``) ---------------------------------------------------------------
    def snapshot(self) -> StoreState:
        """A copy of everything a write can change, for ``restore`` (callers hold ``lock`` throughout).

        A ``$batch`` change set is atomic (docs/service-layer.md §3.4): the batch takes a snapshot before
        its first sub-request and restores it when one fails, so documents, stock, order quantities,
        DataVersions and numbering series are exactly as before. The rows are deep-copied: the business
        rules change stored rows in place. Costs one copy of the company per change set; batches are rare.
        """
        return StoreState(
            sets=copy.deepcopy(self._sets),
            versions=dict(self._versions),
            positions={name: dict(positions) for name, positions in self._positions.items()},
            sorted_keys={name: list(keys) for name, keys in self._sorted_keys.items()},
            moved_keys=frozenset(self._moved_keys),
            numbering=copy.deepcopy(self.numbering),
        )

    def restore(self, state: StoreState) -> None:
        """Back to ``state`` (taken by ``snapshot`` under the same hold of ``lock``).

        The derived indexes (used numbers, value indexes, property lists) are dropped: each is rebuilt
        from the restored rows on its first use, as after loading.
        """
        self._sets = state.sets
        self._versions = state.versions
        self._positions = state.positions
        self._sorted_keys = state.sorted_keys
        self._moved_keys = set(state.moved_keys)
        self.numbering = state.numbering
        self._numbers.clear()
        self._value_indexes.clear()
        self._props_cache.clear()

    # -- internals -------------------------------------------------------------------------------
    def _used_numbers(self, entity_set: str, field: str) -> list[int]:
        """The sorted integers ``field`` holds on ``entity_set``'s rows (indexed on first use)."""
        used = self._numbers.get((entity_set, field))
        if used is None:
            values = (row.get(field) for row in self._sets[entity_set].values())
            used = self._numbers[(entity_set, field)] = sorted(v for v in values if isinstance(v, int))
        return used

    def _index_number(self, entity_set: str, field: str, row: Mapping[str, Any]) -> None:
        value = row.get(field)
        if isinstance(value, int):
            bisect.insort(self._numbers[(entity_set, field)], value)

    def _unindex_number(self, entity_set: str, field: str, row: Mapping[str, Any]) -> None:
        value = row.get(field)
        if isinstance(value, int):
            used = self._numbers[(entity_set, field)]
            del used[bisect.bisect_left(used, value)]

    def _put(self, entity_set: str, row: Mapping[str, Any]) -> Key:
        clean = self._canonical_row(entity_set, row)
        key = tuple(clean.get(name) for name in self.key_names(entity_set))
        rows = self._sets[entity_set]
        replaced = rows.get(key)
        indexed = [field for (name, field) in self._numbers if name == entity_set]
        for field in indexed:
            if replaced is not None:
                self._unindex_number(entity_set, field, replaced)
            self._index_number(entity_set, field, clean)
        if key not in rows:
            self._positions[entity_set][key] = len(rows)
            number = key[0] if len(key) == 1 else None
            if isinstance(number, int) and not isinstance(number, bool):
                bisect.insort(self._sorted_keys[entity_set], number)
        rows[key] = clean
        if entity_set == "UserFieldsMD":
            self._props_cache.clear()
        version = int(clean.get("DataVersion") or 1)
        self._versions[(entity_set, key)] = version
        if "DataVersion" in schema.props("v1", schema.entity_type_of(entity_set) or ""):
            clean["DataVersion"] = version
        self._reindex_values(entity_set, key, clean)
        return key

    def _reindex_values(self, entity_set: str, key: Key, row: Mapping[str, Any]) -> None:
        for (indexed_set, name), index in self._value_indexes.items():
            if indexed_set == entity_set:
                index.put(key, row.get(name))

    def _canonical_row(self, entity_set: str, row: Mapping[str, Any]) -> dict[str, Any]:
        types = self.header_props(entity_set, "v1")
        clean: dict[str, Any] = {}
        for name, value in row.items():
            edm = types.get(name, "")
            inner = schema.complex_of(edm)
            if inner is not None and isinstance(value, list):
                line_types = self._line_types(entity_set, inner)
                clean[name] = [
                    {k: schema.canonical(v, line_types.get(k, "")) for k, v in element.items()}
                    for element in value
                ]
            else:
                clean[name] = schema.canonical(value, edm)
        return clean

    def _line_types(self, entity_set: str, inner: str) -> Mapping[str, str]:
        """Properties of a collection element (``DocumentLine``) plus the set's line UDFs."""
        cache_key = ("lines", entity_set, inner)
        cached = self._props_cache.get(cache_key)
        if cached is None:
            with self.lock:
                merged = {**schema.props("v1", inner), **self.udfs(entity_set, lines=True)}
                cached = self._props_cache[cache_key] = MappingProxyType(merged)
        return cached

    def _complete(self, entity_set: str, row: Mapping[str, Any]) -> dict[str, Any]:
        full: dict[str, Any] = {}
        for name, edm in self.header_props(entity_set, "v1").items():
            full[name] = [] if schema.complex_of(edm) else None
        full.update(copy.deepcopy(dict(row)))
        return full


@dataclass(frozen=True)
class StoreState:
    """What ``Store.snapshot`` copies: the rows, their DataVersions and order, and the numbering series."""

    sets: dict[str, dict[Key, dict[str, Any]]]
    versions: dict[tuple[str, Key], int]
    positions: dict[str, dict[Key, int]]
    sorted_keys: dict[str, list[int]]
    moved_keys: frozenset[str]
    numbering: Numbering


def _highest_in(used: list[int]) -> Callable[[int, int], int | None]:
    """The largest of the sorted ``used`` numbers within ``[low, high]``, None when there is none."""

    def highest(low: int, high: int) -> int | None:
        index = bisect.bisect_right(used, high)
        return used[index - 1] if index and used[index - 1] >= low else None

    return highest


class _ValueIndex:
    """The keys of one set's rows by the value of one property (values that cannot be hashed, lists,
    are left out: they never equal a ``$filter`` literal)."""

    def __init__(self) -> None:
        self._keys: dict[Any, dict[Key, None]] = {}
        self._value_of: dict[Key, Any] = {}

    def put(self, key: Key, value: Any) -> None:
        """The row ``key`` now holds ``value`` (replaces what it held)."""
        if key in self._value_of:
            old = self._value_of.pop(key)
            bucket = self._keys[old]
            del bucket[key]
            if not bucket:
                del self._keys[old]
        try:
            self._keys.setdefault(value, {})[key] = None
        except TypeError:
            return
        self._value_of[key] = value

    def keys_for(self, values: Iterable[Any]) -> set[Key]:
        found: set[Key] = set()
        for value in values:
            found.update(self._keys.get(value, ()))
        return found


def _first_of_each(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """name → value of the first pair naming it, in the order first named (a UDF defined twice)."""
    found: dict[str, Any] = {}
    for name, value in pairs:
        found.setdefault(name, value)
    return found
