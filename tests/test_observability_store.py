"""observability/clips_auth round-trips through the emulator."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.domain.clips_auth import ClipsAuthHealth
from shared.store.clips_auth import ClipsAuthStore


def test_missing_then_written(db):
    store = ClipsAuthStore(db)
    assert store.read_clips_auth() is None
    health = ClipsAuthHealth(
        clips_token_valid=True,
        clips_scope_ok=False,
        clips_pipeline_enabled=True,
        scopes=["user:read:chat"],
        missing_scopes=["clips:edit"],
        expires_in=3600,
        login="bytestreamer",
        user_id="12345",
        last_validated_at=datetime(2026, 11, 24, 20, 0, tzinfo=UTC),
        last_error="missing scope clips:edit",
    )
    store.write_clips_auth(health)
    assert store.read_clips_auth() == health
