"""JSON log lines with severity/message/context, and secrets redacted everywhere."""

from __future__ import annotations

import io
import json
import logging

import pytest

from shared.logs import REDACTED, JsonFormatter, redact, redact_value, register_secret


@pytest.fixture
def log_lines():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


def test_json_line_has_severity_message_and_context(log_lines):
    logger, lines = log_lines
    logger.warning("job %s is slow", "job_1", extra={"job_id": "job_1", "attempts": 2})
    (entry,) = lines()
    assert entry["severity"] == "WARNING"
    assert entry["message"] == "job job_1 is slow"
    assert entry["job_id"] == "job_1"
    assert entry["attempts"] == 2


def test_secrets_never_reach_a_line(log_lines):
    logger, lines = log_lines
    token = "abcd1234efgh5678ijkl"
    register_secret(token)
    logger.info(
        "calling with Authorization: Bearer zzzyyyxxx111 and %s",
        token,
        extra={
            "access_token": "plain-secret-value",
            "headers": {"Authorization": "OAuth qqqwwweee", "Client-Id": "cid"},
            "url": "https://x/token?refresh_token=rrr111&client_secret=sss222&grant_type=y",
            "note": f"token was {token}",
        },
    )
    try:
        raise RuntimeError(f"boom with {token}")
    except RuntimeError:
        logger.exception("failed")
    text = json.dumps(lines())
    for secret in (token, "zzzyyyxxx111", "plain-secret-value", "qqqwwweee", "rrr111", "sss222"):
        assert secret not in text
    first = lines()[0]
    assert first["access_token"] == REDACTED
    assert first["headers"]["Client-Id"] == "cid"
    assert "grant_type=y" in first["url"]


def test_redact_free_text():
    assert redact("Bearer abc.def-ghi-jkl") == f"Bearer {REDACTED}"
    assert redact("Invalid OAuth token") == "Invalid OAuth token"
    assert redact('{"access_token": "tok123"}') == f'{{"access_token": "{REDACTED}"}}'
    assert redact("nothing secret here") == "nothing secret here"


def test_redact_value_keeps_non_secret_numbers():
    assert redact_value({"token_count": 3, "expires_in": 60}) == {
        "token_count": 3,
        "expires_in": 60,
    }
