"""What a request costs in USD: a deployment's own `price`, else the config's `prices`, over defaults for
well-known models.

Budgets reserve an expected cost before a call (at the highest price among the targets that may
serve it) and settle the real one after, at the price of the target that served it. Each kind of
input token has its rate: read from the provider's prompt cache (`cached_input`), written to it
(`cache_write`), and the rest (`input`); a provider's bill prices them apart, so the ledger does too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from llmswitch.config import Config, Price
from llmswitch.dialects.usage import Usage

if TYPE_CHECKING:
    from llmswitch.core.routing import Target


def _anthropic(input: float, output: float) -> Price:
    """Anthropic's list price: a cache read costs 0.1x the input price, a (5-minute) cache write 1.25x
    (docs.anthropic.com, "Pricing": the prompt caching multipliers). A 1-hour write costs 2x: usage does
    not tell the two apart, so it is priced as the default, 5-minute one."""
    return Price(input=input, output=output, cached_input=round(input * 0.1, 6),
                 cache_write=round(input * 1.25, 6))


# List prices of the providers' public price pages (see `config.Price` for the units). Matched by
# prefix, the longest first, so dated snapshots (`gpt-4o-2024-08-06`) take their family's price; a
# prefix matches only up to a separator, so `gpt-5` does not price `gpt-5.2`. OpenAI and Google bill
# no premium for writing their caches (`cache_write` unset: the input price).
DEFAULT_PRICES: dict[str, Price] = {
    "gpt-4o": Price(input=2.50, output=10.00, cached_input=1.25),
    "gpt-4o-mini": Price(input=0.15, output=0.60, cached_input=0.075),
    "gpt-4.1": Price(input=2.00, output=8.00, cached_input=0.50),
    "gpt-4.1-mini": Price(input=0.40, output=1.60, cached_input=0.10),
    "gpt-4.1-nano": Price(input=0.10, output=0.40, cached_input=0.025),
    "gpt-5": Price(input=1.25, output=10.00, cached_input=0.125),
    "gpt-5-mini": Price(input=0.25, output=2.00, cached_input=0.025),
    "gpt-5-nano": Price(input=0.05, output=0.40, cached_input=0.005),
    "gpt-5.1": Price(input=1.25, output=10.00, cached_input=0.125),
    "o3": Price(input=2.00, output=8.00, cached_input=0.50),
    "o3-mini": Price(input=1.10, output=4.40, cached_input=0.55),
    "o4-mini": Price(input=1.10, output=4.40, cached_input=0.275),
    "claude-opus-4": _anthropic(15.00, 75.00),  # Opus 4 and 4.1
    "claude-opus-4-5": _anthropic(5.00, 25.00),
    "claude-opus-4-6": _anthropic(5.00, 25.00),
    "claude-sonnet-4": _anthropic(3.00, 15.00),  # Sonnet 4, 4.5, 4.6
    "claude-3-7-sonnet": _anthropic(3.00, 15.00),
    "claude-haiku-4-5": _anthropic(1.00, 5.00),
    "claude-3-5-haiku": _anthropic(0.80, 4.00),
    "claude-3-haiku": _anthropic(0.25, 1.25),
    "gemini-2.5-pro": Price(input=1.25, output=10.00, cached_input=0.125),  # prompts up to 200k tokens
    "gemini-2.5-flash": Price(input=0.30, output=2.50, cached_input=0.03),
    "gemini-2.5-flash-lite": Price(input=0.10, output=0.40, cached_input=0.01),
    "text-embedding-3-small": Price(input=0.02),
    "text-embedding-3-large": Price(input=0.13),
    "text-embedding-ada-002": Price(input=0.10),
    "gemini-embedding-001": Price(input=0.15),
    "whisper-1": Price(audio_minute=0.006),
    "tts-1": Price(characters=15.00),
    "tts-1-hd": Price(characters=30.00),
}
FREE = Price()
SEPARATORS = ("-", "@", ":", "/")  # what may follow a family's name in a model id: a date, a tag


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
            family = max((p for p in DEFAULT_PRICES if _of_family(name, p)), key=len, default=None)
            if family is not None:
                return DEFAULT_PRICES[family]
        return FREE

    def of(self, target: Target) -> Price:
        deployment = target.deployment
        if deployment.price is not None:
            return deployment.price
        return self.price(target.model.name, deployment.model or target.model.name)

    def worst(self, targets: Iterable[Target]) -> Price:
        """The highest price of each kind of token among `targets`: a reservation made at it covers
        whichever of them ends up serving the request."""
        prices = [self.of(target) for target in targets]
        if not prices:
            return FREE
        return Price(input=max(p.input for p in prices), output=max(p.output for p in prices),
                     cached_input=max(_cached_rate(p) for p in prices),
                     cache_write=max(_write_rate(p) for p in prices),
                     audio_minute=max(p.audio_minute for p in prices), characters=max(p.characters for p in prices))


def _of_family(name: str, family: str) -> bool:
    return name.startswith(family) and (len(name) == len(family) or name[len(family)] in SEPARATORS)


def cost(price: Price, usage: Usage) -> float:
    """USD of a call, each unit at its rate; `prompt_tokens` includes the `cached_tokens` (billed at the
    cached rate) and the `cache_write_tokens` (at the cache-write rate)."""
    uncached = max(usage.prompt_tokens - usage.cached_tokens - usage.cache_write_tokens, 0)
    usd = (uncached * price.input + usage.cached_tokens * _cached_rate(price)
           + usage.cache_write_tokens * _write_rate(price) + usage.completion_tokens * price.output) / 1_000_000
    if usage.audio_seconds or usage.characters:
        usd += usage.audio_seconds / 60 * price.audio_minute + usage.characters * price.characters / 1_000_000
    return usd


def _cached_rate(price: Price) -> float:
    return price.cached_input if price.cached_input is not None else price.input


def _write_rate(price: Price) -> float:
    return price.cache_write if price.cache_write is not None else price.input
