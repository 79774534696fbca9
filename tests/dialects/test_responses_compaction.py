"""Compaction on a translated deployment: a create whose input ends in `compaction_trigger` (Codex's way
on its built-in OpenAI provider) is the model asked for a summary, answered as the one `compaction` item
that holds it, streaming or not; replayed, that item gives the model the summary in its place.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmswitch.dialects.responses_request import COMPACTED_PREFIX, COMPACTION_INSTRUCTION, responses_to_chat_request
from llmswitch.dialects.responses_response import chat_to_responses_response
from llmswitch.dialects.responses_stream import ChatToResponsesStream
from llmswitch.dialects.types import RequestOptions, ResponseContext, StreamContext
from llmswitch.errors import GatewayError
from tests.dialects.responses_sdk import client_view, validated
from tests.dialects.test_anthropic_stream import run

TOOLS = [{"type": "function", "name": "exec_command", "parameters": {"type": "object"}, "strict": False}]
HISTORY = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Fix the bug."}]},
           {"type": "function_call", "call_id": "c1", "name": "exec_command", "arguments": "{}"},
           {"type": "function_call_output", "call_id": "c1", "output": "ok"}]
COMPACT = {"model": "m", "input": [*HISTORY, {"type": "compaction_trigger"}], "tools": TOOLS, "store": False}
SUMMARY = "The bug is in parse(); the tests pass."
ANSWER = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "up",
          "choices": [{"index": 0, "finish_reason": "stop", "message": {
              "role": "assistant", "content": SUMMARY, "reasoning_content": "Let me sum up."}}],
          "usage": {"prompt_tokens": 40, "completion_tokens": 9, "total_tokens": 49}}


def chat(body: dict[str, Any]) -> dict[str, Any]:
    return responses_to_chat_request(json.loads(json.dumps(body)), RequestOptions("up", stream=False)).body


def compaction_of(answer: dict[str, Any]) -> list[dict[str, Any]]:
    body, _ = chat_to_responses_response(json.loads(json.dumps(answer)), ResponseContext("m", request=COMPACT))
    validated(body)
    return body["output"]


def test_the_trigger_asks_the_model_for_a_summary_after_the_history_with_no_tool_to_call():
    body = chat(COMPACT)
    assert body["messages"][-1] == {"role": "user", "content": COMPACTION_INSTRUCTION}
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "tool", "user"]
    assert body["tool_choice"] == "none"


def test_the_answer_is_one_compaction_item_and_nothing_else():
    [item] = compaction_of(ANSWER)
    assert item["type"] == "compaction" and item["id"].startswith("cmp_")
    assert item["encrypted_content"].startswith("llmswitch.compaction.v1:")


def test_replaying_the_compaction_item_gives_the_model_the_summary_in_its_place():
    [item] = compaction_of(ANSWER)
    body = chat({"model": "m", "input": [HISTORY[0], item, {"role": "user", "content": "Go on."}]})
    assert body["messages"][1:] == [{"role": "user", "content": COMPACTED_PREFIX + SUMMARY},
                                    {"role": "user", "content": "Go on."}]


def test_a_streamed_compaction_is_the_one_item_the_sdk_assembles():
    events = [{"choices": [{"index": 0, "delta": {"role": "assistant", "reasoning_content": "Let me sum up."}}]},
              {"choices": [{"index": 0, "delta": {"content": SUMMARY[:10]}}]},
              {"choices": [{"index": 0, "delta": {"content": SUMMARY[10:]}, "finish_reason": "stop"}]},
              {"choices": [], "usage": {"prompt_tokens": 40, "completion_tokens": 9, "total_tokens": 49}}]
    out = run(ChatToResponsesStream(StreamContext("m", request=COMPACT)), events)
    assert "response.compaction.compacting" in [event["type"] for event in out]
    final = client_view(out, TOOLS)
    assert final is not None
    [item] = [item.to_dict() for item in final.output]
    assert item == compaction_of(ANSWER)[0] | {"id": item["id"]}


def test_openais_compaction_item_is_left_out_as_a_hint():
    translated = responses_to_chat_request(
        {"model": "m", "input": [{"type": "compaction", "id": "cmp_1", "encrypted_content": "gAAAAB..."},
                                 {"role": "user", "content": "Go on."}]}, RequestOptions("up", stream=False))
    assert translated.body["messages"] == [{"role": "user", "content": "Go on."}]
    assert "input.compaction" in translated.dropped


def test_a_damaged_compaction_token_of_ours_is_a_400_naming_the_item():
    with pytest.raises(GatewayError) as caught:
        chat({"model": "m", "input": [{"type": "compaction", "encrypted_content": "llmswitch.compaction.v1:%%%"},
                                      {"role": "user", "content": "x"}]})
    assert caught.value.status == 400 and caught.value.param == "input[0].encrypted_content"
