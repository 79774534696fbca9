"""The floor the gateway is measured against: a bare aiohttp + orjson relay with no features.

It does what any relay must (parse the body, set the upstream model, forward, parse the answer,
set the client's model, answer) and nothing else: no validation, auth, routing, limits or usage.
Usage: python bench/relay.py PORT UPSTREAM_URL
"""

from __future__ import annotations

import sys

import aiohttp
import orjson
import uvloop
from aiohttp import web


def build(upstream: str) -> web.Application:
    app = web.Application()
    sessions: list[aiohttp.ClientSession] = []

    async def start(app: web.Application) -> None:
        sessions.append(aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)))

    async def relay(request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        client_model, body["model"] = body["model"], "up-model"
        async with sessions[0].post(upstream, data=orjson.dumps(body),
                                    headers={"content-type": "application/json"}) as response:
            answer = orjson.loads(await response.read())
        answer["model"] = client_model
        return web.Response(body=orjson.dumps(answer), content_type="application/json")

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app.on_startup.append(start)
    app.router.add_post("/v1/chat/completions", relay)
    app.router.add_get("/health", health)
    return app


if __name__ == "__main__":
    uvloop.install()
    web.run_app(build(sys.argv[2]), host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
