"""Benchmark: requests per receipt, drain throughput and the connector's memory on the mock SL.

    python benchmarks/bench_cycle.py --orders 2000                 # post them all, then a second cycle
    python benchmarks/bench_cycle.py --orders 100000 --dry-run     # memory over 100k orders, posts nothing

Writes a company built from the demo (connector/demo_company) with ORDERS clean released orders (copies of
demo order 101: two backflushed components, plenty of stock, a partial confirmation each), serves
it with `b1-backflush mock-sl` in a separate process (so the figures are the connector's alone),
runs one cycle and prints the figures as JSON. Figures, not assertions: speed targets live here,
not in the test suite.
"""

from __future__ import annotations

import argparse
import collections
import copy
import json
import logging
import resource
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.cli import build_worker  # noqa: E402
from connector.demo_company import DEMO_COMPANY  # noqa: E402
from connector.log import configure_logging  # noqa: E402
from connector.mock_sl.store import load_data  # noqa: E402
from connector.settings import Settings  # noqa: E402
from connector.sl.transport import logger as transport_log  # noqa: E402

TEMPLATE_ORDER = 101


def write_company(folder: Path, orders: int) -> None:
    """The demo company with ``orders`` clean copies of order 101 instead of its own orders."""
    data = load_data(DEMO_COMPANY)
    template = next(o for o in data["ProductionOrders"] if o["AbsoluteEntry"] == TEMPLATE_ORDER)
    rows = []
    for n in range(orders):
        order = copy.deepcopy(template)
        order.update(AbsoluteEntry=10_000 + n, DocumentNumber=2_026_000_000 + n, U_ConfirmedQty=1 + n % 5)
        rows.append(order)
    data["ProductionOrders"] = rows
    for item in data["Items"]:  # enough of every component for every order
        for row in item.get("ItemWarehouseInfoCollection") or []:
            row["InStock"] = max(float(row.get("InStock") or 0), 100.0 * orders)
    for name, body in data.items():
        (folder / f"{name}.json").write_text(json.dumps(body), encoding="utf-8")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RequestCounter:
    """Counts the connector's requests from the client layer's own ``sl.request`` debug records."""

    def __init__(self) -> None:
        self.kinds: collections.Counter[str] = collections.Counter()

    def filter(self, record: object) -> bool:
        method, path = getattr(record, "method", None), getattr(record, "path", None)
        if method and path:
            name = str(path).split("/b1s/")[-1].split("/", 1)[-1].split("?")[0].split("(")[0]
            self.kinds[f"{method} {name}"] += 1
        return False  # counted, not printed


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run(orders: int, page_size: int, protocol: str, dry_run: bool) -> dict:
    configure_logging("WARNING")
    counter = RequestCounter()
    transport_log.setLevel(logging.DEBUG)  # only the client layer's request records, and only counted
    transport_log.addFilter(counter.filter)
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        folder = Path(tmp) / "company"
        folder.mkdir()
        # In a child process, so building the data does not count towards the connector's peak RSS.
        subprocess.run(
            [sys.executable, __file__, "--write-company", str(folder), "--orders", str(orders)], check=True
        )
        port = free_port()
        mock = subprocess.Popen(
            [sys.executable, "-m", "connector.cli", "mock-sl", "--port", str(port), "--data", str(folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        stack.callback(mock.wait, 10)
        stack.callback(mock.terminate)
        settings = Settings(
            _env_file=None,
            sl_url=f"http://127.0.0.1:{port}/b1s/{protocol}",  # type: ignore[call-arg]
            company_db="SBODEMOUS",
            username="manager",
            password="1234",  # noqa: S106 - the demo company's public login
            page_size=page_size,
            ledger_path=Path(tmp) / "ledger.sqlite3",
            unknown_quiet_period_s=0,
            read_timeout_s=300,
            mapping=ROOT / "mappings" / "default.yaml",
        )
        deadline = time.monotonic() + 600
        while True:  # the mock loads the company before it listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or mock.poll() is not None:
                    raise
                time.sleep(0.2)
        worker = build_worker(settings, stack)
        counter.kinds.clear()
        rss_before = rss_mb()
        started = time.perf_counter()
        first = worker.run_cycle(dry_run=dry_run)
        elapsed = time.perf_counter() - started
        first_kinds = dict(sorted(counter.kinds.items()))
        rss_after = rss_mb()
        counter.kinds.clear()
        second = worker.run_cycle(dry_run=dry_run)
        second_requests = sum(counter.kinds.values())
    requests = sum(first_kinds.values())
    done = len(first.would_post) if dry_run else len(first.posted)
    return {
        "orders": orders,
        "page_size": page_size,
        "protocol": protocol,
        "dry_run": dry_run,
        "orders_seen": first.orders_seen,
        "posted" if not dry_run else "would_post": done,
        "held": len(first.held),
        "seconds": round(elapsed, 2),
        "orders_per_second": round(first.orders_seen / elapsed, 1) if elapsed else None,
        "requests": requests,
        "requests_per_order": round(requests / first.orders_seen, 3) if first.orders_seen else None,
        "requests_by_kind": first_kinds,
        "connector_peak_rss_mb_before_cycle": round(rss_before, 1),
        "connector_peak_rss_mb_after_cycle": round(rss_after, 1),
        "second_cycle_posted": len(second.posted),
        "second_cycle_requests": second_requests,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--protocol", choices=["v1", "v2"], default="v2")
    parser.add_argument("--dry-run", action="store_true", help="assess every order, post nothing")
    parser.add_argument("--write-company", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_company:
        write_company(args.write_company, args.orders)
        return 0
    print(json.dumps(run(args.orders, args.page_size, args.protocol, args.dry_run), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
