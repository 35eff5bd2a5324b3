"""Checks pydantic cannot express: every template in the file, and combinations that cannot work.

They run on the raw YAML data (not the validated model) so they still report when other keys
of the same file are wrong: the consultant gets every problem in one run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from connector.mapping.problems import Problem
from connector.mapping.template_syntax import Text, parse_template
from connector.mapping.templates import SERIAL_FIELD, TemplateError, template_fields, validate_template
from connector.mapping.yaml_source import KeyPath, YamlDocument
from connector.production.receipt_fields import DOCUMENT_FIELD_RULES, DOCUMENT_FIELD_SIZES

#: Single template strings of the file, by key path.
TEMPLATE_PATHS: tuple[KeyPath, ...] = (
    ("receipt", "comments"),
    ("receipt", "journal_memo"),
    ("receipt", "reference2"),
    ("finished_good", "batch", "number"),
    ("finished_good", "serial", "number"),
)
#: Tables whose string values are templates (UDF name → value).
TEMPLATE_TABLES: tuple[KeyPath, ...] = (("receipt", "header_udfs"), ("receipt", "line_udfs"))
SERIAL_PATH: KeyPath = ("finished_good", "serial", "number")

_TEMPLATE_FIX = (
    "use {Field}, {Field:format} or a function such as {upper(ItemNo)}; "
    "see 'Templates' in mappings/README.md; write {{ and }} for literal braces"
)


def _get(data: Any, path: KeyPath) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def iter_templates(data: Any) -> Iterator[tuple[KeyPath, str]]:
    """Every template string of a raw mapping dict with its key path."""
    for path in TEMPLATE_PATHS:
        value = _get(data, path)
        if isinstance(value, str):
            yield path, value
    for table in TEMPLATE_TABLES:
        values = _get(data, table)
        if isinstance(values, dict):
            for name, value in values.items():
                if isinstance(value, str):
                    yield (*table, str(name)), value


def template_problems(doc: YamlDocument) -> list[Problem]:
    """validate_template on every template of the file; a serial rule must reference {serial}."""
    problems: list[Problem] = []
    for path, template in iter_templates(doc.data):
        serial = path == SERIAL_PATH
        where = (doc.file, doc.line_of(path), ".".join(path))
        for problem in validate_template(template, extra={SERIAL_FIELD} if serial else frozenset()):
            message, _, suggestion = problem.partition(" — ")
            problems.append(Problem(*where, message, suggestion or _TEMPLATE_FIX))
        if serial:
            try:
                has_serial = SERIAL_FIELD in template_fields(template)
            except TemplateError:
                continue  # already reported above
            if not has_serial:
                problems.append(
                    Problem(
                        *where,
                        "a serial number rule must contain {serial}",
                        'add the counter, e.g. "{ItemNo}-{DocumentNumber}-{serial:04d}"',
                    )
                )
    return problems


def fixed_length(template: str) -> int | None:
    """Characters a template always produces (its text outside placeholders); None if it does not parse."""
    try:
        return sum(len(part.text) for part in parse_template(template) if isinstance(part, Text))
    except TemplateError:
        return None  # reported by template_problems


def filter_problem(expression: str) -> str | None:
    """A light OData syntax check: balanced parentheses and single quotes ('' is an escaped quote)."""
    depth = 0
    quoted = False
    for char in expression:
        if char == "'":
            quoted = not quoted  # '' toggles twice: an escaped quote inside a literal
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
            if depth < 0:
                return "a ')' has no matching '('"
    if quoted:
        return "a text value is not closed with a single quote (')"
    if depth:
        return "a '(' is not closed"
    if not expression.strip():
        return "the filter is empty"
    return None


def combination_problems(doc: YamlDocument) -> list[Problem]:
    """Settings that contradict each other, each pointed at the key to change."""
    data = doc.data if isinstance(doc.data, dict) else {}
    problems: list[Problem] = []

    def add(path: KeyPath, message: str, fix: str) -> None:
        problems.append(Problem(doc.file, doc.line_of(path), ".".join(path), message, fix))

    quantities = _get(data, ("quantities",))
    source = quantities.get("source") if isinstance(quantities, dict) else None
    if isinstance(quantities, dict) and source == "ready_flag" and "rejected_field" in quantities:
        add(
            ("quantities", "rejected_field"),
            "rejected_field cannot be used with source: ready_flag",
            "a ready flag receives the whole open quantity as good; remove rejected_field, "
            "or use source: confirmed_fields",
        )
    if isinstance(quantities, dict) and source == "confirmed_fields":
        confirmed = quantities.get("confirmed_field", "U_ConfirmedQty")
        if confirmed and confirmed == quantities.get("rejected_field"):
            add(
                ("quantities", "rejected_field"),
                "rejected_field is the same UDF as confirmed_field",
                "use a separate UDF for rejected quantities, or rejected_field: null",
            )
    rejects_possible = source != "ready_flag" and not (
        isinstance(quantities, dict)
        and "rejected_field" in quantities
        and quantities["rejected_field"] is None
    )
    if _get(data, ("receipt", "reject_warehouse")) is not None and not rejects_possible:
        add(
            ("receipt", "reject_warehouse"),
            "reject_warehouse is set but this mapping never receives rejected quantities",
            "remove reject_warehouse, or set quantities.rejected_field (source: confirmed_fields)",
        )

    warehouse = _get(data, ("receipt", "warehouse"))
    if isinstance(warehouse, dict):
        rule = warehouse.get("rule", "order")
        for table in ("by_item", "by_item_group"):
            if warehouse.get(table) and rule != table:
                add(
                    ("receipt", "warehouse", table),
                    f"the {table} table is ignored with rule: {rule}",
                    f"set rule: {table}, or remove the table",
                )

    # The text outside placeholders alone too long for the field: every order would be held.
    # Rendered values are checked again per order (rules.check_receipt_fields).
    for field, limit in DOCUMENT_FIELD_SIZES.items():
        path = tuple(DOCUMENT_FIELD_RULES[field].split("."))
        value = _get(data, path)
        fixed = fixed_length(str(value)) if isinstance(value, str | int | float) else None
        if fixed is not None and fixed > limit:
            example = (
                '"{DocumentNumber}" or "{right(ItemNo, 4)}-{DocumentNumber}"'
                if field == "Reference2"
                else '"Receipt {DocumentNumber}: {left(Remarks, 100)}"'
            )
            add(
                path,
                f"{field} holds {limit} characters; this rule makes at least {fixed}",
                f"shorten it, e.g. {example}",
            )

    extra = _get(data, ("candidates", "extra_filter"))
    if isinstance(extra, str):
        problem = filter_problem(extra)
        if problem:
            add(
                ("candidates", "extra_filter"),
                f"not a valid OData filter: {problem}",
                "write an OData condition such as U_Line eq 'A' "
                "(text in single quotes, '' for a quote inside)",
            )
    return problems
