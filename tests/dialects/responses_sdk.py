"""What openai-python makes of a Responses answer or event stream: the checks the real client applies.

`client_view` feeds events through the SDK's own `ResponseStreamState` (what `client.responses.stream`
and `get_final_response()` use) after validating each against the `ResponseStreamEvent` union, and
checks the wire rules the accumulator does not (sequence numbers, one terminal event, `event:` lines).
"""

from __future__ import annotations

import json
from typing import Any

import pydantic
from openai import omit
from openai._models import construct_type
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import Response, ResponseStreamEvent

from llmswitch.dialects.sse import SSEDecoder, encode_event

EVENT = pydantic.TypeAdapter(ResponseStreamEvent)
TERMINAL = ("response.completed", "response.incomplete", "response.failed")


def validated(response: dict[str, Any]) -> Response:
    """The SDK's model of a whole response, refusing any field of the wrong shape."""
    return Response.model_validate(json.loads(json.dumps(response)))


def framed(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events as a client reads them off the wire: each frame's `event:` line names its type."""
    decoded = SSEDecoder().feed(b"".join(encode_event(event) for event in events))
    assert [name for name, _ in decoded] == [event["type"] for event in events]
    return [json.loads(data) for _, data in decoded]


def client_view(events: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> Response | None:
    """The final response the SDK's stream helper returns (None for a stream that failed)."""
    events = framed(events)
    assert events[0]["type"] == "response.created"
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    assert [event["type"] in TERMINAL for event in events] == [False] * (len(events) - 1) + [True]
    state = ResponseStreamState(input_tools=tools if tools is not None else omit, text_format=omit)
    for event in events:
        EVENT.validate_python(event)
        state.handle_event(construct_type(type_=ResponseStreamEvent, value=event))  # type: ignore[arg-type]
    if events[-1]["type"] == "response.completed":
        final = state._completed_response
        assert final is not None
        return final
    validated(events[-1]["response"])
    return None
