"""The OpenAI chat surface end to end: official `openai` SDK -> gateway process -> fake upstream process."""

from __future__ import annotations

import json
import urllib.request
import uuid

import openai
import pytest

from tests.support.fake import fake_directive, received
from tests.support.processes import Process


def marker() -> str:
    return f"m-{uuid.uuid4().hex[:10]}"


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_completion_answers_with_the_upstream_content(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="gpt-4o", messages=user("hello there"))
    assert completion.choices[0].message.content == "You said: hello there"
    assert completion.choices[0].finish_reason == "stop"


def test_completion_reports_the_model_name_the_client_asked_for(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="gpt-5", messages=user("hi"))
    assert completion.model == "gpt-5"


def test_response_headers_name_provider_and_upstream_model(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=user("hi"))
    assert raw.headers["x-llmswitch-provider"] == "fake"
    assert raw.headers["x-llmswitch-upstream-model"] == "gpt-4o-2024-08-06"


def test_passthrough_rewrites_only_the_model(client: openai.OpenAI, fake: Process) -> None:
    tag = marker()
    client.chat.completions.create(
        model="gpt-4o", messages=user(tag), temperature=0.3, seed=7,
        extra_body={"unknown_vendor_field": {"keep": [1, 2]}, "top_k": 5},
    )
    [sent] = received(fake.url, tag)
    assert sent["body"] == {"model": "gpt-4o-2024-08-06", "messages": user(tag), "temperature": 0.3, "seed": 7,
                            "unknown_vendor_field": {"keep": [1, 2]}, "top_k": 5}


def test_upstream_key_is_sent_and_client_key_is_not(client: openai.OpenAI, fake: Process) -> None:
    tag = marker()
    client.chat.completions.create(model="gpt-4o", messages=user(tag))
    [sent] = received(fake.url, tag)
    assert sent["headers"]["authorization"] == "Bearer upstream-secret-1"


def test_glob_alias_reaches_its_model(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="gpt-4-turbo", messages=user("glob"))
    assert completion.choices[0].message.content == "You said: glob"


def test_unknown_model_is_a_404_model_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as excinfo:
        client.chat.completions.create(model="no-such-model", messages=user("hi"))
    assert excinfo.value.code == "model_not_found"


def test_stream_relays_content_chunk_by_chunk(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="gpt-4o", messages=user("stream me please"), stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "You said: stream me please"
    assert len(chunks) > 2
    assert {c.model for c in chunks} == {"gpt-4o"}


def test_stream_always_asks_the_upstream_for_usage(client: openai.OpenAI, fake: Process) -> None:
    tag = marker()
    list(client.chat.completions.create(model="gpt-4o", messages=user(tag), stream=True))
    [sent] = received(fake.url, tag)
    assert sent["body"]["stream_options"] == {"include_usage": True}


def test_stream_hides_usage_chunk_when_client_did_not_ask(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="gpt-4o", messages=user("no usage"), stream=True))
    assert all(c.choices for c in chunks)
    assert all(c.usage is None for c in chunks)


def test_stream_sends_usage_chunk_last_when_asked(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="gpt-4o", messages=user("usage please"), stream=True,
                                                 stream_options={"include_usage": True}))
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])


def test_stream_helper_accumulates_parallel_tool_calls(client: openai.OpenAI) -> None:
    directive = fake_directive(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}},
                                           {"name": "get_time", "arguments": {}}])
    tools = [{"type": "function", "function": {"name": n, "parameters": {"type": "object", "properties": {}}}}
             for n in ("get_weather", "get_time")]
    with client.chat.completions.stream(model="gpt-4o", messages=user(f"weather? {directive}"),
                                        tools=tools) as stream:  # type: ignore[arg-type]
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls or []
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("get_weather", {"city": "Paris"}), ("get_time", {})]
    assert final.choices[0].finish_reason == "tool_calls"


def test_simulated_stream_calls_the_upstream_without_streaming(client: openai.OpenAI, fake: Process) -> None:
    tag = marker()
    chunks = list(client.chat.completions.create(model="sim-model", messages=user(tag), stream=True,
                                                 stream_options={"include_usage": True}))
    [sent] = received(fake.url, tag)
    assert not sent["body"].get("stream")
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == f"You said: {tag}"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].usage is not None


def test_simulated_stream_carries_tool_calls(client: openai.OpenAI) -> None:
    directive = fake_directive(tool_calls=[{"name": "lookup", "arguments": {"q": "x"}}])
    with client.chat.completions.stream(model="sim-model", messages=user(directive)) as stream:
        final = stream.get_final_completion()
    [call] = final.choices[0].message.tool_calls or []
    assert (call.function.name, json.loads(call.function.arguments)) == ("lookup", {"q": "x"})


def test_models_list_includes_models_and_aliases(client: openai.OpenAI) -> None:
    ids = {m.id for m in client.models.list()}
    assert {"gpt-4o", "sim-model", "org/model-x", "gpt-5"} <= ids
    assert "gpt-4*" not in ids


def test_models_list_needs_no_auth_header_in_open_mode(gateway: Process) -> None:
    with urllib.request.urlopen(f"{gateway.url}/api/v1/models", timeout=5) as response:
        body = json.loads(response.read())
    assert body["object"] == "list" and body["data"][0]["object"] == "model"


def test_chat_models_route_lists_the_same_models(gateway: Process) -> None:
    with urllib.request.urlopen(f"{gateway.url}/api/v1/chat/models", timeout=5) as response:
        assert "gpt-4o" in {m["id"] for m in json.loads(response.read())["data"]}


def test_model_retrieve_accepts_ids_with_a_slash(client: openai.OpenAI) -> None:
    assert client.models.retrieve("org/model-x").id == "org/model-x"


def test_model_retrieve_accepts_an_encoded_slash(gateway: Process) -> None:
    with urllib.request.urlopen(f"{gateway.url}/v1/models/org%2Fmodel-x", timeout=5) as response:
        assert json.loads(response.read())["id"] == "org/model-x"


def test_model_retrieve_of_an_unknown_id_is_a_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("nope")


def test_api_v1_prefix_serves_chat_completions(gateway: Process) -> None:
    client = openai.OpenAI(base_url=f"{gateway.url}/api/v1", api_key="x", max_retries=0)
    assert client.chat.completions.create(model="gpt-4o", messages=user("prefix")).choices[0].message.content \
        == "You said: prefix"
