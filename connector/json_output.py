"""The ``--json`` documents: one JSON object per command run, tagged with its versioned shape.

Every ``--json`` command prints exactly one document on stdout and nothing else there; its
``"schema"`` field names the shape (``b1-backflush.once/1`` …) that docs/json-output.md describes
field by field. A change that removes or changes the meaning of a field raises the number after the
slash; new fields may appear within the same version. A command that fails prints the ``error``
document instead, so a script always gets something ``json.loads`` reads.
"""

from __future__ import annotations

import json
from typing import Any

#: Shape → version. docs/json-output.md has one section per entry (a test keeps them in step).
SCHEMAS: dict[str, int] = {
    "once": 1,
    "demo": 1,
    "status": 1,
    "reconcile": 1,
    "explain": 1,
    "mappings-check": 1,
    "error": 1,
}


def schema_name(kind: str) -> str:
    """``b1-backflush.<kind>/<version>``, the value of a document's ``schema`` field."""
    return f"b1-backflush.{kind}/{SCHEMAS[kind]}"


def document(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with its ``schema`` field first."""
    return {"schema": schema_name(kind), **data}


def dumps(kind: str, data: dict[str, Any]) -> str:
    """The document as one line of ASCII JSON (safe on any console code page; ``jq`` reads it)."""
    return json.dumps(document(kind, data), default=str, ensure_ascii=True)


def error_document(exit_code: int, message: str) -> str:
    """What a failed ``--json`` command prints on stdout (the same message also goes to stderr)."""
    return dumps("error", {"exit_code": exit_code, "message": message})
