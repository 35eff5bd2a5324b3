"""The test suite's own rules: shared helpers live in tests/support/, and every test checks something.

A test module that imports another test module or a conftest.py runs that module's tests' import-time code
twice under two names, couples unrelated tests, and hides where a helper lives. So every import of
something under tests/ must name ``tests.support``; conftest.py files hold fixtures only (they import
their helpers from tests/support/ too), and tests/support/ never imports a test module.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _local_module_names() -> set[str]:
    """Every module or package name under tests/ (``test_ledger``, ``conftest``, ``e2e``, ...)."""
    names = {path.stem for path in TESTS.rglob("*.py")}
    names |= {path.name for path in TESTS.rglob("*") if path.is_dir() and path.name != "__pycache__"}
    return names - {"__init__", "support"}


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, dotted module) of every import in ``path``; relative imports keep their leading dots."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            if node.module is None:  # ``from . import x`` / ``from tests import x``: x are modules
                found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, module))
                if module == "tests":
                    found += [(node.lineno, f"tests.{alias.name}") for alias in node.names]
    return found


def _offending(module: str, local: set[str]) -> bool:
    if module.startswith("."):
        return True  # tests/ is no package tree; a relative import reaches a sibling test module
    parts = module.split(".")
    if parts[0] == "tests":
        return len(parts) < 2 or parts[1] != "support"
    return parts[0] in local  # ``from conftest import ...``, ``from sl_helpers import ...`` via sys.path


def test_no_test_module_or_conftest_imports_another_test_module_or_a_conftest():
    local = _local_module_names()
    offences = [
        f"{path.relative_to(TESTS.parent)}:{line}: imports {module}"
        for path in sorted(TESTS.rglob("*.py"))
        if "__pycache__" not in path.parts
        for line, module in _imported_modules(path)
        if _offending(module, local)
    ]
    assert offences == [], (
        "move the shared helper into tests/support/ and import it from there:\n" + "\n".join(offences)
    )


def test_the_check_sees_each_kind_of_forbidden_import(tmp_path):
    """The scan above would pass vacuously if it missed an import form; each form is caught here."""
    local = {"conftest", "test_crash_points", "sl_unit_helpers", "e2e"}
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "import conftest\n"
        "from conftest import x\n"
        "from tests.conftest import y\n"
        "from tests.e2e.conftest import z\n"
        "from tests.reliability import test_crash_points\n"
        "from tests import e2e\n"
        "from sl_unit_helpers import w\n"
        "from . import helpers\n"
        "from tests.support.mock import make_settings\n"
        "from tests.support import crash_worker\n"
        "import pytest\n",
        encoding="utf-8",
    )
    flagged = sorted({line for line, module in _imported_modules(sample) if _offending(module, local)})
    assert flagged == [1, 2, 3, 4, 5, 6, 7, 8]


def test_support_modules_define_no_tests_and_no_fixtures():
    """tests/support/ is imported, never collected: a test or fixture there would run or resolve twice."""
    found = []
    for path in sorted((TESTS / "support").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                is_test = node.name.startswith("test_")
                is_fixture = any("fixture" in ast.unparse(d) for d in node.decorator_list)
                if is_test or is_fixture:
                    found.append(f"{path.name}:{node.lineno} {node.name}")
    assert found == []


def test_conftest_files_hold_fixtures_and_hooks_only():
    """A helper function or class in a conftest.py invites ``from conftest import``; it goes to support/."""
    found = []
    for path in sorted(TESTS.rglob("conftest.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef):
                found.append(f"{path.relative_to(TESTS.parent)}:{node.lineno} class {node.name}")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                is_fixture = any("fixture" in ast.unparse(d) for d in node.decorator_list)
                if not (is_fixture or node.name.startswith("pytest_")):
                    found.append(f"{path.relative_to(TESTS.parent)}:{node.lineno} def {node.name}")
    assert found == []


def _checks_something(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """An ``assert``, ``pytest.raises``/``pytest.fail``, or a call of an ``assert_*`` helper."""
    for node in ast.walk(function):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if name in ("pytest.raises", "pytest.fail") or name.split(".")[-1].startswith("assert_"):
                return True
    return False


def test_every_test_checks_something():
    """A test without an assertion passes whatever the code does (issue 12: the session tests had none)."""
    silent = [
        f"{path.relative_to(TESTS.parent)}:{node.lineno} {node.name}"
        for path in sorted(TESTS.rglob("test_*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
        and not _checks_something(node)
    ]
    assert silent == [], "assert what the user relies on:\n" + "\n".join(silent)
