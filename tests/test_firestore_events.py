"""Firestore `written` CloudEvents: encode → (functions-framework's parsing) → decode, no I/O."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cloudevents.http import CloudEvent, from_http
from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore import GeoPoint
from google.cloud.firestore_v1 import _helpers as client_helpers
from google.cloud.firestore_v1.types import Document as ClientDocument
from google.events.cloud.firestore import DocumentEventData

from local.eventarc_encoder import encode_document_written
from shared.events.firestore_document import (
    DATASCHEMA,
    WRITTEN_TYPE,
    DocumentWritten,
    decode_document_written,
)

PROJECT = "byte-clips-test"
CREATED = datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)
UPDATED = datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC)
FIXTURE = Path(__file__).parent / "fixtures_functions" / "echo_main.py"


@pytest.fixture(scope="module")
def offline_client() -> firestore.Client:
    """Only to build DocumentReferences; never connects."""
    return firestore.Client(project=PROJECT, credentials=AnonymousCredentials())


def roundtrip(
    before: dict | None, after: dict | None, path: str = "clip_jobs/job-1", **kwargs: object
) -> tuple[dict[str, str], DocumentWritten]:
    headers, body = encode_document_written(
        PROJECT, path, before, after, create_time=CREATED, update_time=UPDATED, **kwargs
    )
    return headers, decode_document_written(from_http(headers, body))


def every_type(client: firestore.Client) -> dict:
    return {
        "null": None,
        "yes": True,
        "no": False,
        "int": 42,
        "int_min": -(2**63),
        "int_max": 2**63 - 1,
        "double": 2.5,
        "whole_double": 3.0,
        "inf": math.inf,
        "ts": datetime(2026, 3, 1, 13, 30, 0, 123456, tzinfo=timezone(timedelta(hours=1))),
        "ts_nanos": DatetimeWithNanoseconds(2026, 3, 1, 12, 0, 0, nanosecond=123456789, tzinfo=UTC),
        "text": "Pog ✨ clip",
        "empty_text": "",
        "bytes": b"\x00\xffclip",
        "ref": client.document("clip_jobs", "other"),
        "geo": GeoPoint(48.85, 2.35),
        "array": [1, "two", None, {"three": 3.0}],
        "empty_array": [],
        "map": {"nested": {"deeper": [True, b"x"]}, "n": 1},
        "empty_map": {},
    }


def test_every_value_type_decodes_like_the_client(offline_client: firestore.Client) -> None:
    data = every_type(offline_client)
    _, event = roundtrip(None, data)
    after = event.after
    assert after is not None
    assert set(after) == set(data)
    assert after["null"] is None
    assert after["yes"] is True and after["no"] is False
    assert (after["int"], after["int_min"], after["int_max"]) == (42, -(2**63), 2**63 - 1)
    assert type(after["int"]) is int and type(after["whole_double"]) is float
    assert after["double"] == 2.5 and after["inf"] == math.inf
    assert after["ts"] == datetime(2026, 3, 1, 12, 30, 0, 123456, tzinfo=UTC)
    assert after["ts"].tzinfo == UTC
    assert after["ts_nanos"].nanosecond == 123456789
    assert after["text"] == "Pog ✨ clip" and after["empty_text"] == ""
    assert after["bytes"] == b"\x00\xffclip"
    assert after["ref"] == "clip_jobs/other"
    assert after["geo"] == GeoPoint(48.85, 2.35)
    assert after["array"] == [1, "two", None, {"three": 3.0}]
    assert after["empty_array"] == [] and after["empty_map"] == {}
    assert after["map"] == {"nested": {"deeper": [True, b"x"]}, "n": 1}

    # Parity with google-cloud-firestore's own decoder on the very same bytes (the wire format
    # of google.events' Document is the Firestore API's Document).
    _, body = encode_document_written(
        PROJECT, "clip_jobs/job-1", None, data, create_time=CREATED, update_time=UPDATED
    )
    document_bytes = DocumentEventData.pb(DocumentEventData.deserialize(body)).value
    client_view = client_helpers.decode_dict(
        ClientDocument.deserialize(document_bytes.SerializeToString()).fields, offline_client
    )
    client_view["ref"] = client_view["ref"].path
    assert client_view == after


def test_create_has_only_after_and_eventarc_headers() -> None:
    headers, event = roundtrip(None, {"status": "queued"}, event_id="evt-1")
    assert headers == {
        "ce-specversion": "1.0",
        "ce-id": "evt-1",
        "ce-source": f"//firestore.googleapis.com/projects/{PROJECT}/databases/(default)",
        "ce-type": WRITTEN_TYPE,
        "ce-subject": "documents/clip_jobs/job-1",
        "ce-time": "2026-03-01T12:00:05Z",
        "ce-dataschema": DATASCHEMA,
        "ce-location": "local",
        "ce-project": PROJECT,
        "ce-database": "(default)",
        "ce-namespace": "(default)",
        "ce-document": "clip_jobs/job-1",
        "Content-Type": "application/protobuf",
    }
    assert event == DocumentWritten(
        collection="clip_jobs",
        document_id="job-1",
        path="clip_jobs/job-1",
        before=None,
        after={"status": "queued"},
        event_id="evt-1",
        time=UPDATED,
        changed_fields=(),
    )
    assert event.kind == "create"


def test_update_carries_both_sides_times_and_changed_fields() -> None:
    old_update = datetime(2026, 3, 1, 12, 0, 1, tzinfo=UTC)
    headers, body = encode_document_written(
        PROJECT,
        "clip_jobs/job-1",
        {"status": "queued", "attempts": 0, "gone": 1},
        {"status": "creating", "attempts": 0, "new": "x"},
        create_time=CREATED,
        update_time=UPDATED,
        before_update_time=old_update,
    )
    event = decode_document_written(from_http(headers, body))
    assert event.kind == "update"
    assert event.before == {"status": "queued", "attempts": 0, "gone": 1}
    assert event.after == {"status": "creating", "attempts": 0, "new": "x"}
    assert event.changed_fields == ("gone", "new", "status")
    raw = DocumentEventData.deserialize(body)
    assert raw.value.name == f"projects/{PROJECT}/databases/(default)/documents/clip_jobs/job-1"
    assert raw.old_value.name == raw.value.name
    assert raw.value.create_time == CREATED and raw.old_value.create_time == CREATED
    assert raw.value.update_time == UPDATED and raw.old_value.update_time == old_update


def test_delete_has_only_before_and_the_observed_time() -> None:
    seen = datetime(2026, 3, 1, 12, 1, tzinfo=UTC)
    headers, event = roundtrip({"status": "ready"}, None, time=seen)
    assert headers["ce-time"] == "2026-03-01T12:01:00Z"
    assert event.kind == "delete"
    assert (event.before, event.after, event.time) == ({"status": "ready"}, None, seen)
    raw = DocumentEventData.pb(
        DocumentEventData.deserialize(
            encode_document_written(
                PROJECT, "clip_jobs/job-1", {"a": 1}, None, create_time=CREATED, update_time=UPDATED
            )[1]
        )
    )
    assert not raw.HasField("value") and raw.HasField("old_value")


def test_subcollection_paths_and_fresh_event_ids() -> None:
    headers, event = roundtrip(None, {}, path="/channels/123/clip_jobs/j9/")
    assert (event.collection, event.document_id, event.path) == (
        "clip_jobs",
        "j9",
        "channels/123/clip_jobs/j9",
    )
    assert event.after == {}
    assert headers["ce-id"] != roundtrip(None, {})[0]["ce-id"]


def test_raw_bytes_and_json_mode_bodies_decode_too() -> None:
    headers, body = encode_document_written(
        PROJECT, "clip_jobs/j", {"n": 1}, {"n": 2}, create_time=CREATED, update_time=UPDATED
    )
    from_bytes = decode_document_written(body)
    assert (from_bytes.before, from_bytes.after, from_bytes.event_id) == ({"n": 1}, {"n": 2}, None)

    attributes = {
        "type": WRITTEN_TYPE,
        "source": headers["ce-source"],
        "id": "json-1",
        "time": headers["ce-time"],
    }
    as_json = json.loads(DocumentEventData.to_json(DocumentEventData.deserialize(body)))
    event = decode_document_written(CloudEvent(attributes, as_json))
    assert (event.before, event.after, event.event_id) == ({"n": 1}, {"n": 2}, "json-1")


def test_functions_framework_hands_the_function_a_decodable_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The echo fixture behind the real functions-framework app, in process."""
    import functions_framework

    events_file = tmp_path / "events.jsonl"
    monkeypatch.setenv("ECHO_EVENTS_FILE", str(events_file))
    app = functions_framework.create_app("record_event", str(FIXTURE), "cloudevent")
    headers, body = encode_document_written(
        PROJECT,
        "clip_jobs/j1",
        None,
        {"status": "queued", "at": UPDATED},
        create_time=CREATED,
        update_time=UPDATED,
        event_id="ff-1",
    )
    response = app.test_client().post("/", headers=headers, data=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    recorded = json.loads(events_file.read_text())
    assert recorded["event_id"] == "ff-1"
    assert recorded["content_type"] == "application/protobuf"
    assert recorded["after"] == {"status": "queued", "at": "2026-03-01T12:00:05+00:00"}
    assert recorded["before"] is None and recorded["kind"] == "create"


@pytest.mark.parametrize(
    ("attributes", "data", "message"),
    [
        ({"type": "google.cloud.pubsub.topic.v1.messagePublished"}, b"", "event type"),
        ({"type": WRITTEN_TYPE}, None, "no body"),
        ({"type": WRITTEN_TYPE}, b"\xff\xff\xff\xff", "not a DocumentEventData"),
        ({"type": WRITTEN_TYPE}, b"", "neither `value` nor `old_value`"),
        ({"type": WRITTEN_TYPE}, "some text", "arrived as text"),
        ({"type": WRITTEN_TYPE}, {"value": {"fields": 3}}, "JSON body"),
        ({"type": WRITTEN_TYPE}, 12, "unexpected type"),
    ],
)
def test_bad_events_raise_value_errors_that_say_what_is_wrong(
    attributes: dict, data: object, message: str
) -> None:
    event = CloudEvent({"source": "//test", **attributes}, data)
    with pytest.raises(ValueError, match=message):
        decode_document_written(event)


def test_bad_document_names_and_non_events_are_refused() -> None:
    message = DocumentEventData(
        value={"name": "projects/p/databases/(default)/documents/clip_jobs/j/runs"}
    )
    with pytest.raises(ValueError, match="does not name a document"):
        decode_document_written(DocumentEventData.serialize(message))
    message = DocumentEventData(value={"name": "clip_jobs/x"})
    with pytest.raises(ValueError, match="not a document resource name"):
        decode_document_written(DocumentEventData.serialize(message))
    with pytest.raises(ValueError, match="expected a CloudEvent"):
        decode_document_written({"type": WRITTEN_TYPE})


def test_encoding_refuses_what_firestore_cannot_hold() -> None:
    times = {"create_time": CREATED, "update_time": UPDATED}
    with pytest.raises(ValueError, match="naive datetime"):
        encode_document_written(PROJECT, "c/d", None, {"at": datetime(2026, 1, 1)}, **times)
    with pytest.raises(ValueError, match="64-bit"):
        encode_document_written(PROJECT, "c/d", None, {"n": 2**63}, **times)
    with pytest.raises(TypeError, match=r"x\.inner\[0\]: cannot encode set"):
        encode_document_written(PROJECT, "c/d", None, {"x": {"inner": [{1}]}}, **times)
    with pytest.raises(TypeError, match="field names"):
        encode_document_written(PROJECT, "c/d", None, {1: "a"}, **times)
    with pytest.raises(ValueError, match="not a document path"):
        encode_document_written(PROJECT, "clip_jobs", None, {}, **times)
    with pytest.raises(ValueError, match="needs `before`, `after` or both"):
        encode_document_written(PROJECT, "c/d", None, None, **times)
