"""Settings that parse but cannot be meant: infinities, NaN, a CA bundle that is no CA bundle, and
settings that contradict each other. Each is one line naming the variable(s) and the fix, at start."""

from __future__ import annotations

import pytest

from connector.errors import ConfigError
from connector.settings import load_settings
from connector.sl.session import refuse_margin_beyond_timeout
from tests.support.settings_env import REQUIRED


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def one_line(env, name: str, value: str) -> str:
    env.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    [line] = str(caught.value).splitlines()
    return line


@pytest.mark.parametrize(
    "name",
    [
        "B1_CONNECT_TIMEOUT_S",
        "B1_READ_TIMEOUT_S",
        "B1_RETRY_MAX_WAIT_S",
        "B1_RETRY_TOTAL_S",
        "B1_SESSION_MARGIN_S",
        "B1_UNKNOWN_QUIET_PERIOD_S",
        "B1_POLL_INTERVAL_S",
    ],
)
@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "Infinity", "1e999"])
def test_non_finite_numbers_are_refused_naming_the_variable(env, name, value):
    line = one_line(env, name, value)
    assert line.startswith(f"{name} is invalid (Input should be a finite number)"), line
    assert ": set it in .env or the environment to seconds" in line


def test_a_retry_wait_longer_than_the_retry_budget_is_refused(env):
    env.setenv("B1_RETRY_TOTAL_S", "20")
    assert one_line(env, "B1_RETRY_MAX_WAIT_S", "45") == (
        "B1_RETRY_MAX_WAIT_S (45) is longer than B1_RETRY_TOTAL_S (20), the whole time reads are "
        "retried: set B1_RETRY_MAX_WAIT_S to at most B1_RETRY_TOTAL_S (defaults 30 and 120)"
    )
    env.setenv("B1_RETRY_MAX_WAIT_S", "20")
    assert load_settings().retry_max_wait_s == 20  # equal is fine


def test_a_ca_bundle_with_a_plain_http_url_is_refused(env, test_ca):
    env.setenv("B1_SL_URL", "http://sap:50001/b1s/v2")
    assert one_line(env, "B1_CA_BUNDLE", str(test_ca.pem)) == (
        "B1_CA_BUNDLE is set but B1_SL_URL starts with http://, so no certificate is checked: "
        "use https:// (the Service Layer listens on https, port 50000 by default)"
    )


def test_a_ca_bundle_that_holds_no_certificate_is_refused_at_start(env, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN NOTHING-----\n", encoding="utf-8")
    line = one_line(env, "B1_CA_BUNDLE", str(bundle))
    assert line.startswith(
        f"B1_CA_BUNDLE is invalid (Value error, file {bundle} holds no usable PEM certificate"
    )
    assert line.endswith(
        "set it in .env or the environment to the path of a PEM file with the Service Layer's CA certificate"
    )


@pytest.mark.parametrize(("margin_s", "timeout_min"), [(1800, 30), (3600, 30), (60, 1)])
def test_a_session_margin_not_shorter_than_the_session_timeout_is_refused(margin_s, timeout_min):
    with pytest.raises(ConfigError) as caught:
        refuse_margin_beyond_timeout(margin_s, timeout_min)
    [line] = str(caught.value).splitlines()
    assert line.startswith(f"B1_SESSION_MARGIN_S ({margin_s} s) is not shorter than the session timeout")
    assert (
        f"({timeout_min} min = {timeout_min * 60} s): set B1_SESSION_MARGIN_S below {timeout_min * 60}"
        in line
    )


def test_a_session_margin_shorter_than_the_timeout_is_fine():
    assert refuse_margin_beyond_timeout(60, 30) is None
    assert refuse_margin_beyond_timeout(0, 1) is None
    # The boundary: one second shorter than the timeout is accepted, equal is refused.
    assert refuse_margin_beyond_timeout(30 * 60 - 1, 30) is None
    with pytest.raises(ConfigError):
        refuse_margin_beyond_timeout(30 * 60, 30)
