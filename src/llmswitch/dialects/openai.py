"""OpenAI Chat Completions: the pass-through, a whole completion replayed as a stream, the
request forms the translations to other dialects share (legacy function calling, `allowed_tools`),
and the status an error inside a stream stands for.

The pass-through changes only `model` and asks the upstream for the usage chunk; everything
else, known or unknown, reaches the upstream untouched.
"""

from __future__ import annotations

from typing import Any

from llmswitch.dialects.types import Dropped, RequestOptions, ResponseContext, Translated, answer_list
from llmswitch.dialects.usage import Usage, from_openai

SIMULATED_PIECE_CHARS = 16  # size of the content pieces of a simulated stream

# An error frame in a 200 stream (`data: {"error": {message, type, param, code}}`) carries no HTTP
# status: OpenAI's `code` and `type` words imply one. `requests` and `tokens` are the types of
# OpenAI's rate limits; servers that borrow Anthropic's words (e.g. `overloaded_error`) are read too.
ERROR_STATUSES = {
    "invalid_request_error": 400,
    "context_length_exceeded": 400,
    "authentication_error": 401,
    "invalid_api_key": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "model_not_found": 404,
    "rate_limit_exceeded": 429,
    "rate_limit_error": 429,
    "insufficient_quota": 429,
    "requests": 429,
    "tokens": 429,
    "server_error": 500,
    "api_error": 500,
    "service_unavailable": 503,
    "overloaded_error": 529,
    "timeout_error": 504,
}


def passthrough_request(body: dict[str, Any], options: RequestOptions) -> Translated:
    out = dict(body)
    out["model"] = options.upstream_model
    if options.stream:
        # Usage must be known for accounting: always ask; the client sees it only if it asked.
        stream_options = dict(out.get("stream_options") or {})
        stream_options["include_usage"] = True
        out["stream_options"] = stream_options
    elif out.get("stream"):
        # A `stream: simulate` deployment is called without streaming on the client's behalf.
        del out["stream"]
        out.pop("stream_options", None)
    return Translated(out)


def passthrough_response(body: dict[str, Any], ctx: ResponseContext) -> tuple[dict[str, Any], Usage | None]:
    answer_list(body, "choices")
    if "model" in body:
        body["model"] = ctx.client_model
    return body, from_openai(body.get("usage"))


def completion_to_chunks(completion: dict[str, Any]) -> list[dict[str, Any]]:
    """A non-streaming completion as the stream an OpenAI upstream would have sent for it.

    Used for deployments flagged `stream: simulate`: role chunk, content pieces, tool-call
    fragments, finish chunk, then the usage chunk (`choices: []`). The pass-through then hides
    the usage chunk from clients that did not ask for it, exactly as for a real stream.
    """
    base = {key: completion[key] for key in ("id", "created", "model", "system_fingerprint")
            if key in completion}
    base["object"] = "chat.completion.chunk"

    def chunk(choice: dict[str, Any]) -> dict[str, Any]:
        return {**base, "choices": [choice]}

    chunks: list[dict[str, Any]] = []
    for choice in answer_list(completion, "choices"):
        index = choice.get("index", 0)
        message = choice.get("message") or {}
        chunks.append(chunk({"index": index, "delta": {"role": "assistant", "content": ""},
                             "logprobs": None, "finish_reason": None}))
        for key in ("reasoning_content", "content", "refusal"):
            text = message.get(key) or ""
            for start in range(0, len(text), SIMULATED_PIECE_CHARS):
                piece = text[start:start + SIMULATED_PIECE_CHARS]
                chunks.append(chunk({"index": index, "delta": {key: piece}, "logprobs": None,
                                     "finish_reason": None}))
        for position, call in enumerate(message.get("tool_calls") or []):
            function = call.get("function") or {}
            chunks.append(chunk({"index": index, "logprobs": None, "finish_reason": None, "delta": {
                "tool_calls": [{"index": position, "id": call.get("id"), "type": "function",
                                "function": {"name": function.get("name"),
                                             "arguments": function.get("arguments") or "{}"}}]}}))
        chunks.append(chunk({"index": index, "delta": {}, "logprobs": None,
                             "finish_reason": choice.get("finish_reason") or "stop"}))
    if completion.get("usage"):
        chunks.append({**base, "choices": [], "usage": completion["usage"]})
    return chunks


CUSTOM_TOOLS_MESSAGE = "custom (free-form input) tools are not supported by this model's provider"
LEGACY_FUNCTIONS_MESSAGE = ("the deprecated function-calling API (`functions`, `function_call`, role `function`) "
                            "is not supported by this model's provider; use `tools`")


def uses_legacy_functions(body: dict[str, Any]) -> bool:
    """Whether the request uses the deprecated function calling, params or history.

    Other dialects can express a function call, but the answer would come back as `tool_calls`,
    which a client written for `function_call` never reads: a silent loss, so translations treat
    the whole API as one feature they refuse (or drop, under `drop_unsupported`).
    """
    if body.get("functions") or body.get("function_call"):
        return True
    return any(isinstance(m, dict) and (m.get("role") == "function" or m.get("function_call"))
               for m in body.get("messages") or ())


def unsupported_fields(body: dict[str, Any], options: RequestOptions, features: tuple[str, ...],
                       hints: tuple[str, ...], refusal: str, unset: tuple[Any, ...]) -> Dropped:
    """What of a Chat request a target has no counterpart for, sorted as `Dropped` says: HINTS listed,
    FEATURES and the deprecated function calling refused (REFUSAL, `{}` standing for the field) or,
    under drop_unsupported, listed. A field whose value is in UNSET asks for nothing."""
    dropped = Dropped(options.drop_unsupported)
    for name in (*features, *hints):
        if body.get(name) not in unset:
            if name in hints:
                dropped.hint(name)
            else:
                dropped.feature(name, refusal.format(name))
    if uses_legacy_functions(body):
        dropped.feature("functions", LEGACY_FUNCTIONS_MESSAGE)
    return dropped


def tools_and_choice(body: dict[str, Any]) -> tuple[list[Any], Any]:
    """The tools the model may call and the tool_choice, with `allowed_tools` resolved.

    `{"type": "allowed_tools", "allowed_tools": {"mode", "tools"}}` restricts the model to some
    of the declared tools without changing the list (so a prompt cache survives); no other
    dialect has that, so translations get the list cut to the allowed tools and its mode
    (`auto` or `required`) as the choice: the same calls are possible.
    """
    tools = body.get("tools") or []
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        allowed = choice.get("allowed_tools") if isinstance(choice.get("allowed_tools"), dict) else {}
        names = {_tool_name(tool) for tool in allowed.get("tools") or ()}
        tools = [tool for tool in tools if _tool_name(tool) in names]
        choice = allowed.get("mode") or "auto"
    return tools, choice


def _tool_name(tool: Any) -> Any:
    if not isinstance(tool, dict):
        return None
    spec = tool.get(tool.get("type") or "function")
    return spec.get("name") if isinstance(spec, dict) else None


def error_status(error: Any) -> int:
    """The HTTP status an OpenAI-style error object from inside a stream stands for: a numeric
    `code` as vLLM, OpenRouter and llmswitch itself send, else what OpenAI's `code` or `type` says,
    else 500 (the upstream reported a failure of its own)."""
    if not isinstance(error, dict):
        return 500
    code = error.get("code")
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    if isinstance(code, int) and not isinstance(code, bool) and 400 <= code <= 599:
        return code
    for word in (code, error.get("type")):
        if isinstance(word, str) and word in ERROR_STATUSES:
            return ERROR_STATUSES[word]
    return 500
