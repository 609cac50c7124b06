"""Start a Firestore emulator on a free loopback port and wait until it answers.

`gcloud emulators firestore start` when gcloud is on PATH (the official emulator), otherwise
the pinned npm `@firestore-emulator/server` in local/npm_firestore. `BYTECLIPS_EMULATOR=npm`
or `=gcloud` forces one. Everything else reaches it only through FIRESTORE_EMULATOR_HOST.

    python -m local.firestore_emulator            # runs in the foreground, prints the host
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from local.lifecycle import serve_until_signal
from local.processes import HostedProcess, LoggedProcess

NPM_DIR = Path(__file__).resolve().parent / "npm_firestore"
ENV_CHOICE = "BYTECLIPS_EMULATOR"


class EmulatorError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def choose_kind(requested: str | None = None) -> str:
    """'gcloud' if asked or available, else 'npm'."""
    choice = (requested or os.environ.get(ENV_CHOICE) or "auto").strip().lower()
    if choice not in {"auto", "gcloud", "npm"}:
        raise EmulatorError(f"{ENV_CHOICE} must be auto, gcloud or npm, got {choice!r}")
    if choice == "gcloud" and not shutil.which("gcloud"):
        raise EmulatorError(f"{ENV_CHOICE}=gcloud but gcloud is not on PATH")
    if choice == "auto":
        return "gcloud" if shutil.which("gcloud") else "npm"
    return choice


@dataclass
class FirestoreEmulator(HostedProcess):
    """One emulator process; `host` is what FIRESTORE_EMULATOR_HOST must be."""

    kind: str = field(default_factory=choose_kind)
    project: str = "byte-clips-local"
    start_timeout: float = 60.0
    port: int = 0
    control_port: int = 0

    @property
    def _control_base(self) -> str:
        return f"http://127.0.0.1:{self.control_port}"

    def _command(self) -> list[str]:
        if self.kind == "gcloud":
            return [
                "gcloud",
                "emulators",
                "firestore",
                "start",
                f"--host-port=127.0.0.1:{self.port}",
                "--quiet",
            ]
        entry = NPM_DIR / "serve.js"
        if not (NPM_DIR / "node_modules" / "@firestore-emulator" / "server").is_dir():
            raise EmulatorError(
                f"the npm emulator is not installed: run `npm ci --prefix {NPM_DIR}` "
                "(the README's set-up command does it)"
            )
        return ["node", str(entry), str(self.port), str(self.control_port)]

    def start(self) -> FirestoreEmulator:
        self.port = self.port or free_port()
        self.control_port = self.port if self.kind == "gcloud" else free_port()
        self._launch(
            LoggedProcess(self._command(), name=f"firestore-emulator-{self.kind}"),
            ready=self._answers,
            timeout=self.start_timeout,
            error=EmulatorError,
        )
        return self

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self._control_base + "/", timeout=1) as response:
                if response.status != 200:
                    return False
        except (urllib.error.URLError, OSError):
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1):
            return True
        return False

    def clear(self) -> None:
        """Delete every document (the official emulator's reset call; ours mirrors it)."""
        path = f"/emulator/v1/projects/{self.project}/databases/(default)/documents"
        url = self._control_base + path
        request = urllib.request.Request(url, method="DELETE")
        with urllib.request.urlopen(request, timeout=10) as response:
            if response.status != 200:
                raise EmulatorError(f"emulator reset answered HTTP {response.status}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=["auto", "gcloud", "npm"], default=None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--project", default="byte-clips-local")
    args = parser.parse_args(argv)
    emulator = FirestoreEmulator(kind=choose_kind(args.kind), project=args.project, port=args.port)
    with emulator:
        serve_until_signal(
            {"FIRESTORE_EMULATOR_HOST": emulator.host, "kind": emulator.kind},
            alive=lambda: emulator.running,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
