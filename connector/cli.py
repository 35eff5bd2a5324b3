"""The command line (``b1-backflush ...``): the only place that builds Settings and configures logging.

Exit codes: 0 the command ran (held orders are normal business), 2 bad configuration or mapping,
3 the Service Layer cannot be reached or the login fails, 4 ``reconcile`` found the ledger and SAP
disagreeing, 5 ``explain``: SAP has no such production order, 6 the ledger cannot be used (none at
the path for ``status``, unreadable, disk full, I/O error), 75 another ``run``/``once`` holds the
ledger (EX_TEMPFAIL: try again later), 1 anything unexpected (a bug: the traceback goes to the log).
With ``--json`` stdout carries exactly one JSON document (connector/json_output.py), also when the
command fails.

``once`` and ``run`` hold the ledger's instance lock (``connector.instance_lock``); ``status``,
``reconcile`` and ``explain`` open the ledger read-only and never settle or write anything.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack, redirect_stdout
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from connector import __version__, duplicate_guard
from connector.composition import build_worker, logged_in_client
from connector.console import safe_console_output
from connector.errors import (
    ConfigError,
    ConnectorError,
    ExitCode,
    InstanceBusyError,
    LedgerError,
    OrderError,
    SLAuthError,
    SLConnectionError,
    SLError,
    SLNotFoundError,
    SLQueryError,
    SLServerError,
)
from connector.instance_lock import instance_lock
from connector.json_output import dumps, error_document
from connector.ledger import Ledger
from connector.log import configure_logging, register_secret
from connector.production.reasons import Reason
from connector.settings import Settings, load_ledger_settings, load_mapping_setting, load_settings
from connector.worker import Worker

#: The exit codes (README, "Commands"); an error's own code is its class's ``exit_code`` (errors.py).
EXIT_OK, EXIT_BUG, EXIT_CONFIG, EXIT_SL = ExitCode.OK, ExitCode.BUG, ExitCode.CONFIG, ExitCode.SL
EXIT_DIFFERENCES, EXIT_NO_SUCH_ORDER = ExitCode.DIFFERENCES, ExitCode.NO_SUCH_ORDER
EXIT_LEDGER, EXIT_BUSY = ExitCode.LEDGER, ExitCode.BUSY
#: The commands that read settings, each of which takes ``--env-file PATH``.
READS_SETTINGS = ("once", "explain", "run", "status", "reconcile")

log = logging.getLogger("connector.cli")


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days >= 1")
    return int(text)


JSON_HELP = "print one JSON document on stdout instead of text (shapes: docs/json-output.md)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="b1-backflush",
        description=(
            "Posts SAP Business One Receipts from Production exactly once, so backflushed components "
            "are issued automatically. Settings come from .env and B1_* environment variables."
        ),
    )
    parser.add_argument("--version", action="version", version=f"b1-backflush {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    once = sub.add_parser("once", help="run one cycle")
    once.add_argument("--dry-run", action="store_true", help="validate and build, post nothing")
    once.add_argument("--json", action="store_true", help=JSON_HELP)

    explain = sub.add_parser(
        "explain", help="show the verdict and the exact payload for one order; posts nothing"
    )
    explain.add_argument("order", type=int, help="DocumentNumber (or AbsoluteEntry with --entry)")
    explain.add_argument("--entry", action="store_true", help="ORDER is the AbsoluteEntry")
    explain.add_argument("--json", action="store_true", help=JSON_HELP)

    sub.add_parser("run", help="the scheduled service (stops cleanly on SIGTERM/SIGINT)")

    status = sub.add_parser("status", help="recent postings, held orders, unsettled postings, last cycles")
    status.add_argument("--json", action="store_true", help=JSON_HELP)

    reconcile = sub.add_parser(
        "reconcile",
        help="compare the ledger with SAP's receipts of recent days; "
        "exit 4 on duplicates, orphans or missing receipts",
    )
    reconcile.add_argument("--days", type=_positive_int, default=7, help="how many days back (default 7)")
    reconcile.add_argument("--json", action="store_true", help=JSON_HELP)

    demo = sub.add_parser("demo", help="start the mock Service Layer with the demo company and run one cycle")
    demo.add_argument("--protocol", choices=["v1", "v2"], default="v2")
    demo.add_argument(
        "--mapping", type=Path, default=None, help="mapping file (default: the built-in default mapping)"
    )
    demo.add_argument("--json", action="store_true", help=JSON_HELP)

    # Listed for the help text only; main() hands `mock-sl ...` to connector.mock_sl.cli as it is.
    sub.add_parser(
        "mock-sl",
        help="serve the mock Service Layer (demo, consultants' dry runs); see `b1-backflush mock-sl --help`",
    )

    deploy = sub.add_parser("deploy", help="write the service recipe this installation carries")
    dsub = deploy.add_subparsers(dest="deploy_command", required=True, metavar="KIND")
    systemd = dsub.add_parser(
        "systemd",
        help="write install.sh, the template unit b1-backflush@.service, its sysusers file, "
        "verify-units.sh and env.example into DIR (Debian/Ubuntu; then: sudo DIR/install.sh COMPANY WHEEL)",
    )
    systemd.add_argument("folder", type=Path, metavar="DIR", help="a new or empty folder")

    mappings = sub.add_parser("mappings", help="mapping file tools")
    msub = mappings.add_subparsers(dest="mappings_command", required=True, metavar="SUBCOMMAND")
    check = msub.add_parser("check", help="validate a mapping file (offline; --online also asks SAP)")
    check.add_argument("file", nargs="?", type=Path, help="default: B1_MAPPING, else the built-in default")
    check.add_argument(
        "--online", action="store_true", help="check UDFs, warehouses and the key field in SAP"
    )
    msub.add_parser("schema", help="print the JSON Schema of mapping files (save it as schema.json)")
    msub.add_parser("default", help="print the default mapping, every key commented, to start a file from")
    guard = msub.add_parser(
        "guard-sql",
        help="print SAP's duplicate guard for SBO_SP_TransactionNotification (refuses a second receipt "
        "with the same posting key)",
    )
    guard.add_argument("file", nargs="?", type=Path, help="default: B1_MAPPING, else the built-in default")
    guard.add_argument(
        "--database",
        choices=duplicate_guard.DIALECTS,
        required=True,
        help="the company's database: SAP HANA or SQL Server",
    )
    check.add_argument("--json", action="store_true", help=JSON_HELP)
    for command in [*(sub.choices[name] for name in READS_SETTINGS), check, guard]:
        command.add_argument(
            "--env-file",
            type=Path,
            default=None,
            metavar="PATH",
            help="read settings from this file instead of ./.env (B1_* environment variables still apply)",
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``b1-backflush`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    safe_console_output()
    if argv[:1] == ["mock-sl"]:
        # Handed over before argparse: REMAINDER cannot take options such as --port first.
        from connector.mock_sl.server import serve_forever_cli

        return serve_forever_cli(argv[1:])
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage and what is wrong on stderr
        if exc.code not in (0, None) and "--json" in argv:
            print(error_document(EXIT_CONFIG, "invalid command line: see the usage on stderr"))
        raise
    try:
        return _dispatch(args)
    except BrokenPipeError:
        # The reader went away (`b1-backflush status | head`): not a failure. Point stdout at devnull
        # so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except ConnectorError as exc:
        if exc.exit_code == ExitCode.BUG:
            log.error("command_failed", exc_info=exc)
        return _fail(args, exc.exit_code, failure_message(exc))


def failure_message(exc: ConnectorError) -> str:
    """The one line a person reads when a command stops on ``exc`` (its exit code is ``exc.exit_code``)."""
    if isinstance(exc, LedgerError):
        return f"ledger error: {exc}"
    if isinstance(exc, InstanceBusyError):
        return f"busy: {exc}"
    if isinstance(exc, ConfigError):
        return f"configuration error: {exc}"
    if isinstance(exc, SLAuthError):
        return f"login to the Service Layer failed: {exc}. Check B1_USERNAME, B1_PASSWORD and B1_COMPANY_DB."
    if isinstance(exc, SLQueryError):
        return (
            f"the Service Layer refused a query: {exc}. The mapping's fields (UDFs, "
            "candidates.extra_filter) must exist in this company: check them with "
            "`b1-backflush mappings check --online`."
        )
    if isinstance(exc, SLNotFoundError):
        return f"not found: {exc}"
    if isinstance(exc, SLConnectionError | SLServerError):
        return f"the Service Layer cannot be reached: {exc}. Check B1_SL_URL and the network."
    if isinstance(exc, SLError):
        return f"Service Layer error: {exc}"
    return f"error: {exc}"


def _fail(args: argparse.Namespace, code: int, message: str) -> int:
    """The one line for people on stderr; with ``--json`` also the error document on stdout."""
    print(message, file=sys.stderr)
    if getattr(args, "json", False):
        print(error_document(code, message))
    return code


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "demo":
        configure_logging("WARNING")
        return _demo(args)
    if args.command == "mappings":
        return _mappings(args)
    if args.command == "deploy":
        return _deploy_systemd(args.folder)
    if args.command == "status":  # the ledger alone: no SAP settings needed
        ledger_settings = load_ledger_settings(env_file=args.env_file)
        configure_logging(ledger_settings.log_level, ledger_settings.log_format)
        return _status(ledger_settings.ledger_path, ledger_settings.company_db, as_json=args.json)
    settings = load_settings(env_file=args.env_file)
    configure_logging(settings.log_level, settings.log_format)
    register_secret(settings.password.get_secret_value())
    if args.command == "run":
        from connector.service import run_service

        return run_service(settings)
    if args.command == "once":
        with instance_lock(settings.ledger_path), ExitStack() as stack:
            worker = build_worker(settings, stack)
            return _once(worker, dry_run=args.dry_run, as_json=args.json)
    with ExitStack() as stack:  # reconcile, explain: they only look
        worker = build_worker(settings, stack, read_only=True)
        if args.command == "reconcile":
            return _reconcile(worker, settings, days=args.days, as_json=args.json)
        return _explain(worker, args)


def _emit(kind: str, data: dict[str, Any], text: str, *, as_json: bool) -> None:
    """``--json``: exactly one JSON document on stdout (``kind`` names its shape); else the text."""
    print(dumps(kind, data) if as_json else text)


def _once(worker: Worker, *, dry_run: bool, as_json: bool) -> int:
    report = worker.run_cycle(dry_run=dry_run)
    _emit("once", report.to_dict(), report.render_text(), as_json=as_json)
    return EXIT_OK


def _reconcile(worker: Worker, settings: Settings, *, days: int, as_json: bool) -> int:
    from connector.reconcile import reconcile, reconciliation_text

    result = reconcile(
        worker.client,
        worker.ledger,
        company=settings.company_db,
        key_field=worker.mapping.idempotency.key_field,
        days=days,
    )
    _emit("reconcile", result.to_dict(), reconciliation_text(result), as_json=as_json)
    return EXIT_OK if result.clean else EXIT_DIFFERENCES


def _explain(worker: Worker, args: argparse.Namespace) -> int:
    from connector.explain import explain_dict, explain_text, unreadable_order_dict, unreadable_order_text

    try:
        if args.entry:
            assessment = worker.explain(absolute_entry=args.order)
        else:
            assessment = worker.explain(document_number=args.order)
    except SLNotFoundError:
        which = "AbsoluteEntry" if args.entry else "DocumentNumber"
        return _fail(
            args,
            EXIT_NO_SUCH_ORDER,
            f"SAP has no production order with {which} {args.order}. Check the number"
            + ("." if args.entry else ", or give the AbsoluteEntry with --entry."),
        )
    except OrderError as exc:
        # SAP sent the order in a shape the connector cannot read: the cycle holds it with this reason.
        reason = Reason(code=exc.reason_code, severity="block", message=str(exc))
        data = unreadable_order_dict(args.order, by_entry=args.entry, reason=reason)
        _emit("explain", data, unreadable_order_text(data), as_json=args.json)
        return EXIT_OK
    data = explain_dict(assessment, worker.mapping)
    _emit("explain", data, explain_text(assessment, worker.mapping), as_json=args.json)
    return EXIT_OK


def _status(ledger_path: Path, company: str | None, *, as_json: bool) -> int:
    from connector.status import status_dict, status_text

    ledger = Ledger.open_read_only(ledger_path)
    try:
        data = status_dict(ledger, company)
    finally:
        ledger.close()
    _emit("status", data, status_text(data), as_json=as_json)
    return EXIT_OK


def _deploy_systemd(folder: Path) -> int:
    """The systemd recipe from the wheel, so IT installs the service without a checkout."""
    from connector.deploy import write_recipe

    folder = folder.resolve()  # the next step runs as root, maybe from elsewhere: name it in full
    written = write_recipe(folder)
    print(f"Wrote the systemd recipe of b1-backflush {__version__} to {folder}:")
    for path in written:
        print(f"  {path}")
    print("Next, as root (the wheel is the one this program was installed from):")
    print(f"  {folder / 'install.sh'} COMPANY /path/to/b1_backflush-{__version__}-py3-none-any.whl")
    print("then fill in /etc/b1-backflush/COMPANY.env and: systemctl start b1-backflush@COMPANY")
    return EXIT_OK


def _mappings(args: argparse.Namespace) -> int:
    if args.mappings_command in ("schema", "default"):
        from connector.mapping import resources

        if args.mappings_command == "schema":
            print(resources.schema_text(), end="")
        else:
            print(resources.default_mapping_for_a_new_file(), end="")
        return EXIT_OK
    if args.mappings_command == "guard-sql":
        return _guard_sql(args)
    return _mappings_check(args)


def _guard_sql(args: argparse.Namespace) -> int:
    """The guard's SQL, the mapping's key field filled in (docs/exactly-once.md: SAP's duplicate guard)."""
    from connector.mapping.loader import load_mapping

    mapping = load_mapping(args.file or load_mapping_setting(env_file=args.env_file))
    print(duplicate_guard.transaction_notification_sql(args.database, mapping.idempotency.key_field), end="")
    return EXIT_OK


def _mappings_check(args: argparse.Namespace) -> int:
    from connector.mapping.check import check_mapping

    if not args.online:
        result = check_mapping(args.file or load_mapping_setting(env_file=args.env_file))
    else:
        settings = load_settings(env_file=args.env_file)
        register_secret(settings.password.get_secret_value())
        with ExitStack() as stack:
            client = logged_in_client(settings, stack)
            result = check_mapping(args.file or settings.mapping, client=client)
    _emit("mappings-check", result.to_dict(), result.text(), as_json=args.json)
    return result.exit_code


def _demo(args: argparse.Namespace) -> int:
    from connector.demo_company import DEMO_COMPANY
    from connector.mock_sl.server import MockServiceLayer

    mapping_path = args.mapping  # None: the built-in default (`b1-backflush mappings default` prints it)
    stdout = sys.stdout  # with --json the narrative goes to stderr and stdout carries only the document
    with (
        redirect_stdout(sys.stderr if args.json else stdout),
        tempfile.TemporaryDirectory(prefix="b1-backflush-demo-") as tmp,
        MockServiceLayer(DEMO_COMPANY, port=0) as sl,
        ExitStack() as stack,
    ):
        user, password = next(iter(sl.users.items()))
        settings = Settings(
            sl_url=sl.root(args.protocol),
            company_db=sl.company_db,
            username=user,
            password=SecretStr(password),
            ledger_path=Path(tmp) / "ledger.sqlite3",
            mapping=mapping_path,
            unknown_quiet_period_s=0,
            _env_file=None,
        )  # type: ignore[call-arg]
        worker = build_worker(settings, stack)
        shown = mapping_path or "the built-in default"
        print(
            f"Demo: mock Service Layer at {sl.root(args.protocol)} (company {sl.company_db}), mapping {shown}"
        )
        print()
        first = worker.run_cycle()
        print(first.render_text())
        second = worker.run_cycle()
        print()
        print(
            f"Second cycle right after: {second.posted_count} posted "
            f"(every confirmation was already received exactly once), {len(second.held)} still held."
        )
        if args.json:
            print(dumps("demo", first.to_dict()), file=stdout)
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
