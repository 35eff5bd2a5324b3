"""Structured logs: facts are fields in logfmt and JSON, secrets are masked, APScheduler is quiet."""

from __future__ import annotations

import io
import json
import logging
import shlex
from collections.abc import Iterator

import pytest

from connector import log as connector_log


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, logging.Logger]]:
    """A logger whose lines go, rendered by the connector's formatter, into a string buffer."""
    stream = io.StringIO()
    logger = logging.getLogger("connector.test_log")
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    secrets = set(connector_log._extra_secrets)
    try:
        yield stream, logger
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
        connector_log._extra_secrets.clear()
        connector_log._extra_secrets.update(secrets)


def _use(logger: logging.Logger, fmt: str) -> None:
    logger.handlers[0].setFormatter(connector_log.formatter(fmt))


def _logfmt(line: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in shlex.split(line))


def test_json_line_carries_each_fact_as_its_own_field(captured) -> None:
    stream, logger = captured
    _use(logger, "json")
    logger.info("posted", extra={"key": "SBODEMOUS/101/C4/R0", "receipt_entry": 17, "receipt_number": 9})
    line = json.loads(stream.getvalue())
    assert line["event"] == "posted"
    assert line["key"] == "SBODEMOUS/101/C4/R0"
    assert line["receipt_entry"] == 17  # a number stays a number for the log shipper
    assert line["level"] == "info"
    assert line["logger"] == "connector.test_log"
    assert line["ts"].endswith("Z")
    assert "msg" not in line and list(line)[:4] == ["ts", "level", "logger", "event"]


def test_logfmt_line_carries_each_fact_as_its_own_field(captured) -> None:
    stream, logger = captured
    _use(logger, "logfmt")
    logger.warning(
        "posting_rejected", extra={"key": "C/1/C4/R0", "code": -5002, "sap_message": 'Quantity "too" low'}
    )
    fields = _logfmt(stream.getvalue().strip())
    assert fields["event"] == "posting_rejected"
    assert fields["level"] == "warning"
    assert fields["key"] == "C/1/C4/R0"
    assert fields["code"] == "-5002"
    assert fields["sap_message"] == 'Quantity "too" low'
    assert stream.getvalue().startswith("ts=")


def test_a_traceback_is_one_field_on_one_line(captured) -> None:
    stream, logger = captured
    _use(logger, "logfmt")
    try:
        raise ValueError("broken order")
    except ValueError:
        logger.exception("order_failed", extra={"order": 2026230101})
    text = stream.getvalue()
    assert text.count("\n") == 1
    fields = _logfmt(text.strip())
    assert fields["order"] == "2026230101"
    assert "ValueError: broken order" in fields["exception"]


@pytest.mark.parametrize("fmt", ["json", "logfmt"])
def test_registered_secrets_and_session_cookies_never_reach_the_line(captured, fmt: str) -> None:
    stream, logger = captured
    _use(logger, fmt)
    connector_log.register_secret("s3cr3t-pw")
    logger.warning(
        "sl.login_failed %s",
        "s3cr3t-pw",
        extra={
            "body": '{"UserName": "manager", "Password": "hunter22"}',
            "cookie": "B1SESSION=abc-123; ROUTEID=.node1",
            "nested": {"detail": ["the password was s3cr3t-pw"]},
        },
    )
    text = stream.getvalue()
    for secret in ("s3cr3t-pw", "hunter22", "abc-123", ".node1"):
        assert secret not in text
    assert "***" in text
    if fmt == "json":
        json.loads(text)  # masking keeps the line valid JSON


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Cookie: B1SESSION=abc-123; ROUTEID=.node1", "Cookie: B1SESSION=***; ROUTEID=***"),
        ("cookie: b1session=abc-123", "cookie: b1session=***"),
        ('{"Password": "hunter22", "SessionId": "0a1b"}', '{"Password": "***", "SessionId": "***"}'),
        ("PASSWORD=hunter22, sessionid: 0a1b", "PASSWORD=***, sessionid: ***"),
        ("posted key=SBODEMOUS-10001-C1.000000-R0.000000", "posted key=SBODEMOUS-10001-C1.000000-R0.000000"),
    ],
)
def test_every_spelling_of_a_session_or_password_is_masked_and_other_text_left_alone(
    text: str, masked: str
) -> None:
    # Case does not matter: SAP, proxies and people write these names in every case.
    assert connector_log.redact(text) == masked


def test_configure_logging_quiets_apscheduler_at_info_but_not_its_warnings() -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        connector_log.configure_logging("INFO", "json")
        scheduler = logging.getLogger("apscheduler.executors.default")
        assert not scheduler.isEnabledFor(logging.INFO)
        assert scheduler.isEnabledFor(logging.WARNING)  # "run time of job … was missed" still shows
        connector_log.configure_logging("DEBUG", "json")
        assert scheduler.isEnabledFor(logging.DEBUG)  # asked for explicitly
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name in ("apscheduler", "urllib3"):
            logging.getLogger(name).setLevel(logging.NOTSET)
