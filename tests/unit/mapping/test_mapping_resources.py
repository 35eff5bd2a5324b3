"""What the wheel ships for consultants: the default mapping (one source, its checkout copy identical)
and the JSON Schema, printed by `b1-backflush mappings default` / `mappings schema`."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from connector.cli import main
from connector.mapping import resources
from connector.mapping.loader import load_mapping
from connector.mapping.schema import render_schema
from connector.mapping.spec import Mapping

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "connector" / "mapping" / "default.yaml"
COPY = ROOT / "mappings" / "default.yaml"


def test_the_checkout_copy_of_the_default_mapping_is_byte_identical() -> None:
    assert COPY.read_bytes() == SHIPPED.read_bytes(), (
        "connector/mapping/default.yaml is the default mapping the wheel ships; mappings/default.yaml is "
        "its copy for consultants browsing the repository. Edit the shipped one, then: "
        "cp connector/mapping/default.yaml mappings/default.yaml"
    )


def test_the_shipped_default_mapping_is_the_built_in_default() -> None:
    assert resources.default_mapping_text() == SHIPPED.read_text(encoding="utf-8")
    assert load_mapping(SHIPPED) == Mapping()


def test_mappings_default_prints_a_file_to_start_from(capsys, tmp_path) -> None:
    assert main(["mappings", "default"]) == 0
    text = capsys.readouterr().out
    first, _, rest = text.partition("\n")
    # Saved beside `mappings schema > schema.json`, the editor finds the schema.
    assert first == "# yaml-language-server: $schema=schema.json"
    assert rest == SHIPPED.read_text(encoding="utf-8").partition("\n")[2]
    saved = tmp_path / "acme.yaml"
    saved.write_text(text, encoding="utf-8")
    assert load_mapping(saved) == Mapping()
    assert yaml.safe_load(text)["version"] == 1


def test_mappings_schema_prints_the_shipped_schema(capsys) -> None:
    assert main(["mappings", "schema"]) == 0
    out = capsys.readouterr().out
    assert out == render_schema() == resources.schema_text()
    assert json.loads(out)["title"] == "b1-backflush mapping file"
