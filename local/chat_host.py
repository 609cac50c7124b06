"""The live chat bot in the local stack: `python -m chatbot`, twitchio included, on the
simulator's EventSub WebSocket and Helix routes, with the demo chat typed into it.

The bot account is added to the simulator (a moderator of the demo channel, so it may answer
with the app token) and its tokens are stored as `python -m chatbot.connect bot` would. Chat
is typed through the simulator's control endpoint (`POST /_simulator/chat`), so the bot reads
it exactly as it reads Twitch; what the bot says comes back through `POST /helix/chat/messages`
and is printed for the operator.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import requests
from google.cloud import firestore

from chatbot.chat_line import ChatLine
from chatbot.replay_log import read_log
from local.firestore_emulator import free_port
from local.helix_simulator import HelixSimulator
from local.helix_simulator.chat import CONTROL_CHAT_PATH, DEMO_BOT_ID, DEMO_BOT_LOGIN, SentChat
from local.lifecycle import Lifecycle
from local.processes import ROOT, HostedProcess
from shared.domain.twitch_models import TokenGrant
from shared.domain.twitch_scopes import CHAT_BOT
from shared.store.firestore_client import LOCAL_PROJECT
from shared.store.twitch_tokens import TwitchTokenStore

CHECK_MODERATOR = ("4145994", "Viewer32")


def connect_demo_bot(sim: HelixSimulator, demo: Mapping[str, str], db: firestore.Client) -> str:
    """The bot account on the simulator, its tokens in Firestore; returns its user id."""
    access, refresh = sim.chat.add_bot(demo["client_id"], moderator_in=demo["broadcaster_id"])
    TwitchTokenStore(db).save_grant(
        TokenGrant(access, refresh, 4 * 3600, CHAT_BOT),
        user_id=DEMO_BOT_ID,
        login=DEMO_BOT_LOGIN.lower(),
        client_id=demo["client_id"],
    )
    return DEMO_BOT_ID


def control_url(sim: HelixSimulator) -> str:
    return sim.api_base.removesuffix("/helix") + CONTROL_CHAT_PATH


def say(
    url: str, broadcaster_id: str, user_id: str, user: str, text: str, badges: Sequence[str] = ()
) -> str:
    """One chat message through the simulator's control endpoint; returns its message id."""
    body = {
        "broadcaster_id": broadcaster_id,
        "user_id": user_id,
        "user": user,
        "text": text,
        "badges": list(badges),
    }
    response = requests.post(url, json=body, timeout=10)
    response.raise_for_status()
    return str(response.json()["data"][0]["message_id"])


def replay_chat_log(
    log: Path,
    emulator_host: str,
    *,
    speed: float,
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`python -m chatbot --replay` into the emulator for channel 12345, on the heuristic
    detectors alone (no Gemini key), until the log ends; `env` adds to ours."""
    replay_env = {
        **os.environ,
        "FIRESTORE_EMULATOR_HOST": emulator_host,
        "GOOGLE_CLOUD_PROJECT": LOCAL_PROJECT,
        "TWITCH_BROADCASTER_ID": "12345",
        **(env or {}),
    }
    replay_env.pop("GEMINI_API_KEY", None)
    argv = [sys.executable, "-m", "chatbot", "--replay", str(log), "--speed", f"{speed:g}"]
    return subprocess.run(
        argv, cwd=ROOT, env=replay_env, capture_output=True, text=True, timeout=timeout, check=False
    )


@dataclass
class ChatBotHost(HostedProcess):
    """`python -m chatbot` on `PORT`; up once `/healthz` says chat is connected."""

    env: Mapping[str, str] = field(default_factory=dict)
    port: int = 0

    def start(self, timeout: float = 60.0) -> ChatBotHost:
        self.port = self.port or free_port()
        self._launch_module(
            "chatbot",
            [],
            name="chatbot",
            env={**self.env, "PORT": str(self.port), "PYTHONUNBUFFERED": "1"},
            ready=self._connected,
            timeout=timeout,
        )
        return self

    def health(self) -> dict[str, Any] | None:
        try:
            response = requests.get(f"{self.url}/healthz", timeout=2)
            body = response.json()
        except (requests.RequestException, ValueError):
            return None
        return body if isinstance(body, dict) else None

    def _connected(self) -> bool:
        body = self.health()
        return body is not None and body.get("chat") == "connected" and self._ours_on_port()


class ChatTyper(Lifecycle):
    """Types a chat log into the simulator at the log's own pace, starting now."""

    def __init__(self, url: str, lines: Sequence[ChatLine], *, speed: float = 1.0) -> None:
        self._url = url
        self._lines = list(lines)
        self._speed = speed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.typed = 0

    @classmethod
    def from_log(cls, url: str, path: Path, broadcaster_id: str) -> ChatTyper:
        return cls(url, read_log(path, broadcaster_id))

    def __len__(self) -> int:
        return len(self._lines)

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, name="chat-typer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        if not self._lines:
            return
        began, first = time.monotonic(), self._lines[0].ts
        for line in self._lines:
            due = began + (line.ts - first) / self._speed
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return
            try:
                say(
                    self._url,
                    line.broadcaster_id,
                    line.user_id,
                    line.user,
                    line.text,
                    _badges(line),
                )
            except requests.RequestException:
                continue
            self.typed += 1


def _badges(line: ChatLine) -> list[str]:
    return sorted(line.roles)


def show_replies(sim: HelixSimulator, bot_user_id: str, out: Callable[[str], None]) -> None:
    """Print what the bot says in chat, as the operator would read it on Twitch."""

    def shown(sent: SentChat) -> None:
        if sent.sender_id == bot_user_id:
            out(f"  [chat] {DEMO_BOT_LOGIN}: {sent.text}")

    sim.chat.on_sent(shown)


def check_chat(
    sim: HelixSimulator,
    db: firestore.Client,
    broadcaster_id: str,
    bot_user_id: str,
    *,
    timeout: float = 20.0,
) -> str:
    """A moderator's `!clip` through the live bot: wait for its candidate in the approval
    queue and the bot's reply in chat. Returns what happened; raises AssertionError if not."""
    title = f"local stack chat check {int(time.time())}"
    user_id, user = CHECK_MODERATOR
    replies_before = len(sim.chat.sent)
    say(control_url(sim), broadcaster_id, user_id, user, f"!clip {title}", ["moderator"])
    deadline = time.monotonic() + timeout
    candidate: tuple[str, dict[str, Any]] | None = None
    reply: SentChat | None = None
    while time.monotonic() < deadline and (candidate is None or reply is None):
        if candidate is None:
            candidate = next(
                (
                    (snap.id, data)
                    for snap in db.collection("action_queue").stream()
                    if (data := snap.to_dict() or {}).get("payload", {}).get("suggested_title")
                    == title
                ),
                None,
            )
        if reply is None:
            reply = next(
                (m for m in sim.chat.sent[replies_before:] if m.sender_id == bot_user_id), None
            )
        time.sleep(0.2)
    if candidate is None or reply is None:
        missing = "the candidate" if candidate is None else "the bot's reply"
        raise AssertionError(f"{missing} to `!clip {title}` did not come within {timeout:.0f} s")
    action_id, data = candidate
    return (
        f"chat !clip -> candidate {action_id} ({data['payload']['source']}, "
        f"{data['status']}); the bot replied: {reply.text}"
    )
