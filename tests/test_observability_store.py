"""observability/clips_auth round-trips through the emulator."""

from __future__ import annotations

from shared.store.clips_auth import ClipsAuthStore
from tests.factories import clips_auth


def test_missing_then_written(db):
    store = ClipsAuthStore(db)
    assert store.read_clips_auth() is None
    health = clips_auth(
        clips_scope_ok=False,
        scopes=["user:read:chat"],
        missing_scopes=["clips:edit"],
        expires_in=3600,
        last_error="missing scope clips:edit",
    )
    store.write_clips_auth(health)
    assert store.read_clips_auth() == health
