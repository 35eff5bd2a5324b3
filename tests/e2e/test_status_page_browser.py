"""The planner's status page in a real headless Chromium (the OS's package), at phone and desktop width.

The ledger is filled by real cycles against the mock Service Layer: the demo's held orders, a
receipt whose answer was lost (unsettled), a posting key found on two receipts in SAP (duplicate),
and a cycle that failed. The service's endpoint serves it; Playwright drives ``/usr/bin/chromium``
(never a browser of its own). Screenshots of both widths are kept in ``tests/artifacts/``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from connector.composition import build_worker
from connector.endpoint import ServiceEndpoint
from connector.errors import ConnectorError
from connector.ledger import Ledger
from connector.metrics import ServiceMetrics
from tests.support.demo import DEMO_HOLDS, DEMO_LINE_REASONS, number, receipts_for
from tests.support.exactly_once import KEY_FIELD
from tests.support.mock import free_port, make_settings

CHROMIUM = os.environ.get("B1BF_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "status-page"
#: A zone with a half-hour offset, so a time left in UTC (or the service's zone) cannot pass for it.
PLANNER_ZONE = "Asia/Kolkata"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), (
        f"no Chromium at {CHROMIUM}: install the OS package (apt-get install chromium), as .ci/run does"
    )
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def page_url(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """The endpoint of a service whose ledger holds orders, an unsettled posting and a duplicate."""
    from connector.mock_sl.server import MockServiceLayer
    from tests.support.mock import DEMO

    tmp_path = tmp_path_factory.mktemp("status-page")
    with MockServiceLayer(DEMO, port=0) as sl, ExitStack() as stack:
        # A quiet period of an hour: an answer lost without a commit stays unsettled (looked up again later).
        settings = make_settings(sl, "v2", tmp_path, retry_attempts=1, unknown_quiet_period_s=3600)
        worker = build_worker(settings, stack)
        # 1. The answer to order 101's receipt is lost (SAP committed it) ...
        sl.faults.commit_then_drop("InventoryGenEntries", count=1, method="POST")
        worker.run_cycle()
        # ... and the same receipt is posted again by someone else: two receipts, one key.
        [original] = receipts_for(sl, 101)
        worker.client.post(
            "InventoryGenEntries",
            {k: v for k, v in original.items() if k in ("DocDate", "Comments", KEY_FIELD, "JournalMemo")}
            | {"DocumentLines": [{"BaseType": 202, "BaseEntry": 101, "Quantity": 4}]},
        )
        # 2. A good cycle: it finds the duplicate and holds 101.
        worker.run_cycle()
        # 3. Two more chairs confirmed on 116; that receipt's answer is lost (Apache's 502, not committed).
        sl.store.patch("ProductionOrders", 116, {"U_ConfirmedQty": 7.0})
        sl.faults.fail_next("InventoryGenEntries", count=1, status=502, html=True, method="POST")
        worker.run_cycle()
        # 4. SAP fails while 116's receipt is looked up: a failed cycle, 116 still unsettled.
        sl.faults.fail_next("InventoryGenEntries", count=1, status=500, method="GET")
        with pytest.raises(ConnectorError):
            worker.run_cycle()

        port = free_port()
        stop = ServiceEndpoint(settings, ServiceMetrics()).serve("127.0.0.1", port)
        stack.callback(stop)
        yield f"http://127.0.0.1:{port}/", settings.ledger_path


def open_page(browser, url: str, width: int):
    context = browser.new_context(
        viewport={"width": width, "height": 900}, timezone_id=PLANNER_ZONE, locale="en-GB"
    )
    page = context.new_page()
    page.set_default_timeout(5000)  # everything is on the page at once; no need to wait long
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Works offline: the page asks for nothing but itself (no fonts, scripts or styles from elsewhere).
    page.on("request", lambda r: r.url.startswith(url) or errors.append(f"fetched {r.url}"))
    page.goto(url)
    return context, page, errors


@pytest.mark.parametrize("width", [390, 1280])
def test_held_orders_banner_and_cycles_are_readable_at_phone_and_desktop_width(browser, page_url, width):
    url, ledger_path = page_url
    context, page, errors = open_page(browser, url, width)
    try:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / f"status-{width}px.png"
        page.screenshot(path=str(shot), full_page=True)
        (ARTIFACTS / "status.html").write_text(page.content(), encoding="utf-8")
        print(f"screenshot: {shot}")

        assert errors == []
        viewport = page.locator("meta[name=viewport]").get_attribute("content")
        assert viewport == "width=device-width, initial-scale=1"
        assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("window.innerWidth")
        # Nothing is cut off: no element's content is wider than its box.
        clipped = page.evaluate(
            """[...document.querySelectorAll('main *')].filter(e => e.offsetParent !== null
                   && e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible')
                 .map(e => e.tagName + '.' + e.className)"""
        )
        assert clipped == []

        # The red banner comes first and names the duplicate and the unsettled receipt.
        banner = page.locator("#banner")
        assert banner.is_visible()
        first_section = page.locator("main > section").first
        assert first_section.get_attribute("id") == "banner"
        banner_text = banner.inner_text()
        assert "1 posting key found on more than one receipt in SAP" in banner_text
        assert "1 receipt not settled" in banner_text
        assert str(number(101)) in banner_text and str(number(116)) in banner_text
        assert page.evaluate("getComputedStyle(document.querySelector('#banner')).backgroundColor") == (
            "rgb(253, 236, 236)"
        )

        # Cycles in one paragraph: the last good one, what came after, and the failed latest one.
        cycles = page.locator("#cycles").inner_text()
        assert "Last good cycle" in cycles and "not ok" in cycles
        assert "2 cycles not ok (1 answer lost, 1 failed)" in cycles
        assert "Latest cycle" in cycles and "failed" in cycles
        assert page.locator("#cycles tr").count() == 0  # no row per cycle

        # Held orders: grouped by reason code with counts, what to do, SAP's 1-based line numbers.
        expected: dict[str, int] = {}
        for code in [*DEMO_HOLDS.values(), "DUPLICATE_IN_SAP"]:
            expected[code] = expected.get(code, 0) + 1
        groups = page.locator("#held .group")
        shown = {
            groups.nth(i).get_attribute("data-code"): groups.nth(i).locator(".count").inner_text()
            for i in range(groups.count())
        }
        assert shown == {code: f"{n} order{'s' if n > 1 else ''}" for code, n in expected.items()}
        assert page.locator("#held h2").inner_text() == f"Held orders ({len(DEMO_HOLDS) + 1})"
        for entry, (line_number, component) in DEMO_LINE_REASONS.items():
            order_cell = page.locator("td[data-label=Order]", has_text=re.compile(rf"^{number(entry)}$"))
            row = page.locator("#held tr").filter(has=order_cell)
            assert row.locator("td[data-label=Line]").inner_text() == str(line_number + 1)
            assert row.locator("td[data-label=Component]").inner_text() == component
            assert row.is_visible()
        stock = page.locator("#held .group[data-code=INSUFFICIENT_STOCK]")
        assert "What to do:" in stock.locator(".todo").inner_text()

        # "Since when" in the planner's local time (the browser's zone), not UTC.
        ledger = Ledger(ledger_path)
        try:
            first_held = next(h for h in ledger.holds() if h["order_entry"] == 107)["first_held"]
        finally:
            ledger.close()
        local = datetime.fromisoformat(first_held).astimezone(ZoneInfo(PLANNER_ZONE))
        since = stock.locator("td[data-label='Held since'] time").inner_text()
        assert local.strftime("%H:%M") in since and "GMT+5:30" in since, since

        # The filter box narrows every table to the rows containing the text, and the groups with them;
        # the red banner stays whole.
        page.fill("#filter", "foam-low")
        visible_rows = page.locator("main > section:not(#banner) tr[data-filter]:visible")
        assert visible_rows.count() == 1
        assert page.locator("#banner tr[data-filter]:visible").count() == 2
        assert visible_rows.first.locator("td[data-label=Order]").inner_text() == str(number(107))
        assert page.locator("#held .group:visible").count() == 1
        assert page.locator("#filter-count").inner_text().startswith("1 of ")
        assert "q=foam-low" in page.url  # kept across the page's own refresh
        page.fill("#filter", "")
        assert page.locator("#held .group:visible").count() == len(expected)
        assert errors == []
    finally:
        context.close()


def test_sap_text_with_markup_stays_text_in_the_browser(browser, tmp_path):
    """A message from SAP that is markup shows as text and runs nothing."""
    from connector.status_page import status_html

    hostile = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
    data = {
        "company": "ACME<b>",
        "counts": {"posted": 1},
        "recent_postings": [],
        "unsettled": [],
        "duplicates": [],
        "rejected": [],
        "held": [
            {
                "order_entry": 1,
                "order_number": 42,
                "item": hostile,
                "first_held": "2026-12-01T08:00:00+00:00",
                "reasons": [{"code": "SL_REJECTED", "line": None, "item": None, "message": hostile}],
            }
        ],
        "cycles": {},
    }
    page_file = tmp_path / "page.html"
    page_file.write_text(status_html(data), encoding="utf-8")
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(page_file.as_uri())
        assert page.evaluate("window.pwned") is None
        assert page.locator("td[data-label=Why]").inner_text() == hostile
        assert "ACME<b>" in page.locator("h1").inner_text()
    finally:
        context.close()
