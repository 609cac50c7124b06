"""The local stack: Byte Clips on loopback, with the emulator and the simulator standing in.

Started by `bash local/run` (README): the Firestore emulator, the Helix simulator with a
seeded demo channel (its tokens stored as if Connect Twitch had run), the three clip
functions under functions-framework, the trigger relay that turns `clip_jobs` writes into
Eventarc's CloudEvents, the ticker that calls the scheduled functions like Cloud Scheduler,
the operations app, and the live chat bot (`python -m chatbot`, twitchio on the simulator's
EventSub and Helix) with the demo chat typed into it and its replies printed
(`local.chat_host`). `--check` also has a moderator say `!clip` and waits for the candidate
and the reply. Replaying a chat log without Twitch stays a tool: `python -m chatbot --replay`.

Crash safety (`local.crash_safety`): the children die with the stack, what a killed stack
left behind is stopped at the next start, a taken app port is reported with its owner and a
free one is used, and the app counts as up only when our own process answers on its port.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import threading
from contextlib import ExitStack
from datetime import UTC, datetime

from local.app_host import StreamlitServer
from local.chat_host import (
    ChatBotHost,
    ChatTyper,
    check_chat,
    connect_demo_bot,
    control_url,
    show_replies,
)
from local.clip_harness import approve_moment, function_env, running_functions, wait_for_job
from local.crash_safety import RunRecord, port_free, port_owner, recording, sweep_dead_stacks
from local.discord_standin import DiscordStandin, posting_to
from local.firestore_emulator import FirestoreEmulator, free_port
from local.functions_host import FunctionServer
from local.helix_simulator import HelixSimulator
from local.processes import ROOT, LoggedProcess
from local.scheduler_ticker import TUNE_EVERY_SECONDS, ScheduledCall, SchedulerTicker
from local.trigger_relay import TriggerRelay
from local.vision_demo import running_vision, vision_env
from shared.domain.clip_job import JobStatus
from shared.domain.twitch_models import TokenGrant
from shared.domain.twitch_scopes import CONNECT_SCOPES
from shared.store.firestore_client import LOCAL_PROJECT, make_client
from shared.store.twitch_tokens import TwitchTokenStore

NOT_YET: list[str] = []
DEMO_CHAT = ROOT / "chatbot" / "demo_chat.jsonl"


def connect_demo_channel(demo: dict[str, str]) -> None:
    """Store the demo broadcaster's tokens as the Connect Twitch flow would."""
    grant = TokenGrant(
        access_token=demo["user_access_token"],
        refresh_token=demo["user_refresh_token"],
        expires_in=4 * 3600,
        scopes=CONNECT_SCOPES,
    )
    TwitchTokenStore(make_client(LOCAL_PROJECT)).save_grant(
        grant, user_id=demo["broadcaster_id"], login=demo["login"], client_id=demo["client_id"]
    )


def check(demo: dict[str, str]) -> int:
    """Smoke test: approve a moment that just happened and wait for its clip."""
    db = make_client(LOCAL_PROJECT)
    job = approve_moment(db, demo["broadcaster_id"], suggested_title="Local stack check")
    try:
        done = wait_for_job(db, job.job_id, timeout=40)
    except AssertionError as stuck:
        print(f"check: {stuck}", flush=True)
        return 1
    print(
        f"check: job {job.job_id} (action {job.action_id}) is {done.status.value}: "
        f"{done.clip_url or done.error_detail}",
        flush=True,
    )
    return 0 if done.status is JobStatus.READY else 1


def app_port_for(requested: int) -> int:
    """The requested port when free; else say who holds it and take a free one."""
    if requested and port_free(requested):
        return requested
    chosen = free_port()
    if requested:
        print(
            f"Port {requested} is taken by {port_owner(requested)}; the operations app uses "
            f"{chosen} instead (stop that process, or pass --app-port).",
            flush=True,
        )
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.stack", description=__doc__)
    parser.add_argument("--check", action="store_true", help="start, clip once, stop")
    parser.add_argument("--sweep-every", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--app-port", type=int, default=8501, help="operations app port")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    left = sweep_dead_stacks()
    if left:
        print(f"Stopped what an earlier stack left running: {', '.join(left)}", flush=True)
    with ExitStack() as stack:
        stack.enter_context(recording(RunRecord()))
        emulator = stack.enter_context(FirestoreEmulator(project=LOCAL_PROJECT))
        sim = stack.enter_context(HelixSimulator(port=0))
        demo = sim.seed_demo()
        env = function_env(
            sim,
            emulator.host,
            client_id=demo["client_id"],
            client_secret=demo["client_secret"],
            TWITCH_BROADCASTER_ID=demo["broadcaster_id"],
        )
        os.environ.update(env)
        connect_demo_channel(demo)
        functions = stack.enter_context(running_functions(env))
        worker, sweeper, tokens = functions.worker, functions.sweeper, functions.tokens
        tune = stack.enter_context(FunctionServer("tune_chat_detection", env=env))
        stack.enter_context(TriggerRelay(make_client(LOCAL_PROJECT), worker.url))
        stack.enter_context(
            SchedulerTicker(
                [
                    ScheduledCall("validate_tokens", tokens.url, 3600.0),
                    ScheduledCall("sweep_clip_jobs", sweeper.url, args.sweep_every),
                    ScheduledCall("tune_chat_detection", tune.url, TUNE_EVERY_SECONDS),
                ]
            )
        )
        vision_token = secrets.token_urlsafe(18)
        vision = stack.enter_context(running_vision(vision_env(emulator.host, vision_token)))
        discord = stack.enter_context(DiscordStandin())
        stack.enter_context(
            posting_to(
                make_client(LOCAL_PROJECT),
                discord.webhook_url,
                broadcaster_id=demo["broadcaster_id"],
                instance="local-stack",
            )
        )
        bot_id = connect_demo_bot(sim, demo, make_client(LOCAL_PROJECT))
        show_replies(sim, bot_id, lambda line: print(line, flush=True))
        chatbot = stack.enter_context(
            ChatBotHost(
                env={
                    **os.environ,
                    **env,
                    "TWITCH_EVENTSUB_WS_URL": sim.eventsub_url,
                    "TWITCH_BOT_USER_ID": bot_id,
                }
            )
        )
        print(f"Byte Clips local stack, started {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
        print("Running now:")
        print(f"  Firestore emulator ({emulator.kind})   FIRESTORE_EMULATOR_HOST={emulator.host}")
        print(f"  Helix simulator                 TWITCH_API_BASE={sim.api_base}")
        print(f"                                  TWITCH_AUTH_BASE={sim.auth_base}")
        print(f"  on_clip_job_written             {worker.url} (fed by the trigger relay)")
        print(f"  sweep_clip_jobs                 {sweeper.url} (every {args.sweep_every:g} s)")
        print(f"  validate_tokens                 {tokens.url} (at start, then hourly)")
        print(f"  vision_ingest (FAKE classifier) {vision.url}")
        print(f"      VISION_INGEST_TOKEN={vision_token}  (the FAKE classifier reads frame labels)")
        print(f"  Discord webhook stand-in        DISCORD_WEBHOOK_URL={discord.webhook_url}")
        print(
            "      ready clips are posted to it as the chat bot would (the app's Health page "
            f"lists them; http://127.0.0.1:{discord.port}/messages shows what it received)"
        )
        print(f"  chat bot (python -m chatbot)    {chatbot.url}/healthz (live, on the simulator)")
        print(f"                                  TWITCH_EVENTSUB_WS_URL={sim.eventsub_url}")
        print(
            f"  demo channel: {demo['login']} (id {demo['broadcaster_id']}), live, VOD "
            f"{demo['vod_id']}, client id {demo['client_id']}; connected (tokens stored)"
        )
        print(
            f"  other shells: export FIRESTORE_EMULATOR_HOST={emulator.host} "
            f"GOOGLE_CLOUD_PROJECT={LOCAL_PROJECT}"
        )
        password = secrets.token_urlsafe(9)
        app_port = free_port() if args.check else app_port_for(args.app_port)
        app = stack.enter_context(
            StreamlitServer(
                env={
                    **env,
                    "DASHBOARD_PASSWORD": password,
                    "TWITCH_REDIRECT_URI": f"http://localhost:{app_port}/",
                },
                port=app_port,
            )
        )
        # Connect Twitch on the simulator signs in as the demo broadcaster.
        sim.authorize_as(demo["broadcaster_id"])
        print(f"  operations app                  http://localhost:{app.port}/")
        print(f"      development password: {password}  (any operator name)")
        if NOT_YET:
            print("Not part of the stack yet:")
            for piece in NOT_YET:
                print(f"  - {piece}")
        sys.stdout.flush()
        if args.check:
            clipped = check(demo)
            try:
                said = check_chat(sim, make_client(LOCAL_PROJECT), demo["broadcaster_id"], bot_id)
            except AssertionError as missing:
                print(f"check: {missing}", flush=True)
                return 1
            print(f"check: {said}", flush=True)
            return clipped
        typer = stack.enter_context(
            ChatTyper.from_log(control_url(sim), DEMO_CHAT, demo["broadcaster_id"])
        )
        print(
            f"  demo chat: {DEMO_CHAT.name} typed into the live bot in real time ({len(typer)} "
            "messages, 15 min; first moments after about 4 min land in the approval queue; "
            "the bot's replies show here as [chat])"
        )
        vision_demo = LoggedProcess(
            [
                *(sys.executable, "-m", "local.vision_demo", "--url", vision.url),
                *("--broadcaster-id", demo["broadcaster_id"], "--spacing", "3"),
            ],
            name="vision-demo",
            cwd=ROOT,
            env={**os.environ, "VISION_INGEST_TOKEN": vision_token},
        )
        stack.callback(vision_demo.stop)
        print("  vision demo: 6 labelled frames to vision_ingest; one victory becomes a candidate")
        print("Ctrl-C stops everything.", flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
