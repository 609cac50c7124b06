"""What every local stand-in shares: `with` for start/stop, and running in the foreground.

The simulator, the relay, the ticker and the hosted processes all start, stop, and (run as
`python -m ...`) print one JSON line for scripts, then serve until SIGTERM or SIGINT.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any, Self


class Lifecycle:
    """Context management for anything with `start()` (returning itself) and `stop()`."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_until_signal(
    announce: Mapping[str, Any], *, alive: Callable[[], bool] = lambda: True
) -> bool:
    """Print `announce` as one JSON line, then block until SIGTERM/SIGINT (True) or until
    `alive()` turns false (False)."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(json.dumps(dict(announce)), flush=True)
    while not stop.wait(0.5):
        if not alive():
            return False
    return True
