"""`GET /health/ready`: every deployment and upstream key, and whether it can serve right now.

Load balancers read the status code (200 while every model has a target it may try, 503 when some
model has none); people and `llmswitch status` read the body. Keys are named by their index, never
shown.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from llmswitch.core.gateway import GATEWAY
from llmswitch.core.routing import Router


def readiness(router: Router) -> dict[str, Any]:
    """{"status": "ready"|"degraded", "models": {name: [target, ...]}} with each target's health."""
    models: dict[str, list[dict[str, Any]]] = {}
    ready = True
    for name, targets in router.targets.items():
        rows = [{"target": t.label, "provider": t.provider.name, "upstream_model": t.deployment.model,
                 "key": t.key_index, "priority": t.deployment.priority, **t.health.snapshot()}
                for t in targets]
        ready = ready and any(row["state"] in ("healthy", "circuit_half_open") for row in rows)
        models[name] = rows
    return {"status": "ready" if ready else "degraded", "models": models}


async def health_ready(request: web.Request) -> web.Response:
    router = request.app[GATEWAY].router
    if router is None:
        return web.json_response({"status": "starting", "models": {}}, status=503)
    report = readiness(router)
    return web.json_response(report, status=200 if report["status"] == "ready" else 503)
