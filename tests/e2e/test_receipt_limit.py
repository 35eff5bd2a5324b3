"""B1_MAX_RECEIPTS_PER_CYCLE: a first run on a big backlog posts at most N receipts per cycle and says so;
held orders are still assessed and reported, and the next cycles post the rest, each exactly once."""

from __future__ import annotations

from tests.support.demo import DEMO_HOLDS, DEMO_POSTS, codes_by_entry, receipt_posts


def test_the_cycle_stops_posting_after_the_limit_and_says_so(cli, cli_env, mock_sl, monkeypatch) -> None:
    monkeypatch.setenv("B1_MAX_RECEIPTS_PER_CYCLE", "3")
    ready = len(DEMO_POSTS)  # 7 demo orders are ready to post

    first = cli("once")
    assert first.code == 0, first.err
    assert len(receipt_posts(mock_sl)) == 3
    assert (
        f"Stopped posting after 3 receipt(s) (B1_MAX_RECEIPTS_PER_CYCLE): {ready - 3} more order(s) "
        "are ready and are posted in the next cycle(s)." in first.out
    )

    second = cli("once", "--json").json
    assert len(second["posted"]) == 3 and len(receipt_posts(mock_sl)) == 6
    assert second["receipt_limit"] == 3 and second["deferred"] == 1
    # The limit throttles posting only: every held order is still assessed and reported.
    assert set(codes_by_entry(second)) == set(DEMO_HOLDS)
    third = cli("once", "--json").json
    assert len(third["posted"]) == 1 and third["deferred"] == 0 and third["receipt_limit"] is None
    assert "Stopped posting" not in cli("once").out

    posted = {p["order_entry"] for p in cli("status", "--json").json["recent_postings"]}
    assert posted == set(DEMO_POSTS)
    assert len(receipt_posts(mock_sl)) == ready  # each exactly once


def test_without_the_setting_there_is_no_limit(cli, cli_env, mock_sl) -> None:
    report = cli("once", "--json").json
    assert len(report["posted"]) == len(DEMO_POSTS)
    assert report["deferred"] == 0 and report["receipt_limit"] is None


def test_a_dry_run_lists_every_order_it_would_post(cli, cli_env, mock_sl, monkeypatch) -> None:
    monkeypatch.setenv("B1_MAX_RECEIPTS_PER_CYCLE", "1")
    report = cli("once", "--dry-run", "--json").json
    assert len(report["would_post"]) == len(DEMO_POSTS) and report["deferred"] == 0
