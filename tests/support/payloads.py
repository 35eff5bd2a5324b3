"""The pinned real Service Layer payloads (fixtures/sl-payloads, see its README.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PINNED = Path(__file__).parents[2] / "fixtures" / "sl-payloads"


def payload(name: str) -> Any:
    """A pinned real (or SAP-documented) payload."""
    return json.loads((PINNED / name).read_text(encoding="utf-8"))
