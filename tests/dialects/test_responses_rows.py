"""The Responses API's rows in the registry: a third dialect of chat, joined to the others through
the hub both ways, and the counts and sub-operations served where the upstream has them."""

from __future__ import annotations

import pytest

from llmswitch.dialects import translate
from llmswitch.dialects.responses_stream import ChatToResponsesStream, ResponsesPassthrough
from llmswitch.dialects.types import RequestOptions, ResponseContext, StreamContext


@pytest.mark.parametrize(("operation", "client", "upstream", "servable"), [
    ("chat", "responses", "anthropic", True), ("chat", "responses", "gemini", True),
    ("chat", "anthropic", "responses", True), ("chat", "openai", "responses", True),
    ("count_tokens", "responses", "anthropic", True), ("count_tokens", "responses", "gemini", False),
    ("compact", "responses", "responses", True), ("compact", "responses", "anthropic", False),
    ("response_retrieve", "responses", "responses", True), ("response_retrieve", "responses", "openai", False),
])
def test_what_the_registry_serves_for_responses(operation: str, client: str, upstream: str, servable: bool) -> None:
    assert translate.can_translate(operation, client, upstream) is servable


def test_a_count_for_anthropic_is_the_messages_request_cut_to_what_count_tokens_takes() -> None:
    body = {"model": "m", "input": "count me", "instructions": "Be brief.", "max_output_tokens": 100,
            "tools": [{"type": "function", "name": "f", "parameters": {"type": "object", "properties": {}}}]}
    made = translate.translate_request("responses", "anthropic", body, RequestOptions("claude-up", stream=False,
                                                                                      max_tokens_default=1024),
                                       operation="count_tokens").body
    assert set(made) == {"model", "messages", "system", "tools"}
    assert made["model"] == "claude-up" and made["messages"][0]["role"] == "user"
    answer, usage = translate.translate_response("anthropic", "responses", {"input_tokens": 12}, ResponseContext("m"),
                                                 operation="count_tokens")
    assert (answer, usage) == ({"object": "response.input_tokens", "input_tokens": 12}, None)


def test_an_anthropic_stream_to_a_responses_client_carries_its_signed_thinking() -> None:
    machine = translate.stream_translator("anthropic", "responses", StreamContext(
        "m", request={"model": "m", "input": "x", "include": ["reasoning.encrypted_content"]}))
    assert isinstance(machine.second, ChatToResponsesStream)  # type: ignore[attr-defined]
    assert machine.first.keep_thinking_blocks  # type: ignore[attr-defined]


def test_a_responses_upstream_streams_to_a_responses_client_as_it_sent_it() -> None:
    assert isinstance(translate.stream_translator("responses", "responses", StreamContext("m")), ResponsesPassthrough)
    assert translate.simulator("chat", "responses")({"id": "r", "status": "completed", "output": []})[-1]["type"] == \
        "response.completed"
