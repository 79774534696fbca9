"""OpenAI Chat Completions request -> Gemini generateContent body."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from llmswitch.dialects.gemini import openai_to_gemini_request
from llmswitch.dialects.gemini_request import SIGNATURE_SENTINEL
from llmswitch.dialects.types import RequestOptions
from llmswitch.errors import GatewayError

PNG_DATA = "iVBORw0KGgo="


def translate(body: dict[str, Any], model: str = "gemini-2.5-flash", **options: Any) -> dict[str, Any]:
    return openai_to_gemini_request(body, RequestOptions(upstream_model=model, stream=False, **options)).body


def chat(*messages: dict[str, Any], **params: Any) -> dict[str, Any]:
    return {"model": "client-name", "messages": list(messages), **params}


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def assistant_calls(*calls: tuple[str, str, str], content: Any = None) -> dict[str, Any]:
    return {"role": "assistant", "content": content, "tool_calls": [
        {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}
        for call_id, name, args in calls]}


def tool(call_id: str, content: Any) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def rejected(body: dict[str, Any], **options: Any) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        translate(body, **options)
    assert caught.value.status == 400
    return caught.value


# --- messages --------------------------------------------------------------------------------

def test_body_carries_no_model_because_the_model_goes_in_the_url():
    assert "model" not in translate(chat(user("hi")))


def test_user_and_assistant_become_user_and_model_turns():
    out = translate(chat(user("hi"), {"role": "assistant", "content": "hello"}, user("bye")))
    assert out["contents"] == [
        {"role": "user", "parts": [{"text": "hi"}]},
        {"role": "model", "parts": [{"text": "hello"}]},
        {"role": "user", "parts": [{"text": "bye"}]},
    ]


def test_consecutive_same_role_messages_merge_into_one_turn():
    out = translate(chat(user("a"), user("b")))
    assert out["contents"] == [{"role": "user", "parts": [{"text": "a"}, {"text": "b"}]}]


def test_system_and_developer_messages_become_system_instruction():
    developer = {"role": "developer", "content": [{"type": "text", "text": "no emoji"}]}
    out = translate(chat({"role": "system", "content": "be brief"}, developer, user("hi")))
    assert out["systemInstruction"] == {"parts": [{"text": "be brief"}, {"text": "no emoji"}]}
    assert [c["role"] for c in out["contents"]] == ["user"]


def test_empty_text_parts_are_left_out():
    out = translate(chat(user([{"type": "text", "text": ""}, {"type": "text", "text": "x"}]),
                         {"role": "assistant", "content": ""}, user("y")))
    assert out["contents"] == [{"role": "user", "parts": [{"text": "x"}, {"text": "y"}]}]


def test_data_url_image_becomes_inline_data():
    out = translate(chat(user([{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_DATA}",
                                                                   "detail": "high"}}])))
    assert out["contents"][0]["parts"] == [{"inlineData": {"mimeType": "image/png", "data": PNG_DATA}}]


def test_http_image_url_becomes_file_data_with_guessed_mime_type():
    out = translate(chat(user([{"type": "image_url", "image_url": {"url": "https://x.test/cat.webp?s=1"}}])))
    assert out["contents"][0]["parts"] == [{"fileData": {"mimeType": "image/webp",
                                                         "fileUri": "https://x.test/cat.webp?s=1"}}]


def test_image_data_url_with_invalid_base64_is_rejected():
    error = rejected(chat(user([{"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}])))
    assert error.param == "messages[0].content[0]"


def test_unknown_role_is_rejected_naming_the_message():
    assert rejected(chat(user("a"), {"role": "narrator", "content": "x"})).param == "messages[1].role"


# --- tool calls and results ------------------------------------------------------------------

def test_assistant_tool_calls_become_function_call_parts_keeping_ids():
    out = translate(chat(user("weather?"), assistant_calls(("call_1", "get_weather", '{"city": "Oslo"}'),
                                                          content="Checking."),
                         tool("call_1", "sunny")))
    assert out["contents"][1] == {"role": "model", "parts": [
        {"text": "Checking."},
        {"functionCall": {"id": "call_1", "name": "get_weather", "args": {"city": "Oslo"}}}]}


def test_empty_tool_call_arguments_become_an_empty_object():
    out = translate(chat(user("t?"), assistant_calls(("c1", "now", "")), tool("c1", "noon")))
    assert out["contents"][1]["parts"][0]["functionCall"]["args"] == {}


def test_invalid_json_arguments_are_rejected():
    error = rejected(chat(user("t?"), assistant_calls(("c1", "now", "{oops")), tool("c1", "x")))
    assert error.param == "messages[1].tool_calls[0].function.arguments"


def test_tool_result_recovers_the_function_name_from_the_call_id():
    out = translate(chat(user("w?"), assistant_calls(("call_9", "get_weather", "{}")), tool("call_9", "{}")))
    response = out["contents"][2]["parts"][0]["functionResponse"]
    assert (response["id"], response["name"]) == ("call_9", "get_weather")


def test_string_tool_result_is_wrapped_in_an_object():
    out = translate(chat(user("w?"), assistant_calls(("c1", "f", "{}")), tool("c1", "sunny")))
    assert out["contents"][2]["parts"][0]["functionResponse"]["response"] == {"result": "sunny"}


def test_json_object_tool_result_is_passed_as_the_object():
    out = translate(chat(user("w?"), assistant_calls(("c1", "f", "{}")), tool("c1", '{"temp": 21}')))
    assert out["contents"][2]["parts"][0]["functionResponse"]["response"] == {"temp": 21}


def test_parallel_tool_results_go_in_one_user_turn_in_call_order():
    out = translate(chat(user("both?"), assistant_calls(("a", "f", "{}"), ("b", "g", "{}")),
                         tool("b", "2"), tool("a", "1"), user("thanks")))
    assert [c["role"] for c in out["contents"]] == ["user", "model", "user"]
    parts = out["contents"][2]["parts"]
    assert [p["functionResponse"]["id"] for p in parts[:2]] == ["a", "b"]
    assert parts[2] == {"text": "thanks"}


def test_a_call_without_a_result_is_rejected_so_gemini_gets_as_many_responses_as_calls():
    error = rejected(chat(user("both?"), assistant_calls(("a", "f", "{}"), ("b", "g", "{}")), tool("a", "1"),
                          user("go on")))
    assert "b" in error.message


def test_tool_message_for_an_unknown_call_is_rejected():
    assert rejected(chat(user("x"), tool("ghost", "1"))).param == "messages[1].tool_call_id"


def test_thought_signature_is_replayed_from_the_tool_calls_extra_content():
    call = assistant_calls(("c1", "f", "{}"))
    call["tool_calls"][0]["extra_content"] = {"google": {"thought_signature": "c2lnbmF0dXJl"}}
    out = translate(chat(user("x"), call, tool("c1", "1")))
    assert out["contents"][1]["parts"][0]["thoughtSignature"] == "c2lnbmF0dXJl"


def test_gemini_3_gets_the_documented_sentinel_on_an_unsigned_first_call_only():
    out = translate(chat(user("x"), assistant_calls(("a", "f", "{}"), ("b", "g", "{}")), tool("a", "1"),
                         tool("b", "2")), model="gemini-3-pro-preview")
    parts = out["contents"][1]["parts"]
    assert parts[0]["thoughtSignature"] == SIGNATURE_SENTINEL
    assert "thoughtSignature" not in parts[1]


def test_gemini_2_5_gets_no_sentinel_signature():
    out = translate(chat(user("x"), assistant_calls(("a", "f", "{}")), tool("a", "1")))
    assert "thoughtSignature" not in out["contents"][1]["parts"][0]


# --- tools and tool_choice -------------------------------------------------------------------

def weather_tool(parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    function: dict[str, Any] = {"name": "get_weather", "description": "Weather for a city"}
    if parameters is not None:
        function["parameters"] = parameters
    return {"type": "function", "function": function}


def test_tools_become_function_declarations():
    params = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    out = translate(chat(user("x"), tools=[weather_tool(params)]))
    assert out["tools"] == [{"functionDeclarations": [
        {"name": "get_weather", "description": "Weather for a city", "parameters": params}]}]


def test_bug10_additional_properties_and_schema_are_removed_from_parameters():
    params = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
              "additionalProperties": False,
              "properties": {"city": {"type": "string", "additionalProperties": False}}}
    out = translate(chat(user("x"), tools=[weather_tool(params)]))
    declaration = out["tools"][0]["functionDeclarations"][0]
    assert declaration["parameters"] == {"type": "object", "properties": {"city": {"type": "string"}}}


def test_tool_without_properties_declares_no_parameters():
    out = translate(chat(user("x"), tools=[weather_tool({"type": "object", "properties": {}})]))
    assert "parameters" not in out["tools"][0]["functionDeclarations"][0]


def test_non_function_tool_is_rejected_in_strict_mode():
    assert rejected(chat(user("x"), tools=[{"type": "custom", "custom": {"name": "x"}}])).param == "tools[0]"


@pytest.mark.parametrize(("choice", "mode"), [("auto", "AUTO"), ("none", "NONE"), ("required", "ANY")])
def test_tool_choice_string_maps_to_function_calling_mode(choice: str, mode: str):
    out = translate(chat(user("x"), tools=[weather_tool()], tool_choice=choice))
    assert out["toolConfig"] == {"functionCallingConfig": {"mode": mode}}


def test_named_tool_choice_becomes_any_with_allowed_function_names():
    out = translate(chat(user("x"), tools=[weather_tool()],
                         tool_choice={"type": "function", "function": {"name": "get_weather"}}))
    assert out["toolConfig"] == {"functionCallingConfig": {"mode": "ANY",
                                                           "allowedFunctionNames": ["get_weather"]}}


# --- generation settings ---------------------------------------------------------------------

def test_sampling_and_length_settings_map_to_generation_config():
    out = translate(chat(user("x"), temperature=0.3, top_p=0.9, max_tokens=100, stop="END", n=2, seed=7))
    assert out["generationConfig"] == {"temperature": 0.3, "topP": 0.9, "maxOutputTokens": 100,
                                       "stopSequences": ["END"], "candidateCount": 2, "seed": 7}


def test_max_completion_tokens_wins_over_max_tokens():
    out = translate(chat(user("x"), max_tokens=100, max_completion_tokens=50))
    assert out["generationConfig"]["maxOutputTokens"] == 50


def test_deployment_default_max_tokens_applies_when_the_client_sets_none():
    assert translate(chat(user("x")), max_tokens_default=321)["generationConfig"]["maxOutputTokens"] == 321


def test_json_object_response_format_asks_for_json():
    out = translate(chat(user("x"), response_format={"type": "json_object"}))
    assert out["generationConfig"] == {"responseMimeType": "application/json"}


def test_json_schema_response_format_sends_the_sanitised_schema():
    schema = {"type": "object", "additionalProperties": False, "properties": {"a": {"type": "integer"}}}
    response_format = {"type": "json_schema", "json_schema": {"name": "s", "schema": schema, "strict": True}}
    out = translate(chat(user("x"), response_format=response_format))
    assert out["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseSchema": {"type": "object", "properties": {"a": {"type": "integer"}}}}


def test_reasoning_effort_becomes_a_thinking_budget_with_thoughts_included():
    out = translate(chat(user("x"), reasoning_effort="low"))
    assert out["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 1024, "includeThoughts": True}


def test_reasoning_effort_none_turns_thinking_off():
    out = translate(chat(user("x"), reasoning_effort="none"))
    assert out["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 0, "includeThoughts": False}


# --- unsupported parameters ------------------------------------------------------------------

@pytest.mark.parametrize("param", ["logit_bias", "logprobs", "top_logprobs"])
def test_unsupported_parameter_is_a_400_naming_it(param: str):
    value = {"logit_bias": {"1": 5}, "logprobs": True, "top_logprobs": 2}[param]
    assert rejected(chat(user("x"), **{param: value})).param == param


def test_unsupported_parameter_is_dropped_and_listed_when_the_deployment_allows_it():
    result = openai_to_gemini_request(chat(user("x"), logit_bias={"1": 5}, prediction={"type": "content"}),
                                      RequestOptions("gemini-2.5-flash", False, drop_unsupported=True))
    assert result.dropped == ["logit_bias", "prediction"]
    assert "logit_bias" not in json.dumps(result.body)


def test_translation_does_not_mutate_the_client_body():
    body = chat({"role": "system", "content": "s"}, user("x"),
                assistant_calls(("c1", "f", '{"a": 1}')), tool("c1", "r"), user("y"),
                tools=[weather_tool({"type": "object", "additionalProperties": False,
                                     "properties": {"c": {"type": ["string", "null"]}}})],
                response_format={"type": "json_schema", "json_schema": {"name": "s", "schema": {
                    "$schema": "x", "type": "object", "properties": {"a": {"type": "string"}}}}})
    before = copy.deepcopy(body)
    first = translate(body)
    assert body == before
    assert translate(body) == first


# --- what the OpenAI API accepts is mapped or dropped on purpose ----------------------------------

def test_a_later_system_message_becomes_a_marked_user_turn_at_its_place():
    out = translate(chat({"role": "system", "content": "be brief"}, user("a"), {"role": "assistant", "content": "b"},
                         {"role": "developer", "content": "now in French"}, user("c")))
    assert out["systemInstruction"] == {"parts": [{"text": "be brief"}]}
    assert out["contents"][2] == {"role": "user", "parts": [{"text": "System instruction:\nnow in French"},
                                                            {"text": "c"}]}


def test_a_request_of_instructions_only_becomes_one_user_turn():
    out = translate(chat({"role": "system", "content": "Say hi."}))
    assert out["contents"] == [{"role": "user", "parts": [{"text": "Say hi."}]}]
    assert "systemInstruction" not in out


def test_parallel_tool_calls_false_is_listed_not_refused():
    result = openai_to_gemini_request(chat(user("x"), tools=[weather_tool()], parallel_tool_calls=False),
                                      RequestOptions("gemini-2.5-flash", False))
    assert result.dropped == ["parallel_tool_calls"]
    assert "parallel_tool_calls" not in json.dumps(result.body)


@pytest.mark.parametrize("choice", ["none", "required", {"type": "function", "function": {"name": "get_weather"}}])
def test_parallel_tool_calls_false_is_held_when_at_most_one_call_is_possible(choice: Any):
    result = openai_to_gemini_request(chat(user("x"), tools=[weather_tool()], tool_choice=choice,
                                           parallel_tool_calls=False), RequestOptions("gemini-2.5-flash", False))
    assert result.dropped == []


def test_parallel_tool_calls_false_without_tools_asks_nothing():
    assert openai_to_gemini_request(chat(user("x"), parallel_tool_calls=False),
                                    RequestOptions("gemini-2.5-flash", False)).dropped == []


def test_reasoning_effort_max_is_a_thinking_budget():
    out = translate(chat(user("x"), reasoning_effort="max"))
    assert out["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 32768, "includeThoughts": True}


def test_allowed_tools_declares_only_the_allowed_functions_with_their_mode():
    other = {"type": "function", "function": {"name": "get_time"}}
    out = translate(chat(user("x"), tools=[weather_tool(), other], tool_choice={
        "type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": [
            {"type": "function", "function": {"name": "get_time"}}]}}))
    assert [d["name"] for d in out["tools"][0]["functionDeclarations"]] == ["get_time"]
    assert out["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}


def test_prediction_is_a_hint_left_out_and_listed():
    result = openai_to_gemini_request(chat(user("x"), prediction={"type": "content", "content": "x"}),
                                      RequestOptions("gemini-2.5-flash", False))
    assert result.dropped == ["prediction"] and "prediction" not in json.dumps(result.body)


LEGACY = chat(user("hi"), {"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": "{}"}},
              {"role": "function", "name": "f", "content": "r"})


def test_legacy_function_calling_is_a_400_naming_it_or_left_out_when_the_deployment_allows():
    assert rejected(LEGACY).param == "functions"
    result = openai_to_gemini_request(LEGACY, RequestOptions("gemini-2.5-flash", False, drop_unsupported=True))
    assert result.dropped == ["functions"] and result.body["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]


def test_a_custom_tool_call_and_its_result_are_left_out_when_the_deployment_allows():
    body = chat(user("hi"), {"role": "assistant", "tool_calls": [
        {"id": "k1", "type": "custom", "custom": {"name": "grep", "input": "x"}}]}, tool("k1", "r"))
    assert rejected(body).param == "messages[1].tool_calls[0]"
    result = openai_to_gemini_request(body, RequestOptions("gemini-2.5-flash", False, drop_unsupported=True))
    assert result.dropped == ["messages.tool_calls.custom"] and len(result.body["contents"]) == 1


def test_a_file_id_is_a_400_or_left_out_when_the_deployment_allows():
    body = chat(user([{"type": "text", "text": "x"}, {"type": "file", "file": {"file_id": "file-1"}}]))
    assert rejected(body).param == "messages[0].content[1]"
    result = openai_to_gemini_request(body, RequestOptions("gemini-2.5-flash", False, drop_unsupported=True))
    assert result.dropped == ["messages.content.file"]
