"""Settings a person can trust: a misspelt B1_* variable is refused with "did you mean", an empty
value means "not set", and --env-file names the file to read (for every command that reads settings)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from connector import cli
from connector.errors import ConfigError
from connector.settings import load_mapping_setting, load_settings, setting_names

REQUIRED = {
    "B1_SL_URL": "https://sap:50000/b1s/v2",
    "B1_COMPANY_DB": "SBO",
    "B1_USERNAME": "manager",
    "B1_PASSWORD": "s3cret-pw",
}


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in list(os.environ):
        if name.startswith("B1_"):
            monkeypatch.delenv(name)
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_every_setting_is_in_env_example_so_the_names_checked_are_the_documented_ones():
    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text(encoding="utf-8")
    for name in setting_names():
        assert f"{name}=" in example, name


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("B1_HTTP_PORTT", "B1_HTTP_PORT"),
        ("B1_PASWORD", "B1_PASSWORD"),
        ("B1_POLL_INTERVAL", "B1_POLL_INTERVAL_S"),
        ("b1_ledger_pth", "B1_LEDGER_PATH"),
    ],
)
def test_a_misspelt_variable_in_the_environment_is_refused_with_the_setting_meant(env, typo, meant):
    env.setenv(typo, "1")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert str(info.value) == (
        f"{typo} (in the environment) is not a b1-backflush setting: did you mean {meant}?"
    )


def test_a_misspelt_variable_in_the_env_file_is_refused_naming_the_file(env, tmp_path):
    (tmp_path / ".env").write_text("B1_MAPING=acme.yaml\nOTHER_TOOL=1\n", encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"B1_MAPING \(in \.env\) is not a b1-backflush setting: did you mean B1_MAPPING\?"
    ):
        load_settings()
    # the offline mapping check reads .env too, so it is refused there as well
    with pytest.raises(ConfigError, match="did you mean B1_MAPPING"):
        load_mapping_setting()


def test_an_unknown_variable_nothing_resembles_points_at_the_list(env):
    env.setenv("B1_WHATEVER", "x")
    with pytest.raises(ConfigError, match=r"B1_WHATEVER .* the settings are listed in \.env\.example"):
        load_settings()


def test_an_empty_optional_value_means_not_set(env, tmp_path):
    (tmp_path / ".env").write_text(
        "B1_HTTP_PORT=\nB1_MAX_RECEIPTS_PER_CYCLE=\nB1_CA_BUNDLE=\nB1_MAPPING=\n", encoding="utf-8"
    )
    env.setenv("B1_PAGE_SIZE", "")
    settings = load_settings()
    assert settings.http_port is None  # "off", as .env.example documents
    assert settings.max_receipts_per_cycle is None and settings.ca_bundle is None
    assert settings.mapping is None and settings.page_size == 100
    assert load_mapping_setting() is None


def test_an_empty_required_value_is_missing(env):
    env.setenv("B1_COMPANY_DB", "")
    with pytest.raises(ConfigError, match="B1_COMPANY_DB is missing"):
        load_settings()


def test_env_file_is_read_instead_of_dot_env(env, tmp_path):
    (tmp_path / ".env").write_text("B1_PAGE_SIZE=7\n", encoding="utf-8")
    other = tmp_path / "acme" / "b1.env"
    other.parent.mkdir()
    other.write_text("B1_PAGE_SIZE=9\nB1_HTTP_PORT=9464\n", encoding="utf-8")
    settings = load_settings(env_file=other)
    assert (settings.page_size, settings.http_port) == (9, 9464)
    assert load_settings().page_size == 7


def test_env_file_that_does_not_exist_is_an_error_not_silence(env, tmp_path):
    with pytest.raises(ConfigError, match=r"--env-file .*nope\.env: no such file"):
        load_settings(env_file=tmp_path / "nope.env")


@pytest.mark.parametrize(
    "argv",
    [
        ["once"],
        ["once", "--dry-run"],
        ["explain", "1"],
        ["run"],
        ["status"],
        ["reconcile"],
        ["mappings", "check"],
    ],
)
def test_every_command_that_reads_settings_takes_env_file(argv, tmp_path):
    given = tmp_path / "b1.env"
    args = cli._parser().parse_args([*argv, "--env-file", str(given)])
    assert args.env_file == given
    assert cli._parser().parse_args(argv).env_file is None


def test_mappings_check_reads_b1_mapping_from_env_file(env, tmp_path, capsys):
    mapping = tmp_path / "acme.yaml"
    mapping.write_text("version: 1\nreceipt:\n  warehouse:\n    code: 99\n", encoding="utf-8")
    given = tmp_path / "acme.env"
    given.write_text(f"B1_MAPPING={mapping}\n", encoding="utf-8")
    assert cli.main(["mappings", "check", "--env-file", str(given)]) == 2
    assert f"Checked {mapping} offline." in capsys.readouterr().out
