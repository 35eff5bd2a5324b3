"""posting_key: deterministic, human-searchable, canonical decimals, ≤ 100 characters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.production.receipt import POSTING_KEY_MAX_CHARS, key_belongs_to, key_prefix, posting_key
from tests.support.production_factories import order, plan


@pytest.mark.parametrize(
    ("completed", "good", "rejected_before", "rejected", "key"),
    [
        (0.0, 4.0, 0.0, 0.0, "SBODEMOUS/101/C4/R0"),
        (0.0, 4.5, 0.0, 0.0, "SBODEMOUS/101/C4.5/R0"),
        (0.0, 0.125, 0.0, 1.0, "SBODEMOUS/101/C0.125/R1"),
        (0.1, 0.2, 0.0, 0.0, "SBODEMOUS/101/C0.3/R0"),  # float noise never reaches the key
        (4.0, 0.0000001, 0.0, 0.0, "SBODEMOUS/101/C4/R0"),
        (0.0, 0.00001, 0.0, 0.0, "SBODEMOUS/101/C0.00001/R0"),  # never 1e-05
        (6.0, 4.0, 1.0, 1.0, "SBODEMOUS/101/C10/R2"),
        (0.0, 1200.0, 0.0, 0.0, "SBODEMOUS/101/C1200/R0"),
    ],
)
def test_posting_key_canonical_text(
    completed: float, good: float, rejected_before: float, rejected: float, key: str
) -> None:
    o = order(CompletedQuantity=completed, RejectedQuantity=rejected_before)
    assert (
        posting_key(
            "SBODEMOUS", o, plan(good, rejected, completed=completed, rejected_before=rejected_before)
        )
        == key
    )


def test_posting_key_same_targets_from_different_steps_are_equal() -> None:
    # 4 received earlier + 3 now, or nothing earlier + 7 now: both end at completed 7 → one key.
    first = posting_key("SBO", order(CompletedQuantity=4.0), plan(3, completed=4.0))
    second = posting_key("SBO", order(CompletedQuantity=0.0), plan(7))
    assert first == second == "SBO/101/C7/R0"


def test_posting_key_long_company_is_truncated_with_hash() -> None:
    long_a, long_b = "X" * 150 + "A", "X" * 150 + "B"
    key_a = posting_key(long_a, order(), plan(4))
    key_b = posting_key(long_b, order(), plan(4))
    assert len(key_a) <= POSTING_KEY_MAX_CHARS and len(key_b) <= POSTING_KEY_MAX_CHARS
    assert key_a != key_b
    assert key_a.endswith("/101/C4/R0") and key_a.startswith("XXXX")
    assert posting_key(long_a, order(), plan(4)) == key_a


quantities = st.decimals(min_value=0, max_value=10**9, places=6, allow_nan=False).map(float)
companies = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FF, exclude_characters="/"),
    min_size=1,
    max_size=140,
)


@given(
    company=companies,
    entry=st.integers(1, 2**31 - 1),
    completed=quantities,
    good=quantities,
    rejected_before=quantities,
    rejected=quantities,
    noise=st.integers(0, 10**6),
)
def test_posting_key_is_a_function_of_company_entry_and_targets(
    company: str,
    entry: int,
    completed: float,
    good: float,
    rejected_before: float,
    rejected: float,
    noise: int,
) -> None:
    the_plan = plan(good, rejected, completed=completed, rejected_before=rejected_before)
    base = order(AbsoluteEntry=entry, CompletedQuantity=completed, RejectedQuantity=rejected_before)
    # Anything else about the order (number, product, UDFs, status) must not change the key.
    other = order(
        AbsoluteEntry=entry,
        CompletedQuantity=completed,
        RejectedQuantity=rejected_before,
        DocumentNumber=noise,
        ItemNo=f"P{noise}",
        U_ConfirmedQty=noise,
        ProductionOrderStatus="x",
    )
    key = posting_key(company, base, the_plan)
    assert key == posting_key(company, other, the_plan)
    assert len(key) <= POSTING_KEY_MAX_CHARS
    assert "e-" not in key.split("/", 1)[-1].lower() and "e+" not in key.split("/", 1)[-1].lower()
    # Different targets give different keys.
    bumped = plan(good + 0.5, rejected, completed=completed, rejected_before=rejected_before)
    assert posting_key(company, base, bumped) != key
    assert posting_key(company, order(AbsoluteEntry=entry + 1), the_plan) != key


@given(
    company=st.text(alphabet=st.characters(codec="utf-8", exclude_characters="/"), min_size=1, max_size=140),
    other=st.text(alphabet="ABCXYZ_", min_size=1, max_size=12),
)
def test_key_belongs_to_recognises_its_company_short_or_hashed(company: str, other: str) -> None:
    key = posting_key(company, order(AbsoluteEntry=7), plan(3))
    assert key_belongs_to(company, key)
    if other != company:
        assert not key_belongs_to(other, key)


def test_key_belongs_to_refuses_text_that_is_not_a_key() -> None:
    assert not key_belongs_to("SBO", "SBO")
    assert not key_belongs_to("SBO", "typed by hand")


@given(
    company=st.text(alphabet=st.characters(codec="utf-8", exclude_characters="/"), min_size=1, max_size=140),
    completed=st.floats(min_value=0, max_value=1e15),
    rejected=st.floats(min_value=0, max_value=1e15),
    entry=st.integers(min_value=1, max_value=2**31 - 1),
)
def test_every_key_starts_with_the_company_key_prefix(
    company: str, completed: float, rejected: float, entry: int
) -> None:
    key = posting_key(company, order(AbsoluteEntry=entry), plan(completed, rejected))
    assert key.startswith(key_prefix(company))
