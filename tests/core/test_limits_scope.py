"""A key's scope on the models that serve it: the plan keeps only the fallbacks the caller may use,
and a name only `default_model` answers grants nothing."""

from __future__ import annotations

from llmswitch.config import parse_config
from llmswitch.core.auth import Authenticator, Principal
from llmswitch.core.concurrency import ConcurrencyGate
from llmswitch.core.limits import Limiter
from llmswitch.core.pipeline import Pipeline
from llmswitch.core.routing import Router
from llmswitch.core.usage import UsageRecorder
from llmswitch.providers import build_provider

CONFIG = """
providers:
  a: {type: openai, base_url: "http://a.invalid/v1", api_keys: [ka]}
models:
  cheap: [{provider: a}]
  mid: [{provider: a}]
  expensive: [{provider: a}]
aliases: {team-chat: mid}
default_model: expensive
fallbacks: {cheap: [team-chat, expensive]}
context_window_fallbacks: {cheap: [expensive]}
"""


def gateway() -> Pipeline:
    config = parse_config(CONFIG)
    providers = {name: build_provider(name, cfg, None)  # type: ignore[arg-type]
                 for name, cfg in config.providers.items()}
    return Pipeline(config, Authenticator(config), Limiter(config), UsageRecorder(config), ConcurrencyGate(1),
                    Router(config, providers), providers)


def served_by(gw: Pipeline, *allowed: str) -> list[str]:
    assert gw.router is not None
    principal = Principal(kind="key", key_id="k", allowed_models=list(allowed))
    plan = gw.router.plan(gw.config.models["cheap"], "cheap", gw._scope(principal))
    return [t.model.name for t in plan.targets]


def test_every_fallback_serves_a_key_without_a_model_list() -> None:
    assert served_by(gateway()) == ["cheap", "mid", "expensive"]


def test_fallbacks_the_key_may_not_use_are_left_out_of_its_plan() -> None:
    assert served_by(gateway(), "cheap") == ["cheap"]
    assert served_by(gateway(), "cheap", "exp*") == ["cheap", "expensive"]
    assert served_by(gateway(), "cheap", "mid") == ["cheap", "mid"]  # allowed the model an alias names


def test_a_fallback_is_allowed_through_an_alias_the_key_may_use() -> None:
    assert served_by(gateway(), "cheap", "team-*") == ["cheap", "mid"]


def test_the_context_window_chain_is_filtered_too() -> None:
    gw = gateway()
    assert gw.router is not None
    principal = Principal(kind="key", key_id="k", allowed_models=["cheap"])
    assert gw.router.plan(gw.config.models["cheap"], "cheap", gw._scope(principal)).overflow is None


def test_a_name_only_the_default_model_answers_grants_nothing() -> None:
    gw = gateway()
    principal = Principal(kind="key", key_id="k", allowed_models=["gpt-4o-mini*"])
    assert not gw._may_use(principal, "gpt-4o-mini-unknown")
    assert gw._may_use(Principal(kind="key", key_id="k", allowed_models=["team-*"]), "team-chat")
