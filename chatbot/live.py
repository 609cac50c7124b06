"""`python -m chatbot`: the bot on Cloud Run — chat, detectors, Firestore, `/healthz`.

Start-up order: logging and secrets, `/healthz` on `$PORT` (first, so the probe answers while
Firestore is slow or down), the control plane listener (so the first message runs on the real
config), the clip-token validation docs/architecture.md §6.4 asks of every long-lived process (in
the background; it validates only: twitchio renews the bot's token through the store's lease, and
the functions renew the clipping token), the reply sender, the clip-ready and candidate announcers,
the Discord relay (with `DISCORD_WEBHOOK_URL`; without it, off and said so), then chat. Chat
start-up failures (Twitch unreachable, bot not connected yet) are retried with backoff while
`/healthz` tells why. Where chat connects (Twitch, or the local simulator) comes from
`TWITCH_API_BASE`, `TWITCH_AUTH_BASE` and `TWITCH_EVENTSUB_WS_URL`, applied to twitchio in
`chatbot/twitch_endpoints.py`. SIGTERM (Cloud Run's stop) ends the chat subscription and handles
what Twitch already sent, closes chat, lets queued candidates reach Firestore for a few seconds,
then logs what became of every message (candidates written, dropped) and exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chatbot.announcer import ReadyClipAnnouncer
from chatbot.auto_policy import ChatPolicy
from chatbot.candidate_announcer import CandidateAnnouncer
from chatbot.control import ControlPlaneWatch
from chatbot.decisions import ChatDecisions
from chatbot.health import HealthServer
from chatbot.link_state import LinkState, reconnect_delay
from chatbot.llm import make_moment_writer
from chatbot.outbox import ChatOutbox
from chatbot.runtime import ChatRuntime
from chatbot.sink import CandidateSink
from chatbot.timeline import TimelineWriter
from chatbot.twitch_bot import ByteChatBot
from chatbot.twitch_endpoints import TwitchEndpoints, apply, read_endpoints
from chatbot.vod import LatestArchive
from shared.domain.clip_candidate import check_numeric_id
from shared.logs import redact, register_secret
from shared.pipeline.auto_approve import AutoApprover
from shared.pipeline.discord_posts import (
    WEBHOOK_ENV,
    DiscordPoster,
    DiscordRelay,
    discord_webhook,
)
from shared.pipeline.token_health import TokenHealth
from shared.store.action_queue import ActionQueue
from shared.store.chat_timeline import ChatTimelineStore
from shared.store.clip_jobs import ClipJobStore
from shared.store.clips_auth import ClipsAuthStore
from shared.store.control_plane import ControlPlaneStore
from shared.store.discord_posts import DiscordPostStore
from shared.store.firestore_client import default_client
from shared.store.policy_uses import PolicyUses
from shared.store.queue_feed import QueueFeed
from shared.store.twitch_tokens import TwitchTokenStore
from shared.twitch.helix_clips import HelixClips

logger = logging.getLogger(__name__)

# Not pinned in docs/architecture.md §6.6 yet: the numeric user id of the bot account (see
# chatbot/README.md).
BOT_USER_ID_ENV = "TWITCH_BOT_USER_ID"
SHUTDOWN_DRAIN_SECONDS = 5.0


@dataclass(frozen=True)
class LiveEnv:
    client_id: str
    client_secret: str
    broadcaster_id: str
    bot_user_id: str
    gemini_api_key: str | None
    port: int
    endpoints: TwitchEndpoints = field(default_factory=TwitchEndpoints)
    discord_webhook_url: str | None = None


def live_env(environ: Mapping[str, str]) -> LiveEnv:
    """The environment the live bot needs; every problem named at once."""
    problems = []

    def need(name: str) -> str:
        value = environ.get(name, "").strip()
        if not value:
            problems.append(f"{name} is not set")
        return value

    client_id = need("TWITCH_CLIENT_ID")
    secret = need("TWITCH_CLIENT_SECRET")
    ids = {}
    for name in ("TWITCH_BROADCASTER_ID", BOT_USER_ID_ENV):
        raw = need(name)
        if raw:
            try:
                ids[name] = check_numeric_id(raw, "user")
            except ValueError as error:
                problems.append(f"{name} {error}")
    port_text = environ.get("PORT", "8080").strip() or "8080"
    if not port_text.isdigit():
        problems.append(f"PORT must be a port number, got {port_text!r}")
    endpoints, endpoint_problems = read_endpoints(environ)
    problems.extend(endpoint_problems)
    if problems:
        raise SystemExit("chat bot cannot start: " + "; ".join(problems))
    return LiveEnv(
        client_id=client_id,
        client_secret=secret,
        broadcaster_id=ids["TWITCH_BROADCASTER_ID"],
        bot_user_id=ids[BOT_USER_ID_ENV],
        gemini_api_key=environ.get("GEMINI_API_KEY", "").strip() or None,
        port=int(port_text),
        endpoints=endpoints,
        discord_webhook_url=environ.get(WEBHOOK_ENV, "").strip() or None,
    )


class LiveBot:
    """Everything the live process runs, wired once."""

    def __init__(self, env: LiveEnv) -> None:
        self.env = env
        register_secret(env.client_secret)
        register_secret(env.gemini_api_key)
        self.instance = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.db = default_client()
        self.tokens = TwitchTokenStore(self.db)
        self.control = ControlPlaneStore(self.db)
        twitch = HelixClips(env.client_id)
        self.token_health = TokenHealth(
            tokens=self.tokens,
            config=self.control,
            clips_auth=ClipsAuthStore(self.db),
            twitch=twitch,
            refresher=twitch.refresher(env.client_secret),
            worker_id=f"chat-{self.instance}",
            broadcaster_id=env.broadcaster_id,
            refreshes_for=None,  # validate only: no second refresher next to twitchio's
        )
        self.link = LinkState(time.monotonic())
        self.watch = ControlPlaneWatch(self.control)
        self.writer = make_moment_writer(env.gemini_api_key)
        self.archive = LatestArchive()
        queue, jobs, feed = ActionQueue(self.db), ClipJobStore(self.db), QueueFeed(self.db)
        self.approver = AutoApprover(queue, jobs, PolicyUses(self.db))
        self.sink = CandidateSink(
            queue,
            self.watch,
            self.writer,
            archive=self.archive,
            after_enqueue=ChatPolicy(self.approver),
        )
        self.outbox = ChatOutbox(self._send)
        self.decisions = ChatDecisions(queue, jobs, feed, self.outbox, settle=self.sink.drain)
        self.timeline = TimelineWriter(ChatTimelineStore(self.db))
        self.runtime = ChatRuntime(
            self.watch, self.sink, self.outbox, decisions=self.decisions, timeline=self.timeline
        )
        self.candidates = CandidateAnnouncer(
            feed,
            broadcaster_id=env.broadcaster_id,
            post=lambda text: self.outbox.post(text, urgent=False),
            config=self.watch,
            instance=self.instance,
        )
        sender, self.discord_status = discord_webhook(env.discord_webhook_url)
        self.discord = (
            DiscordRelay(
                DiscordPostStore(self.db),
                DiscordPoster(
                    DiscordPostStore(self.db),
                    sender,
                    instance=self.instance,
                    channel_name=self._channel_name,
                ),
                config=lambda: self.watch.current().clips,
                broadcaster_id=env.broadcaster_id,
            )
            if sender is not None
            else None
        )
        self.announcer = ReadyClipAnnouncer(
            ClipJobStore(self.db),
            broadcaster_id=env.broadcaster_id,
            post=lambda text: self.outbox.post(text, urgent=False),
            config=self.watch,
            instance=self.instance,
        )
        self.health = HealthServer(self.report, port=env.port)
        self.bot: ByteChatBot | None = None
        self.stop = asyncio.Event()

    def _channel_name(self, broadcaster_id: str) -> str | None:
        """The channel's login as Connect Twitch stored it (no token is read out)."""
        stored = self.tokens.get(broadcaster_id)
        return stored.login if stored is not None else None

    async def _send(self, text: str) -> None:
        bot = self.bot
        if bot is None:
            raise RuntimeError("chat is not connected")
        await bot.send_reply(text)

    def make_bot(self) -> ByteChatBot:
        return ByteChatBot(
            client_id=self.env.client_id,
            client_secret=self.env.client_secret,
            bot_id=self.env.bot_user_id,
            broadcaster_id=self.env.broadcaster_id,
            runtime=self.runtime,
            tokens=self.tokens,
            link=self.link,
            archive=self.archive,
        )

    def report(self) -> tuple[bool, dict[str, Any]]:
        """What `/healthz` says: healthy while chat is connected or reconnecting."""
        health = self.link.health(time.monotonic())
        config = self.watch.current()
        llm = self.writer.status if config.chat.llm_enabled else "off: chat.llm_enabled is false"
        bot = self.bot
        return health.ok, {
            "chat": health.state,
            "seconds_in_state": round(health.seconds_in_state, 1),
            "detail": redact(health.detail),
            "broadcaster_id": self.env.broadcaster_id,
            "bot_user_id": self.env.bot_user_id,
            "bot_token": bot.token_status() if bot is not None else "chat not started",
            "replies": bot.reply_mode if bot is not None else "chat not started",
            "llm_goal": llm,
            "clip_pipeline_enabled": config.clips.clip_pipeline_enabled,
            "control_plane_listening": self.watch.listening,
            "settings_problems": list(config.problems),
            "messages_seen": self.runtime.messages,
            "messages_received": bot.received if bot is not None else 0,
            "duplicates_ignored": bot.duplicates if bot is not None else 0,
            "notifications_unreadable": bot.unreadable if bot is not None else 0,
            "pending_writes": self.sink.pending,
            "candidates": dict(self.sink.stats),
            "clips_announced": self.announcer.announced,
            "candidates_announced": self.candidates.announced,
            "chat_decisions": dict(self.decisions.stats),
            "auto_approved": self.approver.stats["approved"],
            "discord": self.discord_status,
            "discord_posted": self.discord.posted if self.discord is not None else 0,
            "chat_send_limit_per_30s": self.outbox.limiter.limit,
        }

    def validate_clip_tokens(self) -> None:
        """docs/architecture.md §6.4: every long-lived process validates the clipping tokens at
        start-up."""
        try:
            health, _ = self.token_health.run()
            logger.info(
                "clip tokens validated at start-up",
                extra={
                    "clips_token_valid": health.clips_token_valid,
                    "clips_scope_ok": health.clips_scope_ok,
                },
            )
        except Exception:
            logger.exception("clip token validation at start-up failed")

    async def run_chat(self) -> None:
        """Run twitchio until stopped; a failed start is retried with backoff."""
        attempt, rng = 0, random.Random()
        while not self.stop.is_set():
            bot = self.bot = self.make_bot()
            try:
                await bot.start(with_adapter=False, load_tokens=False, save_tokens=False)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                detail = redact(f"chat could not start: {error}")
                self.link.lost(time.monotonic(), detail)
                logger.error(detail)
            finally:
                with contextlib.suppress(Exception):
                    await bot.close()
            if self.stop.is_set():
                break
            delay = reconnect_delay(attempt, rand=rng.random(), cap=300.0)
            attempt += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), delay)

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)
        await self.health.start()
        await asyncio.to_thread(self.watch.start)
        logger.info(
            "chat bot starting",
            extra={"broadcaster_id": self.env.broadcaster_id, "llm_goal": self.writer.status},
        )
        if not self.writer.enabled:
            logger.warning("LLM goal is off", extra={"llm_goal": self.writer.status})
        # A daemon thread: its blocking Helix calls must never hold up a SIGTERM exit.
        threading.Thread(target=self.validate_clip_tokens, name="clip-tokens", daemon=True).start()
        self.outbox.start()
        self.timeline.start()
        await asyncio.to_thread(self.announcer.start)
        await asyncio.to_thread(self.candidates.start)
        if self.discord is not None:
            await asyncio.to_thread(self.discord.start)
        else:
            logger.warning(f"Discord posting is {self.discord_status}")
        chat = asyncio.create_task(self.run_chat(), name="chat")
        await self.stop.wait()
        logger.info("chat bot stopping")
        self.link.stopped(time.monotonic())
        if self.bot is not None:
            with contextlib.suppress(Exception):
                await self.bot.stop_chat()
            with contextlib.suppress(Exception):
                await self.bot.close()
        chat.cancel()
        await asyncio.gather(chat, return_exceptions=True)
        await self.outbox.stop()
        await asyncio.to_thread(self.announcer.stop)
        await asyncio.to_thread(self.candidates.stop)
        if self.discord is not None:
            await asyncio.to_thread(self.discord.stop)
        self.watch.stop()
        unwritten = await asyncio.to_thread(close_sink, self.sink, SHUTDOWN_DRAIN_SECONDS)
        await asyncio.to_thread(self.timeline.close)
        await asyncio.to_thread(self.decisions.close, SHUTDOWN_DRAIN_SECONDS)
        await self.health.stop()
        accounting = chat_accounting(self.bot, self.runtime, self.sink, self.outbox, unwritten)
        logger.info("chat bot stopped", extra=accounting)
        return 0


def close_sink(sink: CandidateSink, seconds: float) -> int:
    """Give queued candidates `seconds` to reach Firestore; the ones left are dropped and
    logged with their count (one whose write is already under way may still land)."""
    drained = sink.close(seconds)
    unwritten = sink.pending
    if not drained:
        logger.error(
            "stopped with candidates not yet written: dropped", extra={"dropped": unwritten}
        )
    return unwritten


def chat_accounting(
    bot: ByteChatBot | None,
    runtime: ChatRuntime,
    sink: CandidateSink,
    outbox: ChatOutbox,
    unwritten: int,
) -> dict[str, Any]:
    """What became of the chat a process received, for its last log line: every message
    seen went through the pipeline, and every detection it made was written, found already
    queued, held back (paused, refused, failed) or dropped, and counted."""
    stats = dict(sink.stats)
    return {
        "messages_received": bot.received if bot is not None else 0,
        "duplicates_ignored": bot.duplicates if bot is not None else 0,
        "messages_seen": runtime.messages,
        "candidates": stats,
        "candidates_dropped": stats.get("dropped", 0) + unwritten,
        "replies_sent": outbox.sent,
        "replies_dropped": outbox.dropped + outbox.failed,
    }


async def run_live(environ: Mapping[str, str]) -> int:
    env = live_env(environ)
    apply(env.endpoints)  # before any twitchio request is built
    return await LiveBot(env).run()
