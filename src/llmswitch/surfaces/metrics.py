"""`GET /metrics`: the gateway's metrics in the Prometheus text format (`core.metrics`).

Open by default, because the Prometheus an operator points at a gateway usually holds no key and the
page names no secret (models, providers, deployments by label, counts); `metrics.require_key: true`
asks for the master key as a bearer token (Prometheus: `authorization: {credentials: ...}`). It is
throttled per client address like the other routes anyone may call (`web.throttle`).
"""

from __future__ import annotations

from aiohttp import web

from llmswitch.core.exposition import CONTENT_TYPE
from llmswitch.errors import GatewayError
from llmswitch.surfaces.status import presents_master_key
from llmswitch.web.context import GATEWAY


async def scrape(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY]
    config = gateway.config
    if config.metrics.require_key and not presents_master_key(config, request):
        raise GatewayError(401, "The metrics need the master key (metrics.require_key).",
                           type="authentication_error", code="invalid_api_key")
    assert gateway.metrics is not None  # the route exists only when they are enabled
    return web.Response(body=gateway.metrics.exposition(), headers={"content-type": CONTENT_TYPE})
