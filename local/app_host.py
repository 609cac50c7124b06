"""Run the operations app (`streamlit run streamlit_app/app.py`) on a loopback port."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import requests

from local.firestore_emulator import free_port
from local.processes import ROOT, HostedProcess

APP = ROOT / "streamlit_app" / "app.py"


@dataclass
class StreamlitServer(HostedProcess):
    env: Mapping[str, str] = field(default_factory=dict)
    port: int = 0

    def start(self, timeout: float = 60.0) -> StreamlitServer:
        self.port = self.port or free_port()
        self._launch_module(
            "streamlit",
            [
                "run",
                str(APP),
                "--server.headless=true",
                "--server.address=127.0.0.1",
                f"--server.port={self.port}",
                "--server.fileWatcherType=none",
                "--browser.gatherUsageStats=false",
                "--client.toolbarMode=minimal",
                "--theme.base=light",
            ],
            name="streamlit",
            env={**self.env, "PYTHONUNBUFFERED": "1"},
            ready=self._healthy,
            timeout=timeout,
        )
        return self

    def _healthy(self) -> bool:
        """The health endpoint answers, and from the process we started: a stale app left on
        the port by a crashed stack answers too, and must not pass for this one."""
        try:
            answered = requests.get(f"{self.url}/_stcore/health", timeout=1).ok
        except requests.RequestException:
            return False
        return answered and self._ours_on_port()
