"""Each kind of input token at its own rate: cache reads, cache writes and the rest, against prices worked
out by hand from the providers' price pages."""

from __future__ import annotations

import pytest

from llmswitch.config import Price, parse_config
from llmswitch.core.pricing import DEFAULT_PRICES, PriceTable, cost
from llmswitch.core.routing import Router
from llmswitch.dialects.usage import Usage
from llmswitch.providers import build_provider

CONFIG = """
providers: {a: {type: anthropic, base_url: "http://a.invalid"}, o: {type: openai, base_url: "http://o.invalid/v1"}}
models:
  sonnet: [{provider: a, model: claude-sonnet-4-5-20250929}]
  discounted: [{provider: a, model: claude-sonnet-4-5-20250929, price: {input: 1, output: 2, cache_write: 4}}]
  configured: [{provider: o, model: my-model}]
prices: {my-model: {input: 2, output: 8, cached_input: 0.5, cache_write: 3}}
"""


def table_and_targets() -> tuple[PriceTable, Router]:
    config = parse_config(CONFIG)
    providers = {name: build_provider(name, settings, None)  # type: ignore[arg-type]
                 for name, settings in config.providers.items()}
    return PriceTable(config), Router(config, providers)


def test_an_anthropic_call_prices_cache_reads_at_a_tenth_and_writes_at_one_and_a_quarter_of_input() -> None:
    # 1,000 fresh input tokens at $3/M, 10,000 read at $0.30/M, 2,000 written at $3.75/M, 500 out at $15/M
    usage = Usage(prompt_tokens=13_000, completion_tokens=500, cached_tokens=10_000, cache_write_tokens=2_000)
    expected = (1_000 * 3.00 + 10_000 * 0.30 + 2_000 * 3.75 + 500 * 15.00) / 1_000_000
    assert cost(DEFAULT_PRICES["claude-sonnet-4"], usage) == pytest.approx(expected)
    assert expected == pytest.approx(0.021)


def test_an_openai_call_prices_cached_tokens_at_the_cached_rate_and_writes_at_the_input_rate() -> None:
    # gpt-4o: $2.50/M input, $1.25/M cached, $10/M out; OpenAI bills no premium for writing its cache
    usage = Usage(prompt_tokens=5_000, completion_tokens=1_000, cached_tokens=4_000, cache_write_tokens=1_000)
    expected = (1_000 * 2.50 + 4_000 * 1.25 + 1_000 * 10.00) / 1_000_000
    assert cost(DEFAULT_PRICES["gpt-4o"], usage) == pytest.approx(expected)


def test_gemini_cached_content_is_priced_at_its_cached_rate() -> None:
    usage = Usage(prompt_tokens=100_000, completion_tokens=2_000, cached_tokens=80_000)
    expected = (20_000 * 0.30 + 80_000 * 0.03 + 2_000 * 2.50) / 1_000_000
    assert cost(DEFAULT_PRICES["gemini-2.5-flash"], usage) == pytest.approx(expected)


def test_a_dated_snapshot_takes_its_familys_price_but_a_newer_version_does_not() -> None:
    table, _ = table_and_targets()
    assert table.price("x", "claude-opus-4-1-20250805") == DEFAULT_PRICES["claude-opus-4"]
    assert table.price("x", "claude-opus-4-5-20251101").input == 5.00
    assert table.price("x", "o3-mini-2025-01-31") == DEFAULT_PRICES["o3-mini"]
    assert table.price("x", "gpt-5.2").input == 0.0  # not gpt-5's price: unknown, so free until configured


def test_a_deployments_own_price_wins_over_the_configured_and_default_prices() -> None:
    table, router = table_and_targets()
    (sonnet,), (discounted,), (configured,) = (router.targets[name] for name in ("sonnet", "discounted", "configured"))
    assert table.of(sonnet) == DEFAULT_PRICES["claude-sonnet-4"]
    assert table.of(discounted) == Price(input=1, output=2, cache_write=4)
    assert table.of(configured) == Price(input=2, output=8, cached_input=0.5, cache_write=3)
    usage = Usage(prompt_tokens=3_000, completion_tokens=1_000, cached_tokens=1_000, cache_write_tokens=1_000)
    assert cost(table.of(discounted), usage) == pytest.approx((1_000 * 1 + 1_000 * 1 + 1_000 * 4 + 1_000 * 2) / 1e6)


def test_a_reservation_covers_the_dearest_cache_write_among_the_targets() -> None:
    table, router = table_and_targets()
    worst = table.worst(router.targets["sonnet"] + router.targets["configured"])
    assert (worst.input, worst.cached_input, worst.cache_write) == (3.00, 0.5, 3.75)
