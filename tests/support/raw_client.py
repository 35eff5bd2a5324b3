"""A raw-HTTP client for the mock Service Layer (the way a third-party client such as B1SLayer talks to
the SL) and the request bodies the mock tests send."""

from __future__ import annotations

from typing import Any

import requests

from connector.mock_sl.server import MockServiceLayer
from tests.support.mock import DEMO


class Client:
    """A thin raw-HTTP client the way B1SLayer talks to the SL: cookies from Login, JSON bodies."""

    def __init__(self, sl: MockServiceLayer, version: str) -> None:
        self.sl = sl
        self.version = version
        self.http = requests.Session()
        self.cookies: dict[str, str] = {}

    def url(self, path: str) -> str:
        return f"{self.sl.root(self.version)}/{path}"

    def login(self, **overrides: Any) -> requests.Response:
        user, password = next(iter(self.sl.users.items()))
        body = {"CompanyDB": self.sl.company_db, "UserName": user, "Password": password, **overrides}
        response = self.http.post(self.url("Login"), json=body, timeout=5)
        if response.status_code == 200:
            self.cookies = {
                "B1SESSION": response.cookies["B1SESSION"],
                "ROUTEID": response.cookies["ROUTEID"],
            }
        return response

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 5)
        return requests.request(method, self.url(path), cookies=self.cookies, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, json=body, **kwargs)

    def patch(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, json=body, **kwargs)

    def error(self, response: requests.Response) -> tuple[str, str]:
        """(code as string, message) from either version's error shape."""
        error = response.json()["error"]
        message = error["message"]["value"] if self.version == "v1" else error["message"]
        return str(error["code"]), message


def start_mock(data: Any = DEMO, **kwargs: Any) -> MockServiceLayer:
    """A started mock on port 0 serving ``data`` (a company folder or its loaded data; the demo's)."""
    return MockServiceLayer(data, port=0, **kwargs).start()


def receipt(entry: int, quantity: float, **line: Any) -> dict[str, Any]:
    """A receipt-from-production body as the connector builds it (§5.3)."""
    return {
        "DocDate": "2026-06-10",
        "DocumentLines": [
            {"BaseType": 202, "BaseEntry": entry, "Quantity": quantity, "WarehouseCode": "01", **line}
        ],
    }


def stock(sl: MockServiceLayer, item: str, warehouse: str) -> float:
    row = sl.store.get("Items", item)
    assert row is not None
    return next(
        float(w["InStock"]) for w in row["ItemWarehouseInfoCollection"] if w["WarehouseCode"] == warehouse
    )


def assert_refused(client: Client, response: requests.Response, code: int, message: str) -> None:
    """400, ``code`` as a number (v1) or a string (v2), ``message`` verbatim."""
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    if client.version == "v1":
        assert type(error["code"]) is int and error["code"] == code
        assert error["message"] == {"lang": "en-us", "value": message}
    else:
        assert error["code"] == str(code)
        assert error["message"] == message
