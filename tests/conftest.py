"""Shared fixtures: a real mock Service Layer over loopback, settings pointing at it, a worker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.support.mock import DEMO, ROOT, make_settings


@pytest.fixture(autouse=True)
def _no_ambient_b1_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the developer's own .env or B1_* variables."""
    for name in list(os.environ):
        if name.startswith("B1_"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """A test that runs a command in-process (``configure_logging``) leaves the logging it found.

    Otherwise the root logger keeps a handler on that test's captured stderr, closed once the test
    ends, and every later test in the process gets a "Logging error" traceback on its own stderr.
    """
    import logging

    loggers = [logging.getLogger(name) for name in ("", "urllib3", "apscheduler")]
    saved = [(logger, list(logger.handlers), logger.level) for logger in loggers]
    yield
    for logger, handlers, level in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)


@pytest.fixture(params=["v1", "v2"])
def protocol(request: pytest.FixtureRequest) -> str:
    """Every SL-facing test runs on /b1s/v1 and /b1s/v2."""
    return str(request.param)


@pytest.fixture
def mock_sl() -> Iterator[object]:
    """The demo company on a real HTTP mock Service Layer (port 0, in a thread)."""
    from connector.mock_sl.server import MockServiceLayer

    with MockServiceLayer(DEMO, port=0) as sl:
        yield sl


@pytest.fixture
def worker_factory(mock_sl, protocol, tmp_path) -> Iterator[object]:
    """Builds logged-in workers against the mock; all closed at teardown."""
    from connector.composition import build_worker

    with ExitStack() as stack:

        def factory(**overrides: object):
            return build_worker(make_settings(mock_sl, protocol, tmp_path, **overrides), stack)

        yield factory


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory):
    """A throw-away CA (``.pem`` is a real PEM for B1_CA_BUNDLE) that issues server certificates."""
    from tests.support.tls_certs import ThrowawayCA

    return ThrowawayCA.create(tmp_path_factory.mktemp("tls-ca"))


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built once per test run from a copy of what it declares (pyproject, README,
    the package), so no build/ or egg-info is left in the checkout."""
    import shutil
    import subprocess
    import sys

    src = tmp_path_factory.mktemp("wheel-src")
    shutil.copy(ROOT / "pyproject.toml", src)
    shutil.copy(ROOT / "README.md", src)
    shutil.copytree(ROOT / "connector", src / "connector", ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(src)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = dist.glob("b1_backflush-*.whl")
    return wheel
