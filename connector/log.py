"""Structured logs (logfmt or JSON, rendered by structlog) and secret redaction.

Library code logs with the standard library only: ``logging.getLogger(__name__)``, the event name
as the message and every fact as a field in ``extra`` —
``log.info("posted", extra={"key": key, "receipt_entry": entry})`` — never facts formatted into
the message. ``configure_logging`` (called by the CLI alone) installs one handler whose structlog
``ProcessorFormatter`` turns each record into ``ts level logger event <fields…>``, so a log shipper
filters on ``event``, ``order``, ``key``, ``code`` … instead of parsing text. Lines of other
libraries (APScheduler, urllib3) pass through the same formatter.

The redaction is a second line of defence: code never logs a password or a cookie, and every field
value and the rendered line are masked for ``B1SESSION=…``/``ROUTEID=…``/``"Password": …`` and for
each value given to ``register_secret`` should one slip through anyway.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

#: A session cookie (``B1SESSION=…``, ``ROUTEID=…``) or a ``Password``/``SessionId`` value, in one
#: pattern: every field of every line goes through it, and one pass costs a quarter of four.
_SECRETS = re.compile(
    r"(B1SESSION=|ROUTEID=)[^;,\s\"']+"
    r"|(\"?(?:Password|SessionId)\"?\s*[:=]\s*\"?)[^\"',}\s]+",
    re.IGNORECASE,
)
#: What ``_SECRETS`` needs to find in a text (case-folded) before it can match. Looking for them
#: first costs a microsecond; the pattern itself costs 25 on a log line it finds nothing in.
_SECRET_NAMES = ("b1session=", "routeid=", "password", "sessionid")
_extra_secrets: set[str] = set()

#: The fields every line starts with, in this order; the event's own fields follow as logged.
FIRST_FIELDS = ("ts", "level", "logger", "event")
#: Fields the formatter writes itself (a time, a level, a module's name): no secret can be in them.
_WRITTEN_BY_US = frozenset({"ts", "level", "logger"})


def register_secret(value: str | None) -> None:
    """Mask this exact value wherever it would appear in a log line (e.g. the password)."""
    if value and len(value) >= 3:
        _extra_secrets.add(value)


def redact(text: str) -> str:
    """Return ``text`` with every known secret replaced by ``***``."""
    folded = text.casefold()
    if any(name in folded for name in _SECRET_NAMES):
        text = _SECRETS.sub(_masked, text)
    for secret in _extra_secrets:
        text = text.replace(secret, "***")
    return text


def _masked(match: re.Match[str]) -> str:
    return (match.group(1) or match.group(2)) + "***"


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(v) for v in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact(str(value))  # a Path, an exception, a date: its text is what gets logged


def _redact_fields(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> dict[str, Any]:
    """Mask secrets in each value before rendering (a JSON renderer would escape the quotes the
    ``"Password": …`` pattern looks for)."""
    return {k: v if k in _WRITTEN_BY_US else _redact_value(v) for k, v in event.items()}


def _redact_line(_logger: Any, _method: str, line: Any) -> str:
    """Mask once more on the rendered line (the renderer's text): the last word on what leaves the process."""
    return redact(str(line))


def _first_fields_first(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> dict[str, Any]:
    ordered = {k: event[k] for k in FIRST_FIELDS if k in event}
    ordered.update((k, v) for k, v in event.items() if k not in ordered)
    return ordered


def formatter(fmt: str = "logfmt") -> logging.Formatter:
    """The formatter for ``B1_LOG_FORMAT`` (``logfmt`` or ``json``): one line per record."""
    renderer: Any = (
        structlog.processors.JSONRenderer(default=str)
        if fmt == "json"
        else structlog.processors.LogfmtRenderer(bool_as_flag=False)
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(),  # the facts given in extra={...} become fields
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,  # a traceback is one field, "exception"
            _first_fields_first,
            _redact_fields,
            renderer,
            _redact_line,
        ],
    )


def configure_logging(level: str = "INFO", fmt: str = "logfmt") -> None:
    """Install one stderr handler on the root logger (CLI only; libraries never call this)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # urllib3 logs full URLs at DEBUG: keep it quiet unless asked for explicitly.
    logging.getLogger("urllib3").setLevel(max(logging.WARNING, root.level))
    # APScheduler says "Running job … executed successfully" twice per cycle at INFO, which the
    # connector's own cycle line already tells; its warnings (a missed run) and B1_LOG_LEVEL=DEBUG show.
    scheduler_level = root.level if root.level <= logging.DEBUG else max(logging.WARNING, root.level)
    logging.getLogger("apscheduler").setLevel(scheduler_level)
