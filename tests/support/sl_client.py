"""Build a ``ServiceLayerClient`` from loose keyword values, as tests like to override them one by one.

``client_from(base_url=..., retry_attempts=1, sleep=recorder, clock=fake)`` sorts the values into the
client's two objects (``SLSettings``, ``RetryPolicy``) and its ``Clock``; the names are the settings'
(``B1_*`` without the prefix), so a test reads like the configuration it stands for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import requests

from connector.clock import Clock
from connector.sl.client import ServiceLayerClient
from connector.sl.config import RetryPolicy, SLSettings

_SL_FIELDS = {
    "company_db",
    "username",
    "password",
    "verify",
    "connect_timeout_s",
    "read_timeout_s",
    "page_size",
    "session_margin_s",
}
_RETRY_FIELDS = {"retry_attempts": "attempts", "retry_max_wait_s": "max_wait_s", "retry_total_s": "total_s"}


def client_from(
    *,
    base_url: str,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
    stop_event: threading.Event | None = None,
    session: requests.Session | None = None,
    **values: Any,
) -> ServiceLayerClient:
    """A client on ``base_url``; ``sleep``/``clock`` replace the real ones (fakes that record or move)."""
    unknown = set(values) - _SL_FIELDS - set(_RETRY_FIELDS)
    if unknown:
        raise TypeError(f"not a client setting: {sorted(unknown)}")
    sl = SLSettings(url=base_url, **{k: v for k, v in values.items() if k in _SL_FIELDS})
    retry = RetryPolicy(**{_RETRY_FIELDS[k]: v for k, v in values.items() if k in _RETRY_FIELDS})
    real = Clock()
    fake = Clock(
        monotonic=clock or real.monotonic,
        stop_event=stop_event,
        pause=sleep,
    )
    return ServiceLayerClient(sl, retry, clock=fake, session=session)
