"""``python -m local.helix_simulator``: run the simulator in the foreground until a signal."""

from __future__ import annotations

import argparse

from local.helix_simulator.server import HelixSimulator
from local.lifecycle import serve_until_signal


def main(argv: list[str] | None = None) -> int:
    """Start, print one JSON line for scripts to read, and serve until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m local.helix_simulator")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--bucket-size", type=int, default=800)
    parser.add_argument("--downloads-per-minute", type=int, default=100)
    parser.add_argument("--seed-demo", action="store_true", help="seed the local demo channel")
    args = parser.parse_args(argv)
    with HelixSimulator(
        args.port, args.bucket_size, args.downloads_per_minute, host=args.host
    ) as sim:
        info: dict[str, str] = {
            "api_base": sim.api_base,
            "auth_base": sim.auth_base,
            "eventsub_ws_url": sim.eventsub_url,
        }
        if args.seed_demo:
            info.update(sim.seed_demo())
        serve_until_signal(info)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
