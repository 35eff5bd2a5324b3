"""The composition root: settings → mapping, ledger, logged-in client(s) and the worker.

The one place that wires the parts together, so the command line (cli.py) and the
service (connector/service.py) build exactly the same worker and neither imports the other.
Everything built here is closed by the caller's ``ExitStack``, in reverse order.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack

from connector.clock import Clock
from connector.ledger import Ledger
from connector.mapping.loader import load_mapping
from connector.settings import Settings
from connector.sl.client import ServiceLayerClient
from connector.worker import Worker


def logged_in_client(
    settings: Settings, stack: ExitStack, *, stop_event: threading.Event | None = None
) -> ServiceLayerClient:
    """A client logged in to the company of ``settings``; logged out when ``stack`` closes.

    A refused login raises here (``SLAuthError``), before anything else is attempted.
    """
    client = ServiceLayerClient(settings.sl, settings.retry, clock=Clock(stop_event=stop_event))
    stack.enter_context(client)
    client.login()
    return client


def build_worker(
    settings: Settings,
    stack: ExitStack,
    *,
    stop_event: threading.Event | None = None,
    read_only: bool = False,
) -> Worker:
    """Settings → mapping, ledger, logged-in client and the worker; closed by ``stack``.

    The mapping is loaded first: a bad mapping stops before SAP is asked anything. ``read_only``:
    the ledger is opened read-only, a missing one read as empty (``reconcile``, ``explain``); the
    caller never runs a cycle with it. A writing caller holds the instance lock
    (``connector.instance_lock``).
    """
    mapping = load_mapping(settings.mapping)
    if read_only:
        ledger = Ledger.open_read_only(settings.ledger_path, missing_ok=True)
    else:
        ledger = Ledger(settings.ledger_path)
    stack.callback(ledger.close)
    client = logged_in_client(settings, stack, stop_event=stop_event)
    worker = Worker(
        client=client,
        ledger=ledger,
        mapping=mapping,
        company=settings.company_db,
        page_size=settings.page_size,
        quiet_period_s=settings.unknown_quiet_period_s,
        read_timeout_s=settings.read_timeout_s,
        stop_event=stop_event,
        max_receipts_per_cycle=settings.max_receipts_per_cycle,
        fresh_read_chunk=settings.fresh_read_chunk,
    )
    if settings.post_sessions > 1:
        # Sessions of their own: the cycle's session keeps reading while these post. Each logs in
        # here, so a refused login stops before anything is posted.
        posting = [
            logged_in_client(settings, stack, stop_event=stop_event) for _ in range(settings.post_sessions)
        ]
        stack.callback(worker.use_posting_sessions(posting).close)
    return worker
