"""What the application keeps for every handler: the gateway, and each request's id and answer headers."""

from __future__ import annotations

from aiohttp import web

from llmswitch.core.gateway import Gateway

GATEWAY = web.AppKey("gateway", Gateway)
REQUEST_ID = web.RequestKey("request_id", str)  # set by the middleware on every request
# What every answer to a request carries (its id, CORS), set by the middleware too: it adds them to an
# answer returned whole, and a stream, whose headers go out before its handler returns, opens with them.
ANSWER_HEADERS = web.RequestKey("answer_headers", dict)
