"""The shapes of Service Layer response bodies in v1 (OData V3) and v2 (OData V4).

docs/service-layer.md §8 lists the differences: metadata key, next-link key, inline-count form, error
shape. Every function here accepts both so the client never branches on version.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

METADATA_KEYS = ("odata.metadata", "@odata.context")
NEXT_LINK_KEYS = ("odata.nextLink", "@odata.nextLink")
COUNT_KEYS = ("odata.count", "@odata.count")
ETAG_KEYS = ("odata.etag", "@odata.etag")

#: Longest non-JSON error body text kept in an exception (an Apache page has no secrets, but is long).
MAX_TEXT_CHARS = 200


def next_link(body: dict[str, Any]) -> str | None:
    """The next-page link of a collection body (``odata.nextLink`` or ``@odata.nextLink``), if any."""
    for name in NEXT_LINK_KEYS:
        value = body.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def inline_count(body: dict[str, Any]) -> int | None:
    """The inline count: v1 ``"odata.count": "5"`` (a string) or v2 ``"@odata.count": 5``."""
    for name in COUNT_KEYS:
        if name in body:
            return int(body[name])
    return None


def strip_annotations(entity: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``entity`` without OData annotations (``odata.*``, ``@odata.*``)."""
    return {k: v for k, v in entity.items() if not (k.startswith("odata.") or k.startswith("@odata."))}


def parse_error(body: object) -> tuple[str | None, str | None]:
    """``(code, message)`` from an SL error body of either version; code always as a string.

    v1: ``{"error": {"code": -10, "message": {"lang": "en-us", "value": "..."}}}``;
    v2: ``{"error": {"code": "-10", "message": "...", "details": [...]}}`` (§2.1).
    """
    if not isinstance(body, dict):
        return None, None
    error = body.get("error")
    if not isinstance(error, dict):
        return None, None
    raw_code = error.get("code")
    code = None if raw_code is None or raw_code == "" else str(raw_code)
    raw_message = error.get("message")
    message: str | None
    if isinstance(raw_message, dict):
        value = raw_message.get("value")
        message = None if value is None else str(value)
    elif raw_message is None:
        message = None
    else:
        message = str(raw_message)
    return code, message


def is_sap_error(text: str) -> bool:
    """Whether a body is the Service Layer's own JSON error (an ``error`` object with a code or
    message), as opposed to a proxy's HTML page or any other text."""
    try:
        body = json.loads(text)
    except ValueError:
        return False
    return parse_error(body) != (None, None)


class _TitleParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self._in_title = False
        self.title: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag.lower() == "title" and self.title is None:
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag.lower() == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title = (self.title or "") + data


def html_title(text: str) -> str | None:
    """The ``<title>`` of an HTML page (Apache's "502 Proxy Error"), or ``None``."""
    parser = _TitleParser()
    try:
        parser.feed(text)
        parser.close()
    except Exception:
        return None
    title = " ".join((parser.title or "").split())
    return title or None


def describe_body(text: str, content_type: str) -> tuple[str | None, str | None]:
    """``(code, message)`` for any error body: SL JSON, Apache HTML, plain text or nothing."""
    stripped = text.strip()
    if not stripped:
        return None, None
    if "json" in content_type.lower() or stripped.startswith("{"):
        try:
            code, message = parse_error(json.loads(stripped))
        except ValueError:
            code, message = None, None
        if code is not None or message is not None:
            return code, message
    if "html" in content_type.lower() or stripped.lower().startswith(("<!doctype", "<html")):
        title = html_title(stripped)
        if title:
            return None, title
    return None, " ".join(stripped.split())[:MAX_TEXT_CHARS]
