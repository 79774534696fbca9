"""Google AI Studio (Gemini API): model in the URL, key in `x-goog-api-key`.

Streams are `:streamGenerateContent?alt=sse`: data-only SSE frames, each a whole
GenerateContentResponse and no `[DONE]`, which the base class's default decoder reads as is.
Errors are `{"error": {"code", "message", "status"}}` (sometimes inside a list, which the base
class unwraps); the default `error_message` reads `status` as the error type. A stream that fails
after its 200 sends the same object as a chunk of its own.
"""

from __future__ import annotations

from typing import Any

from llmswitch.dialects.gemini_response import error_status
from llmswitch.providers.base import Provider, UpstreamCall
from llmswitch.providers.endpoints import Endpoint

EMBED_BATCH = Endpoint("embeddings", "/models/{model}:batchEmbedContents")
EMBED_ONE = Endpoint("embeddings", "/models/{model}:embedContent")  # where a single EmbedContentRequest goes


class GeminiProvider(Provider):
    dialect = "gemini"
    default_base_url = "https://generativelanguage.googleapis.com/v1beta"
    endpoints = (
        Endpoint("chat", "/models/{model}:generateContent", stream="sse",
                 stream_path="/models/{model}:streamGenerateContent?alt=sse"),
        EMBED_BATCH,
    )

    def path(self, endpoint: Endpoint, call: UpstreamCall) -> str:
        """One input is embedded by `embedContent`, several by `batchEmbedContents` (the translation
        writes the body of the one it means)."""
        if endpoint is EMBED_BATCH and "content" in call.body:
            endpoint = EMBED_ONE
        return super().path(endpoint, call)

    def url_model(self, model: str) -> str:
        return model.removeprefix("models/")

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        return {"x-goog-api-key": api_key} if api_key else {}

    def stream_error_status(self, event: dict[str, Any]) -> int | None:
        """A chunk `{"error": {"code", "message", "status"}}` fails the stream with its `code`."""
        error = event.get("error")
        return error_status(error) if error else None
