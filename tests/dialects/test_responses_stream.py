"""Stream state machines between Chat Completions and the Responses API, through the SDKs' own accumulators.

Every Responses stream the gateway makes is fed to openai-python's `ResponseStreamState` (what
`client.responses.stream(...).get_final_response()` uses), each event validated against the SDK's
`ResponseStreamEvent` union; every Chat stream made from a Responses upstream to its
`ChatCompletionStreamState`.
"""

from __future__ import annotations

import json
from typing import Any

from llmswitch.dialects.anthropic_stream import OpenAIToAnthropicStream
from llmswitch.dialects.chain import chain_streams
from llmswitch.dialects.gemini import GeminiToOpenAIStream, gemini_response_to_events
from llmswitch.dialects.responses_stream import ChatToResponsesStream, ResponsesPassthrough, ResponsesToChatStream
from llmswitch.dialects.types import StreamContext
from tests.dialects.responses_sdk import client_view
from tests.dialects.test_anthropic_stream import anthropic_client_view, openai_client_view, run

TOOLS = [{"type": "function", "name": "get", "parameters": {"type": "object", "properties": {}}, "strict": False},
         {"type": "custom", "name": "apply_patch",
          "format": {"type": "grammar", "syntax": "lark", "definition": "s: /.+/"}},
         {"type": "namespace", "name": "files", "description": "file tools",
          "tools": [{"type": "function", "name": "read", "parameters": {"type": "object"}}]}]


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, usage: dict[str, Any] | None = None):
    out: dict[str, Any] = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "up",
                           "choices": [] if delta is None and finish is None else
                           [{"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish}]}
    if usage:
        out["usage"] = usage
    return out


def call(index: int, call_id: str | None = None, name: str | None = None, arguments: str = ""):
    fragment: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if call_id:
        fragment.update(id=call_id, type="function")
        fragment["function"]["name"] = name
    return chunk({"tool_calls": [fragment]})


USAGE = {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42,
         "prompt_tokens_details": {"cached_tokens": 10}, "completion_tokens_details": {"reasoning_tokens": 5}}
ROLE = chunk({"role": "assistant", "content": ""})


def responses_of(chunks, request: dict[str, Any] | None = None):
    request = {"model": "m", "input": "hi", **(request or {})}
    machine = ChatToResponsesStream(StreamContext("client-model", request=request))
    events = run(machine, chunks)
    return machine, events, client_view(events, request.get("tools"))


# --- Chat -> Responses -----------------------------------------------------------------------

def test_text_stream_is_the_full_event_sequence_and_the_sdk_returns_the_text():
    _, events, final = responses_of([ROLE, chunk({"content": "Hel"}), chunk({"content": "lo"}), chunk(finish="stop"),
                                     chunk(usage=USAGE)])
    assert [e["type"] for e in events] == [
        "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
        "response.output_text.delta", "response.output_text.delta", "response.output_text.done",
        "response.content_part.done", "response.output_item.done", "response.completed"]
    assert final.output_text == "Hello"
    assert final.status == "completed" and final.model == "client-model"


def test_usage_of_the_final_chunk_is_on_response_completed():
    machine, events, final = responses_of([ROLE, chunk({"content": "x"}), chunk(finish="stop"), chunk(usage=USAGE)])
    assert (final.usage.input_tokens, final.usage.input_tokens_details.cached_tokens, final.usage.output_tokens,
            final.usage.output_tokens_details.reasoning_tokens, final.usage.total_tokens) == (30, 10, 12, 5, 42)
    assert machine.usage.prompt_tokens == 30


def test_the_terminal_event_waits_for_the_usage_chunk():
    machine = ChatToResponsesStream(StreamContext("m", request={"model": "m", "input": "hi"}))
    machine.feed(ROLE)
    assert "response.completed" not in [e["type"] for e in machine.feed(chunk(finish="stop"))]
    assert [e["type"] for e in machine.feed(chunk(usage=USAGE))] == ["response.completed"]


def test_a_stream_without_usage_still_completes_when_it_ends():
    _, events, final = responses_of([ROLE, chunk({"content": "x"}), chunk(finish="stop")])
    assert events[-1]["type"] == "response.completed" and final.usage.total_tokens == 0


def test_function_calls_stream_their_arguments_and_the_sdk_gets_each_call():
    _, events, final = responses_of([ROLE, call(0, "call_1", "get", '{"a"'), call(0, arguments=": 1}"),
                                     call(1, "call_2", "get"), chunk(finish="tool_calls"), chunk(usage=USAGE)],
                                    {"tools": TOOLS})
    deltas = [e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta"]
    assert deltas == ['{"a"', ": 1}"]
    done = [e for e in events if e["type"] == "response.function_call_arguments.done"]
    assert [(e["name"], e["arguments"]) for e in done] == [("get", '{"a": 1}'), ("get", "{}")]
    assert [(o.type, o.call_id, o.name, o.arguments) for o in final.output] == [
        ("function_call", "call_1", "get", '{"a": 1}'), ("function_call", "call_2", "get", "{}")]
    assert final.status == "completed"


def test_a_custom_tool_comes_back_as_a_custom_tool_call_with_its_raw_input():
    _, events, final = responses_of([ROLE, call(0, "call_p", "apply_patch", '{"input": "*** Begin'),
                                     call(0, arguments=' Patch"}'), chunk(finish="tool_calls"), chunk(usage=USAGE)],
                                    {"tools": TOOLS})
    item = final.output[0]
    assert (item.type, item.call_id, item.name, item.input) == ("custom_tool_call", "call_p", "apply_patch",
                                                                "*** Begin Patch")
    assert [e["input"] for e in events if e["type"] == "response.custom_tool_call_input.done"] == ["*** Begin Patch"]
    assert not [e for e in events if e["type"].startswith("response.function_call_arguments")]


def test_a_namespaced_function_comes_back_with_its_namespace_and_own_name():
    _, _, final = responses_of([ROLE, call(0, "call_r", "files__read", "{}"), chunk(finish="tool_calls")],
                               {"tools": TOOLS})
    assert (final.output[0].name, final.output[0].namespace) == ("read", "files")


def test_interleaved_fragments_of_parallel_calls_each_reach_their_own_item():
    _, _, final = responses_of([ROLE, call(0, "c0", "get", '{"x":'), call(1, "c1", "get", '{"y":'),
                                call(0, arguments="1}"), call(1, arguments="2}"), chunk(finish="tool_calls")],
                               {"tools": TOOLS})
    assert [(o.call_id, o.arguments) for o in final.output] == [("c0", '{"x":1}'), ("c1", '{"y":2}')]


def test_text_before_a_call_is_a_finished_message_item_first():
    _, events, final = responses_of([ROLE, chunk({"content": "Let me look."}), call(0, "c0", "get", "{}"),
                                     chunk(finish="tool_calls")], {"tools": TOOLS})
    assert [o.type for o in final.output] == ["message", "function_call"]
    kinds = [(e["type"], e.get("output_index")) for e in events]
    assert kinds.index(("response.output_item.done", 0)) < kinds.index(("response.output_item.added", 1))


def test_reasoning_is_a_summary_when_the_client_asked_for_one():
    _, events, final = responses_of([ROLE, chunk({"reasoning_content": "Think"}), chunk({"reasoning_content": "ing"}),
                                     chunk({"content": "Done"}), chunk(finish="stop")],
                                    {"reasoning": {"effort": "low", "summary": "auto"}})
    assert [e["delta"] for e in events if e["type"] == "response.reasoning_summary_text.delta"] == ["Think", "ing"]
    assert [o.type for o in final.output] == ["reasoning", "message"]
    assert final.output[0].summary[0].text == "Thinking" and final.output_text == "Done"


def test_reasoning_is_reasoning_text_when_no_summary_was_asked_for():
    _, events, final = responses_of([ROLE, chunk({"reasoning": "raw thought"}), chunk({"content": "x"}),
                                     chunk(finish="stop")])
    assert [e["delta"] for e in events if e["type"] == "response.reasoning_text.delta"] == ["raw thought"]
    assert final.output[0].content[0].text == "raw thought" and final.output[0].summary == []


def test_signed_thinking_blocks_ride_in_encrypted_content_only_when_included():
    blocks = [{"type": "thinking", "thinking": "t", "signature": "sig"}]
    stream = [ROLE, chunk({"reasoning_content": "t"}), chunk({"thinking_blocks": blocks}), chunk({"content": "x"}),
              chunk(finish="stop")]
    _, _, with_it = responses_of(stream, {"include": ["reasoning.encrypted_content"]})
    _, _, without = responses_of(stream)
    assert with_it.output[0].encrypted_content.startswith("llmswitch.reasoning.v1:")
    assert without.output[0].encrypted_content is None


def test_a_refusal_is_a_refusal_part():
    _, events, final = responses_of([ROLE, chunk({"refusal": "I can't"}), chunk(finish="stop")])
    assert final.output[0].content[0].type == "refusal" and final.output[0].content[0].refusal == "I can't"
    assert "response.refusal.done" in [e["type"] for e in events]


def test_length_ends_in_response_incomplete_with_max_output_tokens():
    _, events, final = responses_of([ROLE, chunk({"content": "trunc"}), chunk(finish="length"), chunk(usage=USAGE)])
    assert final is None and events[-1]["type"] == "response.incomplete"
    response = events[-1]["response"]
    assert response["incomplete_details"] == {"reason": "max_output_tokens"}
    assert response["output"][0]["status"] == "incomplete" and response["usage"]["total_tokens"] == 42


def test_content_filter_ends_incomplete_with_content_filter():
    _, events, _ = responses_of([ROLE, chunk({"content": "x"}), chunk(finish="content_filter")])
    assert events[-1]["response"]["incomplete_details"] == {"reason": "content_filter"}


def test_a_failure_mid_stream_ends_in_response_failed_and_nothing_after():
    machine = ChatToResponsesStream(StreamContext("m", request={"model": "m", "input": "hi"}))
    events = machine.feed(ROLE) + machine.feed(chunk({"content": "par"}))
    events += machine.fail(429, "rate_limit_error", "slow down")
    assert client_view(events) is None
    assert events[-1]["response"]["error"] == {"code": "rate_limit_exceeded", "message": "slow down"}
    assert machine.finish() == [] and machine.feed(chunk({"content": "more"})) == []


def test_content_starts_with_the_first_delta_not_with_the_lifecycle_events():
    machine = ChatToResponsesStream(StreamContext("m", request={"model": "m", "input": "hi"}))
    machine.feed(ROLE)
    assert not machine.saw_content
    machine.feed(chunk({"content": "x"}))
    assert machine.saw_content


def test_the_request_settings_are_echoed_on_every_lifecycle_event():
    request = {"instructions": "be brief", "temperature": 0.3, "max_output_tokens": 100, "metadata": {"k": "v"},
               "store": False, "tools": TOOLS, "tool_choice": "required", "text": {"verbosity": "low"}}
    _, events, final = responses_of([ROLE, call(0, "c", "get", "{}"), chunk(finish="tool_calls")], request)
    for event in (events[0], events[-1]):
        response = event["response"]
        assert (response["instructions"], response["temperature"], response["max_output_tokens"],
                response["metadata"], response["store"], response["tool_choice"]) == (
            "be brief", 0.3, 100, {"k": "v"}, False, "required")
    assert final.text.verbosity == "low" and len(final.tools) == 3


# --- Responses -> Chat -----------------------------------------------------------------------

def responses_events(*items: dict[str, Any], status: str = "completed", usage: dict[str, Any] | None = None):
    """A Responses upstream's stream of ITEMS, each streamed as OpenAI streams it, then the terminal event."""
    response = {"id": "resp_up", "object": "response", "created_at": 1, "model": "gpt-up", "status": "in_progress",
                "output": [], "tools": [], "tool_choice": "auto", "parallel_tool_calls": True}
    events: list[dict[str, Any]] = [{"type": "response.created", "response": response}]
    for index, item in enumerate(items):
        where = {"output_index": index, "item_id": item["id"]}
        opened = {**item, "arguments": ""} if item["type"] == "function_call" else \
            {**item, "content": [], "status": "in_progress"} if item["type"] == "message" else \
            {**item, "summary": []} if item["type"] == "reasoning" else item
        events.append({"type": "response.output_item.added", "output_index": index, "item": opened})
        if item["type"] == "message":
            for n, part in enumerate(item["content"]):
                events += [{"type": "response.content_part.added", **where, "content_index": n,
                            "part": {**part, "text": ""}},
                           {"type": "response.output_text.delta", **where, "content_index": n, "delta": part["text"],
                            "logprobs": []},
                           {"type": "response.output_text.done", **where, "content_index": n, "text": part["text"],
                            "logprobs": []},
                           {"type": "response.content_part.done", **where, "content_index": n, "part": part}]
        elif item["type"] == "function_call" and item["arguments"]:
            events += [{"type": "response.function_call_arguments.delta", **where, "delta": item["arguments"]},
                       {"type": "response.function_call_arguments.done", **where, "arguments": item["arguments"]}]
        elif item["type"] == "reasoning":
            for n, part in enumerate(item["summary"]):
                events += [{"type": "response.reasoning_summary_part.added", **where, "summary_index": n,
                            "part": {**part, "text": ""}},
                           {"type": "response.reasoning_summary_text.delta", **where, "summary_index": n,
                            "delta": part["text"]},
                           {"type": "response.reasoning_summary_text.done", **where, "summary_index": n,
                            "text": part["text"]},
                           {"type": "response.reasoning_summary_part.done", **where, "summary_index": n, "part": part}]
        events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    final = {**response, "status": status, "output": list(items),
             "usage": usage or {"input_tokens": 8, "output_tokens": 3, "total_tokens": 11,
                                "input_tokens_details": {"cached_tokens": 2, "cache_write_tokens": 0},
                                "output_tokens_details": {"reasoning_tokens": 1}}}
    if status == "incomplete":
        final["incomplete_details"] = {"reason": "max_output_tokens"}
    events.append({"type": "response.completed" if status == "completed" else "response.incomplete",
                   "response": final})
    return [{**event, "sequence_number": n} for n, event in enumerate(events)]


MESSAGE = {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
           "content": [{"type": "output_text", "text": "Hi there", "annotations": []}]}
CALL = {"id": "fc_1", "type": "function_call", "call_id": "call_1", "name": "get", "arguments": '{"q": 1}',
        "status": "completed"}
REASONING = {"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": "why"}]}


def chat_of(events, include_usage=True):
    machine = ResponsesToChatStream(StreamContext("client-model", include_usage=include_usage))
    return machine, run(machine, events)


def test_the_upstream_stream_of_these_tests_is_one_the_sdk_accepts():
    assert client_view(responses_events(REASONING, MESSAGE, CALL)).output_text == "Hi there"


def test_a_responses_stream_becomes_chat_chunks_the_sdk_accumulates():
    machine, chunks = chat_of(responses_events(REASONING, MESSAGE))
    completion = openai_client_view(chunks)
    assert completion.choices[0].message.content == "Hi there"
    assert completion.choices[0].finish_reason == "stop" and completion.model == "client-model"
    assert [c["choices"][0]["delta"].get("reasoning_content") for c in chunks if c["choices"]].count("why") == 1
    assert completion.usage.prompt_tokens == 8 and machine.usage.cached_tokens == 2


def test_function_calls_become_indexed_tool_calls_ending_in_tool_calls_and_no_arguments_as_an_empty_object():
    second = {**CALL, "id": "fc_2", "call_id": "call_2", "arguments": ""}
    _, chunks = chat_of(responses_events(MESSAGE, CALL, second))
    choice = openai_client_view(chunks).choices[0]
    assert [(c.id, c.function.name, c.function.arguments) for c in choice.message.tool_calls] == [
        ("call_1", "get", '{"q": 1}'), ("call_2", "get", "{}")]
    assert choice.finish_reason == "tool_calls"


def test_arguments_sent_only_in_the_finished_item_still_reach_the_client():
    events = [event for event in responses_events(CALL) if event["type"] != "response.function_call_arguments.delta"]
    _, chunks = chat_of(events)
    assert openai_client_view(chunks).choices[0].message.tool_calls[0].function.arguments == '{"q": 1}'


def test_an_incomplete_response_finishes_with_length():
    _, chunks = chat_of(responses_events(MESSAGE, status="incomplete"))
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "length"


def test_usage_is_hidden_unless_the_chat_client_asked_for_it():
    machine, chunks = chat_of(responses_events(MESSAGE), include_usage=False)
    assert all("usage" not in c for c in chunks) and machine.usage.total_tokens == 11


def test_an_upstream_failure_fed_in_ends_with_the_chat_error_frame():
    events = responses_events(MESSAGE)[:-1] + [{"type": "response.failed", "sequence_number": 9, "response": {
        "id": "resp_up", "status": "failed", "error": {"code": "rate_limit_exceeded", "message": "slow"}}}]
    machine, chunks = chat_of(events)
    assert chunks[-1] == {"error": {"message": "slow", "type": "server_error", "param": None, "code": "429"}}
    assert all("finish_reason" not in str(c) or c["choices"][0]["finish_reason"] is None for c in chunks[:-1])


def test_an_anthropic_client_reaches_a_responses_upstream_through_the_chat_form():
    machine = chain_streams(ResponsesToChatStream, OpenAIToAnthropicStream)(StreamContext("client-model"))
    message = anthropic_client_view(run(machine, responses_events(MESSAGE, CALL)))
    assert [block.type for block in message.content] == ["text", "tool_use"]
    assert message.content[1].input == {"q": 1} and message.stop_reason == "tool_use"
    assert message.usage.output_tokens == 3


# --- Responses -> Responses ------------------------------------------------------------------

def test_the_passthrough_rewrites_the_model_and_reads_usage():
    machine = ResponsesPassthrough(StreamContext("client-model"))
    events = run(machine, responses_events(MESSAGE))
    assert {e["response"]["model"] for e in events if "response" in e} == {"client-model"}
    assert machine.usage.total_tokens == 11
    assert client_view(events).output_text == "Hi there"


def test_the_passthrough_sees_content_only_at_the_first_delta():
    machine = ResponsesPassthrough(StreamContext("client-model"))
    events = responses_events(MESSAGE)
    for event in events[:3]:  # created, the message item and its part opened empty
        machine.feed(json.loads(json.dumps(event)))
    assert not machine.saw_content
    machine.feed(events[3])
    assert machine.saw_content


def test_a_passthrough_failure_is_response_failed_numbered_after_the_last_event():
    machine = ResponsesPassthrough(StreamContext("client-model"))
    events = run(machine, responses_events(MESSAGE)[:-1])
    events += machine.fail(502, "server_error", "upstream broke")
    assert client_view(events) is None
    assert events[-1]["response"]["error"]["code"] == "server_error"


def test_a_gemini_upstream_reaches_a_responses_client_through_the_chat_form():
    machine = chain_streams(GeminiToOpenAIStream, ChatToResponsesStream)(
        StreamContext("client-model", request={"model": "m", "input": "hi", "tools": TOOLS}))
    events = run(machine, gemini_response_to_events({
        "candidates": [{"content": {"role": "model", "parts": [
            {"text": "Let me check."}, {"functionCall": {"name": "get", "args": {"q": 1}}}]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 5, "totalTokenCount": 12}}))
    final = client_view(events, TOOLS)
    assert [o.type for o in final.output] == ["message", "function_call"]
    assert json.loads(final.output[1].arguments) == {"q": 1} and final.usage.total_tokens == 12
