"""A worker process for the crash-point tests: runs one cycle and SIGKILLs itself at a named point.

Usage: python crash_worker.py SL_ROOT COMPANY USER PASSWORD LEDGER CRASH_POINT|none
Exit 0 after a full cycle; a kill shows as -9 to the parent.
"""

from __future__ import annotations

import os
import signal
import sys
from contextlib import ExitStack
from pathlib import Path


def main() -> int:
    root, company, user, password, ledger, crash_at = sys.argv[1:7]
    from connector import posting
    from connector.cli import build_worker
    from connector.settings import Settings

    if crash_at != "none":
        def kill_at(name: str) -> None:
            if name == crash_at:
                os.kill(os.getpid(), signal.SIGKILL)

        posting.CRASH_HOOK = kill_at
    settings = Settings(_env_file=None, sl_url=root, company_db=company, username=user,  # type: ignore[call-arg]
                        password=password, ledger_path=Path(ledger), unknown_quiet_period_s=0)
    with ExitStack() as stack:
        worker = build_worker(settings, stack)
        report = worker.run_cycle()
    print(f"posted={len(report.posted)} held={len(report.held)} settled={len(report.settled)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
