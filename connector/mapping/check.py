"""``b1-backflush mappings check``: the offline check of a file and the online check against SAP.

Offline = everything :mod:`connector.mapping.loader` finds. Online = what only the company
database knows: the UDFs the mapping names exist on the right table (``UserFieldsMD``, Name
without ``U_``, TableName = OWOR / OIGN / IGN1, docs/service-layer.md §7) and the text a receipt UDF's
template always makes fits its size, the warehouses exist and are active, ``receipt.series`` is a
usable Receipt from Production series, and SAP accepts a ``$filter`` on the idempotency key field.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from connector.company_facts import SERIES_OPERATION, read_receipt_series
from connector.errors import ExitCode, SLError, SLNotFoundError, SLQueryError, SLRequestError
from connector.mapping.loader import inspect_mapping
from connector.mapping.problems import Problem, format_problems
from connector.mapping.semantics import fixed_length, iter_templates
from connector.mapping.spec import ConfirmedFieldsSource, Mapping
from connector.mapping.templates import TemplateError, template_fields
from connector.mapping.yaml_source import KeyPath, YamlDocument, read_yaml
from connector.production.company_facts import RECEIPT_LINE_TABLE, RECEIPT_TABLE, UdfField
from connector.production.receipt import POSTING_KEY_MAX_CHARS
from connector.sl import odata
from connector.sl.client import ServiceLayerClient

__all__ = [
    "MappingCheck",
    "Problem",
    "check_mapping",
    "check_offline",
    "check_online",
    "format_problems",
    "run_check",
]

#: UDF table of the order header (docs/service-layer.md §7); the receipt tables: production.company_facts.
ORDER_TABLE = "OWOR"
#: UserFieldsMD.Type values whose UDFs can hold the posting key (text).
TEXT_UDF_TYPES = frozenset({"db_Alpha", "db_Memo"})
#: Exit codes of run_check, the CLI's (connector.errors.ExitCode): clean, problems found, SAP cannot be
#: reached, SAP refused the login (1 is the CLI's "unexpected error", never a verdict on SAP). When SAP
#: fails the online check, the code is that error's own ``exit_code``.
EXIT_OK, EXIT_PROBLEMS = ExitCode.OK, ExitCode.CONFIG
EXIT_SL_UNREACHABLE = EXIT_AUTH = ExitCode.SL

_UDF_IN_FILTER = re.compile(r"\bU_[A-Za-z0-9_]+")
_QUOTED = re.compile(r"'(?:[^']|'')*'")


def check_offline(path: Path) -> list[Problem]:
    """Every problem ``load_mapping`` would raise for ``path``, as structured Problems."""
    return inspect_mapping(Path(path), display=str(path))[1]


def udfs_used(mapping: Mapping) -> list[tuple[str, str, KeyPath]]:
    """(UDF name with U_, UserFieldsMD TableName, key path in the file) for every UDF the mapping names."""
    used: list[tuple[str, str, KeyPath]] = []
    source = mapping.quantities
    if isinstance(source, ConfirmedFieldsSource):
        used.append((source.confirmed_field, ORDER_TABLE, ("quantities", "confirmed_field")))
        if source.rejected_field:
            used.append((source.rejected_field, ORDER_TABLE, ("quantities", "rejected_field")))
    else:
        used.append((source.ready_field, ORDER_TABLE, ("quantities", "ready_field")))
    # Templates and the extra filter read order UDFs too (the poll $selects them): each is
    # reported at the template that names it.
    for path, template in iter_templates(mapping.model_dump()):
        try:
            names = template_fields(template)
        except TemplateError:
            continue  # a loaded mapping has valid templates; defensive for hand-built ones
        used += [(name, ORDER_TABLE, path) for name in sorted(names) if name.startswith("U_")]
    if mapping.candidates.extra_filter:
        unquoted = _QUOTED.sub("''", mapping.candidates.extra_filter)
        for name in sorted(set(_UDF_IN_FILTER.findall(unquoted))):
            used.append((name, ORDER_TABLE, ("candidates", "extra_filter")))
    for name in mapping.receipt.header_udfs:
        used.append((name, RECEIPT_TABLE, ("receipt", "header_udfs", name)))
    for name in mapping.receipt.line_udfs:
        used.append((name, RECEIPT_LINE_TABLE, ("receipt", "line_udfs", name)))
    used.append((mapping.idempotency.key_field, RECEIPT_TABLE, ("idempotency", "key_field")))
    unique: dict[tuple[str, str], KeyPath] = {}
    for name, table, path in used:
        unique.setdefault((name, table), path)
    return [(name, table, path) for (name, table), path in unique.items()]


def warehouses_used(mapping: Mapping) -> list[tuple[str, KeyPath]]:
    """(WarehouseCode, key path) for every warehouse the mapping names."""
    rule = mapping.receipt.warehouse
    used: list[tuple[str, KeyPath]] = [
        (code, ("candidates", "warehouses")) for code in mapping.candidates.warehouses
    ]
    if rule.code:
        used.append((rule.code, ("receipt", "warehouse", "code")))
    used += [(code, ("receipt", "warehouse", "by_item", item)) for item, code in rule.by_item.items()]
    used += [
        (code, ("receipt", "warehouse", "by_item_group", str(group)))
        for group, code in rule.by_item_group.items()
    ]
    if mapping.receipt.reject_warehouse:
        used.append((mapping.receipt.reject_warehouse, ("receipt", "reject_warehouse")))
    return used


def check_online(mapping: Mapping, client: ServiceLayerClient, *, path: Path | None = None) -> list[Problem]:
    """Ask SAP whether the mapping's UDFs, warehouses and key field exist and work; SLError propagates."""
    if path is not None:
        doc = read_yaml(path, display=str(path))  # only for the line numbers of the keys named below
    else:
        doc = YamlDocument("<built-in default mapping>")
    problems: list[Problem] = []

    def add(where: KeyPath, message: str, fix: str) -> None:
        problems.append(Problem(doc.file, doc.line_of(where), ".".join(where), message, fix))

    rows = client.iter_collection(
        "UserFieldsMD",
        where=odata.any_of("TableName", [ORDER_TABLE, RECEIPT_TABLE, RECEIPT_LINE_TABLE]),
        select=["Name", "TableName", "Type", "Size", "EditSize"],
    )
    # UserFieldsMD.Name has no U_ prefix (docs/service-layer.md §7).
    existing = {(f"U_{row.get('Name')}", str(row.get("TableName"))): row for row in rows}
    for name, table, where in udfs_used(mapping):
        row = existing.get((name, table))
        if row is None:
            elsewhere = sorted(t for n, t in existing if n == name)
            fix = (
                f"it exists on {', '.join(elsewhere)} only; create it on {table}"
                if elsewhere
                else f"create the UDF {name[2:]} on table {table} "
                "(Tools > Customization Tools > User-Defined Fields)"
            )
            add(where, f"UDF {name} does not exist on {table}", fix)
        elif where == ("idempotency", "key_field") and row.get("Type") not in TEXT_UDF_TYPES:
            add(
                where,
                f"UDF {name} is of type {row.get('Type')}, the posting key is text",
                "use an alphanumeric UDF (db_Alpha)",
            )
        elif where == ("idempotency", "key_field") and row.get("Type") == "db_Alpha":
            # Unconfirmed which of Size/EditSize SAP enforces for db_Alpha; EditSize is the length
            # set in the UDF form, so it is used when present (docs/service-layer.md §7 lists neither).
            length = row.get("EditSize") or row.get("Size")
            if isinstance(length, int) and length < POSTING_KEY_MAX_CHARS:
                add(
                    where,
                    f"UDF {name} holds {length} characters, posting keys can be {POSTING_KEY_MAX_CHARS}",
                    f"enlarge the UDF to {POSTING_KEY_MAX_CHARS} characters",
                )
        elif table in (RECEIPT_TABLE, RECEIPT_LINE_TABLE) and len(where) == 3:
            # A receipt UDF the mapping writes: the text outside {...} alone must fit (orders add more,
            # which is checked per order before posting).
            value = _get(mapping.model_dump(), where)
            limit = UdfField(name, table, row.get("Type"), row.get("Size"), row.get("EditSize")).max_chars
            fixed = fixed_length(value) if isinstance(value, str) else None
            if limit is not None and fixed is not None and fixed > limit:
                add(
                    where,
                    f"UDF {name} holds {limit} characters in SAP; this rule makes at least {fixed}",
                    "shorten the text, or enlarge the UDF in SAP",
                )

    warehouses = {
        row.get("WarehouseCode"): row
        for row in client.iter_collection("Warehouses", select=["WarehouseCode", "Inactive"])
    }
    for code, where in warehouses_used(mapping):
        row = warehouses.get(code)
        if row is None:
            add(
                where,
                f"warehouse {code!r} does not exist in SAP",
                "use an existing WarehouseCode (in quotes)",
            )
        elif row.get("Inactive") == "tYES":
            add(
                where, f"warehouse {code!r} is inactive in SAP", "activate it in SAP or use another warehouse"
            )

    if mapping.receipt.series is not None:
        _check_series(mapping.receipt.series, client, add)

    key_field = mapping.idempotency.key_field
    try:
        # Proves SAP lets us look a posting up by its key before re-posting (exactly-once rule 4).
        next(
            iter(
                client.iter_pages(
                    "InventoryGenEntries", where=odata.eq(key_field, "probe"), select=["DocEntry"], top=1
                )
            ),
            None,
        )
    except (SLQueryError, SLRequestError) as exc:
        add(
            ("idempotency", "key_field"),
            f"SAP refuses to filter InventoryGenEntries on {key_field}: {exc.sap_message or exc}",
            "use a receipt header UDF (OIGN) that exists, e.g. U_B1BF_Key",
        )
    return problems


def _get(data: Any, path: KeyPath) -> Any:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _check_series(wanted: int, client: ServiceLayerClient, add: Any) -> None:
    """receipt.series must be a Receipt from Production series SAP has and has not locked."""
    where = ("receipt", "series")
    try:
        known = read_receipt_series(client)
    except (SLQueryError, SLRequestError, SLNotFoundError) as exc:
        add(
            where,
            f"SAP did not list the receipt numbering series ({SERIES_OPERATION}): {exc.sap_message or exc}",
            "give the connector's user access to Document Numbering, or check the series in SAP by hand",
        )
        return
    usable = ", ".join(str(s.series) for s in known.values() if not s.locked) or "none"
    if wanted not in known:
        add(
            where,
            f"series {wanted} is not a numbering series of Receipts from Production in SAP",
            f"use one of: {usable} (or null for SAP's default series)",
        )
    elif known[wanted].locked:
        add(where, f"series {wanted} is locked in SAP", f"unlock it in SAP or use one of: {usable}")


@dataclass
class MappingCheck:
    """The outcome of ``mappings check``: what was checked, how far, and every problem."""

    file: str | None  # None: the built-in default mapping
    scope: str  # offline | online | online_skipped (offline problems first) | online_failed
    problems: list[Problem] = field(default_factory=list)
    online_error: str | None = None  # why SAP could not be asked (scope online_failed)
    exit_code: int = EXIT_OK

    def text(self) -> str:
        """Plain words for the terminal."""
        label = self.file if self.file is not None else "the built-in default mapping"
        if self.scope == "online_failed":
            return (
                f"Checked {label} offline: {format_problems(self.problems)}\n"
                f"Online check failed: {self.online_error}"
            )
        scope = {
            "offline": "offline",
            "online": "offline and online (against SAP)",
            "online_skipped": "offline (online skipped: fix the problems below first)",
        }[self.scope]
        return f"Checked {label} {scope}.\n{format_problems(self.problems)}"

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document (docs/json-output.md, ``b1-backflush.mappings-check/1``)."""
        ordered = sorted(self.problems, key=lambda p: (p.file, p.line or 0, p.key))
        return {
            "file": self.file,
            "scope": self.scope,
            "ok": not self.problems and self.online_error is None,
            "problems": [asdict(p) for p in ordered],
            "online_error": self.online_error,
        }


def check_mapping(path: Path | None, *, client: ServiceLayerClient | None = None) -> MappingCheck:
    """The CLI's ``mappings check [FILE] [--online]``: offline always, online when ``client`` is given."""
    if path is None:
        mapping: Mapping | None = Mapping()
        problems: list[Problem] = []
    else:
        mapping, problems = inspect_mapping(Path(path), display=str(path))
    result = MappingCheck(file=str(path) if path is not None else None, scope="offline", problems=problems)
    if client is not None and mapping is not None:
        result.scope = "online"
        try:
            result.problems = problems + check_online(mapping, client, path=path)
        except SLError as exc:
            result.scope, result.online_error = "online_failed", str(exc)
            result.exit_code = exc.exit_code
            return result
    elif client is not None:
        result.scope = "online_skipped"
    result.exit_code = EXIT_PROBLEMS if result.problems else EXIT_OK
    return result


def run_check(path: Path | None, *, client: ServiceLayerClient | None = None) -> tuple[int, str]:
    """``check_mapping`` as (exit code, text to print)."""
    result = check_mapping(path, client=client)
    return result.exit_code, result.text()
