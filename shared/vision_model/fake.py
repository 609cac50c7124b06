"""A FAKE scene classifier: it never looks at the picture. For the local stack, tests and the
benchmark only; every scene it produces is labelled `FAKE classifier`.

A frame may carry the answer the fake should give, as JSON in a label: a PNG `tEXt` chunk
with the keyword `byteclips-fake-scene`, or a JPEG comment (COM segment) starting with
`byteclips-fake-scene:`. The JSON holds the answer's fields (`game`, `scene`, `event`,
`confidence`, `summary`) and optionally `fail` (`timeout` or `error`) or `delay_seconds`.
A frame without a label is gameplay with no event.
"""

from __future__ import annotations

import json
import struct
import time
import zlib
from collections.abc import Callable, Mapping
from typing import Any

from shared.domain.vision import (
    JPEG,
    PNG,
    ModelFailed,
    ModelTimeout,
    SceneClassification,
    parse_classification,
)

LABEL_KEY = "byteclips-fake-scene"
NAME = "FAKE classifier (local only; frames are not looked at)"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_UNLABELLED: dict[str, Any] = {
    "game": "",
    "scene": "gameplay",
    "event": "none",
    "confidence": 0.5,
    "summary": "unlabelled frame",
}


def _png_label(frame: bytes) -> str | None:
    offset = len(_PNG_SIGNATURE)
    while offset + 8 <= len(frame):
        length, kind = struct.unpack(">I4s", frame[offset : offset + 8])
        data = frame[offset + 8 : offset + 8 + length]
        if kind == b"tEXt":
            keyword, _, text = data.partition(b"\0")
            if keyword.decode("latin-1") == LABEL_KEY:
                return text.decode("latin-1")
        if kind == b"IEND":
            break
        offset += 12 + length
    return None


def _jpeg_label(frame: bytes) -> str | None:
    offset = 2
    prefix = f"{LABEL_KEY}:".encode()
    while offset + 4 <= len(frame) and frame[offset] == 0xFF:
        marker = frame[offset + 1]
        if marker == 0xDA:  # start of scan: no more header segments
            break
        (length,) = struct.unpack(">H", frame[offset + 2 : offset + 4])
        data = frame[offset + 4 : offset + 2 + length]
        if marker == 0xFE and data.startswith(prefix):
            return data[len(prefix) :].decode("utf-8", "replace")
        offset += 2 + length
    return None


def read_label(frame: bytes, mime: str) -> dict[str, Any] | None:
    """The scripted answer a frame carries, or None."""
    raw = _png_label(frame) if mime == PNG else _jpeg_label(frame) if mime == JPEG else None
    if raw is None:
        return None
    try:
        label = json.loads(raw)
    except ValueError:
        return None
    return label if isinstance(label, dict) else None


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def labelled_png(
    label: Mapping[str, Any] | None,
    *,
    width: int = 64,
    height: int = 36,
    rgb: tuple[int, int, int] = (40, 40, 60),
) -> bytes:
    """A small solid-colour PNG carrying `label` for the fake (a real, valid PNG)."""
    row = b"\0" + bytes(rgb) * width
    chunks = [_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))]
    if label is not None:
        text = json.dumps(dict(label), separators=(",", ":")).encode("latin-1")
        chunks.append(_chunk(b"tEXt", LABEL_KEY.encode("latin-1") + b"\0" + text))
    chunks.append(_chunk(b"IDAT", zlib.compress(row * height)))
    chunks.append(_chunk(b"IEND", b""))
    return _PNG_SIGNATURE + b"".join(chunks)


class FakeSceneClassifier:
    """Answers what the frame's label says, after `latency` seconds (or the label's delay)."""

    name = NAME

    def __init__(
        self, *, latency: float = 0.0, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._latency = latency
        self._sleep = sleep

    def classify(
        self, frame: bytes, mime: str, *, model: str, timeout: float
    ) -> SceneClassification:
        label = read_label(frame, mime) or _UNLABELLED
        delay = float(label.get("delay_seconds", self._latency))
        if label.get("fail") == "timeout" or delay > timeout:
            self._sleep(timeout)
            raise ModelTimeout(f"the FAKE classifier timed out after {timeout:g} s")
        if delay > 0:
            self._sleep(delay)
        if label.get("fail") == "error":
            raise ModelFailed("the FAKE classifier was told to fail")
        answer = {k: v for k, v in label.items() if k in _UNLABELLED}
        return parse_classification({"confidence": 0.5} | answer)
