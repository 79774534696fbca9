"""The Gemini dialect, driven with raw HTTP as the gateway's provider sends it."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tests.fake_upstream.conftest import say

pytestmark = pytest.mark.timeout(10)

KEY = {"x-goog-api-key": "x"}


async def call(fake, body: dict[str, Any], *, stream: bool = False, headers: dict[str, str] = KEY,
               model: str = "gemini-x") -> tuple[int, Any]:
    """Non-stream: (status, JSON body). Stream: (status, list of the data frames' JSON)."""
    method = "streamGenerateContent?alt=sse" if stream else "generateContent"
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{fake.url}/v1beta/models/{model}:{method}", json=body, headers=headers) as r:
            if not stream or r.status != 200:
                return r.status, await r.json()
            text = await r.text()
    frames = [f for f in text.split("\n\n") if f]
    assert all(f.startswith("data: ") and "\n" not in f for f in frames)
    return r.status, [json.loads(f[len("data: "):]) for f in frames]


def user(text: str) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}]}


def parts(response: dict[str, Any]) -> list[dict[str, Any]]:
    return response["candidates"][0]["content"]["parts"]


async def test_generate_content_echoes_the_last_user_message(fake):
    status, body = await call(fake, user("hello there"))
    assert status == 200
    assert parts(body) == [{"text": "You said: hello there"}]
    assert body["candidates"][0]["finishReason"] == "STOP"
    assert body["modelVersion"] == "gemini-x"


async def test_usage_metadata_counts_prompt_and_candidates(fake):
    _, body = await call(fake, user("x" * 40))
    usage = body["usageMetadata"]
    assert usage["promptTokenCount"] == 10
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["candidatesTokenCount"]


async def test_stream_frames_are_whole_responses_without_a_terminator(fake):
    _, frames = await call(fake, user(say("abc", chunks=3)), stream=True)
    assert "".join(parts(f)[0]["text"] for f in frames) == "You said: abc"
    assert len(frames) == 3
    assert [f["candidates"][0].get("finishReason") for f in frames] == [None, None, "STOP"]


async def test_parallel_function_calls_arrive_together_in_one_frame(fake):
    text = say(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_time"}])
    _, frames = await call(fake, user(text), stream=True)
    assert parts(frames[-1]) == [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
                                 {"functionCall": {"name": "get_time", "args": {}}}]
    assert frames[-1]["candidates"][0]["finishReason"] == "STOP"


async def test_thinking_comes_as_thought_parts_and_signs_the_first_call(fake):
    _, body = await call(fake, user(say(thinking="hmm", tool_calls=[{"name": "f", "arguments": {}}])))
    thought, function = parts(body)
    assert thought == {"text": "hmm", "thought": True}
    assert function["functionCall"]["name"] == "f" and function["thoughtSignature"]
    assert body["usageMetadata"]["thoughtsTokenCount"] == 1


async def test_finish_length_is_max_tokens(fake):
    _, body = await call(fake, user(say(finish="length")))
    assert body["candidates"][0]["finishReason"] == "MAX_TOKENS"


async def test_additional_properties_in_parameters_is_rejected(fake):
    body = {**user("x"), "tools": [{"functionDeclarations": [{"name": "f", "parameters": {
        "type": "object", "properties": {"a": {"type": "object", "additionalProperties": False}}}}]}]}
    status, error = await call(fake, body)
    assert status == 400
    assert error["error"]["status"] == "INVALID_ARGUMENT" and error["error"]["code"] == 400
    assert 'Unknown name "additionalProperties"' in error["error"]["message"]


async def test_schema_keyword_in_parameters_is_rejected(fake):
    body = {**user("x"), "tools": [{"functionDeclarations": [{"name": "f", "parameters": {
        "$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}}]}]}
    status, _ = await call(fake, body)
    assert status == 400


async def test_parameters_json_schema_may_carry_any_json_schema(fake):
    body = {**user("x"), "tools": [{"functionDeclarations": [{"name": "f", "parametersJsonSchema": {
        "$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "additionalProperties": False}}]}]}
    status, _ = await call(fake, body)
    assert status == 200


async def test_unknown_top_level_field_is_rejected(fake):
    status, error = await call(fake, {**user("x"), "max_tokens": 10})
    assert status == 400 and 'Unknown name "max_tokens"' in error["error"]["message"]


async def test_function_responses_must_match_the_calls_in_number(fake):
    body = {"contents": [
        {"role": "user", "parts": [{"text": "x"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "a", "args": {}}},
                                    {"functionCall": {"name": "b", "args": {}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "a", "response": {"r": 1}}}]}]}
    status, _ = await call(fake, body)
    assert status == 400


async def test_function_responses_are_echoed(fake):
    body = {"contents": [
        {"role": "user", "parts": [{"text": "x"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "a", "args": {}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "a", "response": {"r": 1}}}]}]}
    _, answer = await call(fake, body)
    assert parts(answer) == [{"text": 'Tool results: {"r":1}'}]


async def test_missing_api_key_is_403_in_google_shape(fake):
    status, error = await call(fake, user("x"), headers={})
    assert status == 403 and error["error"]["status"] == "PERMISSION_DENIED"


async def test_key_query_parameter_is_accepted(fake):
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{fake.url}/v1beta/models/g:generateContent?key=x", json=user("x")) as r:
            assert r.status == 200
