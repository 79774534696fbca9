"""`GET /admin/api/models`: every public model with its aliases, fallbacks and deployments, each
deployment (x upstream key) with its health, recent latency, error rate and price; and the providers.

What `GET /health/ready` shows the master key, plus what the panel's Models page and playground need
(aliases, prices), from the same per-target status. Upstream keys are named by index, never shown.
"""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from llmswitch.redact import scrub_shapes
from llmswitch.surfaces.admin_auth import BASE, admin_gateway
from llmswitch.surfaces.status import target_status


async def list_models(request: web.Request) -> web.Response:
    gateway = admin_gateway(request)
    config = gateway.config
    targets = gateway.router.targets if gateway.router is not None else {}
    prices = gateway.limiter.prices
    data = [{
        "id": name,
        "strategy": model.strategy or config.routing.strategy,
        "aliases": sorted(alias for alias, to in config.aliases.items() if to == name),
        "fallbacks": config.fallbacks.get(name, []),
        "context_window_fallbacks": config.context_window_fallbacks.get(name, []),
        "deployments": [{**target_status(t), "price": msgspec.to_builtins(prices.of(t))}
                        for t in targets.get(name, [])],
    } for name, model in config.models.items()]
    providers = [{"name": name, "type": p.type, "base_url": scrub_shapes(p.base_url) if p.base_url else None,
                  "configured_keys": len(p.api_keys)} for name, p in config.providers.items()]
    return web.json_response({"object": "list", "data": data, "default_model": config.default_model,
                              "providers": providers})


def openapi_paths(reply: Any, error: dict[str, Any]) -> dict[str, Any]:
    deployment = {"type": "object", "properties": {
        "target": {"type": "string"}, "provider": {"type": "string"}, "upstream_model": {"type": ["string", "null"]},
        "key": {"type": "integer", "description": "the upstream key's index, never its value"},
        "priority": {"type": "integer"},
        "state": {"enum": ["healthy", "cooling_down", "capped", "circuit_open", "circuit_half_open", "disabled"]},
        "reason": {"type": ["string", "null"]}, "until": {"type": ["number", "null"]},
        "latency_ms": {"type": ["number", "null"], "description": "recent time to first byte (moving average)"},
        "error_rate": {"type": "number", "description": "share of failed attempts in the last minute"},
        "in_flight": {"type": "integer"}, "price": {"type": "object", "description": "USD per million tokens"}}}
    model = {"type": "object", "properties": {
        "id": {"type": "string"}, "strategy": {"type": "string"},
        "aliases": {"type": "array", "items": {"type": "string"}},
        "fallbacks": {"type": "array", "items": {"type": "string"}},
        "context_window_fallbacks": {"type": "array", "items": {"type": "string"}},
        "deployments": {"type": "array", "items": deployment}}}
    listing = {"type": "object", "properties": {
        "object": {"const": "list"}, "data": {"type": "array", "items": model},
        "default_model": {"type": ["string", "null"]}, "providers": {"type": "array", "items": {"type": "object"}}}}
    return {f"{BASE}/models": {"get": {
        "summary": "Every public model with its deployments and their health, latency, error rate and price",
        "responses": {"200": reply("Models", listing), "401": reply("Missing or wrong master key", error)}}}}


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{BASE}/models", list_models)
