"""Reading a JSON request body, with the 400/408/413 every surface gives for a bad one."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import web

from llmswitch.web.context import GATEWAY
from llmswitch.errors import GatewayError, invalid


async def read_json_object(request: web.Request, any_type: bool = False) -> dict[str, Any]:
    """The body as a JSON object. Its Content-Type must say JSON unless ANY_TYPE (the compat routes,
    whose browser clients post JSON text as `text/plain` to spare a CORS preflight)."""
    content_type = request.headers.get("content-type", "")
    if content_type and not any_type and "json" not in content_type.lower():
        raise invalid(f"Content-Type must be application/json, got {content_type!r}", code="invalid_content_type")
    try:
        # A body already in (the usual case: it came with the headers) is read without arming a timer.
        raw = await (request.read() if request.content.is_eof() else _read_within_deadline(request))
    except web.HTTPRequestEntityTooLarge as exc:
        raise GatewayError(413, f"Request body too large: {exc.text}", code="request_too_large") from None
    except web.RequestPayloadError:  # bad chunked framing or compression; its text may quote the bytes
        raise invalid("The request body is malformed: its chunked framing or compression is broken.",
                      code="invalid_body") from None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid(f"The request body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object", code="invalid_json")
    return body


async def _read_within_deadline(request: web.Request) -> bytes:
    """The rest of the body, within `server.body_timeout_s`: a client that stops sending half-way
    holds a connection and a task, never more than that long."""
    timeout = request.app[GATEWAY].config.server.body_timeout_s
    try:
        async with asyncio.timeout(timeout):
            return await request.read()
    except TimeoutError:
        raise GatewayError(408, f"The request body did not arrive within {timeout:g} s.", code="body_timeout") from None
