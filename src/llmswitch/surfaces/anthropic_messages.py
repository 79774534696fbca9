"""`POST /v1/messages` and `POST /v1/messages/count_tokens`: the Anthropic Messages surface.

Anthropic SDK clients and coding agents (Claude Code and the like) reach any configured model
here; errors come back in Anthropic's own shape (the app middleware picks it by route).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from llmswitch.core.gateway import GATEWAY
from llmswitch.dialects.anthropic_request import validate_request
from llmswitch.dialects.estimate import estimate_input_tokens
from llmswitch.errors import invalid
from llmswitch.surfaces.body import read_json_object


async def messages(request: web.Request) -> web.StreamResponse:
    body = await read_json_object(request)
    validate_request(body)
    return await request.app[GATEWAY].generate(request, body, "anthropic")


async def count_tokens(request: web.Request) -> web.Response:
    """Anthropic upstreams count exactly; where none can, the count is a local estimate. Limits,
    routing and keys are the same as for `messages` (see `Gateway.count_tokens`)."""
    body = await read_json_object(request)
    name = body.get("model")
    if not isinstance(name, str) or not name:
        raise invalid("model: field required", param="model")
    if not isinstance(body.get("messages"), list):
        raise invalid("messages: a list is required", param="messages")
    return await request.app[GATEWAY].count_tokens(request, body, "anthropic", _estimate)


def _estimate(body: dict[str, Any]) -> dict[str, Any]:
    return {"input_tokens": estimate_input_tokens(body)}
