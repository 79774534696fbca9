"""Responses API items as the gateway keeps them: a request's input as stored items, a stored
conversation continued by `previous_response_id` and `item_reference`s, the `include[]` a read asks
for, and the pages of `GET /v1/responses/{id}/input_items`. Pure: the store hands the items in.

Input items are kept as OpenAI lists them: each with an `id` (the client's, else one made here), a
message's content as parts, and a `status`. A conversation is what the model saw, then what it
answered: a response's input items followed by its output.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from llmswitch.dialects.responses import ENCRYPTED_REASONING, new_id
from llmswitch.errors import invalid

# An item type's id prefix, as OpenAI's own ids begin.
ID_PREFIXES = {"message": "msg", "function_call": "fc", "function_call_output": "fco", "custom_tool_call": "ctc",
               "custom_tool_call_output": "ctco", "reasoning": "rs", "compaction": "cmp"}
LIST_LIMITS = (1, 100)
ORDERS = ("asc", "desc")
_COMPLETED = ("function_call", "function_call_output", "custom_tool_call_output")


def as_items(raw: Any) -> list[dict[str, Any]]:
    """A create request's `input` as a list of items (a string is one user message)."""
    if isinstance(raw, str):
        return [{"type": "message", "role": "user", "content": raw}]
    return [item for item in raw or () if isinstance(item, dict)]


def stored_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items as kept and listed: each with an id, a message's text as a part, a status where one is due."""
    out = []
    for item in items:
        kind = item.get("type", "message")
        stored = {"type": kind, **_copied(item)}
        stored.setdefault("id", new_id(ID_PREFIXES.get(kind, "item")))
        if kind == "message":
            content = stored.get("content")
            if isinstance(content, str):
                assistant = stored.get("role") == "assistant"
                stored["content"] = [{"type": "output_text", "text": content, "annotations": []} if assistant
                                     else {"type": "input_text", "text": content}]
            stored.setdefault("status", "completed")
        elif kind in _COMPLETED:
            stored.setdefault("status", "completed")
        out.append(stored)
    return out


def _copied(value: Any) -> Any:
    """A copy of parsed JSON sharing nothing mutable with it: what `copy.deepcopy` makes of it, at a
    fifth of the cost (no memo, no dispatch by type), paid for every response kept."""
    if type(value) is dict:
        return {key: _copied(item) for key, item in value.items()}
    if type(value) is list:
        return [_copied(item) for item in value]
    return value


def resolve_references(items: list[dict[str, Any]], find: Callable[[str], dict[str, Any] | None]
                       ) -> tuple[list[dict[str, Any]], list[str]]:
    """ITEMS with each `item_reference` the gateway keeps replaced by the item it names (FIND gives it,
    or None), and the ids of those it does not keep (left as they are: an upstream may keep them)."""
    out: list[dict[str, Any]] = []
    unknown: list[str] = []
    for item in items:
        if item.get("type") == "item_reference":
            found = find(str(item.get("id") or ""))
            if found is not None:
                out.append(copy.deepcopy(found))
                continue
            unknown.append(str(item.get("id")))
        out.append(item)
    return out, unknown


def references(items: list[dict[str, Any]]) -> list[str]:
    """The ids a request's input items refer to."""
    return [str(item.get("id")) for item in items if item.get("type") == "item_reference"]


def shown(value: Any, include: list[str] | tuple[str, ...]) -> Any:
    """A response, item or list of items as a read shows it: reasoning items keep `encrypted_content`
    only when `include` asks for it (as OpenAI's reads do); everything else as kept."""
    if ENCRYPTED_REASONING in include:
        return value
    if isinstance(value, list):
        return [shown(item, include) for item in value]
    if not isinstance(value, dict):
        return value
    if value.get("type") == "reasoning" and "encrypted_content" in value:
        return {key: item for key, item in value.items() if key != "encrypted_content"}
    if isinstance(value.get("output"), list) and value.get("object") == "response":
        return {**value, "output": shown(value["output"], include)}
    return value


def page(items: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    """One page of input items as `GET /v1/responses/{id}/input_items` answers: `limit` (1..100,
    default 20), `order` (`desc`, the default, or `asc`), `after` (an item id of the listing)."""
    order = query.get("order", "desc")
    if order not in ORDERS:
        raise invalid(f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'.", param="order",
                      code="invalid_value")
    raw_limit = query.get("limit", "20")
    try:
        limit = int(raw_limit)
    except ValueError:
        limit = 0
    if not LIST_LIMITS[0] <= limit <= LIST_LIMITS[1]:
        raise invalid(f"Invalid 'limit': expected an integer from {LIST_LIMITS[0]} to {LIST_LIMITS[1]}, got "
                      f"{raw_limit!r}.", param="limit", code="invalid_value")
    listed = list(reversed(items)) if order == "desc" else list(items)
    after = query.get("after")
    if after is not None:
        ids = [item.get("id") for item in listed]
        if after not in ids:
            raise invalid(f"Invalid 'after': no item with id '{after}' in this response's input.", param="after",
                          code="invalid_value")
        listed = listed[ids.index(after) + 1:]
    data = listed[:limit]
    return {"object": "list", "data": data, "first_id": data[0].get("id") if data else None,
            "last_id": data[-1].get("id") if data else None, "has_more": len(listed) > limit}
