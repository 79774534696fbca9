"""What the application keeps for every handler: the gateway, and each request's id."""

from __future__ import annotations

from aiohttp import web

from llmswitch.core.gateway import Gateway

GATEWAY = web.AppKey("gateway", Gateway)
REQUEST_ID = web.RequestKey("request_id", str)  # set by the middleware on every request
