"""Counts the Firestore operations of the process it is loaded into, as Firestore bills them.

deploy/measure_costs.py (the cost of each function and the chat bot) and bench/app_latency.py
(the app's idle reads) put this folder on PYTHONPATH and name a file in BYTECLIPS_COST_METER;
Python imports `sitecustomize` at start-up. Reads (a listener's too): one per document a get, a
query or a listener returns, at least one per query or aggregation. Writes and deletes: one per
document a commit writes. The totals are written to the file after every operation.

It patches the Firestore client's generated API class, so the process's own code is counted
without a line of it changing.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

_PATH = os.environ.get("BYTECLIPS_COST_METER", "")
_LOCK = threading.Lock()
_COUNTS: Counter[str] = Counter()


def _add(kind: str, n: int = 1) -> None:
    with _LOCK:
        _COUNTS[kind] += n
        tmp = f"{_PATH}.tmp"
        with open(tmp, "w", encoding="utf-8") as out:
            json.dump(dict(_COUNTS), out)
        os.replace(tmp, _PATH)


class _Counted:
    """A response stream that counts reads as it is consumed."""

    def __init__(self, inner: Any, per_response: Callable[[Any], int]) -> None:
        self._inner, self._per_response, self._seen, self._done = inner, per_response, 0, False

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        try:
            response = next(self._inner)
        except StopIteration:
            if not self._done and self._seen == 0:
                _add("reads")  # an empty result still costs one read
            self._done = True
            raise
        reads = self._per_response(response)
        if reads:
            self._seen += reads
            _add("reads", reads)
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _install() -> None:
    from google.cloud.firestore_v1.services.firestore import client as gapic
    from google.cloud.firestore_v1.watch import WATCH_TARGET_ID, Watch

    api = gapic.FirestoreClient

    def streaming(name: str, per_response: Callable[[Any], int]) -> None:
        original = getattr(api, name)

        def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
            return _Counted(iter(original(self, *args, **kwargs)), per_response)

        setattr(api, name, counted)

    streaming("run_query", lambda r: 1 if r._pb.HasField("document") else 0)
    streaming(
        "batch_get_documents",
        lambda r: 1 if r._pb.HasField("found") or r._pb.HasField("missing") else 0,
    )
    streaming("run_aggregation_query", lambda r: 0)

    commit = api.commit

    def counted_commit(self: Any, request: Any = None, **kwargs: Any) -> Any:
        writes = (request or {}).get("writes", []) if isinstance(request, dict) else []
        for write in writes:
            pb = getattr(write, "_pb", write)
            _add("deletes" if pb.WhichOneof("operation") == "delete" else "writes")
        _add("commits")
        return commit(self, request, **kwargs)

    api.commit = counted_commit  # type: ignore[method-assign]

    on_snapshot = Watch.on_snapshot

    def counted_snapshot(self: Any, proto: Any) -> Any:
        if proto is not None:
            pb = proto._pb
            if (
                pb.WhichOneof("response_type") == "document_change"
                and WATCH_TARGET_ID in pb.document_change.target_ids
            ):
                _add("reads")
        return on_snapshot(self, proto)

    Watch.on_snapshot = counted_snapshot  # type: ignore[method-assign]


if _PATH:
    _install()
