"""`/openai2`: the Responses API for clients of the proxies we replace.

  POST   /openai2                    create: streamed (`stream: true`) or not, background runs too
  POST   /openai2/compact            compact
  POST   /openai2/input_tokens       input_tokens (an empty body is an empty object)
  GET    /openai2/{id}               retrieve (`stream`, `starting_after`, `include` or `include[]`)
  DELETE /openai2/{id}               delete
  GET    /openai2/{id}/input_items   input_items (`limit`, `order`, `after`, `include`)
  POST   /openai2/{id}/cancel        cancel a background run (an empty body is an empty object)

The compat fields (`surfaces.compat.keyed`) travel where those proxies read them: in the body of a
POST, in the query of a GET or DELETE. What is left is served by the Responses surface
(`surfaces.responses`), with a `Caller` made of them: the same checks, store and answers as
/v1/responses. A response belongs to the key that made it, as there: any other key gets a 404, and
the same key sent as a bearer finds it on /v1/responses. A read (GET) forwarded to the upstream that
keeps the response carries the client's query without the compat fields. `project`,
`organization` and an allowed `openai_api_key` go with the calls passed to OpenAI's Responses API
as they are, not with those translated for another API (the core gives a client's headers and key
to upstreams of the client's own dialect only).

Those proxies streamed the Responses API's events as OpenAI streams chat: `data:` lines, ending in
`data: [DONE]`. So do these routes (`surfaces.wire.KEYED_RESPONSES`), for the clients written
against them; the OpenAI SDKs read that framing as they read /v1/responses's `event:` lines.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from llmswitch.surfaces import responses
from llmswitch.surfaces.body import read_json_object
from llmswitch.surfaces.compat.keyed import COMPAT_FIELDS, Keyed, admit, without_compat
from llmswitch.surfaces.responses import Caller
from llmswitch.surfaces.wire import KEYED_RESPONSES


def _caller(keyed: Keyed) -> Caller:
    return Caller(keyed.credentials, keyed.query, keyed.apply, KEYED_RESPONSES)


async def _keyed_body(request: web.Request, may_be_empty: bool = False) -> tuple[dict[str, Any], Caller]:
    """The body without its compat fields, and its caller. MAY_BE_EMPTY: no body is an empty object
    (a cancel or a count carries nothing else those proxies required)."""
    body = {} if may_be_empty and not request.body_exists else await read_json_object(request, any_type=True)
    return body, _caller(await admit(request, body, "body"))


async def _keyed_query(request: web.Request) -> Caller:
    query = request.query
    fields = {name: query[name] for name in COMPAT_FIELDS if name in query}
    return _caller(await admit(request, fields, "query", without_compat(request.query_string)))


async def create(request: web.Request) -> web.StreamResponse:
    body, caller = await _keyed_body(request)
    return await responses.create_response(request, body, caller)


async def compact(request: web.Request) -> web.StreamResponse:
    body, caller = await _keyed_body(request)
    return await responses.compact_response(request, body, caller)


async def input_tokens(request: web.Request) -> web.StreamResponse:
    body, caller = await _keyed_body(request, may_be_empty=True)
    return await responses.count_input_tokens(request, body, caller)


async def retrieve(request: web.Request) -> web.StreamResponse:
    caller = await _keyed_query(request)
    return await responses.retrieve_response(request, request.match_info["response_id"], request.query, caller)


async def delete(request: web.Request) -> web.StreamResponse:
    caller = await _keyed_query(request)
    return await responses.delete_response(request, request.match_info["response_id"], caller)


async def input_items(request: web.Request) -> web.StreamResponse:
    caller = await _keyed_query(request)
    return await responses.list_input_items(request, request.match_info["response_id"], request.query, caller)


async def cancel(request: web.Request) -> web.StreamResponse:
    _, caller = await _keyed_body(request, may_be_empty=True)
    return await responses.cancel_response(request, request.match_info["response_id"], caller)
