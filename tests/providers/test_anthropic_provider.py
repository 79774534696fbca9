"""The Anthropic provider against a tiny local server that speaks Anthropic's wire format."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from llmswitch.config import DeploymentConfig, ProviderConfig
from llmswitch.providers import PROVIDER_TYPES
from llmswitch.providers.anthropic import AnthropicProvider
from llmswitch.providers.base import Timeouts, UpstreamCall, UpstreamError
from llmswitch.providers.http import HTTPClient
from tests.support.servers import serve_posts

MESSAGE = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-up",
           "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn", "stop_sequence": None,
           "usage": {"input_tokens": 3, "output_tokens": 1}}

STREAM = (b"event: message_start\ndata: " + json.dumps({"type": "message_start", "message": MESSAGE}).encode()
          + b"\n\nevent: ping\ndata: {\"type\": \"ping\"}\n\n: comment\n\n"
          + b"event: message_stop\r\ndata: {\"type\": \"message_stop\"}\r\n\r\n")

OVERLOADED = (b"event: message_start\ndata: " + json.dumps({"type": "message_start", "message": MESSAGE}).encode()
              + b"\n\nevent: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\","
              + b" \"message\": \"Overloaded\"}}\n\n")


class Upstream:
    """Records each request and answers from a script keyed by path."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.stream_body = STREAM

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append({"path": request.path, "query": request.query_string,
                              "headers": dict(request.headers), "body": body})
        if body.get("model") == "missing":
            return web.json_response({"type": "error", "error": {"type": "not_found_error",
                                                                  "message": "model: missing"}}, status=404)
        if request.path.endswith("/count_tokens"):
            return web.json_response({"input_tokens": 42})
        if body.get("stream"):
            response = web.StreamResponse(headers={"content-type": "text/event-stream"})
            await response.prepare(request)
            await response.write(self.stream_body)
            return response
        return web.json_response(MESSAGE)


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[Upstream, str]]:
    script = Upstream()
    async with serve_posts(script.handle) as url:
        yield script, f"{url}/prefix"


def make_call(body: dict[str, Any], *, stream: bool = False, headers: dict[str, str] | None = None,
              query: str = "") -> UpstreamCall:
    return UpstreamCall(deployment=DeploymentConfig(provider="anthropic"), body=body, stream=stream,
                        api_key="sk-ant-test", timeouts=Timeouts(connect=2, first_byte=5, idle=5, total=10),
                        headers=headers or {}, query=query)


def provider(base_url: str, client: HTTPClient) -> AnthropicProvider:
    return AnthropicProvider("anthropic", ProviderConfig(type="anthropic", base_url=base_url,
                                                         anthropic_version="2023-06-01"), client)


def test_anthropic_is_a_registered_provider_type_speaking_the_anthropic_dialect():
    assert PROVIDER_TYPES["anthropic"] is AnthropicProvider
    assert AnthropicProvider.dialect == "anthropic"


async def test_posts_to_v1_messages_under_the_base_url_with_key_and_version(upstream, client):
    script, base = upstream
    reply = await provider(base, client).complete(make_call({"model": "claude-up"}))
    sent = script.requests[0]
    assert reply.body == MESSAGE
    assert sent["path"] == "/prefix/v1/messages"
    assert sent["headers"]["x-api-key"] == "sk-ant-test"
    assert sent["headers"]["anthropic-version"] == "2023-06-01"


async def test_the_clients_query_string_and_forwarded_headers_win(upstream, client):
    script, base = upstream
    headers = {"anthropic-version": "2024-01-01", "anthropic-beta": "context-management-2025-06-27"}
    await provider(base, client).complete(make_call({"model": "m"}, headers=headers, query="beta=true"))
    sent = script.requests[0]
    assert sent["query"] == "beta=true"
    assert sent["headers"]["anthropic-version"] == "2024-01-01"
    assert sent["headers"]["anthropic-beta"] == "context-management-2025-06-27"


async def test_stream_frames_become_event_dicts_with_pings_passed_through(upstream, client):
    _, base = upstream
    stream = await provider(base, client).stream(make_call({"model": "m", "stream": True}, stream=True))
    events = [event async for batch in stream for event in batch]
    assert [event["type"] for event in events] == ["message_start", "ping", "message_stop"]


async def test_an_error_event_mid_stream_raises_with_the_status_anthropic_pairs_with_it(upstream, client):
    script, base = upstream
    script.stream_body = OVERLOADED
    stream = await provider(base, client).stream(make_call({"model": "m", "stream": True}, stream=True))
    with pytest.raises(UpstreamError) as caught:
        [event async for batch in stream for event in batch]
    assert (caught.value.status, caught.value.error_type, caught.value.message) == (529, "overloaded_error",
                                                                                    "Overloaded")


async def test_an_error_answer_keeps_anthropics_message_and_type(upstream, client):
    _, base = upstream
    with pytest.raises(UpstreamError) as caught:
        await provider(base, client).complete(make_call({"model": "missing"}))
    assert (caught.value.status, caught.value.message, caught.value.error_type) == (404, "model: missing",
                                                                                    "not_found_error")


async def test_count_tokens_posts_to_its_own_endpoint_with_the_query(upstream, client):
    script, base = upstream
    anthropic = provider(base, client)
    call = make_call({"model": "m", "messages": []}, query="beta=true")
    call.endpoint = anthropic.endpoint("count_tokens")
    counted = await anthropic.complete(call)
    assert counted.body == {"input_tokens": 42}
    assert (script.requests[0]["path"], script.requests[0]["query"]) == ("/prefix/v1/messages/count_tokens",
                                                                         "beta=true")
