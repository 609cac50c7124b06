"""Run Cloud Functions targets locally: one functions-framework process per target.

The same command Cloud Functions runs (`functions-framework --source ... --target ...`), on a
free loopback port, with the environment the caller gives (emulator, simulator, secrets).
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from local.firestore_emulator import free_port
from local.processes import ROOT, HostedProcess

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
    url_path: ClassVar[str] = "/"

    def start(self, timeout: float = 30.0) -> FunctionServer:
        self.port = self.port or free_port()
        args = ["--source", str(self.source), "--target", self.target]
        args += ["--host", "127.0.0.1", "--port", str(self.port)]
        if self.signature_type:
            args += ["--signature-type", self.signature_type]
        path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        self._launch_module(
            "functions_framework",
            args,
            name=f"function-{self.target}",
            env={**self.env, "PYTHONPATH": path},
            ready=self._listening,
            timeout=timeout,
            error=FunctionStartError,
        )
        return self

    def _listening(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.5):
            return self._ours_on_port()
        return False

    def kill(self) -> None:
        """Die at once, as a crashed instance would (for tests of the sweeper)."""
        if self._proc is not None:
            self._proc.kill()
