"""Command line of the mock: ``b1-backflush mock-sl --port 50000 [--data FOLDER]`` (default: demo company)."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path

from connector.demo_company import DEMO_COMPANY
from connector.mock_sl.faults import parse_fault_spec
from connector.mock_sl.sap_rules import MockSwitches

#: Request records the command line's mock keeps (``MockServiceLayer.max_records``): enough to look back
#: over a demo or a dry run, bounded so a mock left running for days does not grow without end.
RECORDED_REQUESTS = 10_000


def build_parser() -> argparse.ArgumentParser:
    """Flags: address, data, session timeout, faults and the ❓ switches."""
    parser = argparse.ArgumentParser(
        prog="b1-backflush mock-sl",
        description="Mock SAP Business One Service Layer (v1 + v2).",
        epilog="The mock refuses what SAP refuses: lines in missing or inactive warehouses (-5002), "
        "texts and UDFs longer than their field (-1000), unknown or locked numbering series (-5002), "
        "receipts beyond the planned quantity (unless --over-receipt allow), unknown enum values in "
        "$filter (201), ItemCode on a based issue line (-5002). DocNum comes from the company's "
        "numbering series, never from DocEntry. GET $metadata serves the CSDL (v1 EDMX 1.0, v2 EDMX "
        "4.0). POST $batch serves OData batches (change sets all or nothing). Details: the README.md of the "
        "demo company (connector/demo_company).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=50000)
    parser.add_argument(
        "--data",
        default=str(DEMO_COMPANY),
        help="fixture folder (company.json + <EntitySet>.json); default: the demo company",
    )
    parser.add_argument(
        "--session-timeout-s",
        type=float,
        default=None,
        help="sliding session timeout in seconds (default: SessionTimeout 30 min)",
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="delay every request by this many milliseconds (requests are served in parallel), "
        "to measure a client against a Service Layer over a network",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="METHOD:PATH:MODE[:COUNT[:ARG]]",
        help="arm a fault; repeatable. METHOD * = any (the commit_then_* modes and "
        "slow_commit then apply to writes only), PATH a prefix such as "
        "InventoryGenEntries, COUNT how many requests (default 1). Modes: fail (ARG = "
        "HTTP status, default 500; nothing carried out), delay (ARG = seconds before "
        "it is carried out, default 1), slow_commit (like delay: the client times out, "
        "the document appears later), commit_then_drop (carried out, then closed "
        "without an answer), commit_then_reset (carried out, then TCP RST), "
        "commit_then_502 (carried out, then Apache's HTML 502 page), commit_then_hang "
        "(carried out, then the answer held ARG seconds, default 120), "
        "commit_then_truncate (carried out, then half the body and closed). "
        "E.g. POST:InventoryGenEntries:slow_commit:1:3",
    )
    # Switches for what the reference marks unconfirmed; the defaults follow SAP's documentation.
    parser.add_argument(
        "--receipt-requires-issue",
        action="store_true",
        help="refuse a receipt before any component was issued (reported by integrators)",
    )
    parser.add_argument(
        "--over-receipt",
        choices=("allow", "reject"),
        default="reject",
        help="receiving beyond the planned quantity: reject (default, -5002) or allow; SAP's own "
        "behaviour is unconfirmed, so the mock is strict by default",
    )
    parser.add_argument(
        "--receipt-base-line",
        choices=("component", "refuse"),
        default="component",
        help="a receipt line with BaseLine: component (default) receives that component line's item "
        "back (by-product or return, IssuedQuantity goes down); refuse answers -5002",
    )
    parser.add_argument(
        "--allow-negative-stock",
        action="store_true",
        help="the company allows negative inventory (backflush never runs short)",
    )
    parser.add_argument(
        "--no-backflush-on-reject",
        action="store_true",
        help="a botrntReject receipt does not backflush components",
    )
    parser.add_argument(
        "--no-v2-error-details",
        action="store_true",
        help="v2 errors without 'details' (SAP's doc examples, older FPs) instead of FP 2608's",
    )
    parser.add_argument(
        "--v2-accepts-batch-number",
        action="store_true",
        help="/b1s/v2 also takes v1's BatchNumber in BatchNumbers (its metadata names it "
        "BatchNumberProperty; unconfirmed, refused with -1000 by default)",
    )
    parser.add_argument(
        "--enum-numbers-in-filter",
        action="store_true",
        help="$filter reads an enum compared with a number as the member of that metadata Value "
        "(ProductionOrderStatus eq 1 = boposReleased; unconfirmed, refused with 201 by default)",
    )
    parser.add_argument(
        "--duplicate-key-guard",
        metavar="UDF",
        help="a company with b1-backflush's duplicate guard in SBO_SP_TransactionNotification: a "
        "receipt whose UDF value (e.g. U_B1BF_Key) another receipt carries is refused "
        "(b1-backflush mappings guard-sql)",
    )
    return parser


def data_folder_problem(folder: Path) -> str | None:
    """One line naming what is wrong with ``--data`` and the fix, or None when it can be served."""
    fix = "pass a fixture folder holding company.json, or leave --data out for the demo company"
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        return f"--data {folder} {what}: {fix}"
    if not (folder / "company.json").is_file():
        return f"--data {folder} has no company.json (CompanyDB, users): {fix}"
    for path in sorted(folder.glob("*.json")):
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            return f"--data {folder}: {path.name} cannot be read as JSON ({exc}): fix or remove that file"
    return None


def main(argv: list[str] | None = None, *, stop: threading.Event | None = None) -> int:
    """Start the mock, print its roots and the demo credentials, serve until interrupted (or ``stop``)."""
    from connector.mock_sl.server import MockServiceLayer

    args = build_parser().parse_args(argv)
    switches = MockSwitches(
        receipt_requires_issue=args.receipt_requires_issue,
        over_receipt=args.over_receipt,
        receipt_base_line=args.receipt_base_line,
        allow_negative_stock=args.allow_negative_stock,
        backflush_on_reject=not args.no_backflush_on_reject,
        v2_error_details=not args.no_v2_error_details,
        v2_accepts_batch_number=args.v2_accepts_batch_number,
        enum_numbers_in_filter=args.enum_numbers_in_filter,
        duplicate_key_guard=args.duplicate_key_guard,
    )
    problem = data_folder_problem(Path(args.data))
    if problem:
        print(f"mock-sl: {problem}", file=sys.stderr)
        return 2
    sl = MockServiceLayer(
        args.data,
        host=args.host,
        port=args.port,
        switches=switches,
        session_timeout_s=args.session_timeout_s,
        latency_s=max(args.latency_ms, 0.0) / 1000.0,
        max_records=RECORDED_REQUESTS,
    )
    for spec in args.fault:
        try:
            name, kwargs = parse_fault_spec(spec)
        except ValueError as exc:
            print(
                f"mock-sl: bad --fault {spec!r} ({exc}): see `b1-backflush mock-sl --help`", file=sys.stderr
            )
            return 2
        getattr(sl.faults, name)(**kwargs)
    try:
        sl.start()
    except OSError as exc:
        print(
            f"mock-sl: cannot listen on {args.host}:{args.port} ({exc.strerror or exc}): "
            "choose another --port or stop what uses it",
            file=sys.stderr,
        )
        return 2
    try:
        print(f"mock Service Layer for CompanyDB {sl.company_db}", flush=True)
        print(f"  v1: {sl.root('v1')}", flush=True)
        print(f"  v2: {sl.root('v2')}", flush=True)
        # Demo data: these credentials are part of the public fixture, fine to print.
        for user, password in sl.users.items():
            print(f"  login: CompanyDB={sl.company_db} UserName={user} Password={password}", flush=True)
        waiter = stop or threading.Event()
        try:
            while not waiter.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    finally:
        sl.stop()
    return 0
