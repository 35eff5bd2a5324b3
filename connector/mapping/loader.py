"""Load a consultant's mapping file into :class:`~connector.mapping.spec.Mapping`, or say exactly what to fix.

Every problem is reported at once as ``FILE:LINE: KEY PATH: what is wrong — the fix``: YAML
syntax, unsafe tags, duplicate keys, pydantic validation (unknown keys with a did-you-mean, wrong
types, values outside a list), template problems and combinations that cannot work.
"""

from __future__ import annotations

import difflib
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from yaml.nodes import ScalarNode

from connector.errors import MappingError
from connector.mapping.problems import Problem
from connector.mapping.semantics import combination_problems, iter_templates, template_problems
from connector.mapping.spec import ConfirmedFieldsSource, Mapping
from connector.mapping.templates import ORDER_FIELDS, TemplateError, is_allowed_field, template_fields
from connector.mapping.yaml_source import KeyPath, YamlDocument, read_yaml

_TYPE_WORDS = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number, e.g. 0.5 (not inf or nan)",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list, e.g. [1, 2]",
    "dict_type": "a table of 'key: value' lines",
    "model_type": "a section of 'key: value' lines",
    "model_attributes_type": "a section of 'key: value' lines",
}
#: Tags of the quantities union: pydantic puts them in the error location, the file does not have them.
_UNION_TAGS = {"confirmed_fields", "ready_flag"}


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _fields_at(path: KeyPath, data: Any) -> set[str]:
    """The keys the schema allows in the section at ``path`` (the quantities union follows ``source``)."""
    models: list[type[BaseModel]] = [Mapping]
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
        found = [
            m
            for model in models
            if key in model.model_fields
            for m in _models_in(model.model_fields[key].annotation)
        ]
        source = data.get("source") if isinstance(data, dict) else None
        # The quantities union: follow the variant named by `source`, as pydantic does.
        chosen = [
            m for m in found if m.model_fields.get("source") and m.model_fields["source"].default == source
        ]
        models = chosen or found
    return {name for model in models for name in model.model_fields}


def all_key_paths(model: type[BaseModel] = Mapping, prefix: KeyPath = ()) -> list[KeyPath]:
    """Every key path the schema knows (sections and leaves), e.g. ("receipt", "warehouse", "rule")."""
    paths: list[KeyPath] = []
    for name, info in model.model_fields.items():
        paths.append((*prefix, name))
        for sub in _models_in(info.annotation):
            paths.extend(p for p in all_key_paths(sub, (*prefix, name)) if p not in paths)
    return paths


def _unknown_key(doc: YamlDocument, path: KeyPath) -> Problem:
    key = path[-1]
    allowed = _fields_at(path[:-1], doc.data)
    close = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.6)
    if close:
        fix = f"did you mean {close[0]!r}?"
    else:
        paths = all_key_paths()
        elsewhere = [p for p in paths if p[-1] == key] or [
            p for p in paths if difflib.get_close_matches(key, [p[-1]], cutoff=0.8)
        ]
        if elsewhere and elsewhere[0][-1] == key:
            section = ".".join(elsewhere[0][:-1])
            fix = f"move it under '{section}:'" if section else "move it to the top level (no indentation)"
        elif elsewhere:
            fix = f"did you mean {'.'.join(elsewhere[0])!r}?"
        else:
            fix = f"allowed here: {', '.join(sorted(allowed))}"
    return Problem(doc.file, doc.line_of(path), ".".join(path), "unknown key", fix)


def _resolve(loc: tuple[Any, ...], data: Any) -> KeyPath:
    """Turn a pydantic location into the key path as written in the file."""
    path: list[str] = []
    for part in loc:
        if part == "[key]":
            continue
        text = str(part)
        if text in _UNION_TAGS and not (isinstance(data, dict) and text in data):
            continue
        path.append(text)
        data = (
            data.get(part, data.get(text))
            if isinstance(data, dict)
            else (
                data[part] if isinstance(data, list) and isinstance(part, int) and part < len(data) else None
            )
        )
    return tuple(path)


def _quote_hint(doc: YamlDocument, path: KeyPath) -> str:
    node = doc.nodes.get(path)
    if isinstance(node, ScalarNode) and node.style is None:
        return f"write it in quotes: '{node.value}' (unquoted, YAML reads it as a number or true/false)"
    return ""


def _translate(doc: YamlDocument, error: Any) -> Problem | None:
    kind = error["type"]
    path = _resolve(error["loc"], doc.data)
    key = ".".join(path)
    line = doc.line_of(path) or 1
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        quantities = doc.data.get("quantities") if isinstance(doc.data, dict) else None
        ready_flag = isinstance(quantities, dict) and quantities.get("source") == "ready_flag"
        if path == ("quantities", "rejected_field") and ready_flag:
            return None  # told better by combination_problems
        return _unknown_key(doc, path)
    if kind == "literal_error":
        value = doc.nodes.get(path)
        got = value.value if isinstance(value, ScalarNode) else error.get("input")
        allowed = [a.strip().strip("'") for a in ctx.get("expected", "").replace(" or ", ", ").split(",")]
        close = difflib.get_close_matches(str(got), allowed, n=1, cutoff=0.6)
        fix = f"did you mean {close[0]!r}?" if close else f"use one of: {', '.join(allowed)}"
        return Problem(
            doc.file, line, key, f"{got!r} is not allowed here (allowed: {', '.join(allowed)})", fix
        )
    if kind == "union_tag_invalid":
        return Problem(
            doc.file,
            doc.line_of((*path, "source")) or line,
            f"{key}.source",
            f"{ctx.get('tag')!r} is not a quantity source",
            f"use one of: {ctx.get('expected_tags')}",
        )
    if kind == "union_tag_not_found":
        return Problem(
            doc.file,
            line,
            f"{key}.source",
            "the quantity source is missing",
            "add 'source: confirmed_fields' or 'source: ready_flag' to this section",
        )
    if kind == "value_error":
        text = str(ctx.get("error", error["msg"]))
        message, _, fix = text.partition("; ")
        if not path and "header_udfs" in text:  # Mapping's own validator: the message names the table
            path = ("receipt", "header_udfs")
        table = _get_table(doc.data, path)
        udf_table = bool(path) and path[-1] in {"header_udfs", "line_udfs"}
        name = next((str(k) for k in table if f"'{k}'" in text or (udf_table and str(k) in text)), None)
        if name is not None:  # a table validator names the bad entry: point at its line
            path = (*path, name)
        key, line = ".".join(path), doc.line_of(path) or 1
        if not fix and "is not a UDF name" in message:
            fix = (
                f"write it as 'U_{path[-1]}' if that is the UDF's name"
                if table
                else "write the name with its U_ prefix"
            )
        return Problem(doc.file, line, key, message, fix or "see this key in mappings/README.md")
    if kind in _TYPE_WORDS:
        fix = _quote_hint(doc, path) if kind == "string_type" else ""
        word = _TYPE_WORDS[kind]
        return Problem(
            doc.file,
            line,
            key,
            f"must be {word.split(',')[0]}, got {error.get('input')!r}",
            fix or f"write {word}",
        )
    message = str(error["msg"]).replace("Input should be", "must be")
    return Problem(
        doc.file, line, key, f"{message}, got {error.get('input')!r}", "see this key in mappings/README.md"
    )


def inspect_mapping(path: Path, *, display: str | None = None) -> tuple[Mapping | None, list[Problem]]:
    """Read and validate a mapping file; return the Mapping (None if invalid) and every problem."""
    doc = read_yaml(path, display=display)
    problems = list(doc.problems)
    if doc.data is None:
        return None, problems
    mapping: Mapping | None = None
    try:
        mapping = Mapping.model_validate(doc.data)
    except ValidationError as exc:
        problems.extend(p for p in (_translate(doc, e) for e in exc.errors()) if p is not None)
    problems.extend(template_problems(doc))
    problems.extend(combination_problems(doc))
    return (mapping if not problems else None), problems


def load_mapping(path: Path | None) -> Mapping:
    """Load ``path`` (None → the built-in default ``Mapping()``); raise MappingError listing every problem."""
    if path is None:
        return Mapping()
    mapping, problems = inspect_mapping(Path(path), display=str(path))
    if mapping is None:
        lines = [str(p) for p in sorted(problems, key=lambda p: (p.line or 0, p.key))]
        count = f"{len(lines)} problem{'s' if len(lines) != 1 else ''}"
        raise MappingError(f"mapping file {path} is invalid ({count}):\n" + "\n".join(lines), problems=lines)
    return mapping


def order_fields_used(mapping: Mapping) -> set[str]:
    """ProductionOrder header properties the mapping reads: quantity UDFs, flag, dates and template fields."""
    used: set[str] = set()
    source = mapping.quantities
    if isinstance(source, ConfirmedFieldsSource):
        used.add(source.confirmed_field)
        if source.rejected_field:
            used.add(source.rejected_field)
    else:
        used.add(source.ready_field)
    dates = {"order_due_date": {"DueDate"}, "order_posting_date": {"PostingDate"}}
    used |= dates.get(mapping.receipt.doc_date, set())
    if mapping.receipt.warehouse.rule == "order" or mapping.receipt.warehouse.rule.startswith("by_"):
        used.add("Warehouse")  # the rule itself or its fallback
    for _path, template in iter_templates(mapping.model_dump()):
        try:
            names = template_fields(template)
        except TemplateError:
            continue  # a loaded mapping has valid templates; defensive for hand-built ones
        # InventoryUOM is both an order property and an item-master extra: selecting it is harmless.
        used |= {n for n in names if n in ORDER_FIELDS or is_allowed_field(n, frozenset())}
    return used


def _get_table(data: Any, path: KeyPath) -> dict[str, Any]:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else {}
