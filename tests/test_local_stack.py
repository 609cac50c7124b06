"""The README's run command starts the whole stack and it clips (smoke test of `--check`)."""

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
    assert "on_clip_job_written" in result.stdout
    assert "operations app                  http://localhost:" in result.stdout
    assert "development password: " in result.stdout
    assert "is ready: https://clips.twitch.tv/" in result.stdout
    assert "byteclipslocal" not in result.stdout + result.stderr
