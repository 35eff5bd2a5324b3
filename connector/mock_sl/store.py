"""The mock company's data: entity sets keyed like SAP's, loaded from fixture JSON, thread-safe.

Rows are stored canonical (see ``schema``): only the properties that were set, enum names, ISO
dates. ``rows``/``get`` hand out complete copies (every header property and UDF, null when unset)
so tests can assert on SAP-side state without caring about rendering.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
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
)

Key = tuple[Any, ...]


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
        # UserFieldsMD first: it defines which U_ properties the other sets have.
        for row in raw.get("UserFieldsMD", []):
            self._put("UserFieldsMD", row)
        for name in ENTITY_SETS:
            if name != "UserFieldsMD":
                for row in raw.get(name, []):
                    self._put(name, row)

    # -- types -----------------------------------------------------------------------------------
    def udfs(self, entity_set: str, *, lines: bool = False) -> dict[str, str]:
        """``U_<Name>`` → EDM type of the UDFs defined on the set's header (or line) tables."""
        tables = schema.UDF_TABLES.get(entity_set, ((), ()))[1 if lines else 0]
        found: dict[str, str] = {}
        for row in self._sets["UserFieldsMD"].values():
            if row.get("TableName") in tables:
                found.setdefault(f"U_{row['Name']}", schema.udf_edm(str(row.get("Type", ""))))
        return found

    def udf_sizes(self, entity_set: str, *, lines: bool = False) -> dict[str, int]:
        """``U_<Name>`` → UserFieldsMD ``Size`` of the set's alphanumeric header (or line) UDFs."""
        tables = schema.UDF_TABLES.get(entity_set, ((), ()))[1 if lines else 0]
        found: dict[str, int] = {}
        for row in self._sets["UserFieldsMD"].values():
            size = row.get("Size")
            if (
                row.get("TableName") in tables
                and str(row.get("Type", "")) in schema.SIZED_UDF_TYPES
                and isinstance(size, int)
                and size > 0
            ):
                found.setdefault(f"U_{row['Name']}", size)
        return found

    def header_props(self, entity_set: str, version: str) -> dict[str, str]:
        """Every property of the set's entity type plus its header UDFs."""
        entity_type = schema.entity_type_of(entity_set) or ""
        return {**schema.props(version, entity_type), **self.udfs(entity_set)}

    def key_names(self, entity_set: str) -> list[str]:
        """Key properties of the set (``AbsoluteEntry``; ``TableName``+``FieldID``)."""
        return schema.key_of(schema.entity_type_of(entity_set) or "")

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
            for name, value in changes.items():
                row[name] = schema.canonical(value, types.get(name, ""))
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

    def next_number(self, entity_set: str, field: str, start: int = 1) -> int:
        """The next internal key (``DocEntry``, ``AbsoluteEntry``); user-facing numbers come from series."""
        with self.lock:
            used = [row.get(field) for row in self._sets[entity_set].values()]
            return max([start - 1, *[number for number in used if isinstance(number, int)]]) + 1

    def take_number(
        self, entity_set: str, field: str, document: str, series: Any, table: str
    ) -> tuple[int, int]:
        """(Series, number) from the numbering series for a new ``entity_set`` row (see ``numbering``)."""
        with self.lock:
            used = [row.get(field) for row in self._sets[entity_set].values()]
            return self.numbering.take(document, series, table, used)

    # -- internals -------------------------------------------------------------------------------
    def _put(self, entity_set: str, row: Mapping[str, Any]) -> Key:
        clean = self._canonical_row(entity_set, row)
        key = tuple(clean.get(name) for name in self.key_names(entity_set))
        self._sets[entity_set][key] = clean
        version = int(clean.get("DataVersion") or 1)
        self._versions[(entity_set, key)] = version
        if "DataVersion" in schema.props("v1", schema.entity_type_of(entity_set) or ""):
            clean["DataVersion"] = version
        return key

    def _canonical_row(self, entity_set: str, row: Mapping[str, Any]) -> dict[str, Any]:
        types = self.header_props(entity_set, "v1")
        line_udfs = self.udfs(entity_set, lines=True)
        clean: dict[str, Any] = {}
        for name, value in row.items():
            edm = types.get(name, "")
            inner = schema.complex_of(edm)
            if inner is not None and isinstance(value, list):
                line_types = {**schema.props("v1", inner), **line_udfs}
                clean[name] = [
                    {k: schema.canonical(v, line_types.get(k, "")) for k, v in element.items()}
                    for element in value
                ]
            else:
                clean[name] = schema.canonical(value, edm)
        return clean

    def _complete(self, entity_set: str, row: Mapping[str, Any]) -> dict[str, Any]:
        full: dict[str, Any] = {}
        for name, edm in self.header_props(entity_set, "v1").items():
            full[name] = [] if schema.complex_of(edm) else None
        full.update(copy.deepcopy(dict(row)))
        return full
