"""`POST /v1/messages` and `POST /v1/messages/count_tokens`: the Anthropic Messages surface.

Anthropic SDK clients and coding agents (Claude Code and the like) reach any configured model
here; errors come back in Anthropic's own shape (the routes speak `wire.ANTHROPIC`). Requests are
checked here as Anthropic checks them, before any upstream call.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from llmswitch.core.operations import CHAT, COUNT_TOKENS
from llmswitch.dialects.estimate import estimate_input_tokens, max_output_tokens, prompt_estimate
from llmswitch.dialects.shapes import Shape, check_fields
from llmswitch.errors import invalid
from llmswitch.surfaces.body import read_json_object
from llmswitch.surfaces.wire import ANTHROPIC
from llmswitch.web.respond import serve

_NUMBER = (int, float)
# The JSON type of the Messages API's request fields the translations read (anthropic SDK's
# MessageCreateParams; tests/dialects/test_shapes.py holds the table to the SDK's TypedDicts).
REQUEST_SHAPES: dict[str, Shape] = {
    "model": str, "max_tokens": int, "messages": list, "system": (str, [{"type": str, "text": str}]),
    "metadata": {"user_id": str}, "stop_sequences": [str], "stream": bool, "temperature": _NUMBER,
    "top_p": _NUMBER, "top_k": int, "tools": [{"type": str, "name": str, "description": str, "input_schema": dict}],
    "tool_choice": {"type": str, "name": str, "disable_parallel_tool_use": bool},
    "thinking": {"type": str, "budget_tokens": int}, "output_config": {"effort": str, "format": {"schema": dict}},
    "service_tier": str, "container": (str, dict), "cache_control": dict, "inference_geo": str, "speed": str,
}
# Fields several block types share, as every one of them has it (a server tool's result holds an
# object in `content`, a search result a string in `source`).
BLOCK_SHAPES: dict[str, Shape] = {
    "id": str, "name": str, "tool_use_id": str, "is_error": bool, "cache_control": dict, "input": dict,
    "content": (str, [dict], dict), "source": (str, {"type": str, "media_type": str, "data": (str, list), "url": str}),
}

_BLOCK_REQUIRED: dict[str, tuple[str, type | tuple[type, ...]]] = {
    "text": ("text", str),
    "image": ("source", dict),
    "document": ("source", dict),
    "tool_use": ("id", str),
    "tool_result": ("tool_use_id", str),
    "thinking": ("thinking", str),
    "redacted_thinking": ("data", str),
    "mid_conv_system": ("content", (str, list)),
}
ROLES = ("user", "assistant", "system")  # anthropic-sdk-python types/message_param.py


def validate_request(body: dict[str, Any]) -> None:
    """The checks Anthropic itself makes before work starts, so a bad request fails with a
    400 naming the field instead of reaching (and being billed by) an upstream.

    Only what the API refuses is refused: block types it may add later pass (the translations
    list what they cannot carry), and `max_tokens: 0` (a prompt-cache pre-warm) is valid.
    """
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise invalid("model: field required", param="model")
    check_fields(body, REQUEST_SHAPES)
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 0:
        raise invalid("max_tokens: a non-negative integer is required", param="max_tokens")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid("messages: a non-empty list is required", param="messages")
    for position, message in enumerate(messages):
        param = f"messages.{position}"
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise invalid(f"{param}.role: must be 'user', 'assistant' or 'system'", param=f"{param}.role")
        content = message.get("content")
        if isinstance(content, str):
            continue
        if not isinstance(content, list):
            raise invalid(f"{param}.content: a string or a list of blocks is required",
                          param=f"{param}.content")
        for index, block in enumerate(content):
            _validate_block(block, f"{param}.content.{index}")
            if message["role"] == "system" and block["type"] != "text":
                raise invalid(f"{param}.content.{index}.type: a system message holds text blocks only",
                              param=f"{param}.content.{index}.type")
    temperature = body.get("temperature")
    if temperature is not None and (isinstance(temperature, bool) or not isinstance(temperature, (int, float))
                                    or not 0 <= temperature <= 1):
        raise invalid("temperature: must be a number between 0 and 1", param="temperature")


def _validate_block(block: Any, param: str) -> None:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        raise invalid(f"{param}: a content block needs a type", param=param)
    check_fields(block, BLOCK_SHAPES, param + ".")
    required = _BLOCK_REQUIRED.get(block["type"])
    if required and not isinstance(block.get(required[0]), required[1]):
        raise invalid(f"{param}.{required[0]}: field required", param=f"{param}.{required[0]}")
    if block["type"] == "tool_use" and not isinstance(block.get("name"), str):
        raise invalid(f"{param}.name: field required", param=f"{param}.name")
    if block["type"] == "mid_conv_system" and isinstance(block["content"], list):
        for index, inner in enumerate(block["content"]):
            _validate_block(inner, f"{param}.content.{index}")


async def messages(request: web.Request) -> web.StreamResponse:
    body = await read_json_object(request)
    validate_request(body)
    return await serve(request, ANTHROPIC, CHAT, body, stream=bool(body.get("stream")),
                       prompt_estimate=prompt_estimate(body), max_output=max_output_tokens(body))


async def count_tokens(request: web.Request) -> web.StreamResponse:
    """Counted through the pipeline like any operation: the key's rpm and concurrency count the call,
    which reserves no tokens and no budget (counting is free upstream). The plan keeps the model's
    targets that count in Anthropic's dialect, with their configured or stored keys, and a failure
    moves on to the next (a count is idempotent). Where no target can count, or all failed on their
    side (5xx), the answer is a local estimate."""
    body = await read_json_object(request)
    name = body.get("model")
    if not isinstance(name, str) or not name:
        raise invalid("model: field required", param="model")
    if not isinstance(body.get("messages"), list):
        raise invalid("messages: a list is required", param="messages")
    return await serve(request, ANTHROPIC, COUNT_TOKENS, body, fallback=_estimate)


def _estimate(body: dict[str, Any]) -> dict[str, Any]:
    return {"input_tokens": estimate_input_tokens(body)}


ROUTES = (
    ("POST", "/messages", messages, ANTHROPIC),
    ("POST", "/messages/count_tokens", count_tokens, ANTHROPIC),
)
