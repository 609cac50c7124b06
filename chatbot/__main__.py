"""`python -m chatbot` (live bot, `/healthz` on `$PORT`) or `--replay FILE [--speed X]`
(a chat log through the same pipeline, then exit; see chatbot/README.md)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

from shared.logs import configure_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chatbot", description=__doc__)
    parser.add_argument("--replay", type=Path, metavar="FILE", help="feed a JSON-lines chat log")
    parser.add_argument(
        "--speed", type=float, default=1.0, help="replay speed: 1 real time, 0 as fast as possible"
    )
    parser.add_argument(
        "--from-now", action="store_true", help="replay: move the log so it starts now"
    )
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    configure_logging(args.log_level.upper())
    if args.replay is None:
        from chatbot.live import run_live

        return asyncio.run(run_live(os.environ))
    if args.speed < 0:
        parser.error("--speed must be 0 (as fast as possible) or more")
    from chatbot.replay import replay_file
    from chatbot.replay_log import LogLineInvalid
    from shared.store.firestore_client import default_client

    try:
        report = replay_file(
            args.replay, default_client(), speed=args.speed, from_now=args.from_now
        )
    except (LogLineInvalid, OSError) as error:
        print(f"replay: {args.replay}: {error}", file=sys.stderr)
        return 2
    print(json.dumps({"replay": str(args.replay), **report.summary()}), flush=True)
    return 0 if report.drained else 1


if __name__ == "__main__":
    sys.exit(main())
