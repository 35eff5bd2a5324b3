"""Hostile or careless YAML in a mapping file: anchors/aliases and non-finite numbers are refused with
FILE:LINE, what and the fix — never a RecursionError, never gigabytes of memory."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from connector.errors import MappingError
from connector.mapping.loader import load_mapping
from tests.support.hostile_yaml import billion_laughs

FILE = "mappings/acme.yaml"
ANCHOR_FIX = "write the value out in full wherever it is used (remove every '&name' and '*name')"


def _problems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> list[str]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mappings").mkdir(exist_ok=True)
    (tmp_path / FILE).write_text(text, encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        load_mapping(Path(FILE))
    return caught.value.problems


def test_a_billion_laughs_file_is_refused_at_its_first_anchor_in_little_memory(tmp_path, monkeypatch):
    tracemalloc.start()
    try:
        # 6 levels (531441 strings) keep a regression a clean failure here instead of a hang.
        problems = _problems(tmp_path, monkeypatch, billion_laughs(6))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert problems == [
        f"{FILE}:2: YAML anchors (&name) and aliases (*name) are not allowed, found '&l0' — {ANCHOR_FIX}"
    ]
    assert peak < 5_000_000, f"{peak} bytes for a 10-line file"


def test_a_self_referencing_alias_is_refused_not_a_recursion_error(tmp_path, monkeypatch):
    problems = _problems(tmp_path, monkeypatch, "version: 1\ndescription: &me [*me]\n")
    assert problems == [
        f"{FILE}:2: YAML anchors (&name) and aliases (*name) are not allowed, found '&me' — {ANCHOR_FIX}"
    ]


def test_an_alias_is_refused_at_its_own_line(tmp_path, monkeypatch):
    # The anchor on a value the file does not use (an unknown top-level key is caught later) still
    # stops the file: refusing at the anchor keeps the rule simple for consultants.
    text = "version: 1\ncandidates:\n  series: [1, 2]\n  warehouses: *wh\n"
    problems = _problems(tmp_path, monkeypatch, text)
    assert problems == [
        f"{FILE}:4: YAML anchors (&name) and aliases (*name) are not allowed, found '*wh' — {ANCHOR_FIX}"
    ]


def test_non_finite_numbers_are_refused_at_their_key_and_line(tmp_path, monkeypatch):
    text = (
        "version: 1\n"
        "policies:\n"
        "  stock:\n"
        "    tolerance: .inf\n"
        "  manual_issue:\n"
        '    tolerance: "nan"\n'
        "  over_receipt:\n"
        "    tolerance_percent: .NaN\n"
        "receipt:\n"
        "  header_udfs:\n"
        "    U_Big: 1.0e+999\n"
        "    U_Fine: 0.5\n"
    )
    fix = "write an ordinary number, e.g. 0.5 (infinity and NaN are not allowed)"
    assert _problems(tmp_path, monkeypatch, text) == [
        f"{FILE}:4: policies.stock.tolerance: '.inf' is not a finite number — {fix}",
        f"{FILE}:6: policies.manual_issue.tolerance: must be a finite number, got 'nan' — "
        "write a finite number, e.g. 0.5 (not inf or nan)",
        f"{FILE}:8: policies.over_receipt.tolerance_percent: '.NaN' is not a finite number — {fix}",
        f"{FILE}:11: receipt.header_udfs.U_Big: '1.0e+999' is not a finite number — {fix}",
    ]
