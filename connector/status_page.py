"""The status page a planner opens in the browser (``/`` of the service's endpoint).

It renders ``status_dict`` (the same data as ``b1-backflush status --json``) as one self-contained
page: no external assets and no framework, so it works offline and behind any proxy. Order:

1. the title with one line on the cycles (ok or not, the latest);
2. a red banner when a person must act on a posting: receipts whose answer was lost (unsettled)
   and posting keys found on more than one receipt in SAP (duplicates);
3. held orders, grouped by reason code with counts, each group with what to do (``REASON_HELP``,
   the one table of planner actions) and each row with the order's ``DocumentNumber``, product,
   the component line as SAP's screen numbers it (``screen_line``), why, and since when;
4. the cycles in one paragraph: the last good cycle, what failed since, the latest one;
5. SAP's refusals and the recent receipts.

A filter box hides the rows below the banner that do not contain the typed text (plain
JavaScript; the query is kept in the address, so the periodic refresh keeps it). Times are written
in the service's local time and rewritten by the browser into the planner's own. Every value from
SAP or the ledger is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from html import escape
from typing import Any

from connector.production.confirmations import format_quantity
from connector.production.reasons import REASON_HELP, screen_line

#: What each cycle outcome (``ledger.cycle_outcome``) is called on the page.
OUTCOME_WORDS = {
    "ok": "ok",
    "answer_lost": "answer lost",
    "errors": "errors",
    "failed": "failed",
    "stopped": "stopped",
    "running": "running",
}


def status_html(d: dict[str, Any], *, refresh_s: float = 60, now: datetime | None = None) -> str:
    """The whole page for ``status_dict`` output ``d``; ``now`` (UTC) makes the ages testable."""
    now = now or datetime.now(UTC)
    company = escape(str(d["company"]))
    body = [
        '<header><h1>Receipts from Production <span class="company">company '
        f"{company}</span></h1>"
        f'<p class="meta">As of {_time(now.isoformat(timespec="seconds"), now)}; '
        f"refreshes every {int(refresh_s)} s.</p>" + _cycles_line(d, now) + "</header>",
        _banner(d, now),
        _filter_box(),
        _held(d["held"], now),
        _cycles(d, now),
        _rejected(d["rejected"], now),
        _receipts(d["recent_postings"], now),
        _footer(d["counts"]),
    ]
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="refresh" content="{max(int(refresh_s), 5)}">'
        f"<title>b1-backflush — {company}</title><style>{_STYLE}</style></head><body><main>"
        + "".join(body)
        + f"</main><script>{_SCRIPT}</script></body></html>"
    )


# --- sections ---------------------------------------------------------------------------------


def _banner(d: dict[str, Any], now: datetime) -> str:
    """Red, on top: what a person must look at before anything else."""
    parts = []
    if d["duplicates"]:
        parts.append(
            f"<h2>{_count(len(d['duplicates']), 'posting key')} found on more than one receipt in SAP</h2>"
            f"<p>{escape(REASON_HELP['DUPLICATE_IN_SAP'].what_to_do)}</p>"
            + _table(
                ["Order", "Product", "What was found", "Since", "Posting key"],
                [
                    (
                        r["order_number"],
                        [
                            r["order_number"],
                            r["item"],
                            r["sl_message"],
                            _since(r["updated_at"], now),
                            r["key"],
                        ],
                    )
                    for r in d["duplicates"]
                ],
                raw={3},
                cls="alert-rows",
            )
        )
    if d["unsettled"]:
        parts.append(
            f"<h2>{_count(len(d['unsettled']), 'receipt')} not settled: SAP's answer was lost</h2>"
            f"<p>{escape(REASON_HELP['POSTING_UNCERTAIN'].what_to_do)}</p>"
            + _table(
                ["Order", "Product", "Quantity", "State", "Since", "Posting key"],
                [
                    (
                        r["order_number"],
                        [
                            r["order_number"],
                            r["item"],
                            _quantities(r),
                            r["state"],
                            _since(r["updated_at"], now),
                            r["key"],
                        ],
                    )
                    for r in d["unsettled"]
                ],
                raw={4},
                cls="alert-rows",
            )
        )
    if not parts:
        return ""
    return '<section class="banner" role="alert" id="banner">' + "".join(parts) + "</section>"


def _cycles_healthy(overview: dict[str, Any]) -> bool:
    """Ok when nothing but a running cycle came after the last good one."""
    latest = overview.get("latest")
    return bool(latest) and not (overview.get("since_last_good") or {}).keys() - {"running"}


def _cycles_line(d: dict[str, Any], now: datetime) -> str:
    """One line under the title: are cycles ok, and when did the latest run (details further down)."""
    overview = d.get("cycles") or {}
    latest = overview.get("latest")
    if not latest:
        return '<p class="state">No cycle has run yet.</p>'
    healthy = _cycles_healthy(overview)
    return (
        f'<p class="state {"good" if healthy else "bad"}"><a href="#cycles">Cycles '
        f'<span class="pill">{"ok" if healthy else "not ok"}</span></a> latest '
        f"{OUTCOME_WORDS[latest['outcome']]} {_since(latest['started_at'], now)}</p>"
    )


def _cycles(d: dict[str, Any], now: datetime) -> str:
    """One paragraph instead of a row per cycle: last good, failures since, latest."""
    overview = d.get("cycles") or {}
    latest = overview.get("latest")
    if not latest:
        return '<section class="cycles" id="cycles"><h2>Cycles</h2><p>No cycle has run yet.</p></section>'
    good = overview.get("last_good")
    healthy = _cycles_healthy(overview)
    lines = []
    if good:
        s = good.get("summary") or {}
        lines.append(
            f"Last good cycle {_since(good['started_at'], now)}: looked at {s.get('orders_seen', 0)} "
            f"order(s), posted {s.get('posted', 0)}, held {s.get('held', 0)}."
        )
    else:
        lines.append("No cycle has finished without errors yet.")
    since = overview.get("since_last_good") or {}
    problems = {k: v for k, v in since.items() if k != "running"}
    if problems:
        first = overview["first_since_last_good"]
        words = ", ".join(f"{n} {OUTCOME_WORDS.get(k, k)}" for k, n in sorted(problems.items()))
        lines.append(
            f"Since {'then' if good else 'the start'}: {_count(sum(problems.values()), 'cycle')} not ok "
            f"({escape(words)}), the first {_since(first['started_at'], now)}."
        )
    s = latest.get("summary") or {}
    latest_text = f"Latest cycle {_since(latest['started_at'], now)}: {OUTCOME_WORDS[latest['outcome']]}"
    detail = ""
    if latest["outcome"] == "answer_lost":
        latest_text += f" ({_count(s.get('uncertain', 0), 'receipt')} not settled, see the red banner)"
    elif latest["outcome"] == "errors":
        latest_text += f" ({_count(s.get('errors', 0), 'receipt')} not sent, tried again next cycle)"
    elif s.get("aborted"):
        detail = f'<p class="detail"><code>{escape(str(s["aborted"]))}</code></p>'
    lines.append(latest_text + ".")
    return (
        f'<section class="cycles {"good" if healthy else "bad"}" id="cycles">'
        f'<h2>Cycles <span class="pill">{"ok" if healthy else "not ok"}</span></h2>'
        + "".join(f"<p>{line}</p>" for line in lines)
        + detail
        + f'<p class="meta">{overview.get("recorded", 0)} cycle(s) recorded.</p></section>'
    )


def _filter_box() -> str:
    return (
        '<div class="filter" role="search"><label for="filter">Filter</label>'
        '<input id="filter" type="search" autocomplete="off" spellcheck="false" '
        'placeholder="order, product, component…">'
        '<span id="filter-count" aria-live="polite"></span></div>'
    )


def _held(held: list[dict[str, Any]], now: datetime) -> str:
    """Held orders grouped by reason code, the biggest group first; one row per reason."""
    orders = len(held)
    if not held:
        return (
            '<section id="held"><h2>Held orders (0)</h2>'
            "<p>None: every confirmed order was received or has nothing to receive.</p></section>"
        )
    groups: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for hold in held:
        for reason in hold["reasons"]:
            groups.setdefault(reason["code"], []).append((hold, reason))
    order_of_codes = list(REASON_HELP)
    ranked = sorted(
        groups.items(),
        key=lambda kv: (
            -len({h["order_entry"] for h, _ in kv[1]}),
            order_of_codes.index(kv[0]) if kv[0] in order_of_codes else len(order_of_codes),
        ),
    )
    sections = []
    for code, entries in ranked:
        help_ = REASON_HELP.get(code)
        n = len({h["order_entry"] for h, _ in entries})
        rows = [
            (
                " ".join(
                    str(v)
                    for v in (hold["order_number"], hold["item"], reason.get("item"), code, reason["message"])
                    if v is not None
                ),
                [
                    hold["order_number"],
                    hold["item"],
                    "" if reason.get("line") is None else screen_line(reason["line"]),
                    reason.get("item") if reason.get("item") != hold["item"] else "",
                    reason["message"],
                    _since(hold["first_held"], now),
                ],
            )
            for hold, reason in entries
        ]
        sections.append(
            f'<section class="group" data-code="{escape(code)}">'
            f'<h3><span class="title">{escape(help_.title if help_ else code)}</span> '
            f'<code>{escape(code)}</code> <span class="count" data-total="{n}">'
            f"{_count(n, 'order')}</span></h3>"
            + (f'<p class="todo"><b>What to do:</b> {escape(help_.what_to_do)}</p>' if help_ else "")
            + _table(
                ["Order", "Product", "Line", "Component", "Why", "Held since"], rows, raw={5}, cls="held"
            )
            + "</section>"
        )
    return f'<section id="held"><h2>Held orders ({orders})</h2>' + "".join(sections) + "</section>"


def _rejected(rows: list[dict[str, Any]], now: datetime) -> str:
    if not rows:
        return ""
    return '<section id="rejected"><h2>Refused by SAP (evaluated again each cycle)</h2>' + (
        _table(
            ["Order", "Product", "SAP code", "SAP message", "When"],
            [
                (
                    r["order_number"],
                    [
                        r["order_number"],
                        r["item"],
                        r["sl_code"],
                        r["sl_message"],
                        _since(r["updated_at"], now),
                    ],
                )
                for r in rows
            ],
            raw={4},
        )
        + "</section>"
    )


def _receipts(rows: list[dict[str, Any]], now: datetime) -> str:
    if not rows:
        return ""
    return '<section id="receipts"><h2>Recent receipts</h2>' + (
        _table(
            ["Order", "Product", "Quantity", "Receipt DocNum", "DocEntry", "Posted"],
            [
                (
                    r["order_number"],
                    [
                        r["order_number"],
                        r["item"],
                        _quantities(r),
                        "not read yet" if r["receipt_number"] is None else r["receipt_number"],
                        r["receipt_entry"],
                        _since(r["updated_at"], now),
                    ],
                )
                for r in rows
            ],
            raw={5},
        )
        + "</section>"
    )


def _footer(counts: dict[str, int]) -> str:
    text = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none yet"
    return (
        f'<footer><p class="meta">Postings in the ledger by state: {escape(text)}. '
        'The same data as JSON: <a href="status.json">status.json</a>.</p></footer>'
    )


# --- pieces -----------------------------------------------------------------------------------


def _table(
    headers: list[str],
    rows: Iterable[tuple[Any, list[Any]]],
    *,
    raw: frozenset[int] | set[int] = frozenset(),
    cls: str = "",
) -> str:
    """A table whose rows the filter box can hide; each ``(filter text, cells)``; ``raw`` cells are HTML."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for text, cells in rows:
        tds = "".join(
            f'<td data-label="{escape(h)}"'
            + (' class="empty"' if c in ("", None) else "")
            + f"><span>{c if i in raw else escape('' if c is None else str(c))}</span></td>"
            for i, (h, c) in enumerate(zip(headers, cells, strict=True))
        )
        body.append(f'<tr data-filter="{escape(str(text).lower())}">{tds}</tr>')
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _quantities(r: dict[str, Any]) -> str:
    text = f"{format_quantity(r['quantity'])} good"
    return text + (f", {format_quantity(r['rejected_quantity'])} rejected" if r["rejected_quantity"] else "")


def _time(text: str, now: datetime) -> str:
    """A ledger time (ISO, UTC) in the service's local time; the page's script shows it in the browser's."""
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return escape(str(text))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone()
    shown = local.strftime("%d %b %Y %H:%M ") + (local.tzname() or "")
    return f'<time datetime="{escape(moment.isoformat())}">{escape(shown.strip())}</time>'


def _since(text: str, now: datetime) -> str:
    """``<time>`` plus how long ago, e.g. ``01 Dec 2026 09:30 CET (2 h 5 min ago)``."""
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = int((now - moment).total_seconds())
    except (TypeError, ValueError):
        return escape(str(text))
    return f'{_time(text, now)} <span class="age">({_age(seconds)})</span>'


def _age(seconds: int) -> str:
    if seconds < 60:
        return "just now"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min ago"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min ago" if minutes else f"{hours} h ago"
    return f"{hours // 24} days ago"


_STYLE = """
*{box-sizing:border-box}
[hidden]{display:none!important}
html{-webkit-text-size-adjust:100%}
body{margin:0;overflow-wrap:break-word;color:#1d2430;background:#f4f6f8;
font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1240px;margin:0 auto;padding:16px}
h1{font-size:1.35rem;margin:0 0 .15em}
h1 .company{font-weight:400;color:#566070;font-size:1rem;margin-left:.4em;white-space:nowrap}
h2{font-size:1.1rem;margin:0 0 .5em}
h3{font-size:1rem;margin:0 0 .35em;display:flex;flex-wrap:wrap;gap:.2em .6em;align-items:baseline}
.meta{color:#5d6675;font-size:.85rem;margin:.2em 0}
section{background:#fff;border:1px solid #dde2e8;border-radius:8px;padding:12px 14px;margin:12px 0}
section section{border:none;border-top:1px solid #e5e9ee;border-radius:0;padding:12px 0 4px;margin:0}
header{margin-bottom:4px}
.banner{background:#fdecec;border:2px solid #c62828;color:#5c0d0d}
.banner h2{color:#b71c1c}
.banner h2::before{content:"\\26A0\\FE0E  "}
.banner table th{background:#f8d7d7}
.good .pill{background:#e3f4e6;color:#1b5e20}
.cycles.bad{border-left:6px solid #c62828}
.bad .pill{background:#c62828;color:#fff}
.state{margin:.3em 0}
.state a{color:inherit;text-decoration:none;font-weight:600}
.detail code{font-size:.78rem}
.cycles p{margin:.2em 0}
.pill{font-size:.8rem;font-weight:600;border-radius:999px;padding:.1em .6em;vertical-align:middle}
.filter{position:sticky;top:0;z-index:1;display:flex;flex-wrap:wrap;align-items:center;gap:.4em .8em;
background:#f4f6f8;padding:8px 0}
.filter label{font-weight:600}
.filter input{flex:1 1 14em;min-width:0;font:inherit;padding:.45em .6em;border:1px solid #9aa4b2;
border-radius:6px;background:#fff}
#filter-count{color:#5d6675;font-size:.85rem}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.8rem;color:#566070;
overflow-wrap:anywhere}
.count{background:#eef1f5;border-radius:999px;padding:0 .6em;font-size:.85rem;font-weight:600;
white-space:nowrap}
.todo{background:#fff8e1;border-left:4px solid #f2b200;padding:.4em .7em;margin:.3em 0 .6em}
table{border-collapse:collapse;width:100%;margin:.2em 0 .6em}
th,td{text-align:left;vertical-align:top;padding:.35em .55em;border-bottom:1px solid #e5e9ee;
overflow-wrap:anywhere}
th{background:#f0f3f6;font-size:.82rem;color:#3d4757;white-space:nowrap}
td[data-label="Order"]{font-weight:600;white-space:nowrap}
td[data-label="Line"]{text-align:center}
td[data-label="Posting key"]{font-family:ui-monospace,monospace;font-size:.78rem}
.age{color:#5d6675;white-space:nowrap}
time{white-space:nowrap}
a{color:#0b57d0}
@media (min-width:721px){
 td[data-label=Product],td[data-label=Component],td[data-label="Posting key"]{white-space:nowrap}
 /* one column grid for every reason group, so the groups line up */
 table.held{table-layout:fixed}
 table.held th:nth-child(1){width:9.5em}
 table.held th:nth-child(2),table.held th:nth-child(4){width:10em}
 table.held th:nth-child(3){width:3.6em}
 table.held th:nth-child(6){width:15em}
 table.held td,table.held time{white-space:normal;overflow-wrap:anywhere}
 table.held td[data-label=Order]{overflow-wrap:normal}
}
@media (max-width:720px){
 main{padding:10px}
 section{padding:10px}
 thead{display:none}
 table,tbody,tr,td{display:block;width:100%}
 tr{border:1px solid #e1e6ec;border-radius:6px;padding:.35em .55em;margin:.5em 0;background:#fff}
 td{border:none;padding:.1em 0;display:flex;gap:.6em}
 td>span{flex:1 1 auto;min-width:0}
 td::before{content:attr(data-label);flex:0 0 6.2em;color:#5d6675;font-size:.82rem;padding-top:.1em}
 td.empty{display:none}
 td[data-label="Line"]{text-align:left}
 time{white-space:normal}
}
"""

_SCRIPT = """
(function(){
  var fmt;
  try {
    fmt = new Intl.DateTimeFormat(undefined, {day:'2-digit', month:'short', year:'numeric',
      hour:'2-digit', minute:'2-digit', hourCycle:'h23', timeZoneName:'short'});
  } catch (e) { fmt = null; }
  if (fmt) {
    document.querySelectorAll('time[datetime]').forEach(function(t){
      var d = new Date(t.getAttribute('datetime'));
      if (!isNaN(d)) { t.title = t.textContent; t.textContent = fmt.format(d); }
    });
  }
  var box = document.getElementById('filter'), out = document.getElementById('filter-count');
  function apply(){
    var q = box.value.trim().toLowerCase(), shown = 0, total = 0;
    // The red banner is never filtered away: what it says concerns every order.
    document.querySelectorAll('main > section:not(.banner) tr[data-filter]').forEach(function(r){
      var hit = !q || r.getAttribute('data-filter').indexOf(q) >= 0;
      r.hidden = !hit; total++; if (hit) shown++;
    });
    document.querySelectorAll('.group').forEach(function(g){
      var rows = g.querySelectorAll('tr[data-filter]'), orders = {}, n = 0;
      rows.forEach(function(r){ if (!r.hidden) { orders[r.cells[0].textContent] = 1; } });
      n = Object.keys(orders).length;
      g.hidden = n === 0;
      var c = g.querySelector('.count'), t = c.getAttribute('data-total');
      c.textContent = (q ? n + ' of ' : '') + t + (t === '1' ? ' order' : ' orders');
    });
    out.textContent = q ? shown + ' of ' + total + ' rows match' : '';
    var url = q ? '?q=' + encodeURIComponent(box.value) : location.pathname;
    history.replaceState(null, '', url);
  }
  box.value = new URLSearchParams(location.search).get('q') || '';
  box.addEventListener('input', apply);
  apply();
})();
"""
