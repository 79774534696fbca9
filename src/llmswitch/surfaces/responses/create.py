"""`POST /v1/responses`: a response made by any model, streaming or not, in the foreground or as a
background run, kept by the gateway when the upstream does not keep it itself.

To an OpenAI deployment with the Responses API the request passes as the client wrote it (only
`model` is rewritten), and that upstream keeps the response: the gateway records which provider
made which id. To any other deployment it is translated through Chat Completions, and the gateway
keeps the response, its events and its input items (`store: true`, the default; `store: false`
keeps nothing).

A conversation continues where it is kept. A `previous_response_id` the gateway keeps is resolved
here: the stored conversation is put before the new input, the body the pipeline translates carries
no `previous_response_id` (so any target can take it), and every response shows the id again. One
an upstream keeps goes to that upstream as is (`common.kept_at`). An `item_reference` to an item the
gateway keeps is replaced by the item; any other is left for the upstream.

`background: true` answers at once with the `queued` response and runs the call as a task of this
process (a stream inside, so that a streamed retrieve follows it live); retrieve and cancel see it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from llmswitch.core.gateway import Gateway
from llmswitch.core.operations import CHAT
from llmswitch.core.pipeline import Request
from llmswitch.core.response_store import ResponseStore, StoredResponse, owner_of
from llmswitch.core.routing import Plan, Target
from llmswitch.dialects.responses import failure, new_id, now, response_object
from llmswitch.dialects.responses_items import as_items, references, resolve_references, stored_items
from llmswitch.dialects.responses_request import validate_request
from llmswitch.errors import GatewayError, invalid
from llmswitch.surfaces.body import read_json_object
from llmswitch.surfaces.responses.capture import Capture, last_response
from llmswitch.surfaces.responses.common import (Caller, answer, caller_of, core_request, follow, gateway_of,
                                                 json_answer, kept_at)

log = logging.getLogger("llmswitch.responses")


@dataclass(slots=True)
class Conversation:
    """A create (or count, or compact) request with what the gateway keeps of its conversation resolved."""

    body: dict[str, Any]  # what the pipeline translates or forwards
    items: list[dict[str, Any]]  # the input the new response is kept with: the conversation before it, then its own
    fixed: dict[str, Any] = field(default_factory=dict)  # what every response shows that the body no longer says
    narrow: Callable[[Plan], None] | None = None  # the plan cut to where the conversation is kept


async def resolve(gateway: Gateway, body: dict[str, Any], caller: Caller) -> Conversation:
    """BODY's conversation as far as the gateway keeps it (the module docstring says how)."""
    new = as_items(body.get("input"))
    previous = body.get("previous_response_id")
    wanted = references(new)
    if not previous and not wanted:
        return Conversation(body, new)  # the usual request: nothing looked up
    principal = await gateway.auth.authenticate(caller.headers)
    owner = owner_of(principal)
    store = gateway.responses
    history: list[dict[str, Any]] = []
    conversation = Conversation(body, new)
    if previous:
        record = await store.get(previous, owner)
        if record is None:
            raise GatewayError(404, f"Previous response with id '{previous}' not found.",
                               param="previous_response_id", code="previous_response_not_found")
        if record.running:
            raise invalid(f"Previous response with id '{previous}' is still {record.status.replace('_', ' ')}.",
                          param="previous_response_id", code="previous_response_not_finished")
        if record.kept == "upstream":
            conversation.narrow = kept_at(record, "previous_response_id")
        else:
            history = record.conversation
            conversation.fixed["previous_response_id"] = previous
    found = await _referenced(store, wanted, history, owner)
    if not history and not found:
        return conversation
    resolved, _ = resolve_references(new, found.get)
    conversation.items = history + resolved
    conversation.body = {key: value for key, value in body.items() if key not in conversation.fixed}
    conversation.body["input"] = conversation.items
    return conversation


async def _referenced(store: ResponseStore, wanted: list[str], history: list[dict[str, Any]],
                      owner: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for item_id in wanted:
        item = next((item for item in reversed(history) if item.get("id") == item_id), None)
        item = item or await store.find_item(item_id, owner)
        if item is not None:
            found[item_id] = item
    return found


def keeps_its_own(target: Target) -> bool:
    """Does TARGET's upstream keep the responses it makes (it serves Responses clients as they wrote)?"""
    provider = target.provider
    endpoint = provider.endpoint("chat", "responses", target.deployment.api)
    return endpoint is not None and provider.dialect_of(endpoint) == "responses"


class Keeper:
    """Keeps a foreground response once it is answered: whole, or when its stream ends (an upstream
    that keeps its own responses gets only the record, so its stream's events are not gathered)."""

    __slots__ = ("store", "req", "conversation", "_events", "_last", "_upstream")

    def __init__(self, store: ResponseStore, req: Request, conversation: Conversation):
        self.store = store
        self.req = req
        self.conversation = conversation
        self._events: list[dict[str, Any]] = []
        self._last: dict[str, Any] | None = None
        self._upstream: bool | None = None  # does the answering target keep its own? (known once it answers)

    def whole(self, response: dict[str, Any]) -> None:
        self._keep(response, None)

    def events(self, events: list[dict[str, Any]]) -> None:
        if self._upstream is None:
            target = self.req.meter.target
            self._upstream = target is not None and keeps_its_own(target)
        if self._upstream:
            self._last = last_response(events) or self._last
        else:
            self._events += events

    def ended(self, complete: bool) -> None:
        response = last_response(self._events) if self._events else self._last
        if response is not None:
            self._keep(response, self._events)

    def _keep(self, response: dict[str, Any], events: list[dict[str, Any]] | None) -> None:
        target = self.req.meter.target
        response_id = response.get("id")
        if target is None or not isinstance(response_id, str):
            return
        upstream = keeps_its_own(target)
        record = self.store.new_record(response_id, self.req.principal, self.req.model_name, target.provider.name,
                                       target.label, "upstream" if upstream else "gateway",
                                       str(response.get("status") or "completed"))
        if not upstream:
            record.response, record.events = response, events
            record.input_items = stored_items(self.conversation.items)
        self.store.keep(record)


class Live:
    """Follows a background run: its record shows each event, its status and who answers as they come."""

    __slots__ = ("record", "req")

    def __init__(self, record: StoredResponse, req: Request):
        self.record = record
        self.req = req

    def whole(self, response: dict[str, Any]) -> None:  # a run streams; kept for the Sink's sake
        self._update(response)

    def events(self, events: list[dict[str, Any]]) -> None:
        record = self.record
        assert record.events is not None
        if not record.target and self.req.meter.target is not None:
            record.provider, record.target = self.req.meter.target.provider.name, self.req.meter.target.label
        record.events += events
        response = last_response(events)
        if response is not None:
            self._update(response)
        else:
            record.moved()

    def ended(self, complete: bool) -> None:
        pass  # the terminal event carried the response

    def _update(self, response: dict[str, Any]) -> None:
        self.record.response = response
        self.record.status = str(response.get("status") or "completed")
        self.record.moved()


async def create_response(request: web.Request, body: dict[str, Any], caller: Caller | None = None
                          ) -> web.StreamResponse:
    """Create a response from BODY (parsed, not yet checked), as `POST /v1/responses` does."""
    caller = caller or caller_of(request)
    validate_request(body)
    gateway = gateway_of(request)
    conversation = await resolve(gateway, body, caller)
    if body.get("background"):
        return await _background(request, gateway, body, conversation, caller)
    req = core_request(request, caller, CHAT, conversation.body, stream=bool(body.get("stream")),
                       narrow=conversation.narrow)
    keeper = Keeper(gateway.responses, req, conversation) if body.get("store") is not False else None
    if keeper is None and not conversation.fixed:
        return await answer(request, req, wire=caller.wire)
    return await answer(request, req, lambda out: Capture(out, conversation.fixed, keeper), wire=caller.wire)


async def _background(request: web.Request, gateway: Gateway, body: dict[str, Any], conversation: Conversation,
                      caller: Caller) -> web.StreamResponse:
    pipeline = gateway.pipeline
    assert pipeline is not None
    model = body["model"]
    holder = object()  # the run's own place in the concurrency gate, from when it is admitted
    try:
        principal, _ = await pipeline.authorize(caller.headers, model, holder)  # refused now, not in the run
    finally:
        gateway.concurrency.release(holder)
    response_id = new_id("resp")
    queued = response_object(body, response_id, now(), model, "queued")
    queued.update(conversation.fixed)
    store = gateway.responses
    record = store.new_record(response_id, principal, model, "", "", "gateway", "queued")
    record.response, record.events, record.input_items = queued, [], stored_items(conversation.items)
    run_body = {key: value for key, value in conversation.body.items() if key != "background"}
    run_body["stream"] = True
    req = core_request(request, caller, CHAT, run_body, stream=True, narrow=conversation.narrow, holder=holder)
    fixed = {**conversation.fixed, "id": response_id, "background": True}
    store.keep(record)
    record.task = asyncio.get_running_loop().create_task(_run(gateway, req, record, fixed))
    if body.get("stream"):
        return await follow(request, record, -1, list(body.get("include") or ()), caller.wire)
    return json_answer(queued)


async def _run(gateway: Gateway, req: Request, record: StoredResponse, fixed: dict[str, Any]) -> None:
    """A background run: the pipeline answers into the record; however it ends, the record says so."""
    pipeline = gateway.pipeline
    assert pipeline is not None
    try:
        await pipeline.serve(req, Capture(None, fixed, Live(record, req)))
    except asyncio.CancelledError:
        if record.running:  # not a run cancelled as it was being accounted for, already complete
            _ended(record, "cancelled")
    except GatewayError as error:
        _ended(record, "failed", failure(error.status, error.message))
    except Exception:
        log.exception("background response %s failed (request %s)", record.id, req.request_id)
        _ended(record, "failed", failure(500, "The gateway failed to make this response."))
    finally:
        gateway.concurrency.release(req.holder)
        gateway.responses.keep(record)
        record.moved()


def _ended(record: StoredResponse, status: str, error: dict[str, Any] | None = None) -> None:
    response = dict(record.response or {})
    response["status"] = status
    if error is not None:
        response["error"] = error
    record.response, record.status = response, status


async def create_route(request: web.Request) -> web.StreamResponse:
    return await create_response(request, await read_json_object(request))
