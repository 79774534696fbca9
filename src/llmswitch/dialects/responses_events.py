"""A whole Responses response told as the stream of events that would have made it.

Two uses: a deployment with `stream: simulate` whose upstream speaks the Responses API answers a
streaming client from its one JSON answer, and `GET /v1/responses/{id}?stream=true` replays a stored
response that was made without streaming. The events follow the rules openai-python's
`ResponseStreamState` holds a stream to (see `responses_stream`): `response.created` first, each
item opened empty by `output_item.added`, its text or arguments in one delta, closed by
`output_item.done` with the finished item, and the terminal event carrying the whole response.
"""

from __future__ import annotations

import copy
from typing import Any

TERMINAL = {"completed": "response.completed", "incomplete": "response.incomplete"}  # any other: failed


def response_to_events(response: dict[str, Any]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []

    def emit(kind: str, **fields: Any) -> None:
        events.append({"type": kind, "sequence_number": len(events), **fields})

    status = response.get("status") or "completed"
    opening = {**response, "status": "in_progress", "output": [], "usage": None}
    emit("response.created", response=opening)
    emit("response.in_progress", response=copy.deepcopy(opening))
    for index, item in enumerate(response.get("output") or ()):
        if isinstance(item, dict):
            _item_events(emit, index, item)
    emit(TERMINAL.get(status, "response.failed"), response=response)
    return events


def _item_events(emit: Any, index: int, item: dict[str, Any]) -> None:
    kind = item.get("type")
    where = {"item_id": item.get("id"), "output_index": index}
    if kind == "message":
        emit("response.output_item.added", output_index=index, item={**item, "status": "in_progress", "content": []})
        for position, part in enumerate(item.get("content") or ()):
            at = {**where, "content_index": position}
            if part.get("type") == "refusal":
                emit("response.content_part.added", **at, part={"type": "refusal", "refusal": ""})
                emit("response.refusal.delta", **at, delta=part.get("refusal") or "")
                emit("response.refusal.done", **at, refusal=part.get("refusal") or "")
            else:
                text = part.get("text") or ""
                emit("response.content_part.added", **at, part={**part, "text": "", "annotations": []})
                emit("response.output_text.delta", **at, delta=text, logprobs=[])
                emit("response.output_text.done", **at, text=text, logprobs=[])
            emit("response.content_part.done", **at, part=part)
    elif kind == "function_call":
        emit("response.output_item.added", output_index=index, item={**item, "status": "in_progress", "arguments": ""})
        arguments = item.get("arguments") or ""
        emit("response.function_call_arguments.delta", **where, delta=arguments)
        emit("response.function_call_arguments.done", **where, name=item.get("name"), arguments=arguments)
    elif kind == "custom_tool_call":
        emit("response.output_item.added", output_index=index, item={**item, "input": ""})
        emit("response.custom_tool_call_input.delta", **where, delta=item.get("input") or "")
        emit("response.custom_tool_call_input.done", **where, input=item.get("input") or "")
    elif kind == "reasoning":
        emit("response.output_item.added", output_index=index,
             item={key: value for key, value in item.items() if key != "content"} | {"summary": [],
                                                                                      "status": "in_progress"})
        for position, part in enumerate(item.get("summary") or ()):
            at = {**where, "summary_index": position}
            emit("response.reasoning_summary_part.added", **at, part={"type": "summary_text", "text": ""})
            emit("response.reasoning_summary_text.delta", **at, delta=part.get("text") or "")
            emit("response.reasoning_summary_text.done", **at, text=part.get("text") or "")
            emit("response.reasoning_summary_part.done", **at, part=part)
        for position, part in enumerate(item.get("content") or ()):
            at = {**where, "content_index": position}
            emit("response.content_part.added", **at, part={"type": "reasoning_text", "text": ""})
            emit("response.reasoning_text.delta", **at, delta=part.get("text") or "")
            emit("response.reasoning_text.done", **at, text=part.get("text") or "")
            emit("response.content_part.done", **at, part=part)
    else:  # hosted tools' items: opened and closed whole
        emit("response.output_item.added", output_index=index, item=item)
    emit("response.output_item.done", output_index=index, item=item)
