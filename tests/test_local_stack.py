"""The README's run command starts a stack whose pieces answer (smoke test of `--check`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_local_stack_starts_and_answers():
    env = {k: v for k, v in os.environ.items() if k != "FIRESTORE_EMULATOR_HOST"}
    result = subprocess.run(
        [sys.executable, "-m", "local.stack", "--check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "check: Firestore" in result.stdout
    assert "demo channel live=True" in result.stdout
    assert "Not part of the stack yet" in result.stdout
    assert "access_token" not in result.stdout
