"""The sub-operations on a stored response: `GET /v1/responses/{id}` (`include[]`, `stream` with
`starting_after`), `DELETE /v1/responses/{id}`, `POST /v1/responses/{id}/cancel` and
`GET /v1/responses/{id}/input_items` (`limit`, `order`, `after`, `include[]`).

A response the gateway keeps is answered from its store; one an upstream keeps is forwarded to
that provider, the target that made it first, through the pipeline like any operation (the key's
limits and usage, failover among that provider's targets: reads are idempotent and retried, a
delete or a cancel follows `retry_unsafe`). Either way the caller must be the key that made it:
for any other the response does not exist (404).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from llmswitch.core.operations import RESPONSE_CANCEL, RESPONSE_DELETE, RESPONSE_INPUT_ITEMS, RESPONSE_RETRIEVE
from llmswitch.core.operations import Operation
from llmswitch.core.response_store import StoredResponse
from llmswitch.dialects.responses_items import page, shown
from llmswitch.errors import GatewayError, invalid
from llmswitch.surfaces.responses.common import (Caller, answer, caller_of, core_request, find, follow, gateway_of,
                                                 includes, json_answer, kept_at, settled, starting_after)


async def _forward(request: web.Request, record: StoredResponse, operation: Operation, caller: Caller,
                   stream: bool = False) -> web.StreamResponse:
    req = core_request(request, caller, operation, {}, model=record.model, stream=stream,
                       narrow=kept_at(record, None), resource=record.id)
    return await answer(request, req, wire=caller.wire)


async def retrieve_response(request: web.Request, response_id: str, query: Mapping[str, str],
                            caller: Caller | None = None) -> web.StreamResponse:
    caller = caller or caller_of(request)
    record = await find(request, response_id, caller)
    stream = query.get("stream") in ("true", "True", "1")
    if record.kept == "upstream":
        return await _forward(request, record, RESPONSE_RETRIEVE, caller, stream)
    if stream:
        return await follow(request, record, starting_after(query), includes(query), caller.wire)
    return json_answer(shown(record.response, includes(query)))


async def delete_response(request: web.Request, response_id: str, caller: Caller | None = None) -> web.StreamResponse:
    caller = caller or caller_of(request)
    record = await find(request, response_id, caller)
    store = gateway_of(request).responses
    if record.kept == "upstream":
        try:
            answered = await _forward(request, record, RESPONSE_DELETE, caller)
        except GatewayError as error:
            if error.status == 404:  # gone upstream already: so is the record
                await store.delete(record)
            raise
        await store.delete(record)
        return answered
    if record.task is not None and not record.task.done():
        record.task.cancel()
        await settled(record.task)
    await store.delete(record)
    return json_answer({"id": record.id, "object": "response.deleted", "deleted": True})


async def cancel_response(request: web.Request, response_id: str, caller: Caller | None = None) -> web.StreamResponse:
    """Cancel a background run; one already finished is answered as it is."""
    caller = caller or caller_of(request)
    record = await find(request, response_id, caller)
    if record.kept == "upstream":
        return await _forward(request, record, RESPONSE_CANCEL, caller)
    if not (record.response or {}).get("background"):
        raise invalid("Only responses created with background set to true can be cancelled.", code="invalid_request")
    if record.task is not None and not record.task.done():
        record.task.cancel()
        await settled(record.task)
    elif record.running:
        raise GatewayError(409, f"Response '{record.id}' is not running in this gateway process (it may have "
                                "restarted, or another worker runs it).", code="not_running_here")
    return json_answer(shown(record.response, []))


async def list_input_items(request: web.Request, response_id: str, query: Mapping[str, str],
                           caller: Caller | None = None) -> web.StreamResponse:
    caller = caller or caller_of(request)
    record = await find(request, response_id, caller)
    if record.kept == "upstream":
        return await _forward(request, record, RESPONSE_INPUT_ITEMS, caller)
    listing: dict[str, Any] = page(record.input_items, query)
    listing["data"] = shown(listing["data"], includes(query))
    return json_answer(listing)


async def retrieve_route(request: web.Request) -> web.StreamResponse:
    return await retrieve_response(request, request.match_info["response_id"], request.query)


async def delete_route(request: web.Request) -> web.StreamResponse:
    return await delete_response(request, request.match_info["response_id"])


async def cancel_route(request: web.Request) -> web.StreamResponse:
    return await cancel_response(request, request.match_info["response_id"])


async def input_items_route(request: web.Request) -> web.StreamResponse:
    return await list_input_items(request, request.match_info["response_id"], request.query)
