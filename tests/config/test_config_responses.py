"""The Responses API settings: which servers have it, which deployments answer only there, the store."""

from __future__ import annotations

import pytest

from llmswitch.config import ConfigError, parse_config


def config(provider: str, deployment: str = "", responses: str = "") -> str:
    return f"""\
providers:
  up:
    base_url: http://127.0.0.1:9/v1
{provider}
models:
  m:
    - provider: up
{deployment}
{responses}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as excinfo:
        parse_config(text, "gw.yaml", env={})
    return [str(p) for p in excinfo.value.problems]


def test_an_openai_provider_has_the_responses_api_unless_it_says_otherwise() -> None:
    assert parse_config(config("    type: openai"), env={}).providers["up"].has_responses_api
    chat_only = parse_config(config("    type: openai\n    responses_api: false"), env={})
    assert not chat_only.providers["up"].has_responses_api


def test_responses_api_on_a_provider_of_another_type_is_an_error_naming_its_line() -> None:
    assert problems(config("    type: anthropic\n    responses_api: true")) == [
        "gw.yaml:5: providers.up.responses_api: only a provider of type openai may set it"]


def test_a_responses_only_deployment_needs_a_provider_with_the_responses_api() -> None:
    text = config("    type: openai\n    responses_api: false", "      api: responses")
    assert problems(text) == ["gw.yaml:9: models.m[0].api: provider 'up' has no Responses API (it needs type "
                              "openai without responses_api: false)"]
    ok = parse_config(config("    type: openai", "      api: responses"), env={})
    assert ok.models["m"].deployments[0].api == "responses"


def test_the_response_store_settings_have_defaults_and_bounds() -> None:
    default = parse_config(config("    type: openai"), env={}).responses
    assert (default.store, default.retention_days, default.memory_limit) == ("auto", 30.0, 1000)
    set_ = parse_config(config("    type: openai", responses="responses: {store: memory, retention_days: 2}"),
                        env={}).responses
    assert (set_.store, set_.retention_days) == ("memory", 2.0)
    assert problems(config("    type: openai", responses="responses: {retention_days: 0}")) == [
        "gw.yaml:9: responses.retention_days: Expected float > 0.0"]
