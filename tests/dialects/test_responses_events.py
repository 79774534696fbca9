"""A whole Responses response told as a stream (a simulated stream, a stored response replayed):
openai-python's own stream state rebuilds the same response from the events."""

from __future__ import annotations

import json
from typing import Any

from llmswitch.dialects.responses_events import response_to_events
from tests.dialects.responses_sdk import client_view, framed

TOOL = {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}},
        "strict": False}


def response(status: str = "completed", output: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "id": "resp_1", "object": "response", "created_at": 1, "status": status, "background": False, "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "instructions": None, "max_output_tokens": None, "model": "m", "parallel_tool_calls": True,
        "previous_response_id": None, "reasoning": {"effort": None, "summary": None}, "store": True,
        "temperature": 1.0, "top_p": 1.0, "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto", "tools": [TOOL], "top_logprobs": 0, "truncation": "disabled", "metadata": {},
        "usage": {"input_tokens": 3, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                  "output_tokens": 5,
                  "output_tokens_details": {"reasoning_tokens": 1}, "total_tokens": 8},
        "output": output if output is not None else [
            {"id": "rs_1", "type": "reasoning", "status": "completed",
             "summary": [{"type": "summary_text", "text": "thought"}], "encrypted_content": "token"},
            {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
             "content": [{"type": "output_text", "text": "Hello", "annotations": []},
                         {"type": "refusal", "refusal": "no"}]},
            {"id": "fc_1", "type": "function_call", "call_id": "call_1", "name": "get_weather",
             "arguments": "{\"city\": \"Paris\"}", "status": "completed"},
            {"id": "ctc_1", "type": "custom_tool_call", "call_id": "call_2", "name": "patch", "input": "diff"},
        ],
    }


def test_the_sdk_rebuilds_every_item_of_the_response_from_its_events() -> None:
    whole = response()
    final = client_view(response_to_events(json.loads(json.dumps(whole))), tools=[TOOL])
    assert final is not None
    assert final.model_dump(mode="json", exclude_none=True)["output"] == whole["output"]
    assert final.output_text == "Hello"
    assert final.usage is not None and final.usage.total_tokens == 8


def test_each_text_arrives_as_one_delta_after_its_part_opens_empty() -> None:
    events = response_to_events(response())
    deltas = [(e["type"], e["delta"]) for e in events if e["type"].endswith(".delta")]
    assert deltas == [("response.reasoning_summary_text.delta", "thought"), ("response.output_text.delta", "Hello"),
                      ("response.refusal.delta", "no"),
                      ("response.function_call_arguments.delta", "{\"city\": \"Paris\"}"),
                      ("response.custom_tool_call_input.delta", "diff")]
    opened = [e["item"] for e in events if e["type"] == "response.output_item.added"]
    assert opened[1]["content"] == [] and opened[2]["arguments"] == ""


def test_the_opening_events_carry_no_output_and_the_last_one_the_whole_response() -> None:
    events = framed(response_to_events(response()))
    assert [e["type"] for e in events[:2]] == ["response.created", "response.in_progress"]
    assert events[0]["response"]["output"] == [] and events[0]["response"]["status"] == "in_progress"
    assert events[-1] == {"type": "response.completed", "sequence_number": len(events) - 1, "response": response()}


def test_an_incomplete_response_ends_in_response_incomplete_and_a_failed_one_in_response_failed() -> None:
    assert response_to_events(response("incomplete"))[-1]["type"] == "response.incomplete"
    failed = response("failed", output=[])
    failed["error"] = {"code": "server_error", "message": "broke"}
    assert client_view(response_to_events(failed)) is None  # the SDK's view of a failed stream
