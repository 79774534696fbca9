"""Tool use across the matrix: calls, parallel calls, results over several turns, tool_choice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.matrix_fixtures import (
    Answer,
    FINISH,
    Matrix,
    answer_turns,
    marker,
    matrix_cases,
    model,
    running_matrix,
    streaming,
    tools,
    user_text,
)
from tests.support.fake import fake_directive


WEATHER_CALL = {"name": "get_weather", "arguments": {"city": "Paris"}}
TIME_CALL = {"name": "get_time", "arguments": {}}


@pytest.fixture(scope="module")
def matrix() -> Iterator[Matrix]:
    with running_matrix() as running:
        yield running


def ask_for_calls(matrix: Matrix, client: str, provider: str, stream: bool,
                  *calls: dict[str, Any]) -> tuple[list[dict[str, Any]], Answer]:
    """First turn: the model answers with CALLS; returns the conversation so far and the answer."""
    messages = user_text(f"what now? {fake_directive(tool_calls=list(calls))}")
    return messages, matrix.ask(client, model(provider), stream, messages=messages, tools=tools(client))


@matrix_cases
@streaming
def test_tool_call_comes_back_in_the_client_dialect(matrix: Matrix, client: str, provider: str,
                                                    stream: bool) -> None:
    _, answer = ask_for_calls(matrix, client, provider, stream, WEATHER_CALL)
    assert [(c.name, c.arguments) for c in answer.calls] == [("get_weather", {"city": "Paris"})]
    assert answer.calls[0].id
    assert answer.finish == FINISH[client]["tool_calls"]


@matrix_cases
@streaming
def test_tool_result_turn_completes_the_conversation(matrix: Matrix, client: str, provider: str,
                                                     stream: bool) -> None:
    messages, first = ask_for_calls(matrix, client, provider, stream, WEATHER_CALL)
    tag = marker()
    history = messages + answer_turns(client, first, {first.calls[0].id: f"sunny {tag}"})
    second = matrix.ask(client, model(provider), stream, messages=history, tools=tools(client))
    assert second.text.startswith("Tool results: ") and f"sunny {tag}" in second.text
    assert second.finish == FINISH[client]["stop"]


@matrix_cases
@streaming
def test_parallel_tool_calls_keep_their_order_arguments_and_ids(matrix: Matrix, client: str, provider: str,
                                                                stream: bool) -> None:
    _, answer = ask_for_calls(matrix, client, provider, stream, WEATHER_CALL, TIME_CALL)
    assert [(c.name, c.arguments) for c in answer.calls] == [("get_weather", {"city": "Paris"}),
                                                              ("get_time", {})]
    assert len({c.id for c in answer.calls}) == 2
    assert answer.finish == FINISH[client]["tool_calls"]


@matrix_cases
@streaming
def test_parallel_tool_results_answer_every_call(matrix: Matrix, client: str, provider: str,
                                                 stream: bool) -> None:
    messages, first = ask_for_calls(matrix, client, provider, stream, WEATHER_CALL, TIME_CALL)
    tag = marker()
    weather, time = first.calls
    history = messages + answer_turns(client, first, {weather.id: f"sunny {tag}", time.id: f"noon {tag}"})
    second = matrix.ask(client, model(provider), stream, messages=history, tools=tools(client))
    assert f"sunny {tag}" in second.text and f"noon {tag}" in second.text
    assert second.text.index("sunny") < second.text.index("noon")


REQUIRED_CHOICE = {"openai": "required", "anthropic": {"type": "any"}}
REQUIRED_SENT = {
    "openai": lambda body: body["tool_choice"] == "required",
    "anthropic": lambda body: body["tool_choice"]["type"] == "any",
    "gemini": lambda body: body["toolConfig"]["functionCallingConfig"]["mode"] == "ANY",
}
NAMED_CHOICE = {"openai": {"type": "function", "function": {"name": "get_time"}},
                "anthropic": {"type": "tool", "name": "get_time"}}
NAMED_SENT = {
    "openai": lambda body: body["tool_choice"] == {"type": "function", "function": {"name": "get_time"}},
    "anthropic": lambda body: body["tool_choice"] == {"type": "tool", "name": "get_time"},
    "gemini": lambda body: body["toolConfig"]["functionCallingConfig"] == {
        "mode": "ANY", "allowedFunctionNames": ["get_time"]},
}


@matrix_cases
def test_required_tool_choice_forces_a_call_in_the_upstream_dialect(matrix: Matrix, client: str,
                                                                    provider: str) -> None:
    tag = marker()
    matrix.ask(client, model(provider), False, messages=user_text(tag), tools=tools(client),
               tool_choice=REQUIRED_CHOICE[client])
    assert REQUIRED_SENT[provider](matrix.sent(tag)["body"])


@matrix_cases
def test_named_tool_choice_forces_that_tool_in_the_upstream_dialect(matrix: Matrix, client: str,
                                                                    provider: str) -> None:
    tag = marker()
    matrix.ask(client, model(provider), False, messages=user_text(tag), tools=tools(client),
               tool_choice=NAMED_CHOICE[client])
    assert NAMED_SENT[provider](matrix.sent(tag)["body"])


def test_tool_schema_reaches_gemini_as_a_function_declaration(matrix: Matrix) -> None:
    tag = marker()
    matrix.ask("openai", model("gemini"), False, messages=user_text(tag), tools=tools("openai"))
    [declarations] = [t["functionDeclarations"] for t in matrix.sent(tag)["body"]["tools"]]
    assert [d["name"] for d in declarations] == ["get_weather", "get_time"]
