"""Byte speaks the channel's language (control plane `language`) in chat, Discord and the
sentences jobs carry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chatbot.approval_commands import (
    ApprovalGate,
    already_reply,
    ambiguous_reply,
    announcement,
    decided_reply,
    failed_reply,
    none_pending_reply,
    parse_approval_command,
    refused_edit_reply,
    unknown_reply,
)
from chatbot.brain import ChatBrain
from chatbot.detectors.clip_command import CommandResult, Status, parse_clip_command
from chatbot.replay import replay
from chatbot.replies import MAX_PARTS, MAX_REPLY_CHARS, command_reply, ready_reply
from shared.discord.embed import clip_message
from shared.domain.approval_settings import ApprovalSettings
from shared.domain.chat_settings import DEFAULTS
from shared.domain.clip_candidate import new_candidate
from shared.domain.clip_job import JobStatus, new_job
from shared.domain.errors import ErrorCode, operator_message
from shared.domain.language import LANGUAGES
from shared.i18n import translator
from shared.pipeline.create import timeout_detail
from shared.pipeline.links import links_held_note
from shared.pipeline.sweep import SWITCHED_OFF_CONFIRM, says_switched_off
from shared.store.control_plane import ControlPlaneStore
from tests.factories import live_fields
from tests.fixtures_chat.synth import line

NOW = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
LONG = "Ω" * 400
STATUSES: tuple[Status, ...] = (
    "accepted",
    "paused",
    "cooldown_user",
    "cooldown_global",
    "forbidden",
)


@pytest.mark.firestore
def test_a_replayed_moderator_clip_gets_a_portuguese_reply_when_the_channel_speaks_pt_br(db):
    ControlPlaneStore(db).write({"language": "pt-BR"}, by="test")
    report = replay(
        [line(0, 7, "!clip que jogada absurda", "moderator"), line(1, 8, "!clip", "moderator")],
        db,
    )
    assert report.by_status == {"enqueued": 1}
    assert report.replies == [
        "@viewer7 pedido de clip enviado pro streamer: “que jogada absurda”",
        "@viewer8 acabaram de pedir um clip; tenta de novo em 29 s.",
    ]


@pytest.mark.firestore
def test_the_same_replay_answers_in_english_by_default(db):
    report = replay([line(0, 7, "!clip what a play", "moderator")], db)
    assert report.replies == ["@viewer7 clip request sent to the streamer: “what a play”"]


def test_clipa_is_the_clip_command_in_a_portuguese_channel_only():
    assert parse_clip_command("!clipa isso", "clip", "pt-BR") == "isso"
    assert parse_clip_command("!CLIPA", "clip", "pt-BR") == ""
    assert parse_clip_command("!clipa isso", "clip", "en") is None
    assert parse_clip_command("!clipa isso", "clip") is None
    brain = ChatBrain()
    reaction = brain.observe(
        line(0, 7, "!clipa caraca", "moderator"),
        DEFAULTS,
        pipeline_enabled=True,
        language="pt-BR",
    )
    assert [d.source for d in reaction.detections] == ["command"]
    assert reaction.reply == "@viewer7 pedido de clip enviado pro streamer: “caraca”"


def test_every_clip_reply_speaks_portuguese_and_keeps_the_placeholders():
    replies = [
        command_reply("ann", CommandResult(status, retry_after=12.2), DEFAULTS, "pt-BR")
        for status in STATUSES
    ]
    assert replies == [
        "@ann pedido de clip enviado pro streamer: “esse momento”",
        "@ann os clips tão pausados agora, nada entrou na fila.",
        "@ann você acabou de pedir um clip; tenta de novo em 13 s.",
        "@ann acabaram de pedir um clip; tenta de novo em 13 s.",
        "@ann o !clip é liberado só pra mods, VIPs e subs.",
    ]
    assert ready_reply("GG", "https://clips.twitch.tv/A", "pt-BR") == (
        "Clip pronto: “GG” · https://clips.twitch.tv/A"
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_chat_line_is_one_message_of_at_most_four_parts_and_280_characters(language):
    settings = ApprovalSettings(chat_roles=("moderator", "vip", "subscriber"))
    said = [
        command_reply(LONG, CommandResult(status, LONG, 99.0), DEFAULTS, language)
        for status in STATUSES
    ]
    said += [
        ready_reply(LONG, "https://clips.twitch.tv/" + "A" * 60, language),
        announcement("K7M", LONG, "command", settings, language),
        announcement("K7M", None, "autonomy_goal", settings, language),
        decided_reply(LONG, "approve", "K7", LONG, language),
        decided_reply(LONG, "reject", "K7", LONG, language),
        already_reply(LONG, "K7", "approved", LONG, language),
        none_pending_reply(LONG, language),
        unknown_reply(LONG, "K7", language),
        ambiguous_reply(LONG, "K", ("K7", "K8", "K9"), language),
        refused_edit_reply(LONG, "K7", LONG, language),
        failed_reply(LONG, None, language),
    ]
    gate = ApprovalGate()
    command = parse_approval_command("!approve K7")
    assert command is not None
    refusal = gate.handle(line(0, 9, "!approve K7"), command, settings, "v9", language)
    said.append(refusal.reply)
    for text in said:
        assert text is not None and "\n" not in text
        assert len(text) <= MAX_REPLY_CHARS
        assert text.count(" · ") < MAX_PARTS


def test_mods_are_answered_in_portuguese():
    settings = ApprovalSettings()
    assert announcement("K7", "Boss", "command", settings, "pt-BR") == (
        "Clipa? K7 “Boss” — mods: !approve K7"
    )
    assert decided_reply("Mod", "approve", "K7", "Boss", "pt-BR") == (
        "@Mod aprovou o K7 “Boss”: o clip já tá saindo."
    )
    assert already_reply("Mod", "K7", "rejected", "ana", "pt-BR") == (
        "@Mod o K7 já foi recusado por ana."
    )
    gate = ApprovalGate()
    command = parse_approval_command("!approve")
    assert command is not None
    refused = gate.handle(line(0, 3, "!approve"), command, settings, "v3", "pt-BR")
    assert refused.reply == "@viewer3 só o streamer e mods podem aprovar ou recusar clips."
    allowed = gate.handle(line(0, 4, "!approve", "moderator"), command, settings, "m", "pt-BR")
    assert allowed.request is not None and allowed.request.language == "pt-BR"


def test_discord_posts_and_operator_messages_speak_portuguese():
    candidate = new_candidate(live_fields(suggested_title="Virada", source="command"))
    job = new_job("cc_job1", candidate, approved_by="mod", now=NOW)
    failed = job.model_copy(
        update={"status": JobStatus.FAILED, "error_code": ErrorCode.FORBIDDEN, "updated_at": NOW}
    )
    [embed] = clip_message(failed, t=translator("pt-BR"))["embeds"]
    assert embed["title"] == "Não virou clip: Virada"
    assert [field["name"] for field in embed["fields"]] == ["Canal", "Quem puxou"]
    assert embed["fields"][1]["value"] == "um !clip no chat"
    assert embed["description"] == "A Twitch não criou este clip (clip_forbidden)."
    message = operator_message(ErrorCode.CREATE_TIMEOUT, translator("pt-BR"))
    assert message.startswith("A Twitch aceitou o clip, mas ele não apareceu em 15 segundos.")
    assert operator_message(ErrorCode.CREATE_TIMEOUT).startswith("Twitch accepted the clip")


def test_job_sentences_are_written_in_the_channel_language_and_still_recognised():
    pt = translator("pt-BR")
    now = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
    detail = timeout_detail(now, pt)
    assert detail.startswith("A Twitch aceitou o clip, mas ele não apareceu em 15 segundos.")
    assert "até 20:10 UTC" in detail
    held = pt(SWITCHED_OFF_CONFIRM)
    assert held.startswith("Esperando: clip_api_enabled está desligado")
    assert says_switched_off(held) and says_switched_off(SWITCHED_OFF_CONFIRM)
    assert not says_switched_off("something else") and not says_switched_off(None)
    assert links_held_note(2, pt).startswith("clip_api_enabled está desligado: 2 clips prontos")
    assert links_held_note(1).startswith("clip_api_enabled is off: 1 ready clip waits")
