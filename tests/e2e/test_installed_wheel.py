"""The wheel is self-contained: built from the sources, installed into a fresh venv, and run from a
folder outside the checkout, `demo`, `mock-sl` (the demo company by default) and `once` (no B1_MAPPING)
work, and `mappings schema` prints the schema.

The fresh venv gets the runtime dependencies from this test run's own site-packages through a
``.pth`` line (no download, and a plain path line does not run this checkout's editable-install hook),
so only what the wheel itself carries is b1-backflush. One module-scoped build keeps it to ~15 s.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import sysconfig
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support.demo import DEMO_POSTS
from tests.support.mock import ROOT, free_port


def json_document(out: str) -> dict:
    """``--json`` output: one JSON document (or, from older commands, its last line)."""
    try:
        return json.loads(out)
    except ValueError:
        return json.loads(out.strip().splitlines()[-1])


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    work: Path  # an empty folder outside the checkout: no .env, no mappings/, no fixtures/

    @property
    def script(self) -> str:
        return str(self.venv / "bin" / "b1-backflush")

    def env(self, **b1: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("B1_", "PYTHON"))}
        return {**env, **b1}

    def run(self, *args: str, **b1: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.script, *args],
            cwd=self.work,
            env=self.env(**b1),
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture(scope="module")
def installed(built_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("wheel")
    wheel = built_wheel
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    purelib = Path(
        subprocess.run(
            [venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (purelib / "test-run-dependencies.pth").write_text("\n".join(sorted(deps)) + "\n", encoding="utf-8")
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]
    subprocess.run(
        [*pip, "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    work = base / "elsewhere"
    work.mkdir()
    yield Installed(wheel, venv, work)


def test_the_wheel_carries_the_demo_company_the_default_mapping_and_the_schema(installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    demo = {p.name for p in (ROOT / "connector" / "demo_company").iterdir() if p.suffix in (".json", ".md")}
    assert {f"connector/demo_company/{name}" for name in demo} <= names
    assert {"connector/mapping/default.yaml", "connector/mapping/schema.json"} <= names
    assert "connector/mock_sl/metadata.json" in names


def test_the_installed_program_writes_the_service_recipe_it_carries(installed) -> None:
    # IT with the wheel alone gets install.sh, the unit and the settings template (tests/deploy runs them).
    result = installed.run("deploy", "systemd", "recipe")
    assert result.returncode == 0, result.stderr
    recipe = installed.work / "recipe"
    assert {p.name for p in recipe.iterdir()} == {
        "install.sh",
        "verify-units.sh",
        "b1-backflush@.service",
        "b1-backflush.sysusers",
        "env.example",
    }
    assert (recipe / "b1-backflush@.service").read_bytes() == (
        ROOT / "deploy" / "b1-backflush@.service"
    ).read_bytes()
    assert f"{recipe / 'install.sh'} COMPANY" in result.stdout
    again = installed.run("deploy", "systemd", "recipe")
    assert again.returncode == 2 and "already holds install.sh" in again.stderr


def test_the_installed_package_is_the_one_that_runs(installed) -> None:
    where = subprocess.run(
        [installed.venv / "bin" / "python", "-c", "import connector; print(connector.__file__)"],
        cwd=installed.work,
        env=installed.env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(installed.venv), where
    assert not Path(where).is_relative_to(ROOT)


def test_demo_runs_from_any_folder(installed) -> None:
    result = installed.run("demo")
    assert result.returncode == 0, result.stderr
    assert f"Posted {len(DEMO_POSTS)} Receipt(s) from Production" in result.stdout
    assert "mapping the built-in default" in result.stdout


def test_mock_sl_serves_the_demo_company_and_once_runs_without_a_mapping(installed) -> None:
    port = free_port()
    mock = subprocess.Popen(
        [installed.script, "mock-sl", "--port", str(port)],
        cwd=installed.work,
        env=installed.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert mock.poll() is None, mock.communicate()
            try:
                requests.get(f"http://127.0.0.1:{port}/b1s/v2/", timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the mock did not start listening"
                time.sleep(0.05)
        once = installed.run(
            "once",
            "--json",
            B1_SL_URL=f"http://127.0.0.1:{port}/b1s/v2",
            B1_COMPANY_DB="SBODEMOUS",
            B1_USERNAME="manager",
            B1_PASSWORD="1234",
            B1_LEDGER_PATH=str(installed.work / "state" / "ledger.sqlite3"),
        )
        assert once.returncode == 0, once.stderr
        report = json_document(once.stdout)
        assert {p["order_entry"] for p in report["posted"]} == set(DEMO_POSTS)
        mock.send_signal(signal.SIGINT)
        mock.communicate(timeout=10)
    finally:
        if mock.poll() is None:
            mock.kill()
            mock.communicate()
    assert mock.returncode == 0


def test_mappings_schema_and_default_print_the_shipped_files(installed) -> None:
    schema = installed.run("mappings", "schema")
    assert schema.returncode == 0, schema.stderr
    assert schema.stdout == (ROOT / "connector" / "mapping" / "schema.json").read_text(encoding="utf-8")
    default = installed.run("mappings", "default")
    assert default.returncode == 0, default.stderr
    (installed.work / "acme.yaml").write_text(default.stdout, encoding="utf-8")
    check = installed.run("mappings", "check", "acme.yaml")
    assert check.returncode == 0, check.stdout + check.stderr
