"""Gemini `generateContent` response -> OpenAI `chat.completion`, and the rules the stream shares.

Gemini omits function-call ids on AI Studio, so each call gets a synthesized unique id; the
thought signature travels in the call's `extra_content.google.thought_signature` (see
gemini_request for the way back).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from llmswitch.dialects.types import ResponseContext
from llmswitch.dialects.usage import Usage, to_openai, token_count, usage_object

_FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
}


# Google's canonical error codes (`error.status`) and the HTTP status each one is served with.
_ERROR_STATUSES = {
    "INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "OUT_OF_RANGE": 400, "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403, "NOT_FOUND": 404, "ABORTED": 409, "ALREADY_EXISTS": 409,
    "RESOURCE_EXHAUSTED": 429, "CANCELLED": 499, "UNKNOWN": 500, "INTERNAL": 500, "DATA_LOSS": 500,
    "NOT_IMPLEMENTED": 501, "UNAVAILABLE": 503, "DEADLINE_EXCEEDED": 504,
}


def error_status(error: Any) -> int:
    """The HTTP status of a Google error object `{code, message, status}` sent inside a 200 stream:
    its numeric `code`, else the one its `status` name is served with, else 500."""
    if not isinstance(error, dict):
        return 500
    code = error.get("code")
    if isinstance(code, int) and not isinstance(code, bool) and 400 <= code <= 599:
        return code
    name = error.get("status")
    return _ERROR_STATUSES.get(name, 500) if isinstance(name, str) else 500


def finish_reason(gemini_reason: str | None, made_calls: bool) -> str:
    """OpenAI's finish_reason; a turn that called functions ends in `tool_calls` (Gemini says STOP)."""
    reason = _FINISH_REASONS.get(gemini_reason or "STOP", "stop")
    return "tool_calls" if made_calls and reason == "stop" else reason


def usage_from_gemini(metadata: Any) -> Usage | None:
    """promptTokenCount already includes cached tokens; thoughts are billed as output."""
    metadata = usage_object(metadata, "usageMetadata")
    if not metadata:
        return None
    thoughts = token_count(metadata, "thoughtsTokenCount")
    prompt = token_count(metadata, "promptTokenCount") + token_count(metadata, "toolUsePromptTokenCount")
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=token_count(metadata, "candidatesTokenCount") + thoughts,
        cached_tokens=token_count(metadata, "cachedContentTokenCount"),
        reasoning_tokens=thoughts,
    )


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def completion_id(body: dict[str, Any]) -> str:
    response_id = body.get("responseId")
    return f"chatcmpl-{response_id}" if response_id else f"chatcmpl-{uuid.uuid4().hex[:24]}"


def tool_call(part: dict[str, Any]) -> dict[str, Any]:
    """A Gemini functionCall part as a whole OpenAI tool call; arguments are never `""`."""
    call = part["functionCall"]
    out: dict[str, Any] = {
        "id": call.get("id") or new_call_id(),
        "type": "function",
        "function": {"name": call.get("name") or "",
                     "arguments": json.dumps(call.get("args") or {}, ensure_ascii=False)},
    }
    if part.get("thoughtSignature"):
        out["extra_content"] = {"google": {"thought_signature": part["thoughtSignature"]}}
    return out


def gemini_to_openai_response(body: dict[str, Any],
                              ctx: ResponseContext) -> tuple[dict[str, Any], Usage | None]:
    usage = usage_from_gemini(body.get("usageMetadata"))
    candidates = body.get("candidates") or []
    blocked = bool((body.get("promptFeedback") or {}).get("blockReason"))
    choices = [_choice(candidate, position) for position, candidate in enumerate(candidates)]
    if not choices:
        choices = [{"index": 0, "logprobs": None, "finish_reason": "content_filter" if blocked else "stop",
                    "message": {"role": "assistant", "content": None, "refusal": None}}]
    out: dict[str, Any] = {
        "id": completion_id(body),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": ctx.client_model,
        "choices": choices,
        "usage": to_openai(usage or Usage()),
    }
    return out, usage


def _choice(candidate: dict[str, Any], position: int) -> dict[str, Any]:
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[dict[str, Any]] = []
    for part in (candidate.get("content") or {}).get("parts") or []:
        if "functionCall" in part:
            calls.append(tool_call(part))
        elif part.get("thought"):
            thoughts.append(part.get("text") or "")
        elif part.get("text"):
            texts.append(part["text"])
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None, "refusal": None}
    if thoughts:
        message["reasoning_content"] = "".join(thoughts)
    if calls:
        message["tool_calls"] = calls
    return {"index": candidate.get("index", position), "message": message, "logprobs": None,
            "finish_reason": finish_reason(candidate.get("finishReason"), bool(calls))}
