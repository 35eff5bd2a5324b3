"""The whole exception tree of the connector, each class tagged with what the caller must DO.

Every error carries two class attributes decided here and nowhere else: ``action`` (what the
caller does) and ``exit_code`` (what the command line exits with when it reaches the top). The
command line (cli.py), the service (service.py) and the worker's per-order
guard (connector/worker.py) read them instead of listing classes of their own.

::

    class                               action            exit  why
    ConnectorError                      (base; never raised itself)
    ├── ConfigError                     STOP              2     bad settings: the message names the fix
    │   └── MappingError                STOP              2     bad mapping file: file, line, key and fix
    ├── LedgerError                     STOP              6     the ledger cannot be used (any SQLite failure)
    │   └── LedgerConflictError         HOLD_ORDER        6     it refuses one posting (posted / in flight)
    ├── InstanceBusyError               STOP              75    another run/once holds the ledger's lock
    ├── SLError                         (base of everything from the Service Layer)
    │   ├── SLTLSError                  STOP              3     the certificate check failed: B1_CA_BUNDLE
    │   ├── SLAuthError                 STOP              3     login refused (-304/-306 …); no retry loop
    │   ├── SLConnectionError           ABORT_CYCLE       3     network fault; .request_sent: may SAP have it
    │   │   └── SLOutcomeUnknownError   OUTCOME_UNKNOWN   3     a POST may be committed: look the key up first
    │   ├── SLSessionError              ABORT_CYCLE       3     401 / 301 again after the one re-login
    │   ├── SLServerError               ABORT_CYCLE       3     5xx (JSON or Apache HTML); idempotent: retried
    │   ├── SLProtocolError             ABORT_CYCLE       3     an answer the connector cannot follow (paging)
    │   └── SLRequestError              HOLD_ORDER        3     4xx with an SAP code: a business refusal
    │       ├── SLNotFoundError         HOLD_ORDER        2     404 / -2028
    │       └── SLQueryError            ABORT_CYCLE       2     400 / 201 or -1000: our query is wrong
    └── OrderError                      HOLD_ORDER        1     one order cannot be processed (bad SAP data)

What each action means where:

* ``STOP``: nothing can work until a person fixes the configuration (settings, mapping, ledger file,
  credentials, certificate). The CLI exits with the code; the service stops at start (and while
  running logs it every interval: a refused login is retried ever more rarely, SAP locks users).
* ``ABORT_CYCLE``: SAP or our query is unusable right now; the cycle ends, the next one starts afresh.
  At the service's start such an error is waited out instead of stopping the service.
* ``HOLD_ORDER``: this order alone; it is held with a reason code and the cycle goes on.
* ``OUTCOME_UNKNOWN``: a POST may have been committed; the posting is ``uncertain`` and its key is
  looked up in SAP before anything else is posted for the order (docs/exactly-once.md).

During a cycle a ``STOP`` error aborts it too (the worker re-raises both). The mapping from HTTP
status + SAP code to a class lives in exactly one place, ``connector.sl.client.error_from_response``.
Secrets never enter an exception's text: only SAP's own message, the method and the path (never the
query of a Login, never cookies).
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import ClassVar, TypedDict, Unpack


class Action(StrEnum):
    """What the caller does with an error (see the module docstring)."""

    STOP = "stop"
    ABORT_CYCLE = "abort_cycle"
    HOLD_ORDER = "hold_order"
    OUTCOME_UNKNOWN = "outcome_unknown"


class ExitCode(IntEnum):
    """The command line's exit codes (README, "Commands")."""

    OK = 0
    #: Anything unexpected: a bug, the traceback goes to the log.
    BUG = 1
    #: Bad configuration: settings, mapping, ledger, a query SAP refuses for the mapping's fields.
    CONFIG = 2
    #: The Service Layer cannot be reached, or refuses the login.
    SL = 3
    #: ``reconcile``: the ledger and SAP disagree.
    DIFFERENCES = 4
    #: ``explain``: SAP has no production order with that number (a typo, not a broken configuration).
    NO_SUCH_ORDER = 5
    #: The ledger cannot be used: none at the path (``status``), unreadable, disk full, I/O error.
    LEDGER = 6
    #: EX_TEMPFAIL (sysexits.h): another ``run``/``once`` holds the ledger; the same command later works.
    BUSY = 75


#: The actions the worker's per-order guard re-raises, ending the cycle. An unknown outcome that
#: escapes ``Poster`` (which records it as ``uncertain``) ends it too: the safe side.
ENDS_THE_CYCLE = frozenset({Action.STOP, Action.ABORT_CYCLE, Action.OUTCOME_UNKNOWN})


class ConnectorError(Exception):
    """Base of every error the connector raises on purpose."""

    action: ClassVar[Action] = Action.ABORT_CYCLE
    exit_code: ClassVar[ExitCode] = ExitCode.BUG


class ConfigError(ConnectorError):
    """A setting is missing or malformed. The program stops at start (exit 2); the message names the fix."""

    action = Action.STOP
    exit_code = ExitCode.CONFIG


class MappingError(ConfigError):
    """A mapping file is invalid. The message names the file, line, key and fix; exit 2.

    ``problems``: one line per problem (``file:line: key: what and fix``), for tools and tests.
    """

    def __init__(self, message: str, *, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class LedgerError(ConnectorError):
    """The local SQLite ledger cannot be used (any SQLite failure). Nothing may be posted until it works:
    the cycle stops; ``once`` exits 6, ``run`` logs it and tries again at the next interval."""

    action = Action.STOP
    exit_code = ExitCode.LEDGER


class LedgerConflictError(LedgerError):
    """The ledger refuses one posting: its key is already posted or in flight, or the order has one in
    flight. Only that order is held; the ledger itself works."""

    action = Action.HOLD_ORDER


class InstanceBusyError(ConnectorError):
    """Another ``run`` or ``once`` holds the ledger's instance lock. Exit 75 (EX_TEMPFAIL): try later."""

    action = Action.STOP
    exit_code = ExitCode.BUSY


class SLContext(TypedDict, total=False):
    """What an ``SLError`` says about the request SAP answered; every error below takes it as keywords."""

    status: int | None
    code: str | None
    sap_message: str | None
    method: str | None
    path: str | None


class SLError(ConnectorError):
    """Base of everything that went wrong talking to the Service Layer; never raised itself.

    Keyword-only context: ``status`` (HTTP status or None), ``code`` (SAP code as a string, e.g.
    ``"-5002"``, or None), ``sap_message`` (SAP's text verbatim), ``method`` and ``path``.
    """

    action = Action.ABORT_CYCLE
    exit_code = ExitCode.SL

    def __init__(self, message: str, **context: Unpack[SLContext]) -> None:
        super().__init__(message)
        self.status = context.get("status")
        self.code = context.get("code")
        self.sap_message = context.get("sap_message")
        self.method = context.get("method")
        self.path = context.get("path")


class SLTLSError(SLError):
    """The Service Layer's certificate could not be verified: B1_CA_BUNDLE / B1_VERIFY_TLS. Not retried."""

    action = Action.STOP


class SLConnectionError(SLError):
    """The network failed. Safe to retry only when ``request_sent`` is False or the request is idempotent."""

    def __init__(self, message: str, *, request_sent: bool, **context: Unpack[SLContext]) -> None:
        super().__init__(message, **context)
        self.request_sent = request_sent


class SLOutcomeUnknownError(SLConnectionError):
    """A POST may have been committed by SAP but its answer was lost (timeout, drop, 5xx, HTML 502).

    The client layer never re-sends it. The caller looks the posting's key up in SAP first.
    """

    action = Action.OUTCOME_UNKNOWN

    def __init__(self, message: str, **context: Unpack[SLContext]) -> None:
        super().__init__(message, request_sent=True, **context)


class SLAuthError(SLError):
    """Login refused (wrong user/password, unknown CompanyDB). Retrying will not help."""

    action = Action.STOP


class SLSessionError(SLError):
    """HTTP 401 / code 301 on a data request: the session is gone. The client re-logs in once and replays."""


class SLServerError(SLError):
    """5xx from the Service Layer or the Apache in front of it. Retried on idempotent requests only."""


class SLProtocolError(SLError):
    """An answer the connector cannot follow (a next link to another host, a page that is no
    collection, paging that repeats): the cycle stops rather than skip or loop."""


class SLRequestError(SLError):
    """SAP refused the request with a business or validation error (4xx + SAP code). Hold the order."""

    action = Action.HOLD_ORDER


class SLNotFoundError(SLRequestError):
    """404 / -2028: the key does not exist."""

    exit_code = ExitCode.CONFIG


class SLQueryError(SLRequestError):
    """Our own query was refused (bad $filter, unknown property): a bug or a bad mapping. Abort the cycle."""

    action = Action.ABORT_CYCLE
    exit_code = ExitCode.CONFIG


class OrderError(ConnectorError):
    """One production order cannot be processed (bad SAP data). Hold it with a reason and go on."""

    action = Action.HOLD_ORDER

    def __init__(self, message: str, *, reason_code: str) -> None:
        super().__init__(message)
        self.reason_code = reason_code
