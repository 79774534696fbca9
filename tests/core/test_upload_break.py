"""A client that goes away while its upload is still being passed on to the upstream: the request is
the client's 499, and the target, which did nothing wrong, is given no failure (its health is
untouched and it serves the next request). aiohttp tells a handler of a lost connection either way:
the body being read raises ConnectionResetError, or, under `handler_cancellation` (as `llmswitch
serve` runs), the handler is cancelled; both are driven here through the pipeline and the real
upstream client, against an upstream on loopback that reads the upload as it comes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from llmswitch.config import parse_config
from llmswitch.core.operations import TRANSCRIPTION
from llmswitch.core.pipeline import Pipeline, Request
from llmswitch.core.routing import Target
from llmswitch.providers.http import HTTPClient
from llmswitch.providers.multipart import FilePart, FormField, Multipart
from llmswitch.providers.openai import OpenAIProvider
from tests.core.test_pipeline import Recorded
from tests.support.pipelines import records_of, recording_pipeline
from tests.support.servers import serve_posts

PIECE = b"\x01" * 65536
PIECES_BEFORE_THE_BREAK = 8


class Upstream:
    """Reads each upload as it arrives and answers a transcript once it is whole."""

    def __init__(self) -> None:
        self.received: list[int] = []  # bytes of each upload that arrived, whole or not

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(0)
        while chunk := await request.content.readany():
            self.received[-1] += len(chunk)
        return web.json_response({"text": "whole", "usage": {"type": "duration", "seconds": 1}})


class Form:
    """A client's form whose file is read from the client while it is sent on, and breaks as the
    client's connection does after PIECES_BEFORE_THE_BREAK pieces, unless BREAK is None."""

    file_size = 0
    file_head = b""

    def __init__(self, break_: BaseException | None) -> None:
        self.break_ = break_

    def for_model(self, model: str) -> Multipart:
        async def file() -> AsyncIterator[bytes]:
            for _ in range(PIECES_BEFORE_THE_BREAK):
                yield PIECE
                await asyncio.sleep(0.01)  # the client's pace: the upstream reads each piece meanwhile
            if self.break_ is not None:
                raise self.break_

        return Multipart([FormField("model", model), FilePart("file", "a.wav", "audio/wav", file())])


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[Upstream, str]]:
    script = Upstream()
    async with serve_posts(script.handle) as url:
        yield script, url + "/v1"


@pytest.fixture
async def pipeline(upstream: tuple[Upstream, str]) -> AsyncIterator[Pipeline]:
    config = parse_config(f"""
providers:
  up: {{type: openai, base_url: "{upstream[1]}"}}
models:
  whisper-1: [{{provider: up}}]
""")
    client = HTTPClient()
    yield recording_pipeline(config, {name: OpenAIProvider(name, provider, client)
                                   for name, provider in config.providers.items()})
    await client.close()


def transcription(break_: BaseException | None) -> Request:
    return Request(TRANSCRIPTION, "openai", Form(break_), "whisper-1", False, {}, "", "req-1", {}, object(), raw=True)


def target(pipeline: Pipeline) -> Target:
    assert pipeline.router is not None
    [only] = pipeline.router.targets["whisper-1"]
    return only


@pytest.mark.parametrize("break_", [ConnectionResetError("Connection lost"), asyncio.CancelledError()],
                         ids=["the body read raises", "the handler is cancelled"])
async def test_a_client_gone_mid_upload_is_its_499_and_no_failure_of_the_target(
        pipeline: Pipeline, upstream: tuple[Upstream, str], break_: BaseException) -> None:
    with pytest.raises(type(break_)):
        await pipeline.serve(transcription(break_), Recorded())
    script, _ = upstream
    assert 0 < script.received[0] <= PIECES_BEFORE_THE_BREAK * len(PIECE) + 1024  # it was being passed on
    [record] = records_of(pipeline)
    assert (record.deployment, record.status, record.error) == ("up/whisper-1#0", 499, "client_closed")
    health = target(pipeline).health.snapshot()
    assert (health["state"], health["error_rate"], health["in_flight"]) == ("healthy", 0.0, 0)


async def test_the_target_a_client_left_mid_upload_serves_the_next_request(pipeline: Pipeline) -> None:
    with pytest.raises(ConnectionResetError):
        await pipeline.serve(transcription(ConnectionResetError("Connection lost")), Recorded())
    out = Recorded()
    await pipeline.serve(transcription(None), out)
    assert out.complete and out.headers["x-llmswitch-attempts"] == "1"
    assert [record.status for record in records_of(pipeline)] == [499, 200]
    assert target(pipeline).health.snapshot()["error_rate"] == 0.0

