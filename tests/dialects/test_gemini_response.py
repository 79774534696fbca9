"""Gemini generateContent response -> OpenAI chat.completion."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai.types.chat import ChatCompletion

from llmswitch.dialects.gemini import gemini_to_openai_response
from llmswitch.dialects.types import ResponseContext
from llmswitch.dialects.usage import Usage


def gemini(*parts: dict[str, Any], finish: str = "STOP", **extra: Any) -> dict[str, Any]:
    return {"candidates": [{"content": {"role": "model", "parts": list(parts)}, "finishReason": finish,
                            "index": 0}], **extra}


def translate(body: dict[str, Any]) -> dict[str, Any]:
    return gemini_to_openai_response(body, ResponseContext(client_model="my-model"))[0]


def call(name: str, args: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    function: dict[str, Any] = {"name": name}
    if args is not None:
        function["args"] = args
    return {"functionCall": function, **extra}


def test_text_answer_has_the_full_openai_shape_and_parses_with_the_sdk():
    out = translate(gemini({"text": "Hello"}, responseId="abc"))
    completion = ChatCompletion.model_validate(out)
    assert completion.object == "chat.completion" and completion.model == "my-model"
    assert out["id"] == "chatcmpl-abc" and isinstance(out["created"], int)
    assert out["choices"] == [{"index": 0, "logprobs": None, "finish_reason": "stop",
                               "message": {"role": "assistant", "content": "Hello", "refusal": None}}]


def test_text_parts_are_concatenated():
    assert translate(gemini({"text": "Hel"}, {"text": "lo"}))["choices"][0]["message"]["content"] == "Hello"


def test_bug3_stop_with_a_function_call_finishes_with_tool_calls():
    out = translate(gemini(call("f", {"a": 1})))
    assert out["choices"][0]["finish_reason"] == "tool_calls"


def test_function_call_becomes_a_tool_call_with_json_string_arguments():
    message = translate(gemini(call("get_weather", {"city": "Oslo"})))["choices"][0]["message"]
    assert message["content"] is None
    [tool_call] = message["tool_calls"]
    assert tool_call["type"] == "function" and tool_call["function"]["name"] == "get_weather"
    assert json.loads(tool_call["function"]["arguments"]) == {"city": "Oslo"}


def test_bug5_call_without_arguments_gets_empty_object_string():
    [tool_call] = translate(gemini(call("now")))["choices"][0]["message"]["tool_calls"]
    assert tool_call["function"]["arguments"] == "{}"


def test_missing_call_ids_are_synthesized_unique():
    calls = translate(gemini(call("f"), call("f")))["choices"][0]["message"]["tool_calls"]
    ids = [c["id"] for c in calls]
    assert all(ids) and len(set(ids)) == 2


def test_gemini_call_id_is_kept_when_present():
    [tool_call] = translate(gemini({"functionCall": {"id": "g1", "name": "f", "args": {}}}))["choices"][0][
        "message"]["tool_calls"]
    assert tool_call["id"] == "g1"


def test_thought_signature_is_kept_in_the_tool_calls_extra_content():
    [tool_call] = translate(gemini(call("f", thoughtSignature="c2ln")))["choices"][0]["message"]["tool_calls"]
    assert tool_call["extra_content"] == {"google": {"thought_signature": "c2ln"}}


def test_thoughts_become_reasoning_content_not_content():
    out = translate(gemini({"text": "pondering", "thought": True}, {"text": "42"}))
    message = out["choices"][0]["message"]
    assert (message["reasoning_content"], message["content"]) == ("pondering", "42")


@pytest.mark.parametrize(("reason", "expected"), [
    ("MAX_TOKENS", "length"), ("SAFETY", "content_filter"), ("RECITATION", "content_filter"),
    ("BLOCKLIST", "content_filter"), ("PROHIBITED_CONTENT", "content_filter"), ("SPII", "content_filter"),
    ("OTHER", "stop"),
])
def test_finish_reason_mapping(reason: str, expected: str):
    assert translate(gemini({"text": "x"}, finish=reason))["choices"][0]["finish_reason"] == expected


def test_blocked_prompt_answers_content_filter_with_no_content():
    out = translate({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 4}})
    assert out["choices"] == [{"index": 0, "logprobs": None, "finish_reason": "content_filter",
                               "message": {"role": "assistant", "content": None, "refusal": None}}]


def test_usage_counts_thoughts_as_completion_and_cached_inside_prompt():
    metadata = {"promptTokenCount": 100, "cachedContentTokenCount": 40, "candidatesTokenCount": 10,
                "thoughtsTokenCount": 5, "totalTokenCount": 115}
    out, usage = gemini_to_openai_response(gemini({"text": "x"}, usageMetadata=metadata),
                                           ResponseContext(client_model="m"))
    assert usage == Usage(prompt_tokens=100, completion_tokens=15, cached_tokens=40, reasoning_tokens=5)
    assert out["usage"] == {"prompt_tokens": 100, "completion_tokens": 15, "total_tokens": 115,
                            "prompt_tokens_details": {"cached_tokens": 40},
                            "completion_tokens_details": {"reasoning_tokens": 5}}


def test_several_candidates_become_several_choices():
    body = {"candidates": [{"index": 0, "content": {"parts": [{"text": "a"}]}, "finishReason": "STOP"},
                           {"index": 1, "content": {"parts": [{"text": "b"}]}, "finishReason": "STOP"}]}
    assert [c["message"]["content"] for c in translate(body)["choices"]] == ["a", "b"]
