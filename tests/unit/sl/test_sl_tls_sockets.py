"""TLS failures over real sockets (a local TLS server, a throw-away CA): each cause has its own message.

Hostname mismatch, an issuer not in B1_CA_BUNDLE (or not trusted at all), an expired certificate,
``https://`` to a plain-HTTP port, and a CA file that is missing, a folder or not PEM — never the one
generic "set B1_CA_BUNDLE". None of them is retried: they are configuration, not transient faults.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from connector.errors import SLConnectionError, SLError
from connector.sl.client import ServiceLayerClient
from tests.support.sl_client import client_from
from tests.support.tls_certs import ServerCert, ThrowawayCA, https_server


def client_for(url: str, verify: bool | str) -> ServiceLayerClient:
    return client_from(
        base_url=url,
        company_db="SBODEMOUS",
        username="manager",
        password=SecretStr("tls-test-pw"),
        verify=verify,
        connect_timeout_s=3,
        read_timeout_s=3,
        retry_max_wait_s=0.01,
        sleep=lambda _s: None,
    )


def login_error(cert: ServerCert | None, verify: bool | str, host: str = "127.0.0.1") -> str:
    """Log in to a local server with ``cert`` (None: plain HTTP); the one-line message of the failure."""
    with https_server(cert) as port:
        client = client_for(f"https://{host}:{port}/b1s/v2", verify)
        with pytest.raises(SLError) as caught:
            client.login()
        client.close()
    error = caught.value
    assert not isinstance(error, SLConnectionError), "a TLS failure is configuration: never retried"
    message = str(error)
    assert "\n" not in message and "tls-test-pw" not in message
    assert message.startswith("POST /b1s/v2/Login: TLS")
    return message.removeprefix("POST /b1s/v2/Login: ")


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory, test_ca: ThrowawayCA) -> dict[str, ServerCert]:
    folder = tmp_path_factory.mktemp("server-certs")
    stranger = ThrowawayCA.create(folder / "stranger", "some other CA")
    return {
        "good": test_ca.issue(folder, "localhost", "127.0.0.1"),
        "other-name": test_ca.issue(folder, "sap-sl.example.com"),
        "expired": test_ca.issue(folder, "127.0.0.1", expired=True),
        "foreign": stranger.issue(folder / "stranger", "127.0.0.1"),
    }


def test_the_right_ca_and_name_log_in(certs, test_ca):
    with https_server(certs["good"]) as port:
        client = client_for(f"https://127.0.0.1:{port}/b1s/v2", str(test_ca.pem))
        client.login()
        assert client.version == "1000280"
        client._transport.close()


@pytest.mark.parametrize(
    ("host", "detail"),
    [
        ("127.0.0.1", "IP address mismatch, certificate is not valid for '127.0.0.1'."),
        ("localhost", "Hostname mismatch, certificate is not valid for 'localhost'."),
    ],
)
def test_a_hostname_mismatch_says_so_and_names_the_host(certs, test_ca, host, detail):
    assert login_error(certs["other-name"], str(test_ca.pem), host=host) == (
        f"TLS: the Service Layer's certificate is not issued for {host!r} ({detail}); write the host name "
        "the certificate names in B1_SL_URL, or have the certificate reissued for this name"
    )


def test_a_certificate_from_another_ca_names_the_ca_bundle(certs, test_ca):
    message = login_error(certs["foreign"], str(test_ca.pem))
    assert message.startswith("TLS: the certificate of 127.0.0.1:")
    assert message.endswith(
        f"was not issued by the CA in B1_CA_BUNDLE ({test_ca.pem}) (unable to get local issuer certificate); "
        "put the CA that issued the Service Layer's certificate in that file"
    )


def test_an_untrusted_certificate_without_a_ca_bundle_says_to_set_one(certs):
    message = login_error(certs["good"], True)
    assert "is not issued by a CA this machine trusts (unable to get local issuer certificate)" in message
    assert message.endswith(
        "set B1_CA_BUNDLE to the PEM file of the Service Layer's CA (for a self-signed certificate: the "
        "certificate itself)"
    )


def test_an_expired_certificate_says_expired(certs, test_ca):
    message = login_error(certs["expired"], str(test_ca.pem))
    assert "is outside its validity dates (certificate has expired); renew it on the Service Layer" in message


def test_https_to_a_plain_http_port_says_the_port_is_not_tls(test_ca):
    message = login_error(None, str(test_ca.pem))
    assert " does not answer in TLS (" in message
    assert message.endswith(
        "B1_SL_URL says https:// but that port serves plain HTTP; use the Service Layer's https port "
        "(50000 by default), or http:// if it is really meant to be plain"
    )


def test_a_ca_bundle_deleted_since_start_is_named(certs, test_ca, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(test_ca.pem.read_bytes())
    with https_server(certs["good"]) as port:
        client = client_for(f"https://127.0.0.1:{port}/b1s/v2", str(bundle))
        bundle.unlink()  # after Settings checked it: requests raises a bare OSError before connecting
        with pytest.raises(SLError) as caught:
            client.login()
        client._transport.close()
    assert str(caught.value) == (
        f"POST /b1s/v2/Login: TLS: B1_CA_BUNDLE cannot be used: file {bundle} does not exist; point it at "
        "the PEM file of the Service Layer's CA"
    )


@pytest.mark.parametrize("kind", ["not-pem", "folder"])
def test_a_ca_bundle_that_is_not_a_pem_file_is_named(certs, tmp_path, kind):
    bundle: Path = tmp_path / "ca.pem"
    if kind == "folder":
        bundle.mkdir()
        expected = f"file {bundle} cannot be read (Is a directory)"
    else:
        bundle.write_text("this is not a certificate\n", encoding="utf-8")
        expected = f"file {bundle} holds no usable PEM certificate (NO_CERTIFICATE_OR_CRL_FOUND)"
    assert login_error(certs["good"], str(bundle)) == (
        f"TLS: B1_CA_BUNDLE cannot be used: {expected}; point it at the PEM file of the Service Layer's CA"
    )
