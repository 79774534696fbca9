"""The OpenAI Responses API surface: `POST /v1/responses` and its sub-operations, on any model.

- `create`: the create route, the conversation resolved from the gateway's store, background runs.
- `stored`: retrieve (also as a stream), delete, cancel, input_items.
- `counting`: input_tokens and compact.
- `capture`: the responder that sees each answer go by, for the store; `common`: what they share.

Each route's work is a public function of the web request and what the client sent, with a
`Caller` for where its credentials come from (`common.Caller`), for surfaces that read them
elsewhere.
"""

from __future__ import annotations

from llmswitch.surfaces.responses.common import Caller
from llmswitch.surfaces.responses.counting import (compact_response, compact_route, count_input_tokens,
                                                   input_tokens_route)
from llmswitch.surfaces.responses.create import create_response, create_route
from llmswitch.surfaces.responses.stored import (cancel_response, cancel_route, delete_response, delete_route,
                                                 input_items_route, list_input_items, retrieve_response,
                                                 retrieve_route)
from llmswitch.surfaces.wire import RESPONSES

ROUTES = (
    ("POST", "/responses", create_route, RESPONSES),
    ("POST", "/responses/input_tokens", input_tokens_route, RESPONSES),
    ("POST", "/responses/compact", compact_route, RESPONSES),
    ("GET", "/responses/{response_id}", retrieve_route, RESPONSES),
    ("DELETE", "/responses/{response_id}", delete_route, RESPONSES),
    ("POST", "/responses/{response_id}/cancel", cancel_route, RESPONSES),
    ("GET", "/responses/{response_id}/input_items", input_items_route, RESPONSES),
)

__all__ = ["ROUTES", "Caller", "cancel_response", "compact_response", "count_input_tokens", "create_response",
           "delete_response", "list_input_items", "retrieve_response"]
