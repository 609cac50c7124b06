"""What a finished clip becomes in Discord: one embed, no mentions, no link but the clip's; pure.

Discord renders Markdown in embed titles, descriptions and field values, so every text we did
not write (a title from chat or the LLM, a channel name) is cleaned for a title
(`fit_title`) and then shown literally (`markdown_literal`): nobody can plant a link, a
mention or formatting through it. `allowed_mentions: {"parse": []}` makes sure no
`@everyone` or role ping ever fires, whatever the text holds. The only URLs are the clip's
own page and thumbnail, and only when they are https.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from shared.domain.clip_job import ClipJob, JobStatus
from shared.domain.language import ENGLISH, N_, Translate
from shared.domain.text import fit_title, markdown_literal, shorten, visible_text

READY_COLOUR = 0x9146FF  # Twitch purple
FAILED_COLOUR = 0xE03C3C
EMBED_TITLE_CHARS = 256
FIELD_CHARS = 1024

TRIGGERS: dict[str, str] = {
    "chat_spike": N_("a burst of chat"),
    "keyword": N_("chat's reactions (keywords and emotes)"),
    "command": N_("a !clip request in chat"),
    "autonomy_goal": N_("Byte's own pick"),
    "vision": N_("what was on screen (vision)"),
    "manual": N_("an operator (manual clip)"),
}


def https_url(value: str | None) -> str | None:
    """The URL when it is an https address, else None (nothing else is ever linked)."""
    if not value:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme != "https" or not parts.hostname:
        return None
    return value.strip()


def _literal(text: str, limit: int) -> str:
    return markdown_literal(shorten(visible_text(text), limit))


def trigger_text(job: ClipJob, t: Translate = ENGLISH) -> str:
    """What made this clip, in words: its candidate's source."""
    known = TRIGGERS.get(job.candidate_source)
    return t(known) if known else job.candidate_source.replace("_", " ")


def clip_message(
    job: ClipJob, *, channel: str | None = None, t: Translate = ENGLISH
) -> dict[str, Any]:
    """The webhook payload for a ready (or failed) clip job, in the language of `t`."""
    title = fit_title(job.requested_title) or t("A clip")
    channel_text = channel or t("channel {id}", id=job.broadcaster_id)
    trigger = _literal(trigger_text(job, t), FIELD_CHARS)
    fields = [
        {"name": t("Channel"), "value": _literal(channel_text, FIELD_CHARS), "inline": True},
        {"name": t("Triggered by"), "value": trigger, "inline": True},
    ]
    embed: dict[str, Any] = {"fields": fields, "footer": {"text": "Byte Clips"}}
    if job.status is JobStatus.READY:
        embed["title"] = _literal(title, EMBED_TITLE_CHARS)
        embed["color"] = READY_COLOUR
        url = https_url(job.clip_url)
        if url:
            embed["url"] = url
        thumbnail = https_url(job.thumbnail_url)
        if thumbnail:
            embed["thumbnail"] = {"url": thumbnail}
        if job.ready_at is not None:
            embed["timestamp"] = job.ready_at.isoformat()
    else:
        embed["title"] = _literal(t("Not clipped: {title}", title=title), EMBED_TITLE_CHARS)
        embed["color"] = FAILED_COLOUR
        code = job.error_code.value if job.error_code else "unknown"
        embed["description"] = _literal(
            t("Twitch did not make this clip ({code}).", code=code), 300
        )
        embed["timestamp"] = job.updated_at.isoformat()
    return {"embeds": [embed], "allowed_mentions": {"parse": []}}
