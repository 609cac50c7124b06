"""The emulator launcher and the Firestore guarantees docs/architecture.md §5 builds on."""

from __future__ import annotations

import pytest
from google.api_core.exceptions import AlreadyExists

from local.firestore_emulator import EmulatorError, choose_kind
from tests.racing import race


def test_choice_is_validated(monkeypatch):
    monkeypatch.setenv("BYTECLIPS_EMULATOR", "docker")
    with pytest.raises(EmulatorError, match="auto, gcloud or npm"):
        choose_kind()
    monkeypatch.setenv("BYTECLIPS_EMULATOR", "npm")
    assert choose_kind() == "npm"


def test_clear_removes_documents_and_subcollections(db, firestore_emulator):
    db.document("a/1").set({"x": 1})
    db.document("a/1/b/2").set({"y": 2})
    firestore_emulator.clear()
    assert not db.document("a/1").get().exists
    assert not db.document("a/1/b/2").get().exists


def test_racing_creates_exactly_one_wins(db, new_client):
    def create(client, i):
        client.document("locks/one").create({"by": i})
        return i

    results = race(8, new_client, create)
    assert sum(isinstance(r, int) for r in results) == 1, results
    assert sum(isinstance(r, AlreadyExists) for r in results) == 7, results


def test_batch_led_by_a_failing_create_writes_nothing(db):
    db.document("locks/two").set({"by": "someone"})
    batch = db.batch()
    batch.create(db.document("locks/two"), {"by": "me"})
    batch.set(db.document("jobs/x"), {"status": "queued"})
    batch.update(db.document("locks/two"), {"stolen": True})
    with pytest.raises(AlreadyExists):
        batch.commit()
    assert not db.document("jobs/x").get().exists
    assert db.document("locks/two").get().to_dict() == {"by": "someone"}
