"""How every process reaches Firestore: the real client, pointed at the emulator by env."""

from __future__ import annotations

import os
from functools import lru_cache

from google.cloud import firestore

LOCAL_PROJECT = "byte-clips-local"


def project_id() -> str:
    """`GOOGLE_CLOUD_PROJECT`; on the emulator a local default keeps set-up to one variable."""
    project = os.environ.get("GOOGLE_CLOUD_PROJECT", "").strip()
    if project:
        return project
    if os.environ.get("FIRESTORE_EMULATOR_HOST"):
        return LOCAL_PROJECT
    raise RuntimeError(
        "GOOGLE_CLOUD_PROJECT is not set: set it to your Google Cloud project id, "
        "or set FIRESTORE_EMULATOR_HOST to use a local emulator"
    )


def make_client(project: str | None = None) -> firestore.Client:
    return firestore.Client(project=project or project_id())


@lru_cache(maxsize=1)
def default_client() -> firestore.Client:
    """One pooled client per process (gRPC channels are expensive to open)."""
    return make_client()
