"""OpenAI <-> Anthropic request translation, the pass-through, and /v1/messages validation."""

from __future__ import annotations

import copy
import json
import re

import pytest

from llmswitch.dialects.anthropic_request import (anthropic_to_openai_request, anthropic_to_reasoning_openai_request,
                                                  openai_to_anthropic_request,
                                                  passthrough_request)
from llmswitch.dialects.types import RequestOptions
from llmswitch.errors import GatewayError
from llmswitch.surfaces.anthropic_messages import validate_request

OPTIONS = RequestOptions(upstream_model="claude-up", stream=False)
PNG = "iVBORw0KGgo="


def to_anthropic(messages, options=OPTIONS, **fields):
    return openai_to_anthropic_request({"model": "client", "messages": messages, **fields}, options).body


def call(call_id, name="lookup", arguments='{"q": 1}'):
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def rejected(param, messages=None, **fields):
    with pytest.raises(GatewayError) as caught:
        to_anthropic(messages or [{"role": "user", "content": "hi"}], **fields)
    assert caught.value.status == 400
    assert caught.value.param == param
    return caught.value


# --- OpenAI -> Anthropic -------------------------------------------------------------------

def test_model_becomes_the_deployments_upstream_model():
    assert to_anthropic([{"role": "user", "content": "hi"}])["model"] == "claude-up"


def test_system_and_developer_messages_are_lifted_and_joined_with_a_blank_line():
    body = to_anthropic([{"role": "system", "content": "A"}, {"role": "user", "content": "hi"},
                         {"role": "developer", "content": [{"type": "text", "text": "B"}]}])
    assert body["system"] == "A\n\nB"
    assert [m["role"] for m in body["messages"]] == ["user"]


def test_system_blocks_are_kept_as_blocks_when_one_carries_cache_control():
    cached = {"type": "text", "text": "A", "cache_control": {"type": "ephemeral"}}
    body = to_anthropic([{"role": "system", "content": [cached]}, {"role": "user", "content": "hi"}])
    assert body["system"] == [cached]


def test_consecutive_same_role_messages_are_merged():
    body = to_anthropic([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "a"},
                                                             {"type": "text", "text": "b"}]}]


def test_empty_text_parts_are_never_sent():  # shipped bug 6
    body = to_anthropic([{"role": "user", "content": [{"type": "text", "text": ""},
                                                      {"type": "text", "text": "x"}]},
                         {"role": "assistant", "content": "", "tool_calls": [call("c1")]},
                         {"role": "tool", "tool_call_id": "c1", "content": "r"}])
    texts = [b for m in body["messages"] for b in m["content"] if b["type"] == "text"]
    assert texts == [{"type": "text", "text": "x"}]


def test_assistant_text_comes_before_its_tool_use_blocks():
    body = to_anthropic([{"role": "user", "content": "hi"},
                         {"role": "assistant", "content": "Looking", "tool_calls": [call("c1")]},
                         {"role": "tool", "tool_call_id": "c1", "content": "r"}])
    assert body["messages"][1]["content"] == [
        {"type": "text", "text": "Looking"},
        {"type": "tool_use", "id": "c1", "name": "lookup", "input": {"q": 1}}]


@pytest.mark.parametrize("arguments", ["", None])
def test_empty_tool_arguments_become_an_empty_input_object(arguments):
    body = to_anthropic([{"role": "user", "content": "hi"},
                         {"role": "assistant", "tool_calls": [call("c1", arguments=arguments)]}])
    assert body["messages"][1]["content"][0]["input"] == {}


def test_invalid_tool_arguments_are_a_400_naming_the_field():
    rejected("messages.1.tool_calls.0.function.arguments",
             [{"role": "user", "content": "hi"}, {"role": "assistant", "tool_calls": [call("c1", arguments="{")]}])


def test_parallel_tool_results_become_one_user_turn_after_the_assistant_turn():
    body = to_anthropic([{"role": "user", "content": "hi"},
                         {"role": "assistant", "tool_calls": [call("a"), call("b")]},
                         {"role": "tool", "tool_call_id": "a", "content": "ra"},
                         {"role": "tool", "tool_call_id": "b", "content": "rb"},
                         {"role": "user", "content": "thanks"}])
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "a", "content": "ra"},
        {"type": "tool_result", "tool_use_id": "b", "content": "rb"},
        {"type": "text", "text": "thanks"}]


def test_parallel_tool_results_split_by_user_text_are_gathered_first_in_one_turn():
    body = to_anthropic([{"role": "user", "content": "hi"},
                         {"role": "assistant", "tool_calls": [call("a"), call("b")]},
                         {"role": "tool", "tool_call_id": "a", "content": "ra"},
                         {"role": "user", "content": "note"},
                         {"role": "tool", "tool_call_id": "b", "content": "rb"}])
    last = body["messages"][2]["content"]
    assert len(body["messages"]) == 3
    assert [b.get("tool_use_id") for b in last] == ["a", "b", None]


def test_tool_ids_anthropic_rejects_are_mapped_stably_in_calls_and_results():  # shipped bug 10
    messages = [{"role": "user", "content": "hi"},
                {"role": "assistant", "tool_calls": [call("call:1/x")]},
                {"role": "tool", "tool_call_id": "call:1/x", "content": "r"}]
    first, second = to_anthropic(messages), to_anthropic(copy.deepcopy(messages))
    use_id = first["messages"][1]["content"][0]["id"]
    assert re.fullmatch(r"[a-zA-Z0-9_-]+", use_id)
    assert first["messages"][2]["content"][0]["tool_use_id"] == use_id
    assert second["messages"][1]["content"][0]["id"] == use_id


def test_distinct_invalid_tool_ids_never_collide():
    body = to_anthropic([{"role": "user", "content": "hi"},
                         {"role": "assistant", "tool_calls": [call("a.b"), call("a:b")]}])
    ids = [b["id"] for b in body["messages"][1]["content"]]
    assert ids[0] != ids[1]


def test_data_url_images_become_base64_sources_without_detail():
    body = to_anthropic([{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "high"}}]}])
    assert body["messages"][0]["content"] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}]


def test_http_images_become_url_sources():
    body = to_anthropic([{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://x.test/a.jpg"}}]}])
    assert body["messages"][0]["content"][0]["source"] == {"type": "url", "url": "https://x.test/a.jpg"}


def test_unsupported_image_media_type_is_a_400():
    rejected("messages.0.content.0", [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": f"data:image/tiff;base64,{PNG}"}}]}])


def test_stop_string_becomes_a_stop_sequence_list():
    assert to_anthropic([{"role": "user", "content": "hi"}], stop="END")["stop_sequences"] == ["END"]
    assert to_anthropic([{"role": "user", "content": "hi"}], stop=["a", "b"])["stop_sequences"] == ["a", "b"]


def test_max_completion_tokens_wins_over_max_tokens():
    body = to_anthropic([{"role": "user", "content": "hi"}], max_completion_tokens=10, max_tokens=20)
    assert body["max_tokens"] == 10


def test_max_tokens_falls_back_to_the_deployment_default_then_4096():
    options = RequestOptions("claude-up", False, max_tokens_default=1234)
    assert to_anthropic([{"role": "user", "content": "hi"}], options)["max_tokens"] == 1234
    assert to_anthropic([{"role": "user", "content": "hi"}])["max_tokens"] == 4096
    assert to_anthropic([{"role": "user", "content": "hi"}], max_tokens=7)["max_tokens"] == 7


def test_temperature_above_one_is_clamped_not_rescaled():
    assert to_anthropic([{"role": "user", "content": "hi"}], temperature=1.7)["temperature"] == 1.0
    assert to_anthropic([{"role": "user", "content": "hi"}], temperature=0.3)["temperature"] == 0.3


def test_more_than_one_choice_is_a_400_naming_n():
    rejected("n", n=2)


@pytest.mark.parametrize("param,value", [("logprobs", True), ("logit_bias", {"1": 2}), ("top_logprobs", 2)])
def test_features_anthropic_lacks_are_a_400_naming_them(param, value):
    rejected(param, **{param: value})


@pytest.mark.parametrize("param,value", [("seed", 7), ("presence_penalty", 0.5), ("frequency_penalty", 0.5)])
def test_sampling_hints_anthropic_lacks_are_dropped_and_listed_never_refused(param, value):
    translated = openai_to_anthropic_request({"model": "m", "messages": [{"role": "user", "content": "hi"}],
                                              param: value}, OPTIONS)
    assert translated.dropped == [param]
    assert param not in translated.body


def test_sampling_params_anthropic_lacks_are_dropped_and_listed_when_the_deployment_allows():
    options = RequestOptions("claude-up", False, drop_unsupported=True)
    translated = openai_to_anthropic_request(
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "seed": 1, "logprobs": True}, options)
    assert translated.dropped == ["logprobs", "seed"]
    assert "seed" not in translated.body and "logprobs" not in translated.body


def test_tools_map_to_input_schema_with_an_empty_object_when_parameters_are_missing():
    body = to_anthropic([{"role": "user", "content": "hi"}], tools=[
        {"type": "function", "function": {"name": "a", "description": "d", "parameters": {"type": "object"}}},
        {"type": "function", "function": {"name": "b"}}])
    assert body["tools"] == [{"name": "a", "description": "d", "input_schema": {"type": "object"}},
                             {"name": "b", "input_schema": {"type": "object", "properties": {}}}]


@pytest.mark.parametrize("choice,expected", [
    ("auto", {"type": "auto"}), ("required", {"type": "any"}), ("none", {"type": "none"}),
    ({"type": "function", "function": {"name": "a"}}, {"type": "tool", "name": "a"})])
def test_tool_choice_maps_to_anthropics_form(choice, expected):
    body = to_anthropic([{"role": "user", "content": "hi"}], tool_choice=choice,
                        tools=[{"type": "function", "function": {"name": "a"}}])
    assert body["tool_choice"] == expected


def test_parallel_tool_calls_false_disables_parallel_tool_use():
    body = to_anthropic([{"role": "user", "content": "hi"}], parallel_tool_calls=False,
                        tools=[{"type": "function", "function": {"name": "a"}}])
    assert body["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}


def test_json_schema_response_format_becomes_output_config_format():
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    body = to_anthropic([{"role": "user", "content": "hi"}],
                        response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": schema}})
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": schema}}


def test_response_format_with_user_tools_keeps_the_users_tools_untouched():  # litellm #7135
    tools = [{"type": "function", "function": {"name": "a"}}]
    body = to_anthropic([{"role": "user", "content": "hi"}], tools=tools, tool_choice="auto",
                        response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {}}})
    assert [tool["name"] for tool in body["tools"]] == ["a"]
    assert body["tool_choice"] == {"type": "auto"}
    assert "format" in body["output_config"]


def test_user_becomes_metadata_user_id():
    assert to_anthropic([{"role": "user", "content": "hi"}], user="u1")["metadata"] == {"user_id": "u1"}


def test_reasoning_effort_enables_a_thinking_budget_below_max_tokens_and_leaves_out_temperature():
    body = to_anthropic([{"role": "user", "content": "hi"}], reasoning_effort="high", max_tokens=10000,
                        temperature=0.5)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 5000}
    assert "temperature" not in body


def test_reasoning_effort_without_room_for_a_budget_leaves_thinking_off():
    body = to_anthropic([{"role": "user", "content": "hi"}], reasoning_effort="low", max_tokens=1500)
    assert "thinking" not in body


def test_stream_follows_the_deployment_options():
    assert to_anthropic([{"role": "user", "content": "hi"}], RequestOptions("c", True), stream=False)["stream"]


def test_unknown_openai_fields_never_reach_anthropic():
    body = to_anthropic([{"role": "user", "content": "hi"}], store=True, prompt_cache_key="k",
                        stream_options={"include_usage": True}, metadata={"a": "b"})
    assert not {"store", "prompt_cache_key", "stream_options"} & body.keys()
    assert "metadata" not in body


def test_thinking_blocks_from_an_earlier_answer_are_replayed_first_and_verbatim():  # shipped bug 9
    thinking = [{"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "redacted_thinking", "data": "opaque"}]
    body = to_anthropic([{"role": "user", "content": "hi"},
                         {"role": "assistant", "content": None, "reasoning_content": "hmm",
                          "thinking_blocks": thinking, "tool_calls": [call("c1")]},
                         {"role": "tool", "tool_call_id": "c1", "content": "r"}])
    assert body["messages"][1]["content"][:2] == thinking


def test_the_client_body_is_not_changed_so_a_failover_can_translate_it_again():
    original = {"model": "m", "messages": [
        {"role": "system", "content": [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}]},
        {"role": "user", "content": "a"}, {"role": "user", "content": [{"type": "text", "text": "b"}]},
        {"role": "assistant", "tool_calls": [call("x.y")]}, {"role": "tool", "tool_call_id": "x.y", "content": "r"}],
        "tools": [{"type": "function", "function": {"name": "a", "parameters": {"type": "object"}}}]}
    snapshot = copy.deepcopy(original)
    first = openai_to_anthropic_request(original, OPTIONS).body
    first["messages"][0]["content"].append({"type": "text", "text": "mutated"})
    first["tools"][0]["input_schema"]["x"] = 1
    assert original == snapshot


# --- Anthropic -> OpenAI -------------------------------------------------------------------

CLAUDE_CODE_BODY = {
    "model": "claude-sonnet-4-5", "max_tokens": 32000, "stream": True,
    "system": [{"type": "text", "text": "You are Claude Code."},
               {"type": "text", "text": "Env", "cache_control": {"type": "ephemeral"}}],
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "fix it", "cache_control": {"type": "ephemeral"}}]},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "hm", "signature": "s"},
                                          {"type": "text", "text": "Reading"},
                                          {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"p": "a"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "data",
                                      "cache_control": {"type": "ephemeral"}},
                                     {"type": "text", "text": "go on"}]}],
    "tools": [{"name": "Read", "description": "read", "input_schema": {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
        "properties": {"p": {"type": "string"}}, "additionalProperties": False}},
        {"name": "Later", "input_schema": {"type": "object"}, "defer_loading": True},
        {"type": "web_search_20250305", "name": "web_search"}],
    "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
    "thinking": {"type": "enabled", "budget_tokens": 4000, "display": "omitted"},
    "context_management": {"edits": [{"type": "clear_thinking_20251015"}]},
    "output_config": {"effort": "high"},
    "metadata": {"user_id": json.dumps({"device_id": "d" * 64, "session_id": "s" * 36})},
    "stop_sequences": ["a", "b", "c", "d", "e"],
}


def to_openai(body=CLAUDE_CODE_BODY, stream=True):
    return anthropic_to_openai_request(copy.deepcopy(body), RequestOptions("gpt-up", stream))


def test_claude_code_request_translates_without_failing_and_without_anthropic_only_fields():
    out = to_openai().body
    text = json.dumps(out)
    for field in ("cache_control", "defer_loading", "$schema", "thinking", "context_management", "output_config"):
        assert field not in text
    assert out["model"] == "gpt-up"
    assert out["max_completion_tokens"] == 32000


def test_system_blocks_become_one_system_message():
    assert to_openai().body["messages"][0] == {"role": "system", "content": "You are Claude Code.\n\nEnv"}


def test_tool_use_becomes_tool_calls_and_tool_results_come_before_the_users_text():
    messages = to_openai().body["messages"]
    assert messages[2] == {"role": "assistant", "content": "Reading", "tool_calls": [
        {"id": "toolu_1", "type": "function", "function": {"name": "Read", "arguments": '{"p": "a"}'}}]}
    assert messages[3] == {"role": "tool", "tool_call_id": "toolu_1", "content": "data"}
    assert messages[4] == {"role": "user", "content": [{"type": "text", "text": "go on"}]}


def test_server_tools_are_dropped_and_reported_while_custom_tools_are_kept():
    translated = to_openai()
    assert [t["function"]["name"] for t in translated.body["tools"]] == ["Read", "Later"]
    assert "tools" in translated.dropped


def test_disable_parallel_tool_use_becomes_parallel_tool_calls_false():
    out = to_openai().body
    assert out["tool_choice"] == "auto" and out["parallel_tool_calls"] is False


@pytest.mark.parametrize("choice,expected", [({"type": "any"}, "required"), ({"type": "none"}, "none"),
                                             ({"type": "tool", "name": "Read"},
                                              {"type": "function", "function": {"name": "Read"}})])
def test_anthropic_tool_choice_maps_to_openais(choice, expected):
    assert to_openai({**CLAUDE_CODE_BODY, "tool_choice": choice}).body["tool_choice"] == expected


def test_stop_sequences_are_cut_to_openais_four():
    assert to_openai().body["stop"] == ["a", "b", "c", "d"]


def test_a_long_json_user_id_becomes_a_short_stable_user():
    first, second = to_openai().body["user"], to_openai().body["user"]
    assert first == second and len(first) <= 64


def test_streaming_asks_the_openai_upstream_for_usage():
    assert to_openai(stream=True).body["stream_options"] == {"include_usage": True}
    assert "stream_options" not in to_openai(stream=False).body


def test_base64_images_become_data_urls():
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}]}]}
    part = to_openai(body).body["messages"][0]["content"][0]
    assert part == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}


def test_json_schema_output_format_becomes_response_format_without_dollar_schema():
    body = {**CLAUDE_CODE_BODY, "output_config": {"format": {"type": "json_schema", "schema": {
        "$schema": "x", "type": "object"}}}}
    assert to_openai(body).body["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "response", "schema": {"type": "object"}}}


def test_error_tool_results_are_marked_as_errors():
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "t", "is_error": True, "content": [{"type": "text", "text": "boom"}]}]}]}
    assert to_openai(body).body["messages"][0]["content"] == "Error: boom"


# --- Anthropic -> Anthropic ----------------------------------------------------------------

def test_passthrough_rewrites_only_the_model_and_keeps_everything_else():
    translated = passthrough_request(CLAUDE_CODE_BODY, RequestOptions("claude-up", True))
    assert translated.body == {**CLAUDE_CODE_BODY, "model": "claude-up"}
    assert CLAUDE_CODE_BODY["model"] == "claude-sonnet-4-5"


def test_passthrough_fills_a_missing_max_tokens_from_the_deployment_default():
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert passthrough_request(body, RequestOptions("c", False, max_tokens_default=99)).body["max_tokens"] == 99


# --- /v1/messages validation ---------------------------------------------------------------

VALID = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}


def test_a_valid_request_passes_validation():
    validate_request(VALID)
    validate_request(CLAUDE_CODE_BODY)


@pytest.mark.parametrize("change,param", [
    ({"model": None}, "model"),
    ({"max_tokens": None}, "max_tokens"),
    ({"max_tokens": -1}, "max_tokens"),
    ({"max_tokens": 1.5}, "max_tokens"),
    ({"messages": []}, "messages"),
    ({"messages": "hi"}, "messages"),
    ({"messages": [{"role": "tool", "content": "x"}]}, "messages.0.role"),
    ({"messages": [{"role": "system", "content": [{"type": "image", "source": {}}]}]}, "messages.0.content.0.type"),
    ({"messages": [{"role": "user", "content": [{"type": "mid_conv_system"}]}]}, "messages.0.content.0.content"),
    ({"messages": [{"role": "user", "content": [{"type": "mid_conv_system", "content": [{"type": "text"}]}]}]},
     "messages.0.content.0.content.0.text"),
    ({"messages": [{"role": "user", "content": [{"text": "x"}]}]}, "messages.0.content.0"),
    ({"messages": [{"role": "user", "content": [{"type": "text"}]}]}, "messages.0.content.0.text"),
    ({"messages": [{"role": "user", "content": [{"type": "tool_result"}]}]}, "messages.0.content.0.tool_use_id"),
    ({"temperature": 1.5}, "temperature"),
])
def test_invalid_messages_requests_are_400s_naming_the_field(change, param):
    body = {**VALID, **change}
    with pytest.raises(GatewayError) as caught:
        validate_request({k: v for k, v in body.items() if v is not None})
    assert (caught.value.status, caught.value.param) == (400, param)


# --- what clients send by default is mapped or dropped on purpose, never refused -------------

def anthropic(*messages, **fields):
    return {"model": "m", "max_tokens": 64, "messages": list(messages), **fields}


def user_blocks(*blocks):
    return {"role": "user", "content": list(blocks)}


def text(value, **extra):
    return {"type": "text", "text": value, **extra}


def mid_system(value):
    return {"type": "mid_conv_system", "content": [text(value)], "cache_control": {"type": "ephemeral"}}


def test_a_system_message_inside_messages_becomes_a_system_message_at_its_place():
    body = anthropic({"role": "user", "content": "a"}, {"role": "system", "content": [text("be brief")]},
                     {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"})
    assert [(m["role"], m["content"]) for m in to_openai(body).body["messages"]] == [
        ("user", "a"), ("system", "be brief"), ("assistant", "b"), ("user", "c")]


def test_a_mid_conv_system_block_splits_its_user_turn_after_the_tool_results():
    body = anthropic({"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
                     user_blocks(text("before"), mid_system("now in French"),
                                 {"type": "tool_result", "tool_use_id": "t1", "content": "r"}, text("after")))
    assert to_openai(body).body["messages"][1:] == [
        {"role": "tool", "tool_call_id": "t1", "content": "r"},
        {"role": "user", "content": [{"type": "text", "text": "before"}]},
        {"role": "system", "content": "now in French"},
        {"role": "user", "content": [{"type": "text", "text": "after"}]}]


def test_a_mid_conv_system_block_in_an_assistant_turn_goes_just_before_it():
    body = anthropic({"role": "user", "content": "a"},
                     {"role": "assistant", "content": [text("b"), mid_system("s"),
                                                       {"type": "tool_use", "id": "t", "name": "f", "input": {}}]},
                     user_blocks({"type": "tool_result", "tool_use_id": "t", "content": "r"}))
    assert [m["role"] for m in to_openai(body).body["messages"]] == ["user", "system", "assistant", "tool"]


def test_images_in_a_tool_result_follow_the_tool_message_in_a_user_message():
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
    body = anthropic(user_blocks({"type": "tool_result", "tool_use_id": "t", "content": [text("shot"), image]}))
    assert to_openai(body).body["messages"] == [
        {"role": "tool", "tool_call_id": "t", "content": "shot"},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]}]


@pytest.mark.parametrize("block", [
    {"type": "search_result", "title": "T", "source": "https://s", "content": [text("found")]},
    {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "found"}},
    {"type": "document", "source": {"type": "content", "content": [text("found")]}},
])
def test_text_bearing_blocks_become_text_parts(block):
    [message] = to_openai(anthropic(user_blocks(block))).body["messages"]
    assert message["content"][0]["type"] == "text" and message["content"][0]["text"].endswith("found")


@pytest.mark.parametrize("block,name", [
    ({"type": "thinking", "thinking": "t", "signature": "s"}, "messages.content.thinking"),
    ({"type": "server_tool_use", "id": "s", "name": "web_search", "input": {}}, "messages.content.server_tool_use"),
    ({"type": "document", "source": {"type": "url", "url": "https://x/a.pdf"}}, "messages.content.document"),
    ({"type": "image", "source": {"type": "file", "file_id": "f"}}, "messages.content.image"),
    ({"type": "container_upload", "file_id": "f"}, "messages.content.container_upload"),
    ({"type": "Odd,Type\r\nX: 1"}, "messages.content.unknown"),  # a client's text never shapes the header
])
def test_blocks_openai_has_no_form_for_are_left_out_and_listed(block, name):
    translated = to_openai(anthropic({"role": "user", "content": "hi"}, {"role": "assistant", "content": [block]}))
    assert name in translated.dropped
    assert translated.body["messages"] == [{"role": "user", "content": "hi"}]  # an empty turn is no turn


@pytest.mark.parametrize("field,value", [("context_management", {"edits": []}), ("speed", "fast"),
                                         ("container", "c1"), ("inference_geo", "us"), ("service_tier", "auto"),
                                         ("thinking", {"type": "adaptive"}), ("top_k", 5)])
def test_anthropic_fields_openai_cannot_express_are_listed(field, value):
    assert to_openai(anthropic({"role": "user", "content": "hi"}, **{field: value})).dropped == [field]


def test_output_config_effort_is_listed_towards_openai_which_may_not_reason():
    translated = to_openai(anthropic({"role": "user", "content": "hi"}, output_config={"effort": "high"}))
    assert translated.dropped == ["output_config.effort"] and "reasoning_effort" not in translated.body


def test_cache_control_and_defer_loading_are_left_out_without_being_listed():
    tool = {"name": "Later", "input_schema": {"type": "object"}, "defer_loading": True,
            "cache_control": {"type": "ephemeral"}}
    translated = to_openai(anthropic(user_blocks(text("hi", cache_control={"type": "ephemeral"})), tools=[tool],
                                     cache_control={"type": "ephemeral"}))
    assert translated.dropped == []
    assert translated.body["tools"] == [{"type": "function", "function": {"name": "Later",
                                                                          "parameters": {"type": "object"}}}]


def test_max_tokens_zero_a_cache_pre_warm_asks_openai_for_its_least():
    translated = to_openai(anthropic({"role": "user", "content": "hi"}, max_tokens=0))
    assert translated.body["max_completion_tokens"] == 1 and translated.dropped == ["max_tokens"]


def to_gemini_leg(body):
    return anthropic_to_reasoning_openai_request(body, RequestOptions("g", False))


@pytest.mark.parametrize("fields,effort", [
    ({"output_config": {"effort": "high"}, "thinking": {"type": "adaptive"}}, "high"),
    ({"output_config": {"effort": "max"}}, "max"),
    ({"thinking": {"type": "enabled", "budget_tokens": 1024}}, "low"),
    ({"thinking": {"type": "enabled", "budget_tokens": 5000}}, "medium"),
    ({"thinking": {"type": "enabled", "budget_tokens": 30000}}, "xhigh"),
])
def test_on_the_way_to_gemini_thinking_and_effort_become_reasoning_effort(fields, effort):
    translated = to_gemini_leg(anthropic({"role": "user", "content": "hi"}, **fields))
    assert translated.body["reasoning_effort"] == effort and translated.dropped == []


def test_on_the_way_to_gemini_adaptive_thinking_is_the_default_and_disabled_is_listed():
    adaptive = to_gemini_leg(anthropic({"role": "user", "content": "hi"}, thinking={"type": "adaptive"}))
    assert "reasoning_effort" not in adaptive.body and adaptive.dropped == []
    disabled = to_gemini_leg(anthropic({"role": "user", "content": "hi"}, thinking={"type": "disabled"}))
    assert "reasoning_effort" not in disabled.body and disabled.dropped == ["thinking"]


# --- OpenAI -> Anthropic: reasoning over a tool round trip ---------------------------------------

THINKING = {"type": "thinking", "thinking": "hmm", "signature": "sig"}


def round_trip(*later, thinking_blocks=None):
    assistant = {"role": "assistant", "content": None, "tool_calls": [call("c1")]}
    if thinking_blocks:
        assistant["thinking_blocks"] = thinking_blocks
    return openai_to_anthropic_request(
        {"model": "m", "messages": [{"role": "user", "content": "hi"}, assistant,
                                    {"role": "tool", "tool_call_id": "c1", "content": "r"}, *later],
         "reasoning_effort": "medium", "max_completion_tokens": 10000, "temperature": 0.5}, OPTIONS)


def test_a_replayed_tool_call_without_its_thinking_sends_the_request_with_thinking_off():
    translated = round_trip()
    assert "thinking" not in translated.body and translated.body["temperature"] == 0.5
    assert translated.dropped == ["reasoning_effort"]


def test_a_replayed_tool_call_with_its_thinking_blocks_keeps_thinking_on():
    translated = round_trip(thinking_blocks=[THINKING])
    assert translated.body["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    assert translated.dropped == []


def test_text_the_user_adds_to_the_tool_results_is_still_the_same_tool_loop():
    assert "thinking" not in round_trip({"role": "user", "content": "and then?"}).body


def test_a_new_user_turn_after_the_answer_turns_thinking_back_on():
    translated = round_trip({"role": "assistant", "content": "done"}, {"role": "user", "content": "thanks"})
    assert translated.body["thinking"] == {"type": "enabled", "budget_tokens": 4096}


def test_reasoning_effort_max_gets_the_largest_budget_that_fits():
    body = to_anthropic([{"role": "user", "content": "hi"}], reasoning_effort="max", max_completion_tokens=20000)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 10000}


# --- OpenAI -> Anthropic: everything else the OpenAI API accepts -----------------------------------

LENIENT = RequestOptions("claude-up", False, drop_unsupported=True)


def test_a_request_of_instructions_only_becomes_one_user_turn():
    body = to_anthropic([{"role": "system", "content": "Say hi."}])
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Say hi."}]}]
    assert "system" not in body


def test_a_json_schema_response_format_without_a_schema_asks_for_json():
    body = to_anthropic([{"role": "user", "content": "hi"}],
                        response_format={"type": "json_schema", "json_schema": {"name": "any"}})
    assert "output_config" not in body and "JSON" in body["system"]


def test_allowed_tools_sends_only_the_allowed_tools_with_their_mode():
    def tool(name):
        return {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}
    body = to_anthropic([{"role": "user", "content": "hi"}], tools=[tool("a"), tool("b")], tool_choice={
        "type": "allowed_tools", "allowed_tools": {"mode": "required", "tools": [
            {"type": "function", "function": {"name": "b"}}]}})
    assert [t["name"] for t in body["tools"]] == ["b"] and body["tool_choice"] == {"type": "any"}


LEGACY = [{"role": "user", "content": "hi"},
          {"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": "{}"}},
          {"role": "function", "name": "f", "content": "r"}]


def test_legacy_function_calling_is_a_400_naming_it():
    rejected("functions", LEGACY)


def test_legacy_function_calling_is_left_out_and_listed_when_the_deployment_allows():
    translated = openai_to_anthropic_request({"model": "m", "messages": LEGACY, "functions": [{"name": "f"}]}, LENIENT)
    assert translated.dropped == ["functions"]
    assert translated.body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]


CUSTOM_CALL = {"id": "k1", "type": "custom", "custom": {"name": "grep", "input": "x"}}
CUSTOM_HISTORY = [{"role": "user", "content": "hi"}, {"role": "assistant", "tool_calls": [CUSTOM_CALL]},
                  {"role": "tool", "tool_call_id": "k1", "content": "r"}]


def test_a_custom_tool_call_in_history_is_a_400_naming_it():
    rejected("messages.1.tool_calls.0", CUSTOM_HISTORY)


def test_a_custom_tool_call_and_its_result_are_left_out_when_the_deployment_allows():
    translated = openai_to_anthropic_request({"model": "m", "messages": CUSTOM_HISTORY}, LENIENT)
    assert translated.dropped == ["messages.tool_calls.custom"]
    assert [m["role"] for m in translated.body["messages"]] == ["user"]


@pytest.mark.parametrize("part,name", [
    ({"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}, "messages.content.input_audio"),
    ({"type": "file", "file": {"file_id": "file-1"}}, "messages.content.file"),
])
def test_parts_anthropic_cannot_read_are_400s_or_listed_when_the_deployment_allows(part, name):
    messages = [{"role": "user", "content": [{"type": "text", "text": "hi"}, part]}]
    rejected("messages.0.content.1", messages)
    translated = openai_to_anthropic_request({"model": "m", "messages": messages}, LENIENT)
    assert translated.dropped == [name]


# --- /v1/messages: what the API accepts is accepted, and passed through untouched ---------------

def test_mid_conversation_system_messages_and_blocks_pass_validation_and_the_passthrough_untouched():
    body = anthropic({"role": "user", "content": "a"}, {"role": "system", "content": "be brief"},
                     user_blocks(mid_system("in French"), text("b")), max_tokens=0)
    validate_request(body)
    assert passthrough_request(body, RequestOptions("claude-up", False)).body == {**body, "model": "claude-up"}
