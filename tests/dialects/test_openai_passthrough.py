"""OpenAI to OpenAI: only `model` changes, usage is always read, and the usage chunk is shown only when asked."""

from __future__ import annotations

from typing import Any

from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk

from llmswitch.dialects.openai import completion_to_chunks, passthrough_request, passthrough_response
from llmswitch.dialects.streams import OpenAIPassthrough
from llmswitch.dialects.types import RequestOptions, ResponseContext, StreamContext


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, usage: Any = "absent") -> dict[str, Any]:
    event: dict[str, Any] = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "up",
                             "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if usage != "absent":
        event["usage"] = usage
    return event


USAGE = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}


def test_request_rewrites_only_the_model_and_keeps_unknown_fields() -> None:
    body = {"model": "public", "messages": [], "vendor_x": {"a": 1}}
    out = passthrough_request(body, RequestOptions(upstream_model="up", stream=False)).body
    assert out == {"model": "up", "messages": [], "vendor_x": {"a": 1}}
    assert body["model"] == "public"  # the client's body is untouched, ready for another attempt


def test_streaming_request_always_asks_for_usage() -> None:
    out = passthrough_request({"model": "m", "stream": True}, RequestOptions(upstream_model="u", stream=True)).body
    assert out["stream_options"] == {"include_usage": True}


def test_simulated_stream_request_is_sent_without_stream_flags() -> None:
    body = {"model": "m", "stream": True, "stream_options": {"include_usage": True}}
    assert passthrough_request(body, RequestOptions(upstream_model="u", stream=False)).body == {"model": "u"}


def test_response_reports_the_client_model_and_reads_usage() -> None:
    out, usage = passthrough_response({"model": "up", "choices": [], "usage": USAGE}, ResponseContext("public"))
    assert out["model"] == "public"
    assert usage is not None and usage.total_tokens == 7


def test_stream_hides_usage_chunk_and_nulls_when_not_asked() -> None:
    machine = OpenAIPassthrough(StreamContext("public", include_usage=False))
    out = machine.feed(chunk({"content": "hi"}, usage=None)) + machine.feed(chunk(usage=USAGE))
    assert out == [{"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "public",
                    "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}]}]
    assert machine.usage is not None and machine.usage.prompt_tokens == 5


def test_stream_keeps_usage_chunk_when_asked() -> None:
    machine = OpenAIPassthrough(StreamContext("public", include_usage=True))
    assert machine.feed(chunk(usage=USAGE)) == [chunk(usage=USAGE) | {"model": "public"}]


def test_stream_saw_content_only_after_content() -> None:
    machine = OpenAIPassthrough(StreamContext("public"))
    machine.feed(chunk({"role": "assistant", "content": ""}))
    assert not machine.saw_content
    machine.feed(chunk({"content": "x"}))
    assert machine.saw_content


def test_stream_reasoning_from_an_openai_compatible_server_is_content() -> None:
    machine = OpenAIPassthrough(StreamContext("public"))
    machine.feed(chunk({"role": "assistant", "content": ""}))
    machine.feed(chunk({"reasoning_content": "let me think"}))
    assert machine.saw_content


def test_simulated_chunks_accumulate_to_the_original_completion() -> None:
    completion = {
        "id": "c9", "object": "chat.completion", "created": 3, "model": "m",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "logprobs": None, "message": {
            "role": "assistant", "content": "Let me look that up for you.",
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}]}}],
        "usage": USAGE,
    }
    state = ChatCompletionStreamState()
    for event in completion_to_chunks(completion):
        state.handle_chunk(ChatCompletionChunk.model_validate(event))
    final = state.current_completion_snapshot
    assert final.choices[0].message.content == "Let me look that up for you."
    assert final.choices[0].message.tool_calls[0].function.arguments == "{}"  # type: ignore[index]
    assert final.choices[0].finish_reason == "tool_calls"
    assert final.usage is not None and final.usage.total_tokens == 7
