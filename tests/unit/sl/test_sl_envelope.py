"""v1/v2 body shapes: errors (incl. Apache HTML), next links, counts, dates."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest

from connector.production.dates import parse_sl_date
from connector.sl import envelope

PAYLOADS = Path(__file__).parent / "payloads"
APACHE_502 = """<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">
<html><head>
<title>502 Proxy Error</title>
</head><body>
<h1>Proxy Error</h1>
<p>The proxy server received an invalid response from an upstream server.<br />
The proxy server could not handle the request
<em><a href="/b1s/v1/Orders/$count">GET&nbsp;/b1s/v1/Orders/$count</a></em>.</p>
</body></html>"""


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {
                "error": {
                    "code": -10,
                    "message": {"lang": "en-us", "value": "Item code 'i002' already exists"},
                }
            },
            ("-10", "Item code 'i002' already exists"),
        ),
        (
            {
                "error": {
                    "code": "-2028",
                    "details": [{"code": "", "message": ""}],
                    "message": "No matching records found (ODBC -2028)",
                }
            },
            ("-2028", "No matching records found (ODBC -2028)"),
        ),
        (
            {
                "error": {
                    "code": 301,
                    "message": {"lang": "en-us", "value": "Invalid session or session already timeout."},
                }
            },
            ("301", "Invalid session or session already timeout."),
        ),
        (
            {"error": {"code": 100000027, "message": {"lang": "en-us", "value": "Login failed"}}},
            ("100000027", "Login failed"),
        ),
        ({"error": {"code": "", "message": ""}}, (None, "")),
        ({"error": "weird"}, (None, None)),
        ({"value": []}, (None, None)),
        (["not", "a", "dict"], (None, None)),
    ],
)
def test_parse_error_reads_both_shapes(body: object, expected: tuple[str | None, str | None]) -> None:
    assert envelope.parse_error(body) == expected


@pytest.mark.parametrize("name", sorted(p.name for p in PAYLOADS.glob("error-*.json")))
def test_parse_error_reads_every_captured_payload(name: str) -> None:
    body = json.loads((PAYLOADS / name).read_text())
    code, message = envelope.parse_error(body)
    assert code is not None and code.lstrip("-").isdigit()
    assert message


@pytest.mark.parametrize(
    ("text", "content_type", "expected"),
    [
        (APACHE_502, "text/html; charset=iso-8859-1", (None, "502 Proxy Error")),
        ("", "application/json", (None, None)),
        ("   ", "text/plain", (None, None)),
        ("Service Unavailable", "text/plain", (None, "Service Unavailable")),
        (
            '{"error": {"code": "-5002", "message": "Code undefined  [OCRD.CardCode]"}}',
            "application/json;charset=utf-8",
            ("-5002", "Code undefined  [OCRD.CardCode]"),
        ),
        ('{"error": {"code": -5002, "mess', "application/json", (None, '{"error": {"code": -5002, "mess')),
        ("<html><body>no title</body></html>", "text/html", (None, "<html><body>no title</body></html>")),
        ("<html><title>unclosed", "text/html", (None, "unclosed")),
        ("x" * 1000, "text/plain", (None, "x" * envelope.MAX_TEXT_CHARS)),
    ],
)
def test_describe_body_never_crashes(
    text: str, content_type: str, expected: tuple[str | None, str | None]
) -> None:
    assert envelope.describe_body(text, content_type) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2022-10-31", date(2022, 10, 31)),
        ("2023-10-26T00:00:00Z", date(2023, 10, 26)),
        ("2023-10-26T00:00:00", date(2023, 10, 26)),
        ("2023-10-26T23:30:00+02:00", date(2023, 10, 26)),
        ("2023-10-26T00:00:00.000Z", date(2023, 10, 26)),
        ("20140423", date(2014, 4, 23)),
        (date(2026, 1, 2), date(2026, 1, 2)),
        (datetime(2026, 1, 2, 3, 4), date(2026, 1, 2)),
        (None, None),
        ("", None),
        ("2023-02-30", None),
        ("12:03:55", None),
        ("yesterday", None),
        (20140423, None),
    ],
)
def test_parse_sl_date_accepts_v1_and_v2_forms(value: object, expected: date | None) -> None:
    assert parse_sl_date(value) == expected


@pytest.mark.parametrize(
    ("body", "link", "count"),
    [
        (
            {
                "odata.metadata": "x#Orders",
                "value": [],
                "odata.nextLink": "Orders?$skip=20",
                "odata.count": "5",
            },
            "Orders?$skip=20",
            5,
        ),
        (
            {
                "@odata.context": "x#Orders",
                "value": [],
                "@odata.nextLink": "/b1s/v2/Orders?$skip=20",
                "@odata.count": 5,
            },
            "/b1s/v2/Orders?$skip=20",
            5,
        ),
        ({"value": []}, None, None),
        ({"value": [], "@odata.nextLink": ""}, None, None),
    ],
)
def test_next_link_and_inline_count_read_both_versions(
    body: dict, link: str | None, count: int | None
) -> None:
    assert envelope.next_link(body) == link
    assert envelope.inline_count(body) == count


def test_strip_annotations_drops_both_prefixes() -> None:
    entity = {"odata.etag": 'W/"1"', "@odata.etag": 'W/"1"', "ItemCode": "A", "U_odata": 1}
    assert envelope.strip_annotations(entity) == {"ItemCode": "A", "U_odata": 1}
