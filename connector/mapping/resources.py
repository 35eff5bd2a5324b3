"""What the wheel ships beside the mapping code, read through ``importlib.resources``.

- ``default.yaml``: the default mapping with every key written out and commented (it equals the
  built-in ``Mapping()``, a test keeps the two equal). ``mappings/default.yaml`` in the repository is
  its byte-for-byte copy for consultants browsing a checkout; a test keeps the two identical.
- ``schema.json``: the JSON Schema editors use to check a mapping file while it is typed.

``b1-backflush mappings default`` and ``mappings schema`` print them, so a consultant with only the
installed package can start a file and have the editor check it.
"""

from __future__ import annotations

from importlib.resources import files

_PACKAGE = "connector.mapping"
_SCHEMA_LINE = "# yaml-language-server: $schema="


def default_mapping_text() -> str:
    """The commented default mapping, exactly as shipped."""
    return files(_PACKAGE).joinpath("default.yaml").read_text(encoding="utf-8")


def default_mapping_for_a_new_file() -> str:
    """The default mapping to save as a new file: its schema line points at ``schema.json`` beside it
    (the shipped line points into a checkout, which a new file's folder does not have)."""
    first, _, rest = default_mapping_text().partition("\n")
    if first.startswith(_SCHEMA_LINE):
        first = _SCHEMA_LINE + "schema.json"
    return f"{first}\n{rest}"


def schema_text() -> str:
    """The mapping files' JSON Schema, exactly as shipped."""
    return files(_PACKAGE).joinpath("schema.json").read_text(encoding="utf-8")
