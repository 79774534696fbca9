"""Anthropic Messages: the wire facts every Anthropic translation shares.

Stop reasons, usage and tool ids each have one mapping to and from OpenAI; requests, responses
and streams all import them from here so the three can never disagree. The translations
themselves live in `anthropic_request.py`, `anthropic_response.py` and `anthropic_stream.py`.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from llmswitch.dialects.usage import Usage, token_count, usage_object
from llmswitch.errors import ANTHROPIC_TYPES

DEFAULT_MAX_TOKENS = 4096  # Anthropic requires max_tokens; used when neither client nor deployment sets it

STOP_TO_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

FINISH_TO_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}

_TOOL_ID_OK = re.compile(r"^[a-zA-Z0-9_-]+$")
_TOOL_ID_BAD_CHARS = re.compile(r"[^a-zA-Z0-9_-]")


def finish_reason(stop_reason: str | None) -> str:
    """OpenAI's finish_reason for an Anthropic stop_reason (unknown reasons end normally)."""
    return STOP_TO_FINISH.get(stop_reason or "", "stop")


def stop_reason(finish: str | None, *, has_tool_calls: bool = False) -> str:
    """Anthropic's stop_reason for an OpenAI finish_reason.

    Some OpenAI-compatible servers end a tool-calling turn with `stop`; an Anthropic client
    would then not run the tools, so a turn that carries tool calls always ends in `tool_use`.
    """
    if has_tool_calls and finish in (None, "stop", "tool_calls", "function_call"):
        return "tool_use"
    return FINISH_TO_STOP.get(finish or "", "end_turn")


def anthropic_tool_id(tool_id: str) -> str:
    """A tool id Anthropic accepts (`^[a-zA-Z0-9_-]+$`), derived stably from any other id.

    Valid ids are kept; others get their bad characters replaced plus a short hash of the
    original, so two different ids never collide and the same id maps the same way in the
    `tool_use` block and in its `tool_result`, on every request of a conversation.
    """
    if _TOOL_ID_OK.match(tool_id):
        return tool_id
    digest = hashlib.sha256(tool_id.encode()).hexdigest()[:12]
    return f"{_TOOL_ID_BAD_CHARS.sub('_', tool_id)}_{digest}"


def usage_from_anthropic(usage: Any) -> Usage | None:
    """Normalized usage; Anthropic's input_tokens exclude the cache's reads and writes, ours include them."""
    usage = usage_object(usage)
    if not usage:
        return None
    cache_read = token_count(usage, "cache_read_input_tokens")
    cache_creation = token_count(usage, "cache_creation_input_tokens")
    return Usage(
        prompt_tokens=token_count(usage, "input_tokens") + cache_read + cache_creation,
        completion_tokens=token_count(usage, "output_tokens"),
        cached_tokens=cache_read,
        cache_write_tokens=cache_creation,
    )


def usage_to_anthropic(usage: Usage | None) -> dict[str, Any]:
    """Anthropic's usage object for normalized usage."""
    usage = usage or Usage()
    return {
        "input_tokens": max(usage.prompt_tokens - usage.cached_tokens - usage.cache_write_tokens, 0),
        "output_tokens": usage.completion_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cached_tokens,
    }


def error_type(status: int, error_type: str | None = None) -> str:
    """The Anthropic error type for a failure, keeping a type that is already Anthropic's."""
    if error_type in ANTHROPIC_TYPES.values():
        return error_type  # type: ignore[return-value]
    return ANTHROPIC_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def error_status(error_type_name: str | None) -> int:
    """The HTTP status Anthropic pairs with an error type (a mid-stream `error` event has none)."""
    for status, name in ANTHROPIC_TYPES.items():
        if name == error_type_name and status not in (502, 503):
            return status
    return 500


def error_event(status: int, error_type_name: str | None, message: str) -> dict[str, Any]:
    """The `error` event an Anthropic stream ends with when it fails."""
    return {"type": "error", "error": {"type": error_type(status, error_type_name), "message": message}}
