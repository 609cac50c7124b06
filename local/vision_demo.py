"""`vision_ingest` in the local stack, with the FAKE classifier, and a demo frame sequence.

The FAKE classifier never looks at a picture: each demo frame is a small PNG that carries
the answer it should give (shared/vision_model/fake.py). The sequence exercises the visual
trigger: nothing on a menu or in gameplay, a death (not a trigger event by default), a
victory below the confidence threshold (nothing), a victory above it (one candidate), the
same moment sent again (no duplicate).

    VISION_INGEST_TOKEN=... python -m local.vision_demo --url URL --broadcaster-id ID
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from local.functions_host import FunctionServer
from shared.domain.vision import CAPTURE_HEADER
from shared.store.firestore_client import LOCAL_PROJECT
from shared.vision_model.fake import labelled_png


@dataclass(frozen=True)
class DemoFrame:
    note: str
    label: Mapping[str, Any] | None
    same_moment_as_previous: bool = False

    @property
    def png(self) -> bytes:
        return labelled_png(self.label)


DEMO_FRAMES: tuple[DemoFrame, ...] = (
    DemoFrame(
        "main menu: no event",
        {"game": "Demo Arena", "scene": "main menu", "event": "none", "confidence": 0.9},
    ),
    DemoFrame("unlabelled gameplay: no event", None),
    DemoFrame(
        "a death (not a trigger event by default): no candidate",
        {"game": "Demo Arena", "scene": "gameplay", "event": "death", "confidence": 0.9},
    ),
    DemoFrame(
        "a victory at 0.55, under the 0.8 threshold: no candidate",
        {"game": "Demo Arena", "scene": "round end", "event": "victory", "confidence": 0.55},
    ),
    DemoFrame(
        "a victory at 0.95: one candidate (source=vision)",
        {
            "game": "Demo Arena",
            "scene": "victory screen",
            "event": "victory",
            "confidence": 0.95,
            "summary": "VICTORY banner over the team, scoreboard 13-11",
        },
    ),
    DemoFrame(
        "the same moment again: no duplicate",
        {
            "game": "Demo Arena",
            "scene": "victory screen",
            "event": "victory",
            "confidence": 0.95,
            "summary": "VICTORY banner over the team, scoreboard 13-11",
        },
        same_moment_as_previous=True,
    ),
)


def vision_env(emulator_host: str, token: str, **extra: str) -> dict[str, str]:
    """vision_ingest with the FAKE classifier; no Twitch settings at all (it needs none)."""
    return {
        "FIRESTORE_EMULATOR_HOST": emulator_host,
        "GOOGLE_CLOUD_PROJECT": LOCAL_PROJECT,
        "VISION_INGEST_TOKEN": token,
        "BYTECLIPS_VISION_CLASSIFIER": "fake",
        "GEMINI_API_KEY": "",
        "TWITCH_CLIENT_ID": "",
        "TWITCH_CLIENT_SECRET": "",
        **extra,
    }


@contextmanager
def running_vision(env: Mapping[str, str]) -> Iterator[FunctionServer]:
    with FunctionServer("vision_ingest", env=dict(env)) as server:
        yield server


def post_frame(
    url: str,
    token: str,
    broadcaster_id: str,
    frame: bytes,
    *,
    captured_at: datetime | None = None,
    content_type: str = "image/png",
    session: requests.Session | None = None,
) -> requests.Response:
    """One frame as the OBS script sends it."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
    if captured_at is not None:
        headers[CAPTURE_HEADER] = captured_at.isoformat()
    return (session or requests).post(
        url, params={"broadcaster_id": broadcaster_id}, data=frame, headers=headers, timeout=60
    )


def send_demo(
    url: str, token: str, broadcaster_id: str, *, spacing: float = 2.0
) -> list[tuple[DemoFrame, requests.Response]]:
    sent: list[tuple[DemoFrame, requests.Response]] = []
    captured = datetime.now(UTC)
    for index, frame in enumerate(DEMO_FRAMES):
        if index and spacing:
            time.sleep(spacing)
        if not frame.same_moment_as_previous:
            captured = datetime.now(UTC)
        sent.append(
            (frame, post_frame(url, token, broadcaster_id, frame.png, captured_at=captured))
        )
    return sent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.vision_demo", description=__doc__)
    parser.add_argument("--url", required=True, help="the local vision_ingest URL")
    parser.add_argument("--broadcaster-id", required=True)
    parser.add_argument("--spacing", type=float, default=2.0, help="seconds between frames")
    args = parser.parse_args(argv)
    token = os.environ.get("VISION_INGEST_TOKEN", "")
    if not token:
        parser.error("set VISION_INGEST_TOKEN (the token the local function was started with)")
    for frame, response in send_demo(args.url, token, args.broadcaster_id, spacing=args.spacing):
        body = response.json() if response.content else {}
        outcome = body.get("note") or body.get("message") or ""
        print(f"vision demo: {frame.note}: HTTP {response.status_code}, {outcome}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
