"""`POST /v1/embeddings`: the OpenAI embeddings surface, served by OpenAI, any OpenAI-compatible
server and Gemini (see `dialects.embeddings` and `dialects.gemini_embeddings`).

Validation is OpenAI's own, before any upstream call: `input` is a string, an array of strings, a
token array or an array of token arrays (none empty, at most 2048 items), `dimensions` a positive
integer, `encoding_format` `float` or `base64`, `user` a string. Other fields pass on as for chat.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from llmswitch.core.operations import EMBEDDINGS
from llmswitch.dialects.embeddings import estimate_input_tokens
from llmswitch.errors import invalid
from llmswitch.surfaces.body import read_json_object
from llmswitch.surfaces.wire import OPENAI
from llmswitch.web.respond import serve

MAX_INPUTS = 2048
ENCODINGS = ("float", "base64")


def _is_tokens(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(type(i) is int and i >= 0 for i in value)


def validate_embeddings_request(body: dict[str, Any]) -> None:
    """Reject what OpenAI itself would reject, naming the parameter (raises a 400 GatewayError)."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid("you must provide a model parameter", param="model", code="missing_required_parameter")
    if "input" not in body:
        raise invalid("Missing required parameter: 'input'.", param="input", code="missing_required_parameter")
    value = body["input"]
    if isinstance(value, str):
        items: list[Any] = [value]
    elif _is_tokens(value):
        items = [value]
    elif isinstance(value, list) and value:
        items = value
    else:
        raise invalid("Invalid 'input': must be a non-empty string or array of strings or of token arrays.",
                      param="input", code="invalid_type")
    if len(items) > MAX_INPUTS:
        raise invalid(f"Invalid 'input': at most {MAX_INPUTS} inputs are allowed.", param="input",
                      code="array_above_max_length")
    for position, item in enumerate(items):
        if not ((isinstance(item, str) and item) or _is_tokens(item)):
            where = f"input[{position}]" if items is value else "input"
            raise invalid(f"Invalid '{where}': each input must be a non-empty string or token array.",
                          param="input", code="invalid_value")
    dimensions = body.get("dimensions")
    if dimensions is not None and (type(dimensions) is not int or dimensions < 1):
        raise invalid(f"Invalid 'dimensions': must be an integer >= 1, got {dimensions!r}.", param="dimensions",
                      code="invalid_value")
    encoding = body.get("encoding_format")
    if encoding is not None and encoding not in ENCODINGS:
        raise invalid(f"Invalid 'encoding_format': {encoding!r}. Supported values are: 'float' and 'base64'.",
                      param="encoding_format", code="invalid_value")
    if body.get("user") is not None and not isinstance(body["user"], str):
        raise invalid("Invalid 'user': must be a string.", param="user", code="invalid_type")


async def embeddings(request: web.Request) -> web.StreamResponse:
    body = await read_json_object(request)
    validate_embeddings_request(body)
    return await serve(request, OPENAI, EMBEDDINGS, body, prompt_estimate=estimate_input_tokens(body))


ROUTES = (("POST", "/embeddings", embeddings, OPENAI),)
