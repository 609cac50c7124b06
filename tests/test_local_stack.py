"""The README's run command starts the whole stack and it clips (smoke test of `--check`)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from local.crash_safety import (
    RUN_DIR,
    group_members,
    listener_pids,
    port_free,
    served_by_group,
    start_time,
)
from local.firestore_emulator import free_port
from local.processes import LoggedProcess
from local.stack import app_port_for

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
    assert "check: chat !clip -> candidate " in result.stdout  # the live bot, on the simulator
    assert "the bot replied: @Viewer32 clip request sent" in result.stdout
    assert "byteclipslocal" not in result.stdout + result.stderr


def _start_stack(port: int, log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "local.stack", "--app-port", str(port), "--sweep-every", "3600"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )


def _wait_for(log: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = log.read_text(errors="replace")
        if text in out:
            return out
        assert process.poll() is None, f"the stack exited with {process.returncode}: {out[-2000:]}"
        time.sleep(0.2)
    raise AssertionError(f"no {text!r} within {timeout:.0f} s: {log.read_text()[-2000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def test_a_stack_started_after_kill_9_of_the_last_one_serves_its_own_app(tmp_path):
    """The README's run command, twice, with `kill -9` of the first stack in between: the
    second stack's app, not a leftover of the first, answers on the app port."""
    env = {k: v for k, v in os.environ.items() if k != "FIRESTORE_EMULATOR_HOST"}
    port = free_port()
    banner = f"operations app                  http://localhost:{port}/"
    first = _start_stack(port, tmp_path / "first.log", env)
    second: subprocess.Popen[bytes] | None = None
    try:
        assert banner in _wait_for(tmp_path / "first.log", "Ctrl-C stops", first, timeout=150)
        first_app = listener_pids(port)
        assert first_app, "the first stack's app does not listen on its port"
        record = json.loads((RUN_DIR / f"stack-{first.pid}.json").read_text())
        first_children = [(c["pid"], c["started"]) for c in record["children"]]
        assert {c["name"] for c in record["children"]} >= {"streamlit", "chatbot"}
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        second = _start_stack(port, tmp_path / "second.log", env)
        out = _wait_for(tmp_path / "second.log", "Ctrl-C stops", second, timeout=150)
        assert banner in out and "is taken by" not in out
        serving = listener_pids(port)
        assert serving and not set(serving) & set(first_app)
        assert all(
            os.getpgid(pid) in {c["pid"] for c in _children_of(second.pid)} for pid in serving
        )
        assert requests.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=5).ok
        assert [pid for pid, started in first_children if start_time(pid) == started] == []
        assert [pid for pid, _ in first_children if group_members(pid)] == []
    finally:
        _stop(first)
        if second is not None:
            _stop(second)


def _children_of(stack_pid: int) -> list[dict]:
    return json.loads((RUN_DIR / f"stack-{stack_pid}.json").read_text())["children"]


def test_a_taken_app_port_is_reported_with_its_owner_and_a_free_one_used(capsys):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        chosen = app_port_for(taken)
        said = capsys.readouterr().out
    assert chosen != taken and port_free(chosen)
    assert f"Port {taken} is taken by pid {os.getpid()} (" in said
    assert app_port_for(chosen) == chosen


def test_a_port_counts_as_ours_only_when_our_child_listens_on_it():
    """What keeps a stale app on the port from passing for the one just started."""
    port = free_port()
    child = LoggedProcess(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], name="http"
    )
    try:
        deadline = time.monotonic() + 15
        while not listener_pids(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert served_by_group(port, child.pid) is True
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as stranger:
            stranger.bind(("127.0.0.1", 0))
            stranger.listen()
            assert served_by_group(stranger.getsockname()[1], child.pid) is False
    finally:
        child.stop()


def test_a_child_dies_with_the_process_that_started_it():
    """PDEATHSIG is asked for by the child itself before it becomes the real command (no
    `preexec_fn` in a parent that runs gRPC threads), and still takes effect."""
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from local.processes import LoggedProcess\n"
            "child = LoggedProcess([sys.executable, '-c', 'import time; time.sleep(60)'],"
            " name='sleeper')\n"
            "print(child.pid, flush=True)\n"
            "time.sleep(60)\n",
        ],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    time.sleep(0.5)
    cmdline = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
    assert b"time.sleep(60)" in cmdline[-2], cmdline  # the trampoline became the command
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            break
        if state == "Z":
            break
        time.sleep(0.1)
    else:
        os.kill(child, signal.SIGKILL)
        raise AssertionError("the child outlived the process that started it")
