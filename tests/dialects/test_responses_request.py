"""Requests between the Responses API and Chat Completions, and the checks of /v1/responses."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from llmswitch.dialects.anthropic_request import anthropic_to_openai_request
from llmswitch.dialects.chain import chain_requests
from llmswitch.dialects.responses import encode_reasoning
from llmswitch.dialects.responses_request import (chat_to_responses_request, responses_to_chat_request,
                                                  validate_request)
from llmswitch.dialects.types import RequestOptions
from llmswitch.errors import GatewayError
from llmswitch.fake_upstream.responses import check as fake_check

OPTIONS = RequestOptions("up-model", stream=False)
LENIENT = RequestOptions("up-model", stream=False, drop_unsupported=True)
HI_ITEM = {"role": "user", "content": "hi"}


def chat(body: dict[str, Any], options: RequestOptions = OPTIONS):
    return responses_to_chat_request({"model": "m", **body}, options)


def messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    return chat(body).body["messages"]


def refused(body: dict[str, Any]) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        validate_request({"model": "m", "input": "hi", **body})
    assert caught.value.status == 400
    return caught.value


# --- Responses -> Chat: input ----------------------------------------------------------------

def test_string_input_is_one_user_message_after_the_instructions():
    assert messages({"input": "hi", "instructions": "be brief"}) == [
        {"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]


def test_developer_and_system_messages_are_system_messages_in_place():
    out = messages({"input": [{"role": "developer", "content": "rules"}, {"role": "user", "content": "q"},
                              {"type": "message", "role": "system", "content": [{"type": "input_text", "text": "s"}]}]})
    assert out == [{"role": "system", "content": "rules"}, {"role": "user", "content": "q"},
                   {"role": "system", "content": "s"}]


def test_user_parts_become_chat_parts():
    out = messages({"input": [{"role": "user", "content": [
        {"type": "input_text", "text": "look"},
        {"type": "input_image", "image_url": "https://x/a.png", "detail": "high"},
        {"type": "input_file", "file_data": "data:application/pdf;base64,JVBE", "filename": "a.pdf"},
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}]}]})
    assert out[0]["content"] == [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "https://x/a.png", "detail": "high"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE", "filename": "a.pdf"}},
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}]


def test_an_image_detail_chat_does_not_know_is_left_out():
    out = messages({"input": [{"role": "user", "content": [
        {"type": "input_image", "image_url": "https://x/a.png", "detail": "original"}]}]})
    assert out[0]["content"] == [{"type": "image_url", "image_url": {"url": "https://x/a.png"}}]


def test_an_image_by_file_id_is_a_feature_the_target_lacks():
    body = {"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file_1", "detail": "auto"}]}]}
    with pytest.raises(GatewayError) as caught:
        chat(body)
    assert caught.value.param == "input[0].content[0]"
    assert "input.content.input_image.file_id" in chat(body, LENIENT).dropped


def test_calls_and_outputs_pair_into_one_assistant_turn_and_tool_messages():
    out = messages({"input": [
        {"role": "user", "content": "weather?"},
        {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed",
         "content": [{"type": "output_text", "text": "Checking.", "annotations": []}]},
        {"type": "function_call", "id": "fc_1", "call_id": "call_a", "name": "get", "arguments": '{"c": "Paris"}'},
        {"type": "function_call", "id": "fc_2", "call_id": "call_b", "name": "get", "arguments": ""},
        {"type": "function_call_output", "call_id": "call_a", "output": "sunny"},
        {"type": "function_call_output", "call_id": "call_b", "output": [{"type": "input_text", "text": "rain"}]}]})
    assert out == [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "call_a", "type": "function", "function": {"name": "get", "arguments": '{"c": "Paris"}'}},
            {"id": "call_b", "type": "function", "function": {"name": "get", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_a", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_b", "content": "rain"}]


def test_an_output_without_call_id_answers_the_oldest_unanswered_call():
    out = messages({"input": [{"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
                              {"type": "function_call_output", "output": "ok"}]})
    assert out[-1] == {"role": "tool", "tool_call_id": "c1", "content": "ok"}


def test_an_output_for_no_call_is_a_400_naming_it():
    with pytest.raises(GatewayError) as caught:
        chat({"input": [{"role": "user", "content": "x"}, {"type": "function_call_output", "call_id": "nope",
                                                           "output": "ok"}]})
    assert caught.value.param == "input[1].call_id" and "nope" in caught.value.message


def test_images_in_a_tool_output_follow_the_tool_messages_as_a_user_message():
    out = messages({"input": [
        {"type": "function_call", "call_id": "c1", "name": "shot", "arguments": "{}"},
        {"type": "function_call", "call_id": "c2", "name": "shot", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": [
            {"type": "input_text", "text": "here"}, {"type": "input_image", "image_url": "data:image/png;base64,AA"}]},
        {"type": "function_call_output", "call_id": "c2", "output": "none"}]})
    assert [m["role"] for m in out] == ["assistant", "tool", "tool", "user"]
    assert out[-1]["content"] == [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}]


def test_a_custom_tool_call_in_history_is_a_call_of_its_function_with_the_input_wrapped():
    out = messages({"tools": [{"type": "custom", "name": "apply_patch"}], "input": [
        {"type": "custom_tool_call", "call_id": "c1", "name": "apply_patch", "input": "*** Begin Patch"},
        {"type": "custom_tool_call_output", "call_id": "c1", "output": "done"}]})
    arguments = out[0]["tool_calls"][0]["function"]["arguments"]
    assert json.loads(arguments) == {"input": "*** Begin Patch"}
    assert out[1] == {"role": "tool", "tool_call_id": "c1", "content": "done"}


def test_a_namespaced_call_in_history_uses_the_flattened_name():
    out = messages({"input": [{"type": "function_call", "call_id": "c", "name": "read", "namespace": "files",
                               "arguments": "{}"}, {"type": "function_call_output", "call_id": "c", "output": "x"}]})
    assert out[0]["tool_calls"][0]["function"]["name"] == "files__read"


def test_our_reasoning_token_puts_the_thinking_blocks_on_the_assistant_turn():
    blocks = [{"type": "thinking", "thinking": "plan", "signature": "sig=="},
              {"type": "redacted_thinking", "data": "x"}]
    out = messages({"input": [
        {"role": "user", "content": "go"},
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": encode_reasoning(blocks)},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "ok"}]})
    assert out[1]["thinking_blocks"] == blocks and out[1]["tool_calls"][0]["id"] == "c1"


def test_foreign_reasoning_is_dropped_and_listed_and_leaves_no_empty_turn():
    translated = chat({"input": [{"role": "user", "content": "go"},
                                 {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAAB..."},
                                 {"role": "user", "content": "again"}]})
    assert [m["role"] for m in translated.body["messages"]] == ["user", "user"]
    assert translated.dropped == ["input.reasoning"]


def test_a_damaged_reasoning_token_of_ours_is_a_400():
    with pytest.raises(GatewayError) as caught:
        chat({"input": [{"type": "reasoning", "id": "rs", "summary": [],
                         "encrypted_content": "llmswitch.reasoning.v1:!!!"}, {"role": "user", "content": "x"}]})
    assert caught.value.param == "input[0].encrypted_content"


def test_items_of_hosted_tools_are_dropped_and_listed():
    translated = chat({"input": [{"role": "user", "content": "x"},
                                 {"type": "web_search_call", "id": "ws_1", "status": "completed"},
                                 {"type": "item_reference", "id": "msg_9"}]})
    assert translated.dropped == ["input.web_search_call", "input.item_reference"]
    assert len(translated.body["messages"]) == 1


# --- Responses -> Chat: tools and settings ---------------------------------------------------

def test_flat_function_tools_become_nested_chat_functions():
    tools = chat({"input": "x", "tools": [{"type": "function", "name": "get", "description": "Get it",
                                           "parameters": {"type": "object"}, "strict": True}]}).body["tools"]
    assert tools == [{"type": "function", "function": {"name": "get", "description": "Get it",
                                                        "parameters": {"type": "object"}, "strict": True}}]


def test_a_custom_tool_is_a_function_of_one_string_with_its_grammar_described():
    tool = chat({"input": "x", "tools": [{"type": "custom", "name": "apply_patch", "description": "Patch files.",
                                          "format": {"type": "grammar", "syntax": "lark",
                                                     "definition": "start: begin"}}]}).body["tools"][0]
    function = tool["function"]
    assert function["name"] == "apply_patch"
    assert function["parameters"]["properties"] == {"input": {"type": "string"}}
    assert function["parameters"]["required"] == ["input"]
    assert function["description"].startswith("Patch files.") and "start: begin" in function["description"]


def test_namespace_members_become_functions_named_after_their_namespace():
    tools = chat({"input": "x", "tools": [{"type": "namespace", "name": "mcp", "description": "d", "tools": [
        {"type": "function", "name": "ls", "parameters": {"type": "object"}},
        {"type": "custom", "name": "edit"}]}]}).body["tools"]
    assert [t["function"]["name"] for t in tools] == ["mcp__ls", "mcp__edit"]


@pytest.mark.parametrize("kind", ["web_search", "file_search", "computer_use_preview", "mcp", "code_interpreter",
                                  "image_generation", "local_shell", "tool_search", "shell", "apply_patch"])
def test_hosted_tools_are_dropped_and_listed(kind: str):
    translated = chat({"input": "x", "tools": [{"type": kind}, {"type": "function", "name": "f"}]})
    assert [t["function"]["name"] for t in translated.body["tools"]] == ["f"]
    assert translated.dropped == [f"tools.{kind}"]


@pytest.mark.parametrize(("choice", "expected"), [
    ("required", "required"), ("none", "none"),
    ({"type": "function", "name": "f"}, {"type": "function", "function": {"name": "f"}}),
    ({"type": "custom", "name": "edit"}, {"type": "function", "function": {"name": "ns__edit"}}),
    ({"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "f"}]},
     {"type": "allowed_tools", "allowed_tools": {"mode": "required",
                                                 "tools": [{"type": "function", "function": {"name": "f"}}]}}),
])
def test_tool_choice_maps_to_chat(choice: Any, expected: Any):
    tools = [{"type": "function", "name": "f"}, {"type": "namespace", "name": "ns", "description": "",
                                                 "tools": [{"type": "custom", "name": "edit"}]}]
    assert chat({"input": "x", "tools": tools, "tool_choice": choice}).body["tool_choice"] == expected


def test_a_tool_choice_forcing_a_hosted_tool_is_dropped_and_listed():
    translated = chat({"input": "x", "tools": [{"type": "function", "name": "f"}, {"type": "web_search_preview"}],
                       "tool_choice": {"type": "web_search_preview"}})
    assert "tool_choice" not in translated.body and "tool_choice" in translated.dropped


def test_settings_map_to_their_chat_names():
    body = chat({"input": "x", "max_output_tokens": 500, "temperature": 0.2, "top_p": 0.9, "parallel_tool_calls": False,
                 "reasoning": {"effort": "high", "summary": "auto"}, "text": {"verbosity": "low"},
                 "user": "u", "safety_identifier": "s", "prompt_cache_key": "k", "service_tier": "flex",
                 "tools": [{"type": "function", "name": "f"}]}).body
    assert {key: body[key] for key in ("max_completion_tokens", "temperature", "top_p", "parallel_tool_calls",
                                       "reasoning_effort", "verbosity", "user", "safety_identifier",
                                       "prompt_cache_key", "service_tier")} == {
        "max_completion_tokens": 500, "temperature": 0.2, "top_p": 0.9, "parallel_tool_calls": False,
        "reasoning_effort": "high", "verbosity": "low", "user": "u", "safety_identifier": "s",
        "prompt_cache_key": "k", "service_tier": "flex"}


@pytest.mark.parametrize(("fmt", "expected"), [
    ({"type": "text"}, None), ({"type": "json_object"}, {"type": "json_object"}),
    ({"type": "json_schema", "name": "pt", "schema": {"type": "object"}, "strict": True},
     {"type": "json_schema", "json_schema": {"name": "pt", "schema": {"type": "object"}, "strict": True}}),
])
def test_text_format_becomes_response_format(fmt: dict[str, Any], expected: Any):
    assert chat({"input": "x", "text": {"format": fmt}}).body.get("response_format") == expected


def test_gateway_fields_never_reach_the_upstream_and_are_not_listed():
    translated = chat({"input": "x", "store": True, "background": False, "include": ["reasoning.encrypted_content"],
                       "previous_response_id": "resp_1", "metadata": {"a": "b"}, "client_metadata": {"x": "y"},
                       "stream_options": {"include_obfuscation": False}, "truncation": "disabled"})
    assert set(translated.body) == {"model", "messages", "stream"} and translated.dropped == []


def test_hints_without_a_chat_form_are_dropped_and_listed():
    translated = chat({"input": "x", "truncation": "auto", "top_logprobs": 3, "context_management": [{"type": "c"}],
                       "include": ["reasoning.encrypted_content", "message.output_text.logprobs"]})
    assert set(translated.dropped) == {"truncation", "top_logprobs", "context_management",
                                       "include.message.output_text.logprobs"}


@pytest.mark.parametrize("field", ["prompt", "conversation"])
def test_what_lives_only_at_openai_is_refused_unless_dropping_is_allowed(field: str):
    body = {"input": "x", field: {"id": "p_1"}}
    with pytest.raises(GatewayError) as caught:
        chat(body)
    assert caught.value.param == field
    assert chat(body, LENIENT).dropped == [field]


def test_a_stream_asks_the_upstream_for_usage():
    body = chat({"input": "x", "stream": True}, RequestOptions("up", stream=True)).body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_the_clients_body_is_left_unchanged():
    body = {"model": "m", "input": [{"type": "custom_tool_call", "call_id": "c", "name": "e", "input": "x"}],
            "tools": [{"type": "custom", "name": "e"}]}
    before = copy.deepcopy(body)
    responses_to_chat_request(body, OPTIONS)
    assert body == before


# --- Chat -> Responses -----------------------------------------------------------------------

def responses(body: dict[str, Any], options: RequestOptions = OPTIONS):
    return chat_to_responses_request({"model": "m", **body}, options)


def test_chat_messages_become_input_items_in_order():
    out = responses({"messages": [
        {"role": "system", "content": "rules"}, {"role": "user", "content": [
            {"type": "text", "text": "see"}, {"type": "image_url", "image_url": {"url": "https://x/a.png"}}]},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get", "arguments": '{"a":1}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok"}]}).body
    assert out["input"] == [
        {"type": "message", "role": "system", "content": "rules"},
        {"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "see"},
            {"type": "input_image", "image_url": "https://x/a.png", "detail": "auto"}]},
        {"type": "function_call", "call_id": "c1", "name": "get", "arguments": '{"a":1}'},
        {"type": "function_call_output", "call_id": "c1", "output": "ok"}]
    assert out["store"] is False


def test_chat_tools_become_flat_and_keep_chats_strictness():
    out = responses({"messages": [{"role": "user", "content": "x"}], "tools": [
        {"type": "function", "function": {"name": "get", "parameters": {"type": "object"}}},
        {"type": "custom", "custom": {"name": "grep", "format": {"type": "grammar", "grammar": {
            "definition": "s: /x/", "syntax": "lark"}}}}],
        "tool_choice": {"type": "function", "function": {"name": "get"}}}).body
    assert out["tools"] == [{"type": "function", "name": "get", "parameters": {"type": "object"}, "strict": False},
                            {"type": "custom", "name": "grep",
                             "format": {"type": "grammar", "definition": "s: /x/", "syntax": "lark"}}]
    assert out["tool_choice"] == {"type": "function", "name": "get"}


def test_chat_settings_map_to_their_responses_names():
    out = responses({"messages": [{"role": "user", "content": "x"}], "max_completion_tokens": 300,
                     "reasoning_effort": "low", "verbosity": "high", "response_format": {
                         "type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object"}}}}).body
    assert out["max_output_tokens"] == 300 and out["reasoning"] == {"effort": "low"}
    assert out["text"] == {"verbosity": "high", "format": {"type": "json_schema", "name": "r",
                                                           "schema": {"type": "object"}}}


def test_a_max_tokens_below_the_responses_minimum_is_raised_and_listed():
    translated = responses({"messages": [{"role": "user", "content": "x"}], "max_tokens": 5})
    assert translated.body["max_output_tokens"] == 16 and translated.dropped == ["max_tokens"]


def test_stop_has_no_responses_form_and_is_refused_unless_dropping_is_allowed():
    body = {"messages": [{"role": "user", "content": "x"}], "stop": ["END"]}
    with pytest.raises(GatewayError) as caught:
        responses(body)
    assert caught.value.param == "stop"
    assert responses(body, LENIENT).dropped == ["stop"]


def test_a_custom_tool_result_answers_as_a_custom_tool_call_output():
    items = responses({"messages": [
        {"role": "user", "content": "x"},
        {"role": "assistant", "tool_calls": [{"id": "c", "type": "custom", "custom": {"name": "g", "input": "q"}}]},
        {"role": "tool", "tool_call_id": "c", "content": "hit"}]}).body["input"]
    assert items[1:] == [{"type": "custom_tool_call", "call_id": "c", "name": "g", "input": "q"},
                         {"type": "custom_tool_call_output", "call_id": "c", "output": "hit"}]


# --- validation ------------------------------------------------------------------------------

def test_a_codex_request_is_valid():
    validate_request({
        "model": "gpt-5-codex", "instructions": None, "store": False, "stream": True,
        "include": ["reasoning.encrypted_content"], "prompt_cache_key": "abc", "client_metadata": {"a": "b"},
        "reasoning": {"effort": "medium", "summary": "auto"}, "text": {"verbosity": "low"},
        "tools": [{"type": "function", "name": "shell", "parameters": {"type": "object"}, "strict": False},
                  {"type": "custom", "name": "apply_patch", "format": {"type": "grammar", "syntax": "lark",
                                                                        "definition": "start: x"}},
                  {"type": "namespace", "name": "mcp", "description": "", "tools": [{"type": "function", "name": "a"}]},
                  {"type": "tool_search"}, {"type": "web_search"}],
        "tool_choice": "auto", "parallel_tool_calls": False,
        "input": [{"type": "message", "role": "developer", "id": "m1",
                   "content": [{"type": "input_text", "text": "x"}]},
                  {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "opaque"},
                  {"type": "function_call", "id": "fc", "call_id": "c", "name": "shell", "arguments": "{}"},
                  {"type": "function_call_output", "call_id": "c", "output": "ok"}]})


@pytest.mark.parametrize(("body", "param"), [
    ({"model": ""}, "model"),
    ({"input": 3}, "input"),
    ({"input": ["hi"]}, "input[0]"),
    ({"input": [{"role": "tool", "content": "x"}]}, "input[0].role"),
    ({"input": [{"role": "user"}]}, "input[0].content"),
    ({"input": [{"role": "user", "content": [{"type": "input_text"}]}]}, "input[0].content[0].text"),
    ({"input": [{"type": "input_text", "text": "a part where an item belongs"}]}, "input[0].type"),
    ({"input": [{"role": "user", "content": [{"type": "input_image", "detail": "auto"}]}]},
     "input[0].content[0].image_url"),
    ({"input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": {}}]}, "input[0].arguments"),
    ({"input": [{"type": "function_call_output", "call_id": "c"}]}, "input[0].output"),
    ({"temperature": 3}, "temperature"),
    ({"top_p": -1}, "top_p"),
    ({"max_output_tokens": 8}, "max_output_tokens"),
    ({"stream": "yes"}, "stream"),
    ({"background": True, "store": False}, "background"),
    ({"previous_response_id": "resp_1", "conversation": "conv_1"}, "previous_response_id"),
    ({"include": "reasoning.encrypted_content"}, "include"),
    ({"metadata": {"a": 1}}, "metadata"),
    ({"text": {"format": {"type": "xml"}}}, "text.format.type"),
    ({"text": {"format": {"type": "json_schema", "schema": {}}}}, "text.format.name"),
    ({"tools": [{"name": "f"}]}, "tools[0].type"),
    ({"tools": [{"type": "function"}]}, "tools[0].name"),
    ({"tools": [{"type": "function", "name": "f", "function": {"name": "f"}}]}, "tools[0].function"),
    ({"tools": [{"type": "function", "name": "f"}], "tool_choice": {"type": "function", "name": "g"}}, "tool_choice"),
    ({"tool_choice": "always"}, "tool_choice"),
])
def test_client_errors_are_400s_naming_the_param(body: dict[str, Any], param: str):
    assert refused(body).param == param


def test_input_may_be_left_out_when_a_previous_response_supplies_it():
    validate_request({"model": "m", "previous_response_id": "resp_1"})
    with pytest.raises(GatewayError):
        validate_request({"model": "m"})


def test_validation_errors_use_openais_error_shape():
    body = refused({"temperature": 9}).openai_body()
    assert body["error"]["type"] == "invalid_request_error" and body["error"]["param"] == "temperature"


def test_a_type_that_is_not_a_plain_name_is_listed_as_unknown():  # the header carries the client's own text
    translated = chat({"input": [HI_ITEM, {"type": "x\r\nset-cookie: a=b"}], "tools": [{"type": "Web Search"}]})
    assert translated.dropped == ["input.unknown", "tools.unknown"]


CHAT_CONVERSATION = {"model": "m", "messages": [
    {"role": "developer", "content": "rules"},
    {"role": "user", "content": [{"type": "text", "text": "see"},
                                 {"type": "image_url", "image_url": {"url": "https://x/a.png", "detail": "low"}}]},
    {"role": "assistant", "content": "Looking.", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "get", "arguments": '{"a":1}'}},
        {"id": "c2", "type": "custom", "custom": {"name": "grep", "input": "foo"}}]},
    {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "ok"}]},
    {"role": "tool", "tool_call_id": "c2", "content": "hit"},
    {"role": "user", "content": "thanks"}],
    "tools": [{"type": "function", "function": {"name": "get", "parameters": {"type": "object"}}},
              {"type": "custom", "custom": {"name": "grep"}}],
    "tool_choice": "auto", "parallel_tool_calls": False, "max_completion_tokens": 100, "temperature": 0.5,
    "response_format": {"type": "json_object"}, "user": "u", "stream": True}


def test_a_chat_conversation_becomes_a_request_the_responses_api_accepts():
    body = chat_to_responses_request(CHAT_CONVERSATION, RequestOptions("up", stream=True)).body
    validate_request(body)
    fake_check(body, [])  # the fake upstream's copy of the real API's checks: unknown parameters, pairing


def test_a_claude_code_request_reaches_a_responses_deployment_through_the_chat_form():
    translate = chain_requests(anthropic_to_openai_request, chat_to_responses_request)
    translated = translate({
        "model": "claude", "max_tokens": 32000, "stream": True, "metadata": {"user_id": '{"session": "s"}'},
        "system": [{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}],
        "thinking": {"type": "enabled", "budget_tokens": 4000}, "context_management": {"edits": []},
        "tools": [{"name": "Bash", "input_schema": {"$schema": "x", "type": "object"}, "defer_loading": True}],
        "messages": [{"role": "user", "content": "ls"},
                     {"role": "assistant", "content": [
                         {"type": "thinking", "thinking": "t", "signature": "s"},
                         {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}]},
                     {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "a"}]}]},
        RequestOptions("up", stream=True))
    validate_request(translated.body)
    fake_check(translated.body, [])
    assert [item["type"] for item in translated.body["input"]] == [
        "message", "message", "function_call", "function_call_output"]
    assert {"thinking", "context_management"} <= set(translated.dropped)
