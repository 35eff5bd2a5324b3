"""Settings: the only reader of the environment and `.env` (prefix ``B1_``).

Every field documents itself in ``.env.example``; a test keeps the two in step. ``load_settings``
turns pydantic's validation errors into one line per variable that names the variable and the fix.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from connector.errors import ConfigError
from connector.sl.config import RetryPolicy, SLSettings
from connector.sl.tls import ca_bundle_problem

_SL_ROOT = re.compile(r"^https?://[^/\s]+(/[^\s]*)?/b1s/v[12]$")

#: What each variable is for, used to write the fix into error messages.
_HINTS: dict[str, str] = {
    "sl_url": "the Service Layer root including the version, e.g. https://sap-host:50000/b1s/v2",
    "company_db": "the company database name, e.g. SBODEMOUS",
    "username": "the B1 user the connector logs in as",
    "password": "that user's password",
    "verify_tls": "true or false",
    "ca_bundle": "the path of a PEM file with the Service Layer's CA certificate",
    "connect_timeout_s": "seconds, a number > 0",
    "read_timeout_s": "seconds, a number > 0 (a receipt with a large bill of materials can take a while)",
    "page_size": "rows per page, 1-1000",
    "retry_attempts": "a whole number of tries, 1-20",
    "retry_max_wait_s": "seconds, a number > 0, at most B1_RETRY_TOTAL_S",
    "retry_total_s": "seconds, a number > 0",
    "session_margin_s": "seconds >= 0, well below SAP's session timeout (30 minutes unless changed)",
    "unknown_quiet_period_s": "seconds >= 0",
    "fresh_read_chunk": "orders re-read with one request right before they are posted, 1-100",
    "post_sessions": "Service Layer sessions that post in parallel, 1-16",
    "mapping": "the path of a mapping file, e.g. mappings/default.yaml",
    "ledger_path": "the path of the SQLite ledger file",
    "poll_interval_s": "seconds between cycles, >= 5",
    "max_receipts_per_cycle": "a whole number >= 1 (empty: no limit)",
    "reconcile_interval_s": "seconds between the reconciliations of `run`, >= 0 (0: never)",
    "http_port": "a free TCP port for the status page, health and metrics of `run`, 1-65535 (empty: none)",
    "http_host": "the address that endpoint listens on, e.g. 127.0.0.1 or 0.0.0.0",
    "log_level": "DEBUG, INFO, WARNING or ERROR",
    "log_format": "logfmt or json",
}


class Settings(BaseSettings):
    """Runtime settings. Secrets are ``SecretStr``: they never print."""

    model_config = SettingsConfigDict(
        env_prefix="B1_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        # "inf" / "nan" parse as floats: an infinite timeout or interval is never what was meant.
        allow_inf_nan=False,
    )

    sl_url: str = Field(description="Service Layer root including /b1s/v1 or /b1s/v2")
    company_db: str = Field(min_length=1)
    username: str = Field(min_length=1)
    password: SecretStr
    verify_tls: bool = True
    ca_bundle: Path | None = None
    connect_timeout_s: float = Field(default=5.0, gt=0)
    read_timeout_s: float = Field(default=60.0, gt=0)
    page_size: int = Field(default=100, ge=1, le=1000)
    #: Orders read again (with their lines) in one GET right before they are posted; at most 100 keeps
    #: the ``AbsoluteEntry eq … or …`` filter far below Apache's 8 KB request line.
    fresh_read_chunk: int = Field(default=100, ge=1, le=100)
    #: Sessions posting receipts at once (each its own login); 1 posts one after the other.
    post_sessions: int = Field(default=1, ge=1, le=16)
    retry_attempts: int = Field(default=4, ge=1, le=20)
    retry_max_wait_s: float = Field(default=30.0, gt=0)
    retry_total_s: float = Field(default=120.0, gt=0)
    #: Re-login this long before SAP's SessionTimeout would expire the session.
    session_margin_s: float = Field(default=60.0, ge=0)
    #: After an uncertain POST, wait this long and look the key up a second time before re-posting.
    unknown_quiet_period_s: float = Field(default=30.0, ge=0)
    mapping: Path | None = None
    ledger_path: Path = Path("state/ledger.sqlite3")
    poll_interval_s: float = Field(default=60.0, ge=5)
    #: At most this many receipt POSTs per cycle (None: no limit); a first run on a big backlog.
    max_receipts_per_cycle: int | None = Field(default=None, ge=1)
    #: `run` reconciles recent receipts with the ledger this often (0: never); duplicates it finds are held.
    reconcile_interval_s: float = Field(default=3600.0, ge=0)
    #: `run` serves its status page, /healthz and /metrics on this port when set (off by default).
    http_port: int | None = Field(default=None, ge=1, le=65535)
    http_host: str = "127.0.0.1"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["logfmt", "json"] = "logfmt"

    @field_validator("sl_url")
    @classmethod
    def _sl_url_is_a_service_root(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not _SL_ROOT.match(value):
            raise ValueError("must end with /b1s/v1 or /b1s/v2")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("ca_bundle")
    @classmethod
    def _ca_bundle_exists(cls, value: Path | None) -> Path | None:
        problem = ca_bundle_problem(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _tls_choice_is_coherent(self) -> Settings:
        if self.ca_bundle is not None and not self.verify_tls:
            raise ValueError("B1_CA_BUNDLE is set but B1_VERIFY_TLS=false: choose one (prefer the CA bundle)")
        return self

    @model_validator(mode="after")
    def _ca_bundle_needs_https(self) -> Settings:
        if self.ca_bundle is not None and self.sl_url.startswith("http://"):
            raise ValueError(
                "B1_CA_BUNDLE is set but B1_SL_URL starts with http://, so no certificate is checked: "
                "use https:// (the Service Layer listens on https, port 50000 by default)"
            )
        return self

    @model_validator(mode="after")
    def _retry_wait_fits_the_budget(self) -> Settings:
        if self.retry_max_wait_s > self.retry_total_s:
            raise ValueError(
                f"B1_RETRY_MAX_WAIT_S ({self.retry_max_wait_s:g}) is longer than B1_RETRY_TOTAL_S "
                f"({self.retry_total_s:g}), the whole time reads are retried: set B1_RETRY_MAX_WAIT_S "
                "to at most B1_RETRY_TOTAL_S (defaults 30 and 120)"
            )
        return self

    @property
    def protocol(self) -> Literal["v1", "v2"]:
        """``v1`` (OData V3) or ``v2`` (OData V4), read off the service root."""
        return "v1" if self.sl_url.endswith("/v1") else "v2"

    @property
    def tls_verify(self) -> bool | str:
        """The value for requests' ``verify``: the CA bundle path when set, else the boolean."""
        return str(self.ca_bundle) if self.ca_bundle is not None else self.verify_tls

    # -- the groups each part is built from (the variables stay flat: B1_* names never change) ------
    @property
    def sl(self) -> SLSettings:
        """Where and as whom to reach the Service Layer: ``ServiceLayerClient``'s first argument."""
        return SLSettings(
            url=self.sl_url,
            company_db=self.company_db,
            username=self.username,
            password=self.password,
            verify=self.tls_verify,
            connect_timeout_s=self.connect_timeout_s,
            read_timeout_s=self.read_timeout_s,
            page_size=self.page_size,
            session_margin_s=self.session_margin_s,
        )

    @property
    def retry(self) -> RetryPolicy:
        """How often and how long failed reads are retried: ``ServiceLayerClient``'s second argument."""
        return RetryPolicy(
            attempts=self.retry_attempts, max_wait_s=self.retry_max_wait_s, total_s=self.retry_total_s
        )

    @property
    def service(self) -> ServiceSettings:
        """How the cycles run: the ledger, the mapping, the schedule, the limits, the endpoint."""
        return ServiceSettings(
            mapping=self.mapping,
            ledger_path=self.ledger_path,
            poll_interval_s=self.poll_interval_s,
            unknown_quiet_period_s=self.unknown_quiet_period_s,
            max_receipts_per_cycle=self.max_receipts_per_cycle,
            fresh_read_chunk=self.fresh_read_chunk,
            post_sessions=self.post_sessions,
            http_host=self.http_host,
            http_port=self.http_port,
        )

    @property
    def log(self) -> LogSettings:
        """How log lines are written."""
        return LogSettings(level=self.log_level, line_format=self.log_format)


@dataclass(frozen=True)
class ServiceSettings:
    """The cycle's and the service's settings (``B1_MAPPING`` … ``B1_HTTP_PORT``)."""

    mapping: Path | None
    ledger_path: Path
    poll_interval_s: float
    unknown_quiet_period_s: float
    max_receipts_per_cycle: int | None
    fresh_read_chunk: int
    post_sessions: int
    http_host: str
    http_port: int | None


@dataclass(frozen=True)
class LogSettings:
    """``B1_LOG_LEVEL`` and ``B1_LOG_FORMAT``."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"]
    line_format: Literal["logfmt", "json"]


def describe_validation_error(exc: ValidationError) -> str:
    """One line per bad variable: its name, what is wrong, and what to set."""
    lines = []
    for error in exc.errors():
        if not error["loc"] and error["type"] == "value_error":
            # A check across variables: its message names them and the fix.
            lines.append(str(error.get("ctx", {}).get("error", error["msg"])))
            continue
        field = str(error["loc"][0]) if error["loc"] else ""
        variable = f"B1_{field.upper()}" if field else "settings"
        problem = "is missing" if error["type"] == "missing" else f"is invalid ({error['msg']})"
        hint = _HINTS.get(field)
        fix = f": set it in .env or the environment to {hint}" if hint else ""
        lines.append(f"{variable} {problem}{fix}")
    return "\n".join(lines)


def load_settings(*, env_file: Path | None = None, **overrides: Any) -> Settings:
    """Read settings from the environment and ``.env`` (or ``env_file``); raise ``ConfigError`` naming
    each bad or misspelt variable. An empty value is no value: the default applies."""
    dotenv = settings_file(env_file)
    check_variable_names(dotenv)
    try:
        return Settings(_env_file=dotenv, _env_ignore_empty=True, **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None


class _MappingOnly(BaseSettings):
    """Just ``B1_MAPPING``, for offline commands that need no Service Layer settings."""

    model_config = SettingsConfigDict(
        env_prefix="B1_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )
    mapping: Path | None = None


def load_mapping_setting(*, env_file: Path | None = None) -> Path | None:
    """``B1_MAPPING`` alone (``mappings check`` works before the rest is configured)."""
    dotenv = settings_file(env_file)
    check_variable_names(dotenv)
    try:
        return _MappingOnly(_env_file=dotenv, _env_ignore_empty=True).mapping  # type: ignore[call-arg]
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None


#: The default settings file, read from the working directory when it exists.
DEFAULT_ENV_FILE = Path(".env")


def settings_file(env_file: Path | None) -> Path | None:
    """The file to read besides the environment: ``env_file`` (``--env-file``), which must exist,
    else ``.env`` in the working directory when there is one."""
    if env_file is None:
        return DEFAULT_ENV_FILE if DEFAULT_ENV_FILE.is_file() else None
    if not env_file.is_file():
        raise ConfigError(f"--env-file {env_file}: no such file; give the path of your .env file")
    return env_file


def setting_names() -> list[str]:
    """Every variable b1-backflush reads, as written in ``.env``: ``B1_SL_URL`` …"""
    return [f"B1_{name.upper()}" for name in Settings.model_fields]


def check_variable_names(env_file: Path | None) -> None:
    """A ``B1_*`` variable that is no setting (a typo such as ``B1_HTTP_PORTT``) would be ignored
    silently and its setting left at the default: refuse it, suggesting the setting meant."""
    known = setting_names()
    found = [(name, "the environment") for name in os.environ if name.upper().startswith("B1_")]
    if env_file is not None:
        found += [(name, str(env_file)) for name in dotenv_values(env_file) if name.upper().startswith("B1_")]
    problems = []
    for name, where in found:
        if name.upper() in known:
            continue
        close = difflib.get_close_matches(name.upper(), known, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else "the settings are listed in .env.example"
        problems.append(f"{name} (in {where}) is not a b1-backflush setting: {hint}")
    if problems:
        raise ConfigError("\n".join(dict.fromkeys(problems)))


class LedgerSettings(BaseSettings):
    """What ``status`` needs: the ledger and, optionally, which company of it to show (no SAP settings)."""

    model_config = SettingsConfigDict(
        env_prefix="B1_", env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )
    ledger_path: Path = Path("state/ledger.sqlite3")
    #: Unset: every company the ledger holds.
    company_db: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["logfmt", "json"] = "logfmt"

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("company_db", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value


def load_ledger_settings(*, env_file: Path | None = None) -> LedgerSettings:
    """``B1_LEDGER_PATH`` (and ``B1_COMPANY_DB``, logging) alone: ``status`` works without SAP settings."""
    dotenv = settings_file(env_file)
    check_variable_names(dotenv)
    try:
        return LedgerSettings(_env_file=dotenv, _env_ignore_empty=True)  # type: ignore[call-arg]
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None
