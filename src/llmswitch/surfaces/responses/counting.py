"""`POST /v1/responses/input_tokens` and `POST /v1/responses/compact`, on the conversation resolved as
for a create (`create.resolve`).

input_tokens is counted by the model's targets that can count: an OpenAI deployment with the
Responses API (forwarded), an Anthropic one (its `count_tokens`, the request translated as a
create would be). Where none can, or all failed on their side, the gateway estimates it (four bytes
of text a token) and says so: `"estimated": true` beside the count. Counting is unmetered: the
key's rpm and concurrency count it, no budget does.

compact is forwarded to an OpenAI deployment with the Responses API; a model served by none gets a
400 that names the limitation, in OpenAI's shape.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from llmswitch.core.operations import COMPACT, COUNT_TOKENS
from llmswitch.dialects.estimate import responses_input_tokens
from llmswitch.dialects.responses_request import validate_request
from llmswitch.errors import GatewayError, invalid
from llmswitch.surfaces.body import read_json_object
from llmswitch.surfaces.responses.common import Caller, answer, caller_of, core_request, gateway_of
from llmswitch.surfaces.responses.create import resolve


def _estimate(body: dict[str, Any]) -> dict[str, Any]:
    return {"object": "response.input_tokens", "input_tokens": responses_input_tokens(body), "estimated": True}


async def count_input_tokens(request: web.Request, body: dict[str, Any], caller: Caller | None = None
                             ) -> web.StreamResponse:
    caller = caller or caller_of(request)
    validate_request(body)
    conversation = await resolve(gateway_of(request), body, caller)
    req = core_request(request, caller, COUNT_TOKENS, conversation.body, fallback=_estimate,
                       narrow=conversation.narrow)
    return await answer(request, req)


async def compact_response(request: web.Request, body: dict[str, Any], caller: Caller | None = None
                           ) -> web.StreamResponse:
    caller = caller or caller_of(request)
    validate_request(body)
    conversation = await resolve(gateway_of(request), body, caller)
    req = core_request(request, caller, COMPACT, conversation.body, narrow=conversation.narrow)
    try:
        return await answer(request, req)
    except GatewayError as error:
        if error.code != "unsupported_operation":
            raise
        raise invalid(f"Compaction is not available for model `{body['model']}`: only an OpenAI deployment with "
                      "the Responses API compacts a conversation, and this model is served by none.",
                      param="model", code="unsupported_operation") from None


async def input_tokens_route(request: web.Request) -> web.StreamResponse:
    return await count_input_tokens(request, await read_json_object(request))


async def compact_route(request: web.Request) -> web.StreamResponse:
    return await compact_response(request, await read_json_object(request))
