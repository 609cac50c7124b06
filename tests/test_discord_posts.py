"""Discord: the embed (pure), the webhook client against the stand-in (Discord's documented
answers and rate limits), and ready clips posted exactly once by racing relays."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from local.discord_standin import WEBHOOK_ID, WEBHOOK_TOKEN, DiscordStandin
from shared.discord.embed import clip_message
from shared.discord.webhook import DiscordWebhook, check_webhook_url
from shared.domain.approval_settings import ApprovalSettings
from shared.domain.clip_candidate import new_candidate
from shared.domain.clip_job import ClipJob, JobStatus, new_job
from shared.domain.control_plane import ControlPlaneConfig
from shared.domain.errors import ErrorCode
from shared.logs import redact
from shared.pipeline.discord_posts import (
    OFF_WITHOUT_URL,
    DiscordPoster,
    DiscordRelay,
    webhook_from_env,
)
from shared.store.clip_jobs import ClipJobStore
from shared.store.discord_posts import DiscordPostStore
from tests.factories import live_fields

NOW = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)


def ready_job(n: int = 1, *, title: str = "Boss one-shots the streamer", **changes) -> ClipJob:
    candidate = new_candidate(live_fields(suggested_title=title, source="command"))
    job = new_job(f"cc_job{n}", candidate, approved_by="mod", now=NOW)
    return job.model_copy(
        update={
            "status": JobStatus.READY,
            "clip_url": f"https://clips.twitch.tv/Clip{n}",
            "thumbnail_url": f"https://clips-media.twitch.tv/Clip{n}-preview.jpg",
            "ready_at": NOW,
        }
        | changes
    )


@pytest.fixture
def standin() -> Iterator[DiscordStandin]:
    with DiscordStandin() as running:
        yield running


# --- the message ----------------------------------------------------------------------------


def test_a_ready_clip_is_one_embed_with_its_link_and_no_mention():
    message = clip_message(ready_job(), channel="bytestreamer")
    assert message["allowed_mentions"] == {"parse": []}
    [embed] = message["embeds"]
    assert embed["title"] == "Boss one-shots the streamer"
    assert embed["url"] == "https://clips.twitch.tv/Clip1"
    assert embed["thumbnail"] == {"url": "https://clips-media.twitch.tv/Clip1-preview.jpg"}
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields == {"Channel": "bytestreamer", "Triggered by": "a !clip request in chat"}


def test_hostile_titles_and_links_never_reach_discord_as_markup():
    job = ready_job(
        title="@everyone free nitro [here](https://evil.example) **now**",
        clip_url="javascript:alert(1)",
        thumbnail_url="http://plain.example/x.jpg",
    )
    [embed] = clip_message(job, channel="<@&123> _chan_")["embeds"]
    assert "url" not in embed and "thumbnail" not in embed
    assert "](" not in embed["title"] and "evil.example" not in embed["title"]
    assert "\\*\\*" in embed["title"] and "\\@everyone" in embed["title"]
    assert embed["fields"][0]["value"].startswith("\\<\\@\\&123\\>")


def test_a_failed_clip_says_so_without_a_link():
    job = ready_job(status=JobStatus.FAILED, error_code=ErrorCode.NOT_FOUND, clip_url=None)
    [embed] = clip_message(job)["embeds"]
    assert embed["title"].startswith("Not clipped: ") and "url" not in embed
    assert embed["description"] == "Twitch did not make this clip (clip_not_found)."


# --- the webhook client ---------------------------------------------------------------------


def test_a_post_answers_200_with_the_message_under_wait(standin):
    result = DiscordWebhook(standin.webhook_url).send({"content": "hi"})
    assert result.ok and result.status == 200 and result.message_id
    assert standin.messages[0]["content"] == "hi"
    raw = requests.post(standin.webhook_url, json={"content": "x"}, timeout=5)
    assert raw.status_code == 204 and raw.headers["X-RateLimit-Bucket"]


def test_a_429_is_waited_out_with_retry_after_and_posted_once(standin):
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        time.sleep(seconds)

    standin.rate_limit_next(1, retry_after=0.25)
    result = DiscordWebhook(standin.webhook_url, sleep=sleep).send({"content": "once"})
    assert result.ok and (result.attempts, result.rate_limited) == (2, 1)
    assert naps == [0.25]
    assert [a.status for a in standin.attempts] == [429, 200]
    assert len(standin.messages) == 1


def test_an_empty_bucket_is_waited_for_before_posting(standin):
    limited = DiscordStandin(limit=2, per=0.6).start()
    try:
        hook = DiscordWebhook(limited.webhook_url)
        results = [hook.send({"content": str(n)}) for n in range(3)]
    finally:
        limited.stop()
    assert all(r.ok for r in results)
    assert [a.status for a in limited.attempts] == [200, 200, 200]
    assert results[2].waited_seconds > 0.3 and results[2].rate_limited == 0


def test_refusals_are_final_and_say_why_without_the_token(standin):
    hook = DiscordWebhook(standin.webhook_url)
    empty = hook.send({"embeds": []})
    assert not empty.ok and empty.status == 400 and empty.attempts == 1
    assert "code 50006: Cannot send an empty message" in empty.detail
    too_long = hook.send({"embeds": [{"title": "x" * 300}]})
    assert too_long.status == 400 and "Invalid Form Body" in too_long.detail
    wrong = DiscordWebhook(standin.webhook_url.replace(WEBHOOK_TOKEN, "nope")).send(
        {"content": "x"}
    )
    assert wrong.status == 401 and "token" in wrong.detail
    unknown = DiscordWebhook(standin.webhook_url.replace(WEBHOOK_ID, "42")).send({"content": "x"})
    assert unknown.status == 404 and "deleted" in unknown.detail
    for result in (empty, too_long, wrong, unknown):
        assert WEBHOOK_TOKEN not in result.detail
    assert WEBHOOK_TOKEN not in redact(f"posting to {standin.webhook_url}")


def test_a_wait_longer_than_allowed_fails_instead_of_hanging(standin):
    standin.rate_limit_next(1, retry_after=120.0)
    result = DiscordWebhook(standin.webhook_url, max_wait=5).send({"content": "x"})
    assert not result.ok and result.status == 429
    assert "asked to wait 120 s" in result.detail


def test_no_answer_is_retried_and_named_by_its_type_only():
    hook = DiscordWebhook(
        f"http://127.0.0.1:9/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}",
        timeout=0.5,
        max_attempts=2,
        sleep=lambda s: None,
    )
    result = hook.send({"content": "x"})
    assert not result.ok and result.attempts == 2
    assert result.detail == "no answer from Discord (ConnectionError)"


def test_without_the_url_discord_is_off_and_says_so():
    assert webhook_from_env({}) == (None, OFF_WITHOUT_URL)
    assert webhook_from_env({"DISCORD_WEBHOOK_URL": "ftp://x/api/webhooks/1/t"})[1].startswith(
        "off: DISCORD_WEBHOOK_URL must be an https://"
    )
    with pytest.raises(ValueError, match="webhooks"):
        check_webhook_url("https://discord.com/")


# --- exactly once, across processes ---------------------------------------------------------


def store_ready(db, n: int, **changes) -> ClipJob:
    job = ready_job(
        n, **({"ready_at": datetime.now(UTC), "updated_at": datetime.now(UTC)} | changes)
    )
    ClipJobStore(db).ref(job.job_id).set(job.to_firestore())
    return job


def relay(db, standin: DiscordStandin, instance: str, **approval) -> DiscordRelay:
    settings = ApprovalSettings.model_validate(approval)
    config = ControlPlaneConfig(approval=settings)
    store = DiscordPostStore(db)
    poster = DiscordPoster(
        store,
        DiscordWebhook(standin.webhook_url),
        instance=instance,
        channel_name=lambda broadcaster_id: "bytestreamer",
    )
    return DiscordRelay(store, poster, config=lambda: config, broadcaster_id="12345")


def wait_until(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_two_relays_post_a_ready_clip_exactly_once_even_across_a_429(db, new_client, standin):
    relays = [relay(new_client(), standin, f"bot-{n}").start() for n in range(2)]
    try:
        standin.rate_limit_next(1, retry_after=0.3)
        job = store_ready(db, 1)
        wait_until(lambda: len(standin.messages) == 1)
        time.sleep(1.0)
    finally:
        for running in relays:
            running.stop()
    assert len(standin.messages) == 1
    assert [a.status for a in standin.attempts] == [429, 200]
    assert standin.messages[0]["embeds"][0]["url"] == job.clip_url
    assert sum(r.posted for r in relays) == 1 and sum(r.lost for r in relays) <= 1
    stored = db.document(f"clip_jobs/{job.job_id}").get().to_dict() or {}
    assert stored["discord"]["ready"]["result"] == "posted"
    assert stored["discord"]["ready"]["rate_limited"] == 1
    [record] = DiscordPostStore(db).recent()
    assert (record.job_id, record.result, record.status) == (job.job_id, "posted", "ready")


def test_sources_statuses_and_age_decide_what_is_posted(db, standin):
    running = relay(db, standin, "bot", discord_sources=["vision"]).start()
    try:
        store_ready(db, 2)
        time.sleep(1.0)
    finally:
        running.stop()
    assert standin.messages == []
    running = relay(db, standin, "bot", discord_statuses=["ready", "failed"]).start()
    try:
        store_ready(db, 3, status=JobStatus.FAILED, error_code=ErrorCode.FORBIDDEN)
        store_ready(db, 4, ready_at=datetime.now(UTC) - timedelta(hours=1))
        wait_until(lambda: len(standin.messages) == 2)
        time.sleep(0.5)
    finally:
        running.stop()
    titles = sorted(m["embeds"][0]["title"] for m in standin.messages)
    assert titles == ["Boss one-shots the streamer", "Not clipped: Boss one-shots the streamer"]
