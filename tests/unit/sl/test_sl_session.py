"""Login/Logout, cookies on both roots, sliding expiry with the injected clock, 401 → one re-login."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import responses
from responses import matchers

from connector.errors import SLAuthError, SLServerError, SLSessionError
from connector.sl.client import ServiceLayerClient
from connector.sl.session import parse_login
from tests.support.sl_unit import (
    HOST,
    PASSWORD,
    ROUTE,
    SESSION_IDS,
    FakeClock,
    SleepRecorder,
    login_ok,
    sent_cookies,
    session_expired,
    sl_error,
)

Factory = Callable[..., ServiceLayerClient]
PAYLOADS = Path(__file__).parent / "payloads"


def item_ok(root: str, session_id: str = SESSION_IDS[0]) -> responses.Response:
    return responses.Response(
        responses.GET,
        f"{root}/Items('A')",
        json={"ItemCode": "A"},
        match=[matchers.header_matcher({"Cookie": f"B1SESSION={session_id}; ROUTEID={ROUTE}"})],
    )


def test_login_sends_credentials_and_reads_the_answer(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory
) -> None:
    login = login_ok(root, version)
    login.match = (
        matchers.json_params_matcher({"CompanyDB": "SBODEMOUS", "UserName": "manager", "Password": PASSWORD}),
    )
    mocked.add(login)
    client = make_client()
    assert client.version is None
    client.login()
    assert client.version == "1000280"
    assert client.protocol == version
    assert mocked.calls[0].request.url == f"{root}/Login"


def test_session_cookies_are_sent_back_on_both_roots(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory
) -> None:
    other = f"{HOST}/b1s/{'v2' if version == 'v1' else 'v1'}"
    mocked.add(login_ok(root, version))
    mocked.add(item_ok(root))
    mocked.add(item_ok(other))
    client = make_client()
    assert client.get_entity("Items", "A") == {"ItemCode": "A"}
    assert client.get_url(f"{other}/Items('A')") == {"ItemCode": "A"}
    assert sent_cookies(mocked.calls[2].request) == {"B1SESSION": SESSION_IDS[0], "ROUTEID": ROUTE}


def test_session_without_routeid_sends_b1session_only(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory
) -> None:
    mocked.add(login_ok(root, version, route=None))
    mocked.add(responses.GET, f"{root}/Items('A')", json={"ItemCode": "A"})
    make_client().get_entity("Items", "A")
    assert sent_cookies(mocked.calls[1].request) == {"B1SESSION": SESSION_IDS[0]}


def test_session_relogs_in_ahead_of_timeout_and_slides(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory, clock: FakeClock
) -> None:
    mocked.add(login_ok(root, version, timeout_min=30))
    mocked.add(item_ok(root))
    mocked.add(item_ok(root))
    mocked.add(login_ok(root, version, SESSION_IDS[1]))
    mocked.add(item_ok(root, SESSION_IDS[1]))
    client = make_client(session_margin_s=60.0)
    client.login()
    clock.advance(29 * 60 - 1)  # just inside 30 min minus the 60 s margin
    client.get_entity("Items", "A")
    clock.advance(29 * 60 - 1)  # sliding: the GET above restarted SAP's idle timer
    client.get_entity("Items", "A")
    clock.advance(29 * 60)  # now within the margin of expiry: log in first, no 401 needed
    client.get_entity("Items", "A")
    assert [c.request.url.rsplit("/", 1)[-1] for c in mocked.calls] == [
        "Login",
        "Items('A')",
        "Items('A')",
        "Login",
        "Items('A')",
    ]


def test_session_401_relogs_in_once_and_replays(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory, sleeps: SleepRecorder
) -> None:
    mocked.add(login_ok(root, version))
    mocked.add(session_expired(version, responses.GET, f"{root}/Items('A')"))
    mocked.add(login_ok(root, version, SESSION_IDS[1]))
    mocked.add(item_ok(root, SESSION_IDS[1]))
    assert make_client().get_entity("Items", "A") == {"ItemCode": "A"}
    assert len(mocked.calls) == 4 and sleeps.calls == []


def test_session_second_401_raises_session_error(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory
) -> None:
    mocked.add(login_ok(root, version))
    mocked.add(session_expired(version, responses.GET, f"{root}/Items('A')"))
    mocked.add(login_ok(root, version, SESSION_IDS[1]))
    mocked.add(session_expired(version, responses.GET, f"{root}/Items('A')"))
    with pytest.raises(SLSessionError) as info:
        make_client().get_entity("Items", "A")
    assert info.value.status == 401 and info.value.code == "301"
    assert len(mocked.calls) == 4


@pytest.mark.parametrize("code", [-304, -306, 100000027])
def test_session_wrong_credentials_fail_at_once(
    mocked: responses.RequestsMock,
    root: str,
    version: str,
    make_client: Factory,
    sleeps: SleepRecorder,
    code: int,
) -> None:
    mocked.add(
        responses.POST,
        f"{root}/Login",
        status=401,
        json=sl_error(version, code, "Fail to NONE-SSO login from SLD."),
    )
    client = make_client()
    with pytest.raises(SLAuthError) as info:
        client.get_entity("Items", "A")
    assert info.value.sap_message == "Fail to NONE-SSO login from SLD."
    assert "Fail to NONE-SSO login from SLD." in str(info.value)
    assert len(mocked.calls) == 1 and sleeps.calls == []


def test_session_login_race_500_299_is_retried(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory, sleeps: SleepRecorder
) -> None:
    mocked.add(responses.POST, f"{root}/Login", status=500, json=sl_error(version, 299, "SAML Login Failed"))
    mocked.add(login_ok(root, version))
    make_client().login()
    assert len(sleeps.calls) == 1


def test_session_login_failure_inside_a_get_is_retried_by_the_get(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory, sleeps: SleepRecorder
) -> None:
    mocked.add(responses.POST, f"{root}/Login", status=503, body="")
    mocked.add(login_ok(root, version))
    mocked.add(item_ok(root))
    make_client().get_entity("Items", "A")
    assert len(sleeps.calls) == 1


def test_session_eight_threads_on_an_expired_session_log_in_once(
    root: str, version: str, make_client: Factory, clock: FakeClock
) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mocked:
        mocked.add(login_ok(root, version))
        mocked.add(login_ok(root, version, SESSION_IDS[1]))
        mocked.add(responses.GET, f"{root}/Items('A')", json={"ItemCode": "A"})
        client = make_client()
        client.login()
        clock.advance(3600)
        results: list[Any] = []
        barrier = threading.Barrier(8)

        def work() -> None:
            barrier.wait()
            results.append(client.get_entity("Items", "A"))

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(5)
        logins = [c for c in mocked.calls if c.request.url.endswith("/Login")]
        assert len(logins) == 2  # the first login plus exactly ONE re-login
        assert results == [{"ItemCode": "A"}] * 8
        assert all(
            sent_cookies(c.request)["B1SESSION"] == SESSION_IDS[1]
            for c in mocked.calls
            if "Items" in c.request.url
        )


def test_session_concurrent_401s_cause_one_relogin(root: str, version: str, make_client: Factory) -> None:
    barrier = threading.Barrier(8, timeout=5)
    logins: list[str] = []

    def on_login(request: Any) -> tuple[int, dict[str, str], str]:
        session_id = SESSION_IDS[len(logins)]
        logins.append(session_id)
        return (
            200,
            {"Set-Cookie": f"B1SESSION={session_id};HttpOnly;"},
            json.dumps({"SessionId": session_id, "Version": "1000280", "SessionTimeout": 30}),
        )

    def on_item(request: Any) -> tuple[int, dict[str, str], str]:
        if sent_cookies(request)["B1SESSION"] == SESSION_IDS[0]:
            barrier.wait()  # every thread gets its 401 before anyone re-logs in
            return 401, {}, json.dumps(sl_error(version, 301, "Invalid session or session already timeout."))
        return 200, {}, json.dumps({"ItemCode": "A"})

    with responses.RequestsMock(assert_all_requests_are_fired=True) as mocked:
        mocked.add_callback(responses.POST, f"{root}/Login", callback=on_login)
        mocked.add_callback(responses.GET, f"{root}/Items('A')", callback=on_item)
        client = make_client()
        client.login()
        errors: list[BaseException] = []

        def work() -> None:
            try:
                client.get_entity("Items", "A")
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(5)
    assert errors == []
    assert logins == SESSION_IDS[:2]


def _calls(mocked: responses.RequestsMock) -> list[tuple[str, str]]:
    """(method, last path segment) of every request the client sent, in order."""
    return [(call.request.method, call.request.url.rsplit("/", 1)[-1]) for call in mocked.calls]


def test_session_logout_sends_cookies_and_forgets_the_session(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory
) -> None:
    mocked.add(login_ok(root, version))
    mocked.add(
        responses.POST,
        f"{root}/Logout",
        status=204,
        match=[matchers.header_matcher({"Cookie": f"B1SESSION={SESSION_IDS[0]}; ROUTEID={ROUTE}"})],
    )
    mocked.add(login_ok(root, version, SESSION_IDS[1]))
    mocked.add(item_ok(root, SESSION_IDS[1]))
    client = make_client()
    client.login()
    client.logout()
    client.logout()  # nothing held: no second Logout request
    assert _calls(mocked) == [("POST", "Login"), ("POST", "Logout")]
    # The old session is forgotten: the next call logs in anew and sends only the new session's cookie.
    assert client.get_entity("Items", "A")["ItemCode"] == "A"
    assert _calls(mocked)[2:] == [("POST", "Login"), ("GET", "Items('A')")]
    assert sent_cookies(mocked.calls[-1].request)["B1SESSION"] == SESSION_IDS[1]


def test_session_logout_of_an_expired_session_is_quiet(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory, caplog
) -> None:
    mocked.add(login_ok(root, version))
    mocked.add(session_expired(version, responses.POST, f"{root}/Logout"))
    mocked.add(login_ok(root, version, SESSION_IDS[1]))
    mocked.add(item_ok(root, SESSION_IDS[1]))
    client = make_client()
    client.login()
    caplog.set_level(logging.WARNING)
    client.logout()  # SAP had dropped the session already (401): that is logged out, not an error
    assert _calls(mocked) == [("POST", "Login"), ("POST", "Logout")]
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert client.get_entity("Items", "A")["ItemCode"] == "A"  # and the next call logs in anew
    assert sent_cookies(mocked.calls[-1].request)["B1SESSION"] == SESSION_IDS[1]


def test_session_context_manager_logs_out_on_exit(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory
) -> None:
    mocked.add(login_ok(root, version))
    mocked.add(item_ok(root))
    mocked.add(responses.POST, f"{root}/Logout", status=204)
    with make_client() as client:
        client.get_entity("Items", "A")
        assert _calls(mocked) == [("POST", "Login"), ("GET", "Items('A')")]
    assert _calls(mocked)[-1] == ("POST", "Logout")
    assert sent_cookies(mocked.calls[-1].request)["B1SESSION"] == SESSION_IDS[0]


def test_session_close_survives_a_failing_logout(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory, caplog
) -> None:
    mocked.add(login_ok(root, version))
    mocked.add(responses.POST, f"{root}/Logout", status=500, json=sl_error(version, 407, "broken node"))
    client = make_client()
    client.login()
    caplog.set_level(logging.WARNING)
    client.close()  # no exception: closing is best effort
    assert _calls(mocked) == [("POST", "Login"), ("POST", "Logout")]  # tried once, not retried
    [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.getMessage() == "sl.logout_failed"
    assert PASSWORD not in caplog.text and SESSION_IDS[0] not in caplog.text


@pytest.mark.parametrize("name", sorted(p.name for p in PAYLOADS.glob("login-*.json")))
def test_parse_login_reads_captured_answers(name: str) -> None:
    body = json.loads((PAYLOADS / name).read_text())
    result = parse_login(body, {"ROUTEID": ".node1"})
    assert result.cookies == {"B1SESSION": body["SessionId"], "ROUTEID": ".node1"}
    assert result.version == body["Version"]
    assert result.session_timeout_min == body["SessionTimeout"]
    assert body["SessionId"] not in repr(result)


def test_parse_login_prefers_the_cookie_and_defaults_the_timeout() -> None:
    result = parse_login({"SessionId": "from-body"}, {"B1SESSION": "from-cookie"})
    assert result.cookies == {"B1SESSION": "from-cookie"}
    assert result.session_timeout_min == 30 and result.version is None
    with pytest.raises(ValueError):
        parse_login({}, {})


def test_session_unreadable_login_answer_is_a_server_error(
    mocked: responses.RequestsMock, root: str, make_client: Factory
) -> None:
    mocked.add(responses.POST, f"{root}/Login", body="<html>oops</html>", content_type="text/html")
    with pytest.raises(SLServerError):
        make_client(retry_attempts=1).login()
