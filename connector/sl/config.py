"""What a ``ServiceLayerClient`` is built from: where and how to reach SAP, and how to retry.

Plain values, no environment: ``connector.settings`` fills them from ``B1_*`` (``Settings.sl`` and
``Settings.retry``); tests and tools build them directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr


@dataclass(frozen=True)
class SLSettings:
    """One company and user on one Service Layer (``B1_SL_URL`` … ``B1_SESSION_MARGIN_S``)."""

    #: The service root including the version, e.g. ``https://sap:50000/b1s/v2`` (v1 or v2 follows from it).
    url: str
    company_db: str
    username: str
    password: SecretStr
    #: requests' ``verify``: True, False, or the path of a CA bundle.
    verify: bool | str = True
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 60.0
    #: Rows per page asked for with ``Prefer: odata.maxpagesize``.
    page_size: int = 100
    #: Re-login this long before SAP's SessionTimeout would expire the session.
    session_margin_s: float = 60.0

    def __repr__(self) -> str:
        # Never the password (SecretStr would mask it anyway; the repr says so plainly).
        return f"SLSettings(url={self.url!r}, company_db={self.company_db!r}, username={self.username!r})"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry (``B1_RETRY_ATTEMPTS``, ``_MAX_WAIT_S``, ``_TOTAL_S``)."""

    attempts: int = 4
    max_wait_s: float = 30.0
    total_s: float = 120.0
    #: Base of the exponential backoff; the first wait is random in [0, 2 * initial_wait_s].
    initial_wait_s: float = 0.5
