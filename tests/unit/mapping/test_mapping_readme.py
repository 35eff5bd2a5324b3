"""mappings/README.md stays complete: every key, function, reason code, and its examples are true."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from connector.mapping.loader import all_key_paths
from connector.mapping.templates import FUNCTIONS, ORDER_FIELDS, render_template
from connector.production.reasons import REASON_HELP

ROOT = Path(__file__).resolve().parents[3]
README = (ROOT / "mappings" / "README.md").read_text(encoding="utf-8")

#: Keys that are sections (documented by their own heading) rather than table rows.
SECTIONS = {
    "candidates",
    "quantities",
    "receipt",
    "finished_good",
    "idempotency",
    "policies",
    "receipt.warehouse",
    "finished_good.batch",
    "finished_good.serial",
    "policies.manual_issue",
    "policies.stock",
    "policies.over_receipt",
    "quantities.source",
}


def test_readme_lists_every_reason_code() -> None:
    missing = [code for code in REASON_HELP if f"`{code}`" not in README]
    assert missing == []


@pytest.mark.parametrize("code", list(REASON_HELP))
def test_readme_says_what_to_do_in_the_words_the_status_page_shows(code: str) -> None:
    # REASON_HELP is the one table of planner actions: the status page renders it, the README repeats it.
    help_ = REASON_HELP[code]
    assert f"| `{code}` | {help_.title}. | {help_.what_to_do} |" in README.splitlines()


@pytest.mark.parametrize("path", [".".join(p) for p in all_key_paths()])
def test_readme_documents_every_key(path: str) -> None:
    last = path.rsplit(".", 1)[-1]
    assert f"`{path}`" in README or f"`{last}`" in README or path in SECTIONS, path


def test_readme_lists_every_function_and_order_field() -> None:
    assert [f for f in FUNCTIONS if f"`{f}(" not in README] == []
    missing = [f for f in ORDER_FIELDS if f"`{f}`" not in README and not f.startswith("DistributionRule")]
    assert missing == []


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{DocumentNumber}", "1042"),
        ("{DocumentNumber}-{today:%Y%m%d}", "1042-20260425"),
        ("{ItemNo}-{serial:04d}", "FG-Widget-0001"),
        ("{upper(ItemNo)}", "FG-WIDGET"),
        ("{left(ItemNo, 2)}{right(DocumentNumber, 2)}", "FG42"),
        ("Order {{{DocumentNumber}}}", "Order {1042}"),
    ],
)
def test_readme_template_examples_are_true(template: str, expected: str) -> None:
    assert f'`"{template}"` | `{expected}`' in README
    values = {"DocumentNumber": 1042, "ItemNo": "FG-Widget", "today": date(2026, 4, 25), "serial": 1}
    assert render_template(template, values) == expected
