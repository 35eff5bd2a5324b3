"""Wire format of both roots: envelopes, error bodies, content types (docs/service-layer.md §1.2, §2, §8)."""

from __future__ import annotations

import json
from typing import Any

V1_JSON = "application/json;odata=minimalmetadata;charset=utf-8"
V2_JSON = "application/json;odata.metadata=minimal;charset=utf-8"
#: §2.1: errors are ``application/json;charset=utf-8`` (v2 412 example); v1 keeps its data type.
V2_ERROR_JSON = "application/json;charset=utf-8"
TEXT_PLAIN = "text/plain;charset=utf-8"
SERVER = "Apache/2.4.61 (Unix)"  # the real SL's front (§1.2, CASSETTE)

INVALID_SESSION = "Invalid session or session already timeout."
LOGIN_FAILED = "Fail to NONE-SSO login from SLD."
NOT_FOUND = "No matching records found (ODBC -2028)"
NOT_SUPPORTED = "The requested action is not supported for this object."
#: ASSUMPTION: SAP's text for a body that is not JSON (or not an object) was not captured.
INVALID_JSON = "Invalid JSON body"
ETAG_MISMATCH = (
    "Another user or another operation modified data; to continue, open the window again (ODBC -2039)"
)


class SapError(Exception):
    """An SAP business or protocol error: HTTP ``status``, SAP ``code`` (int) and ``message`` verbatim."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_body(version: str, code: int, message: str, *, v2_details: bool = True) -> dict[str, Any]:
    """v1: int code + ``{lang, value}``; v2: string code + string message (+ ``details``, §2.1)."""
    if version == "v1":
        return {"error": {"code": code, "message": {"lang": "en-us", "value": message}}}
    if not v2_details:
        return {"error": {"code": str(code), "message": message}}
    return {"error": {"code": str(code), "details": [{"code": "", "message": ""}], "message": message}}


def dumps(version: str, body: Any) -> bytes:
    """SL pretty-printing: ``" : "`` separators; v2 tab-indented, v1 3 spaces (§2.1)."""
    indent: str | int = "\t" if version == "v2" else 3
    return json.dumps(body, indent=indent, separators=(",", " : "), ensure_ascii=False).encode("utf-8")


def json_type(version: str, *, error: bool = False) -> str:
    """Content-Type of a JSON answer in ``version``."""
    if version == "v1":
        return V1_JSON
    return V2_ERROR_JSON if error else V2_JSON


def metadata_key(version: str) -> str:
    """``odata.metadata`` (v1) or ``@odata.context`` (v2)."""
    return "odata.metadata" if version == "v1" else "@odata.context"


def etag_key(version: str) -> str:
    """``odata.etag`` (v1) or ``@odata.etag`` (v2)."""
    return "odata.etag" if version == "v1" else "@odata.etag"


def next_link_key(version: str) -> str:
    """``odata.nextLink`` (v1) or ``@odata.nextLink`` (v2), placed after ``value`` (§3.2)."""
    return "odata.nextLink" if version == "v1" else "@odata.nextLink"


def entity_context(root: str, version: str, entity_set: str) -> str:
    """``.../$metadata#Items/@Element`` (v1) or ``.../$metadata#Items/$entity`` (v2)."""
    return f"{root}/$metadata#{entity_set}/{'@Element' if version == 'v1' else '$entity'}"


def collection_context(root: str, entity_set: str) -> str:
    """``.../$metadata#Items`` in both versions."""
    return f"{root}/$metadata#{entity_set}"


def format_number(value: float) -> str:
    """A count for ``/$count`` (a bare integer)."""
    return str(int(value))
