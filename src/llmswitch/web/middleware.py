"""What every route goes through: a request id, CORS, the concurrency gate's release, every error
rendered in the shape the route's clients parse (scrubbed of credentials), and the request's access
line (`web.access_log`), however it ended: answered, refused, failed, or left by its client.

Each route is registered with its surface's `Wire`, which shapes its errors; a path no route matches
speaks the wire of the registered route it extends (`/v1/messages/x` Anthropic's), else OpenAI's.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from llmswitch.config import Config
from llmswitch.core.gateway import Gateway
from llmswitch.core.pipeline import SERVING
from llmswitch.errors import GatewayError
from llmswitch.redact import SECRETS, scrub
from llmswitch.surfaces.wire import OPENAI, Wire
from llmswitch.telemetry import tracing
from llmswitch.web.access_log import MAX_PATH, AccessLog
from llmswitch.web.context import ANSWER_HEADERS, REQUEST_ID

log = logging.getLogger("llmswitch")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
MAX_REQUEST_ID = 100  # what usage rows keep; longer client ids are replaced, as are non-ASCII or control ones


class RouteWires:
    """The wire of every route, registered with it."""

    def __init__(self) -> None:
        self._by_path: dict[str, Wire] = {}  # a route's canonical path -> wire

    def add(self, router: web.UrlDispatcher, method: str, path: str, handler: Handler, wire: Wire) -> None:
        if method == "GET":
            route = router.add_get(path, handler)
        else:
            route = router.add_route(method, path, handler)
        assert route.resource is not None
        self._by_path[route.resource.canonical] = wire

    def of(self, request: web.Request) -> Wire:
        resource = request.match_info.route.resource
        if resource is not None:
            return self._by_path.get(resource.canonical, OPENAI)
        path = request.path  # no route matched (404) or not with this method (405)
        while path:
            wire = self._by_path.get(path)
            if wire is not None:
                return wire
            path = path.rpartition("/")[0]
        return OPENAI


def build_middleware(config: Config, gateway: Gateway, wires: RouteWires, access: AccessLog | None = None
                     ) -> Middleware:
    """ACCESS: where each request's line goes (none: no lines)."""
    # Request ids: a random per-process prefix and a counter, unique across workers and restarts
    # without the cost of a uuid4 on every request.
    id_prefix = os.urandom(8).hex()
    id_counter = itertools.count()
    origins = set(config.server.cors_origins)

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
        error.message = scrub(error.message)  # it may quote what the client sent: a model name, a key
        response = web.Response(status=error.status, body=wires.of(request).error_body(error, request_id),
                                content_type="application/json")
        response.headers.update(error.headers)
        response.headers["x-request-id"] = request_id
        response.headers.update(cors)
        return response

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        at, started = time.time(), time.perf_counter()
        timeline = tracing.begin() if tracing.ON else None
        request_id = request.headers.get("x-request-id")  # the client's, if a header and a usage row can carry it
        if not (request_id and len(request_id) <= MAX_REQUEST_ID and request_id.isascii()
                and request_id.isprintable() and not SECRETS.names_one(request_id)):  # nor a key in it
            request_id = f"req_{id_prefix}{next(id_counter):08x}"
        request[REQUEST_ID] = request_id
        status, code = 500, None  # how it ended, for its line: the status, and the error's code if any
        response: web.StreamResponse | None = None
        try:
            cors = cors_headers(request)
            answer_headers = request[ANSWER_HEADERS] = {"x-request-id": request_id, **cors}
            if request.method == "OPTIONS" and "access-control-request-method" in request.headers:
                response = web.Response(status=204, headers={
                    **cors, "access-control-allow-methods": CORS_METHODS,
                    "access-control-allow-headers": request.headers.get("access-control-request-headers", "*"),
                    "access-control-max-age": "600", "x-request-id": request_id})
                status = 204
                return response
            try:
                response = await handler(request)
            except GatewayError as error:
                code = error.code
                response = error_response(error, request, request_id, cors)
            except web.HTTPException as exc:
                if exc.status < 400:  # a redirect: aiohttp answers it
                    status = exc.status
                    raise
                error = _refusal(request, exc)
                code = error.code
                response = error_response(error, request, request_id, cors)
            except asyncio.CancelledError:  # the client left (aiohttp cancels its handler)
                status, code = 499, "client_closed"
                raise
            except ConnectionResetError:  # the client left while its answer was written: nobody reads one
                code = "client_closed"
                response = web.Response(status=499)  # aiohttp drops it quietly on the closed connection
            except Exception:
                log.exception("unhandled error in %s %s (request %s)", request.method, request.path, request_id,
                              extra={"request_id": request_id})
                code = "internal"
                response = error_response(GatewayError(500, "Internal gateway error"), request, request_id, cors)
            finally:
                gateway.concurrency.release(request)
            if not response.prepared:  # a prepared one (a stream) opened with them (`web.respond`)
                response.headers.update(answer_headers)
            status = response.status
            return response
        finally:  # however it ended: its access line, and its trace when tracing
            core = SERVING.get()
            if access is not None:
                access.line(request, request_id, at, started, status, code, core, code == "overloaded",
                            code == "client_closed", response)
            if timeline is not None:
                resource = request.match_info.route.resource
                tracing.finish(timeline, method=request.method, status=status, headers=request.headers,
                               route=None if resource is None else resource.canonical,
                               path=scrub(request.path[:MAX_PATH]), request_id=request_id, core=core)

    return middleware


def _refusal(request: web.Request, exc: web.HTTPException) -> GatewayError:
    """aiohttp's own refusals (no such route, a method the route lacks), naming what was asked."""
    asked = f"{request.method} {request.path}"
    if isinstance(exc, web.HTTPMethodNotAllowed) and _opens_websocket(request):
        # Codex opens the Responses API's WebSocket mode first (`GET /v1/responses`, upgrading) whenever
        # its provider says it may, the built-in OpenAI one with a base URL of the user's too: on a 426 it
        # goes on over HTTP at once; on a 405 it first retries the handshake five times, with backoff.
        return GatewayError(426, f"{request.path} takes no WebSocket here: send POST {request.path} over HTTP",
                            code="websocket_not_supported", headers={"upgrade": "HTTP/1.1"})
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(exc.allowed_methods))
        return GatewayError(405, f"Method not allowed: {asked} (allowed: {allowed})", code="method_not_allowed",
                            headers={"allow": allowed})
    if isinstance(exc, web.HTTPNotFound):
        return GatewayError(404, f"Unknown route: {asked}", code="unknown_url")
    return GatewayError(exc.status, exc.reason or "error")


def _opens_websocket(request: web.Request) -> bool:
    return request.method == "GET" and request.headers.get("upgrade", "").lower() == "websocket"
