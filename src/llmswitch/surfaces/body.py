"""Reading a JSON request body, with the 400/413 every surface gives for a bad one."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from llmswitch.errors import GatewayError, invalid


async def read_json_object(request: web.Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "")
    if content_type and "json" not in content_type.lower():
        raise invalid(f"Content-Type must be application/json, got {content_type!r}", code="invalid_content_type")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise GatewayError(413, f"Request body too large: {exc.text}", type="invalid_request_error",
                           code="request_too_large") from None
    except web.RequestPayloadError:  # e.g. `content-encoding: gzip` over bytes that are not gzip
        raise invalid("The request body could not be decoded as its Content-Encoding says",
                      code="invalid_body_encoding") from None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid(f"The request body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object", code="invalid_json")
    return body
