"""Whole answers between Anthropic and OpenAI, checked against the official SDKs' models."""

from __future__ import annotations

import json

import anthropic.types
import openai.types.chat
import pytest

from llmswitch.dialects.anthropic_response import (anthropic_to_openai_response, openai_to_anthropic_response,
                                                   passthrough_response)
from llmswitch.dialects.types import ResponseContext

CTX = ResponseContext(client_model="client-model", request_id="req1")

MESSAGE = {
    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-up",
    "content": [{"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "text", "text": "Hello "}, {"type": "text", "text": "there"},
                {"type": "tool_use", "id": "toolu_1", "name": "get", "input": {"a": 1}},
                {"type": "tool_use", "id": "toolu_2", "name": "ping", "input": {}}],
    "stop_reason": "tool_use", "stop_sequence": None,
    "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 100,
              "cache_creation_input_tokens": 20},
}

COMPLETION = {
    "id": "chatcmpl-9", "object": "chat.completion", "created": 1, "model": "gpt-up",
    "choices": [{"index": 0, "finish_reason": "tool_calls", "logprobs": None, "message": {
        "role": "assistant", "content": "On it", "refusal": None,
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get", "arguments": '{"a": 1}'}},
                       {"id": "call.2", "type": "function", "function": {"name": "ping", "arguments": ""}}]}}],
    "usage": {"prompt_tokens": 130, "completion_tokens": 5, "total_tokens": 135,
              "prompt_tokens_details": {"cached_tokens": 100}},
}


def openai_of(message=MESSAGE):
    body, usage = anthropic_to_openai_response(json.loads(json.dumps(message)), CTX)
    openai.types.chat.ChatCompletion.model_validate(body)
    return body, usage


def anthropic_of(completion=COMPLETION):
    body, usage = openai_to_anthropic_response(json.loads(json.dumps(completion)), CTX)
    anthropic.types.Message.model_validate(body)
    return body, usage


# --- Anthropic -> OpenAI -------------------------------------------------------------------

def test_openai_completion_has_the_full_shape_and_the_clients_model():
    body, _ = openai_of()
    assert body["object"] == "chat.completion" and body["model"] == "client-model"
    choice = body["choices"][0]
    assert choice["index"] == 0 and choice["logprobs"] is None and choice["message"]["refusal"] is None


def test_text_blocks_are_concatenated_into_content():
    assert openai_of()[0]["choices"][0]["message"]["content"] == "Hello there"


def test_content_is_null_when_the_answer_is_only_tool_calls():
    message = {**MESSAGE, "content": [MESSAGE["content"][3]]}
    assert openai_of(message)[0]["choices"][0]["message"]["content"] is None


def test_tool_use_becomes_tool_calls_with_json_string_arguments_and_empty_object_for_none():
    calls = openai_of()[0]["choices"][0]["message"]["tool_calls"]
    assert calls == [{"id": "toolu_1", "type": "function", "function": {"name": "get", "arguments": '{"a": 1}'}},
                     {"id": "toolu_2", "type": "function", "function": {"name": "ping", "arguments": "{}"}}]


def test_tool_use_stop_reason_is_tool_calls_not_stop():  # shipped bug 3
    assert openai_of()[0]["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("stop,finish", [("end_turn", "stop"), ("stop_sequence", "stop"), ("pause_turn", "stop"),
                                         ("max_tokens", "length"), ("model_context_window_exceeded", "length"),
                                         ("refusal", "content_filter")])
def test_stop_reasons_map_to_finish_reasons(stop, finish):
    assert openai_of({**MESSAGE, "stop_reason": stop})[0]["choices"][0]["finish_reason"] == finish


def test_thinking_becomes_reasoning_content_and_keeps_its_signed_block():
    message = openai_of()[0]["choices"][0]["message"]
    assert message["reasoning_content"] == "hmm"
    assert message["thinking_blocks"] == [{"type": "thinking", "thinking": "hmm", "signature": "sig"}]


def test_prompt_tokens_include_cache_reads_and_writes_each_kept_apart():
    body, usage = openai_of()
    assert body["usage"] == {"prompt_tokens": 130, "completion_tokens": 5, "total_tokens": 135,
                             "prompt_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 20}}
    assert openai.types.chat.ChatCompletion.model_validate(body).usage.prompt_tokens_details.cache_write_tokens == 20
    assert (usage.prompt_tokens, usage.cached_tokens, usage.cache_write_tokens, usage.completion_tokens) == (
        130, 100, 20, 5)


# --- OpenAI -> Anthropic -------------------------------------------------------------------

def test_anthropic_message_has_the_full_shape_and_the_clients_model():
    body, _ = anthropic_of()
    assert body["type"] == "message" and body["role"] == "assistant" and body["model"] == "client-model"
    assert body["id"].startswith("msg_") and body["stop_sequence"] is None


def test_text_then_tool_use_blocks_with_parsed_input_and_empty_object_for_no_arguments():
    content = anthropic_of()[0]["content"]
    assert content[0] == {"type": "text", "text": "On it"}
    assert content[1] == {"type": "tool_use", "id": "call_1", "name": "get", "input": {"a": 1}}
    assert content[2]["input"] == {} and content[2]["id"] != "call.2"


def test_tool_calls_end_in_tool_use_even_when_the_upstream_says_stop():  # shipped bug 3 (#34692)
    completion = json.loads(json.dumps(COMPLETION))
    completion["choices"][0]["finish_reason"] = "stop"
    assert anthropic_of(completion)[0]["stop_reason"] == "tool_use"


@pytest.mark.parametrize("finish,stop", [("stop", "end_turn"), ("length", "max_tokens"),
                                         ("content_filter", "refusal")])
def test_finish_reasons_map_to_stop_reasons(finish, stop):
    completion = {**COMPLETION, "choices": [{"index": 0, "finish_reason": finish,
                                             "message": {"role": "assistant", "content": "x"}}]}
    assert anthropic_of(completion)[0]["stop_reason"] == stop


def test_input_tokens_exclude_cached_tokens():
    body, usage = anthropic_of()
    assert body["usage"] == {"input_tokens": 30, "output_tokens": 5, "cache_creation_input_tokens": 0,
                             "cache_read_input_tokens": 100}
    assert usage.prompt_tokens == 130


def test_an_openai_upstreams_cache_writes_become_anthropics_cache_creation_tokens():
    completion = {**COMPLETION, "usage": {"prompt_tokens": 130, "completion_tokens": 5, "total_tokens": 135,
                                          "prompt_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 20}}}
    body, usage = anthropic_of(completion)
    assert body["usage"] == {"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 20,
                             "cache_read_input_tokens": 100}
    assert usage.cache_write_tokens == 20


def test_a_refusal_becomes_text_with_stop_reason_refusal():
    completion = {**COMPLETION, "choices": [{"index": 0, "finish_reason": "stop", "message": {
        "role": "assistant", "content": None, "refusal": "I can't"}}]}
    body, _ = anthropic_of(completion)
    assert body["content"] == [{"type": "text", "text": "I can't"}] and body["stop_reason"] == "refusal"


def test_passthrough_rewrites_only_the_model_and_reads_usage():
    body, usage = passthrough_response(json.loads(json.dumps(MESSAGE)), CTX)
    assert body == {**MESSAGE, "model": "client-model"}
    assert usage.prompt_tokens == 130
