"""What the mock knows about SAP's types: the real ``$metadata`` (v1/v2), enum DB codes, UDF types.

The property lists come from ``metadata.json`` (a real customer ``$metadata`` reduced to names and
types, U_ fields removed), so the mock answers with exactly the names the real Service Layer has and
refuses the ones it does not (docs/service-layer.md §2.3 -1000 / 201). Rows are kept in one canonical,
version-neutral form (dates ``YYYY-MM-DD``, enum *names*, floats for doubles) and rendered per
protocol on the way out (§8: v1 ``"2022-10-31"``, v2 ``"2023-10-26T00:00:00Z"``).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

METADATA_PATH = Path(__file__).with_name("metadata.json")

#: Entity set → (header UDF tables, line UDF tables). A UDF on one marketing-document header table is
#: created by B1 on all of them, so OIGN's UDFs also exist on OIGE (docs/service-layer.md §7 Propagation).
UDF_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ProductionOrders": (("OWOR",), ("WOR1",)),
    "InventoryGenEntries": (("OIGN", "OIGE"), ("IGN1", "IGE1")),
    "InventoryGenExits": (("OIGE", "OIGN"), ("IGE1", "IGN1")),
    "Items": (("OITM",), ()),
    "Warehouses": (("OWHS",), ()),
    "BatchNumberDetails": (("OBTN",), ()),
    "SerialNumberDetails": (("OSRN",), ()),
    "UserFieldsMD": ((), ()),
}

#: DB codes accepted in request bodies and $filter literals besides the enum names (§4.4:
#: ``ProductionOrderStatus eq 'R'`` ≡ ``'boposReleased'``; SAP's own PATCH example sends ``"R"``).
DB_CODES: dict[str, dict[str, str]] = {
    "BoProductionOrderStatusEnum": {
        "P": "boposPlanned",
        "R": "boposReleased",
        "L": "boposClosed",
        "C": "boposCancelled",
    },
    "BoProductionOrderTypeEnum": {"S": "bopotStandard", "P": "bopotSpecial", "D": "bopotDisassembly"},
    "BoIssueMethod": {"B": "im_Backflush", "M": "im_Manual"},
    "BoTransactionTypeEnum": {"C": "botrntComplete", "R": "botrntReject"},
    "BoYesNoEnum": {"N": "tNO", "Y": "tYES"},
    "BoStatus": {"O": "bost_Open", "C": "bost_Close"},
}

#: Longest string SAP stores in a property (characters). The real ``$metadata`` carries no MaxLength, so
#: these are the DB column sizes from SAP's DI API help: ``Comments`` 254 and ``Reference2`` 11 (OIGN/OIGE,
#: docs/service-layer.md §7), ``JournalMemo`` 50 (OIGN.JrnlMemo nvarchar(50)). UDFs take their ``Size``
#: from UserFieldsMD instead (``Store.udf_sizes``).
MAX_LENGTHS: dict[str, dict[str, int]] = {
    "Document": {"Comments": 254, "JournalMemo": 50, "Reference2": 11},
    "Item": {"ItemCode": 50},  # OITM.ItemCode nvarchar(50)
    # ◐ Batch and serial numbers and their attributes: nvarchar(36) (OBTN.DistNumber, MnfSerial,
    # LotNumber; OSRN.DistNumber, MnfSerial), as SDK table references give them.
    "BatchNumber": {
        "BatchNumber": 36,
        "BatchNumberProperty": 36,
        "ManufacturerSerialNumber": 36,
        "InternalSerialNumber": 36,
    },
    "SerialNumber": {"InternalSerialNumber": 36, "ManufacturerSerialNumber": 36},
}
#: UDF types whose UserFieldsMD ``Size`` bounds the text (db_Memo is unbounded in practice).
SIZED_UDF_TYPES = frozenset({"db_Alpha", "A"})

#: UserFieldsMD ``Type`` → the EDM type the property gets on the entity (§7 Types).
UDF_EDM: dict[str, str] = {
    "db_Alpha": "Edm.String",
    "db_Memo": "Edm.String",
    "db_Numeric": "Edm.Int32",
    "db_Float": "Edm.Double",
    "db_Date": "Edm.DateTime",
}

#: v2 renamed ``BatchNumber`` to ``BatchNumberProperty`` in the BatchNumber complex type (§5.5, META);
#: rows store the v1 name and each protocol renders its own.
BATCH_ALIASES: dict[str, str] = {"BatchNumberProperty": "BatchNumber"}

DATE_TYPES = frozenset({"Edm.DateTime", "Edm.DateTimeOffset"})
FLOAT_TYPES = frozenset({"Edm.Double", "Edm.Decimal", "Edm.Single"})
INT_TYPES = frozenset({"Edm.Int32", "Edm.Int16", "Edm.Int64", "Edm.Byte"})
_COLLECTION = re.compile(r"^Collection\((?:SAPB1\.)?(\w+)\)$")


@cache
def metadata() -> dict[str, Any]:
    """The packaged real ``$metadata`` summary (loaded once)."""
    loaded: dict[str, Any] = json.loads(METADATA_PATH.read_text(encoding="utf-8"))
    return loaded


def entity_type_of(entity_set: str) -> str | None:
    """``ProductionOrders`` → ``ProductionOrder`` (None for a set the mock does not serve)."""
    found: str | None = metadata()["entity_sets"].get(entity_set)
    return found


def key_of(entity_type: str) -> list[str]:
    """Key property names of an entity type (``["TableName", "FieldID"]`` for UserFieldMD)."""
    return list(metadata()["v2"]["entity_types"][entity_type]["key"])


@cache
def props(version: str, type_name: str) -> dict[str, str]:
    """Property name → EDM type of an entity or complex type, in metadata order."""
    meta = metadata()[version]
    spec = meta["entity_types"].get(type_name) or meta["complex_types"].get(type_name)
    if spec is None:
        return {}
    return {name: edm for name, edm in spec["props"]}


@cache
def navs(type_name: str) -> frozenset[str]:
    """Navigation properties (the only names ``$expand`` accepts, §3.1)."""
    spec = metadata()["v2"]["entity_types"].get(type_name, {})
    return frozenset(spec.get("navs", []))


@cache
def complex_of(edm: str) -> str | None:
    """``Collection(SAPB1.DocumentLine)`` → ``DocumentLine``."""
    match = _COLLECTION.match(edm)
    return match.group(1) if match else None


@cache
def enum_of(edm: str) -> str | None:
    """``SAPB1.BoYesNoEnum`` → ``BoYesNoEnum`` when it names an enumeration."""
    if edm.startswith("SAPB1."):
        name = edm[len("SAPB1.") :]
        if name in metadata()["v2"]["enums"]:
            return name
    return None


@cache
def enum_members(enum: str) -> tuple[str, ...]:
    """Member names of an enumeration."""
    return tuple(member for member, _value in metadata()["v2"]["enums"].get(enum, []))


def enum_member(enum: str, number: Any) -> str | None:
    """The member whose v2 metadata ``Value`` is ``number`` (``1`` → ``boposReleased``), if any."""
    for member, value in metadata()["v2"]["enums"].get(enum, []):
        if value == number:
            return str(member)
    return None


def normalize_enum(enum: str, value: Any) -> str | None:
    """Enum name or DB code → enum name; None when it is neither."""
    if not isinstance(value, str):
        return None
    if value in enum_members(enum):
        return value
    return DB_CODES.get(enum, {}).get(value)


def to_date(value: Any) -> str | None:
    """Accepted date spellings (§3.1: ``2014-04-23``, ``20140423``, ``...T00:00:00Z``) → ``YYYY-MM-DD``."""
    if isinstance(value, date | datetime):
        return value.strftime("%Y-%m-%d")
    if not isinstance(value, str):
        return None
    return _date_text(value)


@lru_cache(maxsize=4096)  # dates repeat (every document of a day): parse each spelling once
def _date_text(value: str) -> str | None:
    text = value.strip()
    if text.startswith("datetime'") and text.endswith("'"):
        text = text[len("datetime'") : -1]
    text = text[:10] if len(text) >= 10 and text[4:5] == "-" else text
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(text, fmt).strftime("%Y-%m-%d")
        except ValueError:
            continue
    return None


def udf_edm(field_type: str) -> str:
    """UserFieldsMD ``Type`` (name or DB code) → EDM type."""
    return UDF_EDM.get(field_type, "Edm.String")


_PLAIN, _DATE, _FLOAT, _COMPLEX = range(4)


@cache
def _render_kind(edm: str) -> tuple[int, str]:
    """How a value of type ``edm`` is rendered (and the element type of a collection)."""
    inner = complex_of(edm)
    if inner is not None:
        return _COMPLEX, inner
    if edm in DATE_TYPES:
        return _DATE, ""
    return (_FLOAT if edm in FLOAT_TYPES else _PLAIN), ""


def render(value: Any, edm: str, version: str) -> Any:
    """A canonical value → its JSON form in ``version`` (dates, doubles with a decimal point, collections).

    The answer shares nothing mutable with the stored row, so it can be encoded after the store's lock
    is released.
    """
    kind, inner = _render_kind(edm)
    if value is None:
        return [] if kind == _COMPLEX else None
    if kind == _PLAIN:
        # A stored dict or list of a non-collection type (an address extension) is copied.
        return copy.deepcopy(value) if isinstance(value, dict | list) else value
    if kind == _COMPLEX:
        return [render_complex(row, inner, version) for row in value]
    if kind == _DATE:
        day = to_date(value)
        if day is None:
            return copy.deepcopy(value) if isinstance(value, dict | list) else value
        # §8: v1 "2022-10-31", v2 "2023-10-26T00:00:00Z" (all real v2 captures).
        return day if version == "v1" else f"{day}T00:00:00Z"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)  # json prints 600.0, as the SL does (§8)
    return copy.deepcopy(value) if isinstance(value, dict | list) else value


@cache
def _element_props(version: str, type_name: str) -> tuple[tuple[str, str, str], ...]:
    """(name, stored name, EDM type) of a complex type's properties, in metadata order."""
    return tuple(
        (name, BATCH_ALIASES.get(name, name), edm) for name, edm in props(version, type_name).items()
    )


def render_complex(row: Mapping[str, Any], type_name: str, version: str) -> dict[str, Any]:
    """One complex-type element with every property of its type (unset → null, collections → [])."""
    out: dict[str, Any] = {}
    for name, stored, edm in _element_props(version, type_name):
        out[name] = render(row.get(stored), edm, version)
    for name, value in row.items():  # line UDFs and anything stored beyond the metadata
        if name not in out and name.startswith("U_"):
            out[name] = copy.deepcopy(value) if isinstance(value, dict | list) else value
    return out


def canonical(value: Any, edm: str) -> Any:
    """A request/fixture value → the stored form (enum names, ISO dates, floats)."""
    if value is None:
        return None
    enum = enum_of(edm)
    if enum is not None:
        return normalize_enum(enum, value) or value
    if edm in DATE_TYPES:
        return to_date(value) or value
    if edm in FLOAT_TYPES and isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            return float(value)
        except ValueError:
            return value
    if edm in INT_TYPES and isinstance(value, str):
        try:
            return int(value)  # SAP accepts "BaseEntry": "12861" (§5.3, SAP-APIREF)
        except ValueError:
            return value
    return value
