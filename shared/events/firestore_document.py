"""Firestore `document.v1` CloudEvents as Eventarc delivers them, decoded to plain Python.

In production Eventarc POSTs one CloudEvent per write to `clip_jobs/{job_id}` in binary content
mode: `ce-*` headers plus a serialized protobuf `google.events.cloud.firestore.v1
.DocumentEventData` body. `decode_document_written` turns that into a `DocumentWritten` whose
`before`/`after` hold the same Python values `DocumentSnapshot.to_dict()` would give, so the
function code reads documents the same way whether they came from an event or a read.
The inverse, used only by the local trigger relay, is `local/eventarc_encoder.py`.

Value mapping (same as google-cloud-firestore): null → None, boolean → bool, integer → int,
double → float, timestamp → aware UTC `DatetimeWithNanoseconds`, string → str, bytes → bytes,
geo point → `GeoPoint`, array → list, map → dict. One deliberate difference: a reference
becomes its document path string (`clip_jobs/abc`) instead of a `DocumentReference`, because
decoding needs no client.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from google.cloud.firestore import GeoPoint
from google.events.cloud.firestore import DocumentEventData
from google.protobuf import timestamp_pb2
from google.protobuf.message import DecodeError

WRITTEN_TYPE = "google.cloud.firestore.document.v1.written"
_TYPE_PREFIX = "google.cloud.firestore.document.v1."
# Same payload for every document.v1 trigger; `written` is the one our function subscribes to.
ACCEPTED_TYPES = frozenset(
    _TYPE_PREFIX + kind + suffix
    for kind in ("written", "created", "updated", "deleted")
    for suffix in ("", ".withAuthContext")
)
DATASCHEMA = (
    "https://github.com/googleapis/google-cloudevents/blob/main/proto/google/events/cloud/"
    "firestore/v1/data.proto"
)
CONTENT_TYPE = "application/protobuf"
DEFAULT_DATABASE = "(default)"

_EventDataPb = DocumentEventData.pb()


@dataclass(frozen=True)
class DocumentWritten:
    """One decoded write: the document before and after it (None when it did not exist)."""

    collection: str
    document_id: str
    path: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    event_id: str | None
    time: datetime | None
    changed_fields: tuple[str, ...] = ()

    @property
    def kind(self) -> Literal["create", "update", "delete"]:
        """Which write this was, from which side of the event is present."""
        if self.before is None:
            return "create"
        if self.after is None:
            return "delete"
        return "update"


# --- decoding ---------------------------------------------------------------------------------


def decode_document_written(cloud_event: Any) -> DocumentWritten:
    """Decode the CloudEvent functions-framework hands to a Firestore-triggered function.

    Accepts a `cloudevents` CloudEvent (binary mode: `.data` is the protobuf bytes; a JSON-mode
    event whose `.data` is the proto-JSON dict also works) or the raw protobuf bytes alone.
    Raises ValueError naming what is wrong for any other event type or an undecodable body.
    """
    attributes: Mapping[str, Any] = {}
    if isinstance(cloud_event, bytes | bytearray | memoryview):
        data: Any = bytes(cloud_event)
    else:
        get_attributes = getattr(cloud_event, "get_attributes", None)
        if get_attributes is None or not hasattr(cloud_event, "data"):
            raise ValueError(
                f"expected a CloudEvent or the event body's bytes, got {type(cloud_event).__name__}"
            )
        attributes = get_attributes()
        event_type = attributes.get("type")
        if event_type not in ACCEPTED_TYPES:
            raise ValueError(
                f"event type {event_type!r} is not a Firestore document event "
                f"(expected {WRITTEN_TYPE!r})"
            )
        data = cloud_event.data

    event = _parse_event_data(data)
    before_pb = event.old_value if event.HasField("old_value") else None
    after_pb = event.value if event.HasField("value") else None
    document = after_pb if after_pb is not None else before_pb
    if document is None:
        raise ValueError("Firestore event body has neither `value` nor `old_value`")
    path = _document_path(document.name)
    segments = path.split("/")
    return DocumentWritten(
        collection=segments[-2],
        document_id=segments[-1],
        path=path,
        before=None if before_pb is None else _decode_fields(before_pb.fields),
        after=None if after_pb is None else _decode_fields(after_pb.fields),
        event_id=attributes.get("id"),
        time=_parse_time(attributes.get("time")),
        changed_fields=tuple(event.update_mask.field_paths),
    )


def _parse_event_data(data: Any) -> Any:
    """Protobuf bytes (binary mode) or proto-JSON (JSON mode) → a raw DocumentEventData."""
    if data is None:
        raise ValueError("Firestore event has no body (expected a DocumentEventData protobuf)")
    if isinstance(data, Mapping):
        try:
            return DocumentEventData.pb(DocumentEventData.from_json(json.dumps(data)))
        except Exception as exc:
            raise ValueError(
                f"Firestore event JSON body is not a DocumentEventData: {exc}"
            ) from exc
    if isinstance(data, str):
        raise ValueError(
            "Firestore event body arrived as text; expected protobuf bytes "
            "(Content-Type: application/protobuf)"
        )
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ValueError(f"Firestore event body has unexpected type {type(data).__name__}")
    message = _EventDataPb()
    try:
        message.ParseFromString(bytes(data))
    except DecodeError as exc:
        raise ValueError(
            f"Firestore event body is not a DocumentEventData protobuf: {exc}"
        ) from exc
    return message


def _document_path(name: str) -> str:
    """`projects/p/databases/d/documents/clip_jobs/x` → `clip_jobs/x`."""
    parts = name.split("/")
    if len(parts) < 7 or parts[0] != "projects" or parts[2] != "databases":
        raise ValueError(f"Firestore event document name {name!r} is not a document resource name")
    if parts[4] != "documents" or (len(parts) - 5) % 2 or not all(parts[5:]):
        raise ValueError(f"Firestore event document name {name!r} does not name a document")
    return "/".join(parts[5:])


def _parse_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    stamp = timestamp_pb2.Timestamp()
    try:
        stamp.FromJsonString(str(value))
    except ValueError as exc:
        raise ValueError(f"CloudEvent time {value!r} is not RFC 3339") from exc
    return DatetimeWithNanoseconds.from_timestamp_pb(stamp)


def _decode_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {key: decode_value(value) for key, value in fields.items()}


def decode_value(value: Any) -> Any:
    """One Firestore `Value` (proto-plus or raw protobuf) → the client's Python value."""
    pb = getattr(value, "_pb", value)
    kind = pb.WhichOneof("value_type")
    if kind == "null_value":
        return None
    if kind == "boolean_value":
        return pb.boolean_value
    if kind == "integer_value":
        return pb.integer_value
    if kind == "double_value":
        return pb.double_value
    if kind == "timestamp_value":
        return DatetimeWithNanoseconds.from_timestamp_pb(pb.timestamp_value)
    if kind == "string_value":
        return pb.string_value
    if kind == "bytes_value":
        return pb.bytes_value
    if kind == "reference_value":
        return _document_path(pb.reference_value)
    if kind == "geo_point_value":
        return GeoPoint(pb.geo_point_value.latitude, pb.geo_point_value.longitude)
    if kind == "array_value":
        return [decode_value(item) for item in pb.array_value.values]
    if kind == "map_value":
        return _decode_fields(pb.map_value.fields)
    raise ValueError(f"Firestore value has no value set (value_type {kind!r})")
