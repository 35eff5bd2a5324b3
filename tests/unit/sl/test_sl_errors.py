"""``error_from_response``: status + SAP code → exception class, in both versions."""

from __future__ import annotations

import json

import pytest
import requests

from connector.errors import (
    SLAuthError,
    SLNotFoundError,
    SLOutcomeUnknownError,
    SLQueryError,
    SLRequestError,
    SLServerError,
    SLSessionError,
)
from connector.sl.client import error_from_response
from tests.support.sl_unit import sl_error

APACHE_502 = (
    '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN"><html><head><title>502 Proxy Error</title>'
    "</head><body><h1>Proxy Error</h1></body></html>"
)


def make_response(
    status: int,
    body: object = None,
    *,
    text: str | None = None,
    content_type: str = "application/json;charset=utf-8",
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.reason = "Reason"
    payload = text if text is not None else ("" if body is None else json.dumps(body))
    response._content = payload.encode("utf-8")
    response.headers["Content-Type"] = content_type
    return response


ITEMS = "/b1s/{v}/Items('A''B')"
QUERY = "/b1s/{v}/ProductionOrders?$filter=Foo eq 1"
POST_PATH = "/b1s/{v}/InventoryGenEntries"
LOGIN = "/b1s/{v}/Login"


@pytest.mark.parametrize(
    ("status", "code", "method", "path", "cls"),
    [
        (401, 301, "GET", ITEMS, SLSessionError),
        (401, 301, "POST", POST_PATH, SLSessionError),
        (401, -304, "POST", LOGIN, SLAuthError),
        (401, -306, "POST", LOGIN, SLAuthError),
        (401, 100000027, "POST", LOGIN, SLAuthError),
        (404, -2028, "GET", ITEMS, SLNotFoundError),
        (404, -2028, "PATCH", ITEMS, SLNotFoundError),
        (400, -2028, "GET", ITEMS, SLNotFoundError),
        (400, 201, "GET", QUERY, SLQueryError),
        (400, -1000, "GET", QUERY, SLQueryError),
        (400, -1000, "POST", POST_PATH, SLRequestError),  # unknown property in a body: business refusal
        (400, -5002, "POST", POST_PATH, SLRequestError),
        (400, -10, "POST", POST_PATH, SLRequestError),
        (412, -2039, "PATCH", ITEMS, SLRequestError),
        (500, 407, "GET", QUERY, SLServerError),
        (500, 299, "POST", LOGIN, SLServerError),
        (503, None, "GET", QUERY, SLServerError),
        (500, 407, "POST", POST_PATH, SLOutcomeUnknownError),
        (502, None, "POST", POST_PATH, SLOutcomeUnknownError),
        (504, None, "POST", POST_PATH, SLOutcomeUnknownError),
        (502, None, "POST", "/b1s/{v}/Logout", SLServerError),
    ],
)
def test_error_from_response_maps_status_and_code(
    version: str, status: int, code: int | None, method: str, path: str, cls: type
) -> None:
    body = sl_error(version, code, "SAP says no") if code is not None else None
    error = error_from_response(make_response(status, body), method=method, path=path.format(v=version))
    assert type(error) is cls
    assert error.status == status
    assert error.code == (None if code is None else str(code))
    assert error.method == method
    if code is not None:
        assert error.sap_message == "SAP says no"
        assert f"SAP {code}" in str(error)
    assert str(status) in str(error) and method in str(error)


def test_error_from_response_keeps_sap_message_verbatim(version: str) -> None:
    message = (
        "Make sure that the consumed quantity of the component item would not cause the item's inventory "
        "to fall below zero  [IGE1.WhsCode][line: 1] , 'Production Order no: 2026230060 Line: 1'  "
        "[Message 3559-7]"
    )
    error = error_from_response(
        make_response(400, sl_error(version, -5002, message)),
        method="POST",
        path=f"/b1s/{version}/InventoryGenEntries",
    )
    assert isinstance(error, SLRequestError)
    assert error.sap_message == message and error.code == "-5002"
    assert message in str(error)


@pytest.mark.parametrize(
    ("text", "content_type", "expected"),
    [
        (APACHE_502, "text/html; charset=iso-8859-1", "502 Proxy Error"),
        ("", "text/html", "Reason"),
        ("upstream connect error", "text/plain", "upstream connect error"),
        ("{not json", "application/json", "{not json"),
    ],
)
def test_error_from_response_survives_non_json_bodies(text: str, content_type: str, expected: str) -> None:
    error = error_from_response(
        make_response(502, text=text, content_type=content_type), method="GET", path="/b1s/v1/Orders/$count"
    )
    assert isinstance(error, SLServerError)
    assert error.code is None
    assert expected in str(error)


def test_error_from_response_never_shows_a_login_query() -> None:
    error = error_from_response(
        make_response(401, sl_error("v2", -304, "Fail to NONE-SSO login from SLD.")),
        method="POST",
        path="/b1s/v2/Login?Password=oops",
    )
    assert isinstance(error, SLAuthError)
    assert "oops" not in str(error) and "oops" not in repr(error) and error.path == "/b1s/v2/Login"
    assert "Fail to NONE-SSO login from SLD." in str(error)
