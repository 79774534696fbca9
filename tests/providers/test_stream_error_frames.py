"""An upstream that answers 200 and then reports an error inside the stream fails the attempt like an
HTTP error of that status, in every provider dialect; whatever came before the error is still relayed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmswitch.config import DeploymentConfig, ProviderConfig
from llmswitch.providers import PROVIDER_TYPES
from llmswitch.providers.base import Provider, Timeouts, UpstreamCall, UpstreamError
from llmswitch.providers.http import HTTPClient
from tests.support.streams import ScriptedStream, relayed

KEY = "sk-upstream-0123456789abcdefghij"  # the key the attempt carries, echoed by a careless upstream
BASE = {"openai": "/v1", "anthropic": "", "gemini": "/v1beta"}


def data(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def event(obj: dict[str, Any]) -> bytes:
    return b"event: " + obj["type"].encode() + b"\n" + data(obj)


# Per dialect: one frame of content, and an error frame in the shape the real API sends it.
CONTENT = {
    "openai": data({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                    "choices": [{"index": 0, "delta": {"content": "part"}, "finish_reason": None}]}),
    "anthropic": event({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "part"}}),
    "gemini": data({"candidates": [{"index": 0, "content": {"role": "model", "parts": [{"text": "part"}]}}]}),
}
ERRORS = {
    "openai": (data({"error": {"message": f"Incorrect API key provided: {KEY}", "type": "requests",
                               "param": None, "code": "rate_limit_exceeded"}}), 429, "requests"),
    "anthropic": (event({"type": "error", "error": {"type": "rate_limit_error",
                                                    "message": f"Incorrect API key provided: {KEY}"}}),
                  429, "rate_limit_error"),
    "gemini": (data({"error": {"code": 429, "message": f"Incorrect API key provided: {KEY}",
                               "status": "RESOURCE_EXHAUSTED"}}), 429, "RESOURCE_EXHAUSTED"),
}
KINDS = tuple(CONTENT)


def provider(kind: str, url: str, client: HTTPClient) -> Provider:
    return PROVIDER_TYPES[kind](kind, ProviderConfig(type=kind, base_url=url + BASE[kind]), client)


async def read(kind: str, scripted: tuple[ScriptedStream, str], client: HTTPClient,
               body: bytes) -> tuple[list[dict[str, Any]], UpstreamError | None]:
    """The events the provider yielded for BODY, and the error it raised after them, if any."""
    script, url = scripted
    script.body = body
    call = UpstreamCall(DeploymentConfig(provider=kind, model="m"), {"model": "m", "stream": True}, True, KEY,
                        Timeouts(connect=2, first_byte=5, idle=5, total=10))
    return await relayed(provider(kind, url, client), call)


@pytest.mark.parametrize("kind", KINDS)
async def test_an_error_frame_fails_the_stream_with_the_status_it_stands_for(kind, scripted, client):
    frame, status, error_type = ERRORS[kind]
    events, error = await read(kind, scripted, client, frame)
    assert events == []
    assert error is not None
    assert (error.kind, error.status, error.error_type) == ("http", status, error_type)
    assert error.not_processed  # a 429: the next target may be tried whatever retry_unsafe says


@pytest.mark.parametrize("kind", KINDS)
async def test_the_content_before_an_error_frame_in_the_same_read_is_still_relayed(kind, scripted, client):
    events, error = await read(kind, scripted, client, CONTENT[kind] + ERRORS[kind][0] + CONTENT[kind])
    assert len(events) == 1 and "error" not in events[0]
    assert error is not None and error.status == 429


@pytest.mark.parametrize("kind", KINDS)
async def test_the_error_text_is_scrubbed_of_the_key_the_attempt_sent(kind, scripted, client):
    _, error = await read(kind, scripted, client, ERRORS[kind][0])
    assert error is not None
    assert error.message.startswith("Incorrect API key provided")
    assert KEY not in error.message and KEY not in json.dumps(error.body)


@pytest.mark.parametrize("kind", KINDS)
async def test_an_error_frame_the_upstream_closed_without_a_blank_line_still_fails(kind, scripted, client):
    events, error = await read(kind, scripted, client, CONTENT[kind] + ERRORS[kind][0].rstrip(b"\n"))
    assert len(events) == 1
    assert error is not None and error.status == 429


@pytest.mark.parametrize(("kind", "frame", "status"), [
    ("openai", data({"error": {"message": "The server had an error", "type": "server_error", "param": None,
                               "code": None}}), 500),
    ("openai", data({"error": {"object": "error", "message": "bad", "type": "BadRequestError", "code": 400}}), 400),
    ("openai", data({"error": "overloaded"}), 500),
    ("anthropic", event({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}), 529),
    ("anthropic", b"event: error\ndata: {\"type\": \"error\"}\n\n", 500),
    ("gemini", data({"error": {"code": 503, "message": "high demand", "status": "UNAVAILABLE"}}), 503),
    ("gemini", data({"error": {"message": "gone", "status": "INTERNAL"}}), 500),
], ids=["openai-server_error", "openai-vllm-code", "openai-string", "anthropic-overloaded", "anthropic-bare",
        "gemini-503", "gemini-status-only"])
async def test_each_dialects_error_shapes_give_their_status(kind, frame, status, scripted, client):
    _, error = await read(kind, scripted, client, frame)
    assert error is not None and error.status == status


@pytest.mark.parametrize("kind", KINDS)
async def test_an_error_type_that_is_not_a_string_is_dropped_not_carried(kind, scripted, client):
    error = {"type": {"odd": 1}, "status": ["odd"], "message": "strange"}
    frame = event({"type": "error", "error": error}) if kind == "anthropic" else data({"error": error})
    _, failure = await read(kind, scripted, client, frame)
    assert failure is not None and (failure.message, failure.error_type) == ("strange", None)


@pytest.mark.parametrize("kind", ["openai", "gemini"])
async def test_a_chunk_whose_error_field_is_empty_is_not_an_error(kind, scripted, client):
    chunk = json.loads(CONTENT[kind][len(b"data: "):])
    events, error = await read(kind, scripted, client, data({**chunk, "error": None}))
    assert error is None and len(events) == 1
