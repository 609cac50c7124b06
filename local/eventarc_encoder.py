"""The inverse of `shared.events.firestore_document`: the CloudEvent Eventarc would send.

Local only: the trigger relay turns emulator writes into byte-for-byte the binary-mode
`document.v1.written` events production delivers, so the functions decode the real shape.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from google.cloud.firestore import GeoPoint
from google.events.cloud.firestore import Document, DocumentEventData, Value
from google.protobuf import timestamp_pb2

from shared.events.firestore_document import (
    CONTENT_TYPE,
    DATASCHEMA,
    DEFAULT_DATABASE,
    WRITTEN_TYPE,
)

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_EventDataPb = DocumentEventData.pb()
_DocumentPb = Document.pb()
_ValuePb = Value.pb()


def encode_document_written(
    project: str,
    path: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    *,
    create_time: datetime,
    update_time: datetime,
    before_update_time: datetime | None = None,
    event_id: str | None = None,
    time: datetime | None = None,
    database: str = DEFAULT_DATABASE,
    location: str = "local",
) -> tuple[dict[str, str], bytes]:
    """Headers and protobuf body of the `written` CloudEvent Eventarc would send for a write.

    `create_time`/`update_time` describe the newest version of the document: `after`, or
    `before` for a delete. `before_update_time` is the old version's update time on an update
    (defaults to `update_time`). `time` (ce-time) defaults to `update_time`; for a delete pass
    the time it was observed. `event_id` defaults to a fresh UUID: keep the returned headers to
    retry the same event.
    """
    if before is None and after is None:
        raise ValueError("a write event needs `before`, `after` or both")
    segments = path.strip("/").split("/")
    if len(segments) % 2 or not all(segments):
        raise ValueError(f"{path!r} is not a document path (collection/id[/collection/id...])")
    path = "/".join(segments)
    database_name = f"projects/{project}/databases/{database}"
    name = f"{database_name}/documents/{path}"
    message = _EventDataPb()
    if after is not None:
        message.value.CopyFrom(_encode_document(name, after, create_time, update_time))
    if before is not None:
        old_update = update_time if after is None else (before_update_time or update_time)
        message.old_value.CopyFrom(_encode_document(name, before, create_time, old_update))
    if before is not None and after is not None:
        message.update_mask.field_paths.extend(_changed_fields(before, after))
    headers = {
        "ce-specversion": "1.0",
        "ce-id": event_id or str(uuid.uuid4()),
        "ce-source": f"//firestore.googleapis.com/{database_name}",
        "ce-type": WRITTEN_TYPE,
        "ce-subject": f"documents/{path}",
        "ce-time": _rfc3339(time or update_time),
        "ce-dataschema": DATASCHEMA,
        "ce-location": location,
        "ce-project": project,
        "ce-database": database,
        "ce-namespace": DEFAULT_DATABASE,
        "ce-document": path,
        "Content-Type": CONTENT_TYPE,
    }
    return headers, message.SerializeToString()


def _changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Top-level field names that were added, removed or changed, sorted."""
    keys = set(before) | set(after)
    return sorted(k for k in keys if k not in before or k not in after or before[k] != after[k])


def _encode_document(
    name: str, data: Mapping[str, Any], create_time: datetime, update_time: datetime
) -> Any:
    document = _DocumentPb(name=name)
    for key, value in data.items():
        document.fields[_field_name(key, "")].CopyFrom(encode_value(value, key))
    document.create_time.CopyFrom(_timestamp(create_time, "create_time"))
    document.update_time.CopyFrom(_timestamp(update_time, "update_time"))
    return document


def _field_name(key: Any, where: str) -> str:
    if not isinstance(key, str) or not key:
        raise TypeError(f"field names must be non-empty strings, got {key!r} in {where or 'doc'}")
    return key


def encode_value(value: Any, field: str = "value") -> Any:
    """A Python value (as the client returns or accepts it) → a raw Firestore `Value` protobuf."""
    pb = _ValuePb()
    if value is None:
        pb.null_value = 0
    elif isinstance(value, bool):
        pb.boolean_value = value
    elif isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"{field}: {value} does not fit a 64-bit Firestore integer")
        pb.integer_value = value
    elif isinstance(value, float):
        pb.double_value = value
    elif isinstance(value, datetime):
        pb.timestamp_value.CopyFrom(_timestamp(value, field))
    elif isinstance(value, str):
        pb.string_value = value
    elif isinstance(value, bytes | bytearray | memoryview):
        pb.bytes_value = bytes(value)
    elif isinstance(value, GeoPoint):
        pb.geo_point_value.latitude = value.latitude
        pb.geo_point_value.longitude = value.longitude
    elif getattr(value, "_document_path", None) is not None:
        pb.reference_value = value._document_path
    elif isinstance(value, list | tuple):
        pb.array_value.SetInParent()
        for index, item in enumerate(value):
            pb.array_value.values.append(encode_value(item, f"{field}[{index}]"))
    elif isinstance(value, Mapping):
        pb.map_value.SetInParent()
        for key, item in value.items():
            name = _field_name(key, field)
            pb.map_value.fields[name].CopyFrom(encode_value(item, f"{field}.{name}"))
    else:
        raise TypeError(f"{field}: cannot encode {type(value).__name__} as a Firestore value")
    return pb


def _timestamp(value: datetime, field: str) -> timestamp_pb2.Timestamp:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field}: naive datetime {value.isoformat()} needs a time zone")
    if isinstance(value, DatetimeWithNanoseconds):
        return value.timestamp_pb()
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value.astimezone(UTC))
    return stamp


def _rfc3339(value: datetime) -> str:
    return _timestamp(value, "time").ToJsonString()
