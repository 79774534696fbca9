"""Target selection: weights, priority tiers, strategies, unavailable targets, fallback chains."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from llmswitch.config import Config, parse_config
from llmswitch.core.routing import Router, Target, best_ejected
from llmswitch.providers import build_provider
from llmswitch.providers.base import UpstreamError

PROVIDERS = """
providers:
  a: {type: openai, base_url: "http://a.invalid/v1", api_keys: [ka]}
  b: {type: openai, base_url: "http://b.invalid/v1", api_keys: [kb]}
  c: {type: openai, base_url: "http://c.invalid/v1", api_keys: [kc1, kc2]}
"""


def router(models: str, extra: str = "", seed: int = 7, providers: str = PROVIDERS) -> Router:
    config: Config = parse_config(providers + models + extra)
    providers = {name: build_provider(name, cfg, None) for name, cfg in config.providers.items()}  # type: ignore[arg-type]
    return Router(config, providers, rng=random.Random(seed))


def first_picks(r: Router, model: str, n: int) -> Counter[str]:
    m = r.config.models[model]
    return Counter(r.plan(m).targets[0].provider.name for _ in range(n))


def target(r: Router, model: str, provider: str, key: int = 0) -> Target:
    return next(t for t in r.targets[model] if t.provider.name == provider and t.key_index == key)


def test_weighted_selection_matches_the_weights_within_5_percent() -> None:
    r = router("""
models:
  m:
    - {provider: a, weight: 1}
    - {provider: b, weight: 3}
""")
    picks = first_picks(r, "m", 10_000)
    assert picks["a"] / 10_000 == pytest.approx(0.25, abs=0.05 * 0.25)
    assert picks["b"] / 10_000 == pytest.approx(0.75, abs=0.05 * 0.75)


def test_each_upstream_key_is_its_own_target() -> None:
    r = router("models:\n  m: [{provider: c}]\n")
    assert [t.label for t in r.targets["m"]] == ["c/m#0", "c/m#1"]
    assert len({id(t.health) for t in r.targets["m"]}) == 2


def test_lower_priority_tier_is_tried_first_and_higher_tiers_follow() -> None:
    r = router("""
models:
  m:
    - {provider: a, priority: 1, weight: 100}
    - {provider: b, priority: 0, weight: 1}
""")
    for _ in range(50):
        assert [t.provider.name for t in r.plan(r.config.models["m"]).targets] == ["b", "a"]


def test_unavailable_targets_are_left_out_and_reported() -> None:
    r = router("models:\n  m: [{provider: a}, {provider: b}]\n")
    cooled = target(r, "m", "a")
    cooled.health.begin()
    cooled.health.failed(UpstreamError("http", "slow down", status=429, retry_after=60))
    plan = r.plan(r.config.models["m"])
    assert [t.provider.name for t in plan.targets] == ["b"]
    assert [s.target for s in plan.skipped] == [cooled]


def fail(t: Target, error: UpstreamError) -> None:
    t.health.begin()
    t.health.failed(error)


SERVER_ERROR = UpstreamError("http", "boom", status=500)


def test_best_ejected_is_the_requested_models_preferred_tier_before_any_fallback() -> None:
    r = router("models:\n  m: [{provider: a, priority: 1}, {provider: b, priority: 0}]\n  n: [{provider: c}]\n",
               "routing: {circuit_failures: 1}\nfallbacks: {m: [n]}\n")
    for t in [*r.targets["m"], *r.targets["n"]]:
        fail(t, SERVER_ERROR)
    plan = r.plan(r.config.models["m"])
    pick = best_ejected(plan.skipped)
    assert plan.targets == [] and pick is not None and pick.target.label == "b/m#0"


def test_best_ejected_prefers_the_lower_error_rate_within_a_tier() -> None:
    r = router("models:\n  m: [{provider: a}, {provider: b}]\n", "routing: {circuit_failures: 1}\n")
    a, b = target(r, "m", "a"), target(r, "m", "b")
    b.health.begin()
    b.health.responded(0.1)
    b.health.finished()
    fail(a, SERVER_ERROR)
    fail(b, SERVER_ERROR)
    pick = best_ejected(r.plan(r.config.models["m"]).skipped)
    assert pick is not None and pick.target is b  # b failed one attempt in two, a all of them


@pytest.mark.parametrize("error", [UpstreamError("http", "slow down", status=429, retry_after=60),
                                   UpstreamError("http", "busy", status=503, retry_after=60),
                                   UpstreamError("http", "bad key", status=401)],
                         ids=["429-retry-after", "503-retry-after", "401-key"])
def test_best_ejected_never_overrides_what_the_upstream_asked_for(error: UpstreamError) -> None:
    r = router("models:\n  m: [{provider: a}]\n")
    fail(target(r, "m", "a"), error)
    assert best_ejected(r.plan(r.config.models["m"]).skipped) is None


def test_best_ejected_never_overrides_an_rpm_cap() -> None:
    r = router("models:\n  m: [{provider: a, rpm: 1}]\n")
    target(r, "m", "a").health.begin()
    assert best_ejected(r.plan(r.config.models["m"]).skipped) is None


def test_fallback_models_follow_the_models_own_targets() -> None:
    r = router("models:\n  m: [{provider: a}]\n  n: [{provider: b}]\n", "fallbacks: {m: [n]}\n")
    assert [t.label for t in r.plan(r.config.models["m"]).targets] == ["a/m#0", "b/n#0"]


def test_context_window_chain_is_kept_aside_for_an_overflow() -> None:
    r = router("models:\n  m: [{provider: a}]\n  big: [{provider: b}]\n", "context_window_fallbacks: {m: [big]}\n")
    plan = r.plan(r.config.models["m"])
    assert [t.label for t in plan.targets] == ["a/m#0"]
    assert plan.overflow is not None and [t.label for t in plan.overflow().targets] == ["b/big#0"]


def test_least_busy_prefers_the_target_with_fewest_in_flight() -> None:
    r = router("models:\n  m: {strategy: least_busy, deployments: [{provider: a}, {provider: b}]}\n")
    target(r, "m", "a").health.begin()
    assert first_picks(r, "m", 100) == Counter({"b": 100})


def test_headroom_prefers_the_target_furthest_from_its_caps() -> None:
    r = router("models:\n  m: {strategy: headroom, deployments: [{provider: a, rpm: 10}, {provider: b, rpm: 10}]}\n")
    for _ in range(5):
        target(r, "m", "b").health.begin()
    assert first_picks(r, "m", 100) == Counter({"a": 100})


def test_latency_moves_traffic_to_the_faster_target() -> None:
    r = router("models:\n  m: {strategy: latency, deployments: [{provider: a}, {provider: b}]}\n",
               "routing: {latency_exploration: 0.1}\n")
    for provider, seconds in (("a", 0.400), ("b", 0.050)):
        target(r, "m", provider).health.begin()
        target(r, "m", provider).health.responded(seconds)
    picks = first_picks(r, "m", 2_000)
    assert picks["b"] / 2_000 > 0.9


def test_latency_exploration_lets_a_recovered_target_win_its_traffic_back() -> None:
    r = router("models:\n  m: {strategy: latency, deployments: [{provider: a}, {provider: b}]}\n",
               "routing: {latency_exploration: 0.1}\n")
    speed = {"a": 0.400, "b": 0.100}  # a was slow...
    for t in r.targets["m"]:
        t.health.begin()
        t.health.responded(speed[t.provider.name])
    speed["a"] = 0.010  # ...and has recovered: only exploration can find out
    for _ in range(500):
        chosen = r.plan(r.config.models["m"]).targets[0]
        chosen.health.begin()
        chosen.health.responded(speed[chosen.provider.name])
    last = Counter(r.plan(r.config.models["m"]).targets[0].provider.name for _ in range(200))
    assert last["a"] > 150


def test_per_model_strategy_overrides_the_routing_default() -> None:
    r = router("models:\n  m: {strategy: least_busy, deployments: [{provider: a}, {provider: b, weight: 1000}]}\n",
               "routing: {strategy: weighted}\n")
    target(r, "m", "b").health.begin()
    assert first_picks(r, "m", 50) == Counter({"a": 50})


def test_stored_keys_are_targets_after_the_configured_ones_each_with_its_own_health() -> None:
    r = router("models:\n  m: [{provider: a}]\n")
    r.use_stored_keys({"a": [("upk_1", "stored-1"), ("upk_2", "stored-2")]})
    assert [(t.label, t.api_key) for t in r.targets["m"]] == [
        ("a/m#0", "ka"), ("a/m#upk_1", "stored-1"), ("a/m#upk_2", "stored-2")]
    assert len({id(t.health) for t in r.targets["m"]}) == 3


def test_a_provider_without_configured_keys_uses_only_its_stored_ones() -> None:
    r = router("models:\n  m: [{provider: a}]\n", providers="providers: {a: {type: openai, base_url: 'http://a'}}\n")
    assert [t.api_key for t in r.targets["m"]] == [None]
    r.use_stored_keys({"a": [("upk_1", "stored-1")]})
    assert [t.api_key for t in r.targets["m"]] == ["stored-1"]


def test_removing_a_stored_key_drops_its_target_and_the_others_keep_their_health() -> None:
    r = router("models:\n  m: [{provider: a}]\n")
    r.use_stored_keys({"a": [("upk_1", "stored-1"), ("upk_2", "stored-2")]})
    kept = target(r, "m", "a", key=2)
    kept.health.begin()
    r.use_stored_keys({"a": [("upk_2", "stored-2")]})
    assert [t.label for t in r.targets["m"]] == ["a/m#0", "a/m#upk_2"]
    assert r.targets["m"][1] is kept and kept.health.in_flight == 1


def test_a_targets_repr_never_shows_its_key() -> None:
    r = router("models:\n  m: [{provider: a}]\n")
    r.use_stored_keys({"a": [("upk_1", "sk-stored-secret")]})
    assert "sk-stored-secret" not in repr(r.targets["m"])
