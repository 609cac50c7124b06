"""What the pages show of the fast approval paths (issue 15); pure, no Streamlit.

The Queue shows each candidate's chat code (the one mods type: `!approve K7`) and what was
decided lately and by which path ("approved by policy vip-clips"); Health shows how long after
the moment decisions come, per path, and what was posted to Discord. Text that came from chat,
the LLM or Discord is returned as it is: the pages show it with `ui.literal`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from shared.domain.approval_codes import shown_codes
from shared.domain.candidate_status import status_word
from shared.domain.decision_speed import Decided, PathSpeed, decision_speeds
from shared.domain.language import N_
from shared.i18n import Translator
from shared.store.action_queue import ActionItem
from shared.store.discord_posts import PostRecord
from streamlit_app.formatting import EN, ago, as_utc, duration_text

VIA_WORDS = {"app": N_("in the app"), "chat": N_("in chat"), "policy": N_("by the policy")}


def queue_codes(items: Iterable[ActionItem]) -> dict[str, str]:
    """Each pending candidate's chat code, unique within its channel (as the bot computes)."""
    channels: dict[str, list[str]] = defaultdict(list)
    for item in items:
        channels[item.payload.broadcaster_id].append(item.action_id)
    codes: dict[str, str] = {}
    for action_ids in channels.values():
        codes |= shown_codes(action_ids)
    return codes


def decided(item: ActionItem) -> Decided | None:
    if item.decided_at is None:
        return None
    return Decided(
        moment=as_utc(item.payload.source_ts),
        decided_at=as_utc(item.decided_at),
        status=item.status.value,
        via=item.decided_via,
        by=item.decided_by,
    )


def speeds(items: Iterable[ActionItem]) -> list[PathSpeed]:
    """Moment-to-decision p50/p95 per path (app, chat, policy) over decided items."""
    return decision_speeds(found for found in map(decided, items) if found is not None)


def speed_text(speed: PathSpeed, t: Translator = EN) -> str:
    if speed.p50 is None or speed.p95 is None:
        return "-"
    return f"{duration_text(speed.p50, t)} / {duration_text(speed.p95, t)}"


def decision_line(item: ActionItem, now: datetime, t: Translator = EN) -> str:
    """`“Ace” approved by policy vip-clips, 9 s after the moment (2 min ago)`."""
    title = item.payload.suggested_title or item.payload.source.replace("_", " ")
    by = t(" by {who}", who=item.decided_by) if item.decided_by else ""
    via = t(VIA_WORDS[item.decided_via]) if item.decided_via in VIA_WORDS else ""
    how = f"{by} {via}".rstrip() if via and item.decided_via != "policy" else by
    status = item.status.value
    said = status_word(status, t)
    line = f"“{title}” {said}{how}"
    found = decided(item)
    if found is not None:
        after = max((found.decided_at - found.moment).total_seconds(), 0.0)
        line += t(
            ", {span} after the moment ({ago})",
            span=duration_text(after, t),
            ago=ago(item.decided_at, now, t),
        )
    return line


def discord_rows(
    records: Iterable[PostRecord], now: datetime, t: Translator = EN
) -> list[dict[str, str]]:
    """The Discord posts as a table: when, what, whether it went out and why not."""
    rows = []
    for record in records:
        outcome = record.result
        if record.detail and record.result != "posted":
            outcome = f"{record.result}: {record.detail}"
        rows.append(
            {
                t("when"): ago(record.at, now, t) if record.at else "-",
                t("clip"): record.title or record.job_id,
                t("status"): record.status,
                t("channel"): record.broadcaster_id,
                t("posted"): outcome,
                t("link"): record.clip_url or "",
            }
        )
    return rows
