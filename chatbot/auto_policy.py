"""The auto-approval policy for chat candidates, run by the sink's worker right after enqueue.

The sink knows what the candidate does not store: the roles of who typed the `!clip`, and the
broadcast's archive as the bot last saw it. With an archive known, the planner may also plan
a VOD clip and "per stream" counts per broadcast; without one, only a moment a live clip still
reaches is approved automatically and the per-stream cap counts by UTC day
(`shared.domain.approval_policy`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from chatbot.sink import Enqueued
from chatbot.vod import StreamArchive
from shared.domain.approval_policy import PolicyFacts
from shared.domain.clip_candidate import parse_timestamp
from shared.domain.moment_plan import Archive, StreamState
from shared.pipeline.auto_approve import AutoApprover


def facts_from_fields(
    action_id: str, fields: Mapping[str, Any], requester_roles: frozenset[str]
) -> PolicyFacts:
    """The policy's view of raw candidate fields the queue just accepted."""
    return PolicyFacts(
        action_id=action_id,
        broadcaster_id=str(fields["broadcaster_id"]),
        source=str(fields["source"]),
        score=float(fields["score"]),
        moment=parse_timestamp(fields["source_ts"]),
        mode=str(fields["mode"]),
        duration=float(fields["suggested_duration"]),
        requester_roles=requester_roles,
    )


def stream_from_archive(archive: StreamArchive | None) -> StreamState | None:
    """The live broadcast as the bot knows it: its archive names it (the VOD id stands for
    the stream id, which the bot does not read)."""
    if archive is None:
        return None
    started = datetime.fromtimestamp(archive.started_ts, UTC)
    stream_id = f"vod{archive.vod_id}"
    return StreamState(True, stream_id, started, (Archive(archive.vod_id, started, stream_id),))


class ChatPolicy:
    """`chatbot.sink.AfterEnqueue` over the shared `AutoApprover`."""

    def __init__(self, approver: AutoApprover) -> None:
        self.approver = approver

    def enqueued(self, candidate: Enqueued) -> None:
        facts = facts_from_fields(candidate.action_id, candidate.fields, candidate.requester_roles)
        stream = stream_from_archive(candidate.archive)
        self.approver.consider(facts, candidate.config, stream=stream)
