"""Stream state machines between Anthropic and OpenAI, validated by the official SDKs' accumulators.

Every translated stream is fed to the accumulator the real client uses (anthropic's
`accumulate_event`, openai's `ChatCompletionStreamState`), plus a strict checker for the wire
rules those accumulators tolerate, so a malformed stream fails here as it would for a client.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from anthropic.lib.streaming._messages import accumulate_event
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk

from llmswitch.dialects.anthropic_stream import (AnthropicPassthrough, AnthropicToOpenAIStream,
                                                 OpenAIToAnthropicStream, anthropic_message_to_events)
from llmswitch.dialects.sse import SSEDecoder, encode_event
from llmswitch.dialects.types import StreamContext

DELTA_FOR_BLOCK = {"text": {"text_delta", "citations_delta"}, "tool_use": {"input_json_delta"},
                   "thinking": {"thinking_delta", "signature_delta"}}


# --- client-side checkers ------------------------------------------------------------------

def anthropic_client_view(events: list[dict[str, Any]]):
    """The Message the anthropic SDK builds from these events, after checking the wire rules."""
    assert [e["type"] for e in events].count("message_start") == 1
    assert events[0]["type"] == "message_start"
    open_block: tuple[int, str] | None = None
    next_index = 0
    for event in events[1:]:
        kind = event["type"]
        if kind == "content_block_start":
            assert open_block is None, "blocks must not interleave"
            assert event["index"] == next_index, "block indices must be gap-free and in order"
            open_block = (event["index"], event["content_block"]["type"])
        elif kind == "content_block_delta":
            assert open_block and open_block[0] == event["index"]
            assert event["delta"]["type"] in DELTA_FOR_BLOCK.get(open_block[1], set())
        elif kind == "content_block_stop":
            assert open_block and open_block[0] == event["index"]
            open_block, next_index = None, next_index + 1
    assert open_block is None
    if events[-1]["type"] == "error":
        return None
    assert [e["type"] for e in events[-2:]] == ["message_delta", "message_stop"]
    assert isinstance(events[-2]["usage"]["output_tokens"], int)
    snapshot, buffers = None, {}
    for event in events:
        snapshot = accumulate_event(event=json.loads(json.dumps(event)), current_snapshot=snapshot,
                                    json_bufs=buffers)
    return snapshot


def openai_client_view(chunks: list[dict[str, Any]]):
    """The ChatCompletion openai-python builds from these chunks, after checking the wire rules."""
    assert len({c["id"] for c in chunks}) == 1, "every chunk must carry the same id"
    assert len({c["created"] for c in chunks}) == 1
    roles = [c for c in chunks for ch in c["choices"] if "role" in ch["delta"]]
    assert len(roles) == 1 and roles[0] is chunks[0]
    state = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(ChatCompletionChunk.model_validate(chunk))
    return state.get_final_completion()


def run(machine, events):
    out = []
    for event in events:
        out.extend(machine.feed(json.loads(json.dumps(event))))
    return out + machine.finish()


# --- Anthropic upstream events -------------------------------------------------------------

def message_start(input_tokens=10, cache_read=0, cache_write=0):
    return {"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-up", "content": [],
        "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": 1, "cache_read_input_tokens": cache_read,
                  "cache_creation_input_tokens": cache_write}}}


def text_block(index, *pieces):
    return [{"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}},
            *({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": p}}
              for p in pieces),
            {"type": "content_block_stop", "index": index}]


def tool_block(index, tool_id, name, *json_pieces):
    return [{"type": "content_block_start", "index": index,
             "content_block": {"type": "tool_use", "id": tool_id, "name": name, "input": {}}},
            *({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta",
                                                                        "partial_json": p}}
              for p in json_pieces),
            {"type": "content_block_stop", "index": index}]


def ending(stop_reason="end_turn", output_tokens=7):
    return [{"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
             "usage": {"output_tokens": output_tokens}},
            {"type": "message_stop"}]


TOOL_STREAM = [message_start(), {"type": "ping"}, *text_block(0, "Let me ", "check."),
               *tool_block(1, "toolu_a", "get", '{"q":', ' "x"}'), *tool_block(2, "toolu_b", "now"),
               *ending("tool_use")]


def anthropic_to_openai(events, include_usage=False):
    machine = AnthropicToOpenAIStream(StreamContext("client-model", include_usage=include_usage))
    return machine, run(machine, events)


# --- Anthropic -> OpenAI -------------------------------------------------------------------

def test_text_stream_accumulates_to_the_text_with_the_clients_model():
    _, chunks = anthropic_to_openai([message_start(), *text_block(0, "Hel", "lo"), *ending()])
    completion = openai_client_view(chunks)
    assert completion.choices[0].message.content == "Hello"
    assert completion.choices[0].finish_reason == "stop"
    assert {c["model"] for c in chunks} == {"client-model"}


def test_tool_indices_count_tools_not_anthropic_block_indices():  # shipped bug 1
    _, chunks = anthropic_to_openai(TOOL_STREAM)
    indices = [call["index"] for c in chunks for ch in c["choices"] for call in ch["delta"].get("tool_calls", [])]
    assert sorted(set(indices)) == [0, 1]
    calls = openai_client_view(chunks).choices[0].message.tool_calls
    assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [
        ("toolu_a", "get", '{"q": "x"}'), ("toolu_b", "now", "{}")]


def test_tool_use_ends_with_finish_reason_tool_calls():  # shipped bug 3
    _, chunks = anthropic_to_openai(TOOL_STREAM)
    assert openai_client_view(chunks).choices[0].finish_reason == "tool_calls"


def test_tool_id_and_name_are_sent_only_on_the_first_fragment():  # shipped bug 4
    _, chunks = anthropic_to_openai(TOOL_STREAM)
    fragments = [call for c in chunks for ch in c["choices"] for call in ch["delta"].get("tool_calls", [])
                 if call["index"] == 0]
    assert "id" in fragments[0] and all("id" not in f and "name" not in f["function"] for f in fragments[1:])


def test_a_call_without_arguments_streams_empty_object_not_empty_string():  # shipped bug 5
    _, chunks = anthropic_to_openai(TOOL_STREAM)
    calls = openai_client_view(chunks).choices[0].message.tool_calls
    assert json.loads(calls[1].function.arguments) == {}


def test_every_chunk_carries_the_same_id_and_created():  # litellm #1571
    _, chunks = anthropic_to_openai(TOOL_STREAM, include_usage=True)
    assert len({(c["id"], c["created"]) for c in chunks}) == 1


def test_usage_chunk_comes_last_with_empty_choices_only_when_asked():  # shipped bug 7
    machine, chunks = anthropic_to_openai([message_start(10, cache_read=90), *text_block(0, "x"), *ending()],
                                          include_usage=True)
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 100, "completion_tokens": 7, "total_tokens": 107,
                                   "prompt_tokens_details": {"cached_tokens": 90}}
    assert all(c["usage"] is None for c in chunks[:-1])
    assert openai_client_view(chunks).usage.prompt_tokens == 100


def test_cache_writes_are_read_from_message_start_and_reach_the_usage_chunk():
    machine, chunks = anthropic_to_openai([message_start(10, cache_read=90, cache_write=40), *text_block(0, "x"),
                                           *ending()], include_usage=True)
    assert (machine.usage.prompt_tokens, machine.usage.cached_tokens, machine.usage.cache_write_tokens) == (140, 90, 40)
    assert chunks[-1]["usage"]["prompt_tokens_details"] == {"cached_tokens": 90, "cache_write_tokens": 40}


def test_no_usage_key_at_all_when_usage_was_not_asked_for_but_usage_is_still_read():
    machine, chunks = anthropic_to_openai([message_start(10), *text_block(0, "x"), *ending()])
    assert all("usage" not in c for c in chunks)
    assert (machine.usage.prompt_tokens, machine.usage.completion_tokens) == (10, 7)


def test_thinking_streams_as_reasoning_content():
    thinking = [{"type": "content_block_start", "index": 0,
                 "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
                {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hm"}},
                {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "s"}},
                {"type": "content_block_stop", "index": 0}]
    _, chunks = anthropic_to_openai([message_start(), *thinking, *text_block(1, "A"), *ending()])
    assert [c["choices"][0]["delta"].get("reasoning_content") for c in chunks if c["choices"]].count("hm") == 1
    assert openai_client_view(chunks).choices[0].message.content == "A"


def test_saw_content_turns_true_only_with_something_a_client_keeps():
    machine = AnthropicToOpenAIStream(StreamContext("m"))
    machine.feed(message_start())
    machine.feed(text_block(0)[0])
    assert not machine.saw_content
    machine.feed(text_block(0, "x")[1])
    assert machine.saw_content


def test_fail_ends_the_stream_with_an_error_frame_and_nothing_after():
    machine = AnthropicToOpenAIStream(StreamContext("m", include_usage=True))
    machine.feed(message_start())
    assert machine.fail(502, "api_error", "broken") == [
        {"error": {"message": "broken", "type": "api_error", "param": None, "code": "502"}}]
    assert machine.finish() == []


def test_a_stream_cut_before_message_stop_still_finishes_properly():
    _, chunks = anthropic_to_openai([message_start(), *text_block(0, "x")], include_usage=True)
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop" and chunks[-1]["choices"] == []


# --- OpenAI upstream chunks ----------------------------------------------------------------

def chunk(delta=None, finish=None, usage=None, choices=True):
    out: dict[str, Any] = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt"}
    out["choices"] = [{"index": 0, "delta": delta or {}, "finish_reason": finish}] if choices else []
    if usage:
        out["usage"] = usage
    return out


USAGE = {"prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59,
         "prompt_tokens_details": {"cached_tokens": 20}}


def fragment(index, arguments="", call_id=None, name=None):
    out: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if call_id:
        out.update(id=call_id, type="function")
        out["function"]["name"] = name
    return {"tool_calls": [out]}


def openai_to_anthropic(chunks, prompt_estimate=12):
    machine = OpenAIToAnthropicStream(StreamContext("client-model", prompt_estimate=prompt_estimate))
    return machine, run(machine, chunks)


def test_text_stream_becomes_one_text_block_with_real_usage_at_the_end():
    machine, events = openai_to_anthropic([chunk({"role": "assistant", "content": ""}), chunk({"content": "Hel"}),
                                           chunk({"content": "lo"}), chunk(finish="stop"),
                                           chunk(usage=USAGE, choices=False)])
    message = anthropic_client_view(events)
    assert [b.text for b in message.content] == ["Hello"]
    assert message.stop_reason == "end_turn" and message.model == "client-model"
    assert (message.usage.input_tokens, message.usage.cache_read_input_tokens,
            message.usage.output_tokens) == (30, 20, 9)
    assert machine.usage.prompt_tokens == 50


def test_message_start_reports_the_prompt_estimate_not_zero():  # shipped bug 7
    _, events = openai_to_anthropic([chunk({"content": "x"}), chunk(finish="stop")], prompt_estimate=40)
    assert events[0]["message"]["usage"]["input_tokens"] == 40


def test_message_delta_waits_for_the_usage_chunk_after_the_finish_chunk():
    machine = OpenAIToAnthropicStream(StreamContext("m"))
    machine.feed(chunk({"content": "x"}))
    after_finish = machine.feed(chunk(finish="stop"))
    assert [e["type"] for e in after_finish] == ["content_block_stop"]
    assert [e["type"] for e in machine.feed(chunk(usage=USAGE, choices=False))] == ["message_delta", "message_stop"]
    assert machine.finish() == []


def test_a_stream_without_usage_still_ends_with_message_delta_and_message_stop():
    _, events = openai_to_anthropic([chunk({"content": "x"}), chunk(finish="stop")])
    assert anthropic_client_view(events).usage.output_tokens == 0


def test_text_then_tool_calls_give_gap_free_blocks_and_tool_use_stop():
    _, events = openai_to_anthropic([
        chunk({"content": "Checking"}), chunk(fragment(0, "", "call_a", "get")), chunk(fragment(0, '{"q": ')),
        chunk(fragment(0, '"x"}')), chunk(fragment(1, "", "call_b", "now")), chunk(finish="tool_calls"),
        chunk(usage=USAGE, choices=False)])
    message = anthropic_client_view(events)
    assert [b.type for b in message.content] == ["text", "tool_use", "tool_use"]
    assert (message.content[1].id, message.content[1].input) == ("call_a", {"q": "x"})
    assert (message.content[2].name, message.content[2].input) == ("now", {})
    assert message.stop_reason == "tool_use"


def test_interleaved_parallel_tool_fragments_are_buffered_and_flushed_in_order():
    _, events = openai_to_anthropic([
        chunk({"tool_calls": [{"index": 0, "id": "a", "type": "function", "function": {"name": "f", "arguments": ""}},
                              {"index": 1, "id": "b", "type": "function", "function": {"name": "g", "arguments": ""}}]}),
        chunk(fragment(1, '{"y": 2}')), chunk(fragment(0, '{"x": 1}')), chunk(finish="tool_calls")])
    message = anthropic_client_view(events)
    assert [(b.id, b.input) for b in message.content] == [("a", {"x": 1}), ("b", {"y": 2})]


def test_a_whole_call_in_one_delta_keeps_its_id_name_and_arguments():  # shipped bug 4 (#39796)
    _, events = openai_to_anthropic([chunk(fragment(0, '{"x": 1}', "call_1", "f")), chunk(finish="tool_calls")])
    block = anthropic_client_view(events).content[0]
    assert (block.id, block.name, block.input) == ("call_1", "f", {"x": 1})


def test_tool_calls_with_finish_reason_stop_still_end_in_tool_use():  # shipped bug 3 (#34692)
    _, events = openai_to_anthropic([chunk(fragment(0, "{}", "call_1", "f")), chunk(finish="stop")])
    assert anthropic_client_view(events).stop_reason == "tool_use"


def test_stream_tool_ids_anthropic_rejects_are_sanitized():  # shipped bug 10
    _, events = openai_to_anthropic([chunk(fragment(0, "{}", "call:1", "f")), chunk(finish="tool_calls")])
    assert anthropic_client_view(events).content[0].id.replace("_", "").replace("-", "").isalnum()


def test_exactly_one_message_start_and_no_empty_text_blocks():  # shipped bug 8
    _, events = openai_to_anthropic([chunk({"role": "assistant", "content": ""}), chunk({"content": ""}),
                                     chunk({"content": "x"}), chunk(finish="length")])
    assert [e["type"] for e in events].count("message_start") == 1
    assert [e["content_block"]["type"] for e in events if e["type"] == "content_block_start"] == ["text"]
    assert anthropic_client_view(events).stop_reason == "max_tokens"


def test_fail_emits_an_anthropic_error_event_and_never_a_clean_stop_after_it():
    machine = OpenAIToAnthropicStream(StreamContext("m"))
    machine.feed(chunk({"content": "x"}))
    assert machine.fail(529, "overloaded_error", "busy") == [
        {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}]
    assert machine.finish() == [] and machine.feed(chunk(finish="stop")) == []


def test_fail_maps_an_openai_error_type_to_an_anthropic_one_by_status():
    machine = OpenAIToAnthropicStream(StreamContext("m"))
    assert machine.fail(429, "requests", "slow down")[0]["error"]["type"] == "rate_limit_error"


def test_saw_content_stays_false_until_text_or_a_tool_call_arrives():
    machine = OpenAIToAnthropicStream(StreamContext("m"))
    machine.feed(chunk({"role": "assistant", "content": ""}))
    assert not machine.saw_content
    machine.feed(chunk(fragment(0, "", "c", "f")))
    assert machine.saw_content


# --- pass-through and replay ---------------------------------------------------------------

def test_passthrough_rewrites_the_model_reads_usage_and_passes_events_untouched():
    machine = AnthropicPassthrough(StreamContext("client-model"))
    events = run(machine, [message_start(10, cache_read=5), {"type": "ping"}, *text_block(0, "x"), *ending()])
    assert events[0]["message"]["model"] == "client-model"
    assert events[1:] == [{"type": "ping"}, *text_block(0, "x"), *ending()]
    assert (machine.usage.prompt_tokens, machine.usage.completion_tokens) == (15, 7)
    assert machine.saw_content


def test_passthrough_content_starts_with_the_first_real_delta_not_with_the_opening_frames():
    machine = AnthropicPassthrough(StreamContext("m"))
    opening, delta = text_block(0, "")[0], text_block(0, "")[1]
    for event in [message_start(), opening, {"type": "ping"}, delta]:
        machine.feed(event)
    assert not machine.saw_content  # message_start, ping, an empty block and an empty delta show nothing
    machine.feed(text_block(0, "x")[1])
    assert machine.saw_content


def test_passthrough_thinking_opened_empty_is_not_content_but_its_first_delta_is():
    machine = AnthropicPassthrough(StreamContext("m"))
    machine.feed(message_start())
    machine.feed({"type": "content_block_start", "index": 0,
                  "content_block": {"type": "thinking", "thinking": "", "signature": ""}})
    assert not machine.saw_content
    machine.feed({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hm"}})
    assert machine.saw_content


@pytest.mark.parametrize("block", [{"type": "tool_use", "id": "toolu_1", "name": "get", "input": {}},
                                   {"type": "redacted_thinking", "data": "opaque"},
                                   {"type": "text", "text": "already here"}],
                         ids=["tool_use", "redacted_thinking", "text-with-text"])
def test_passthrough_a_block_that_opens_with_something_to_show_is_content(block):
    machine = AnthropicPassthrough(StreamContext("m"))
    machine.feed(message_start())
    machine.feed({"type": "content_block_start", "index": 0, "content_block": block})
    assert machine.saw_content


def test_passthrough_fail_is_an_anthropic_error_event():
    assert AnthropicPassthrough(StreamContext("m")).fail(500, "api_error", "x") == [
        {"type": "error", "error": {"type": "api_error", "message": "x"}}]


MESSAGE = {
    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-up",
    "content": [{"type": "thinking", "thinking": "hm", "signature": "sig"},
                {"type": "redacted_thinking", "data": "opaque"},
                {"type": "text", "text": "Hi"},
                {"type": "tool_use", "id": "toolu_1", "name": "get", "input": {"a": [1, 2]}},
                {"type": "tool_use", "id": "toolu_2", "name": "now", "input": {}}],
    "stop_reason": "tool_use", "stop_sequence": None,
    "usage": {"input_tokens": 3, "output_tokens": 4, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0},
}


def test_a_replayed_message_accumulates_back_to_the_same_message():
    events = anthropic_message_to_events(MESSAGE)
    expected = {key: value for key, value in MESSAGE.items() if value is not None}
    assert anthropic_client_view(events).to_dict(exclude_none=True) == expected


@pytest.mark.parametrize("include_usage", [False, True])
def test_a_replayed_message_translates_to_the_same_openai_answer(include_usage):
    _, chunks = anthropic_to_openai(anthropic_message_to_events(MESSAGE), include_usage)
    message = openai_client_view(chunks).choices[0].message
    assert message.content == "Hi"
    assert [json.loads(c.function.arguments) for c in message.tool_calls] == [{"a": [1, 2]}, {}]


def test_every_translated_event_is_framed_with_an_event_line_the_sdk_dispatches_on():  # shipped bug 8
    _, events = openai_to_anthropic([chunk({"content": "x"}), chunk(fragment(0, "{}", "c", "f")),
                                     chunk(finish="tool_calls"), chunk(usage=USAGE, choices=False)])
    frames = SSEDecoder().feed(b"".join(encode_event(event) for event in events))
    assert [(name, json.loads(data)) for name, data in frames] == [(event["type"], event) for event in events]
