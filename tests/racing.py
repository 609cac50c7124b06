"""Run the same call from several threads at once, each with its own Firestore client."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from google.cloud import firestore


def race(
    racers: int,
    new_client: Callable[[], firestore.Client],
    call: Callable[[firestore.Client, int], Any],
) -> list[Any]:
    """Start `racers` calls behind one barrier; return each result or raised exception."""
    clients = [new_client() for _ in range(racers)]
    barrier = threading.Barrier(racers)
    results: list[Any] = [None] * racers

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = call(clients[index], index)
        except Exception as error:  # collected and asserted on by the test
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a racer hung"
    return results
