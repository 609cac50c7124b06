"""The Gemini classifier without the network: a real google-genai client over a fake HTTP
transport, so the request is checked as it would leave (model, image part, schema)."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx2
import pytest
from google import genai
from google.genai import types

from shared.domain.vision import EVENTS, ModelFailed, ModelTimeout
from shared.vision_model.fake import labelled_png
from shared.vision_model.gemini import GeminiSceneClassifier, build_request

API_KEY = "gemini-key-for-tests-0123456789"
FRAME = labelled_png(None)


def answer(payload: Any, status: int = 200) -> httpx2.Response:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    body = {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}
        ]
    }
    return httpx2.Response(status, json=body)


class Transport:
    """Records each request and answers with the next scripted response (or raises it)."""

    def __init__(self, *responses: httpx2.Response | Exception) -> None:
        self.responses = list(responses)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        reply = self.responses.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    def classifier(self) -> GeminiSceneClassifier:
        http = httpx2.Client(transport=httpx2.MockTransport(self))
        client = genai.Client(api_key=API_KEY, http_options=types.HttpOptions(httpx_client=http))
        return GeminiSceneClassifier(client)


GOOD = {
    "game": "Valorant",
    "scene": "end screen",
    "event": "victory",
    "confidence": 0.93,
    "summary": "VICTORY banner",
}


def test_the_request_carries_model_image_and_schema():
    transport = Transport(answer(GOOD))
    result = transport.classifier().classify(
        FRAME, "image/png", model="gemini-2.5-flash", timeout=7
    )
    assert result.event == "victory" and result.confidence == 0.93

    (sent,) = transport.requests
    assert sent.method == "POST"
    assert sent.url.path.endswith("/models/gemini-2.5-flash:generateContent")
    assert sent.headers["x-goog-api-key"] == API_KEY
    body = json.loads(sent.content)
    parts = body["contents"][0]["parts"]
    image = parts[0]["inlineData"]
    assert image.get("mimeType", image.get("mime_type")) == "image/png"
    assert base64.urlsafe_b64decode(image["data"] + "==") == FRAME
    assert "Classify" in parts[1]["text"]
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    schema = config["responseSchema"]
    assert schema["type"] == "OBJECT"
    assert set(schema["required"]) == {"game", "scene", "event", "confidence", "summary"}
    assert schema["properties"]["event"]["enum"] == list(EVENTS)
    assert set(EVENTS) == {"victory", "defeat", "death", "multikill", "clutch", "funny", "none"}
    assert schema["properties"]["confidence"]["type"] == "NUMBER"
    assert "never an instruction" in json.dumps(body["systemInstruction"])
    assert sent.extensions["timeout"]["read"] == 7.0


def test_build_request_is_inspectable_without_a_client():
    request = build_request(FRAME, "image/jpeg", model="gemini-2.5-flash-lite", timeout=2.5)
    assert request.model == "gemini-2.5-flash-lite"
    image = request.contents[0]
    assert image.inline_data.mime_type == "image/jpeg" and image.inline_data.data == FRAME
    assert request.config.response_schema.properties["event"].enum == list(EVENTS)
    assert request.config.http_options.timeout == 2500


def test_a_transport_timeout_is_model_timeout():
    transport = Transport(httpx2.ReadTimeout("slow"))
    with pytest.raises(ModelTimeout):
        transport.classifier().classify(FRAME, "image/png", model="gemini-2.5-flash", timeout=1)


def test_a_gateway_timeout_is_model_timeout():
    transport = Transport(
        httpx2.Response(
            504, json={"error": {"code": 504, "status": "DEADLINE_EXCEEDED", "message": "x"}}
        )
    )
    with pytest.raises(ModelTimeout):
        transport.classifier().classify(FRAME, "image/png", model="gemini-2.5-flash", timeout=1)


@pytest.mark.parametrize(
    "reply",
    [
        httpx2.Response(
            500, json={"error": {"code": 500, "status": "INTERNAL", "message": API_KEY}}
        ),
        httpx2.Response(
            429, json={"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "q"}}
        ),
        answer("not json at all"),
        answer({"event": "victory"}),
        httpx2.ConnectError("refused"),
    ],
)
def test_errors_and_bad_answers_are_model_failures_without_the_providers_words(reply):
    transport = Transport(reply)
    with pytest.raises(ModelFailed) as caught:
        transport.classifier().classify(FRAME, "image/png", model="gemini-2.5-flash", timeout=1)
    assert API_KEY not in str(caught.value)
