"""Helpers for the Service Layer client's unit tests: SAP bodies, a fake clock, a sleep recorder."""

from __future__ import annotations

from typing import Any

import responses

HOST = "https://sap.example:50000"
PASSWORD = "s3cr3t-Pa55"
SESSION_IDS = [
    "11111111-aaaa-4bbb-8ccc-session0001",
    "22222222-aaaa-4bbb-8ccc-session0002",
    "33333333-aaaa-4bbb-8ccc-session0003",
]
ROUTE = ".node7"


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class SleepRecorder:
    """Records requested sleeps instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def sl_error(version: str, code: int | str, message: str) -> dict[str, Any]:
    """An SL error body in the shape of ``version`` (docs/service-layer.md §2.1)."""
    if version == "v1":
        return {"error": {"code": int(code), "message": {"lang": "en-us", "value": message}}}
    return {"error": {"code": str(code), "details": [{"code": "", "message": ""}], "message": message}}


def login_ok(
    root: str,
    version: str,
    session_id: str = SESSION_IDS[0],
    *,
    timeout_min: int = 30,
    route: str | None = ROUTE,
) -> responses.BaseResponse:
    """A 200 Login answer with B1SESSION (+ ROUTEID path=/b1s) cookies, shaped per version."""
    meta = (
        {"odata.metadata": f"{root}/$metadata#B1Sessions/@Element"}
        if version == "v1"
        else {"@odata.context": f"{root}/$metadata#B1Sessions/$entity"}
    )
    headers = [("Set-Cookie", f"B1SESSION={session_id};HttpOnly;")]
    if route:
        headers.append(("Set-Cookie", f"ROUTEID={route}; path=/b1s"))
    return responses.Response(
        responses.POST,
        f"{root}/Login",
        json={**meta, "SessionId": session_id, "Version": "1000280", "SessionTimeout": timeout_min},
        headers=headers,
    )


def session_expired(version: str, method: str, url: str) -> responses.BaseResponse:
    """401 / 301 "Invalid session" for ``method url``."""
    return responses.Response(
        method, url, status=401, json=sl_error(version, 301, "Invalid session or session already timeout.")
    )


def sent_cookies(request: Any) -> dict[str, str]:
    """The cookies a recorded request carried, as a dict."""
    header = request.headers.get("Cookie", "")
    pairs = [part.strip().split("=", 1) for part in header.split(";") if "=" in part]
    return {name: value for name, value in pairs}


def rows(n: int, start: int = 0) -> list[dict[str, Any]]:
    """``n`` ProductionOrders rows with AbsoluteEntry start+1 ..."""
    return [{"AbsoluteEntry": start + i + 1, "ItemNo": f"FG-{start + i + 1}"} for i in range(n)]


def collection(version: str, value: list[dict[str, Any]], next_link: str | None = None) -> dict[str, Any]:
    """A collection body shaped per version (metadata and next-link keys, §8)."""
    prefix = "odata." if version == "v1" else "@odata."
    body: dict[str, Any] = {
        (f"{prefix}metadata" if version == "v1" else "@odata.context"): "x#ProductionOrders",
        "value": value,
    }
    if next_link is not None:
        body[f"{prefix}nextLink"] = next_link
    return body
