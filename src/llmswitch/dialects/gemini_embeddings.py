"""OpenAI embeddings <-> Gemini `embedContent` / `batchEmbedContents`.

One string becomes one EmbedContentRequest (`embedContent`), several a batch of them; the provider
picks the method from the body. `dimensions` becomes `outputDimensionality`, and because Gemini cuts
a vector without scaling it back to unit length (OpenAI's `dimensions` does scale), a shortened
vector is normalised on the way back, so cosine similarity stays a dot product for the client. A
task type (`task_type` or `taskType`, sent by OpenAI clients through `extra_body`) is passed on.
Gemini embeds text only: a token-array input is the client's 400, naming `input`. Gemini reports no
usage, so the answer's usage is the gateway's estimate (the same the meter bills).
"""

from __future__ import annotations

from typing import Any

from llmswitch.dialects import embeddings
from llmswitch.dialects.types import RequestOptions, ResponseContext, Translated
from llmswitch.dialects.usage import Usage
from llmswitch.errors import invalid


def openai_to_gemini_request(body: dict[str, Any], options: RequestOptions) -> Translated:
    texts = embeddings.inputs(body)
    if not all(isinstance(text, str) for text in texts):
        raise invalid("input: this model's provider (Gemini) embeds text only, not token arrays; send the text",
                      param="input", code="unsupported_input")
    model = "models/" + options.upstream_model.removeprefix("models/")
    settings: dict[str, Any] = {}
    for name in embeddings.TASK_TYPE_FIELDS:
        if body.get(name) is not None:
            settings["taskType"] = body[name]
    if body.get("dimensions") is not None:
        settings["outputDimensionality"] = body["dimensions"]
    dropped = ["user"] if body.get("user") is not None else []
    requests = [{"model": model, "content": {"parts": [{"text": text}]}, **settings} for text in texts]
    if isinstance(body.get("input"), str):
        return Translated(requests[0], dropped)
    return Translated({"requests": requests}, dropped)


def gemini_to_openai_response(body: dict[str, Any], ctx: ResponseContext) -> tuple[dict[str, Any], Usage | None]:
    answers = body["embeddings"] if "embeddings" in body else [body["embedding"]]
    request = ctx.request
    shortened = request.get("dimensions") is not None
    base64 = embeddings.wants_base64(request)
    data = []
    for index, answer in enumerate(answers):
        values = [float(v) for v in answer["values"]]
        if shortened:
            values = embeddings.unit_length(values)
        data.append({"object": "embedding", "index": index,
                     "embedding": embeddings.pack(values) if base64 else values})
    completion = {"object": "list", "data": data, "model": ctx.client_model,
                  "usage": embeddings.estimated_usage(request)}
    return completion, None  # no usage from the upstream: the meter bills its estimate
