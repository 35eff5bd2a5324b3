"""A worker process for the crash-point tests: runs one cycle and SIGKILLs itself at a named point.

Usage: python crash_worker.py SL_ROOT COMPANY USER PASSWORD LEDGER CRASH_POINT|none [POST_SESSIONS]
Exit 0 after a full cycle; a kill shows as -9 to the parent, after ``crashed_at=<point>`` on stderr.

The tests start it through ``run``/``start``: a child forked from a multiprocessing fork server that has
the connector imported already, so each worker process starts in milliseconds instead of re-importing
everything (~0.4 s). It is still a separate process, killed by a real SIGKILL; its stdout and stderr go
to files the parent reads back.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

#: What the fork server imports once, so every forked worker starts with it loaded.
PRELOAD = ["connector.composition", "connector.posting", "connector.settings", "tests.support.crash_worker"]


def cycle(
    root: str, company: str, user: str, password: str, ledger: str, crash_at: str, post_sessions: str = "1"
) -> int:
    """Log in, run one cycle, print its counts; SIGKILL this process at ``crash_at`` (or ``none``)."""
    from connector import posting
    from connector.composition import build_worker
    from connector.settings import Settings

    if crash_at != "none":

        def kill_at(name: str) -> None:
            if name == crash_at:
                print(f"crashed_at={name}", file=sys.stderr, flush=True)  # which point it was, for the test
                os.kill(os.getpid(), signal.SIGKILL)

        posting.CRASH_HOOK = kill_at
    settings = Settings(
        _env_file=None,
        sl_url=root,
        company_db=company,  # type: ignore[call-arg]
        username=user,
        password=password,
        ledger_path=Path(ledger),
        unknown_quiet_period_s=0,
        # The wait before the second look-up runs from the send: read timeout + quiet period. The mock
        # answers in milliseconds, so a short read timeout keeps each restart's wait short.
        read_timeout_s=1,
        post_sessions=int(post_sessions),
    )
    with ExitStack() as stack:
        worker = build_worker(settings, stack)
        report = worker.run_cycle()
    print(f"posted={len(report.posted)} held={len(report.held)} settled={len(report.settled)}", flush=True)
    return 0


def main() -> int:
    return cycle(*sys.argv[1:8])


def _forked(argv: list[str], out: str, err: str) -> None:
    for fd, path in ((1, out), (2, err)):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, fd)
        os.close(target)
    cycle(*argv)


def _context() -> multiprocessing.context.BaseContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def start(argv: list[str], workdir: Path) -> tuple[multiprocessing.Process, Path, Path]:
    """Start one worker process (``argv`` as for ``main``); its stdout/stderr go to files in ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    number = len(list(workdir.glob("*.out")))
    out, err = workdir / f"{number}.out", workdir / f"{number}.err"
    out.touch(exist_ok=False)  # taken now: the next start numbers its files after this one
    process = _context().Process(target=_forked, args=(argv, str(out), str(err)), daemon=True)
    process.start()
    return process, out, err


def finished(
    process: multiprocessing.Process, out: Path, err: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Wait for ``process``; its exit code (-9 when killed) and what it printed."""
    process.join(timeout)
    if process.exitcode is None:
        process.kill()
        process.join()
        raise TimeoutError(f"the worker did not finish within {timeout} s")
    read = lambda path: path.read_text() if path.exists() else ""  # noqa: E731
    return subprocess.CompletedProcess([], process.exitcode, read(out), read(err))


def run(argv: list[str], workdir: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """One worker process from start to exit (or SIGKILL)."""
    return finished(*start(argv, workdir), timeout=timeout)


if __name__ == "__main__":
    raise SystemExit(main())
