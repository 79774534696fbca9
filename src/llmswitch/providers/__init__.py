"""Outbound adapters, one module each with the same small interface (see `base.Provider`)."""

from __future__ import annotations

from llmswitch.config import ProviderConfig
from llmswitch.providers.anthropic import AnthropicProvider
from llmswitch.providers.base import Provider
from llmswitch.providers.demo import DemoProvider
from llmswitch.providers.gemini import GeminiProvider
from llmswitch.providers.http import HTTPClient
from llmswitch.providers.openai import OpenAIProvider

PROVIDER_TYPES: dict[str, type[Provider]] = {
    "openai": OpenAIProvider,
    "anthropic": AnthropicProvider,
    "demo": DemoProvider,
    "gemini": GeminiProvider,
}


def build_provider(name: str, config: ProviderConfig, client: HTTPClient) -> Provider:
    return PROVIDER_TYPES[config.type](name, config, client)
