"""Anthropic thinking across Responses turns: the signed blocks leave in a reasoning item's
`encrypted_content` and come back, when the client replays that item, as the thinking Anthropic
requires at the start of the tool loop's assistant turn (streaming or not)."""

from __future__ import annotations

import json
from typing import Any

from llmswitch.dialects.anthropic_request import openai_to_anthropic_request
from llmswitch.dialects.anthropic_response import anthropic_to_openai_response
from llmswitch.dialects.anthropic_stream import AnthropicToOpenAIStream, AnthropicToThinkingOpenAIStream
from llmswitch.dialects.chain import chain_requests, chain_responses, chain_streams
from llmswitch.dialects.responses_request import responses_to_chat_request
from llmswitch.dialects.responses_response import chat_to_responses_response
from llmswitch.dialects.responses_stream import ChatToResponsesStream
from llmswitch.dialects.types import RequestOptions, ResponseContext, StreamContext
from tests.dialects.responses_sdk import client_view, validated
from tests.dialects.test_anthropic_stream import ending, message_start, run, tool_block

SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxDYXJlZnVsbHkgc2lnbmVk"
TOOLS = [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}, "strict": False}]
FIRST_TURN = {"model": "claude", "input": [{"role": "user", "content": "Weather in Paris?"}], "tools": TOOLS,
              "reasoning": {"effort": "medium", "summary": "auto"}, "include": ["reasoning.encrypted_content"],
              "max_output_tokens": 16000, "store": False}
ANSWER = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-up",
          "content": [{"type": "thinking", "thinking": "I should call the tool.", "signature": SIGNATURE},
                      {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}],
          "stop_reason": "tool_use", "stop_sequence": None, "usage": {"input_tokens": 20, "output_tokens": 30}}
THINKING_EVENTS = [
    {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "I should "}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "call the tool."}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": SIGNATURE}},
    {"type": "content_block_stop", "index": 0}]
STREAM = [message_start(), *THINKING_EVENTS, *tool_block(1, "toolu_1", "get_weather", '{"city": "Paris"}'),
          *ending("tool_use")]

to_anthropic = chain_requests(responses_to_chat_request, openai_to_anthropic_request)
from_anthropic = chain_responses(anthropic_to_openai_response, chat_to_responses_response)


def first_turn_output(request: dict[str, Any]) -> list[dict[str, Any]]:
    body, _ = from_anthropic(json.loads(json.dumps(ANSWER)), ResponseContext("claude", request=request))
    validated(body)
    return body["output"]


def second_turn(request: dict[str, Any], output: list[dict[str, Any]]):
    """The client's next request, replaying the whole history as Codex does, translated for Anthropic."""
    call_id = next(item["call_id"] for item in output if item["type"] == "function_call")
    replay = {**request, "input": [*request["input"], *output,
                                   {"type": "function_call_output", "call_id": call_id, "output": "18C, sunny"}]}
    return to_anthropic(json.loads(json.dumps(replay)), RequestOptions("claude-up", stream=False))


def test_anthropic_thinking_comes_back_as_a_reasoning_item_carrying_the_signed_block():
    output = first_turn_output(FIRST_TURN)
    assert [item["type"] for item in output] == ["reasoning", "function_call"]
    assert output[0]["summary"] == [{"type": "summary_text", "text": "I should call the tool."}]
    assert output[0]["encrypted_content"].startswith("llmswitch.reasoning.v1:")


def test_replaying_the_reasoning_item_sends_the_signed_thinking_first_with_thinking_on():
    translated = second_turn(FIRST_TURN, first_turn_output(FIRST_TURN))
    assistant = translated.body["messages"][1]
    assert assistant["role"] == "assistant"
    assert assistant["content"][0] == {"type": "thinking", "thinking": "I should call the tool.",
                                       "signature": SIGNATURE}
    assert assistant["content"][1]["type"] == "tool_use"
    assert translated.body["thinking"]["type"] == "enabled" and "reasoning_effort" not in translated.dropped


def test_without_the_token_the_tool_loop_goes_with_thinking_off_rather_than_failing():
    request = {**FIRST_TURN, "include": []}
    output = first_turn_output(request)
    assert "encrypted_content" not in output[0]
    translated = second_turn(request, output)
    assert "thinking" not in translated.body and "reasoning_effort" in translated.dropped


def test_a_streamed_turn_carries_the_signed_block_too():
    machine = chain_streams(AnthropicToThinkingOpenAIStream, ChatToResponsesStream)(
        StreamContext("claude", request=FIRST_TURN))
    final = client_view(run(machine, STREAM), TOOLS)
    output = [item.to_dict() for item in final.output]
    assert [item["type"] for item in output] == ["reasoning", "function_call"]
    assistant = second_turn(FIRST_TURN, output).body["messages"][1]
    assert assistant["content"][0] == {"type": "thinking", "thinking": "I should call the tool.",
                                       "signature": SIGNATURE}


def test_redacted_thinking_travels_whole():
    redacted = {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"}
    events = [message_start(), {"type": "content_block_start", "index": 0, "content_block": redacted},
              {"type": "content_block_stop", "index": 0}, *tool_block(1, "toolu_1", "get_weather", "{}"),
              *ending("tool_use")]
    machine = chain_streams(AnthropicToThinkingOpenAIStream, ChatToResponsesStream)(
        StreamContext("claude", request=FIRST_TURN))
    output = [item.to_dict() for item in client_view(run(machine, events), TOOLS).output]
    assert second_turn(FIRST_TURN, output).body["messages"][1]["content"][0] == redacted


def test_chat_clients_get_no_thinking_blocks_in_their_chunks():
    chunks = run(AnthropicToOpenAIStream(StreamContext("claude")), STREAM)
    assert not [c for c in chunks for ch in c.get("choices", []) if "thinking_blocks" in ch["delta"]]
    chunks = run(AnthropicToThinkingOpenAIStream(StreamContext("claude")), STREAM)
    assert [ch["delta"]["thinking_blocks"] for c in chunks for ch in c.get("choices", [])
            if "thinking_blocks" in ch["delta"]] == [[{"type": "thinking", "thinking": "I should call the tool.",
                                                        "signature": SIGNATURE}]]
