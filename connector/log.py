"""Log formatting (logfmt or JSON) and secret redaction.

Library code only calls ``logging.getLogger(__name__)`` with an event name and key=value pairs;
``configure_logging`` (called by the CLI alone) installs the handler. The redaction filter is a
second line of defence: code never logs a password or a cookie, and the filter masks
``B1SESSION=…``/``ROUTEID=…``/``"Password": …`` should one slip through anyway.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

_SECRET_PATTERNS = [
    re.compile(r"(B1SESSION=)[^;,\s\"']+", re.IGNORECASE),
    re.compile(r"(ROUTEID=)[^;,\s\"']+", re.IGNORECASE),
    re.compile(r"(\"?Password\"?\s*[:=]\s*\"?)[^\"',}\s]+", re.IGNORECASE),
    re.compile(r"(\"?SessionId\"?\s*[:=]\s*\"?)[^\"',}\s]+", re.IGNORECASE),
]
_extra_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Mask this exact value wherever it would appear in a log line (e.g. the password)."""
    if value and len(value) >= 3:
        _extra_secrets.add(value)


def redact(text: str) -> str:
    """Return ``text`` with every known secret replaced by ``***``."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1***", text)
    for secret in _extra_secrets:
        text = text.replace(secret, "***")
    return text


_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def _fields(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS and not k.startswith("_")}


def _logfmt_value(value: object) -> str:
    text = str(value)
    if text == "" or any(c in text for c in ' ="\\'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


class LogfmtFormatter(logging.Formatter):
    """``ts=… level=… logger=… msg="…" key=value …``; one line per event, redacted."""

    def format(self, record: logging.LogRecord) -> str:
        parts = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            parts["exc"] = self.formatException(record.exc_info).replace("\n", " | ")
        return redact(" ".join(f"{k}={_logfmt_value(v)}" for k, v in parts.items()))


class JsonFormatter(logging.Formatter):
    """One JSON object per line, redacted; for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(payload, default=str))


def configure_logging(level: str = "INFO", fmt: str = "logfmt") -> None:
    """Install one stderr handler on the root logger (CLI only; libraries never call this)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # urllib3 logs full URLs at DEBUG; keep it quiet unless asked for explicitly.
    logging.getLogger("urllib3").setLevel(max(logging.WARNING, root.level))
