"""Run Cloud Functions targets locally: one functions-framework process per target.

The same command Cloud Functions runs (`functions-framework --source ... --target ...`), on a
free loopback port, with the environment the caller gives (emulator, simulator, secrets).
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from local.firestore_emulator import free_port
from local.processes import HostedProcess, LoggedProcess

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_SOURCE = ROOT / "functions" / "main.py"


class FunctionStartError(RuntimeError):
    pass


@dataclass
class FunctionServer(HostedProcess):
    target: str
    env: Mapping[str, str] = field(default_factory=dict)
    source: Path = FUNCTIONS_SOURCE
    signature_type: str | None = None
    port: int = 0
    _proc: LoggedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self, timeout: float = 30.0) -> FunctionServer:
        self.port = self.port or free_port()
        command = [
            sys.executable,
            "-m",
            "functions_framework",
            "--source",
            str(self.source),
            "--target",
            self.target,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        if self.signature_type:
            command += ["--signature-type", self.signature_type]
        path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        self._proc = LoggedProcess(
            command,
            name=f"function-{self.target}",
            cwd=ROOT,
            env={**os.environ, **self.env, "PYTHONPATH": path},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.exit_code is not None:
                raise FunctionStartError(f"{self.target} exited: {self.log_tail()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.5),
            ):
                return self
            time.sleep(0.1)
        self.stop()
        raise FunctionStartError(f"{self.target} did not listen within {timeout:.0f} s")

    def kill(self) -> None:
        """Die at once, as a crashed instance would (for tests of the sweeper)."""
        if self._proc is not None:
            self._proc.kill()
