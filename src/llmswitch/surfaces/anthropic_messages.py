"""`POST /v1/messages` and `POST /v1/messages/count_tokens`: the Anthropic Messages surface.

Anthropic SDK clients and coding agents (Claude Code and the like) reach any configured model
here; errors come back in Anthropic's own shape (the routes speak `wire.ANTHROPIC`).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from llmswitch.core.operations import CHAT, COUNT_TOKENS
from llmswitch.dialects.anthropic_request import validate_request
from llmswitch.dialects.estimate import estimate_input_tokens, max_output_tokens
from llmswitch.errors import invalid
from llmswitch.surfaces.body import read_json_object
from llmswitch.surfaces.wire import ANTHROPIC
from llmswitch.web.respond import serve


async def messages(request: web.Request) -> web.StreamResponse:
    body = await read_json_object(request)
    validate_request(body)
    return await serve(request, ANTHROPIC, CHAT, body, stream=bool(body.get("stream")),
                       prompt_estimate=estimate_input_tokens(body), max_output=max_output_tokens(body))


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
