"""deploy/: the install recipe runs verbatim into a temporary system root (the steps a fresh Debian gets:
service user, venv with the wheel, /etc/b1-backflush, the settings file, the enabled template unit),
and deploy/verify-units.sh passes on it (`systemd-analyze verify` clean, `security` OK or better).

The recipe is run as IT gets it from the wheel alone (``b1-backflush deploy systemd DIR``, written into
a folder outside the checkout); the wheel's copies are the checkout's ``deploy/`` files byte for byte.

What the machine does not allow here: starting the unit (no systemd as PID 1 in CI). The contract the
unit relies on (READY=1, WATCHDOG=1, exit codes) is tested in tests/e2e/test_service_sd_notify.py.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.mock import ROOT

DEPLOY = ROOT / "deploy"
UNIT = DEPLOY / "b1-backflush@.service"
HOST_UNITS = Path("/usr/lib/systemd/system")


@pytest.fixture(scope="module")
def recipe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The recipe the wheel carries, written where IT would put it: no checkout around it."""
    from connector.deploy import write_recipe

    folder = tmp_path_factory.mktemp("recipe")
    write_recipe(folder)
    return folder


@pytest.mark.parametrize(
    ("name", "source"),
    [
        (name, DEPLOY / name)
        for name in ("install.sh", "verify-units.sh", "b1-backflush@.service", "b1-backflush.sysusers")
    ]
    + [("env.example", ROOT / ".env.example")],
)
def test_the_wheel_carries_the_checkout_s_recipe(name, source, recipe) -> None:
    assert (recipe / name).read_bytes() == source.read_bytes(), (
        f"connector/deploy/{name} must be a copy of {source.relative_to(ROOT)}: "
        f"cp {source.relative_to(ROOT)} connector/deploy/{name}"
    )
    runs = name.endswith(".sh")
    assert os.access(recipe / name, os.X_OK) == runs


def test_the_recipe_from_the_wheel_asks_for_the_wheel(recipe, tmp_path) -> None:
    # A checkout's install.sh installs the checkout by default; the wheel's has none to fall back on.
    result = subprocess.run(
        [str(recipe / "install.sh"), "acme"],
        env={**os.environ, "ROOT": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "name the wheel to install" in result.stderr
    assert not any(tmp_path.iterdir())


def unit_settings(path: Path = UNIT) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


@dataclass(frozen=True)
class Installed:
    root: Path
    output: str


def install(root: Path, wheel: Path, recipe: Path, company: str = "acme") -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("B1_", "PYTHON"))}
    result = subprocess.run(
        [str(recipe / "install.sh"), company, str(wheel)],
        env={**env, "ROOT": str(root)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def installed(
    built_wheel: Path, recipe: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Installed]:
    assert shutil.which("systemd-analyze") and HOST_UNITS.is_dir(), (
        "systemd's tools are needed (.ci/run installs them): apt-get install -y systemd"
    )
    root = tmp_path_factory.mktemp("debian-root")
    # What a fresh Debian already has: systemd's own units (targets the template unit depends on).
    shutil.copytree(HOST_UNITS, root / HOST_UNITS.relative_to("/"), symlinks=True)
    yield Installed(root, install(root, built_wheel, recipe))


def test_the_recipe_creates_the_user_config_folder_settings_and_enabled_unit(installed) -> None:
    root = installed.root
    passwd = {line.split(":")[0]: line.split(":") for line in (root / "etc/passwd").read_text().splitlines()}
    user = passwd["b1-backflush"]
    assert user[5] == "/var/lib/b1-backflush" and user[6].endswith("nologin")
    gid = int(user[3])

    config = root / "etc/b1-backflush"
    assert stat.S_IMODE(config.stat().st_mode) == 0o750
    assert (config.stat().st_uid, config.stat().st_gid) == (0, gid)
    env_file = config / "acme.env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600 and env_file.stat().st_uid == 0
    settings = env_file.read_text(encoding="utf-8").splitlines()
    assert "B1_LEDGER_PATH=/var/lib/b1-backflush/acme/ledger.sqlite3" in settings
    example = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    assert len(settings) == len(example)  # every documented setting, the ledger line for this company

    unit = root / "etc/systemd/system/b1-backflush@.service"
    assert unit.read_bytes() == UNIT.read_bytes()
    enabled = root / "etc/systemd/system/multi-user.target.wants/b1-backflush@acme.service"
    assert enabled.is_symlink() and os.readlink(enabled) == "/etc/systemd/system/b1-backflush@.service"
    assert "Installed b1-backflush@acme" in installed.output


def test_the_installed_program_runs(installed, tmp_path) -> None:
    program = installed.root / "opt/b1-backflush/bin/b1-backflush"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("B1_", "PYTHON"))}
    demo = subprocess.run(
        [program, "demo"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert demo.returncode == 0, demo.stderr
    assert "Posted 7 Receipt(s) from Production" in demo.stdout


def test_the_installed_unit_passes_systemd_analyze(installed) -> None:
    result = subprocess.run(
        [str(DEPLOY / "verify-units.sh"), str(installed.root), "acme"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "systemd-analyze verify clean" in result.stdout
    assert result.stdout.rstrip().split()[-2] in {"OK", "SAFE", "PERFECT"}, result.stdout


def test_running_the_recipe_again_upgrades_and_keeps_the_settings(installed, built_wheel, recipe) -> None:
    env_file = installed.root / "etc/b1-backflush/acme.env"
    env_file.write_text("B1_PASSWORD=the-real-one\n", encoding="utf-8")
    install(installed.root, built_wheel, recipe)
    assert env_file.read_text(encoding="utf-8") == "B1_PASSWORD=the-real-one\n"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600


def test_a_second_company_is_a_second_instance(installed, built_wheel, recipe) -> None:
    install(installed.root, built_wheel, recipe, company="plant2")
    wants = installed.root / "etc/systemd/system/multi-user.target.wants"
    assert {"b1-backflush@acme.service", "b1-backflush@plant2.service"} <= {p.name for p in wants.iterdir()}
    assert (installed.root / "etc/b1-backflush/plant2.env").is_file()


def test_a_bad_company_name_is_refused(tmp_path, built_wheel) -> None:
    result = subprocess.run(
        [str(DEPLOY / "install.sh"), "Bad Name", str(built_wheel)],
        env={**os.environ, "ROOT": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "may hold only a-z, 0-9" in result.stderr
    assert not any(tmp_path.iterdir())  # nothing was installed


def test_verify_units_names_a_broken_unit(installed, tmp_path) -> None:
    """The check can fail: a misspelt setting in the unit is reported and fails the script."""
    root = tmp_path / "root"
    shutil.copytree(HOST_UNITS, root / HOST_UNITS.relative_to("/"), symlinks=True)
    (root / "opt").mkdir()
    (root / "opt/b1-backflush").symlink_to(installed.root / "opt/b1-backflush")
    units = root / "etc/systemd/system"
    units.mkdir(parents=True)
    broken = UNIT.read_text(encoding="utf-8").replace("Restart=on-failure", "Restart=on-faliure")
    (units / "b1-backflush@.service").write_text(broken, encoding="utf-8")
    result = subprocess.run(
        [str(DEPLOY / "verify-units.sh"), str(root), "acme"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "on-faliure" in result.stderr


def test_a_restart_loop_can_never_lock_the_sap_user() -> None:
    unit = unit_settings()
    assert unit["Restart"] == ["on-failure"]
    # exit 2 = bad settings or mapping, 3 = SAP refused the login (connector/cli.py)
    assert unit["RestartPreventExitStatus"] == ["2 3"]
    nssm = (DEPLOY / "windows-service.md").read_text(encoding="utf-8")
    for line in ("AppExit Default Restart", "AppExit 2 Exit", "AppExit 3 Exit"):
        assert f"nssm set b1-backflush {line}" in nssm


def test_the_unit_creates_its_working_directory_and_tells_systemd_when_it_is_ready() -> None:
    unit = unit_settings()
    assert unit["Type"] == ["notify"] and unit["WatchdogSec"]
    assert unit["StateDirectory"] == ["b1-backflush/%i"]
    assert unit["WorkingDirectory"] == ["/var/lib/b1-backflush/%i"]  # what StateDirectory creates
    assert unit["EnvironmentFile"] == ["/etc/b1-backflush/%i.env"]


def systemd_environment(path: Path) -> dict[str, str]:
    """An EnvironmentFile= as systemd reads it: KEY=VALUE lines, '#' comments and blank lines ignored."""
    env = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith(("#", ";")):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def test_the_installed_service_starts_as_the_unit_runs_it(installed, mock_sl) -> None:
    """ExecStart with the unit's Environment=, the installed settings file (filled in, pointing at the
    mock) and NOTIFY_SOCKET: READY=1, then a clean stop on SIGTERM. Paths under /var/lib are moved into
    the temporary root; running as the service user needs the real system."""
    import signal
    import socket

    root = installed.root
    unit = unit_settings(root / "etc/systemd/system/b1-backflush@.service")
    state = root / "var/lib/b1-backflush/acme"  # what StateDirectory= creates before the start
    state.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("B1_", "PYTHON"))}
    for assignment in unit["Environment"]:
        key, _, value = assignment.partition("=")
        env[key] = value.replace("%i", "acme")
    user, password = next(iter(mock_sl.users.items()))
    settings = systemd_environment(root / "etc/b1-backflush/acme.env")
    settings.update(
        B1_SL_URL=mock_sl.root("v2"), B1_COMPANY_DB=mock_sl.company_db, B1_USERNAME=user, B1_PASSWORD=password
    )
    env.update(settings)  # EnvironmentFile= wins over Environment=
    env["B1_LEDGER_PATH"] = str(root / env["B1_LEDGER_PATH"].lstrip("/"))
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(str(state / "notify.sock"))
        notify.settimeout(60)
        env["NOTIFY_SOCKET"] = str(state / "notify.sock")
        [exec_start] = unit["ExecStart"]
        program, *args = exec_start.split()
        service = subprocess.Popen(
            [str(root / program.lstrip("/")), *args],
            cwd=state,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert notify.recv(4096).decode().splitlines()[0] == "READY=1"
            service.send_signal(signal.SIGTERM)
            _out, err = service.communicate(timeout=60)
        finally:
            if service.poll() is None:
                service.kill()
                service.communicate()
    assert service.returncode == 0, err
    assert Path(env["B1_LEDGER_PATH"]).is_file()


def test_the_recipe_is_never_written_over_nor_into_a_place_that_cannot_hold_it(
    recipe, tmp_path, capsys
) -> None:
    from connector.cli import main

    assert main(["deploy", "systemd", str(recipe)]) == 2
    assert "already holds install.sh" in capsys.readouterr().err
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    assert main(["deploy", "systemd", str(blocker / "recipe")]) == 2
    assert f"cannot write the recipe into {blocker / 'recipe'}" in capsys.readouterr().err
