"""A small aiohttp application served in the test's own event loop, for upstreams a test scripts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiohttp import web


@asynccontextmanager
async def serve_app(app: web.Application, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve APP on a free loopback port; yields `http://HOST:PORT` and always stops it."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def serve_posts(handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                      path: str = "/{tail:.*}") -> AsyncIterator[str]:
    """Serve HANDLER for every POST to PATH (any path unless given); yields the base URL, as `serve_app`."""
    app = web.Application()
    app.router.add_post(path, handler)
    async with serve_app(app) as url:
        yield url

