"""`POST /v1/chat/completions`: the OpenAI Chat Completions surface.

Validation happens here, before any upstream call, so a bad request costs nothing upstream and
gets an OpenAI-shaped 400 naming the parameter at fault.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from llmswitch.core.operations import CHAT
from llmswitch.dialects.estimate import max_output_tokens, prompt_estimate
from llmswitch.dialects.shapes import Shape, check_fields
from llmswitch.errors import invalid
from llmswitch.surfaces.body import read_json_object
from llmswitch.surfaces.wire import OPENAI
from llmswitch.web.respond import serve

ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
PART_TYPES = {"text", "image_url", "input_audio", "file", "refusal"}

NUMBER = (int, float)
_FUNCTION = {"name": str, "description": str, "parameters": dict}
# The JSON type of every top-level parameter of CreateChatCompletionRequest in the OpenAI OpenAPI
# spec, and of the nested fields the translations read (tests/dialects/test_shapes.py holds this
# table to the spec vendored in tests/fuzz/data).
PARAM_SHAPES: dict[str, Shape] = {
    "model": str, "messages": list, "metadata": dict, "prompt_cache_key": str, "prompt_cache_retention": str,
    "prompt_cache_options": dict, "safety_identifier": str, "user": str, "service_tier": str, "modalities": list,
    "verbosity": str, "reasoning_effort": str, "temperature": NUMBER, "top_p": NUMBER, "top_logprobs": int,
    "frequency_penalty": NUMBER, "presence_penalty": NUMBER, "max_completion_tokens": int, "max_tokens": int,
    "n": int, "seed": int, "logprobs": bool, "logit_bias": dict, "store": bool, "stream": bool, "stop": (str, list),
    "web_search_options": dict, "audio": dict, "prediction": dict, "moderation": dict,
    "stream_options": {"include_usage": bool, "include_obfuscation": bool},
    "response_format": {"type": str, "json_schema": {"name": str, "schema": dict, "strict": bool}},
    "tools": [{"type": str, "function": _FUNCTION, "custom": dict}],
    "tool_choice": (str, {"type": str, "function": {"name": str}, "allowed_tools": dict, "custom": dict}),
    "parallel_tool_calls": bool,
    "function_call": (str, {"name": str}),
    "functions": [_FUNCTION],
}
MESSAGE_SHAPES: dict[str, Shape] = {
    "name": str, "tool_call_id": str, "refusal": str, "audio": dict, "function_call": {"name": str},
    "tool_calls": [{"id": str, "type": str, "function": {"name": str}, "custom": dict}],
    "thinking_blocks": [dict],  # not OpenAI's: Anthropic's signed thinking, sent back (see dialects)
}
_MESSAGE_FIELDS = frozenset(MESSAGE_SHAPES)  # a set's isdisjoint is half the cost of a keys view's


# Numbers with bounds, checked in this order where present (most requests set none of them, so each
# costs a key lookup rather than a call).
RANGES = (("temperature", 0, 2), ("top_p", 0, 1))
MINIMUMS = (("max_tokens", 1), ("max_completion_tokens", 1), ("n", 1))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_range(body: dict[str, Any], param: str, low: float, high: float) -> None:
    value = body.get(param)
    if value is None:
        return
    if not _is_number(value) or not low <= value <= high:
        raise invalid(f"Invalid '{param}': must be a number between {low:g} and {high:g}, got {value!r}.",
                      param=param, code="invalid_value")


def _check_positive_int(body: dict[str, Any], param: str, minimum: int = 1) -> None:
    value = body.get(param)
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise invalid(f"Invalid '{param}': must be an integer >= {minimum}, got {value!r}.", param=param,
                      code="invalid_value")


def _check_content(content: Any, param: str) -> None:
    if content is None or isinstance(content, str):
        return
    if not isinstance(content, list):
        raise invalid(f"Invalid '{param}': must be a string or an array of content parts.", param=param,
                      code="invalid_type")
    for j, part in enumerate(content):
        where = f"{param}[{j}]"
        if not isinstance(part, dict) or not isinstance(part.get("type"), str) or part["type"] not in PART_TYPES:
            kind = part.get("type") if isinstance(part, dict) else type(part).__name__
            raise invalid(f"Invalid '{where}': unknown content part type {kind!r}.", param=where,
                          code="invalid_value")
        if part["type"] == "text" and not isinstance(part.get("text"), str):
            raise invalid(f"Invalid '{where}.text': must be a string.", param=f"{where}.text",
                          code="invalid_type")
        if part["type"] == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else None
            if not isinstance(url, str):
                raise invalid(f"Invalid '{where}.image_url': must be an object with a 'url' string.",
                              param=f"{where}.image_url", code="invalid_type")


def validate_chat_request(body: dict[str, Any]) -> None:
    """Reject what OpenAI itself would reject, naming the parameter (raises a 400 GatewayError)."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid("you must provide a model parameter", param="model", code="missing_required_parameter")
    messages = body.get("messages")
    if messages is None:
        raise invalid("Missing required parameter: 'messages'.", param="messages",
                      code="missing_required_parameter")
    if not isinstance(messages, list):
        raise invalid("Invalid 'messages': must be an array.", param="messages", code="invalid_type")
    if not messages:
        raise invalid("Invalid 'messages': empty array. Expected an array with minimum length 1.",
                      param="messages", code="empty_array")
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise invalid(f"Invalid 'messages[{i}]': must be an object.", param=f"messages[{i}]",
                          code="invalid_type")
        role = message.get("role")
        if not isinstance(role, str) or role not in ROLES:
            raise invalid(f"Invalid 'messages[{i}].role': unknown role {role!r}. Supported values are: "
                          "'system', 'developer', 'user', 'assistant', 'tool' and 'function'.",
                          param=f"messages[{i}].role", code="invalid_value")
        _check_content(message.get("content"), f"messages[{i}].content")
        if not _MESSAGE_FIELDS.isdisjoint(message):  # most messages have only role and content
            check_fields(message, MESSAGE_SHAPES, "messages[{}].", i)
    check_fields(body, PARAM_SHAPES)
    for param, low, high in RANGES:
        if param in body:
            _check_range(body, param, low, high)
    for param, minimum in MINIMUMS:
        if param in body:
            _check_positive_int(body, param, minimum)
    stop = body.get("stop")
    if stop is not None:
        if isinstance(stop, list):
            if len(stop) > 4:
                raise invalid("Invalid 'stop': at most 4 stop sequences are allowed.", param="stop",
                              code="array_above_max_length")
            if not all(isinstance(s, str) for s in stop):
                raise invalid("Invalid 'stop': must be a string or an array of strings.", param="stop",
                              code="invalid_type")
        elif not isinstance(stop, str):
            raise invalid("Invalid 'stop': must be a string or an array of strings.", param="stop",
                          code="invalid_type")
    if body.get("stream") is not None and not isinstance(body.get("stream"), bool):
        raise invalid("Invalid 'stream': must be a boolean.", param="stream", code="invalid_type")


async def chat_completions(request: web.Request) -> web.StreamResponse:
    body = await read_json_object(request)
    validate_chat_request(body)
    stream_options = body.get("stream_options")
    return await serve(request, OPENAI, CHAT, body, stream=bool(body.get("stream")),
                       prompt_estimate=prompt_estimate(body), max_output=max_output_tokens(body),
                       include_usage=bool(isinstance(stream_options, dict) and stream_options.get("include_usage")))


ROUTES = (("POST", "/chat/completions", chat_completions, OPENAI),)
