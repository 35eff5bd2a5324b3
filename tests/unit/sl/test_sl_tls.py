"""TLS: verified by default, the CA bundle wins over the environment, a warning when verification is off."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
import responses
from pydantic import SecretStr

from connector.settings import Settings
from connector.sl.client import ServiceLayerClient
from tests.support.sl_unit import login_ok

Factory = Callable[..., ServiceLayerClient]


@pytest.fixture
def hostile_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Ambient CA variables pointing somewhere else, as on many corporate machines."""
    other = tmp_path / "ambient.pem"
    other.write_text("not our CA")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(other))
    return other


def test_tls_ca_bundle_is_used_on_every_request_despite_env(
    mocked: responses.RequestsMock,
    root: str,
    version: str,
    make_client: Factory,
    hostile_env: Path,
    tmp_path: Path,
) -> None:
    bundle = tmp_path / "sl-ca.pem"
    bundle.write_text("our CA")
    mocked.add(login_ok(root, version))
    mocked.add(responses.GET, f"{root}/Items('A')", json={})
    mocked.add(responses.POST, f"{root}/Logout", status=204)
    with make_client(verify=str(bundle)) as client:
        client.get_entity("Items", "A")
    assert [c.request.req_kwargs["verify"] for c in mocked.calls] == [str(bundle)] * 3


def test_tls_default_verify_true_is_not_replaced_by_env(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory, hostile_env: Path
) -> None:
    mocked.add(login_ok(root, version))
    make_client().login()
    assert mocked.calls[0].request.req_kwargs["verify"] is True


def test_tls_from_settings_uses_the_ca_bundle(
    mocked: responses.RequestsMock, root: str, version: str, hostile_env: Path, test_ca
) -> None:
    bundle = test_ca.pem
    settings = Settings(
        sl_url=root,
        company_db="SBODEMOUS",
        username="manager",
        password=SecretStr("pw-123"),
        ca_bundle=bundle,
        _env_file=None,
    )  # type: ignore[call-arg]
    mocked.add(login_ok(root, version))
    client = ServiceLayerClient(settings.sl, settings.retry)
    client.login()
    assert mocked.calls[0].request.req_kwargs["verify"] == str(bundle)
    assert client.protocol == version


def test_tls_proxies_from_env_are_kept_deliberately(
    monkeypatch: pytest.MonkeyPatch, root: str, make_client: Factory
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = make_client()
    assert client._transport.proxies.get("https") == "http://proxy.example:3128"
    assert client._transport.http.trust_env is False


def test_tls_verify_off_warns_once_at_creation(
    caplog: pytest.LogCaptureFixture, make_client: Factory
) -> None:
    with caplog.at_level(logging.WARNING):
        make_client(verify=False)
    warnings = [r for r in caplog.records if r.getMessage() == "sl.tls_verify_disabled"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING


def test_tls_verify_on_does_not_warn(caplog: pytest.LogCaptureFixture, make_client: Factory) -> None:
    with caplog.at_level(logging.WARNING):
        make_client()
    assert not [r for r in caplog.records if r.getMessage() == "sl.tls_verify_disabled"]


def test_tls_verify_off_is_passed_to_requests(
    mocked: responses.RequestsMock, root: str, version: str, make_client: Factory
) -> None:
    mocked.add(login_ok(root, version))
    make_client(verify=False).login()
    assert mocked.calls[0].request.req_kwargs["verify"] is False


def test_tls_certificate_failure_is_not_retried(
    mocked: responses.RequestsMock, root: str, make_client: Factory, sleeps: list
) -> None:
    import requests

    from connector.errors import SLConnectionError, SLError

    mocked.add(
        responses.POST, f"{root}/Login", body=requests.exceptions.SSLError("CERTIFICATE_VERIFY_FAILED")
    )
    with pytest.raises(SLError, match="B1_CA_BUNDLE") as info:
        make_client().login()
    assert not isinstance(info.value, SLConnectionError)
    assert len(mocked.calls) == 1
