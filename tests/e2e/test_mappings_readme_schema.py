"""What a consultant reads and what the editor checks agree: mappings/README.md ⇄ schema.json ⇄ the files.

- every key README documents is a key of the shipped schema.json, and every key of schema.json is
  documented in README with its full path; the Default column of README's key tables is the real
  default;
- every mapping file in mappings/ names the shipped schema on its first line (the editor's
  ``# yaml-language-server: $schema=...``) and validates against the file that line points at.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from connector.mapping import spec
from connector.mapping.schema import SCHEMA_PATH
from connector.mapping.yaml_source import MappingYamlLoader, read_yaml
from tests.support.mappings import MAPPINGS, MAPPINGS_README

README = MAPPINGS_README.read_text(encoding="utf-8")
SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
MAPPING_FILES = sorted(MAPPINGS.rglob("*.yaml"))
MAPPING_IDS = [p.relative_to(MAPPINGS).as_posix() for p in MAPPING_FILES]
SCHEMA_LINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$")


def _schema_keys(
    node: dict[str, Any], definition: str = "Mapping", prefix: tuple[str, ...] = ()
) -> dict[str, tuple[str, str] | None]:
    """Every key path of schema.json → (its $defs name, property) for leaves, None for sections."""
    keys: dict[str, tuple[str, str] | None] = {}
    for name, prop in node.get("properties", {}).items():
        path = (*prefix, name)
        refs = [o["$ref"] for o in [prop, *prop.get("anyOf", []), *prop.get("oneOf", [])] if "$ref" in o]
        if refs:
            keys[".".join(path)] = None
            for ref in refs:
                target = ref.rsplit("/", 1)[-1]
                keys |= _schema_keys(SCHEMA["$defs"][target], target, path)
        else:
            keys[".".join(path)] = (definition, name)
    return keys


SCHEMA_KEYS = _schema_keys(SCHEMA)
LEAVES = {path: where for path, where in SCHEMA_KEYS.items() if where is not None}
#: Keys README mentions as `a.b.c` (file names such as `default.yaml` aside) and its top-level keys.
README_PATHS = {
    p
    for p in re.findall(r"`([a-z_][a-z_0-9]*(?:\.[a-z_0-9]+)+)`", README)
    if not re.search(r"\.(ya?ml|json|md)$", p)
}
README_TOP_LEVEL = set(re.findall(r"^(?:### )?`([a-z_]+)` —", README, re.M))
#: README's key tables: | `key` | `default` ... |
README_ROWS = re.findall(r"^\| `([a-z_]+(?:\.[a-z_0-9]+)+)` \| ([^|]+) \|", README, re.M)


def test_schema_keys_found() -> None:
    # Guards the walk below: sections and leaves of every part of the file, both quantity sources.
    assert {
        "receipt.warehouse",
        "quantities.ready_value",
        "quantities.rejected_field",
        "finished_good.serial.number",
        "policies.over_receipt.tolerance_percent",
    } <= set(SCHEMA_KEYS)
    assert len(LEAVES) == 34 and len(README_ROWS) == 30


def test_every_key_readme_documents_is_in_the_schema() -> None:
    assert sorted((README_PATHS | README_TOP_LEVEL) - set(SCHEMA_KEYS)) == []
    assert sorted(key for key, _ in README_ROWS if key not in LEAVES) == []


def test_every_schema_key_is_documented_in_the_readme_with_its_full_path() -> None:
    assert sorted(set(LEAVES) - README_PATHS - README_TOP_LEVEL) == []


@pytest.mark.parametrize(("key", "cell"), README_ROWS, ids=[key for key, _ in README_ROWS])
def test_readme_default_column_is_the_real_default(key: str, cell: str) -> None:
    written = re.match(r"\s*`([^`]*)`", cell)
    assert written, f"{key}: the Default column starts with the value in backquotes, got {cell!r}"
    definition, prop = LEAVES[key]
    real = getattr(getattr(spec, definition)(), prop)  # e.g. BatchRule().number: the section's default
    assert yaml.load(written[1], Loader=MappingYamlLoader) == real  # the safe mapping loader


@pytest.mark.parametrize("path", MAPPING_FILES, ids=MAPPING_IDS)
def test_mapping_file_names_the_shipped_schema_and_validates_against_it(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = SCHEMA_LINE.match(first)
    assert match, f"{path.name}: the first line must be '# yaml-language-server: $schema=...', got {first!r}"
    target = (path.parent / match[1]).resolve()
    assert target == SCHEMA_PATH.resolve(), f"{path.name}: $schema points at {target}"
    validator = jsonschema.Draft202012Validator(json.loads(target.read_text(encoding="utf-8")))
    assert [e.message for e in validator.iter_errors(read_yaml(path).data)] == []
    assert not validator.is_valid({"receipt": {"warehous": "01"}})  # the schema the editor gets is strict
