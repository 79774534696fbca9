"""Embeddings as OpenAI (`POST /v1/embeddings`) and Gemini (`:embedContent`, `:batchEmbedContents`) serve them.

A vector is derived from its input text alone: the first `native` numbers of a stream seeded by
the text's SHA-256, scaled to unit length, rounded to float32. So the same text gives the same
vector through any path, a test can compute the expected vector with `vector()`, and base64 and
float answers decode to identical numbers. The native size depends on the model (the real
models' sizes for their names, `DEFAULT_DIMENSIONS` for any other name). OpenAI's `dimensions`
keeps the first numbers and scales them to unit length again, as text-embedding-3 does;
Gemini's `outputDimensionality` only cuts, as the real API does (its shorter vectors are not
normalised). Token arrays are hashed by their ids.

Directives come from the `x-fake` header and a `!fake{...}` in the first input text (cut out
before the text is embedded); the faults before an answer apply (status, retry_after, hang_s,
fail_first; reset_after drops the connection) and `usage.prompt` sets the prompt tokens.
"""

from __future__ import annotations

import array
import base64
import functools
import hashlib
import math
import random
import sys
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from llmswitch.fake_upstream import answer as answers
from llmswitch.fake_upstream import gemini, openai
from llmswitch.fake_upstream.dialect import Rejected
from llmswitch.fake_upstream.directives import Directive, DirectiveError
from llmswitch.fake_upstream.faults import abort
from llmswitch.fake_upstream.handling import BODY, JSON, STATE, ErrorRenderer, before_answer, directive_of, error

DEFAULT_DIMENSIONS = 8
NATIVE_DIMENSIONS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072,
                     "text-embedding-ada-002": 1536, "gemini-embedding-001": 3072, "text-embedding-004": 768,
                     "embedding-001": 768}
_FIXED_SIZE = {"text-embedding-ada-002", "embedding-001"}  # models that refuse a shorter size
_OPENAI_FIELDS = {"input", "model", "dimensions", "encoding_format", "user"}
_MAX_INPUTS = 2048
_INVALID_INPUT = "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference."
_GEMINI_FIELDS = {"model", "content", "taskType", "task_type", "title", "outputDimensionality",
                  "output_dimensionality"}
_TASK_TYPES = {"TASK_TYPE_UNSPECIFIED", "RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT", "SEMANTIC_SIMILARITY",
               "CLASSIFICATION", "CLUSTERING", "QUESTION_ANSWERING", "FACT_VERIFICATION", "CODE_RETRIEVAL_QUERY"}


def native_dimensions(model: str) -> int:
    return NATIVE_DIMENSIONS.get(model.removeprefix("models/"), DEFAULT_DIMENSIONS)


@functools.lru_cache(maxsize=1024)
def _stream(text: str, native: int) -> tuple[float, ...]:
    """The text's raw numbers; cached because a benchmark sends the same texts again (1536 cost ~0.3 ms)."""
    rng = random.Random(hashlib.sha256(text.encode()).digest())
    return tuple(rng.random() * 2 - 1 for _ in range(native))


def vector(text: str, native: int, size: int | None = None, *, renormalise: bool = True) -> list[float]:
    """The embedding of `text` for a model of `native` size, cut to `size` (float32 values as Python floats)."""
    values = _stream(text, native)
    kept = values[:size] if size else values
    norm = math.sqrt(sum(v * v for v in (kept if renormalise else values))) or 1.0
    return array.array("f", [v / norm for v in kept]).tolist()


def packed(values: list[float]) -> str:
    """Base64 of little-endian float32, what openai-python decodes when it asked for base64."""
    data = array.array("f", values)
    if sys.byteorder == "big":
        data.byteswap()
    return base64.b64encode(data.tobytes()).decode()


@dataclass(slots=True)
class _Input:
    text: str  # what is hashed: the text, or the token ids
    tokens: int
    is_text: bool = True


def _token_text(ids: list[int]) -> str:
    return "\x00tokens:" + ",".join(map(str, ids))


def _is_ids(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in value)


def _openai_inputs(value: Any, token_arrays: bool) -> list[_Input]:
    if isinstance(value, str):
        items: list[Any] = [value]
    elif isinstance(value, list) and value and all(isinstance(i, int) and not isinstance(i, bool) for i in value):
        items = [value]  # one token array
    elif isinstance(value, list) and value:
        items = value
    else:
        raise Rejected(400, _INVALID_INPUT, "input")
    if len(items) > _MAX_INPUTS:
        raise Rejected(400, f"Too many inputs. The max number of inputs is {_MAX_INPUTS}.", "input")
    out = []
    for item in items:
        if isinstance(item, str) and item:
            out.append(_Input(item, answers.tokens(len(item))))
        elif _is_ids(item):
            if not token_arrays:
                raise Rejected(400, "input: token arrays are not supported by this server; send text", "input")
            out.append(_Input(_token_text(item), len(item), is_text=False))
        else:
            raise Rejected(400, _INVALID_INPUT, "input")
    return out


def _openai_size(body: dict[str, Any], model: str) -> int | None:
    size = body.get("dimensions")
    if size is None:
        return None
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise Rejected(400, f"Invalid value for 'dimensions' = {size}. Must be greater than or equal to 1.",
                       "dimensions")
    if model in _FIXED_SIZE:
        raise Rejected(400, "This model does not support specifying dimensions.", "dimensions")
    native = native_dimensions(model)
    if size > native:
        raise Rejected(400, f"This model's maximum dimensions is {native}; {size} was asked.", "dimensions")
    return size


def _openai_check(body: Any, token_arrays: bool) -> tuple[list[_Input], str, int | None]:
    model = openai.checked_model(body, _OPENAI_FIELDS)
    if "input" not in body:
        raise Rejected(400, "Missing required parameter: 'input'.", "input")
    encoding = body.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        raise Rejected(400, f"Invalid value: '{encoding}'. Supported values are: 'float' and 'base64'.",
                       "encoding_format")
    if "user" in body and not isinstance(body["user"], str):
        raise Rejected(400, "Invalid type for 'user': expected a string.", "user")
    return _openai_inputs(body["input"], token_arrays), model, _openai_size(body, model)


async def _obey(request: web.Request, text: str, headers: dict[str, str],
                render: ErrorRenderer) -> tuple[str, Directive, web.Response | None]:
    """The first text without its directive, the directive, and the answer a fault gives instead."""
    stripped, directive = directive_of(request, text)
    directive, refused = await before_answer(request, directive, headers, render)
    if refused is None and directive.reset_after is not None:
        abort(request)
    return stripped, directive, refused


async def _openai_request(request: web.Request) -> tuple[tuple[list[_Input], str, int | None], str]:
    """The checked inputs, model and size; a directive rides in the first input, if it is text."""
    checked = _openai_check(request[BODY], request.app[STATE].options.token_arrays)
    first = checked[0][0]
    return checked, first.text if first.is_text else ""


async def _openai_answer(request: web.Request, headers: dict[str, str], checked: tuple[list[_Input], str, int | None],
                         stripped: str, directive: Directive) -> web.StreamResponse:
    if directive.reset_after is not None:
        abort(request)
    inputs, model, size = checked
    if inputs[0].is_text:
        inputs[0].text = stripped
    native = native_dimensions(model)
    base64_wanted = request[BODY].get("encoding_format") == "base64"
    data = []
    for index, item in enumerate(inputs):
        values = vector(item.text, native, size)
        data.append({"object": "embedding", "index": index, "embedding": packed(values) if base64_wanted else values})
    prompt = sum(i.tokens for i in inputs)
    if directive.usage and "prompt" in directive.usage:
        prompt = directive.usage["prompt"]
    answer = {"object": "list", "data": data, "model": model,
              "usage": {"prompt_tokens": prompt, "total_tokens": prompt}}
    return web.Response(body=orjson.dumps(answer), content_type=JSON, headers=headers)


openai_embeddings = openai.operation(_openai_request, _openai_answer)


def _gemini_request(request: dict[str, Any] | Any, at: str) -> tuple[str, str | None, int | None]:
    """Check one EmbedContentRequest; its text, the model it names and its output size."""
    if not isinstance(request, dict):
        raise Rejected(400, f"Invalid JSON payload received. Expected an object at '{at}'.")
    for name in request:
        if name not in _GEMINI_FIELDS:
            raise gemini.unknown_field(name, at or None)
    content = request.get("content")
    if not isinstance(content, dict):
        raise Rejected(400, f"* {at or 'EmbedContentRequest'}.content: content is not specified")
    parts = content.get("parts")
    if not isinstance(parts, list) or not parts:
        raise Rejected(400, f"* {at or 'EmbedContentRequest'}.content.parts: contents.parts must not be empty.")
    text = "".join(p.get("text", "") for p in parts if isinstance(p, dict))
    if not text:
        raise Rejected(400, "Request contains an invalid argument.")
    task = request.get("taskType", request.get("task_type"))
    if task is not None and task not in _TASK_TYPES:
        raise Rejected(400, f"Invalid value at '{at + '.' if at else ''}task_type' "
                            f"(type.googleapis.com/google.ai.generativelanguage.v1beta.TaskType), \"{task}\"")
    size = request.get("outputDimensionality", request.get("output_dimensionality"))
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 1):
        raise Rejected(400, f"Invalid value at '{at + '.' if at else ''}output_dimensionality' (TYPE_INT32), {size}")
    model = request.get("model")
    return text, model if isinstance(model, str) else None, size


def _gemini_values(text: str, model: str, size: int | None) -> dict[str, list[float]]:
    native = native_dimensions(model)
    if size is not None and size > native:
        raise Rejected(400, f"outputDimensionality {size} is larger than the model's {native} dimensions.")
    return {"values": vector(text, native, size, renormalise=False)}


def _gemini_handler(batch: bool) -> Any:
    async def handle(request: web.Request) -> web.StreamResponse:
        options = request.app[STATE].options
        headers = {"x-fake-upstream": options.name}
        render = gemini.error_body
        body = request[BODY]
        model = request.match_info["model"]
        try:
            if options.require_auth:
                gemini.require_key(request)
            if not isinstance(body, dict):
                raise Rejected(400, "Invalid JSON payload received.")
            if batch:
                for name in body:
                    if name != "requests":
                        raise gemini.unknown_field(name)
                items = body.get("requests")
                if not isinstance(items, list) or not items:
                    raise Rejected(400, "* BatchEmbedContentsRequest.requests: requests is not specified")
                checked = [_gemini_request(item, f"requests[{i}]") for i, item in enumerate(items)]
                for i, (_, named, _) in enumerate(checked):
                    if named != f"models/{model}":
                        raise Rejected(400, f"* BatchEmbedContentsRequest.requests[{i}].model: the model of each "
                                            f"request must be the batch's model models/{model}, not {named}")
            else:
                checked = [_gemini_request(body, "")]
            stripped, _, refused = await _obey(request, checked[0][0], headers, render)
            if refused is not None:
                return refused
            texts = [stripped] + [text for text, _, _ in checked[1:]]
            values = [_gemini_values(text, model, size) for text, (_, _, size) in zip(texts, checked)]
        except Rejected as exc:
            return error(render, exc.status, exc.message, headers)
        except DirectiveError as exc:
            return error(render, 400, str(exc), headers)
        answer = {"embeddings": values} if batch else {"embedding": values[0]}
        return web.Response(body=orjson.dumps(answer), content_type=JSON, headers=headers)

    return handle


GEMINI_METHODS = {"embedContent": _gemini_handler(batch=False), "batchEmbedContents": _gemini_handler(batch=True)}
