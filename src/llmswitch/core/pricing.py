"""What a request costs in USD: the config's `prices`, over defaults for well-known models.

Budgets reserve an expected cost before a call (at the highest price among the targets that may
serve it) and settle the real one after, at the price of the target that served it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from llmswitch.config import Config, Price
from llmswitch.dialects.usage import Usage

if TYPE_CHECKING:
    from llmswitch.core.routing import Target

# List prices of the providers' public price pages (see `config.Price` for the units). Matched by
# prefix, the longest first, so dated snapshots (`gpt-4o-2024-08-06`) take their family's price.
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
    "text-embedding-3-small": Price(input=0.02),
    "text-embedding-3-large": Price(input=0.13),
    "text-embedding-ada-002": Price(input=0.10),
    "gemini-embedding-001": Price(input=0.15),
    "whisper-1": Price(audio_minute=0.006),
    "tts-1": Price(characters=15.00),
    "tts-1-hd": Price(characters=30.00),
}
FREE = Price()


class PriceTable:
    def __init__(self, config: Config):
        self.config = config
        self._cache: dict[tuple[str, str], Price] = {}

    def price(self, model: str, upstream: str) -> Price:
        """What a call costs when the public model `model` is served by its deployment of the
        upstream model id `upstream`: the configured price of the upstream id, else of the public
        name, else a default family price of either; free when nothing is known (token budgets
        still apply). Priced per deployment, so a model whose tiers reach different upstream models
        (or a fallback to another model) costs what actually served it."""
        price = self._cache.get((model, upstream))
        if price is None:
            price = self._cache[(model, upstream)] = self._lookup((upstream, model))
        return price

    def _lookup(self, names: tuple[str, str]) -> Price:
        for name in names:
            if name in self.config.prices:
                return self.config.prices[name]
        for name in names:
            family = max((p for p in DEFAULT_PRICES if name.startswith(p)), key=len, default=None)
            if family is not None:
                return DEFAULT_PRICES[family]
        return FREE

    def of(self, target: Target) -> Price:
        return self.price(target.model.name, target.deployment.model or target.model.name)

    def worst(self, targets: Iterable[Target]) -> Price:
        """The highest price of each kind of token among `targets`: a reservation made at it covers
        whichever of them ends up serving the request."""
        prices = [self.of(target) for target in targets]
        if not prices:
            return FREE
        return Price(input=max(p.input for p in prices), output=max(p.output for p in prices),
                     cached_input=max(_cached_rate(p) for p in prices),
                     audio_minute=max(p.audio_minute for p in prices), characters=max(p.characters for p in prices))


def cost(price: Price, usage: Usage) -> float:
    """USD of a call, each unit at its rate; `prompt_tokens` includes the `cached_tokens` billed at the
    cached rate."""
    usd = ((usage.prompt_tokens - usage.cached_tokens) * price.input + usage.cached_tokens * _cached_rate(price)
           + usage.completion_tokens * price.output) / 1_000_000
    if usage.audio_seconds or usage.characters:
        usd += usage.audio_seconds / 60 * price.audio_minute + usage.characters * price.characters / 1_000_000
    return usd


def _cached_rate(price: Price) -> float:
    return price.cached_input if price.cached_input is not None else price.input
