"""The `metrics` section: on and open by default, off or behind the master key when it says so."""

from __future__ import annotations

import pytest

from llmswitch.config import ConfigError, parse_config


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as excinfo:
        parse_config(text, "gw.yaml", env={})
    return [str(p) for p in excinfo.value.problems]


def test_metrics_are_on_and_open_unless_the_config_says_otherwise() -> None:
    metrics = parse_config("{}", env={}).metrics
    assert (metrics.enabled, metrics.require_key) == (True, False)
    assert not parse_config("metrics: {enabled: false}", env={}).metrics.enabled


def test_require_key_without_a_master_key_is_an_error_naming_its_line() -> None:
    assert problems("auth:\n  mode: open\nmetrics:\n  require_key: true\n") == [
        "gw.yaml:4: metrics.require_key: needs auth.master_key (the key a scraper presents)"]


def test_require_key_with_a_master_key_is_accepted() -> None:
    config = parse_config("auth: {master_key: sk-master}\nmetrics: {require_key: true}", env={})
    assert config.metrics.require_key


def test_an_unknown_metrics_key_is_an_error() -> None:
    assert problems("metrics:\n  enable: true\n") == ["gw.yaml:2: metrics.enable: unknown key"]
