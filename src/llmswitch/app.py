"""Builds the aiohttp application: every surface's routes under `/v1` and `/api/v1`, each with its
wire (`surfaces.wire`), the body-keyed routes of the proxies we replace (`surfaces.compat`) at
their own paths, the status routes behind a per-address throttle (`web.throttle`), the middleware
(`web.middleware`) and the gateway's lifecycle.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from llmswitch.config import Config
from llmswitch.core.gateway import Gateway
from llmswitch.surfaces import (admin, admin_ui, anthropic_messages, audio, compat, embeddings, key_info, metrics,
                                models, openai_chat, responses)
from llmswitch.surfaces.status import health_ready, home
from llmswitch.telemetry.logs import resolve_format
from llmswitch.telemetry.output import STDERR
from llmswitch.web.access_log import AccessLog
from llmswitch.web.context import GATEWAY
from llmswitch.web.middleware import RouteWires, build_middleware
from llmswitch.web.throttle import TokenBuckets, throttled

PREFIXES = ("/v1", "/api/v1")
SURFACES = (models, openai_chat, anthropic_messages, embeddings, audio, key_info, responses)  # each lists its ROUTES
GC_YOUNG_THRESHOLD = 20_000  # net allocations between young collections (CPython's default: 700)


def build_app(config: Config, workers_dir: Path | None = None) -> web.Application:
    gateway = Gateway(config, workers_dir)
    wires = RouteWires()
    logs = config.logging
    access = AccessLog(logs, resolve_format(logs.format)) if logs.access else None
    app = web.Application(middlewares=[build_middleware(config, gateway, wires, access)],
                          client_max_size=int(config.server.max_body_mb * 1024 * 1024))
    app[GATEWAY] = gateway

    async def lifecycle(app: web.Application) -> object:
        STDERR.attach(asyncio.get_running_loop())  # log lines are written by the loop, in batches
        tracer = _start_tracing(config)
        await gateway.start()
        yield
        await gateway.stop()
        if tracer is not None:
            tracer()
        STDERR.detach()

    app.cleanup_ctx.append(lifecycle)  # type: ignore[arg-type]
    app.on_startup.append(_tune_garbage_collector)

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    server = config.server
    buckets = TokenBuckets(server.status_rps, server.status_burst) if server.status_rps else None
    app.router.add_get("/", throttled(home, buckets))
    app.router.add_get("/health", throttled(health, buckets))
    app.router.add_get("/health/ready", throttled(health_ready, buckets))
    if config.metrics.enabled:
        app.router.add_get("/metrics", throttled(metrics.scrape, buckets))
    for prefix in PREFIXES:
        for surface in SURFACES:
            for method, path, handler, wire in surface.ROUTES:
                wires.add(app.router, method, prefix + path, handler, wire)
    for method, path, handler, wire in compat.ROUTES:
        wires.add(app.router, method, path, handler, wire)
    app.router.add_get("/api/v1/chat/models", models.list_models)
    admin.add_routes(app)
    admin_ui.add_routes(app)
    return app


def _start_tracing(config: Config) -> Callable[[], None] | None:
    """Traces exported over OTLP when `otel.endpoint` is set (the SDK imported then only); the stop."""
    if config.otel.endpoint is None:
        return None
    from llmswitch import __version__
    from llmswitch.telemetry import otel

    tracer = otel.start(config.otel, __version__)
    return lambda: otel.stop(tracer)


async def _tune_garbage_collector(app: web.Application) -> None:
    """Keep the cycle collector off the hot path.

    Everything built at start-up (config, imported modules, ORM metadata) is frozen out of its
    sight, or full collections would walk it over and over. And young collections run every
    GC_YOUNG_THRESHOLD net allocations instead of every 700: each one walks every object of the
    requests in flight (their coroutines, dicts, futures), so under load the default spent 10.6 us of
    each open-mode request and 24 us of each keys-mode request in collections (measured with
    `gc.callbacks` at 64 connections); at 20,000, 0.2-0.3 us. Requests free almost everything by
    reference counting, so the few cycles collected later cost little memory."""
    gc.collect()
    gc.freeze()
    _young, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)
