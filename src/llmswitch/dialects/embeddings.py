"""OpenAI embeddings (`POST /v1/embeddings`), the hub form of the embeddings operation.

The pass-through rewrites `model` and nothing else the upstream reads. `encoding_format: base64`
(what the openai SDK asks for when its caller sets nothing) is honoured even by upstreams that
answer floats whatever was asked: the answer's floats are packed as little-endian float32 and
base64-encoded, which is what the SDK decodes. `task_type` is Gemini's (`taskType`), accepted from
OpenAI clients for Gemini deployments; an OpenAI-style upstream refuses unknown fields, so it is
left out there and listed.
"""

from __future__ import annotations

import array
import base64
import math
import sys
from typing import Any

from llmswitch.dialects.estimate import text_bytes, tokens
from llmswitch.dialects.types import RequestOptions, ResponseContext, Translated
from llmswitch.dialects.usage import Usage, from_openai

TASK_TYPE_FIELDS = ("task_type", "taskType")  # Gemini's task type, in either spelling its API takes


def passthrough_request(body: dict[str, Any], options: RequestOptions) -> Translated:
    out = dict(body)
    out["model"] = options.upstream_model
    dropped = [name for name in TASK_TYPE_FIELDS if out.pop(name, None) is not None]
    return Translated(out, dropped)


def passthrough_response(body: dict[str, Any], ctx: ResponseContext) -> tuple[dict[str, Any], Usage | None]:
    if "model" in body:
        body["model"] = ctx.client_model
    if wants_base64(ctx.request):
        for item in body.get("data") or ():
            if isinstance(item, dict) and isinstance(item.get("embedding"), list):
                item["embedding"] = pack(item["embedding"])
    return body, from_openai(body.get("usage"))


def wants_base64(request: dict[str, Any]) -> bool:
    return request.get("encoding_format") == "base64"


def pack(values: list[float]) -> str:
    """Base64 of the values as little-endian float32: what openai-python decodes for `base64`."""
    data = array.array("f", values)
    if sys.byteorder == "big":
        data.byteswap()
    return base64.b64encode(data.tobytes()).decode()


def unit_length(values: list[float]) -> list[float]:
    """The vector scaled to length 1 (as OpenAI's shortened `dimensions` vectors are)."""
    norm = math.sqrt(sum(v * v for v in values))
    return [v / norm for v in values] if norm else values


def inputs(body: dict[str, Any]) -> list[Any]:
    """The request's inputs as a list: one string, strings, one token array or token arrays."""
    value = body.get("input")
    if isinstance(value, str) or (isinstance(value, list) and value and all(type(i) is int for i in value)):
        return [value]
    return list(value) if isinstance(value, list) else []


def estimate_input_tokens(body: dict[str, Any]) -> int:
    """The input tokens of an embeddings request, before (or without) the upstream's count: text at
    four bytes a token, a token array at its length; at least one."""
    count = 0
    for item in inputs(body):
        count += tokens(text_bytes(item)) if isinstance(item, str) else len(item) if isinstance(item, list) else 0
    return count or 1


def estimated_usage(request: dict[str, Any]) -> dict[str, int]:
    """The `usage` of an answer whose upstream counted nothing (Gemini)."""
    count = estimate_input_tokens(request)
    return {"prompt_tokens": count, "total_tokens": count}
