"""Cookies an upstream sets are never sent back upstream on later requests (they could belong to
another client of the gateway)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import openai
import pytest
from aiohttp import web

from tests.support.processes import start_gateway
from tests.support.servers import serve_app

COMPLETION = {"id": "c1", "object": "chat.completion", "created": 1, "model": "m",
              "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                           "message": {"role": "assistant", "content": "ok", "refusal": None}}],
              "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


@pytest.fixture
async def cookie_setting_upstream() -> AsyncIterator[tuple[str, list[str | None]]]:
    seen: list[str | None] = []

    async def chat(request: web.Request) -> web.Response:
        seen.append(request.headers.get("cookie"))
        response = web.json_response(COMPLETION)
        response.set_cookie("session", "client-one-secret")
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    async with serve_app(app, host="localhost") as url:  # a host name: cookie jars ignore IP addresses
        yield url, seen


async def test_cookies_set_by_an_upstream_are_not_sent_on_later_requests(
        cookie_setting_upstream: tuple[str, list[str | None]]) -> None:
    url, seen = cookie_setting_upstream
    config = {"providers": {"up": {"type": "openai", "base_url": f"{url}/v1", "api_keys": ["k"]}},
              "models": {"m": [{"provider": "up"}]}}
    with start_gateway(config) as gateway:
        client = openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key="x", max_retries=0)
        for _ in range(3):
            await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
            await asyncio.sleep(0)
    assert seen == [None, None, None]
