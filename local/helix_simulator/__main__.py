"""``python -m local.helix_simulator``: run the simulator in the foreground until a signal."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from types import FrameType

from local.helix_simulator.server import HelixSimulator


def main(argv: list[str] | None = None) -> int:
    """Start, print one JSON line for scripts to read, and serve until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m local.helix_simulator")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--bucket-size", type=int, default=800)
    parser.add_argument("--downloads-per-minute", type=int, default=100)
    parser.add_argument("--seed-demo", action="store_true", help="seed the local demo channel")
    args = parser.parse_args(argv)

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    sim = HelixSimulator(
        args.port, args.bucket_size, args.downloads_per_minute, host=args.host
    ).start()
    try:
        info: dict[str, str] = {"api_base": sim.api_base, "auth_base": sim.auth_base}
        if args.seed_demo:
            info.update(sim.seed_demo())
        print(json.dumps(info), flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
