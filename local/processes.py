"""A child process with its output in a temporary log, stopped with its whole process group.

The emulators and function servers spawn children of their own (java, gunicorn workers), so
stopping only the direct child would leave them running. A child also dies with us when we
are killed, and is listed in the stack's run file while it runs (`local.crash_safety`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import ClassVar

from local.crash_safety import active_record, die_with_parent, served_by_group
from local.lifecycle import Lifecycle

ROOT = Path(__file__).resolve().parent.parent


class LoggedProcess:
    def __init__(
        self,
        command: Sequence[str],
        *,
        name: str,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the process
            prefix=f"{name}-", suffix=".log"
        )
        self._proc = subprocess.Popen(
            die_with_parent(command, os.getpid()),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._record = active_record()
        if self._record is not None:
            self._record.add(name, self._proc.pid)

    @property
    def pid(self) -> int:
        """Also the process group id: the child leads its own session."""
        return self._proc.pid

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
        if self._record is not None:
            self._record.remove(self._proc.pid)

    def kill(self) -> None:
        """Die at once, as a crashed instance would."""
        if self._proc.poll() is None:
            self._signal(signal.SIGKILL)
            self._proc.wait(5)

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, sig)


class HostedProcess(Lifecycle):
    """Log access, launch and stop for a host that keeps its LoggedProcess in `_proc`;
    subclasses implement `start()` with `_launch`."""

    _proc: LoggedProcess | None = None
    port: int
    url_path: ClassVar[str] = ""

    @property
    def host(self) -> str:
        """`127.0.0.1:port`, where clients reach it."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}{self.url_path}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.exit_code is None

    def log_tail(self, chars: int = 4000) -> str:
        return self._proc.log_tail(chars) if self._proc else ""

    def _ours_on_port(self) -> bool:
        """Whether what listens on our port is the process we started (a stale server from
        a crashed stack may answer on it too); true when the system cannot tell."""
        if self._proc is None:
            return False
        return served_by_group(self.port, self._proc.pid) is not False

    def _launch_module(
        self,
        module: str,
        args: Sequence[str],
        *,
        name: str,
        env: Mapping[str, str],
        ready: Callable[[], bool],
        timeout: float,
        error: type[Exception] = RuntimeError,
    ) -> None:
        """`python -m module args` from the repository root, with `env` over ours."""
        process = LoggedProcess(
            [sys.executable, "-m", module, *args], name=name, cwd=ROOT, env={**os.environ, **env}
        )
        self._launch(process, ready=ready, timeout=timeout, error=error)

    def _launch(
        self,
        process: LoggedProcess,
        *,
        ready: Callable[[], bool],
        timeout: float,
        error: type[Exception] = RuntimeError,
    ) -> None:
        """Keep `process` once `ready()` says it answers; `error` if it exits or stays silent."""
        self._proc = process
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.exit_code is not None:
                raise error(f"{process.name} exited with {process.exit_code}: {self.log_tail()}")
            if ready():
                return
            time.sleep(0.1)
        tail = self.log_tail()
        self.stop()
        raise error(f"{process.name} did not answer within {timeout:.0f} s: {tail}")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.stop()
            self._proc = None
