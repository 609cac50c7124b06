"""A child process with its output in a temporary log, stopped with its whole process group.

The emulators and function servers spawn children of their own (java, gunicorn workers), so
stopping only the direct child would leave them running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Self


class LoggedProcess:
    def __init__(
        self,
        command: Sequence[str],
        *,
        name: str,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the process
            prefix=f"{name}-", suffix=".log"
        )
        self._proc = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    @property
    def exit_code(self) -> int | None:
        return self._proc.poll()

    def log_tail(self, chars: int = 4000) -> str:
        if self._log.closed:
            return ""
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")[-chars:]

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the group, SIGKILL it if it does not exit in time, then drop the log."""
        if self._proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self._proc.wait(5)
        self._log.close()

    def kill(self) -> None:
        """Die at once, as a crashed instance would."""
        if self._proc.poll() is None:
            self._signal(signal.SIGKILL)
            self._proc.wait(5)

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, sig)


class HostedProcess:
    """Log access, stop and context management for a host that keeps its LoggedProcess in
    `_proc`; subclasses implement `start()`."""

    _proc: LoggedProcess | None

    def start(self) -> Self:
        raise NotImplementedError

    def log_tail(self, chars: int = 4000) -> str:
        return self._proc.log_tail(chars) if self._proc else ""

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.stop()
            self._proc = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
