"""A provider declares its endpoints per operation; the shared machinery sends any method and body
kind to them and reads JSON, SSE or a binary stream back. Against an aiohttp server on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from llmswitch.config import DeploymentConfig, ProviderConfig
from llmswitch.providers.anthropic import AnthropicProvider
from llmswitch.providers.base import Provider, Timeouts, UpstreamBytes, UpstreamCall, UpstreamStream
from llmswitch.providers.endpoints import Endpoint
from llmswitch.providers.gemini import GeminiProvider
from llmswitch.providers.http import HTTPClient
from llmswitch.providers.multipart import FilePart, FormField, Multipart
from llmswitch.providers.openai import OpenAIProvider
from tests.support.servers import serve_app

LIMITS = Timeouts(connect=2, first_byte=5, idle=5, total=10)
AUDIO = bytes(range(256)) * 64


class Recorder:
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        entry: dict[str, Any] = {"method": request.method, "path": request.path, "headers": dict(request.headers)}
        if request.content_type == "multipart/form-data":
            form = await request.post()
            entry["form"] = {k: v.file.read() if isinstance(v, web.FileField) else v for k, v in form.items()}
        else:
            entry["body"] = await request.read()
        self.seen.append(entry)
        if request.path.endswith("/speech"):
            response = web.StreamResponse(headers={"content-type": "audio/mpeg"})
            await response.prepare(request)
            for start in range(0, len(AUDIO), 4096):
                await response.write(AUDIO[start:start + 4096])
            await response.write_eof()
            return response
        return web.json_response({"ok": request.path})


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[Recorder, str]]:
    recorder = Recorder()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", recorder.handle)
    async with serve_app(app) as url:
        yield recorder, url


def call(provider: Provider, operation: str, body: Any, model: str = "up", dialect: str | None = None,
         stream: bool = False) -> UpstreamCall:
    return UpstreamCall(DeploymentConfig(provider="p", model=model), body, stream, "key-1", LIMITS,
                        endpoint=provider.endpoint(operation, dialect))


class Audio(OpenAIProvider):
    """An OpenAI-style provider with the audio endpoints an audio surface would use."""

    endpoints = OpenAIProvider.endpoints + (
        Endpoint("transcription", "/audio/transcriptions", body="multipart"),
        Endpoint("speech", "/audio/speech", answer="binary", stream="binary"),
        Endpoint("models", "/models", method=b"GET", body="none"),
    )


async def test_an_openai_compatible_server_gets_embeddings_at_its_path(upstream: Any, client: HTTPClient) -> None:
    recorder, url = upstream
    provider = OpenAIProvider("o", ProviderConfig(type="openai", base_url=f"{url}/v1/"), client)
    reply = await provider.complete(call(provider, "embeddings", {"model": "up", "input": "x"}))
    assert reply.body == {"ok": "/v1/embeddings"}
    assert recorder.seen[0]["headers"]["Authorization"] == "Bearer key-1"


@pytest.mark.parametrize(("body", "method"), [
    ({"model": "models/up", "content": {"parts": [{"text": "a"}]}}, "embedContent"),
    ({"requests": [{"model": "models/up", "content": {"parts": [{"text": "a"}]}}]}, "batchEmbedContents"),
])
async def test_gemini_embeds_one_input_or_a_batch_at_the_method_for_it(upstream: Any, client: HTTPClient,
                                                                       body: dict[str, Any], method: str) -> None:
    recorder, url = upstream
    provider = GeminiProvider("g", ProviderConfig(type="gemini", base_url=f"{url}/v1beta"), client)
    await provider.complete(call(provider, "embeddings", body, model="models/text-embedding-004"))
    assert recorder.seen[0]["path"] == f"/v1beta/models/text-embedding-004:{method}"
    assert recorder.seen[0]["headers"]["x-goog-api-key"] == "key-1"


async def test_a_bodiless_endpoint_is_sent_its_method_without_body_or_content_type(upstream: Any,
                                                                                   client: HTTPClient) -> None:
    recorder, url = upstream
    provider = Audio("a", ProviderConfig(type="openai", base_url=url), client)
    await provider.complete(call(provider, "models", None))
    sent = recorder.seen[0]
    assert (sent["method"], sent["path"], sent["body"]) == ("GET", "/models", b"")
    assert "Content-Type" not in sent["headers"]


async def test_a_multipart_endpoint_receives_the_form_with_its_boundary(upstream: Any, client: HTTPClient) -> None:
    recorder, url = upstream

    async def upload() -> AsyncIterator[bytes]:
        yield AUDIO[:100]
        yield AUDIO[100:]

    provider = Audio("a", ProviderConfig(type="openai", base_url=url), client)
    form = Multipart([FormField("model", "whisper-1"), FilePart("file", "a.wav", "audio/wav", upload())])
    await provider.complete(call(provider, "transcription", form))
    assert recorder.seen[0]["form"] == {"model": "whisper-1", "file": AUDIO}
    assert recorder.seen[0]["headers"]["Content-Type"] == form.content_type


async def test_a_binary_answer_is_passed_on_in_pieces_as_it_arrives(upstream: Any, client: HTTPClient) -> None:
    _, url = upstream
    provider = Audio("a", ProviderConfig(type="openai", base_url=url), client)
    answer = await provider.open(call(provider, "speech", {"model": "tts-1", "input": "hi", "voice": "alloy"}))
    chunks = [chunk async for chunk in answer.chunks]
    assert (answer.status, answer.content_type) == (200, "audio/mpeg")
    assert b"".join(chunks) == AUDIO


async def test_a_stream_a_bytes_endpoint_answers_with_json_is_passed_on_as_those_bytes(
        upstream: Any, client: HTTPClient) -> None:
    _, url = upstream
    provider = OpenAIProvider("o", ProviderConfig(type="openai", base_url=url + "/v1"), client)
    form = Multipart([FormField("model", "whisper-1"), FormField("stream", "true"), FormField("file", "x")])
    answer = await provider.stream(call(provider, "transcription", form, stream=True))
    assert isinstance(answer, UpstreamBytes) and answer.content_type.startswith("application/json")
    assert b"".join([chunk async for chunk in answer.chunks]) == b'{"ok": "/v1/audio/transcriptions"}'


async def test_a_chat_stream_answered_with_json_is_still_read_as_events(upstream: Any, client: HTTPClient) -> None:
    _, url = upstream
    provider = OpenAIProvider("o", ProviderConfig(type="openai", base_url=url + "/v1"), client)
    answer = await provider.stream(call(provider, "chat", {"model": "up", "messages": [], "stream": True}, stream=True))
    assert isinstance(answer, UpstreamStream)
    answer.close()


def test_a_provider_serves_an_operation_in_the_clients_dialect_where_it_can() -> None:
    class Both(OpenAIProvider):
        endpoints = OpenAIProvider.endpoints + (Endpoint("chat", "/responses", stream="sse", dialect="responses"),)

    both = Both("b", ProviderConfig(type="openai", base_url="http://b.test"), None)  # type: ignore[arg-type]
    assert both.endpoint("chat", "responses").path == "/responses"  # type: ignore[union-attr]
    assert both.endpoint("chat", "anthropic").path == "/chat/completions"  # type: ignore[union-attr]
    anthropic = AnthropicProvider("a", ProviderConfig(type="anthropic"), None)  # type: ignore[arg-type]
    assert anthropic.endpoint("embeddings") is None
    assert anthropic.endpoint("count_tokens").path == "/v1/messages/count_tokens"  # type: ignore[union-attr]
