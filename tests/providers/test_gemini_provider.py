"""The Gemini provider against a tiny Gemini-shaped server on loopback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from llmswitch.config import DeploymentConfig, ProviderConfig
from llmswitch.providers import PROVIDER_TYPES
from llmswitch.providers.base import Timeouts, UpstreamCall, UpstreamError
from llmswitch.providers.http import HTTPClient
from llmswitch.providers.gemini import GeminiProvider
from tests.support.servers import serve_posts

ANSWER = {"candidates": [{"index": 0, "finishReason": "STOP",
                          "content": {"role": "model", "parts": [{"text": "hi"}]}}],
          "usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 1}}
CHUNKS = [{"candidates": [{"index": 0, "content": {"role": "model", "parts": [{"text": "Hel"}]}}]},
          {"candidates": [{"index": 0, "content": {"role": "model", "parts": [{"text": "lo"}]},
                           "finishReason": "STOP"}]}]


class Upstream:
    """Records what it was sent; answers like Gemini, or with Google's error shape for model `bad`."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        model, _, method = request.match_info["call"].partition(":")
        self.requests.append({"path": request.path, "model": model, "method": method,
                              "query": dict(request.query), "key": request.headers.get("x-goog-api-key"),
                              "body": await request.json()})
        if model == "bad":
            error = {"error": {"code": 400, "message": "Invalid JSON payload", "status": "INVALID_ARGUMENT"}}
            return web.json_response(error, status=400)
        if model == "listed-error":
            error = {"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}
            return web.json_response([error], status=429)
        if method == "generateContent":
            return web.json_response(ANSWER)
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        for chunk in CHUNKS:
            await response.write(b"data: " + json.dumps(chunk).encode() + b"\r\n\r\n")
        await response.write_eof()
        return response


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[Upstream, str]]:
    server = Upstream()
    async with serve_posts(server.handle, "/v1beta/models/{call}") as url:
        yield server, f"{url}/v1beta"


def make_call(model: str, stream: bool = False) -> UpstreamCall:
    return UpstreamCall(deployment=DeploymentConfig(provider="g", model=model), body={"contents": []},
                        stream=stream, api_key="goog-key", timeouts=Timeouts(5, 5, 5, 10))


def provider(base_url: str, client: HTTPClient) -> GeminiProvider:
    return GeminiProvider("g", ProviderConfig(type="gemini", base_url=base_url), client)


def test_gemini_is_a_registered_provider_type_speaking_the_gemini_dialect():
    assert PROVIDER_TYPES["gemini"] is GeminiProvider and GeminiProvider.dialect == "gemini"


async def test_complete_posts_to_generate_content_with_the_model_in_the_url(upstream, client):
    server, base_url = upstream
    reply = await provider(base_url, client).complete(make_call("gemini-2.5-flash"))
    assert reply.status == 200 and reply.body == ANSWER
    [seen] = server.requests
    assert (seen["model"], seen["method"], seen["body"]) == ("gemini-2.5-flash", "generateContent",
                                                               {"contents": []})


async def test_api_key_goes_in_the_x_goog_api_key_header(upstream, client):
    server, base_url = upstream
    await provider(base_url, client).complete(make_call("gemini-2.5-flash"))
    assert server.requests[0]["key"] == "goog-key"


async def test_stream_uses_stream_generate_content_with_alt_sse_and_yields_each_chunk(upstream, client):
    server, base_url = upstream
    stream = await provider(base_url, client).stream(make_call("gemini-2.5-flash", stream=True))
    events = [event async for batch in stream for event in batch]
    assert events == CHUNKS
    seen = server.requests[0]
    assert (seen["method"], seen["query"]) == ("streamGenerateContent", {"alt": "sse"})


async def test_google_error_body_gives_message_and_status_as_type(upstream, client):
    _, base_url = upstream
    with pytest.raises(UpstreamError) as caught:
        await provider(base_url, client).complete(make_call("bad"))
    error = caught.value
    assert (error.status, error.message) == (400, "Invalid JSON payload")
    assert error.error_type == "INVALID_ARGUMENT"


async def test_google_error_wrapped_in_a_list_is_read_the_same(upstream, client):
    _, base_url = upstream
    with pytest.raises(UpstreamError) as caught:
        await provider(base_url, client).complete(make_call("listed-error"))
    assert (caught.value.status, caught.value.message) == (429, "Quota exceeded")
    assert caught.value.not_processed


def test_a_models_prefix_in_the_deployment_model_is_not_doubled():
    config = ProviderConfig(type="gemini", base_url="https://g.test/v1beta/")
    gemini = GeminiProvider("g", config, None)  # type: ignore[arg-type]  # url() needs no client
    url = gemini.url(make_call("models/gemini-2.5-pro"))
    assert url == "https://g.test/v1beta/models/gemini-2.5-pro:generateContent"
