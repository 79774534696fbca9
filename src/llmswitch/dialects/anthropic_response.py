"""Whole (non-streaming) answers between Anthropic Messages and OpenAI Chat Completions.

Each function builds the complete shape the client's SDK validates, reports the client's own
model name, and returns the normalized usage for accounting.
"""

from __future__ import annotations

import json
import time
from typing import Any

from llmswitch.dialects.anthropic import (anthropic_tool_id, finish_reason, stop_reason,
                                          usage_from_anthropic, usage_to_anthropic)
from llmswitch.dialects.types import ResponseContext, answer_list
from llmswitch.dialects.usage import Usage, from_openai, to_openai


def anthropic_to_openai_response(body: dict[str, Any], ctx: ResponseContext) -> tuple[dict[str, Any], Usage | None]:
    """An Anthropic message as an OpenAI chat completion.

    Thinking goes to the non-standard `reasoning_content`, and the signed blocks themselves to
    `thinking_blocks`, so a client can send them back on its next turn (Anthropic requires it
    when tools are used with thinking).
    """
    blocks = answer_list(body, "content")
    text = "".join(block.get("text", "") for block in blocks if block.get("type") == "text")
    message: dict[str, Any] = {"role": "assistant", "content": text or None, "refusal": None}
    calls = [{"id": block.get("id"), "type": "function",
              "function": {"name": block.get("name"), "arguments": json.dumps(block.get("input") or {})}}
             for block in blocks if block.get("type") == "tool_use"]
    if calls:
        message["tool_calls"] = calls
    thinking = [block for block in blocks if block.get("type") in ("thinking", "redacted_thinking")]
    if thinking:
        message["reasoning_content"] = "".join(block.get("thinking", "") for block in thinking)
        message["thinking_blocks"] = thinking
    usage = usage_from_anthropic(body.get("usage"))
    out: dict[str, Any] = {
        "id": body.get("id") or f"chatcmpl-{ctx.request_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": ctx.client_model,
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": finish_reason(body.get("stop_reason"))}],
    }
    if usage:
        out["usage"] = to_openai(usage)
    return out, usage


def openai_to_anthropic_response(body: dict[str, Any], ctx: ResponseContext) -> tuple[dict[str, Any], Usage | None]:
    """An OpenAI chat completion (its first choice) as an Anthropic message.

    Reasoning text is left out: Anthropic thinking blocks need a signature the OpenAI upstream
    cannot give, and an unsigned block would make the client's next Anthropic turn fail.
    """
    choice = (answer_list(body, "choices") or [{}])[0]
    message = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    for key in ("content", "refusal"):
        if message.get(key):
            content.append({"type": "text", "text": message[key]})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        content.append({"type": "tool_use", "id": anthropic_tool_id(str(call.get("id") or "")),
                        "name": function.get("name"), "input": parse_arguments(function.get("arguments"))})
    usage = from_openai(body.get("usage"))
    reason = stop_reason(choice.get("finish_reason"), has_tool_calls=bool(message.get("tool_calls")))
    if message.get("refusal") and not message.get("content"):
        reason = "refusal"
    upstream_id = str(body.get("id") or ctx.request_id)
    out = {
        "id": upstream_id if upstream_id.startswith("msg_") else f"msg_{upstream_id}",
        "type": "message",
        "role": "assistant",
        "model": ctx.client_model,
        "content": content,
        "stop_reason": reason,
        "stop_sequence": None,
        "usage": usage_to_anthropic(usage),
    }
    return out, usage


def parse_arguments(arguments: Any) -> dict[str, Any]:
    """A tool call's JSON-string arguments as Anthropic's `input` object.

    `""`/null mean no arguments; text that is not a JSON object (an upstream's fault) is kept
    under `_raw_arguments` rather than lost.
    """
    if not arguments:
        return {}
    try:
        parsed = json.loads(arguments)
    except (TypeError, ValueError):
        return {"_raw_arguments": str(arguments)}
    return parsed if isinstance(parsed, dict) else {"_raw_arguments": str(arguments)}


def passthrough_response(body: dict[str, Any], ctx: ResponseContext) -> tuple[dict[str, Any], Usage | None]:
    """Anthropic to Anthropic: only `model` changes."""
    answer_list(body, "content")
    if "model" in body:
        body["model"] = ctx.client_model
    return body, usage_from_anthropic(body.get("usage"))
