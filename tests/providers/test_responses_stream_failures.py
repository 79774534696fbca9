"""A Responses API stream reports its failures as events of their own (`response.failed`, `error` with
its code at the top level, no `error` key): the provider fails the attempt with the status the code
stands for, after relaying what came before, and only on endpoints that speak Responses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmswitch.config import DeploymentConfig, ProviderConfig
from llmswitch.providers.base import Timeouts, UpstreamCall, UpstreamError
from llmswitch.providers.http import HTTPClient
from llmswitch.providers.openai import OpenAIProvider
from tests.support.streams import ScriptedStream, relayed

KEY = "sk-upstream-0123456789abcdefghij"
CONTENT = {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0, "content_index": 0,
           "delta": "part", "sequence_number": 3}


def event(obj: dict[str, Any]) -> bytes:
    return b"event: " + obj["type"].encode() + b"\ndata: " + json.dumps(obj).encode() + b"\n\n"


def failed(code: str | None, message: str = "it broke") -> dict[str, Any]:
    return {"type": "response.failed", "sequence_number": 9,
            "response": {"id": "resp_1", "object": "response", "status": "failed",
                         "error": {"code": code, "message": message}}}


async def read(scripted: tuple[ScriptedStream, str], client: HTTPClient, body: bytes,
               dialect: str = "responses") -> tuple[list[dict[str, Any]], UpstreamError | None]:
    script, url = scripted
    script.body = body
    provider = OpenAIProvider("o", ProviderConfig(type="openai", base_url=url + "/v1"), client)
    call = UpstreamCall(DeploymentConfig(provider="o", model="m"), {"model": "m", "stream": True}, True, KEY,
                        Timeouts(connect=2, first_byte=5, idle=5, total=10), endpoint=provider.endpoint("chat", dialect))
    return await relayed(provider, call)


@pytest.mark.parametrize(("code", "status"), [("rate_limit_exceeded", 429), ("invalid_prompt", 400),
                                              ("server_error", 500), (None, 500)])
async def test_response_failed_fails_the_stream_with_the_status_of_its_code(code, status, scripted, client):
    events, error = await read(scripted, client, event(CONTENT) + event(failed(code)))
    assert events == [CONTENT]
    assert error is not None and (error.kind, error.status, error.message) == ("http", status, "it broke")


async def test_an_error_event_fails_the_stream_before_the_failed_response_that_follows(scripted, client):
    error_event = {"type": "error", "code": "rate_limit_exceeded", "message": "slow down", "param": None,
                   "sequence_number": 4}
    events, error = await read(scripted, client, event(CONTENT) + event(error_event) + event(failed("server_error")))
    assert events == [CONTENT]
    assert error is not None and (error.status, error.message, error.error_type) == (429, "slow down",
                                                                                     "rate_limit_exceeded")
    assert error.not_processed


async def test_the_failure_text_is_scrubbed_of_the_key_the_attempt_sent(scripted, client):
    _, error = await read(scripted, client, event(failed("server_error", f"Incorrect API key provided: {KEY}")))
    assert error is not None and KEY not in error.message and KEY not in json.dumps(error.body)


async def test_a_chat_completions_stream_is_not_read_for_responses_events(scripted, client):
    chunk = {"id": "c", "object": "chat.completion.chunk", "type": "error", "choices": []}
    events, error = await read(scripted, client, b"data: " + json.dumps(chunk).encode() + b"\n\n", dialect="openai")
    assert error is None and events == [chunk]
