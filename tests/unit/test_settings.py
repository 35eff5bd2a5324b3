"""Settings: one line naming each bad variable and its fix; .env.example documents every setting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from connector.errors import ConfigError
from connector.settings import Settings, load_settings
from tests.support.settings_env import REQUIRED

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in list(__import__("os").environ):
        if name.startswith("B1_"):
            monkeypatch.delenv(name)
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_settings_defaults_and_protocol(env):
    settings = load_settings()
    assert settings.protocol == "v2" and settings.tls_verify is True
    assert settings.read_timeout_s == 60.0 and settings.page_size == 100


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        (
            "B1_SL_URL",
            None,
            "B1_SL_URL is missing: set it in .env or the environment to the Service Layer root",
        ),
        (
            "B1_SL_URL",
            "https://sap:50000/",
            "B1_SL_URL is invalid (Value error, must end with /b1s/v1 or /b1s/v2)",
        ),
        ("B1_PASSWORD", None, "B1_PASSWORD is missing"),
        ("B1_PAGE_SIZE", "lots", "B1_PAGE_SIZE is invalid"),
        ("B1_READ_TIMEOUT_S", "-1", "B1_READ_TIMEOUT_S is invalid"),
        ("B1_VERIFY_TLS", "maybe", "B1_VERIFY_TLS is invalid"),
        (
            "B1_CA_BUNDLE",
            "/nonexistent/ca.pem",
            "B1_CA_BUNDLE is invalid (Value error, file /nonexistent/ca.pem does not exist)",
        ),
        ("B1_LOG_FORMAT", "xml", "B1_LOG_FORMAT is invalid"),
        ("B1_MAX_RECEIPTS_PER_CYCLE", "0", "B1_MAX_RECEIPTS_PER_CYCLE is invalid"),
    ],
)
def test_settings_bad_variable_is_named_with_the_fix(env, name, value, expected):
    if value is None:
        env.delenv(name)
    else:
        env.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert expected in str(info.value)
    assert "s3cret-pw" not in str(info.value)


def test_settings_password_never_prints(env):
    settings = load_settings()
    assert "s3cret-pw" not in repr(settings) and "s3cret-pw" not in str(settings)


def test_settings_ca_bundle_is_the_verify_value(env, test_ca):
    bundle = test_ca.pem
    env.setenv("B1_CA_BUNDLE", str(bundle))
    assert load_settings().tls_verify == str(bundle)
    env.setenv("B1_VERIFY_TLS", "false")
    with pytest.raises(ConfigError, match="choose one"):
        load_settings()


def test_env_example_documents_every_setting():
    text = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*(B1_[A-Z0-9_]+)=", text, re.MULTILINE))
    fields = {f"B1_{name.upper()}" for name in Settings.model_fields}
    assert documented == fields
    for name in fields:
        before = text.split(f"{name}=")[0].rstrip().splitlines()
        block = []  # the comment lines right above the variable (a commented-out example counts as one)
        for line in reversed(before[:-1] if before[-1].strip() == "#" else before):
            if not line.startswith("#") or line.startswith("# B1_"):
                if block:
                    break
                continue
            block.insert(0, line)
        assert re.match(r"# (Required|Optional \(default[ :][^)]+\))\.", block[0]), (name, block)
