"""Test fixture: a CloudEvent function that records each decoded Firestore event as a JSON line.

Run by tests/test_trigger_relay.py with `functions-framework --target record_event`; the test
reads the file named by ECHO_EVENTS_FILE to see what the function received.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from datetime import datetime
from typing import Any

import functions_framework
from cloudevents.http import CloudEvent
from google.cloud.firestore import GeoPoint

from shared.events.firestore_document import decode_document_written

_write_lock = threading.Lock()


def _plain(value: Any) -> Any:
    """JSON for the few Firestore types json cannot write."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, GeoPoint):
        return [value.latitude, value.longitude]
    raise TypeError(f"cannot record {type(value).__name__}")


@functions_framework.cloud_event
def record_event(cloud_event: CloudEvent) -> None:
    event = decode_document_written(cloud_event)
    line = json.dumps(
        {
            "collection": event.collection,
            "id": event.document_id,
            "path": event.path,
            "kind": event.kind,
            "event_id": event.event_id,
            "time": event.time,
            "content_type": cloud_event.get("datacontenttype"),
            "changed_fields": list(event.changed_fields),
            "before": event.before,
            "after": event.after,
        },
        default=_plain,
        sort_keys=True,
    )
    with _write_lock, open(os.environ["ECHO_EVENTS_FILE"], "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
