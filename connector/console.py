"""Output that a Windows console can show: no ``UnicodeEncodeError`` on a legacy code page.

A console on code page 1252 or 850 (``PYTHONIOENCODING=cp1252``, or Python's default for a pipe on
older Windows set-ups) cannot encode every character the connector prints: its own arrows and dashes,
and SAP texts in any language. Instead of failing mid-report, each character the code page lacks is
written as its nearest ASCII spelling (``→`` as ``->``) or ``?``. UTF-8 consoles are left as they are.
"""

from __future__ import annotations

import codecs
import io
import sys

#: Typographic characters the connector's own texts use, and how they read in plain ASCII.
_ASCII_SPELLING = {
    "→": "->",
    "←": "<-",
    "—": "-",
    "–": "-",
    "−": "-",
    "…": "...",
    "×": "x",
    "≥": ">=",
    "≤": "<=",
    "≠": "!=",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "·": ".",
}
ERROR_HANDLER = "b1-backflush-ascii"


def _nearest_ascii(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    unencodable = error.object[error.start : error.end]
    return "".join(_ASCII_SPELLING.get(c, "?") for c in unencodable), error.end


codecs.register_error(ERROR_HANDLER, _nearest_ascii)


def safe_console_output() -> None:
    """Make stdout and stderr write what their encoding lacks as ASCII instead of raising."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
        if isinstance(stream, io.TextIOWrapper) and not encoding.startswith("utf"):
            stream.reconfigure(errors=ERROR_HANDLER)
