"""Every answer carries `x-request-id`, and the CORS headers of an allowed origin, streamed answers
included: their headers go out before the handler returns, so they open with them. Checked with the
official SDKs' streaming responses against the fake upstream (real processes, open mode)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from tests.support.fake import say, tag
from tests.support.processes import Process, start_fake_upstream, start_gateway

ORIGIN = "https://app.example"


@pytest.fixture(scope="module")
def gateway() -> Iterator[Process]:
    with start_fake_upstream(name="headers") as fake:
        config = {
            "server": {"cors_origins": [ORIGIN]},
            "providers": {"oai": {"type": "openai", "base_url": f"{fake.url}/v1", "api_keys": ["oai-headers-0001"]},
                          "claude": {"type": "anthropic", "base_url": fake.url, "api_keys": ["claude-headers-0002"]}},
            "models": {"gpt": [{"provider": "oai", "model": "gpt-up"}],
                       "claude": [{"provider": "claude", "model": "claude-up"}],
                       "tts-1": [{"provider": "oai"}]},
        }
        with start_gateway(config) as process:
            yield process


def openai_client(gateway: Process, **headers: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="x", max_retries=0, timeout=20,
                         default_headers=headers)


def chat_stream(client: openai.OpenAI) -> Any:
    return client.chat.completions.with_streaming_response.create(model="gpt", messages=say(tag()), stream=True)


def test_a_chat_stream_carries_a_request_id(gateway: Process) -> None:
    with chat_stream(openai_client(gateway)) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-request-id"].startswith("req_")
        assert any("[DONE]" in line for line in response.iter_lines())


def test_a_chat_stream_carries_the_clients_own_request_id(gateway: Process) -> None:
    with chat_stream(openai_client(gateway, **{"x-request-id": "trace-stream-1"})) as response:
        assert response.headers["x-request-id"] == "trace-stream-1"


def test_an_anthropic_messages_stream_carries_a_request_id(gateway: Process) -> None:
    client = anthropic.Anthropic(base_url=gateway.url, api_key="x", max_retries=0, timeout=20)
    with client.messages.with_streaming_response.create(model="claude", max_tokens=64, messages=say(tag()),
                                                        stream=True) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-request-id"].startswith("req_")
        assert any("message_stop" in line for line in response.iter_lines())


def test_a_responses_stream_carries_a_request_id(gateway: Process) -> None:
    with openai_client(gateway).responses.with_streaming_response.create(model="gpt", input=tag(),
                                                                         stream=True) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-request-id"].startswith("req_")
        assert any("response.completed" in line for line in response.iter_lines())


def test_a_speech_byte_stream_carries_a_request_id(gateway: Process) -> None:
    with openai_client(gateway).audio.speech.with_streaming_response.create(
            model="tts-1", voice="alloy", input="Headers first.", response_format="wav") as response:
        assert response.headers["content-type"] == "audio/wav"
        assert response.headers["x-request-id"].startswith("req_")
        assert b"".join(response.iter_bytes()).startswith(b"RIFF")


def test_a_stream_carries_the_cors_headers_of_an_allowed_origin(gateway: Process) -> None:
    with chat_stream(openai_client(gateway, origin=ORIGIN)) as response:
        assert response.headers["access-control-allow-origin"] == ORIGIN
        assert response.headers["access-control-expose-headers"] == "*"
