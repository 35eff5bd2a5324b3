"""Errors are grouped by what the caller does (connector/errors.py), and every caller derives its
handling from that one place: the CLI's exit code, the service's start, the worker's per-order guard."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import pytest

from connector import errors
from connector.cli import failure_message
from connector.errors import (
    Action,
    ConfigError,
    ConnectorError,
    ExitCode,
    InstanceBusyError,
    LedgerConflictError,
    LedgerError,
    MappingError,
    OrderError,
    SLAuthError,
    SLConnectionError,
    SLNotFoundError,
    SLOutcomeUnknownError,
    SLProtocolError,
    SLQueryError,
    SLRequestError,
    SLServerError,
    SLSessionError,
    SLTLSError,
)
from connector.report import CycleReport
from connector.worker import Worker

#: The contract of README "Commands" and docs/architecture.md's error table.
TABLE = [
    (ConfigError("x"), Action.STOP, 2),
    (MappingError("x"), Action.STOP, 2),
    (LedgerError("x"), Action.STOP, 6),
    (LedgerConflictError("x"), Action.HOLD_ORDER, 6),
    (InstanceBusyError("x"), Action.STOP, 75),
    (SLTLSError("x"), Action.STOP, 3),
    (SLAuthError("x", status=401, code="-304"), Action.STOP, 3),
    (SLConnectionError("x", request_sent=False), Action.ABORT_CYCLE, 3),
    (SLSessionError("x", status=401), Action.ABORT_CYCLE, 3),
    (SLServerError("x", status=503), Action.ABORT_CYCLE, 3),
    (SLProtocolError("x"), Action.ABORT_CYCLE, 3),
    (SLQueryError("x", status=400, code="-1000"), Action.ABORT_CYCLE, 2),
    (SLRequestError("x", status=400, code="-5002"), Action.HOLD_ORDER, 3),
    (SLNotFoundError("x", status=404, code="-2028"), Action.HOLD_ORDER, 2),
    (OrderError("x", reason_code="INVALID_ORDER_DATA"), Action.HOLD_ORDER, 1),
    (SLOutcomeUnknownError("x", status=502), Action.OUTCOME_UNKNOWN, 3),
]


@pytest.mark.parametrize(("error", "action", "exit_code"), TABLE, ids=lambda v: type(v).__name__)
def test_each_error_says_what_the_caller_does_and_how_the_cli_exits(
    error: ConnectorError, action: Action, exit_code: int
) -> None:
    assert error.action is action
    assert error.exit_code == exit_code
    assert failure_message(error).endswith(("x", "x.", "B1_COMPANY_DB.", "--online`.", "network."))


def test_the_table_covers_every_error_class_that_is_raised() -> None:
    raised = {
        cls
        for _name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, ConnectorError) and cls not in (ConnectorError, errors.SLError)
    }
    assert raised == {type(error) for error, _action, _code in TABLE}
    assert {int(code) for code in ExitCode} == {0, 1, 2, 3, 4, 5, 6, 75}


@pytest.mark.parametrize(("error", "action", "_code"), TABLE, ids=lambda v: type(v).__name__)
def test_a_per_order_step_ends_the_cycle_exactly_for_errors_whose_action_ends_it(
    error: ConnectorError, action: Action, _code: int
) -> None:
    """SAP, our query or the ledger unusable ends the cycle (SLQueryError included); an error about
    one order is recorded against that order and the cycle goes on."""
    report = CycleReport(company="SBODEMOUS")
    order = SimpleNamespace(DocumentNumber=7001)

    def step() -> None:
        raise error

    ends = action in (Action.STOP, Action.ABORT_CYCLE, Action.OUTCOME_UNKNOWN)
    if ends:
        with pytest.raises(type(error)):
            Worker._guarded(None, order, report, step)  # type: ignore[arg-type]
        assert report.errors == []
    else:
        assert Worker._guarded(None, order, report, step) is None  # type: ignore[arg-type]
        assert [e.where for e in report.errors] == ["order 7001"]


def test_a_bug_in_one_order_is_recorded_and_the_cycle_goes_on() -> None:
    report = CycleReport(company="SBODEMOUS")

    def step() -> None:
        raise KeyError("DocumentNumber")

    assert Worker._guarded(None, SimpleNamespace(DocumentNumber=7), report, step) is None  # type: ignore[arg-type]
    assert "KeyError" in report.errors[0].message
