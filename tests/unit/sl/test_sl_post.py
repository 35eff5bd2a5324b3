"""POST is never re-sent once it may have reached SAP; PATCH/GET are retried; network faults classified."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
import responses
from responses import matchers
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError, ProtocolError

from connector.errors import (
    SLConnectionError,
    SLNotFoundError,
    SLOutcomeUnknownError,
    SLRequestError,
    SLServerError,
)
from connector.sl.client import ServiceLayerClient
from connector.sl.retry import is_retryable
from tests.support.sl_unit import (
    SESSION_IDS,
    SleepRecorder,
    login_ok,
    sent_cookies,
    session_expired,
    sl_error,
)

Factory = Callable[..., ServiceLayerClient]
RECEIPT = {"DocumentLines": [{"BaseType": 202, "BaseEntry": 3585, "Quantity": 10}], "U_ExtRef": "K-1"}
PROXY_400 = "<html><head><title>400 Bad Request</title></head><body>Bad Request</body></html>"
PROXY_404 = "<!DOCTYPE html><html><head><title>404 Not Found</title></head><body>nginx</body></html>"
APACHE_502 = "<html><head><title>502 Proxy Error</title></head><body>Proxy Error</body></html>"


def refused(url: str) -> requests.ConnectionError:
    """What requests raises when the TCP connection cannot be made (nothing was sent)."""
    return requests.ConnectionError(MaxRetryError(None, url, NewConnectionError(None, "Connection refused")))  # type: ignore[arg-type]


def connect_timeout(url: str) -> requests.ConnectTimeout:
    return requests.ConnectTimeout(MaxRetryError(None, url, ConnectTimeoutError(None, "timed out")))  # type: ignore[arg-type]


def reset() -> requests.ConnectionError:
    """A connection dropped after the request went out."""
    return requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")))


UNCERTAIN: list[tuple[str, dict]] = [
    ("read-timeout", {"body": requests.ReadTimeout("read timed out")}),
    ("reset", {"body": reset()}),
    ("chunked", {"body": requests.exceptions.ChunkedEncodingError("IncompleteRead")}),
    (
        "500-json",
        {"status": 500, "json": {"error": {"code": "407", "message": "Table definition not found"}}},
    ),
    ("502-html", {"status": 502, "body": APACHE_502, "content_type": "text/html"}),
    ("503-empty", {"status": 503, "body": ""}),
    ("504", {"status": 504, "body": "Gateway Timeout", "content_type": "text/plain"}),
    (
        "201-truncated",
        {"status": 201, "body": '{"DocEntry": 1234, "DocNum": 56', "content_type": "application/json"},
    ),
    ("201-not-json", {"status": 201, "body": "<html>", "content_type": "text/html"}),
    # A proxy's own 4xx is not SAP refusing the receipt: the POST may have been forwarded.
    ("400-html", {"status": 400, "body": PROXY_400, "content_type": "text/html"}),
    ("404-html", {"status": 404, "body": PROXY_404, "content_type": "text/html"}),
    ("413-text", {"status": 413, "body": "Request Entity Too Large", "content_type": "text/plain"}),
    ("408-empty", {"status": 408, "body": ""}),
    ("400-json-not-sap", {"status": 400, "json": {"message": "bad gateway config"}}),
]


@pytest.mark.parametrize(("case", "answer"), UNCERTAIN, ids=[c for c, _ in UNCERTAIN])
def test_post_uncertain_failure_is_outcome_unknown_after_one_post(
    mocked: responses.RequestsMock,
    root: str,
    version: str,
    make_client: Factory,
    sleeps: SleepRecorder,
    case: str,
    answer: dict,
) -> None:
    mocked.add(login_ok(root, version))
    mocked.add(responses.POST, f"{root}/InventoryGenEntries", **answer)
    with pytest.raises(SLOutcomeUnknownError) as info:
        make_client().post("InventoryGenEntries", RECEIPT)
    posts = [c for c in mocked.calls if c.request.url.endswith("/InventoryGenEntries")]
    assert len(posts) == 1
    assert sleeps.calls == []
    assert info.value.request_sent is True and not is_retryable(info.value, "POST")
    assert "look the document up before posting again" in str(info.value)
    assert info.value.method == "POST" and info.value.path == f"/b1s/{version}/InventoryGenEntries"


@pytest.mark.parametrize("failure", [refused, connect_timeout], ids=["refused", "connect-timeout"])
def test_post_connect_failure_before_sending_is_retried(
    mocked: responses.RequestsMock,
    root: str,
    version: str,
    make_client: Factory,
    sleeps: SleepRecorder,
    failure: Callable[[str], Exception],
) -> None:
    url = f"{root}/InventoryGenEntries"
    mocked.add(login_ok(root, version))
    mocked.add(responses.POST, url, body=failure(url))
    mocked.add(
        responses.POST,
        url,
        status=201,
        json={"DocEntry": 1234, "DocNum": 56},
        match=[matchers.json_params_matcher(RECEIPT)],
    )
    assert make_client().post("InventoryGenEntries", RECEIPT) == {"DocEntry": 1234, "DocNum": 56}
    assert len(sleeps.calls) == 1


def test_post_connect_failure_every_time_gives_a_connection_error(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory, sleeps: SleepRecorder
) -> None:
    url = f"{root}/InventoryGenEntries"
    mocked.add(login_ok(root, version))
    for _ in range(3):
        mocked.add(responses.POST, url, body=refused(url))
    with pytest.raises(SLConnectionError) as info:
        make_client(retry_attempts=3).post("InventoryGenEntries", RECEIPT)
    assert not isinstance(info.value, SLOutcomeUnknownError) and info.value.request_sent is False
    assert len(sleeps.calls) == 2


def test_post_401_relogs_in_and_replays_once(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory
) -> None:
    url = f"{root}/InventoryGenEntries"
    mocked.add(login_ok(root, version))
    mocked.add(session_expired(version, responses.POST, url))
    mocked.add(login_ok(root, version, SESSION_IDS[1]))
    mocked.add(
        responses.POST, url, status=201, json={"DocEntry": 7}, match=[matchers.json_params_matcher(RECEIPT)]
    )
    assert make_client().post("InventoryGenEntries", RECEIPT) == {"DocEntry": 7}
    assert sent_cookies(mocked.calls[3].request)["B1SESSION"] == SESSION_IDS[1]


def test_post_business_error_is_a_request_error_never_retried(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory, sleeps: SleepRecorder
) -> None:
    message = "Cannot add row without complete selection of batch/serial numbers"
    mocked.add(login_ok(root, version))
    mocked.add(
        responses.POST, f"{root}/InventoryGenEntries", status=400, json=sl_error(version, -4014, message)
    )
    with pytest.raises(SLRequestError) as info:
        make_client().post("InventoryGenEntries", RECEIPT)
    assert (info.value.code, info.value.sap_message, info.value.status) == ("-4014", message, 400)
    assert len(mocked.calls) == 2 and sleeps.calls == []


def test_post_404_with_sap_error_body_is_a_refusal_not_an_unknown_outcome(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory
) -> None:
    mocked.add(login_ok(root, version))
    mocked.add(
        responses.POST,
        f"{root}/InventoryGenEntries",
        status=404,
        json=sl_error(version, -2028, "No matching records found (ODBC -2028)"),
    )
    with pytest.raises(SLNotFoundError) as info:
        make_client().post("InventoryGenEntries", RECEIPT)
    assert not isinstance(info.value, SLOutcomeUnknownError) and info.value.code == "-2028"


def test_post_201_returns_the_created_entity(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory
) -> None:
    mocked.add(login_ok(root, version))
    mocked.add(
        responses.POST,
        f"{root}/InventoryGenEntries",
        status=201,
        json={"DocEntry": 9, "DocNum": 10},
        match=[
            matchers.json_params_matcher(RECEIPT),
            matchers.header_matcher({"Content-Type": "application/json"}),
        ],
    )
    assert make_client().post("InventoryGenEntries", RECEIPT) == {"DocEntry": 9, "DocNum": 10}


@pytest.mark.parametrize(
    "first",
    [
        {"status": 503, "body": ""},
        {"status": 502, "body": APACHE_502, "content_type": "text/html"},
        {"body": requests.ReadTimeout("read timed out")},
        {"body": reset()},
    ],
    ids=["503", "502-html", "read-timeout", "reset"],
)
def test_patch_and_get_are_retried_after_uncertain_failures(
    mocked: responses.RequestsMock,
    root: str,
    version: str,
    make_client: Factory,
    sleeps: SleepRecorder,
    first: dict,
) -> None:
    order = f"{root}/ProductionOrders(3585)"
    mocked.add(login_ok(root, version))
    mocked.add(responses.PATCH, order, **first)
    mocked.add(
        responses.PATCH, order, status=204, match=[matchers.json_params_matcher({"U_ConfirmedQty": 5.0})]
    )
    mocked.add(responses.GET, order, **first)
    mocked.add(responses.GET, order, json={"AbsoluteEntry": 3585})
    client = make_client()
    assert client.patch("ProductionOrders", 3585, {"U_ConfirmedQty": 5.0}) is None
    assert client.get_entity("ProductionOrders", 3585) == {"AbsoluteEntry": 3585}
    assert len(sleeps.calls) == 2


def test_get_gives_up_after_the_attempts_with_the_last_error(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory, sleeps: SleepRecorder
) -> None:
    mocked.add(login_ok(root, version))
    for _ in range(2):
        mocked.add(responses.GET, f"{root}/Items('A')", status=503, body="")
    with pytest.raises(SLServerError) as info:
        make_client(retry_attempts=2).get_entity("Items", "A")
    assert info.value.status == 503 and len(sleeps.calls) == 1


def test_patch_missing_key_is_not_found(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory, sleeps: SleepRecorder
) -> None:
    mocked.add(login_ok(root, version))
    mocked.add(
        responses.PATCH,
        f"{root}/ProductionOrders(99)",
        status=404,
        json=sl_error(version, -2028, "Entity with value('99') does not exist"),
    )
    with pytest.raises(SLNotFoundError):
        make_client().patch("ProductionOrders", 99, {"Remarks": "x"})
    assert sleeps.calls == []


def test_every_request_carries_the_timeout_tuple(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory
) -> None:
    mocked.add(login_ok(root, version))
    mocked.add(responses.GET, f"{root}/Items('A')", json={})
    mocked.add(responses.POST, f"{root}/InventoryGenEntries", status=201, json={"DocEntry": 1})
    mocked.add(responses.POST, f"{root}/Logout", status=204)
    with make_client(connect_timeout_s=3.5, read_timeout_s=42.0) as client:
        client.get_entity("Items", "A")
        client.post("InventoryGenEntries", RECEIPT)
    assert [c.request.req_kwargs["timeout"] for c in mocked.calls] == [(3.5, 42.0)] * 4
