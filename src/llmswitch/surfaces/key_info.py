"""`GET /v1/key`: a key reads its own limits and current usage (no admin rights needed)."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from llmswitch.core.limits import MICRO, budget_window
from llmswitch.surfaces.wire import OPENAI
from llmswitch.web.context import GATEWAY


async def key_info(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY]
    principal = await gateway.auth.authenticate(request.headers)
    key = principal.key
    if key is None:
        return web.json_response({"object": "key", "kind": principal.kind, "models": [], "limits": {}})
    snapshot = await gateway.limiter.usage_of(key)
    period, start, _ttl = budget_window(key.budget_period, time.time())
    budget: dict[str, Any] = {"period": key.budget_period, "period_id": period, "period_start": start,
                              "spent_usd": snapshot.spent_usd / MICRO, "spent_tokens": snapshot.spent_tokens}
    if key.budget_usd is not None:
        budget["remaining_usd"] = max(0.0, key.budget_usd - snapshot.spent_usd / MICRO)
    if key.budget_tokens is not None:
        budget["remaining_tokens"] = max(0, key.budget_tokens - snapshot.spent_tokens)
    return web.json_response({
        "object": "key", "kind": "key", "id": key.id, "name": key.name, "key_prefix": key.key_prefix,
        "models": key.models, "expires_at": key.expires_at, "created_at": key.created_at,
        "metadata": key.metadata,
        "limits": {"rpm": key.rpm, "tpm": key.tpm, "max_concurrent": key.max_concurrent,
                   "budget_usd": key.budget_usd, "budget_tokens": key.budget_tokens,
                   "budget_period": key.budget_period},
        # window counts are kept for the limits a key has: requests with rpm, tokens with tpm
        "usage": {"requests_last_minute": snapshot.requests, "tokens_last_minute": snapshot.tokens,
                  "concurrent": snapshot.concurrent, "budget": budget},
    })


ROUTES = (("GET", "/key", key_info, OPENAI),)
