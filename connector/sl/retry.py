"""When a failed Service Layer call may be sent again, and the tenacity policy that does it.

The rule (docs/exactly-once.md rule 5): only requests that cannot create a second document are
retried. A POST that may have reached SAP is never re-sent here; the client turns such a failure
into ``SLOutcomeUnknownError`` before this predicate ever sees it.
"""

from __future__ import annotations

import logging

from tenacity import RetryCallState, Retrying, retry_if_exception, wait_random_exponential

from connector.clock import Clock
from connector.errors import SLConnectionError, SLOutcomeUnknownError, SLServerError
from connector.sl.config import RetryPolicy

__all__ = ["RetryPolicy", "build_retrying", "is_idempotent", "is_retryable"]

logger = logging.getLogger(__name__)

#: Methods that can be repeated without changing the result. PATCH is included because the
#: connector only PATCHes absolute values (never increments); a caller that ever PATCHes a relative
#: change must not go through ``ServiceLayerClient.patch``.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
#: POSTs that are idempotent by nature: a second Login just opens another session; the service
#: operations listed only read (``ServiceLayerClient.call_reading_service``).
IDEMPOTENT_POST_PATHS = frozenset({"Login", "Logout", "SeriesService_GetDocumentSeries"})
#: Gateway statuses: Apache or the SL node did not handle the request (or lost its answer).
RETRYABLE_STATUSES = frozenset({502, 503, 504})
#: 500 / 299 "SAML Login Failed": a race between parallel logins on the SL (§1.6).
LOGIN_RACE_CODE = "299"


def _last_segment(path: str | None) -> str:
    return (path or "").split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def is_idempotent(method: str, path: str | None) -> bool:
    """Whether sending ``method path`` twice has the same effect as sending it once."""
    method = method.upper()
    if method in IDEMPOTENT_METHODS:
        return True
    return method == "POST" and _last_segment(path) in IDEMPOTENT_POST_PATHS


def is_retryable(exc: BaseException, method: str) -> bool:
    """Whether the request that raised ``exc`` may be sent again.

    The error's own ``method``/``path`` win over ``method``: a Login that failed while opening
    the session for a POST is judged as the Login it was.
    """
    if isinstance(exc, SLOutcomeUnknownError):
        return False
    if not isinstance(exc, SLConnectionError | SLServerError):
        return False
    failed_method = (exc.method or method).upper()
    idempotent = is_idempotent(failed_method, exc.path)
    if isinstance(exc, SLConnectionError):
        # Nothing reached SAP: safe for any method, the POST included.
        return (not exc.request_sent) or idempotent
    if not idempotent:
        return False
    if exc.status in RETRYABLE_STATUSES:
        return True
    return exc.status == 500 and exc.code == LOGIN_RACE_CODE and _last_segment(exc.path) == "Login"


def build_retrying(
    policy: RetryPolicy,
    *,
    method: str,
    path: str,
    clock: Clock,
    started: float | None = None,
) -> Retrying:
    """A fresh tenacity ``Retrying`` for one logical request (one budget per call, from ``started``)."""
    started = clock.monotonic() if started is None else started

    def _stop(state: RetryCallState) -> bool:
        if state.attempt_number >= policy.attempts:
            return True
        if clock.stopping():
            return True
        # The injected clock (not tenacity's own) bounds the total, so tests can drive it.
        return clock.monotonic() - started >= policy.total_s

    def _log(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        logger.warning(
            "sl.retry",
            extra={
                "event": "sl.retry",
                "method": method,
                "path": path,
                "attempt": state.attempt_number,
                "wait_s": round(state.next_action.sleep, 3) if state.next_action else None,
                "reason": type(exc).__name__ if exc else None,
                "status": getattr(exc, "status", None),
                "code": getattr(exc, "code", None),
            },
        )

    return Retrying(
        stop=_stop,
        wait=wait_random_exponential(multiplier=policy.initial_wait_s, max=policy.max_wait_s),
        retry=retry_if_exception(lambda exc: is_retryable(exc, method)),
        sleep=clock.sleep,  # wakes at once on SIGTERM: back-off never delays shutdown
        before_sleep=_log,
        reraise=True,
    )
