"""A candidate's status as the operator reads it ("was already approved"); pure.

The chat bot's replies and the app's pages say the same statuses, so they share one table
and one translation per word.
"""

from __future__ import annotations

from shared.domain.language import N_, Translate

# `decided` is what the chat bot says when the store did not tell which decision won.
STATUS_WORDS = {
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "expired": N_("expired"),
    "pending": N_("pending"),
    "decided": N_("decided"),
}


def status_word(status: str, t: Translate) -> str:
    """The status in the reader's language; a status with no word is shown as stored."""
    return t(STATUS_WORDS[status]) if status in STATUS_WORDS else status
