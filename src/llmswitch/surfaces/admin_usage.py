"""`/admin/api/usage` and `/admin/api/requests`: the usage ledger, summed by group and record by record
(`core.usage_query` does the work; the panel's Dashboard and Requests pages read these).

Each query first has the writer write what is queued (`UsageRecorder.flush`), so a request this
process just served is counted. A gateway with `usage.enabled: false` has no ledger: 404, which the
panel shows as "usage API not available".
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import msgspec
import orjson
from aiohttp import web

from llmswitch.core import usage_query
from llmswitch.core.records import RequestRecord
from llmswitch.core.rollup import SUMS
from llmswitch.errors import GatewayError
from llmswitch.surfaces.admin_auth import BASE, admin_gateway

if TYPE_CHECKING:
    from llmswitch.core.gateway import Gateway
    from llmswitch.store.usage import UsageRepository


async def _ledger(gateway: Gateway) -> UsageRepository:
    recorder = gateway.usage
    if not recorder.enabled:
        raise GatewayError(404, "This gateway keeps no usage ledger (usage.enabled is false).",
                           type="not_found_error", code="usage_disabled")
    await recorder.flush()
    if recorder.store is None:
        raise _unavailable()
    return recorder.store.usage


def _unavailable() -> GatewayError:
    return GatewayError(503, "The usage database cannot be reached; retry shortly.", code="usage_unavailable")


async def _answer(request: web.Request, query: Any) -> web.Response:
    from llmswitch.store.usage import database_failed  # the admin API runs in keys mode: the store is loaded

    try:
        body = await query(await _ledger(admin_gateway(request)))
    except GatewayError:
        raise
    except Exception as error:
        if database_failed(error):
            raise _unavailable() from None
        raise
    return web.Response(body=orjson.dumps(body), content_type="application/json")


async def usage(request: web.Request) -> web.Response:
    return await _answer(request, lambda ledger: usage_query.usage(ledger, request.query, time.time()))


async def requests(request: web.Request) -> web.Response:
    return await _answer(request, lambda ledger: usage_query.requests(ledger, request.query, time.time()))


async def one_request(request: web.Request) -> web.Response:
    return await _answer(request, lambda ledger: usage_query.request(ledger, request.match_info["request_id"]))


def openapi_paths(reply: Any, error: dict[str, Any]) -> dict[str, Any]:
    """The ledger's routes in the admin API's OpenAPI document."""
    _, components = msgspec.json.schema_components([RequestRecord])
    record = components["RequestRecord"]
    number = {"type": "number"}
    sums = {name: {"type": "integer"} if name not in ("audio_seconds", "cost_usd") else number for name in SUMS}
    percentiles = {f"{kind}_p{q}_ms": {"type": ["number", "null"], "description": f"{kind} p{q}, ms (estimated "
                                       "from fixed buckets); null when none was measured"}
                   for kind in ("latency", "ttft") for q in (50, 95)}
    measures = {"type": "object", "properties": {**sums, **percentiles}}
    group = {"allOf": [measures, {"type": "object", "properties": {"key": {
        "type": ["string", "null"], "description": "hour, day: the group's start, ISO 8601 in UTC; key: its id "
                                                   "(null: requests without a key); model, provider: the name"}}}]}
    summary = {"type": "object", "properties": {"totals": measures, "groups": {"type": "array", "items": group}}}
    page = {"type": "object", "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": record},
                                             "has_more": {"type": "boolean"},
                                             "next_cursor": {"type": ["string", "null"]}}}

    def param(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"name": name, "in": "query", "description": description, "schema": schema or {"type": "string"}}

    time_schema = {"oneOf": [{"type": "number"}, {"type": "string", "format": "date-time"}]}
    scope = [param("from", "a request's start, unix seconds or ISO 8601 (default: 24 hours before to)", time_schema),
             param("to", "the end, excluded (default: now)", time_schema), param("key", "a key's id"),
             param("model", "the public model asked for"), param("provider", "the provider that served"),
             param("operation", "chat, embeddings, transcription, speech...")]
    errors = {"400": reply("A query parameter is wrong (`param` names it)", error),
              "401": reply("Missing or wrong master key", error),
              "404": reply("No ledger (usage.enabled is false)", error),
              "503": reply("The usage database cannot be reached", error)}
    return {
        f"{BASE}/usage": {"get": {
            "summary": "Usage summed over a time range, by hour, day, model, key or provider",
            "parameters": [*scope, param("group_by", "default: day", {"enum": list(usage_query.GROUP_BY)}),
                           param("fields", "only these measures, comma-separated (default: all); fewer are "
                                           "summed faster", {"type": "string", "example": "requests,cost_usd"})],
            "responses": {"200": reply("Totals and groups", summary), **errors}}},
        f"{BASE}/requests": {"get": {
            "summary": "The ledger's records, newest first, a page at a time",
            "parameters": [*scope, param("status", "a status (429), a class (4xx), success or error"),
                           param("limit", f"records a page (default {usage_query.DEFAULT_LIMIT}, at most "
                                          f"{usage_query.MAX_LIMIT})", {"type": "integer"}),
                           param("cursor", "the previous page's next_cursor")],
            "responses": {"200": reply("A page of records", page), **errors}}},
        f"{BASE}/requests/{{request_id}}": {"get": {
            "summary": "One request's record (the newest, should a client have reused its request id)",
            "parameters": [{"name": "request_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": reply("The record", record), **errors}}},
    }


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{BASE}/usage", usage)
    app.router.add_get(f"{BASE}/requests", requests)
    app.router.add_get(BASE + "/requests/{request_id}", one_request)
