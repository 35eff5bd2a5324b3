"""Benchmark: requests per receipt, drain rate, connector CPU and memory on the mock SL.

    python benchmarks/bench_cycle.py --orders 2000 --latency-ms 10                  # post 2000, then idle
    python benchmarks/bench_cycle.py --orders 2000 --latency-ms 10 --post-sessions 4
    python benchmarks/bench_cycle.py --orders 100000 --idle                         # 100k released, idle
    python benchmarks/bench_cycle.py --orders 100 --lines 500                       # big orders
    python benchmarks/bench_cycle.py --orders 1000 --profile                        # + cProfile top entries

Writes a company built from the demo (connector/demo_company) with ORDERS clean released orders (copies of
demo order 101: backflushed components, plenty of stock, a partial confirmation each; ``--idle``:
already received up to the confirmation; ``--lines N``: N component lines each), serves it with
`b1-backflush mock-sl` in a separate process (``--latency-ms`` per request, served in parallel), so
the CPU and memory figures are the connector's alone, runs one cycle, then a second one with nothing
left to do (the idle poll), and prints the figures as JSON. Figures, not assertions: speed targets
live here, not in the test suite. The machine's other load shows in them: run it more than once.
CPU figures differ threefold between days of one machine: ``connector_cpu_vs_lean_post`` (the
connector against the leanest client, measured in the same run) is the one to compare.
"""

from __future__ import annotations

import argparse
import collections
import copy
import cProfile
import io
import json
import logging
import os
import pstats
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.composition import build_worker  # noqa: E402
from connector.demo_company import DEMO_COMPANY  # noqa: E402
from connector.log import configure_logging  # noqa: E402
from connector.mock_sl.store import load_data  # noqa: E402
from connector.settings import Settings  # noqa: E402
from connector.sl.transport import Transport  # noqa: E402

TEMPLATE_ORDER = 101
TEMPLATE_ORDER_COPY = 10_000  # the first copy's AbsoluteEntry


def write_company(folder: Path, orders: int, *, idle: bool, lines: int) -> None:
    """The demo company with ``orders`` copies of order 101 instead of its own orders."""
    data = load_data(DEMO_COMPANY)
    template = next(o for o in data["ProductionOrders"] if o["AbsoluteEntry"] == TEMPLATE_ORDER)
    if lines:
        components = template["ProductionOrderLines"]
        template["ProductionOrderLines"] = [
            {**components[n % len(components)], "LineNumber": n, "VisualOrder": n} for n in range(lines)
        ]
    with (folder / "ProductionOrders.json").open("w", encoding="utf-8") as out:
        out.write("[")  # streamed: 100k orders as one list would cost the writer, not the connector
        for n in range(orders):
            order = copy.deepcopy(template)
            confirmed = 1 + n % 5
            order.update(
                AbsoluteEntry=TEMPLATE_ORDER_COPY + n,
                DocumentNumber=2_026_000_000 + n,
                U_ConfirmedQty=confirmed,
            )
            if idle:
                order["CompletedQuantity"] = float(confirmed)
            out.write(("," if n else "") + json.dumps(order))
        out.write("]")
    del data["ProductionOrders"]
    for series in data["company"].get("Series") or []:  # numbers for every receipt and backflush issue
        series["LastNumber"] = None  # the mock's "no last number": up to 2^31 - 1
    for item in data["Items"]:  # enough of every component for every order
        for row in item.get("ItemWarehouseInfoCollection") or []:
            row["InStock"] = max(float(row.get("InStock") or 0), 100.0 * orders * max(lines, 2))
    for name, body in data.items():
        (folder / f"{name}.json").write_text(json.dumps(body), encoding="utf-8")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RequestCounter:
    """Counts the connector's requests as they reach the client layer's transport, and their CPU.

    Wrapped around ``Transport.send`` rather than read from its DEBUG records: turning those on would
    add a log record per request to the very CPU figure being measured. The CPU is the sending
    thread's own (``time.thread_time``), so posting sessions in parallel threads add up correctly.
    """

    def __init__(self) -> None:
        self.kinds: collections.Counter[str] = collections.Counter()
        self.http_cpu_s = 0.0
        self._lock = threading.Lock()  # posting sessions send from several threads

    def install(self) -> None:
        send = Transport.send

        def counted(transport: Transport, method: str, url: str, **options: object) -> object:
            name = url.split("/b1s/")[-1].split("/", 1)[-1].split("?")[0].split("(")[0]
            started = time.thread_time()
            try:
                return send(transport, method, url, **options)  # type: ignore[arg-type]
            finally:
                spent = time.thread_time() - started
                with self._lock:
                    self.kinds[f"{method} {name}"] += 1
                    self.http_cpu_s += spent

        Transport.send = counted  # type: ignore[assignment,method-assign]

    def take(self) -> tuple[dict[str, int], float]:
        """The requests by kind and the CPU seconds spent sending them, since the last take."""
        with self._lock:
            kinds, http_cpu_s = dict(sorted(self.kinds.items())), self.http_cpu_s
            self.kinds.clear()
            self.http_cpu_s = 0.0
        return kinds, http_cpu_s


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of another process so far (Linux /proc), None where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def profile_top(profile: cProfile.Profile, entries: int = 15) -> list[str]:
    """The top entries by own time, one line each (calls, own seconds, cumulative seconds, where)."""
    stats = pstats.Stats(profile, stream=io.StringIO())
    rows = []
    for (path, line, name), (_cc, calls, own, cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{Path(path).name}:{line}({name})" if line else name
        rows.append((own, f"{calls} calls, {own:.3f}s own, {cumulative:.3f}s cum: {where}"))
    return [text for _own, text in sorted(rows, reverse=True)[:entries]]


def bare_request_cpu_ms(root: str, rounds: int = 200) -> float:
    """This process's CPU per bare ``requests`` round trip to the same mock, at the same latency.

    The floor under ``connector_cpu_ms_per_receipt``: a lean client that only sends one request per
    receipt pays at least this. The request reads one whole production order, an answer of the same
    order of size as SAP's 201 to a receipt (about 15 KB).
    """
    import requests  # only here: the connector's own requests go through connector/sl

    with requests.Session() as session:
        login = {"CompanyDB": "SBODEMOUS", "UserName": "manager", "Password": "1234"}
        session.post(f"{root}/Login", json=login, timeout=60).raise_for_status()
        url = f"{root}/ProductionOrders({TEMPLATE_ORDER_COPY})"
        session.get(url, timeout=60).raise_for_status()
        started = time.process_time()
        for _ in range(rounds):
            session.get(url, timeout=60).json()
        return 1000 * (time.process_time() - started) / rounds


def lean_post_cpu_ms(root: str, rounds: int = 200) -> float:
    """This process's CPU per receipt of the leanest client there is, against the same mock.

    One ``requests`` POST per receipt and nothing else: no poll, no validation, no ledger, no
    retries; SAP is asked not to send the receipt back (``Prefer: return-no-content``), as the
    connector does. The receipt is a plain one (the template order's product, no base document), so
    the mock's orders are left alone. Any client that posts receipts with ``requests`` pays at least
    this: ``connector_cpu_vs_lean_post`` says how much more the connector pays on the same machine.
    """
    import requests  # only here: the connector's own requests go through connector/sl

    template = next(
        o for o in load_data(DEMO_COMPANY)["ProductionOrders"] if o["AbsoluteEntry"] == TEMPLATE_ORDER
    )
    line = {"ItemCode": template["ItemNo"], "Quantity": 1, "WarehouseCode": template["Warehouse"]}
    with requests.Session() as session:
        login = {"CompanyDB": "SBODEMOUS", "UserName": "manager", "Password": "1234"}
        session.post(f"{root}/Login", json=login, timeout=60).raise_for_status()
        url, prefer = f"{root}/InventoryGenEntries", {"Prefer": "return-no-content"}
        started = time.process_time()
        for n in range(rounds):
            receipt = {"U_B1BF_Key": f"lean-{n}", "DocumentLines": [line]}
            session.post(url, json=receipt, headers=prefer, timeout=60).raise_for_status()
        return 1000 * (time.process_time() - started) / rounds


def run(args: argparse.Namespace) -> dict:
    configure_logging(args.log_level)
    counter = RequestCounter()
    counter.install()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        # The service's own log lines (one per receipt at INFO, its default) are part of its CPU:
        # they are written, to /dev/null rather than into the terminal.
        handler = logging.getLogger().handlers[0]
        sink = stack.enter_context(open(os.devnull, "w"))
        stack.callback(handler.setStream, sys.stderr)  # type: ignore[attr-defined]
        handler.setStream(sink)  # type: ignore[attr-defined]
        folder = Path(tmp) / "company"
        folder.mkdir()
        # In a child process, so building the data does not count towards the connector's peak RSS.
        subprocess.run(
            [sys.executable, __file__, "--write-company", str(folder), "--orders", str(args.orders)]
            + ["--lines", str(args.lines)]
            + (["--idle"] if args.idle else []),
            check=True,
        )
        port = free_port()
        mock = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "connector.cli",
                "mock-sl",
                "--port",
                str(port),
                "--data",
                str(folder),
                "--latency-ms",
                str(args.latency_ms),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        stack.callback(mock.wait, 10)
        stack.callback(mock.terminate)
        extra = {}
        if "post_sessions" in Settings.model_fields:
            extra["post_sessions"] = args.post_sessions
        settings = Settings(
            _env_file=None,
            sl_url=f"http://127.0.0.1:{port}/b1s/{args.protocol}",  # type: ignore[call-arg]
            company_db="SBODEMOUS",
            username="manager",
            password="1234",  # noqa: S106 - the demo company's public login
            page_size=args.page_size,
            ledger_path=Path(tmp) / "ledger.sqlite3",
            unknown_quiet_period_s=0,
            read_timeout_s=300,
            mapping=ROOT / "mappings" / "default.yaml",
            **extra,
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
        counter.take()
        rss_before = rss_mb()
        # Timed by process CPU, not the wall clock: waiting for the mock is not the connector's cost.
        profile = cProfile.Profile(time.process_time) if args.profile else None
        mock_cpu_started = process_cpu_s(mock.pid)
        cpu_started, started = time.process_time(), time.perf_counter()
        if profile is not None:
            profile.enable()
        first = worker.run_cycle(dry_run=args.dry_run)
        if profile is not None:
            profile.disable()
            if args.profile_out:
                profile.dump_stats(args.profile_out)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        mock_cpu_ended = process_cpu_s(mock.pid)
        first_kinds, http_cpu = counter.take()
        rss_after_first = rss_mb()
        idle_started = time.perf_counter()
        second = worker.run_cycle(dry_run=args.dry_run)
        idle_seconds = time.perf_counter() - idle_started
        idle_kinds, _idle_http_cpu = counter.take()
        rss_after = rss_mb()
        bare_cpu_ms = bare_request_cpu_ms(settings.sl_url)
        lean_cpu_ms = lean_post_cpu_ms(settings.sl_url)
    requests = sum(first_kinds.values())
    first_summary, second_summary = first.summary(), second.summary()
    done = first_summary["would_post" if args.dry_run else "posted"]
    return {
        "command": " ".join(["python3", "benchmarks/bench_cycle.py", *sys.argv[1:]]),
        "orders": args.orders,
        "lines_per_order": args.lines or 2,
        "page_size": args.page_size,
        "protocol": args.protocol,
        "latency_ms": args.latency_ms,
        "log_level": args.log_level,
        "post_sessions": extra.get("post_sessions", 1),
        "dry_run": args.dry_run,
        "orders_seen": first_summary["orders_seen"],
        "would_post" if args.dry_run else "posted": done,
        "held": first_summary["held"],
        "errors": first_summary["errors"],
        "seconds": round(elapsed, 2),
        "receipts_per_second": round(done / elapsed, 1) if done and elapsed else None,
        "orders_per_second": round(first_summary["orders_seen"] / elapsed, 1) if elapsed else None,
        "requests": requests,
        "requests_per_receipt": round(requests / done, 3) if done else None,
        "requests_by_kind": first_kinds,
        "connector_cpu_s": round(cpu, 2),
        "connector_cpu_ms_per_receipt": round(1000 * cpu / done, 3) if done else None,
        # The same CPU split in two: inside Transport.send (the HTTP stack: requests, urllib3,
        # http.client, the socket), and everything else (polling, assessing, the ledger, the logs).
        "http_cpu_ms_per_receipt": round(1000 * http_cpu / done, 3) if done else None,
        "connector_own_cpu_ms_per_receipt": round(1000 * (cpu - http_cpu) / done, 3) if done else None,
        # The same figure for a bare requests round trip to the same mock: the floor on this machine
        # (waiting on a socket makes the next work run from cold caches, so latency raises both).
        "bare_request_cpu_ms": round(bare_cpu_ms, 3),
        # What the leanest client pays per receipt here (one POST, nothing else), and the connector's
        # CPU per receipt as a multiple of it: the figure to carry from one machine to another.
        "lean_post_cpu_ms": round(lean_cpu_ms, 3),
        "connector_cpu_vs_lean_post": round(1000 * cpu / done / lean_cpu_ms, 2) if done else None,
        "connector_cpu_ms_per_order": (
            round(1000 * cpu / first_summary["orders_seen"], 3) if first_summary["orders_seen"] else None
        ),
        # The mock serves every session from one Python process: when its own CPU nears the cycle's
        # seconds, the mock, not the connector, limits the drain rate.
        "mock_cpu_s": (
            round(mock_cpu_ended - mock_cpu_started, 2)
            if mock_cpu_started is not None and mock_cpu_ended is not None
            else None
        ),
        "mock_cpu_ms_per_request": (
            round(1000 * (mock_cpu_ended - mock_cpu_started) / requests, 3)
            if mock_cpu_started is not None and mock_cpu_ended is not None and requests
            else None
        ),
        "cprofile_note": "CPU figures above include the profiler's overhead" if profile else None,
        "cprofile_top": profile_top(profile) if profile else None,
        "idle_poll_orders_seen": second_summary["orders_seen"],
        "idle_poll_posted": second_summary["posted"],
        "idle_poll_requests": sum(idle_kinds.values()),
        "idle_poll_requests_by_kind": idle_kinds,
        "idle_poll_seconds": round(idle_seconds, 2),
        "connector_peak_rss_mb_before_cycle": round(rss_before, 1),
        "connector_peak_rss_mb_after_first_cycle": round(rss_after_first, 1),
        "connector_peak_rss_mb": round(rss_after, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--protocol", choices=["v1", "v2"], default="v2")
    parser.add_argument("--dry-run", action="store_true", help="assess every order, post nothing")
    parser.add_argument("--idle", action="store_true", help="every order already received: nothing to post")
    parser.add_argument("--lines", type=int, default=0, help="component lines per order (default: demo's 2)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="the mock's delay per request")
    parser.add_argument("--post-sessions", type=int, default=1, help="B1_POST_SESSIONS")
    parser.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        default="INFO",
        help="B1_LOG_LEVEL (default: the service's, INFO); the lines go to /dev/null",
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the first cycle; print the top entries"
    )
    parser.add_argument("--profile-out", type=Path, help="with --profile: also write the pstats file here")
    parser.add_argument("--write-company", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_company:
        write_company(args.write_company, args.orders, idle=args.idle, lines=args.lines)
        return 0
    print(json.dumps(run(args), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
