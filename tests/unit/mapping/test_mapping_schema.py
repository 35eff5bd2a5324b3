"""schema.json: up to date with the spec, a valid JSON Schema, and every shipped mapping validates."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from connector.mapping.schema import SCHEMA_PATH, build_schema, render_schema
from connector.mapping.yaml_source import read_yaml

ROOT = Path(__file__).resolve().parents[3]
MAPPING_FILES = sorted((ROOT / "mappings").rglob("*.yaml"))


def test_schema_json_is_up_to_date() -> None:
    # If this fails: python -m connector.mapping.schema
    assert json.loads(SCHEMA_PATH.read_text(encoding="utf-8")) == build_schema()
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render_schema()


def test_schema_is_a_valid_json_schema() -> None:
    schema = build_schema()
    jsonschema.Draft202012Validator.check_schema(schema)  # raises SchemaError when it is not
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors({"version": 1})) == []  # the smallest mapping: all defaults
    assert list(validator.iter_errors({"version": 2})), "a version the loader refuses is refused here too"
    assert list(validator.iter_errors({"version": 1, "no_such_key": 1})), "unknown keys are refused"


def test_schema_describes_every_key() -> None:
    schema = build_schema()
    missing = [
        f"{name}.{prop}"
        for name, definition in [("Mapping", schema), *schema["$defs"].items()]
        for prop, body in definition.get("properties", {}).items()
        if not body.get("description")
    ]
    assert missing == []


@pytest.mark.parametrize("path", MAPPING_FILES, ids=[p.name for p in MAPPING_FILES])
def test_schema_accepts_shipped_mapping(path: Path) -> None:
    data = read_yaml(path).data
    errors = list(jsonschema.Draft202012Validator(build_schema()).iter_errors(data))
    assert errors == []


@pytest.mark.parametrize(
    "data",
    [
        {"receipt": {"warehous": "x"}},
        {"receipt": {"doc_date": "tody"}},
        {"receipt": {"header_udfs": {"B1BF_Source": "x"}}},
        {"quantities": {"confirmed_field": "U_X"}},
        {"quantities": {"source": "ready_flag", "ready_field": "ReadyToReceive"}},
        {"idempotency": {"key_field": "Reference2"}},
    ],
)
def test_schema_rejects_mistakes_in_the_editor(data: dict[str, object]) -> None:
    assert list(jsonschema.Draft202012Validator(build_schema()).iter_errors(data)) != []


def test_mapping_files_found() -> None:
    names = {p.relative_to(ROOT / "mappings").as_posix() for p in MAPPING_FILES}
    assert {
        "default.yaml",
        "examples/partial-confirmations-reject-warehouse.yaml",
        "examples/ready-flag-batch-close.yaml",
    } <= names
