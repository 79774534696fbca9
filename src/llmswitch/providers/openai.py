"""Any OpenAI-compatible server: OpenAI, vLLM, Ollama, Groq, DeepSeek, Mistral, OpenRouter..."""

from __future__ import annotations

from llmswitch.providers.base import Provider, UpstreamCall


class OpenAIProvider(Provider):
    dialect = "openai"

    def url(self, call: UpstreamCall) -> str:
        return f"{(self.config.base_url or '').rstrip('/')}/chat/completions"

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        return {"authorization": f"Bearer {api_key}"} if api_key else {}
