"""`GET /v1/models` and `GET /v1/models/{id}`: the public model names a caller may use.

Listing needs no auth header in open mode (clients of the proxies we replace probe it bare);
in keys mode a key sees only the models it is allowed.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from llmswitch.core.auth import Principal
from llmswitch.core.gateway import Gateway
from llmswitch.errors import GatewayError
from llmswitch.surfaces.wire import OPENAI
from llmswitch.web.context import GATEWAY


def _entry(gateway: Gateway, name: str) -> dict[str, Any]:
    config = gateway.config
    model = config.models.get(name) or config.models.get(config.aliases.get(name, ""))
    owner = model.deployments[0].provider if model else "llmswitch"
    return {"id": name, "object": "model", "created": gateway.created, "owned_by": owner}


def _allowed(gateway: Gateway, principal: Principal, name: str) -> bool:
    """As generation checks it: the name itself or the model it resolves to."""
    model = gateway.config.resolve_model(name)
    return principal.allows(name, model.name) if model else principal.allows(name)


async def list_models(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY]
    principal = await gateway.auth.authenticate(request.headers)
    data = [_entry(gateway, name) for name in gateway.config.public_names() if _allowed(gateway, principal, name)]
    return web.json_response({"object": "list", "data": data})


async def retrieve_model(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY]
    principal = await gateway.auth.authenticate(request.headers)
    name = request.match_info["model_id"]  # decoded once by the router: `a%2Fb` is `a/b`, `a%252Fb` is `a%2Fb`
    if name not in gateway.config.public_names() or not _allowed(gateway, principal, name):
        raise GatewayError(404, f"The model `{name}` does not exist or you do not have access to it.",
                           param="model", code="model_not_found")
    return web.json_response(_entry(gateway, name))


ROUTES = (
    ("GET", "/models", list_models, OPENAI),
    ("GET", "/models/{model_id:.+}", retrieve_model, OPENAI),
)
