"""Approval codes (pure): short, stable, unique among a channel's pending candidates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.domain.approval_codes import (
    DIGITS,
    LETTERS,
    Coded,
    full_code,
    resolve,
    shown_codes,
    typed_code,
)

T0 = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)


def test_a_code_is_letter_digit_letter_digit_without_confusable_characters():
    codes = {full_code(f"cc_{n:032x}") for n in range(2000)}
    assert len(codes) > 1500
    for code in codes:
        assert len(code) == 4
        assert code[0] in LETTERS and code[2] in LETTERS
        assert code[1] in DIGITS and code[3] in DIGITS
        assert not set(code) & set("ILO01")
    assert full_code("cc_abc") == full_code("cc_abc")


def test_typed_codes_are_read_case_insensitively_and_words_are_not_codes():
    assert typed_code("k7") == "K7"
    assert typed_code(" K7m ") == "K7M"
    assert typed_code("K7M3") == "K7M3"
    for word in ("K", "boss", "77", "K0", "I7", "K7M3X", "GG", "L2"):
        assert typed_code(word) is None, word


def two_with_the_same_start() -> tuple[str, str]:
    seen: dict[str, str] = {}
    for n in range(10_000):
        action_id = f"cc_{n}"
        start = full_code(action_id)[:2]
        if start in seen:
            return seen[start], action_id
        seen[start] = action_id
    raise AssertionError("no two ids share a start")


def test_shown_codes_are_two_characters_unless_two_pending_share_them():
    first, second = two_with_the_same_start()
    lone = next(
        f"cc_x{n}" for n in range(1000) if full_code(f"cc_x{n}")[:2] != full_code(first)[:2]
    )
    shown = shown_codes([first, second, lone])
    assert len(shown[lone]) == 2
    assert len(shown[first]) >= 3 and len(shown[second]) >= 3
    assert shown[first] != shown[second]
    assert shown_codes([first]) == {first: full_code(first)[:2]}


def pending(action_id: str, at: int) -> Coded:
    return Coded(action_id, T0 + timedelta(seconds=at))


def test_no_code_means_the_newest_pending_candidate():
    found = resolve(None, [pending("cc_old", 0), pending("cc_new", 10)])
    assert (found.outcome, found.action_id) == ("found", "cc_new")
    assert found.code == shown_codes(["cc_old", "cc_new"])["cc_new"]
    assert resolve(None, []).outcome == "none_pending"


def test_a_code_finds_its_candidate_or_says_why_not():
    items = [pending("cc_a", 0), pending("cc_b", 1)]
    code = full_code("cc_a")[:2]
    if full_code("cc_b").startswith(code):
        items = items[:1]
    assert resolve(code, items).action_id == "cc_a"
    assert resolve(full_code("cc_a"), items).action_id == "cc_a"
    unknown = next(
        c
        for c in (a + d for a in LETTERS for d in DIGITS)
        if not any(full_code(i.action_id).startswith(c) for i in items)
    )
    assert resolve(unknown, items).outcome == "unknown"


def test_two_pending_sharing_a_code_are_ambiguous_and_the_longer_codes_are_given():
    first, second = two_with_the_same_start()
    items = [pending(first, 0), pending(second, 1)]
    found = resolve(full_code(first)[:2], items)
    assert found.outcome == "ambiguous"
    assert set(found.codes) == set(shown_codes([first, second]).values())
    assert resolve(shown_codes([first, second])[second], items).action_id == second


def test_a_code_decided_moments_ago_says_who_decided():
    decided = Coded("cc_done", T0, "approved", "mod_one")
    found = resolve(full_code("cc_done")[:2], [], [decided])
    assert (found.outcome, found.status, found.decided_by) == ("decided", "approved", "mod_one")


def test_a_pending_code_that_also_names_a_fresh_decision_is_not_guessed():
    first, second = two_with_the_same_start()
    found = resolve(
        full_code(first)[:2], [pending(second, 5)], [Coded(first, T0, "approved", "mod_one")]
    )
    assert found.outcome == "ambiguous"
