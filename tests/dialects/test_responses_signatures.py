"""Gemini's thought signatures across Responses turns: a signed call's signature leaves in the
`encrypted_content` of the reasoning item before the call (one made for it when the answer shows no
reasoning) and comes back on that call when the client replays the items, streaming or not.

Responses clients replay a `function_call` with its standard fields only (Codex keeps no other), so
the signature cannot ride on the call itself as it does in Chat Completions; without it, Gemini 3
gets the documented stand-in `skip_thought_signature_validator` instead of the model's own.
"""

from __future__ import annotations

import json
from typing import Any

from llmswitch.dialects.chain import chain_requests, chain_responses, chain_streams
from llmswitch.dialects.gemini import GeminiToOpenAIStream, gemini_to_openai_response, openai_to_gemini_request
from llmswitch.dialects.gemini_request import SIGNATURE_SENTINEL
from llmswitch.dialects.responses_request import responses_to_chat_request
from llmswitch.dialects.responses_response import chat_to_responses_response
from llmswitch.dialects.responses_stream import ChatToResponsesStream
from llmswitch.dialects.types import RequestOptions, ResponseContext, StreamContext
from tests.dialects.responses_sdk import client_view, validated
from tests.dialects.test_anthropic_stream import run
from tests.dialects.test_gemini_stream import call, chunk

SIGNATURE = "CiQB0e2Kb7xQ2lJ4u0cY2l6nqVn8A0Jx"
UPSTREAM = "gemini-3-pro-preview"  # a model that refuses a replayed call without its signature
TOOLS = [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}, "strict": False}]
FIRST_TURN = {"model": "gemini", "input": [{"role": "user", "content": "Weather in Paris and Rome?"}],
              "tools": TOOLS, "include": ["reasoning.encrypted_content"], "store": False}
SIGNED = {**call("get_weather", {"city": "Paris"}), "thoughtSignature": SIGNATURE}
UNSIGNED = call("get_weather", {"city": "Rome"})
THOUGHT = {"text": "Two cities, two calls.", "thought": True}

to_gemini = chain_requests(responses_to_chat_request, openai_to_gemini_request)
from_gemini = chain_responses(gemini_to_openai_response, chat_to_responses_response)


def whole_output(request: dict[str, Any], *parts: dict[str, Any]) -> list[dict[str, Any]]:
    body, _ = from_gemini(chunk(*parts, finish="STOP"), ResponseContext("gemini", request=request))
    validated(body)
    return body["output"]


def streamed_output(request: dict[str, Any], *parts: dict[str, Any]) -> list[dict[str, Any]]:
    machine = chain_streams(GeminiToOpenAIStream, ChatToResponsesStream)(StreamContext("gemini", request=request))
    final = client_view(run(machine, [chunk(part) for part in parts] + [chunk(finish="STOP")]), TOOLS)
    assert final is not None
    return [item.to_dict() for item in final.output]


def replayed_calls(request: dict[str, Any], output: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The functionCall parts of the model turn the next request sends Gemini, replaying the whole history."""
    results = [{"type": "function_call_output", "call_id": item["call_id"], "output": "18C"}
               for item in output if item["type"] == "function_call"]
    replay = {**request, "input": [*request["input"], *output, *results]}
    body = to_gemini(json.loads(json.dumps(replay)), RequestOptions(UPSTREAM, stream=False)).body
    [model_turn] = [content for content in body["contents"] if content["role"] == "model"]
    return [part for part in model_turn["parts"] if "functionCall" in part]


def test_a_signed_call_with_no_reasoning_shown_gets_a_reasoning_item_carrying_the_signature():
    output = whole_output(FIRST_TURN, SIGNED)
    assert [item["type"] for item in output] == ["reasoning", "function_call"]
    assert output[0]["summary"] == [] and output[0]["encrypted_content"].startswith("llmswitch.reasoning.v1:")


def test_replaying_the_items_gives_the_call_its_own_signature_back():
    [part] = replayed_calls(FIRST_TURN, whole_output(FIRST_TURN, SIGNED))
    assert part["thoughtSignature"] == SIGNATURE


def test_without_the_token_no_reasoning_item_is_made_and_the_stand_in_goes_instead():
    request = {**FIRST_TURN, "include": []}
    output = whole_output(request, SIGNED)
    assert [item["type"] for item in output] == ["function_call"]
    assert replayed_calls(request, output)[0]["thoughtSignature"] == SIGNATURE_SENTINEL


def test_thoughts_and_the_signature_share_one_reasoning_item():
    output = whole_output(FIRST_TURN, THOUGHT, SIGNED, UNSIGNED)
    assert [item["type"] for item in output] == ["reasoning", "function_call", "function_call"]
    assert output[0]["content"] == [{"type": "reasoning_text", "text": "Two cities, two calls."}]
    first, second = replayed_calls(FIRST_TURN, output)
    assert first["thoughtSignature"] == SIGNATURE and "thoughtSignature" not in second


def test_a_streamed_signed_call_carries_its_signature_in_the_reasoning_before_it():
    output = streamed_output(FIRST_TURN, SIGNED)
    assert [item["type"] for item in output] == ["reasoning", "function_call"]
    [part] = replayed_calls(FIRST_TURN, output)
    assert part["thoughtSignature"] == SIGNATURE


def test_streamed_thoughts_stay_open_past_the_signed_call_and_close_at_the_unsigned_one():
    output = streamed_output(FIRST_TURN, THOUGHT, SIGNED, UNSIGNED)
    assert [item["type"] for item in output] == ["reasoning", "function_call", "function_call"]
    assert output[0]["content"][0]["text"] == "Two cities, two calls."
    first, second = replayed_calls(FIRST_TURN, output)
    assert first["thoughtSignature"] == SIGNATURE and "thoughtSignature" not in second
