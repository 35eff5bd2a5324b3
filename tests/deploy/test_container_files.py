"""Dockerfile and compose.yaml: the image runs `b1-backflush run` as a non-root user, and its HEALTHCHECK
command, run here against the real /healthz endpoint, says healthy only while /healthz answers 200.
compose.yaml starts the connector against the mock for a trial. (No Docker daemon in CI: the files are
read and their commands run as the container would run them.)"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import yaml

from tests.support.mock import ROOT, free_port, make_settings


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the final stage, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    pairs = [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1] if " " in ln else "") for ln in lines]
    last_from = max(i for i, (name, _) in enumerate(pairs) if name == "FROM")
    return pairs[last_from:]


def healthcheck_command() -> list[str]:
    [args] = [a for name, a in instructions() if name == "HEALTHCHECK"]
    return json.loads(args[args.index("CMD") + 3 :])


def test_the_image_runs_the_service_as_a_user_that_is_not_root() -> None:
    final = instructions()
    users = [a for name, a in final if name == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert json.loads(dict(final)["ENTRYPOINT"]) == ["b1-backflush"]
    assert json.loads(dict(final)["CMD"]) == ["run"]
    env = dict(kv.split("=", 1) for kv in shlex.split(dict(final)["ENV"]))
    assert env["B1_HTTP_PORT"] == "9464" and env["B1_LEDGER_PATH"].startswith(dict(final)["VOLUME"])


def test_the_healthcheck_is_healthy_only_while_healthz_says_ok(mock_sl, tmp_path) -> None:
    from connector.endpoint import ServiceEndpoint
    from connector.metrics import ServiceMetrics

    class Clock:
        now = 10_000.0

        def __call__(self) -> float:
            return self.now

    clock, port = Clock(), free_port()
    endpoint = ServiceEndpoint(make_settings(mock_sl, "v2", tmp_path), ServiceMetrics(), clock=clock)
    command = healthcheck_command()
    assert command[0] == "python" and "/healthz" in command[-1]

    def healthcheck() -> int:
        env = {**os.environ, "B1_HTTP_PORT": str(port)}
        return subprocess.run(
            [sys.executable, *command[1:]], env=env, capture_output=True, timeout=30
        ).returncode

    stop = endpoint.serve("127.0.0.1", port)
    try:
        assert healthcheck() == 0
        clock.now += 3 * 60 + 1  # no good cycle for three intervals: /healthz answers 503
        assert healthcheck() != 0
    finally:
        stop()
    assert healthcheck() != 0  # nothing listening


def test_compose_starts_the_connector_against_the_mock() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    mock, connector = compose["services"]["mock-sl"], compose["services"]["connector"]
    assert mock["command"][:1] == ["mock-sl"] and "0.0.0.0" in mock["command"]
    assert connector["depends_on"]["mock-sl"]["condition"] == "service_healthy"
    env = connector["environment"]
    port = mock["command"][mock["command"].index("--port") + 1]
    assert env["B1_SL_URL"] == f"http://mock-sl:{port}/b1s/v2"
    assert (env["B1_COMPANY_DB"], env["B1_USERNAME"], env["B1_PASSWORD"]) == ("SBODEMOUS", "manager", "1234")
    assert any(v.endswith(":/var/lib/b1-backflush") for v in connector["volumes"])
