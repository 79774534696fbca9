"""A token bucket per client address for the routes anyone may call without a key (`/`, `/health`,
`/health/ready`), so that they cannot be used to load the server: an address may send
`server.status_burst` requests at once and `server.status_rps` a second after that; past it, a
429 with `Retry-After`. `status_rps: 0` turns it off.

The buckets live in memory, per worker process. The address is the connection's peer: a forwarded
header is not trusted, since a client could name a fresh address on every request. The defaults
(20 a second, 50 at once) leave room for load balancers and probes; the test suite's start-up
polling asks /health at most every 50 ms.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from llmswitch.errors import GatewayError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_ADDRESSES = 10_000  # buckets kept; past it, the full ones (as good as new) are forgotten


class TokenBuckets:
    """One bucket per address: [tokens, when last counted]."""

    __slots__ = ("rate", "burst", "_buckets")

    def __init__(self, rate: float, burst: int):
        self.rate = rate
        self.burst = float(burst)
        self._buckets: dict[str, list[float]] = {}

    def take(self, address: str, now: float) -> float:
        """0 when ADDRESS may go at NOW (a token is taken), else the seconds until it may."""
        bucket = self._buckets.get(address)
        if bucket is None:
            if len(self._buckets) >= MAX_ADDRESSES:
                self._forget(now)
            self._buckets[address] = [self.burst - 1, now]
            return 0.0
        tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens >= 1:
            bucket[0] = tokens - 1
            return 0.0
        bucket[0] = tokens
        return (1 - tokens) / self.rate

    def _forget(self, now: float) -> None:
        """Drop the buckets that have filled up again; if that frees too little (a flood from many
        addresses), the older half too, whose addresses start again with a full bucket."""
        buckets = self._buckets
        for address in [a for a, (tokens, at) in buckets.items() if tokens + (now - at) * self.rate >= self.burst]:
            del buckets[address]
        if len(buckets) >= MAX_ADDRESSES // 2:
            for address in list(buckets)[: len(buckets) // 2]:
                del buckets[address]


def throttled(handler: Handler, buckets: TokenBuckets | None) -> Handler:
    """HANDLER behind BUCKETS (None: as it is)."""
    if buckets is None:
        return handler

    async def guarded(request: web.Request) -> web.StreamResponse:
        wait = buckets.take(request.remote or "", time.monotonic())
        if wait:
            retry = max(1, math.ceil(wait))
            raise GatewayError(429, f"Too many requests to {request.path} from this address; retry in {retry} s.",
                               code="rate_limit_exceeded", headers={"retry-after": str(retry)})
        return await handler(request)

    return guarded
