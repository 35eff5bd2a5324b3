"""The whole exception tree of the connector, grouped by what the caller must DO.

::

    ConnectorError                      base; never raised itself
    ├── ConfigError                     bad settings: stop at start, exit 2
    │   └── MappingError                bad mapping file: names file, line, key and fix; exit 2
    ├── SLError                         anything from the Service Layer
    │   ├── SLConnectionError           network fault; .request_sent says whether SAP may have it
    │   │   └── SLOutcomeUnknownError   a POST may have been committed: look the key up before re-posting
    │   ├── SLAuthError                 login refused (-304/-306, ...): abort the cycle, exit 3, no retry loop
    │   ├── SLSessionError              401 / 301 on a data request: the client re-logs in once and replays
    │   ├── SLRequestError              4xx with an SAP code: a business refusal; hold the order (SL_REJECTED)
    │   │   ├── SLNotFoundError         404 / -2028
    │   │   └── SLQueryError            400 / 201 or -1000 on a query: our query is wrong; abort the cycle
    │   └── SLServerError               5xx (JSON or Apache HTML): retried on idempotent requests only
    └── OrderError                      one order cannot be processed: hold it and go on
    LedgerError                         the local ledger is unusable: stop before posting anything

The mapping from HTTP status + SAP code to a class lives in exactly one place,
``connector.sl.client.error_from_response``. Secrets never enter an exception's text: only
SAP's own message, the method and the path (never the query of a Login, never cookies).
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Base of every error the connector raises on purpose."""


class ConfigError(ConnectorError):
    """A setting is missing or malformed. The program stops at start (exit 2); the message names the fix."""


class MappingError(ConfigError):
    """A mapping file is invalid. The message names the file, line, key and fix; exit 2."""

    def __init__(self, message: str, *, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class LedgerError(ConnectorError):
    """The local SQLite ledger cannot be used. Nothing may be posted until it is fixed."""


class SLError(ConnectorError):
    """Anything that went wrong talking to the Service Layer.

    Keyword-only context: ``status`` (HTTP status or None), ``code`` (SAP code as a string, e.g.
    ``"-5002"``, or None), ``sap_message`` (SAP's text verbatim), ``method`` and ``path``.
    """

    #: Whether the caller may send the same idempotent request again.
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        sap_message: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.sap_message = sap_message
        self.method = method
        self.path = path


class SLConnectionError(SLError):
    """The network failed. Safe to retry only when ``request_sent`` is False or the request is idempotent."""

    retryable = True

    def __init__(self, message: str, *, request_sent: bool, **context: object) -> None:
        super().__init__(message, **context)  # type: ignore[arg-type]
        self.request_sent = request_sent


class SLOutcomeUnknownError(SLConnectionError):
    """A POST may have been committed by SAP but its answer was lost (timeout, drop, 5xx, HTML 502).

    The client layer never re-sends it. The caller looks the posting's key up in SAP first.
    """

    retryable = False

    def __init__(self, message: str, **context: object) -> None:
        super().__init__(message, request_sent=True, **context)


class SLAuthError(SLError):
    """Login refused (wrong user/password, unknown CompanyDB). Abort the cycle; retrying will not help."""


class SLSessionError(SLError):
    """HTTP 401 / code 301 on a data request: the session is gone. The client re-logs in once and replays."""

    retryable = True


class SLRequestError(SLError):
    """SAP refused the request with a business or validation error (4xx + SAP code). Hold the order."""


class SLNotFoundError(SLRequestError):
    """404 / -2028: the key does not exist."""


class SLQueryError(SLRequestError):
    """Our own query was refused (bad $filter, unknown property): a bug or a bad mapping. Abort the cycle."""


class SLServerError(SLError):
    """5xx from the Service Layer or the Apache in front of it. Retried on idempotent requests only."""

    retryable = True


class OrderError(ConnectorError):
    """One production order cannot be processed (bad SAP data). Hold it with a reason and go on."""

    def __init__(self, message: str, *, reason_code: str) -> None:
        super().__init__(message)
        self.reason_code = reason_code
