"""Errors inside a 200 stream: the status each dialect's error object stands for, and the client's
stream ending in its own dialect's error event with nothing after it, for every pairing."""

from __future__ import annotations

from typing import Any

import pytest

from llmswitch.dialects import gemini_response
from llmswitch.dialects import openai as openai_dialect
from llmswitch.dialects.translate import stream_translator
from llmswitch.dialects.types import StreamContext

# One event with text in each upstream dialect: what makes the client's stream start for real.
CONTENT = {
    "openai": [{"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "up",
                "choices": [{"index": 0, "delta": {"role": "assistant", "content": "part"}, "finish_reason": None}]}],
    "anthropic": [{"type": "message_start", "message": {
                      "id": "msg_1", "type": "message", "role": "assistant", "model": "up", "content": [],
                      "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 0}}},
                  {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                  {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "part"}}],
    "gemini": [{"candidates": [{"index": 0, "content": {"role": "model", "parts": [{"text": "part"}]}}]}],
}
PAIRS = [(upstream, client) for upstream in CONTENT for client in ("openai", "anthropic")]


def started(upstream: str, client: str) -> Any:
    """A translator of UPSTREAM to CLIENT that has already sent content to the client."""
    translator = stream_translator(upstream, client, StreamContext("m", include_usage=True))
    for event in CONTENT[upstream]:
        translator.feed(event)
    assert translator.saw_content
    return translator


@pytest.mark.parametrize(("upstream", "client"), PAIRS)
def test_a_failure_after_content_is_one_error_event_in_the_clients_dialect(upstream: str, client: str) -> None:
    [event] = started(upstream, client).fail(429, "rate_limit_error", "slow down")
    if client == "openai":
        assert event == {"error": {"message": "slow down", "type": "rate_limit_error", "param": None, "code": "429"}}
    else:
        assert event == {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}


@pytest.mark.parametrize(("upstream", "client"), PAIRS)
def test_nothing_follows_the_error_event_not_even_a_finish(upstream: str, client: str) -> None:
    translator = started(upstream, client)
    translator.fail(500, "api_error", "boom")
    assert translator.finish() == []


@pytest.mark.parametrize(("upstream", "word"), [("openai", "requests"), ("openai", "server_error"),
                                                ("gemini", "RESOURCE_EXHAUSTED"), ("gemini", "UNAVAILABLE")])
def test_an_anthropic_client_gets_anthropics_type_for_the_status_whatever_the_upstream_called_it(
        upstream: str, word: str) -> None:
    status = {"requests": 429, "server_error": 500, "RESOURCE_EXHAUSTED": 429, "UNAVAILABLE": 503}[word]
    [event] = started(upstream, "anthropic").fail(status, word, "x")
    assert event["error"]["type"] == {429: "rate_limit_error", 500: "api_error", 503: "overloaded_error"}[status]


# --- the status an error object inside a stream stands for ----------------------------------

@pytest.mark.parametrize(("error", "status"), [
    ({"message": "x", "type": "server_error", "param": None, "code": None}, 500),
    ({"message": "x", "type": "requests", "param": None, "code": "rate_limit_exceeded"}, 429),
    ({"message": "x", "type": "tokens", "param": None, "code": "rate_limit_exceeded"}, 429),
    ({"message": "x", "type": "insufficient_quota", "param": None, "code": "insufficient_quota"}, 429),
    ({"message": "x", "type": "invalid_request_error", "param": None, "code": "context_length_exceeded"}, 400),
    ({"message": "x", "type": "BadRequestError", "code": 400}, 400),  # vLLM: the status as an integer code
    ({"message": "x", "type": "api_error", "param": None, "code": "503"}, 503),  # llmswitch: as a string
    ({"message": "x", "type": "overloaded_error"}, 529),
    ({"message": "x"}, 500),
    ({"message": "x", "code": True}, 500),
    ({"message": "x", "code": ["not", "hashable"], "type": {"neither": 1}}, 500),
    ("a bare string", 500),
])
def test_openai_stream_error_status(error: Any, status: int) -> None:
    assert openai_dialect.error_status(error) == status


@pytest.mark.parametrize(("error", "status"), [
    ({"code": 429, "message": "x", "status": "RESOURCE_EXHAUSTED"}, 429),
    ({"code": 503, "message": "x", "status": "UNAVAILABLE"}, 503),
    ({"message": "x", "status": "UNAVAILABLE"}, 503),
    ({"message": "x", "status": "DEADLINE_EXCEEDED"}, 504),
    ({"message": "x", "status": "SOMETHING_NEW"}, 500),
    ({"code": 0, "message": "x"}, 500),
    ({"message": "x"}, 500),
    ("a bare string", 500),
])
def test_gemini_stream_error_status(error: Any, status: int) -> None:
    assert gemini_response.error_status(error) == status
