"""Counts the Firestore document reads of the process it is loaded into (bench only).

`bench/app_latency.py` puts this folder first on PYTHONPATH of the Streamlit process it starts
and names a file in BYTECLIPS_READ_METER; Python imports `sitecustomize` at start-up, so the
app's own client is counted without a line of the app changing. Counted as Firestore bills:
one read per document a query, a get or a listener returns (a listener: per document added
or changed in its result), at least one per query or aggregation, none for writes. The totals
are written to the file at most twice a second.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

_PATH = os.environ.get("BYTECLIPS_READ_METER", "")


class _Meter:
    def __init__(self, path: str) -> None:
        self.path = path
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.dirty = threading.Event()
        threading.Thread(target=self._flush_forever, name="read-meter", daemon=True).start()

    def add(self, kind: str, n: int = 1) -> None:
        with self.lock:
            self.counts[kind] += n
            self.counts["total"] += n
        self.dirty.set()

    def _flush_forever(self) -> None:
        while True:
            self.dirty.wait()
            self.dirty.clear()
            with self.lock:
                data = dict(self.counts)
            tmp = f"{self.path}.tmp"
            with open(tmp, "w", encoding="utf-8") as out:
                json.dump(data | {"at": time.time()}, out)
            os.replace(tmp, self.path)
            time.sleep(0.5)


class _Counted:
    """A response stream that counts as it is read and forwards everything else."""

    def __init__(self, inner: Any, kind: str, per_response: Callable[[Any], int]) -> None:
        self._inner = inner
        self._kind = kind
        self._per_response = per_response
        self._seen = 0
        self._finished = False

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        try:
            response = next(self._inner)
        except StopIteration:
            if not self._finished and self._seen == 0:
                _METER.add(self._kind)  # an empty result still costs one read
            self._finished = True
            raise
        reads = self._per_response(response)
        if reads:
            self._seen += reads
            _METER.add(self._kind, reads)
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _install() -> None:
    from google.cloud.firestore_v1.services.firestore import client as gapic
    from google.cloud.firestore_v1.watch import WATCH_TARGET_ID, Watch

    api = gapic.FirestoreClient

    def streaming(name: str, kind: str, per_response: Callable[[Any], int]) -> None:
        original = getattr(api, name)

        def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
            return _Counted(iter(original(self, *args, **kwargs)), kind, per_response)

        setattr(api, name, counted)

    streaming("run_query", "query", lambda r: 1 if r._pb.HasField("document") else 0)
    streaming(
        "batch_get_documents",
        "get",
        lambda r: 1 if r._pb.HasField("found") or r._pb.HasField("missing") else 0,
    )
    streaming("run_aggregation_query", "aggregation", lambda r: 0)

    on_snapshot = Watch.on_snapshot

    def counted_snapshot(self: Any, proto: Any) -> Any:
        if proto is not None:
            pb = proto._pb
            if (
                pb.WhichOneof("response_type") == "document_change"
                and WATCH_TARGET_ID in pb.document_change.target_ids
            ):
                _METER.add("listener")
        return on_snapshot(self, proto)

    Watch.on_snapshot = counted_snapshot  # type: ignore[method-assign]


if _PATH:
    _METER = _Meter(_PATH)
    _install()
