"""The pipeline's byte relay (audio) on its own: the first piece is read within the attempt, so an
upstream that sends its headers and breaks before any byte moves on to the next target; what a relayed
transcript says it used is billed; a request that ends before its answer is billed what it said it uses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from llmswitch.config import parse_config
from llmswitch.core.metering import Meter
from llmswitch.core.operations import SPEECH
from llmswitch.core.pipeline import Pipeline, Request
from llmswitch.dialects.usage import Usage
from llmswitch.providers.http import HTTPClient
from llmswitch.providers.openai import OpenAIProvider
from tests.core.test_pipeline import Recorded
from tests.support.pipelines import records_of, recording_pipeline
from tests.support.servers import serve_app

AUDIO = bytes(range(256)) * 20


@pytest.fixture
async def headers_then_nothing() -> AsyncIterator[str]:
    """An upstream that answers 200 with an audio media type, then closes before the first byte."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length"))
        await reader.readexactly(length)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: audio/mpeg\r\ntransfer-encoding: chunked\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"


@pytest.fixture
async def speaker() -> AsyncIterator[str]:
    async def handle(request: web.Request) -> web.Response:
        return web.Response(body=AUDIO, content_type="audio/mpeg")

    app = web.Application()
    app.router.add_post("/v1/audio/speech", handle)
    async with serve_app(app) as url:
        yield url + "/v1"


@pytest.fixture
async def pipeline(headers_then_nothing: str, speaker: str) -> AsyncIterator[Pipeline]:
    config = parse_config(f"""
providers:
  breaks: {{type: openai, base_url: "{headers_then_nothing}"}}
  speaks: {{type: openai, base_url: "{speaker}"}}
models:
  voice: [{{provider: breaks, priority: 0, model: tts-1}}, {{provider: speaks, priority: 1, model: tts-1}}]
""")
    client = HTTPClient()
    providers = {name: OpenAIProvider(name, provider, client) for name, provider in config.providers.items()}
    yield recording_pipeline(config, providers)
    await client.close()



def speech(body: dict[str, Any]) -> Request:
    return Request(SPEECH, "openai", body, body["model"], False, {}, "", "req-1", {}, object(), raw=True,
                   known_usage=Usage(characters=len(body["input"])))


async def test_an_upstream_that_breaks_before_its_first_byte_passes_the_call_on(pipeline: Pipeline) -> None:
    out = Recorded()
    await pipeline.serve(speech({"model": "voice", "input": "hello", "voice": "alloy"}), out)
    assert b"".join(out.pieces) == AUDIO and out.complete
    assert (out.headers["x-llmswitch-attempts"], out.headers["x-llmswitch-provider"]) == ("2", "speaks")
    [record] = records_of(pipeline)
    assert (record.deployment, record.status, record.characters, record.attempts) == ("speaks/tts-1#0", 200, 5, 2)


def test_a_request_ended_while_its_upstream_worked_is_billed_the_units_it_said_it_uses() -> None:
    meter = Meter(prompt_estimate=0, reserved_output=0, usage=Usage(audio_seconds=12.5, estimated=True))
    meter.trying(object())  # type: ignore[arg-type]
    meter.interrupted(499)
    billed = meter.bill()
    assert billed == Usage(audio_seconds=12.5) and billed is not None and billed.estimated
