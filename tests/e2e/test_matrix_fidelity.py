"""What real clients send by default reaches every provider: mapped or dropped on purpose, never refused.

Three clients the gateway used to fail: Claude Code (system messages inside `messages`, its
beta fields) routed to a non-Claude model; a client sending `parallel_tool_calls: false` to
Gemini; and an OpenAI client with `reasoning_effort` doing a tool round trip to Claude, which
replays the tool call without the thinking the fake (like Anthropic) then demands.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from llmswitch.fake_upstream.anthropic import signature
from tests.e2e.matrix_fixtures import (Matrix, answer_turns, marker, model, running_matrix, streaming, tool_spec,
                                       tools, user_text)
from tests.support.fake import fake_directive

BETAS = "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
READ_SCHEMA = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
               "properties": {"path": {"type": "string"}}, "required": ["path"], "additionalProperties": False}
WEATHER_CALL = {"name": "get_weather", "arguments": {"city": "Paris"}}


@pytest.fixture(scope="module")
def matrix() -> Iterator[Matrix]:
    with running_matrix() as running:
        yield running


def claude_code_body(tag: str) -> dict[str, Any]:
    """A Claude Code turn as API-REFERENCE section 9 records it, after one tool round trip."""
    plan = "I should read the file."
    return {
        "max_tokens": 32000,
        "system": [{"type": "text", "text": "You are Claude Code."},
                   {"type": "text", "text": "Env: linux", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "fix the bug"}]},
            {"role": "system", "content": "Plan mode is off."},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": plan, "signature": signature(plan)},
                {"type": "text", "text": "Reading."},
                {"type": "tool_use", "id": "toolu_01", "name": "Read", "input": {"path": "a.png"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01", "cache_control": {"type": "ephemeral"},
                 "content": [{"type": "text", "text": "an image"},
                             {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}]},
                {"type": "mid_conv_system", "content": [{"type": "text", "text": "Be brief."}],
                 "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": f"go on {tag}", "cache_control": {"type": "ephemeral"}}]}],
        "tools": [{"name": "Read", "description": "Read a file", "input_schema": READ_SCHEMA},
                  {"name": "Later", "description": "found by search", "defer_loading": True,
                   "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}},
                  {"type": "web_search_20250305", "name": "web_search"}],
        "thinking": {"type": "adaptive", "display": "omitted"},
        "output_config": {"effort": "high"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015"}]},
        "metadata": {"user_id": '{"device_id": "' + "d" * 64 + '", "session_id": "s-1"}'},
    }


def send_claude_code(matrix: Matrix, provider: str, tag: str, stream: bool) -> tuple[str, dict[str, str]]:
    """The body sent the way Claude Code sends it (beta list, `?beta=true`); the answer text and headers."""
    body = claude_code_body(tag)
    options: dict[str, Any] = {"max_tokens": body.pop("max_tokens"), "messages": body.pop("messages"),
                               "extra_body": body,  # beta fields the SDK's non-beta signature lacks
                               "extra_headers": {"anthropic-beta": BETAS}, "extra_query": {"beta": "true"}}
    if stream:
        with matrix.anthropic.messages.with_streaming_response.create(
                model=model(provider), stream=True, **options) as raw:
            text = "".join(event.delta.text for event in raw.parse()
                           if event.type == "content_block_delta" and event.delta.type == "text_delta")
            return text, dict(raw.headers)
    raw = matrix.anthropic.messages.with_raw_response.create(model=model(provider), **options)
    return "".join(block.text for block in raw.parse().content if block.type == "text"), dict(raw.headers)


@streaming
def test_claude_code_turn_reaches_an_anthropic_upstream_untouched_but_for_the_model(matrix: Matrix,
                                                                                   stream: bool) -> None:
    tag = marker()
    text, headers = send_claude_code(matrix, "anthropic", tag, stream)
    assert text == f"You said: go on {tag}"
    sent = matrix.sent(tag)
    assert sent["body"] == {**claude_code_body(tag), "model": "up-anthropic", **({"stream": True} if stream else {})}
    assert sent["headers"]["anthropic-beta"] == BETAS
    assert "x-llmswitch-dropped-params" not in headers


@streaming
def test_claude_code_turn_reaches_an_openai_upstream_with_system_messages_in_place(matrix: Matrix,
                                                                                  stream: bool) -> None:
    tag = marker()
    text, headers = send_claude_code(matrix, "openai", tag, stream)
    assert text == f"You said: go on {tag}"
    sent = matrix.sent(tag)
    messages = sent["body"]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "system", "assistant", "tool", "user", "system",
                                             "user"]
    assert messages[2]["content"] == "Plan mode is off." and messages[6]["content"] == "Be brief."
    assert messages[5]["content"][0]["image_url"]["url"].startswith("data:image/png;base64,")
    assert not {"reasoning_effort", "thinking", "context_management", "output_config"} & sent["body"].keys()
    assert "anthropic-beta" not in sent["headers"]
    assert set(headers["x-llmswitch-dropped-params"].split(",")) == {
        "thinking", "output_config.effort", "context_management", "messages.content.thinking", "tools"}


@streaming
def test_claude_code_turn_reaches_a_gemini_upstream_with_later_system_text_as_marked_user_turns(
        matrix: Matrix, stream: bool) -> None:
    tag = marker()
    text, headers = send_claude_code(matrix, "gemini", tag, stream)
    assert tag in text
    sent = matrix.sent(tag)
    body = sent["body"]
    assert "anthropic-beta" not in sent["headers"]
    assert body["systemInstruction"] == {"parts": [{"text": "You are Claude Code.\n\nEnv: linux"}]}
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
    texts = [part.get("text") for content in body["contents"] for part in content["parts"]]
    assert "System instruction:\nPlan mode is off." in texts and "System instruction:\nBe brief." in texts
    assert body["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 24576, "includeThoughts": True}
    assert set(headers["x-llmswitch-dropped-params"].split(",")) == {
        "context_management", "messages.content.thinking", "tools"}


# parallel_tool_calls: false towards Gemini --------------------------------------------------

@streaming
def test_openai_parallel_tool_calls_false_reaches_gemini_and_is_listed(matrix: Matrix, stream: bool) -> None:
    tag = marker()
    raw = matrix.openai.chat.completions.with_raw_response.create(
        model=model("gemini"), messages=user_text(f"{tag} {fake_directive(tool_calls=[WEATHER_CALL])}"),
        tools=tools("openai"), parallel_tool_calls=False, stream=stream)
    assert raw.headers["x-llmswitch-dropped-params"] == "parallel_tool_calls"
    if stream:
        names = [call.function.name for chunk in raw.parse() for choice in chunk.choices
                 for call in choice.delta.tool_calls or [] if call.function and call.function.name]
    else:
        names = [call.function.name for call in raw.parse().choices[0].message.tool_calls or []]
    assert names == ["get_weather"]


def test_openai_parallel_tool_calls_false_with_one_forced_tool_is_held_by_gemini(matrix: Matrix) -> None:
    tag = marker()
    raw = matrix.openai.chat.completions.with_raw_response.create(
        model=model("gemini"), messages=user_text(f"{tag} {fake_directive(tool_calls=[WEATHER_CALL])}"),
        tools=tools("openai"), parallel_tool_calls=False,
        tool_choice={"type": "function", "function": {"name": "get_weather"}})
    assert "x-llmswitch-dropped-params" not in raw.headers
    assert matrix.sent(tag)["body"]["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}


def test_anthropic_disable_parallel_tool_use_reaches_gemini_and_is_listed(matrix: Matrix) -> None:
    tag = marker()
    raw = matrix.anthropic.messages.with_raw_response.create(
        model=model("gemini"), max_tokens=256, tools=tools("anthropic"),
        tool_choice={"type": "auto", "disable_parallel_tool_use": True},
        messages=user_text(f"{tag} {fake_directive(tool_calls=[WEATHER_CALL])}"))
    assert raw.headers["x-llmswitch-dropped-params"] == "parallel_tool_calls"
    assert [block.name for block in raw.parse().content if block.type == "tool_use"] == ["get_weather"]


# reasoning_effort and a tool round trip to Claude -------------------------------------------

@streaming
def test_openai_tool_round_trip_with_reasoning_effort_reaches_claude_with_thinking_off(matrix: Matrix,
                                                                                       stream: bool) -> None:
    """The client replays the standard assistant message; Claude would refuse it with thinking on."""
    tag = marker()
    messages = user_text(f"{tag} {fake_directive(thinking='Needs the weather.', tool_calls=[WEATHER_CALL])}")
    params: dict[str, Any] = {"tools": tools("openai"), "reasoning_effort": "low", "max_completion_tokens": 4096}
    first = matrix.ask("openai", model("anthropic"), stream, messages=messages, **params)
    assert matrix.sent(tag)["body"]["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    result = marker()
    history = messages + answer_turns("openai", first, {first.calls[0].id: f"sunny {result}"})
    raw = matrix.openai.chat.completions.with_raw_response.create(model=model("anthropic"), messages=history,
                                                                  **params)
    assert raw.parse().choices[0].message.content == f"Tool results: sunny {result}"
    assert raw.headers["x-llmswitch-dropped-params"] == "reasoning_effort"
    assert "thinking" not in matrix.sent(result)["body"]


def test_thinking_comes_back_once_the_user_speaks_again(matrix: Matrix) -> None:
    tag = marker()
    messages = user_text(f"go {fake_directive(thinking='Needs the weather.', tool_calls=[WEATHER_CALL])}")
    params: dict[str, Any] = {"tools": tools("openai"), "reasoning_effort": "low", "max_completion_tokens": 4096}
    first = matrix.ask("openai", model("anthropic"), False, messages=messages, **params)
    history = [*messages, *answer_turns("openai", first, {first.calls[0].id: "sunny"}),
               {"role": "assistant", "content": "It is sunny."}, {"role": "user", "content": f"thanks {tag}"}]
    matrix.ask("openai", model("anthropic"), False, messages=history, **params)
    assert matrix.sent(tag)["body"]["thinking"] == {"type": "enabled", "budget_tokens": 1024}


def test_tool_round_trip_keeping_thinking_blocks_keeps_thinking_on(matrix: Matrix) -> None:
    """A client that sends back the non-standard `thinking_blocks` the gateway gave it keeps thinking."""
    messages = user_text(f"go {fake_directive(thinking='Needs the weather.', tool_calls=[WEATHER_CALL])}")
    params: dict[str, Any] = {"tools": [tool_spec("openai", "get_weather", {"city": {"type": "string"}})],
                              "reasoning_effort": "low", "max_completion_tokens": 4096}
    first = matrix.openai.chat.completions.create(model=model("anthropic"), messages=messages, **params)
    message = first.choices[0].message
    tag = marker()
    history = [*messages, message.model_dump(include={"role", "content", "tool_calls", "thinking_blocks"}),
               {"role": "tool", "tool_call_id": message.tool_calls[0].id, "content": f"sunny {tag}"}]
    raw = matrix.openai.chat.completions.with_raw_response.create(model=model("anthropic"), messages=history,
                                                                  **params)
    assert "x-llmswitch-dropped-params" not in raw.headers
    assert matrix.sent(tag)["body"]["thinking"] == {"type": "enabled", "budget_tokens": 1024}
