"""OpenAI Chat Completions: the pass-through, and a whole completion replayed as a stream.

The pass-through changes only `model` and asks the upstream for the usage chunk; everything
else, known or unknown, reaches the upstream untouched.
"""

from __future__ import annotations

from typing import Any

from llmswitch.dialects.types import RequestOptions, ResponseContext, Translated, answer_list
from llmswitch.dialects.usage import Usage, from_openai

SIMULATED_PIECE_CHARS = 16  # size of the content pieces of a simulated stream


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
