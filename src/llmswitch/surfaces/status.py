"""`GET /health/ready`: every deployment and upstream key, and whether it can serve right now.

Load balancers read the status code (200 while every model has a target it may try, 503 when some
model has none) and the overall `status`, which anyone may read. The detail (every model, target,
provider and its health; what `llmswitch status` shows) maps the deployment, so it needs the
master key when one is configured; in open mode without one, where anyone may use every model
anyway, it is shown to all. Keys are named by their index, never shown.
"""

from __future__ import annotations

import hmac
from typing import Any

from aiohttp import web

from llmswitch.config import Config
from llmswitch.core.auth import presented_key
from llmswitch.web.context import GATEWAY
from llmswitch.core.routing import Router, Target


def target_status(target: Target) -> dict[str, Any]:
    """One target as `GET /health/ready` and `GET /admin/api/models` show it (its key by index only)."""
    return {"target": target.label, "provider": target.provider.name, "upstream_model": target.deployment.model,
            "key": target.key_index, "priority": target.deployment.priority, **target.health.snapshot()}


def readiness(router: Router) -> dict[str, Any]:
    """{"status": "ready"|"degraded", "models": {name: [target, ...]}} with each target's health."""
    models: dict[str, list[dict[str, Any]]] = {}
    ready = True
    for name, targets in router.targets.items():
        rows = [target_status(t) for t in targets]
        ready = ready and any(row["state"] in ("healthy", "circuit_half_open") for row in rows)
        models[name] = rows
    return {"status": "ready" if ready else "degraded", "models": models}


def may_see_detail(config: Config, request: web.Request) -> bool:
    master = config.auth.master_key
    if not master:
        return config.auth.effective_mode == "open"
    token = presented_key(request.headers)
    return token is not None and hmac.compare_digest(token.encode(), master.encode())


async def health_ready(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY]
    router = gateway.router
    report = readiness(router) if router is not None else {"status": "starting", "models": {}}
    if not may_see_detail(gateway.config, request):
        report = {"status": report["status"]}
    return web.json_response(report, status=200 if report["status"] == "ready" else 503)
