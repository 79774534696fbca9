"""A deployment that answers only on the Responses API (`api: responses`) serves Chat Completions and
Messages clients: translated to Responses and back, streaming included, with the official openai
and anthropic SDKs against the fake upstream (real processes, open mode)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from tests.support.fake import fake_directive, received
from tests.support.processes import Process, start_fake_upstream, start_gateway

TOOL = {"type": "function", "function": {"name": "get_weather", "description": "The weather in a city",
                                         "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                        "required": ["city"]}}}
CALL = fake_directive(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])


@pytest.fixture(scope="module")
def fake() -> Iterator[Process]:
    with start_fake_upstream(name="responses-only") as process:
        yield process


@pytest.fixture(scope="module")
def gateway(fake: Process) -> Iterator[Process]:
    config = {
        "providers": {"oai": {"type": "openai", "base_url": f"{fake.url}/v1", "api_keys": ["oai-key-0001"]}},
        "models": {"pro": [{"provider": "oai", "model": "o-pro", "api": "responses", "max_tokens_default": 1024}],
                   "plain": [{"provider": "oai", "model": "gpt-up"}]},
    }
    with start_gateway(config) as process:
        yield process


@pytest.fixture
def chat(gateway: Process) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="anything", max_retries=0, timeout=30)


@pytest.fixture
def claude(gateway: Process) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.url, api_key="anything", max_retries=0, timeout=30)


def marker() -> str:
    return uuid.uuid4().hex[:10]


def sent(fake: Process, mark: str) -> list[dict[str, Any]]:
    return received(fake.url, mark)


def test_a_chat_completion_is_made_on_the_responses_api_and_comes_back_as_one(chat, fake):
    mark = marker()
    completion = chat.chat.completions.create(model="pro", messages=[
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": f"hi {mark}"}])
    assert completion.choices[0].message.content == f"You said: hi {mark}"
    assert completion.choices[0].finish_reason == "stop" and completion.model == "pro"
    assert completion.usage is not None and completion.usage.total_tokens > 0
    (request,) = sent(fake, mark)
    assert request["path"] == "/v1/responses"
    assert request["body"]["model"] == "o-pro" and request["body"]["store"] is False


def test_the_same_model_without_api_responses_is_served_on_chat_completions(chat, fake):
    mark = marker()
    chat.chat.completions.create(model="plain", messages=[{"role": "user", "content": f"hi {mark}"}])
    assert [r["path"] for r in sent(fake, mark)] == ["/v1/chat/completions"]


def test_a_chat_stream_comes_from_a_responses_stream(chat):
    stream = chat.chat.completions.create(model="pro", messages=[{"role": "user", "content": "stream it"}],
                                          stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "You said: stream it"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].choices == []


@pytest.mark.parametrize("stream", [False, True])
def test_a_chat_tool_round_trip_goes_through_the_responses_api(chat, stream):
    messages: list[dict[str, Any]] = [{"role": "user", "content": f"weather? {CALL}"}]
    if stream:
        chunks = list(chat.chat.completions.create(model="pro", messages=messages, tools=[TOOL], stream=True))
        fragments = [call for c in chunks if c.choices for call in c.choices[0].delta.tool_calls or ()]
        call_id, name = fragments[0].id, fragments[0].function.name
        arguments = "".join(f.function.arguments or "" for f in fragments)
        assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == \
            ["tool_calls"]
    else:
        message = chat.chat.completions.create(model="pro", messages=messages, tools=[TOOL]).choices[0].message
        (call,) = message.tool_calls or []
        call_id, name, arguments = call.id, call.function.name, call.function.arguments
    assert (name, json.loads(arguments)) == ("get_weather", {"city": "Paris"})
    messages += [{"role": "assistant", "content": None, "tool_calls": [
        {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}]},
        {"role": "tool", "tool_call_id": call_id, "content": "sunny"}]
    answer = chat.chat.completions.create(model="pro", messages=messages, tools=[TOOL])
    assert answer.choices[0].message.content == "Tool results: sunny"


def test_a_messages_client_is_served_by_the_responses_api(claude, fake):
    mark = marker()
    message = claude.messages.create(model="pro", max_tokens=200, system="Be brief.",
                                     messages=[{"role": "user", "content": f"hello {mark}"}])
    assert message.content[0].type == "text" and message.content[0].text == f"You said: hello {mark}"
    assert message.stop_reason == "end_turn" and message.usage.output_tokens > 0
    assert [r["path"] for r in sent(fake, mark)] == ["/v1/responses"]


def test_a_messages_stream_comes_from_a_responses_stream(claude):
    with claude.messages.stream(model="pro", max_tokens=200, messages=[{"role": "user", "content": "stream"}]) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == "You said: stream" and final.stop_reason == "end_turn"


def test_a_messages_tool_round_trip_goes_through_the_responses_api(claude):
    tools = [{"name": "get_weather", "description": "The weather", "input_schema": TOOL["function"]["parameters"]}]
    messages: list[dict[str, Any]] = [{"role": "user", "content": f"weather? {CALL}"}]
    first = claude.messages.create(model="pro", max_tokens=200, tools=tools, messages=messages)
    (use,) = [block for block in first.content if block.type == "tool_use"]
    assert (use.name, use.input, first.stop_reason) == ("get_weather", {"city": "Paris"}, "tool_use")
    messages += [{"role": "assistant", "content": [block.model_dump() for block in first.content]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "rainy"}]}]
    second = claude.messages.create(model="pro", max_tokens=200, tools=tools, messages=messages)
    assert second.content[0].text == "Tool results: rainy"


def test_a_responses_client_of_a_responses_only_deployment_is_passed_through(chat, fake):
    mark = marker()
    response = chat.responses.create(model="pro", input=f"direct {mark}")
    assert response.output_text == f"You said: direct {mark}"
    (request,) = sent(fake, mark)
    assert request["body"] == {"model": "o-pro", "input": f"direct {mark}"}
