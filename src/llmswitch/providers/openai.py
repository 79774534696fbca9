"""Any OpenAI-compatible server: OpenAI, vLLM, Ollama, Groq, DeepSeek, Mistral, OpenRouter...

Configuration only: the paths are OpenAI's under the configured `base_url` (which ends in `/v1`).
A server with the Responses API (the default; `responses_api: false` for chat-only servers) serves
Responses clients at `/responses` as they wrote it, with its sub-operations, and chat in both
dialects: Chat Completions and Messages clients go to `/chat/completions` unless their deployment
answers only on the Responses API (`api: responses`).
"""

from __future__ import annotations

from llmswitch.config import ProviderConfig
from llmswitch.providers.base import Provider
from llmswitch.providers.endpoints import Endpoint
from llmswitch.providers.http import HTTPClient

# Where a server with the Responses API serves it (the chat endpoint in that dialect first).
RESPONSES_ENDPOINTS = (
    Endpoint("chat", "/responses", stream="sse", dialect="responses"),
    Endpoint("count_tokens", "/responses/input_tokens", dialect="responses"),
    Endpoint("compact", "/responses/compact", dialect="responses"),
    Endpoint("response_retrieve", "/responses/{id}", method=b"GET", body="none", stream="sse", dialect="responses",
             query=True),
    Endpoint("response_delete", "/responses/{id}", method=b"DELETE", body="none", dialect="responses"),
    Endpoint("response_cancel", "/responses/{id}/cancel", body="none", dialect="responses"),
    Endpoint("response_input_items", "/responses/{id}/input_items", method=b"GET", body="none",
             dialect="responses", query=True),
)


class OpenAIProvider(Provider):
    dialect = "openai"
    endpoints = (
        Endpoint("chat", "/chat/completions", stream="sse"),
        Endpoint("embeddings", "/embeddings"),
        Endpoint("transcription", "/audio/transcriptions", body="multipart", answer="binary", stream="sse"),
        Endpoint("translation", "/audio/translations", body="multipart", answer="binary"),
        Endpoint("speech", "/audio/speech", answer="binary", stream="sse"),
    )

    def __init__(self, name: str, config: ProviderConfig, client: HTTPClient):
        if config.has_responses_api:
            self.endpoints = type(self).endpoints + RESPONSES_ENDPOINTS
        super().__init__(name, config, client)

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        return {"authorization": f"Bearer {api_key}"} if api_key else {}
