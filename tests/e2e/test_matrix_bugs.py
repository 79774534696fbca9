"""The bugs other gateways shipped (API-REFERENCE section 8), each pinned end to end by a test named for it.

Raw streams are read chunk by chunk here, because the SDK helpers used elsewhere would hide
exactly the defects these tests look for (a repeated id, an index taken from the wrong place).
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from openai.types.chat import ChatCompletionChunk
from openai.types.chat.chat_completion_chunk import ChoiceDeltaToolCall

from tests.e2e.matrix_fixtures import (
    FINISH,
    Matrix,
    PROVIDERS,
    answer_turns,
    marker,
    model,
    running_matrix,
    streaming,
    tool_spec,
    tools,
    user_text,
)
from tests.support.fake import fake_directive

TWO_CALLS = [{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_time", "arguments": {}}]
ANTHROPIC_TOOL_ID = re.compile(r"^[a-zA-Z0-9_-]+$")


@pytest.fixture(scope="module")
def matrix() -> Iterator[Matrix]:
    with running_matrix() as running:
        yield running


def openai_chunks(matrix: Matrix, provider: str, text: str, **params: Any) -> list[ChatCompletionChunk]:
    """The raw chunks an OpenAI SDK client receives, usage chunk included."""
    return list(matrix.openai.chat.completions.create(
        model=model(provider), messages=user_text(text), stream=True, tools=tools("openai"),
        stream_options={"include_usage": True}, **params))


def fragments(chunks: list[ChatCompletionChunk]) -> list[ChoiceDeltaToolCall]:
    return [call for chunk in chunks if chunk.choices for call in chunk.choices[0].delta.tool_calls or []]


def arguments_by_index(chunks: list[ChatCompletionChunk]) -> dict[int, str]:
    joined: dict[int, str] = {}
    for fragment in fragments(chunks):
        piece = fragment.function.arguments if fragment.function else None
        joined[fragment.index] = joined.get(fragment.index, "") + (piece or "")
    return joined


def anthropic_events(matrix: Matrix, provider: str, text: str) -> list[tuple[str | None, dict[str, Any]]]:
    """(event line, data) of each frame a /v1/messages stream sends, comments skipped."""
    body = {"model": model(provider), "max_tokens": 256, "stream": True, "messages": user_text(text),
            "tools": tools("anthropic")}
    request = urllib.request.Request(
        f"{matrix.gateway_url}/v1/messages", data=json.dumps(body).encode(), method="POST",
        headers={"content-type": "application/json", "x-api-key": "client-key", "anthropic-version": "2023-06-01"})
    with urllib.request.urlopen(request, timeout=20) as response:
        raw = response.read().decode()
    frames = []
    for frame in raw.replace("\r\n", "\n").split("\n\n"):
        lines = [line for line in frame.split("\n") if line and not line.startswith(":")]
        if not lines:
            continue
        event = next((line[len("event:"):].strip() for line in lines if line.startswith("event:")), None)
        data = "\n".join(line[len("data:"):].strip() for line in lines if line.startswith("data:"))
        frames.append((event, json.loads(data)))
    return frames


DELTAS_FOR_BLOCK = {"text": {"text_delta", "citations_delta"}, "thinking": {"thinking_delta", "signature_delta"},
                    "tool_use": {"input_json_delta"}}


def block_kinds(events: list[tuple[str | None, dict[str, Any]]]) -> list[str]:
    """Check the stream's shape the way Anthropic promises it; return the kinds of its blocks in order."""
    names = [name for name, _ in events]
    assert all(name == data["type"] for name, data in events), "every frame names its event"
    assert names[0] == "message_start" and names.count("message_start") == 1
    assert names[-2:] == ["message_delta", "message_stop"]
    kinds: list[str] = []
    open_index: int | None = None
    for name, data in events:
        if name == "content_block_start":
            assert open_index is None and data["index"] == len(kinds), "blocks open in order, no gaps"
            open_index = data["index"]
            kinds.append(data["content_block"]["type"])
        elif name == "content_block_delta":
            assert data["index"] == open_index
            assert data["delta"]["type"] in DELTAS_FOR_BLOCK[kinds[open_index]]
        elif name == "content_block_stop":
            assert data["index"] == open_index
            open_index = None
    assert open_index is None
    return kinds


# 1 ----------------------------------------------------------------------------------------------
def test_bug1_tool_index_counts_calls_not_anthropic_content_blocks(matrix: Matrix) -> None:
    directive = fake_directive(thinking="Hmm.", text="Let me check.", tool_calls=TWO_CALLS)
    chunks = openai_chunks(matrix, "anthropic", f"go {directive}")  # blocks: thinking 0, text 1, tools 2 and 3
    assert sorted({fragment.index for fragment in fragments(chunks)}) == [0, 1]
    assert {i: json.loads(a) for i, a in arguments_by_index(chunks).items()} == {0: {"city": "Paris"}, 1: {}}


# 2 ----------------------------------------------------------------------------------------------
def test_bug2_gemini_parallel_calls_get_their_own_index_and_arguments(matrix: Matrix) -> None:
    chunks = openai_chunks(matrix, "gemini", f"go {fake_directive(tool_calls=TWO_CALLS)}")
    arguments = {i: json.loads(a) for i, a in arguments_by_index(chunks).items()}
    assert arguments == {0: {"city": "Paris"}, 1: {}}


# 3 ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("provider", ["anthropic", "gemini"])
@streaming
def test_bug3_finish_reason_is_tool_calls_for_a_translated_call(matrix: Matrix, provider: str, stream: bool) -> None:
    answer = matrix.ask("openai", model(provider), stream, tools=tools("openai"),
                        messages=user_text(f"go {fake_directive(tool_calls=TWO_CALLS[:1])}"))
    assert answer.finish == "tool_calls"


@pytest.mark.parametrize("provider", ["openai", "gemini"])
@streaming
def test_bug3_stop_reason_is_tool_use_on_messages_for_a_translated_call(matrix: Matrix, provider: str,
                                                                        stream: bool) -> None:
    answer = matrix.ask("anthropic", model(provider), stream, tools=tools("anthropic"),
                        messages=user_text(f"go {fake_directive(tool_calls=TWO_CALLS[:1])}"))
    assert answer.finish == "tool_use"


# 4 ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("provider", PROVIDERS)
def test_bug4_tool_call_id_and_name_are_sent_once_per_call(matrix: Matrix, provider: str) -> None:
    chunks = openai_chunks(matrix, provider, f"go {fake_directive(tool_calls=TWO_CALLS)}")
    for index in (0, 1):
        mine = [f for f in fragments(chunks) if f.index == index]
        assert len([f for f in mine if f.id]) == 1
        assert len([f for f in mine if f.function and f.function.name]) == 1
        assert mine[0].id and mine[0].function and mine[0].function.name  # the first fragment names the call


# 5 ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("provider", PROVIDERS)
def test_bug5_zero_argument_call_streams_arguments_as_empty_object(matrix: Matrix, provider: str) -> None:
    chunks = openai_chunks(matrix, provider, f"go {fake_directive(tool_calls=TWO_CALLS[1:])}")
    assert arguments_by_index(chunks) == {0: "{}"}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_bug5_zero_argument_call_answers_arguments_as_empty_object(matrix: Matrix, provider: str) -> None:
    completion = matrix.openai.chat.completions.create(
        model=model(provider), tools=tools("openai"),
        messages=user_text(f"go {fake_directive(tool_calls=TWO_CALLS[1:])}"))
    [call] = completion.choices[0].message.tool_calls or []
    assert call.function.arguments == "{}"  # type: ignore[union-attr]


# 6 ----------------------------------------------------------------------------------------------
def test_bug6_empty_text_is_not_sent_to_anthropic(matrix: Matrix) -> None:
    tag = marker()
    history = [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_a", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]},
        {"role": "tool", "tool_call_id": "call_a", "content": "rain"},
        {"role": "user", "content": [{"type": "text", "text": ""}, {"type": "text", "text": tag}]},
    ]
    completion = matrix.openai.chat.completions.create(model=model("anthropic"), messages=history,
                                                       tools=tools("openai"))
    assert completion.choices[0].message.content == f"You said: {tag}"
    sent = matrix.sent(tag)["body"]["messages"]
    texts = [b["text"] for m in sent if isinstance(m["content"], list) for b in m["content"] if b["type"] == "text"]
    assert "" not in texts


# 7 ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("provider", PROVIDERS)
def test_bug7_usage_chunk_comes_last_with_empty_choices(matrix: Matrix, provider: str) -> None:
    chunks = openai_chunks(matrix, provider, f"hi {fake_directive(usage={'prompt': 40, 'completion': 12})}")
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == 40
    assert all(chunk.usage is None and chunk.choices for chunk in chunks[:-1])


@pytest.mark.parametrize("provider", ["openai", "gemini"])
def test_bug7_streamed_message_reports_the_real_input_tokens(matrix: Matrix, provider: str) -> None:
    directive = fake_directive(usage={"prompt": 40, "completion": 12, "cached": 8})
    answer = matrix.ask("anthropic", model(provider), True, messages=user_text(f"hi {directive}"))
    usage = answer.raw.usage  # type: ignore[union-attr]
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.output_tokens) == (32, 8, 12)


# 8 ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("provider", PROVIDERS)
def test_bug8_translated_anthropic_stream_is_well_formed(matrix: Matrix, provider: str) -> None:
    directive = fake_directive(text="Checking both.", tool_calls=TWO_CALLS, chunks=3)
    kinds = block_kinds(anthropic_events(matrix, provider, f"go {directive}"))
    assert kinds == ["text", "tool_use", "tool_use"]


# Only Anthropic signs thinking; unsigned reasoning from another upstream would fail the client's next turn.
@pytest.mark.parametrize(("provider", "kinds"), [("anthropic", ["thinking", "text"]), ("openai", ["text"]),
                                                 ("gemini", ["text"])])
def test_bug8_thinking_deltas_never_land_in_a_text_block(matrix: Matrix, provider: str, kinds: list[str]) -> None:
    directive = fake_directive(thinking="Let me think this over.", text="Done.", chunks=3)
    assert block_kinds(anthropic_events(matrix, provider, f"go {directive}")) == kinds


# 9 ----------------------------------------------------------------------------------------------
@streaming
def test_bug9_thinking_blocks_are_replayed_to_anthropic_verbatim(matrix: Matrix, stream: bool) -> None:
    messages = user_text(f"go {fake_directive(thinking='Weather needs a tool.', tool_calls=TWO_CALLS[:1])}")
    first = matrix.ask("anthropic", model("anthropic"), stream, messages=messages, tools=tools("anthropic"))
    thinking = first.raw.content[0].model_dump(exclude_none=True)  # type: ignore[union-attr]
    assert thinking["type"] == "thinking" and thinking["signature"]
    tag = marker()
    history = messages + answer_turns("anthropic", first, {first.calls[0].id: f"sunny {tag}"})
    matrix.ask("anthropic", model("anthropic"), stream, messages=history, tools=tools("anthropic"))
    assert matrix.sent(tag)["body"]["messages"][1]["content"][0] == thinking


def test_bug9_thinking_blocks_round_trip_through_an_openai_client(matrix: Matrix) -> None:
    messages = user_text(f"go {fake_directive(thinking='Weather needs a tool.', tool_calls=TWO_CALLS[:1])}")
    first = matrix.openai.chat.completions.create(model=model("anthropic"), messages=messages, tools=tools("openai"))
    message = first.choices[0].message
    blocks = message.model_dump()["thinking_blocks"]
    [call] = message.tool_calls or []
    tag = marker()
    history = [*messages, message.model_dump(include={"role", "content", "tool_calls", "thinking_blocks"}),
               {"role": "tool", "tool_call_id": call.id, "content": f"sunny {tag}"}]
    matrix.openai.chat.completions.create(model=model("anthropic"), messages=history, tools=tools("openai"))
    assert matrix.sent(tag)["body"]["messages"][1]["content"][0] == blocks[0]


# 10 ---------------------------------------------------------------------------------------------
STRICT_SCHEMA = {"$schema": "http://json-schema.org/draft-07/schema#", "additionalProperties": False,
                 "required": ["city"]}


@pytest.mark.parametrize("client", ["openai", "anthropic"])
def test_bug10_gemini_gets_tool_schemas_without_additional_properties(matrix: Matrix, client: str) -> None:
    tag = marker()
    nested = {"city": {"type": "string"}, "where": {"type": "object", "additionalProperties": False,
                                                    "properties": {"lat": {"type": "number"}}}}
    answer = matrix.ask(client, model("gemini"), False, messages=user_text(tag),
                        tools=[tool_spec(client, "get_weather", nested, **STRICT_SCHEMA)])
    assert answer.text == f"You said: {tag}"
    declaration = matrix.sent(tag)["body"]["tools"][0]["functionDeclarations"][0]
    assert "additionalProperties" not in json.dumps(declaration.get("parameters", {}))


def test_bug10_tool_ids_outside_anthropic_pattern_are_mapped_consistently(matrix: Matrix) -> None:
    tag = marker()
    history = [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call.1:x/y", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call.1:x/y", "content": f"rain {tag}"},
    ]
    completion = matrix.openai.chat.completions.create(model=model("anthropic"), messages=history,
                                                       tools=tools("openai"))
    assert f"rain {tag}" in (completion.choices[0].message.content or "")
    sent = matrix.sent(tag)["body"]["messages"]
    use_id = sent[1]["content"][0]["id"]
    assert ANTHROPIC_TOOL_ID.match(use_id) and sent[2]["content"][0]["tool_use_id"] == use_id


# also ---------------------------------------------------------------------------------------------
def test_parallel_tool_results_and_following_text_form_one_anthropic_turn(matrix: Matrix) -> None:
    tag = marker()
    history = [
        {"role": "user", "content": "weather and time?"},
        {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "call_w", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}},
            {"id": "call_t", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_w", "content": "warm"},
        {"role": "tool", "tool_call_id": "call_t", "content": "noon"},
        {"role": "user", "content": f"thanks {tag}"},
    ]
    completion = matrix.openai.chat.completions.create(model=model("anthropic"), messages=history,
                                                       tools=tools("openai"))
    assert completion.choices[0].message.content == f"You said: thanks {tag}"
    last = matrix.sent(tag)["body"]["messages"][-1]
    assert [b["type"] for b in last["content"]] == ["tool_result", "tool_result", "text"]


@pytest.mark.parametrize("provider", ["anthropic", "gemini"])
def test_response_format_with_user_tools_keeps_both(matrix: Matrix, provider: str) -> None:
    tag = marker()
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    completion = matrix.openai.chat.completions.create(
        model=model(provider), messages=user_text(tag), tools=tools("openai"),
        response_format={"type": "json_schema", "json_schema": {"name": "reply", "schema": schema}})
    assert completion.choices[0].message.content == f"You said: {tag}"
    assert completion.choices[0].finish_reason == FINISH["openai"]["stop"]
    body = matrix.sent(tag)["body"]
    names = ([t["name"] for t in body["tools"]] if provider == "anthropic"
             else [d["name"] for d in body["tools"][0]["functionDeclarations"]])
    assert names == ["get_weather", "get_time"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_chunk_of_a_stream_has_the_same_id(matrix: Matrix, provider: str) -> None:
    chunks = openai_chunks(matrix, provider, f"hi {fake_directive(text='a b c d', chunks=4)}")
    assert len({chunk.id for chunk in chunks}) == 1
