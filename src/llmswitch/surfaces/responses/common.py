"""What the Responses routes share: who is asking (`Caller`), the core request built for them, the
answer written through the surface's wire, and the stored responses a caller may see.

Every route is a public function taking the web request and what the client sent, with a `Caller`
saying where its credentials and query come from (by default the request's own headers and query
string) and how its streams are framed, so that a surface that reads them elsewhere (the body-keyed
compat routes) serves the same operations.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from llmswitch.core.gateway import Gateway
from llmswitch.core.operations import Operation
from llmswitch.core.pipeline import Request, Responder
from llmswitch.core.response_store import StoredResponse, owner_of
from llmswitch.core.routing import Plan
from llmswitch.dialects.estimate import responses_input_tokens
from llmswitch.dialects.responses_events import response_to_events
from llmswitch.dialects.responses_items import shown
from llmswitch.dialects.shapes import nested_too_deeply
from llmswitch.errors import GatewayError, invalid
from llmswitch.surfaces.wire import RESPONSES, Wire
from llmswitch.web.context import GATEWAY, REQUEST_ID
from llmswitch.web.respond import HTTPResponder


@dataclass(frozen=True, slots=True)
class Caller:
    """Where a Responses request's credentials and forwarded query come from, and its streams' framing."""

    headers: Mapping[str, str]  # read for the credentials and `x-llmswitch-timeout-ms`
    query: str = ""  # forwarded with a sub-operation to an upstream that keeps the response
    adjust: Callable[[Request], None] | None = None  # a surface's last word on each core request it serves
    wire: Wire = RESPONSES  # how its streams are written (the events are the Responses API's either way)


def caller_of(request: web.Request) -> Caller:
    return Caller(request.headers, request.query_string)


def gateway_of(request: web.Request) -> Gateway:
    return request.app[GATEWAY]


def core_request(request: web.Request, caller: Caller, operation: Operation, body: dict[str, Any], *,
                 model: str | None = None, stream: bool = False, narrow: Callable[[Plan], None] | None = None,
                 resource: str = "", fallback: Callable[[Any], Any] | None = None,
                 holder: object | None = None) -> Request:
    """The core's request for one Responses operation; its holder in the concurrency gate is the web
    request unless given (a background run outlives it)."""
    try:
        estimate = responses_input_tokens(body) if body else 0
    except RecursionError:
        raise nested_too_deeply() from None
    limit = body.get("max_output_tokens")
    req = Request(operation, RESPONSES.dialect, body, model or body["model"], stream, caller.headers, caller.query,
                  request[REQUEST_ID], {}, request if holder is None else holder, estimate,
                  limit if type(limit) is int and limit > 0 else None, fallback=fallback, narrow=narrow,
                  resource=resource)
    req.client_ip = request.remote or ""
    if caller.adjust is not None:
        caller.adjust(req)
    return req


async def answer(request: web.Request, req: Request, wrap: Callable[[Responder], Responder] | None = None, *,
                 wire: Wire = RESPONSES) -> web.StreamResponse:
    """Run the pipeline on REQ, its answer written in WIRE (through WRAP's responder)."""
    gateway = gateway_of(request)
    pipeline = gateway.pipeline
    assert pipeline is not None
    out = HTTPResponder(request, wire, gateway.config.server.keepalive_s)
    try:
        await pipeline.serve(req, out if wrap is None else wrap(out))
    finally:
        out.release()
    assert out.response is not None
    return out.response


def json_answer(body: Any) -> web.Response:
    return web.Response(body=orjson.dumps(body), content_type="application/json")


async def find(request: web.Request, response_id: str, caller: Caller) -> StoredResponse:
    """The stored response (or record) of that id the caller may see, else OpenAI's 404."""
    gateway = gateway_of(request)
    principal = await gateway.auth.authenticate(caller.headers)
    record = await gateway.responses.get(response_id, owner_of(principal))
    if record is None:
        raise GatewayError(404, f"Response with id '{response_id}' not found.", code="not_found")
    return record


def kept_at(record: StoredResponse, param: str | None) -> Callable[[Plan], None]:
    """A plan cut to the provider that keeps RECORD's response (the target that made it first): only
    that upstream can continue it, read it or delete it."""
    def narrow(plan: Plan) -> None:
        plan.targets = sorted((t for t in plan.targets if t.provider.name == record.provider),
                              key=lambda target: target.label != record.target)
        plan.skipped = [s for s in plan.skipped if s.target.provider.name == record.provider]
        plan.overflow = None
        if not plan.targets and not plan.skipped:
            raise invalid(f"Response '{record.id}' is kept by provider `{record.provider}`, which no deployment "
                          f"of model `{record.model}` reaches now.", param=param, code="response_unreachable")
    return narrow


def includes(query: Any) -> list[str]:
    """The `include[]` values of a query (aiohttp's multidict, or any mapping with one value)."""
    getall = getattr(query, "getall", None)
    values = getall("include[]", []) + getall("include", []) if getall else [query.get("include[]")]
    return [value for value in values if isinstance(value, str)]


async def follow(request: web.Request, record: StoredResponse, after: int, include: list[str],
                 wire: Wire = RESPONSES) -> web.StreamResponse:
    """RECORD's stream events after sequence number AFTER, then those of its run as they come, until
    it ends (a response made whole, or a run that failed before its stream began, is told as the
    events that would have made it), written in WIRE."""
    out = HTTPResponder(request, wire, gateway_of(request).config.server.keepalive_s)
    try:
        await out.open({})
        sent = after
        while True:
            changed = record.changed
            events = record.events or ([] if record.running else response_to_events(record.response or {}))
            fresh = [event for event in events if event.get("sequence_number", -1) > sent]
            if fresh:
                sent = fresh[-1]["sequence_number"]
                await out.send([shown_event(event, include) for event in fresh])
            if not record.running:
                break
            await changed.wait()
        await out.finish([], complete=True)
    finally:
        out.release()
    assert out.response is not None
    return out.response


def shown_event(event: dict[str, Any], include: list[str]) -> dict[str, Any]:
    """A stored event as a read shows it (`shown`: encrypted reasoning only when asked for)."""
    for key in ("item", "response"):
        value = event.get(key)
        if isinstance(value, dict):
            shown_value = shown(value, include)
            if shown_value is not value:
                return {**event, key: shown_value}
    return event


def starting_after(query: Mapping[str, str]) -> int:
    raw = query.get("starting_after")
    if raw is None:
        return -1
    try:
        return int(raw)
    except ValueError:
        raise invalid(f"Invalid 'starting_after': expected an integer, got {raw!r}.", param="starting_after",
                      code="invalid_type") from None


async def settled(task: asyncio.Task[None] | None) -> None:
    """Wait for a cancelled background run to have recorded how it ended."""
    if task is not None and not task.done():
        await asyncio.wait({task})
