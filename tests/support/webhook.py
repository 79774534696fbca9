"""A real webhook receiver on loopback for the budget alerts' tests: it records every call, answers
as the test scripts it (statuses in turn, or holding the call open), and checks signatures the way
README's "Budget alerts" tells a receiver to, written here from that text rather than imported."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.servers import serve_app

MAX_AGE_S = 300  # a receiver refuses a call signed longer ago than this


@dataclass
class Call:
    headers: dict[str, str]
    body: bytes
    path: str

    def verified(self, secret: str) -> dict[str, Any]:
        """The alert, once its signature and timestamp check out (AssertionError otherwise)."""
        timestamp = self.headers["x-llmswitch-timestamp"]
        expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + self.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(self.headers["x-llmswitch-signature"], f"sha256={expected}")
        assert abs(time.time() - int(timestamp)) <= MAX_AGE_S
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers each call with the next of `statuses` (then 200s); with `hold`, keeps every call open
    until `release` is set."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    hold: bool = False
    calls: list[Call] = field(default_factory=list)
    open_calls: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.calls.append(Call(dict(request.headers), await request.read(), request.path_qs))
        if self.hold:
            self.open_calls += 1
            try:
                await self.release.wait()
            finally:
                self.open_calls -= 1
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)

    def alerts(self, secret: str) -> list[dict[str, Any]]:
        """Every call's alert, each checked."""
        return [call.verified(secret) for call in self.calls]

    async def wait_calls(self, count: int, timeout_s: float = 30.0) -> list[Call]:
        deadline = time.monotonic() + timeout_s
        while len(self.calls) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return self.calls


@asynccontextmanager
async def receiving(path: str = "/hooks/budget", **behaviour: Any) -> AsyncIterator[Receiver]:
    """A `Receiver` served on a free loopback port at PATH; its `url` is set."""
    receiver = Receiver(**behaviour)
    app = web.Application()
    app.router.add_post(path, receiver.handle)
    async with serve_app(app) as base:
        receiver.url = base + path
        try:
            yield receiver
        finally:
            receiver.release.set()
