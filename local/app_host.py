"""Run the operations app (`streamlit run streamlit_app/app.py`) on a loopback port."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import requests

from local.firestore_emulator import free_port
from local.functions_host import ROOT
from local.processes import HostedProcess, LoggedProcess

APP = ROOT / "streamlit_app" / "app.py"


@dataclass
class StreamlitServer(HostedProcess):
    env: Mapping[str, str] = field(default_factory=dict)
    port: int = 0
    _proc: LoggedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> StreamlitServer:
        self.port = self.port or free_port()
        command = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(APP),
            "--server.headless=true",
            "--server.address=127.0.0.1",
            f"--server.port={self.port}",
            "--server.fileWatcherType=none",
            "--browser.gatherUsageStats=false",
            "--client.toolbarMode=minimal",
            "--theme.base=light",
        ]
        self._proc = LoggedProcess(
            command,
            name="streamlit",
            cwd=ROOT,
            env={**os.environ, **self.env, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.exit_code is not None:
                raise RuntimeError(f"streamlit exited: {self._proc.log_tail(2000)}")
            try:
                if requests.get(f"{self.url}/_stcore/health", timeout=1).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"streamlit did not answer within {timeout:.0f} s")
