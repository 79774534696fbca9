"""The pipeline on its own, with no web framework around it: a `Request` and a `Responder` that records
what it is given, against an upstream on loopback. It serves any operation a provider declares an
endpoint for, whole (JSON) or passed on as bytes (audio), with failover and one usage record."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp import web

from llmswitch.config import parse_config
from llmswitch.core.operations import EMBEDDINGS, SPEECH
from llmswitch.core.pipeline import Pipeline, Request
from llmswitch.dialects import translate
from llmswitch.dialects.types import RequestOptions, ResponseContext, Translated
from llmswitch.dialects.usage import Usage
from llmswitch.errors import GatewayError
from llmswitch.providers.endpoints import Endpoint
from llmswitch.providers.http import HTTPClient
from llmswitch.providers.openai import OpenAIProvider
from tests.support.pipelines import records_of, recording_pipeline
from tests.support.servers import serve_app

AUDIO = bytes(range(256)) * 40


class Voiced(OpenAIProvider):
    """An OpenAI-style provider that also speaks (binary answers), as an audio surface would use it."""

    endpoints = OpenAIProvider.endpoints + (Endpoint("speech", "/audio/speech", answer="binary", stream="binary"),)


class Recorded:
    """A Responder that keeps what the pipeline hands it."""

    def __init__(self) -> None:
        self.body: bytes | None = None
        self.headers: dict[str, str] = {}
        self.media_type: str | None = None
        self.pieces: list[bytes] = []
        self.complete: bool | None = None

    def answer(self, body: bytes, headers: dict[str, str]) -> None:
        self.body, self.headers = body, headers

    async def open(self, headers: dict[str, str], media_type: str | None = None) -> None:
        self.headers, self.media_type = headers, media_type

    async def send(self, events: list[dict[str, Any]]) -> None:
        raise AssertionError("no events in these tests")

    async def send_bytes(self, data: bytes) -> None:
        self.pieces.append(data)

    async def finish(self, events: list[dict[str, Any]], complete: bool) -> None:
        self.complete = complete


@pytest.fixture
async def upstream() -> AsyncIterator[str]:
    """`/down/...` answers 503; `/up/...` embeds and speaks (in pieces)."""
    async def handle(request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/down"):
            return web.json_response({"error": {"message": "busy", "type": "server_error"}}, status=503)
        body = await request.json()
        if request.path.endswith("/embeddings"):
            return web.json_response({"object": "list", "model": body["model"], "usage": {"prompt_tokens": 2},
                                      "data": [{"object": "embedding", "index": 0, "embedding": [0.5, 0.25]}]})
        response = web.StreamResponse(headers={"content-type": "audio/mpeg"})
        await response.prepare(request)
        for start in range(0, len(AUDIO), 1000):
            await response.write(AUDIO[start:start + 1000])
            await asyncio.sleep(0.01)  # each piece on its own: the gateway must not wait for the whole
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    async with serve_app(app) as url:
        yield url


@pytest.fixture
async def pipeline(upstream: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Pipeline]:
    def speech_request(body: dict[str, Any], options: RequestOptions) -> Translated:
        return Translated({**body, "model": options.upstream_model})

    def unread(body: dict[str, Any], ctx: ResponseContext) -> tuple[dict[str, Any], None]:
        return body, None

    monkeypatch.setitem(translate._REQUESTS, ("speech", "openai", "openai"), speech_request)
    monkeypatch.setitem(translate._RESPONSES, ("speech", "openai", "openai"), unread)
    monkeypatch.setattr(translate, "_derived", {})
    config = parse_config(f"""
providers:
  down: {{type: openai, base_url: "{upstream}/down/v1"}}
  up: {{type: openai, base_url: "{upstream}/up/v1"}}
models:
  embed: [{{provider: down, priority: 0, model: e}}, {{provider: up, priority: 1, model: e}}]
  voice: [{{provider: down, priority: 0, model: v}}, {{provider: up, priority: 1, model: v}}]
""")
    client = HTTPClient()
    providers = {name: Voiced(name, provider, client) for name, provider in config.providers.items()}
    yield recording_pipeline(config, providers)
    await client.close()



def request(operation: Any, body: dict[str, Any], headers: dict[str, str] | None = None, **fields: Any) -> Request:
    return Request(operation, "openai", body, body["model"], False, headers or {}, "", "req-1", {}, object(), **fields)


async def test_an_operation_is_served_whole_after_failing_over(pipeline: Pipeline) -> None:
    out = Recorded()
    await pipeline.serve(request(EMBEDDINGS, {"model": "embed", "input": "x"}, prompt_estimate=1), out)
    assert out.body is not None and orjson.loads(out.body)["data"][0]["embedding"] == [0.5, 0.25]
    assert (out.headers["x-llmswitch-attempts"], out.headers["x-llmswitch-provider"]) == ("2", "up")
    [record] = records_of(pipeline)
    assert (record.model, record.deployment, record.status, record.input_tokens, record.attempts) == \
        ("embed", "up/e#0", 200, 2, 2)


async def test_a_binary_answer_is_passed_on_in_pieces_with_its_media_type_and_metered(pipeline: Pipeline) -> None:
    out = Recorded()
    body = {"model": "voice", "input": "hello there", "voice": "alloy"}
    await pipeline.serve(request(SPEECH, body, raw=True, known_usage=Usage(characters=11)), out)
    assert (out.media_type, out.complete) == ("audio/mpeg", True)
    assert b"".join(out.pieces) == AUDIO and len(out.pieces) > 1
    assert out.headers["x-llmswitch-provider"] == "up"
    [record] = records_of(pipeline)
    assert (record.model, record.status, record.characters, record.operation) == ("voice", 200, 11, "speech")


async def test_a_request_refused_before_admission_leaves_a_record_naming_why(pipeline: Pipeline) -> None:
    with pytest.raises(GatewayError):
        await pipeline.serve(request(EMBEDDINGS, {"model": "no-such-model", "input": "x"}), Recorded())
    [record] = records_of(pipeline)
    assert (record.model, record.status, record.error, record.attempts, record.provider) == \
        ("no-such-model", 404, "not_found", 0, "")


async def test_a_record_carries_the_time_to_the_first_byte_and_the_client(pipeline: Pipeline) -> None:
    req = request(EMBEDDINGS, {"model": "embed", "input": "x"}, headers={"user-agent": "sdk/1.0"})
    req.client_ip = "127.0.0.9"
    await pipeline.serve(req, Recorded())
    [record] = records_of(pipeline)
    assert record.ttft_ms is not None and 0 < record.ttft_ms <= record.latency_ms
    assert (record.client_ip, record.user_agent, record.error, record.stream) == ("127.0.0.9", "sdk/1.0", "", False)
