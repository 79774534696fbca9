"""`POST /embeddings`: embeddings for clients of the proxies we replace.

The body is OpenAI's embeddings request (`input`, `model`, `dimensions`, `encoding_format`, `user`;
other fields are ignored, as they were there) plus the compat fields (`surfaces.compat.keyed`).
Without a `model` it asks for `text-embedding-3-large`, the name those proxies used, which the
config serves like any other name (a model, an alias, or `default_model`).
"""

from __future__ import annotations

from aiohttp import web

from llmswitch.core.operations import EMBEDDINGS
from llmswitch.dialects.embeddings import estimate_input_tokens
from llmswitch.surfaces.body import read_json_object
from llmswitch.surfaces.compat.keyed import admit, serve
from llmswitch.surfaces.embeddings import validate_embeddings_request

FIELDS = ("input", "model", "dimensions", "encoding_format", "user")
DEFAULT_MODEL = "text-embedding-3-large"


async def embeddings(request: web.Request) -> web.StreamResponse:
    body = await read_json_object(request, any_type=True)
    keyed = await admit(request, body, "body")
    payload = {name: body[name] for name in FIELDS if name in body}
    if payload.get("model") is None:
        payload["model"] = DEFAULT_MODEL
    validate_embeddings_request(payload)
    return await serve(request, keyed, EMBEDDINGS, payload, prompt_estimate=estimate_input_tokens(payload))
