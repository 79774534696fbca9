"""Serving the application on a socket, with aiohttp's own refusals answered as JSON.

aiohttp answers what its HTTP parser rejects (a malformed request line, bad or oversized headers,
bad chunked framing, a bad Content-Length) before any handler or middleware runs, as text/plain
quoting the offending bytes. A client SDK expects JSON, and the quoted bytes may hold its key. So
the connection handler here answers those in the OpenAI error shape (the path is not known yet)
with a description that quotes nothing.

A chunked body whose framing breaks after the handler started reading it is left unfinished by
aiohttp's C parser (the error waits as the next request), so `server.body_timeout_s` answers it
(408). Failing it at once would take a `data_received` override, which costs every request about
5,000 instructions (1%, bench/instructions.py), for a client that is broken anyway.
"""

from __future__ import annotations

import asyncio
import signal
import socket

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod, BadStatusLine, HttpProcessingError, InvalidURLError
from aiohttp.web_protocol import RequestHandler

from llmswitch.web.context import GATEWAY
from llmswitch.errors import GatewayError

END_RESERVE_S = 1.0  # of the shutdown grace, kept to end what still runs and write its usage

# What is wrong, for the parser errors whose text quotes the request itself without a `:` before it.
PROBLEMS: tuple[tuple[type[HttpProcessingError], str], ...] = (
    (BadHttpMethod, "the method is not valid"),
    (BadStatusLine, "the request line is not valid"),
    (InvalidURLError, "the URL is not valid"),
)


class Connection(RequestHandler):
    """aiohttp's connection handler, with every answer it makes itself in JSON."""

    def handle_error(self, request: web.BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if status >= 500:
            self.log_exception("Error handling request from %s", request.remote, exc_info=exc)
        if request.writer.output_size > 0:
            raise ConnectionError("Response is sent already, cannot send another response with the error message")
        if isinstance(exc, HttpProcessingError):
            text = f"The request is not valid HTTP/1.1: {describe(exc)}."
        else:
            text = "Internal gateway error" if status >= 500 else "Bad request"
        response = web.Response(status=status, body=GatewayError(status, text, code="invalid_http").body("openai"),
                                content_type="application/json")
        response.force_close()
        return response


def describe(exc: HttpProcessingError) -> str:
    """What the parser found wrong, never the bytes it quotes (they may hold a key)."""
    for kind, problem in PROBLEMS:
        if isinstance(exc, kind):
            return problem
    return exc.message.split(":", 1)[0].split("\n", 1)[0][:100] or "malformed"


class _Server(web.Server):
    def __call__(self) -> RequestHandler:
        return Connection(self, loop=self._loop, **self._kwargs)


class Runner(web.AppRunner):
    """An AppRunner whose connections are `Connection`s."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        return _Server(server.request_handler, request_factory=server.request_factory,
                       handler_cancellation=server.handler_cancellation, **server._kwargs)


def serve(app: web.Application, sock: socket.socket, grace_s: float) -> None:
    """Serve APP on SOCK until SIGTERM or SIGINT, then stop without cutting anyone off, within GRACE_S.

    The runner stops accepting, closes idle connections and waits for the requests in flight; what
    still runs END_RESERVE_S before the grace ends is ended by the gateway (a 503, a stream's error
    event, each recorded), and then the usage queue is written. (`web.run_app` ran this in a task it
    had cancelled, with a fixed 5 s: of 100 requests in flight at SIGTERM it cut the 52 longer ones,
    streams without an error event, and lost 28 usage rows; see tests/e2e/test_shutdown.py.)
    """
    async def run() -> None:
        runner = Runner(app, access_log=None, handler_cancellation=True, keepalive_timeout=75,
                        shutdown_timeout=max(grace_s, END_RESERVE_S))  # 0 would mean: wait forever
        await runner.setup()
        await web.SockSite(runner, sock).start()
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        await stopping.wait()
        end = loop.call_later(max(0.0, grace_s - min(END_RESERVE_S, grace_s / 2)), app[GATEWAY].end_in_flight)
        try:
            await runner.cleanup()
        finally:
            end.cancel()

    asyncio.run(run())
