"""The references the gateway is measured against: a bare aiohttp + orjson relay with no features.

It does what any relay must (parse the body, set the upstream model, forward, parse the answer,
set the client's model, answer) and nothing else: no validation, auth, routing, limits or usage.
Its upstream client is aiohttp's ClientSession (the design the project started from) or, with
`--client llmswitch`, the gateway's own HTTP client: the floor of the gateway's design, so the
difference to the gateway is what its features cost.
It relays `/v1/chat/completions`, `/v1/embeddings` and `/v1/responses` (non-streaming) to the same paths
under UPSTREAM_BASE.
Usage: python bench/relay.py PORT UPSTREAM_BASE [--client aiohttp|llmswitch]
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable

import aiohttp
import orjson
import uvloop
from aiohttp import web

from llmswitch.providers.http import HTTPClient, Timeouts

Post = Callable[[str, bytes], Awaitable[bytes]]
PATHS = ("/chat/completions", "/embeddings", "/responses")
HEADERS = {"content-type": "application/json"}


def aiohttp_client(app: web.Application) -> Post:
    sessions: list[aiohttp.ClientSession] = []

    async def start(app: web.Application) -> None:
        sessions.append(aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)))

    async def post(url: str, body: bytes) -> bytes:
        async with sessions[0].post(url, data=body, headers=HEADERS) as response:
            return await response.read()

    app.on_startup.append(start)
    return post


def llmswitch_client(app: web.Application) -> Post:
    client, limits = HTTPClient(), Timeouts(connect=10, first_byte=60, idle=60, total=60)

    async def post(url: str, body: bytes) -> bytes:
        return await (await client.post(url, body, HEADERS, limits)).read()

    return post


def build(upstream: str, client: str) -> web.Application:
    app = web.Application()
    post = (llmswitch_client if client == "llmswitch" else aiohttp_client)(app)

    def relay_to(url: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def relay(request: web.Request) -> web.Response:
            body = orjson.loads(await request.read())
            client_model, body["model"] = body["model"], "up-model"
            answer = orjson.loads(await post(url, orjson.dumps(body)))
            answer["model"] = client_model
            return web.Response(body=orjson.dumps(answer), content_type="application/json")

        return relay

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    for path in PATHS:
        app.router.add_post("/v1" + path, relay_to(upstream + path))
    app.router.add_get("/health", health)
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("port", type=int)
    parser.add_argument("upstream")
    parser.add_argument("--client", choices=("aiohttp", "llmswitch"), default="aiohttp")
    args = parser.parse_args()
    uvloop.install()
    web.run_app(build(args.upstream, args.client), host="127.0.0.1", port=args.port, print=None, access_log=None)
