"""Builds the aiohttp application: routes under `/v1` and `/api/v1`, middleware, lifecycle.

The middleware gives every response a request id, turns every error into the client dialect's
own error shape, frees the request's place in the concurrency gate (`core.concurrency`) and answers
CORS. Each route is registered with the dialect its clients speak, which shapes its errors; a
path no route matches speaks the dialect of the registered route it extends (`/v1/messages/x`
Anthropic's), else OpenAI's.
"""

from __future__ import annotations

import gc
import itertools
import logging
import os
from collections.abc import Awaitable, Callable

from aiohttp import web

from llmswitch.config import Config
from llmswitch.core.gateway import GATEWAY, REQUEST_ID, Gateway
from llmswitch.errors import GatewayError
from llmswitch.surfaces import admin, admin_ui, anthropic_messages, key_info, models, openai_chat
from llmswitch.surfaces.status import health_ready

log = logging.getLogger("llmswitch")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PREFIXES = ("/v1", "/api/v1")
# (method, path under each prefix, handler, the client dialect of the route)
SURFACE_ROUTES: tuple[tuple[str, str, Handler, str], ...] = (
    ("GET", "/models", models.list_models, "openai"),
    ("GET", "/models/{model_id:.+}", models.retrieve_model, "openai"),
    ("POST", "/chat/completions", openai_chat.chat_completions, "openai"),
    ("POST", "/messages", anthropic_messages.messages, "anthropic"),
    ("POST", "/messages/count_tokens", anthropic_messages.count_tokens, "anthropic"),
    ("GET", "/key", key_info.key_info, "openai"),
)
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
GC_YOUNG_THRESHOLD = 20_000  # net allocations between young collections (CPython's default: 700)
MAX_REQUEST_ID = 100  # what usage rows keep; longer client ids are replaced, as are non-ASCII or control ones


class RouteDialects:
    """The client dialect of every route, registered with it."""

    def __init__(self) -> None:
        self._by_path: dict[str, str] = {}  # a route's canonical path -> dialect

    def add(self, router: web.UrlDispatcher, method: str, path: str, handler: Handler, dialect: str) -> None:
        if method == "GET":
            route = router.add_get(path, handler)
        else:
            route = router.add_route(method, path, handler)
        assert route.resource is not None
        self._by_path[route.resource.canonical] = dialect

    def of(self, request: web.Request) -> str:
        resource = request.match_info.route.resource
        if resource is not None:
            return self._by_path.get(resource.canonical, "openai")
        path = request.path  # no route matched (404) or not with this method (405)
        while path:
            dialect = self._by_path.get(path)
            if dialect is not None:
                return dialect
            path = path.rpartition("/")[0]
        return "openai"


def build_app(config: Config) -> web.Application:
    server = config.server
    # Request ids: a random per-process prefix and a counter, unique across workers and restarts
    # without the cost of a uuid4 on every request.
    id_prefix = os.urandom(8).hex()
    id_counter = itertools.count()
    origins = set(server.cors_origins)
    dialects = RouteDialects()

    def cors_headers(request: web.Request) -> dict[str, str]:
        origin = request.headers.get("origin")
        if not origin or not origins:
            return {}
        if "*" in origins:
            return {"access-control-allow-origin": "*", "access-control-expose-headers": "*"}
        if origin in origins:
            return {"access-control-allow-origin": origin, "vary": "Origin", "access-control-expose-headers": "*"}
        return {}

    def error_response(error: GatewayError, request: web.Request, request_id: str,
                       cors: dict[str, str]) -> web.Response:
        response = web.Response(status=error.status, body=error.body(dialects.of(request), request_id),
                                content_type="application/json")
        response.headers.update(error.headers)
        response.headers["x-request-id"] = request_id
        response.headers.update(cors)
        return response

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        request_id = request.headers.get("x-request-id")  # the client's, if a header and a usage row can carry it
        if not (request_id and len(request_id) <= MAX_REQUEST_ID and request_id.isascii()
                and request_id.isprintable()):
            request_id = f"req_{id_prefix}{next(id_counter):08x}"
        request[REQUEST_ID] = request_id
        cors = cors_headers(request)
        if request.method == "OPTIONS" and "access-control-request-method" in request.headers:
            return web.Response(status=204, headers={
                **cors, "access-control-allow-methods": CORS_METHODS,
                "access-control-allow-headers": request.headers.get("access-control-request-headers", "*"),
                "access-control-max-age": "600", "x-request-id": request_id})
        try:
            response = await handler(request)
        except GatewayError as error:
            return error_response(error, request, request_id, cors)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return error_response(_refusal(request, exc), request, request_id, cors)
        except Exception:
            log.exception("unhandled error in %s %s (request %s)", request.method, request.path, request_id)
            return error_response(GatewayError(500, "Internal gateway error"), request, request_id, cors)
        finally:
            gateway.concurrency.release(request)
        if not response.prepared:
            response.headers["x-request-id"] = request_id
            response.headers.update(cors)
        return response

    app = web.Application(middlewares=[middleware], client_max_size=int(server.max_body_mb * 1024 * 1024))
    gateway = Gateway(config)
    app[GATEWAY] = gateway

    async def lifecycle(app: web.Application) -> object:
        await gateway.start()
        yield
        await gateway.stop()

    app.cleanup_ctx.append(lifecycle)  # type: ignore[arg-type]
    app.on_startup.append(_tune_garbage_collector)

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.router.add_get("/health", health)
    app.router.add_get("/health/ready", health_ready)
    for prefix in PREFIXES:
        for method, path, route_handler, dialect in SURFACE_ROUTES:
            dialects.add(app.router, method, prefix + path, route_handler, dialect)
    app.router.add_get("/api/v1/chat/models", models.list_models)
    admin.add_routes(app)
    admin_ui.add_routes(app)
    return app


def _refusal(request: web.Request, exc: web.HTTPException) -> GatewayError:
    """aiohttp's own refusals (no such route, a method the route lacks), naming what was asked."""
    asked = f"{request.method} {request.path}"
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(exc.allowed_methods))
        return GatewayError(405, f"Method not allowed: {asked} (allowed: {allowed})", code="method_not_allowed",
                            headers={"allow": allowed})
    if isinstance(exc, web.HTTPNotFound):
        return GatewayError(404, f"Unknown route: {asked}", code="unknown_url")
    return GatewayError(exc.status, exc.reason or "error")


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

