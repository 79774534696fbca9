"""What a request is billed however it ends (`Meter.bill`), and at which price (`PriceTable`)."""

from __future__ import annotations

import pytest

from llmswitch.config import Price, parse_config
from llmswitch.core.metering import Meter
from llmswitch.core.pricing import PriceTable, cost
from llmswitch.core.routing import Router, Target
from llmswitch.dialects.usage import Usage
from llmswitch.providers import build_provider

CONFIG = """
providers:
  a: {type: openai, base_url: "http://a.invalid/v1", api_keys: [ka]}
models:
  cheap: [{provider: a, model: tiny-1}]
  pricey: [{provider: a, model: big-1}]
  mixed:
    - {provider: a, model: small-1}
    - {provider: a, model: claude-sonnet-4-5, priority: 1}
  dated: [{provider: a, model: gpt-4o-2024-08-06}]
prices:
  cheap: {input: 1, output: 2}
  pricey: {input: 10, output: 40, cached_input: 5}
  small-1: {input: 0.5, output: 1}
"""


@pytest.fixture(scope="module")
def router() -> Router:
    config = parse_config(CONFIG)
    providers = {name: build_provider(name, cfg, None) for name, cfg in config.providers.items()}  # type: ignore[arg-type]
    return Router(config, providers)


def target(router: Router, model: str, upstream: str | None = None) -> Target:
    return next(t for t in router.targets[model] if upstream is None or t.deployment.model == upstream)


def meter(target: Target | None = None) -> Meter:
    m = Meter(prompt_estimate=100, reserved_output=500)
    if target is not None:
        m.trying(target)
    return m


# --- what is billed ---------------------------------------------------------------------------------
def test_a_whole_answer_is_billed_at_the_usage_the_upstream_reported(router: Router) -> None:
    m = meter()
    m.answered(target(router, "cheap"))
    m.usage, m.complete = Usage(prompt_tokens=90, completion_tokens=7), True
    assert m.bill() == Usage(prompt_tokens=90, completion_tokens=7)


def test_a_whole_answer_the_upstream_did_not_count_is_billed_at_the_estimates(router: Router) -> None:
    m = meter()
    m.answered(target(router, "cheap"))
    m.complete, m.output_size = True, 40
    assert m.bill() == Usage(prompt_tokens=100, completion_tokens=10)


def test_a_stream_cut_short_is_billed_at_what_was_counted_and_at_least_the_output_sent(router: Router) -> None:
    m = meter()
    m.answered(target(router, "cheap"))
    m.usage, m.output_size = Usage(prompt_tokens=80, completion_tokens=1), 400  # Anthropic's message_start
    m.interrupted(499)
    assert (m.bill(), m.status) == (Usage(prompt_tokens=80, completion_tokens=100), 499)


def test_a_stream_cut_before_any_usage_is_billed_at_the_prompt_estimate_and_the_output_sent(router: Router) -> None:
    m = meter()
    m.answered(target(router, "cheap"))
    m.output_size = 41
    m.interrupted(499)
    assert m.bill() == Usage(prompt_tokens=100, completion_tokens=11)


def test_a_client_leaving_while_an_upstream_works_is_billed_its_reservation(router: Router) -> None:
    m = meter(target(router, "cheap"))
    m.interrupted(499)
    assert (m.bill(), m.status) == (Usage(prompt_tokens=100, completion_tokens=500), 499)


def test_a_request_every_upstream_failed_is_billed_nothing(router: Router) -> None:
    m = meter(target(router, "cheap"))
    m.failed(502)
    assert (m.bill(), m.status, m.target) == (None, 502, None)


def test_leaving_after_a_whole_answer_keeps_its_status_and_its_usage(router: Router) -> None:
    m = meter()
    m.answered(target(router, "cheap"))
    m.usage, m.complete = Usage(prompt_tokens=3, completion_tokens=4), True
    m.interrupted(499)
    assert (m.bill(), m.status) == (Usage(prompt_tokens=3, completion_tokens=4), 200)


def test_counts_of_the_wrong_type_from_an_upstream_bill_as_zero_and_the_estimates(router: Router) -> None:
    m = meter()
    m.answered(target(router, "cheap"))
    m.usage = Usage(prompt_tokens="x", completion_tokens=-5, cached_tokens=1.5)  # type: ignore[arg-type]
    assert m.bill() == Usage(prompt_tokens=100, completion_tokens=0)


# --- at which price -----------------------------------------------------------------------------------
def test_a_call_is_priced_at_the_model_that_served_it(router: Router) -> None:
    prices = PriceTable(router.config)
    assert prices.of(target(router, "pricey")) == Price(input=10, output=40, cached_input=5)
    assert prices.of(target(router, "cheap")) == Price(input=1, output=2)


def test_an_upstream_model_priced_in_the_config_wins_over_its_public_name(router: Router) -> None:
    prices = PriceTable(router.config)
    assert prices.of(target(router, "mixed", "small-1")) == Price(input=0.5, output=1)


def test_a_tier_reaching_another_upstream_model_costs_that_models_price(router: Router) -> None:
    prices = PriceTable(router.config)
    assert prices.of(target(router, "mixed", "claude-sonnet-4-5")).output == 15.0  # the default family price
    assert prices.of(target(router, "dated")).input == 2.5  # gpt-4o's


def test_a_reservation_is_priced_at_the_highest_price_of_each_kind_of_token(router: Router) -> None:
    prices = PriceTable(router.config)
    worst = prices.worst([target(router, "cheap"), target(router, "pricey")])
    assert worst == Price(input=10, output=40, cached_input=5, cache_write=10)  # unset: the input price
    assert cost(worst, Usage(prompt_tokens=1_000_000, completion_tokens=1_000_000)) == 50.0


def test_cached_prompt_tokens_are_billed_at_the_cached_rate() -> None:
    price = Price(input=10, output=40, cached_input=5)
    assert cost(price, Usage(prompt_tokens=1_000_000, completion_tokens=0, cached_tokens=500_000)) == 7.5
