"""Any OpenAI-compatible server: OpenAI, vLLM, Ollama, Groq, DeepSeek, Mistral, OpenRouter...

Configuration only: the paths are OpenAI's under the configured `base_url` (which ends in `/v1`).
"""

from __future__ import annotations

from llmswitch.providers.base import Provider
from llmswitch.providers.endpoints import Endpoint


class OpenAIProvider(Provider):
    dialect = "openai"
    endpoints = (
        Endpoint("chat", "/chat/completions", stream="sse"),
        Endpoint("embeddings", "/embeddings"),
        Endpoint("transcription", "/audio/transcriptions", body="multipart", answer="binary", stream="sse"),
        Endpoint("translation", "/audio/translations", body="multipart", answer="binary"),
        Endpoint("speech", "/audio/speech", answer="binary", stream="sse"),
    )

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        return {"authorization": f"Bearer {api_key}"} if api_key else {}
