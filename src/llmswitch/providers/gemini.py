"""Google AI Studio (Gemini API): model in the URL, key in `x-goog-api-key`.

Streams are `:streamGenerateContent?alt=sse`: data-only SSE frames, each a whole
GenerateContentResponse and no `[DONE]`, which the base class's default decoder reads as is.
Errors are `{"error": {"code", "message", "status"}}` (sometimes inside a list, which the base
class unwraps); the default `error_message` reads `status` as the error type. A stream that fails
after its 200 sends the same object as a chunk of its own.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from llmswitch.dialects.gemini_response import error_status
from llmswitch.providers.base import Provider, UpstreamCall

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com/v1beta"


class GeminiProvider(Provider):
    dialect = "gemini"

    def url(self, call: UpstreamCall) -> str:
        base = (self.config.base_url or DEFAULT_BASE_URL).rstrip("/")
        model = quote((call.deployment.model or "").removeprefix("models/"), safe="-._~")
        if call.stream:
            return f"{base}/models/{model}:streamGenerateContent?alt=sse"
        return f"{base}/models/{model}:generateContent"

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        return {"x-goog-api-key": api_key} if api_key else {}

    def stream_error_status(self, event: dict[str, Any]) -> int | None:
        """A chunk `{"error": {"code", "message", "status"}}` fails the stream with its `code`."""
        error = event.get("error")
        return error_status(error) if error else None
