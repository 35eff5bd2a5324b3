"""The password, B1SESSION and ROUTEID values never reach logs, reprs or exception text."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
import requests
import responses

from connector.errors import SLAuthError, SLError, SLOutcomeUnknownError, SLRequestError, SLSessionError
from connector.sl.client import ServiceLayerClient
from tests.support.sl_unit import PASSWORD, ROUTE, SESSION_IDS, login_ok, session_expired, sl_error

Factory = Callable[..., ServiceLayerClient]
SECRETS = [PASSWORD, *SESSION_IDS, ROUTE]


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"secret leaked: {secret!r} in {text[:200]!r}"


def test_secrets_absent_from_debug_logs_reprs_and_errors(
    mocked: responses.RequestsMock,
    root: str,
    version: str,
    make_client: Factory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    post_url = f"{root}/InventoryGenEntries"
    mocked.add(login_ok(root, version))
    mocked.add(session_expired(version, responses.GET, f"{root}/Items('A')"))
    mocked.add(login_ok(root, version, SESSION_IDS[1]))
    mocked.add(responses.GET, f"{root}/Items('A')", json={"ItemCode": "A"})
    mocked.add(responses.GET, f"{root}/Items('B')", status=503, body="")
    mocked.add(responses.GET, f"{root}/Items('B')", status=503, body="")
    mocked.add(
        responses.POST, post_url, status=400, json=sl_error(version, -5002, "Code undefined  [OCRD.CardCode]")
    )
    mocked.add(responses.POST, post_url, body=requests.ReadTimeout("read timed out"))
    mocked.add(session_expired(version, responses.GET, f"{root}/Items('C')"))
    mocked.add(login_ok(root, version, SESSION_IDS[2]))
    mocked.add(session_expired(version, responses.GET, f"{root}/Items('C')"))
    mocked.add(responses.POST, f"{root}/Logout", status=204)
    mocked.add(
        responses.POST,
        f"{root}/Login",
        status=401,
        json=sl_error(version, -304, "Fail to NONE-SSO login from SLD."),
    )

    raised: list[SLError] = []
    with caplog.at_level(logging.DEBUG):
        client = make_client(retry_attempts=2)
        assert_clean(repr(client))
        assert repr(client) == (f"ServiceLayerClient(url={root!r}, company_db='SBODEMOUS', user='manager')")
        client.get_entity("Items", "A")
        for action, expected in [
            (lambda: client.get_entity("Items", "B"), SLError),
            (lambda: client.post("InventoryGenEntries", {"U_X": 1}), SLRequestError),
            (lambda: client.post("InventoryGenEntries", {"U_X": 1}), SLOutcomeUnknownError),
            (lambda: client.get_entity("Items", "C"), SLSessionError),
        ]:
            with pytest.raises(expected) as info:
                action()
            raised.append(info.value)
        assert_clean(repr(client._session))
        client.logout()
        with pytest.raises(SLAuthError) as auth:
            client.login()
        raised.append(auth.value)
        client.close()

    assert len(raised) == 5
    for error in raised:
        assert_clean(str(error))
        assert_clean(repr(error))
        assert_clean(repr(vars(error)))
    assert caplog.records, "the sequence must have logged something to check"
    for record in caplog.records:
        assert_clean(record.getMessage())
        assert_clean(repr(vars(record)))
    assert {"sl.login", "sl.retry", "sl.request"} <= {r.getMessage() for r in caplog.records}
