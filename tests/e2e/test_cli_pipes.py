"""Output piped into a reader that stops early (`b1-backflush demo | head -1`) is not an error."""

from __future__ import annotations

import subprocess
import sys

from tests.support.mock import ROOT


def test_a_reader_that_stops_early_leaves_no_traceback_and_exit_0():
    proc = subprocess.Popen(
        [sys.executable, "-m", "connector.cli", "demo"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().startswith("Demo:")
    proc.stdout.close()  # like `head -1` exiting
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err
    assert proc.returncode == 0
