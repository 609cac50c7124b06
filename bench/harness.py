"""What the benchmarks share: the percentile they report and the local clip stack they start
(Firestore emulator, Helix simulator, one live channel connected as Connect Twitch would)."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from google.cloud import firestore

from local.clip_harness import CLIENT_ID, CLIENT_SECRET, connect_channel
from local.firestore_emulator import FirestoreEmulator
from local.helix_simulator import HelixSimulator
from shared.store.firestore_client import LOCAL_PROJECT, make_client


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest rank, `q` in percent; NaN when there is nothing to rank."""
    if not values:
        return math.nan
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


@dataclass(frozen=True)
class ClipStack:
    emulator: FirestoreEmulator
    sim: HelixSimulator
    db: firestore.Client
    access_token: str


@contextmanager
def clip_stack(channel: str, visible_after: Sequence[float]) -> Iterator[ClipStack]:
    """The emulator (this process's Firestore clients use it) and the simulator with the
    harness's app and `channel` live on it; its clips show `visible_after` seconds after their
    create, one delay per clip in order."""
    with FirestoreEmulator(project=LOCAL_PROJECT) as emulator, HelixSimulator() as sim:
        os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.host
        db = make_client(LOCAL_PROJECT)
        sim.add_app(CLIENT_ID, CLIENT_SECRET)
        access = connect_channel(sim, db, channel)
        sim.next_clip_visible_after(visible_after)
        yield ClipStack(emulator, sim, db, access)
