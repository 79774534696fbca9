"""The OpenAI dialect, driven by the official openai SDK."""

from __future__ import annotations

import json

import aiohttp
import openai
import pytest

from llmswitch.fake_upstream import running_fake
from tests.fake_upstream.conftest import say

pytestmark = pytest.mark.timeout(10)

TOOLS = [{"type": "function", "function": {"name": n, "parameters": {"type": "object", "properties": {}}}}
         for n in ("get_weather", "get_time")]


async def test_create_echoes_the_last_user_message(openai_client):
    reply = await openai_client.chat.completions.create(
        model="gpt-x", messages=[{"role": "user", "content": "first"}, {"role": "assistant", "content": "ok"},
                                 {"role": "user", "content": "hello there"}])
    assert reply.choices[0].message.content == "You said: hello there"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.model == "gpt-x"


async def test_usage_is_a_quarter_of_the_characters(openai_client):
    reply = await openai_client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x" * 40}])
    assert reply.usage.prompt_tokens == 10
    assert reply.usage.completion_tokens == len("You said: " + "x" * 40) // 4
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens


async def test_directive_is_cut_out_of_the_echo(openai_client):
    reply = await openai_client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": say("ping", chunks=2)}])
    assert reply.choices[0].message.content == "You said: ping"


async def test_stream_splits_the_echo_into_the_asked_number_of_chunks(openai_client):
    stream = await openai_client.chat.completions.create(
        model="m", stream=True, messages=[{"role": "user", "content": say("abc", chunks=3)}])
    pieces = [c.choices[0].delta.content async for c in stream if c.choices and c.choices[0].delta.content]
    assert pieces == ["You s", "aid:", " abc"]


async def test_stream_starts_with_the_role_and_ends_with_a_finish_chunk(openai_client):
    stream = await openai_client.chat.completions.create(
        model="m", stream=True, messages=[{"role": "user", "content": "hi"}])
    chunks = [c async for c in stream]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.choices[0].delta.role is None for c in chunks[1:])
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert len({c.id for c in chunks}) == 1


async def test_usage_chunk_comes_last_only_when_asked(openai_client):
    plain = [c async for c in await openai_client.chat.completions.create(
        model="m", stream=True, messages=[{"role": "user", "content": "hi"}])]
    asked = [c async for c in await openai_client.chat.completions.create(
        model="m", stream=True, stream_options={"include_usage": True}, messages=[{"role": "user", "content": "hi"}])]
    assert all(c.usage is None for c in plain)
    assert asked[-1].choices == [] and asked[-1].usage.prompt_tokens == 1
    assert all(c.usage is None for c in asked[:-1])


async def test_stream_helper_assembles_parallel_tool_calls(openai_client):
    text = say(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}},
                           {"name": "get_time", "arguments": {}}])
    async with openai_client.chat.completions.stream(
            model="m", tools=TOOLS, messages=[{"role": "user", "content": text}]) as stream:
        final = await stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = [(c.function.name, json.loads(c.function.arguments)) for c in choice.message.tool_calls]
    assert calls == [("get_weather", {"city": "Paris"}), ("get_time", {})]
    assert len({c.id for c in choice.message.tool_calls}) == 2


async def test_no_argument_call_has_arguments_braces_not_empty(openai_client):
    reply = await openai_client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": say(tool_calls=[{"name": "get_time", "arguments": {}}])}])
    assert reply.choices[0].message.tool_calls[0].function.arguments == "{}"
    assert reply.choices[0].message.content is None


async def test_thinking_comes_back_as_reasoning_content(openai_client):
    reply = await openai_client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": say(thinking="let me see", text="42")}])
    assert reply.choices[0].message.model_extra["reasoning_content"] == "let me see"
    assert reply.choices[0].message.content == "42"


async def test_finish_and_usage_directives_are_reported(openai_client):
    usage = {"prompt": 100, "completion": 50, "cached": 30, "reasoning": 20}
    reply = await openai_client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": say(finish="length", usage=usage)}])
    assert reply.choices[0].finish_reason == "length"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (100, 50)
    assert reply.usage.prompt_tokens_details.cached_tokens == 30
    assert reply.usage.completion_tokens_details.reasoning_tokens == 20


async def test_tool_results_are_echoed_after_a_call(openai_client):
    messages = [{"role": "user", "content": "weather?"},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "w", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}]
    reply = await openai_client.chat.completions.create(model="m", messages=messages)
    assert reply.choices[0].message.content == "Tool results: sunny"


async def test_a_directive_followed_by_a_system_message_is_obeyed(openai_client):
    messages = [{"role": "system", "content": "be brief"},
                {"role": "user", "content": say("run", tool_calls=[{"name": "sh", "arguments": {"c": "ls"}}])},
                {"role": "system", "content": "the environment: linux"}]
    reply = await openai_client.chat.completions.create(model="m", messages=messages)
    assert [c.function.name for c in reply.choices[0].message.tool_calls] == ["sh"]


async def test_tool_results_followed_by_a_developer_message_are_echoed(openai_client):
    messages = [{"role": "user", "content": say("run", tool_calls=[{"name": "sh", "arguments": {}}])},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "sh", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "done"},
                {"role": "developer", "content": "tokens left: 100"}]
    reply = await openai_client.chat.completions.create(model="m", messages=messages)
    assert reply.choices[0].message.content == "Tool results: done"


async def test_tool_message_without_a_preceding_call_is_rejected(openai_client):
    with pytest.raises(openai.BadRequestError, match="must be a response to a preceeding message"):
        await openai_client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "a", "content": "y"}])


async def test_unanswered_tool_call_is_rejected(openai_client):
    messages = [{"role": "user", "content": "x"},
                {"role": "assistant", "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "w", "arguments": "{}"}}]},
                {"role": "user", "content": "and?"}]
    with pytest.raises(openai.BadRequestError, match="call_1"):
        await openai_client.chat.completions.create(model="m", messages=messages)


async def test_missing_api_key_is_401(fake):
    async with aiohttp.ClientSession() as session:
        async with session.post(fake.url + "/v1/chat/completions",
                                json={"model": "m", "messages": [{"role": "user", "content": "x"}]}) as r:
            body = await r.json()
    assert r.status == 401
    assert set(body["error"]) == {"message", "type", "param", "code"}


async def test_chat_completions_is_also_served_without_v1(fake):
    async with aiohttp.ClientSession() as session:
        async with session.post(fake.url + "/chat/completions", headers={"authorization": "Bearer x"},
                                json={"model": "m", "messages": [{"role": "user", "content": "x"}]}) as r:
            assert (await r.json())["choices"][0]["message"]["content"] == "You said: x"


async def test_models_lists_the_configured_models():
    async with running_fake(models=["a", "b/c"]) as fake, \
            openai.AsyncOpenAI(base_url=fake.url + "/v1", api_key="x", max_retries=0) as client:
        assert [m.id async for m in client.models.list()] == ["a", "b/c"]
        assert (await client.models.retrieve("b/c")).id == "b/c"


async def test_stream_ends_with_done(fake):
    async with aiohttp.ClientSession() as session:
        async with session.post(fake.url + "/v1/chat/completions", headers={"authorization": "Bearer x"},
                                json={"model": "m", "stream": True,
                                      "messages": [{"role": "user", "content": "x"}]}) as r:
            raw = await r.read()
    assert r.headers["content-type"].startswith("text/event-stream")
    assert raw.endswith(b"data: [DONE]\n\n")
