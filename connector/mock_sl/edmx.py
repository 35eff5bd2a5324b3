"""``GET $metadata``: the CSDL document of the entity sets the mock serves (docs/service-layer.md §7, §8).

v1 answers EDMX 1.0 with an OData V3 schema (CSDL 2009/11, enum members without ``Value``); v2 answers
EDMX 4.0 with an OData V4 schema (members with ``Value``). Both are generated from ``metadata.json``
(the real ``$metadata`` reduced to names and types) plus the company's UDFs, which SAP publishes as
``U_`` properties on the entity and line types since 9.1 PL05 (§7). Only the types the served sets reach
are emitted. Navigation properties are left out: the summary keeps their names (``$expand``
checks them) but not their target types, and the mock serves none of those targets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from xml.sax.saxutils import quoteattr

from connector.mock_sl import schema

EDMX_V1 = "http://schemas.microsoft.com/ado/2007/06/edmx"
EDM_V1 = "http://schemas.microsoft.com/ado/2009/11/edm"
METADATA_V1 = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
EDMX_V4 = "http://docs.oasis-open.org/odata/ns/edmx"
EDM_V4 = "http://docs.oasis-open.org/odata/ns/edm"
NAMESPACE = "SAPB1"
CONTAINER = "ServiceLayer"
CONTENT_TYPE = "application/xml;charset=utf-8"

#: Entity type → the line complex type that carries the set's line UDFs (IGN1/IGE1, WOR1).
LINE_TYPES: dict[str, str] = {"Document": "DocumentLine", "ProductionOrder": "ProductionOrderLine"}


def _udf_type(edm: str, version: str) -> str:
    if version == "v2" and edm == "Edm.DateTime":
        return "Edm.DateTimeOffset"
    return edm


def _referenced(edm: str, meta: Mapping[str, object]) -> tuple[str | None, str | None]:
    """(complex type, enum) named by a property type, if any."""
    inner = schema.complex_of(edm)
    if inner is not None:
        return inner, None
    if edm.startswith(f"{NAMESPACE}."):
        name = edm[len(NAMESPACE) + 1 :]
        if name in meta["complex_types"]:  # type: ignore[operator]
            return name, None
        if name in meta["enums"]:  # type: ignore[operator]
            return None, name
    return None, None


def document(
    version: str,
    entity_sets: Iterable[str],
    udfs: Mapping[str, Mapping[str, str]],
) -> bytes:
    """The ``$metadata`` XML for ``version``; ``udfs`` = type name → {U_ name: EDM type} to append."""
    meta = schema.metadata()[version]
    sets = {name: schema.entity_type_of(name) or "" for name in entity_sets}
    entity_types = list(dict.fromkeys(sets.values()))
    complex_types: list[str] = []
    enums: list[str] = []
    queue = [*entity_types]
    seen: set[str] = set(queue)
    while queue:  # every complex type and enum the served types reach, in discovery order
        name = queue.pop(0)
        spec = meta["entity_types"].get(name) or meta["complex_types"].get(name) or {"props": []}
        for _prop, edm in spec["props"]:
            inner, enum = _referenced(edm, meta)
            if inner is not None and inner not in seen:
                seen.add(inner)
                complex_types.append(inner)
                queue.append(inner)
            if enum is not None and enum not in enums:
                enums.append(enum)

    v4 = version == "v2"
    out: list[str] = ['<?xml version="1.0" encoding="utf-8"?>']

    def tag(name: str, attrs: Mapping[str, str], *, close: bool = True) -> None:
        text = "".join(f" {key}={quoteattr(value)}" for key, value in attrs.items())
        out.append(f"<{name}{text}{'/' if close else ''}>")

    if v4:
        tag("edmx:Edmx", {"Version": "4.0", "xmlns:edmx": EDMX_V4}, close=False)
        tag("edmx:DataServices", {}, close=False)
        tag("Schema", {"Namespace": NAMESPACE, "xmlns": EDM_V4}, close=False)
    else:
        tag("edmx:Edmx", {"Version": "1.0", "xmlns:edmx": EDMX_V1}, close=False)
        tag(
            "edmx:DataServices",
            {"m:DataServiceVersion": "3.0", "m:MaxDataServiceVersion": "3.0", "xmlns:m": METADATA_V1},
            close=False,
        )
        tag("Schema", {"Namespace": NAMESPACE, "xmlns": EDM_V1}, close=False)

    for enum in enums:
        tag("EnumType", {"Name": enum}, close=False)
        for member, value in meta["enums"][enum]:
            # v1 members carry no Value, v2 members do (§4.4).
            tag("Member", {"Name": member, **({"Value": str(value)} if v4 and value is not None else {})})
        out.append("</EnumType>")

    def properties(type_name: str, keys: Iterable[str] = ()) -> None:
        key_set = set(keys)
        for prop, edm in schema.props(version, type_name).items():
            tag("Property", {"Name": prop, "Type": edm, **({"Nullable": "false"} if prop in key_set else {})})
        for prop, edm in udfs.get(type_name, {}).items():
            tag("Property", {"Name": prop, "Type": _udf_type(edm, version)})

    for name in complex_types:
        tag("ComplexType", {"Name": name}, close=False)
        properties(name)
        out.append("</ComplexType>")
    for name in entity_types:
        spec = meta["entity_types"][name]
        tag("EntityType", {"Name": name, "OpenType": "true"}, close=False)
        out.append("<Key>")
        for key in spec["key"]:
            tag("PropertyRef", {"Name": key})
        out.append("</Key>")
        properties(name, spec["key"])
        out.append("</EntityType>")

    tag(
        "EntityContainer",
        {"Name": CONTAINER, **({} if v4 else {"m:IsDefaultEntityContainer": "true"})},
        close=False,
    )
    for set_name, type_name in sets.items():
        tag("EntitySet", {"Name": set_name, "EntityType": f"{NAMESPACE}.{type_name}"})
    out.append("</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>")
    return "\n".join(out).encode("utf-8")
