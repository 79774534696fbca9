"""Google AI Studio (Gemini API): model in the URL, key in `x-goog-api-key`.

Streams are `:streamGenerateContent?alt=sse`: data-only SSE frames, each a whole
GenerateContentResponse and no `[DONE]`, which the base class's default decoder reads as is.
Errors are `{"error": {"code", "message", "status"}}` (sometimes inside a list, which the base
class unwraps); the default `error_message` reads `status` as the error type.
"""

from __future__ import annotations

from urllib.parse import quote

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
