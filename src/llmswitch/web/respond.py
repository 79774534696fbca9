"""A surface's request handed to the core, and the core's answer written back over HTTP.

`serve` builds the core's `Request` from the web request and runs the pipeline with an
`HTTPResponder`, which writes a whole answer as JSON, a stream as SSE in the surface's own framing
(`surfaces.wire`), with a `: ping` comment whenever the stream is quiet for `server.keepalive_s`, or
a binary answer as its bytes arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from aiohttp import web

from llmswitch.core.operations import Operation
from llmswitch.core.pipeline import Request
from llmswitch.dialects import sse
from llmswitch.dialects.usage import Usage
from llmswitch.surfaces.wire import Wire
from llmswitch.web.context import ANSWER_HEADERS, GATEWAY, REQUEST_ID

SSE_HEADERS = {"content-type": "text/event-stream", "cache-control": "no-cache", "x-accel-buffering": "no"}


class HTTPResponder:
    """Writes one request's answer (`core.pipeline.Responder`); `response` is what the handler returns."""

    __slots__ = ("request", "wire", "keepalive_s", "response", "_keepalive", "_events")

    def __init__(self, request: web.Request, wire: Wire, keepalive_s: float):
        self.request = request
        self.wire = wire
        self.keepalive_s = keepalive_s
        self.response: web.StreamResponse | None = None
        self._keepalive: asyncio.Task[None] | None = None
        self._events = True  # a stream of events (else of bytes)

    def answer(self, body: bytes, headers: dict[str, str]) -> None:
        self.response = web.Response(body=body, content_type="application/json", headers=headers)

    async def open(self, headers: dict[str, str], media_type: str | None = None) -> None:
        """Send the stream's headers: the answer's, and those every answer to the request carries."""
        headers = {**headers, **self.request[ANSWER_HEADERS]}
        if media_type is not None:
            self._events = False
            response = self.response = web.StreamResponse(headers={"content-type": media_type, **headers})
        else:
            response = self.response = web.StreamResponse(headers={**SSE_HEADERS, **headers})
            self._keepalive = asyncio.create_task(_keepalive(response, self.keepalive_s))
        await response.prepare(self.request)

    async def send(self, events: list[dict[str, Any]]) -> None:
        encode = self.wire.encode
        await self.response.write(b"".join([encode(e) for e in events]))  # type: ignore[union-attr]

    async def send_bytes(self, data: bytes) -> None:
        await self.response.write(data)  # type: ignore[union-attr]

    async def finish(self, events: list[dict[str, Any]], complete: bool) -> None:
        encode = self.wire.encode
        data = b"".join([encode(e) for e in events])
        response = self.response
        assert response is not None
        self.release()
        if complete and self._events:
            data += self.wire.terminator
        if data:
            await response.write(data)
        await response.write_eof()

    def release(self) -> None:
        """The request is over, however it ended: no more pings."""
        if self._keepalive is not None:
            self._keepalive.cancel()


async def serve(request: web.Request, wire: Wire, operation: Operation, body: Any, *, stream: bool = False,
                model: str | None = None, prompt_estimate: int = 0, max_output: int | None = None,
                include_usage: bool = False, fallback: Callable[[Any], Any] | None = None, raw: bool = False,
                known_usage: Usage | None = None, adjust: Callable[[Request], None] | None = None
                ) -> web.StreamResponse:
    """Run the pipeline on a request a surface has read and validated (`model`: the model it names,
    when its body is not a JSON object holding it, e.g. a multipart form); its answer, as aiohttp's.
    ADJUST has the last word on the core's request (the compat routes, whose credentials, upstream
    headers and timeout come from the body)."""
    gateway = request.app[GATEWAY]
    pipeline = gateway.pipeline
    assert pipeline is not None
    headers = request.headers
    req = Request(operation, wire.dialect, body, body["model"] if model is None else model, stream, headers,
                  request.query_string, request[REQUEST_ID], wire.forwarded(headers) if wire.forwarded_headers else {},
                  request, prompt_estimate, max_output, include_usage, fallback, raw, known_usage)
    req.client_ip = request.remote or ""
    if adjust is not None:
        adjust(req)
    out = HTTPResponder(request, wire, gateway.config.server.keepalive_s)
    try:
        await pipeline.serve(req, out)
    finally:
        out.release()
    assert out.response is not None
    return out.response


async def _keepalive(response: web.StreamResponse, interval: float) -> None:
    """Send a `: ping` comment every `interval` for as long as the stream lasts, so that proxies
    with idle timeouts never cut a stream whose model is slow to produce its next token. Clients
    ignore comments, so a ping between busy chunks costs nothing but a few bytes."""
    with contextlib.suppress(ConnectionResetError, RuntimeError, asyncio.CancelledError):
        while True:
            await asyncio.sleep(interval)
            await response.write(sse.PING)
