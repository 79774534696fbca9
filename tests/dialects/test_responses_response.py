"""Whole answers between Chat Completions and the Responses API, checked against openai-python's models."""

from __future__ import annotations

import json
from typing import Any

import anthropic.types
import openai.types.chat
import pytest

from llmswitch.dialects.anthropic_response import openai_to_anthropic_response
from llmswitch.dialects.chain import chain_responses
from llmswitch.dialects.responses import passthrough_response
from llmswitch.dialects.responses_response import chat_to_responses_response, responses_to_chat_response
from llmswitch.dialects.types import MalformedAnswer, ResponseContext
from llmswitch.errors import GatewayError
from tests.dialects.responses_sdk import validated

USAGE = {"prompt_tokens": 130, "completion_tokens": 25, "total_tokens": 155,
         "prompt_tokens_details": {"cached_tokens": 100}, "completion_tokens_details": {"reasoning_tokens": 20}}
TOOLS = [{"type": "function", "name": "get", "parameters": {"type": "object"}, "strict": True},
         {"type": "custom", "name": "apply_patch"},
         {"type": "namespace", "name": "files", "description": "", "tools": [{"type": "function", "name": "read"}]},
         {"type": "web_search"}]


def completion(message: dict[str, Any], finish: str = "stop") -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "up",
            "choices": [{"index": 0, "finish_reason": finish, "logprobs": None,
                         "message": {"role": "assistant", "refusal": None, **message}}], "usage": USAGE}


def responses_of(message: dict[str, Any], finish: str = "stop", **request: Any):
    ctx = ResponseContext("client-model", "req1", request={"model": "m", "input": "hi", **request})
    body, usage = chat_to_responses_response(json.loads(json.dumps(completion(message, finish))), ctx)
    return body, usage, validated(body)


# --- Chat -> Responses -----------------------------------------------------------------------

def test_a_text_answer_is_a_completed_response_with_one_message():
    body, _, response = responses_of({"content": "Hello"})
    assert body["id"].startswith("resp_") and response.object == "response"
    assert response.status == "completed" and response.model == "client-model"
    assert response.output_text == "Hello"
    message = response.output[0]
    assert (message.type, message.role, message.status, message.id[:4]) == ("message", "assistant", "completed", "msg_")
    assert message.content[0].annotations == []


def test_usage_maps_with_cached_and_reasoning_details():
    _, usage, response = responses_of({"content": "x"})
    assert (response.usage.input_tokens, response.usage.input_tokens_details.cached_tokens,
            response.usage.output_tokens, response.usage.output_tokens_details.reasoning_tokens,
            response.usage.total_tokens) == (130, 100, 25, 20, 155)
    assert usage.prompt_tokens == 130


def test_tool_calls_are_function_call_items_after_the_message():
    _, _, response = responses_of({"content": "On it", "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get", "arguments": '{"a": 1}'}},
        {"id": "call_2", "type": "function", "function": {"name": "get", "arguments": ""}}]}, "tool_calls",
        tools=TOOLS)
    assert [item.type for item in response.output] == ["message", "function_call", "function_call"]
    calls = response.output[1:]
    assert [(c.call_id, c.name, c.arguments, c.status) for c in calls] == [
        ("call_1", "get", '{"a": 1}', "completed"), ("call_2", "get", "{}", "completed")]
    assert all(c.id.startswith("fc_") for c in calls) and response.status == "completed"


def test_custom_and_namespaced_tools_come_back_as_the_client_declared_them():
    _, _, response = responses_of({"content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "apply_patch", "arguments": '{"input": "*** P"}'}},
        {"id": "c2", "type": "function", "function": {"name": "files__read", "arguments": "{}"}}]}, "tool_calls",
        tools=TOOLS)
    custom, namespaced = response.output
    assert (custom.type, custom.name, custom.input) == ("custom_tool_call", "apply_patch", "*** P")
    assert (namespaced.type, namespaced.name, namespaced.namespace) == ("function_call", "read", "files")


@pytest.mark.parametrize(("finish", "reason"), [("length", "max_output_tokens"), ("content_filter", "content_filter")])
def test_a_cut_answer_is_incomplete_with_its_reason(finish: str, reason: str):
    _, _, response = responses_of({"content": "partial"}, finish)
    assert response.status == "incomplete" and response.incomplete_details.reason == reason
    assert response.output[0].status == "incomplete"


def test_a_refusal_is_a_refusal_part():
    _, _, response = responses_of({"content": None, "refusal": "No."})
    assert response.output[0].content[0].type == "refusal" and response.output[0].content[0].refusal == "No."


def test_reasoning_comes_first_as_a_summary_when_asked_for():
    _, _, response = responses_of({"content": "x", "reasoning_content": "thought"},
                                  reasoning={"effort": "high", "summary": "detailed"})
    assert [item.type for item in response.output] == ["reasoning", "message"]
    assert response.output[0].summary[0].text == "thought" and response.output[0].content is None


def test_reasoning_without_a_summary_asked_for_is_reasoning_text():
    _, _, response = responses_of({"content": "x", "reasoning": "raw"})
    assert response.output[0].summary == [] and response.output[0].content[0].text == "raw"


def test_signed_thinking_is_encrypted_content_only_when_include_asks_for_it():
    message = {"content": "x", "reasoning_content": "t",
               "thinking_blocks": [{"type": "thinking", "thinking": "t", "signature": "s"}]}
    _, _, with_token = responses_of(message, include=["reasoning.encrypted_content"])
    _, _, without = responses_of(message)
    assert with_token.output[0].encrypted_content.startswith("llmswitch.reasoning.v1:")
    assert without.output[0].encrypted_content is None


def test_the_request_settings_are_echoed():
    _, _, response = responses_of(
        {"content": "x"}, instructions="be brief", tools=TOOLS, tool_choice={"type": "function", "name": "get"},
        parallel_tool_calls=False, temperature=0.5, top_p=0.8, max_output_tokens=256, metadata={"k": "v"},
        store=False, previous_response_id="resp_0", truncation="auto", reasoning={"effort": "low"},
        text={"format": {"type": "json_schema", "name": "r", "schema": {"type": "object"}, "strict": True},
              "verbosity": "high"}, user="u1", prompt_cache_key="pk")
    assert (response.instructions, response.parallel_tool_calls, response.temperature, response.top_p,
            response.max_output_tokens, response.metadata, response.store, response.previous_response_id,
            response.truncation, response.reasoning.effort, response.user, response.prompt_cache_key) == (
        "be brief", False, 0.5, 0.8, 256, {"k": "v"}, False, "resp_0", "auto", "low", "u1", "pk")
    assert response.tool_choice.name == "get" and [t.type for t in response.tools] == [
        "function", "custom", "namespace", "web_search"]
    assert response.text.format.type == "json_schema" and response.text.verbosity == "high"


def test_defaults_are_echoed_as_openai_reports_them():
    _, _, response = responses_of({"content": "x"})
    assert (response.tool_choice, response.tools, response.parallel_tool_calls, response.store, response.truncation,
            response.temperature, response.top_p, response.text.format.type, response.metadata) == (
        "auto", [], True, True, "disabled", 1.0, 1.0, "text", {})


# --- Responses -> Chat -----------------------------------------------------------------------

RESPONSE = {
    "id": "resp_up", "object": "response", "created_at": 1700000000, "status": "completed", "model": "gpt-up",
    "tools": [], "tool_choice": "auto", "parallel_tool_calls": True,
    "output": [{"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": "plan"}]},
               {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": "Hi", "annotations": []}]},
               {"id": "fc_1", "type": "function_call", "call_id": "call_1", "name": "get", "arguments": '{"a":1}'},
               {"id": "ws_1", "type": "web_search_call", "status": "completed",
                "action": {"type": "search", "query": "q"}}],
    "usage": {"input_tokens": 50, "input_tokens_details": {"cached_tokens": 10, "cache_write_tokens": 0},
              "output_tokens": 9, "output_tokens_details": {"reasoning_tokens": 4}, "total_tokens": 59},
}


def chat_of(response: dict[str, Any]):
    body, usage = responses_to_chat_response(json.loads(json.dumps(response)), ResponseContext("client-model", "r"))
    return body, usage, openai.types.chat.ChatCompletion.model_validate(body)


def test_the_sdk_fixture_is_a_valid_response():
    validated(RESPONSE)


def test_a_response_becomes_a_chat_completion_with_text_calls_and_reasoning():
    body, usage, completion = chat_of(RESPONSE)
    message = completion.choices[0].message
    assert message.content == "Hi" and body["choices"][0]["message"]["reasoning_content"] == "plan"
    assert [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls] == [
        ("call_1", "get", '{"a":1}')]
    assert completion.choices[0].finish_reason == "tool_calls" and completion.model == "client-model"
    assert (completion.usage.prompt_tokens, completion.usage.prompt_tokens_details.cached_tokens,
            completion.usage.completion_tokens_details.reasoning_tokens) == (50, 10, 4)
    assert usage.total_tokens == 59


def test_cache_writes_of_a_response_reach_the_chat_usage_and_the_bill():
    written = {**RESPONSE, "usage": {**RESPONSE["usage"],
                                     "input_tokens_details": {"cached_tokens": 10, "cache_write_tokens": 30}}}
    _, usage, completion = chat_of(written)
    assert completion.usage.prompt_tokens_details.cache_write_tokens == 30
    assert (usage.prompt_tokens, usage.cached_tokens, usage.cache_write_tokens) == (50, 10, 30)


def test_a_response_whose_usage_is_not_an_object_is_malformed():
    with pytest.raises(MalformedAnswer):
        chat_of({**RESPONSE, "usage": "lots"})


def test_an_incomplete_response_finishes_with_length():
    _, _, completion = chat_of({**RESPONSE, "status": "incomplete", "output": RESPONSE["output"][1:2],
                                "incomplete_details": {"reason": "max_output_tokens"}})
    assert completion.choices[0].finish_reason == "length"


def test_a_failed_response_is_the_upstreams_error():
    with pytest.raises(GatewayError) as caught:
        chat_of({**RESPONSE, "status": "failed", "error": {"code": "rate_limit_exceeded", "message": "slow"}})
    assert caught.value.status == 429 and caught.value.message == "slow"


def test_an_anthropic_client_reaches_a_responses_upstream_through_the_chat_form():
    translate = chain_responses(responses_to_chat_response, openai_to_anthropic_response)
    body, usage = translate(json.loads(json.dumps(RESPONSE)), ResponseContext("client-model", "r"))
    message = anthropic.types.Message.model_validate(body)
    assert [block.type for block in message.content] == ["text", "tool_use"]
    assert message.stop_reason == "tool_use" and usage.prompt_tokens == 50


def test_the_passthrough_rewrites_only_the_model():
    body, usage = passthrough_response(json.loads(json.dumps(RESPONSE)), ResponseContext("client-model"))
    assert body == {**RESPONSE, "model": "client-model"} and usage.cached_tokens == 10
