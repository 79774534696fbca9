"""What a request costs in USD: the config's `prices`, over defaults for well-known models.

Budgets reserve an expected cost before a call and settle the real one after, both from here.
"""

from __future__ import annotations

from llmswitch.config import Config, Price
from llmswitch.dialects.usage import Usage

# USD per million tokens, list prices of the providers' public price pages. Matched by prefix, the
# longest first, so dated snapshots (`gpt-4o-2024-08-06`) take their family's price.
DEFAULT_PRICES: dict[str, Price] = {
    "gpt-4o": Price(input=2.50, output=10.00, cached_input=1.25),
    "gpt-4o-mini": Price(input=0.15, output=0.60, cached_input=0.075),
    "gpt-4.1": Price(input=2.00, output=8.00, cached_input=0.50),
    "gpt-4.1-mini": Price(input=0.40, output=1.60, cached_input=0.10),
    "gpt-4.1-nano": Price(input=0.10, output=0.40, cached_input=0.025),
    "o3": Price(input=2.00, output=8.00, cached_input=0.50),
    "o4-mini": Price(input=1.10, output=4.40, cached_input=0.275),
    "claude-opus-4": Price(input=15.00, output=75.00, cached_input=1.50),
    "claude-sonnet-4": Price(input=3.00, output=15.00, cached_input=0.30),
    "claude-3-5-haiku": Price(input=0.80, output=4.00, cached_input=0.08),
    "claude-haiku-4-5": Price(input=1.00, output=5.00, cached_input=0.10),
    "gemini-2.5-pro": Price(input=1.25, output=10.00, cached_input=0.31),
    "gemini-2.5-flash": Price(input=0.30, output=2.50, cached_input=0.075),
}
FREE = Price()


class PriceTable:
    def __init__(self, config: Config):
        self.config = config
        self._cache: dict[str, Price] = {}

    def price(self, model: str) -> Price:
        """The public name's configured price, else its upstream model's, else a default family
        price; free when nothing is known (token budgets still apply)."""
        price = self._cache.get(model)
        if price is None:
            price = self._cache[model] = self._lookup(model)
        return price

    def _lookup(self, model: str) -> Price:
        names = [model]
        resolved = self.config.resolve_model(model)
        if resolved is not None:
            names += [resolved.name] + [d.model for d in resolved.deployments if d.model]
        for name in names:
            if name in self.config.prices:
                return self.config.prices[name]
        for name in names:
            family = max((p for p in DEFAULT_PRICES if name.startswith(p)), key=len, default=None)
            if family is not None:
                return DEFAULT_PRICES[family]
        return FREE

    def cost(self, model: str, usage: Usage) -> float:
        return self.cost_of(model, usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens)

    def cost_of(self, model: str, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> float:
        """USD of a call; `prompt_tokens` includes the `cached_tokens` billed at the cached rate."""
        price = self.price(model)
        cached_rate = price.cached_input if price.cached_input is not None else price.input
        return ((prompt_tokens - cached_tokens) * price.input + cached_tokens * cached_rate
                + completion_tokens * price.output) / 1_000_000

    def estimate(self, model: str, prompt_tokens: int, completion_tokens: int) -> float:
        price = self.price(model)
        return (prompt_tokens * price.input + completion_tokens * price.output) / 1_000_000
