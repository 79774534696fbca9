"""`POST /v1/messages` and `POST /v1/messages/count_tokens`: the Anthropic Messages surface.

Anthropic SDK clients and coding agents (Claude Code and the like) reach any configured model
here; errors come back in Anthropic's own shape (the app middleware picks it by route).
"""

from __future__ import annotations

from aiohttp import web

from llmswitch.core.gateway import GATEWAY, forwarded_headers
from llmswitch.dialects.anthropic_request import estimate_input_tokens, validate_request
from llmswitch.dialects.shapes import nested_too_deeply
from llmswitch.errors import GatewayError, invalid
from llmswitch.providers.anthropic import AnthropicProvider
from llmswitch.providers.base import UpstreamCall, UpstreamError
from llmswitch.surfaces.body import read_json_object


async def messages(request: web.Request) -> web.StreamResponse:
    body = await read_json_object(request)
    validate_request(body)
    return await request.app[GATEWAY].generate(request, body, "anthropic")


async def count_tokens(request: web.Request) -> web.Response:
    """Anthropic upstreams count exactly; for every other upstream the count is a local estimate."""
    body = await read_json_object(request)
    name = body.get("model")
    if not isinstance(name, str) or not name:
        raise invalid("model: field required", param="model")
    if not isinstance(body.get("messages"), list):
        raise invalid("messages: a list is required", param="messages")
    gateway = request.app[GATEWAY]
    principal, model = await gateway.authorize(request, name)
    deployment = model.deployments[0]
    provider = gateway.providers[deployment.provider]
    if isinstance(provider, AnthropicProvider):
        call = UpstreamCall(
            deployment=deployment, body={**body, "model": deployment.model}, stream=False,
            api_key=principal.upstream_key or (provider.config.api_keys or [None])[0],
            timeouts=gateway.timeouts(request, body), query=request.query_string,
            headers=forwarded_headers(request, "anthropic"),
        )
        try:
            return web.json_response(await provider.count_tokens(call))
        except UpstreamError as error:
            if error.kind == "http" and error.status and error.status < 500:
                raise GatewayError(error.status, error.message) from None  # in the client's vocabulary
    try:
        return web.json_response({"input_tokens": estimate_input_tokens(body)})
    except RecursionError:
        raise nested_too_deeply() from None
