"""What keeps a crashed local stack from haunting the next one (Linux; elsewhere a no-op).

- Children die with the stack: each child asks the kernel for SIGTERM when its parent dies
  (`prctl(PR_SET_PDEATHSIG)`), so a SIGKILLed stack takes its direct children along.
- A run file per stack lists its children's process groups (with their start times, so a
  reused pid is never touched). The next stack sweeps the files of stacks that are gone,
  stopping whatever they left (a grandchild, or a child on a system without PDEATHSIG).
- Ports: who holds a listening port (`port_owner`), and whether a port is served by a process
  we started (`served_by_group`), from /proc/net/tcp and /proc/<pid>/fd.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

PR_SET_PDEATHSIG = 1
RUN_DIR = Path(tempfile.gettempdir()) / f"byteclips-local-{os.getuid()}"
_PROC = Path("/proc")
_LISTEN = "0A"


def _resolve_prctl() -> Callable[[int, int], int] | None:
    """Looked up once in the parent: the child must not load libraries between fork and exec."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[[int, int], int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


_prctl = _resolve_prctl()


# Runs in the child as its own program, then becomes the real command (same pid): asking for
# PDEATHSIG from a `preexec_fn` instead would run Python between fork and exec in a parent whose
# gRPC threads hold locks, which aborts the child now and then (gRPC's epoll poller, "Bad file
# descriptor").
_DIE_WITH_PARENT = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    os.kill(os.getpid(), signal.SIGTERM)\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


def die_with_parent(command: Sequence[str], parent: int) -> list[str]:
    """`command` started so that it gets SIGTERM when `parent` dies (unchanged off Linux)."""
    if _prctl is None:
        return list(command)
    return [sys.executable, "-S", "-c", _DIE_WITH_PARENT, str(parent), *command]


def _stat(pid: int | str) -> list[str] | None:
    """/proc/<pid>/stat's fields after the command name; None when gone or a zombie."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    if len(fields) < 20 or fields[0] == "Z":
        return None
    return fields


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot; None when it is gone or a zombie."""
    fields = _stat(pid)
    return int(fields[19]) if fields else None


def group_members(pgid: int) -> list[int]:
    """The live processes of process group `pgid` (a leader may die before its children)."""
    members = []
    for entry in _PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat(entry.name)
            if fields and int(fields[2]) == pgid:
                members.append(int(entry.name))
    return members


def _alive(pid: int, started: int | None) -> bool:
    now = start_time(pid)
    return now is not None and (started is None or now == started)


def _still_ours(pgid: int, started: int | None) -> bool:
    """Whether group `pgid` is still the one we recorded: its leader alive with the recorded
    start time, or (leader gone) members that all started after it, i.e. its descendants."""
    leader = start_time(pgid)
    if leader is not None:
        return started is None or leader == started
    members = group_members(pgid)
    floor = started or 0
    return bool(members) and all((start_time(pid) or 0) >= floor for pid in members)


@dataclass(frozen=True)
class Child:
    name: str
    pid: int
    started: int | None


class RunRecord:
    """This stack's children on disk (`RUN_DIR/stack-<pid>.json`), for the next stack to sweep
    if this one dies without stopping them."""

    def __init__(self, directory: Path = RUN_DIR) -> None:
        self.directory = directory
        self.path = directory / f"stack-{os.getpid()}.json"
        self._children: dict[int, Child] = {}

    def add(self, name: str, pid: int) -> None:
        self._children[pid] = Child(name, pid, start_time(pid))
        self._write()

    def remove(self, pid: int) -> None:
        if self._children.pop(pid, None) is not None:
            self._write()

    def close(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _write(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        body = {
            "stack_pid": os.getpid(),
            "stack_started": start_time(os.getpid()),
            "children": [asdict(child) for child in self._children.values()],
        }
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(body))
        temporary.replace(self.path)


_active: RunRecord | None = None


@contextlib.contextmanager
def recording(record: RunRecord) -> Iterator[RunRecord]:
    """Every LoggedProcess started inside is listed in `record` until it stops."""
    global _active
    previous, _active = _active, record
    try:
        yield record
    finally:
        _active = previous
        record.close()


def active_record() -> RunRecord | None:
    return _active


def sweep_dead_stacks(directory: Path = RUN_DIR, grace: float = 5.0) -> list[str]:
    """Stop what stacks that are gone left running; return what was stopped, for the banner.

    A stack still alive keeps its children (two stacks may run side by side)."""
    stopped: list[str] = []
    for path in sorted(directory.glob("stack-*.json")):
        try:
            body = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if _alive(int(body.get("stack_pid", 0)), body.get("stack_started")):
            continue
        for raw in body.get("children", []):
            child = Child(**raw)
            if _still_ours(child.pid, child.started) and _stop_group(child.pid, grace):
                stopped.append(f"{child.name} (process group {child.pid})")
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return stopped


def _stop_group(pgid: int, grace: float) -> bool:
    """SIGTERM the group, SIGKILL it after `grace` seconds; True if anything was signalled."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return False
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and group_members(pgid):
        time.sleep(0.1)
    if group_members(pgid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        while time.monotonic() < deadline + grace and group_members(pgid):
            time.sleep(0.1)
    return True


# ----------------------------------------------------------------------------------- ports


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could bind `host:port` now (as Streamlit does, with SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (_PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if (
                len(parts) > 9
                and parts[3] == _LISTEN
                and int(parts[1].rsplit(":", 1)[1], 16) == port
            ):
                inodes.add(parts[9])
    return inodes


def listener_pids(port: int) -> list[int] | None:
    """The pids holding a listening socket on `port`; None when /proc cannot tell."""
    inodes = _listening_inodes(port)
    if not _PROC.joinpath("net", "tcp").exists():
        return None
    links = {f"socket:[{inode}]" for inode in inodes}
    pids = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit() or not links:
            continue
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) in links for fd in (entry / "fd").iterdir()):
                pids.append(int(entry.name))
    return pids


def _command_line(pid: int) -> str:
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()[:160] or "?"


def port_owner(port: int) -> str:
    """Who holds `port`, for a message: `pid 123 (python -m streamlit run ...)`."""
    pids = listener_pids(port)
    if not pids:
        return "a process this user cannot see"
    return ", ".join(f"pid {pid} ({_command_line(pid)})" for pid in pids)


def served_by_group(port: int, pgid: int) -> bool | None:
    """Whether the process listening on `port` belongs to process group `pgid` (one we
    started); None when /proc cannot tell (then only the health answer is known)."""
    pids = listener_pids(port)
    if pids is None:
        return None
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getpgid(pid) == pgid:
                return True
    return False
