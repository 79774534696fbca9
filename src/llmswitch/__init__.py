"""llmswitch: an LLM API gateway. OpenAI and Anthropic dialects in, any provider out."""

__version__ = "0.1.0"
