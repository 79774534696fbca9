"""The Responses API routes: create (JSON or SSE), retrieve (also as a replayed stream), delete, cancel,
input_items, input_tokens and compact, over an in-memory store of the responses made with `store` on.

What is kept per response: the response, its stream events (so `GET ...?stream=true&starting_after=N`
replays them), its input items and the conversation a `previous_response_id` continues (the
previous conversation, the new input, the output). The store holds at most `record_limit`
responses, oldest dropped. `background: true` answers at once with status `queued`; the answer is
made in a task that waits the latency and `hang_s` first, so a test can cancel it meanwhile
(status `cancelled`). A stream cut by a fault is not stored; a non-stream reset is not either.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from llmswitch.dialects.sse import encode_event
from llmswitch.fake_upstream import answer as answers
from llmswitch.fake_upstream import openai
from llmswitch.fake_upstream import responses as wire
from llmswitch.fake_upstream.dialect import Rejected
from llmswitch.fake_upstream.directives import Directive, DirectiveError
from llmswitch.fake_upstream.faults import abort, pacing_of, send
from llmswitch.fake_upstream.handling import (BODY, JSON, SSE_HEADERS, STATE, State, before_answer, default_message,
                                              directive_of)

_STORE = "responses"
_LIST_LIMIT = (1, 100)


@dataclass(slots=True)
class Stored:
    response: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    input_items: list[dict[str, Any]] = field(default_factory=list)  # everything the model saw as input
    conversation: list[dict[str, Any]] = field(default_factory=list)  # input items then output, for chaining
    task: asyncio.Task[None] | None = None


def _store(state: State) -> OrderedDict[str, Stored]:
    return state.extensions.setdefault(_STORE, OrderedDict())


def _keep(state: State, response_id: str, stored: Stored) -> None:
    store = _store(state)
    store[response_id] = stored
    while len(store) > state.options.record_limit:
        store.popitem(last=False)


def _not_found(response_id: str) -> Rejected:
    return Rejected(404, f"Response with id '{response_id}' not found.")


def _history(state: State, body: Any) -> list[dict[str, Any]]:
    previous = body.get("previous_response_id") if isinstance(body, dict) else None
    if previous is None:
        return []
    stored = _store(state).get(previous)
    if stored is None:
        raise Rejected(404, f"Previous response with id '{previous}' not found.", "previous_response_id")
    return stored.conversation


def _headers(request: web.Request) -> dict[str, str]:
    headers = {"x-fake-upstream": request.app[STATE].options.name}
    if request.app[STATE].options.require_auth:
        openai.require_key(request)
    return headers


def _checked(request: web.Request) -> tuple[dict[str, str], list[dict[str, Any]], wire.Request]:
    """The answer's headers, the conversation a `previous_response_id` continues, and the request
    checked against it (create and compact check the same body)."""
    body = request[BODY]
    headers = _headers(request)
    history = _history(request.app[STATE], body)
    return headers, history, wire.check(body, history)


def _frames(events: list[dict[str, Any]]) -> list[bytes]:
    return [encode_event(e) for e in events]


def _fault_frames(rendered: wire.Rendered, at: int, directive: Directive) -> bytes:
    """An `error` event then `response.failed`, numbered from where the stream was cut."""
    status = directive.status or 500
    message = directive.message or default_message(status)
    code = "rate_limit_exceeded" if status == 429 else "server_error"
    failed = {**rendered.events[0]["response"], "status": "failed", "error": {"code": code, "message": message}}
    return (encode_event({"type": "error", "code": code, "message": message, "param": None, "sequence_number": at})
            + encode_event({"type": "response.failed", "response": failed, "sequence_number": at + 1}))


async def create(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    try:
        headers, history, checked = _checked(request)
        stripped, directive = directive_of(request, checked.prompt.text)
    except Rejected as exc:
        return openai.rejected(exc, {"x-fake-upstream": state.options.name})
    except DirectiveError as exc:
        return openai.rejected(Rejected(400, str(exc)), headers)
    number = next(state.numbers)
    response_id = f"resp_fake{number}"
    created = int(time.time())
    if checked.background and not checked.stream:
        return _start_background(request, checked, stripped, directive, response_id, number, created, history)
    directive, refused = await before_answer(request, directive, headers, openai.error_body)
    if refused is not None:
        return refused
    rendered = _render(state, checked, stripped, directive, response_id, number, created)
    if not checked.stream:
        if directive.reset_after is not None:
            abort(request)
            return web.Response()
        _remember(state, checked, history, response_id, rendered)
        return web.Response(body=orjson.dumps(rendered.response), content_type=JSON, headers=headers)
    response = web.StreamResponse(headers={**headers, **SSE_HEADERS})
    await response.prepare(request)
    pacing = pacing_of(directive)
    error_frame = b"" if directive.error_after is None else _fault_frames(rendered, directive.error_after, directive)
    if await send(response, request, _frames(rendered.events), pacing, error_frame):
        await response.write_eof()
    if directive.reset_after is None and directive.error_after is None:
        _remember(state, checked, history, response_id, rendered)
    return response


def _render(state: State, checked: wire.Request, stripped: str, directive: Directive, response_id: str,
            number: int, created: int) -> wire.Rendered:
    answer = answers.build(checked.prompt, stripped, directive, state.options.chunks, f"call_{number}_")
    return wire.render(checked, answer, response_id, number, created, directive.chunks or state.options.chunks)


def _remember(state: State, checked: wire.Request, history: list[dict[str, Any]], response_id: str,
              rendered: wire.Rendered, stored: Stored | None = None) -> None:
    if not checked.store:
        return
    stored = stored or Stored(rendered.response)
    stored.response, stored.events = rendered.response, rendered.events
    stored.input_items = _input_items(checked, history, response_id)
    stored.conversation = stored.input_items + rendered.response["output"]
    _keep(state, response_id, stored)


def _input_items(checked: wire.Request, history: list[dict[str, Any]], response_id: str) -> list[dict[str, Any]]:
    return history + wire.item_list(checked.items, f"msg_in_{response_id.removeprefix('resp_')}")


def _start_background(request: web.Request, checked: wire.Request, stripped: str, directive: Directive,
                      response_id: str, number: int, created: int, history: list[dict[str, Any]]) -> web.Response:
    state = request.app[STATE]
    queued = wire.response_object(checked, response_id, created, "queued")
    stored = Stored(queued, input_items=_input_items(checked, history, response_id))
    directive = state.failures.apply(directive)

    async def run() -> None:
        await asyncio.sleep(state.options.latency_ms / 1000 + directive.hang_s)
        rendered = _render(state, checked, stripped, directive, response_id, number, created)
        if directive.status:
            message = directive.message or default_message(directive.status)
            rendered.response.update(status="failed", output=[], usage=None,
                                     error={"code": "server_error", "message": message})
        _remember(state, checked, history, response_id, rendered, stored)

    stored.task = asyncio.get_running_loop().create_task(run())
    _keep(state, response_id, stored)
    return web.Response(body=orjson.dumps(queued), content_type=JSON,
                        headers={"x-fake-upstream": state.options.name})


def _find(request: web.Request) -> Stored:
    response_id = request.match_info["response_id"]
    stored = _store(request.app[STATE]).get(response_id)
    if stored is None:
        raise _not_found(response_id)
    return stored


async def retrieve(request: web.Request) -> web.StreamResponse:
    try:
        headers = _headers(request)
        stored = _find(request)
        stream = request.query.get("stream") == "true"
        after = int(request.query.get("starting_after", "-1"))
    except ValueError:
        return openai.rejected(Rejected(400, "Invalid 'starting_after': expected an integer.", "starting_after"),
                               headers)
    except Rejected as exc:
        return openai.rejected(exc, {"x-fake-upstream": request.app[STATE].options.name})
    if not stream:
        return web.Response(body=orjson.dumps(stored.response), content_type=JSON, headers=headers)
    if stored.task is not None and not stored.task.done():
        await asyncio.shield(stored.task)
    response = web.StreamResponse(headers={**headers, **SSE_HEADERS})
    await response.prepare(request)
    await response.write(b"".join(_frames([e for e in stored.events if e["sequence_number"] > after])))
    await response.write_eof()
    return response


async def delete(request: web.Request) -> web.Response:
    try:
        headers = _headers(request)
        _find(request)
    except Rejected as exc:
        return openai.rejected(exc, {"x-fake-upstream": request.app[STATE].options.name})
    response_id = request.match_info["response_id"]
    stored = _store(request.app[STATE]).pop(response_id)
    if stored.task is not None:
        stored.task.cancel()
    return web.Response(body=orjson.dumps({"id": response_id, "object": "response.deleted", "deleted": True}),
                        content_type=JSON, headers=headers)


async def cancel(request: web.Request) -> web.Response:
    try:
        headers = _headers(request)
        stored = _find(request)
        if not stored.response.get("background"):
            raise Rejected(400, "Only responses created with background set to true can be cancelled.")
    except Rejected as exc:
        return openai.rejected(exc, {"x-fake-upstream": request.app[STATE].options.name})
    if stored.task is not None and not stored.task.done():
        stored.task.cancel()
        stored.response = {**stored.response, "status": "cancelled"}
    return web.Response(body=orjson.dumps(stored.response), content_type=JSON, headers=headers)


async def input_items(request: web.Request) -> web.Response:
    try:
        headers = _headers(request)
        stored = _find(request)
        items = list(stored.input_items)
        order = request.query.get("order", "desc")
        if order not in ("asc", "desc"):
            raise Rejected(400, f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'.", "order")
        try:
            limit = int(request.query.get("limit", "20"))
        except ValueError:
            limit = 0
        if not _LIST_LIMIT[0] <= limit <= _LIST_LIMIT[1]:
            raise Rejected(400, f"Invalid 'limit': expected an integer from 1 to 100, got "
                                f"{request.query.get('limit')}.", "limit")
        if order == "desc":
            items.reverse()
        after = request.query.get("after")
        if after is not None:
            ids = [i["id"] for i in items]
            if after not in ids:
                raise Rejected(400, f"Invalid 'after': no item with id '{after}'.", "after")
            items = items[ids.index(after) + 1:]
    except Rejected as exc:
        return openai.rejected(exc, {"x-fake-upstream": request.app[STATE].options.name})
    page = items[:limit]
    body = {"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None, "has_more": len(items) > limit}
    return web.Response(body=orjson.dumps(body), content_type=JSON, headers=headers)


async def input_tokens(request: web.Request) -> web.Response:
    state = request.app[STATE]
    body = request[BODY]
    try:
        headers = _headers(request)
        count = wire.count(body, _history(state, body))
    except Rejected as exc:
        return openai.rejected(exc, {"x-fake-upstream": state.options.name})
    return web.Response(body=orjson.dumps({"object": "response.input_tokens", "input_tokens": count}),
                        content_type=JSON, headers=headers)


async def compact(request: web.Request) -> web.Response:
    """The user messages, then one compaction item whose sealed content stands for everything else."""
    state = request.app[STATE]
    try:
        headers, history, checked = _checked(request)
    except Rejected as exc:
        return openai.rejected(exc, {"x-fake-upstream": state.options.name})
    number = next(state.numbers)
    conversation = history + checked.items
    users = [i for i in wire.item_list(conversation, f"msg_cmp{number}")
             if i.get("type") == "message" and i.get("role") == "user"]
    others = [i for i in conversation if not (i.get("type") == "message" and i.get("role") == "user")]
    compaction = {"id": f"cmp_fake{number}", "type": "compaction", "created_by": "fake",
                  "encrypted_content": wire.seal({"items": len(others)})}
    prompt = answers.tokens(checked.prompt.chars)
    output = answers.tokens(len(compaction["encrypted_content"]))
    usage = {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
             "output_tokens": output, "output_tokens_details": {"reasoning_tokens": 0},
             "total_tokens": prompt + output}
    answer = {"id": f"resp_fake{number}", "object": "response.compaction", "created_at": int(time.time()),
              "output": [*users, compaction], "usage": usage}
    return web.Response(body=orjson.dumps(answer), content_type=JSON, headers=headers)


def add_routes(app: web.Application) -> None:
    for prefix in ("/v1", ""):
        app.router.add_post(prefix + "/responses", create)
        app.router.add_post(prefix + "/responses/input_tokens", input_tokens)
        app.router.add_post(prefix + "/responses/compact", compact)
        app.router.add_get(prefix + "/responses/{response_id}", retrieve)
        app.router.add_delete(prefix + "/responses/{response_id}", delete)
        app.router.add_post(prefix + "/responses/{response_id}/cancel", cancel)
        app.router.add_get(prefix + "/responses/{response_id}/input_items", input_items)
