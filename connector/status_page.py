"""The status page a planner opens in the browser (``/`` of the service's endpoint).

It renders ``status_dict`` (the same data as ``b1-backflush status --json``); every value that
comes from SAP or the ledger is escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

from connector.production.confirmations import format_quantity
from connector.production.reasons import REASON_HELP


def status_html(d: dict[str, Any], *, refresh_s: float = 60) -> str:
    """``status_text`` as a page for the browser; every value from SAP or the ledger is escaped."""

    def table(headers: list[str], rows: list[list[Any]]) -> str:
        head = "".join(f"<th>{escape(h)}</th>" for h in headers)
        body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    parts = [f"<h1>b1-backflush — company {escape(d['company'])}</h1>"]
    counts = ", ".join(f"{k} {v}" for k, v in sorted(d["counts"].items())) or "none yet"
    parts.append(f"<p>Postings by state: {escape(counts)}.</p>")
    if d["last_cycles"]:
        cycles = [
            [
                c["started_at"],
                c["finished_at"] or "still running",
                c["status"] + (" (dry run)" if c["dry_run"] else ""),
                *((c.get("summary") or {}).get(k, 0) for k in ("posted", "held", "errors")),
            ]
            for c in d["last_cycles"]
        ]
        parts.append(
            "<h2>Last cycles</h2>"
            + table(["started", "finished", "status", "posted", "held", "errors"], cycles)
        )
    if d["duplicates"]:
        parts.append(
            '<h2 class="alert">More than one receipt in SAP for one key — a person must look</h2>'
            + table(["key", "what was found"], [[r["key"], r["sl_message"]] for r in d["duplicates"]])
        )
    if d["unsettled"]:
        parts.append(
            "<h2>Unsettled postings (answer lost; looked up in SAP before anything new)</h2>"
            + table(
                ["order", "key", "state", "since"],
                [[r["order_number"], r["key"], r["state"], r["updated_at"]] for r in d["unsettled"]],
            )
        )
    parts.append(f"<h2>Held orders ({len(d['held'])})</h2>")
    if d["held"]:
        parts.append(
            table(
                ["order", "product", "held since", "code", "line", "why", "what to do"],
                [
                    [
                        hold["order_number"],
                        hold["item"],
                        hold["first_held"],
                        r["code"],
                        "" if r.get("line") is None else r["line"],
                        r["message"],
                        REASON_HELP[r["code"]].what_to_do if r["code"] in REASON_HELP else "",
                    ]
                    for hold in d["held"]
                    for r in hold["reasons"]
                ],
            )
        )
    else:
        parts.append("<p>None: every confirmed order was received or has nothing to receive.</p>")
    if d["recent_postings"]:
        parts.append(
            "<h2>Recent receipts</h2>"
            + table(
                ["order", "good", "rejected", "receipt DocNum", "DocEntry", "at"],
                [
                    [
                        r["order_number"],
                        format_quantity(r["quantity"]),
                        format_quantity(r["rejected_quantity"]),
                        r["receipt_number"],
                        r["receipt_entry"],
                        r["updated_at"],
                    ]
                    for r in d["recent_postings"]
                ],
            )
        )
    if d["rejected"]:
        parts.append(
            "<h2>Refused by SAP (evaluated again each cycle)</h2>"
            + table(
                ["order", "SAP code", "SAP message"],
                [[r["order_number"], r["sl_code"], r["sl_message"]] for r in d["rejected"]],
            )
        )
    style = (
        "body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;"
        "margin-bottom:1.5em}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;"
        "vertical-align:top}th{background:#f3f3f3}.alert{color:#b00}"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="{int(refresh_s)}">'
        f"<title>b1-backflush — {escape(d['company'])}</title><style>{style}</style></head><body>"
        + "".join(parts)
        + "</body></html>"
    )
