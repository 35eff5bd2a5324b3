"""The import directions documented in docs/architecture.md ("Rooms and what they may import") hold.

The test reads the room table from the document itself and the imports of every module of
``connector/`` with ``ast``, so the document and the code cannot drift apart.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "connector"
DOC = ROOT / "docs/architecture.md"
#: Third-party modules only the Service Layer client may import.
HTTP_LIBRARIES = {"requests", "urllib3"}
EVERYTHING = "*"


def room_table() -> dict[str, set[str]]:
    """``room → the rooms it may import``, from the table in docs/architecture.md."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Rooms and what they may import", 1)[1].split("\n## ", 1)[0]
    table: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        allowed = set(re.findall(r"`([^`]+)`", cells[2]))
        for room in re.findall(r"`([^`]+)`", cells[0]):
            table[room] = allowed
    return table


def module_path(dotted: str) -> str | None:
    """``connector.sl.client`` → ``sl/client.py``; a package → ``pkg/__init__.py``; None if not ours."""
    parts = dotted.split(".")
    if parts[0] != "connector":
        return None
    rest = parts[1:]
    if not rest:
        return "__init__.py"
    if (PACKAGE.joinpath(*rest)).is_dir():
        return "/".join(rest) + "/__init__.py"
    return "/".join(rest) + ".py"


def imports_of(path: Path, source: str | None = None) -> tuple[set[str], set[str]]:
    """(connector modules imported, as ``sl/client.py`` paths; top-level third-party names)."""
    ours: set[str] = set()
    theirs: set[str] = set()
    dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    tree = ast.parse(source if source is not None else path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = dotted.split(".")[: -node.level]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # ``from connector import cli`` imports the module connector.cli; ``from x import name``
                # imports module x.
                as_module = module_path(f"{base}.{alias.name}")
                names.append(f"{base}.{alias.name}" if as_module and (PACKAGE / as_module).exists() else base)
        for name in names:
            target = module_path(name)
            if target is None:
                theirs.add(name.split(".")[0])
            elif (PACKAGE / target).exists():
                ours.add(target)
    return ours, theirs


def room_of(path: str, table: dict[str, set[str]]) -> str:
    """The most specific row for ``path`` (``mapping/check.py`` before ``mapping/``), else ``*``."""
    if path in table:
        return path
    if "/" in path and path.split("/")[0] + "/" in table:
        return path.split("/")[0] + "/"
    return EVERYTHING


def allowed(target: str, rules: set[str]) -> bool:
    return target in rules or ("/" in target and target.split("/")[0] + "/" in rules)


MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


def test_the_table_names_only_rooms_that_exist() -> None:
    table = room_table()
    assert {"sl/", "production/", "mapping/", "cli.py", "composition.py", EVERYTHING} <= set(table)
    for room in set(table) | set().union(*table.values()):
        if room != EVERYTHING:
            assert (PACKAGE / room).exists(), f"docs/architecture.md names {room}, which is not in connector/"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_module_imports_only_what_its_room_may(path: Path) -> None:
    table = room_table()
    here = str(path.relative_to(PACKAGE)).replace("\\", "/")
    room = room_of(here, table)
    ours, _theirs = imports_of(path)
    own = room.rstrip("/") + "/" if room.endswith("/") else None
    rules = table[room]
    wrong = []
    for target in sorted(ours):
        if target == here or (own and target.startswith(own)) or target == "__init__.py":
            continue
        if room == EVERYTHING and EVERYTHING not in rules:
            forbidden = {"cli.py", "composition.py", "service.py"}
            if target in forbidden:
                wrong.append(target)
            continue
        if EVERYTHING in rules:
            continue
        if not allowed(target, rules):
            wrong.append(target)
    assert not wrong, (
        f"connector/{here} (room {room}) imports {wrong}; docs/architecture.md allows it {sorted(rules)}. "
        "Move the code to the room it belongs to, or change the table if the design changed."
    )


def test_only_the_service_layer_client_imports_requests() -> None:
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in MODULES
        if not str(path.relative_to(PACKAGE)).startswith("sl/") and imports_of(path)[1] & HTTP_LIBRARIES
    ]
    assert offenders == []


def test_nothing_imports_the_command_line_and_only_the_entry_points_build_the_worker() -> None:
    importers: dict[str, list[str]] = {"cli.py": [], "composition.py": []}
    for path in MODULES:
        here = str(path.relative_to(PACKAGE)).replace("\\", "/")
        for target in imports_of(path)[0] & set(importers):
            if target != here:
                importers[target].append(here)
    assert importers["cli.py"] == []
    assert sorted(importers["composition.py"]) == ["cli.py", "service.py"]


def test_the_checker_sees_a_wrong_import() -> None:
    """The parser finds imports in every form the code uses (else the table test could not fail)."""
    probe = PACKAGE / "production" / "rules.py"
    source = (
        "from connector.sl import odata\nimport requests\nfrom connector import cli\n"
        "from connector.mapping import spec\ndef f():\n    from ..ledger import Ledger\n"
    )
    ours, theirs = imports_of(probe, source)
    assert ours == {"sl/odata.py", "cli.py", "ledger.py", "mapping/spec.py"} and theirs == {"requests"}
    table = room_table()
    assert not allowed("sl/odata.py", table["production/"]) and not allowed("ledger.py", table["production/"])
    assert allowed("mapping/spec.py", table["production/"])
