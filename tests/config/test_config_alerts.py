"""The `alerts` section: what loads, and the file:line:key problems of what does not (never quoting
the webhook's URL or secret, which may be credentials)."""

from __future__ import annotations

import pytest

from llmswitch.config import ConfigError, parse_config

BASE = """\
auth: {master_key: sk-master-config}
providers: {up: {type: openai, base_url: "http://127.0.0.1:9/v1"}}
models: {gpt-4o: [{provider: up}]}
alerts:
  webhook:
    url: ${HOOK_URL}
    secret: ${HOOK_SECRET}
  models:
    gpt-4o: {budget_usd: 500, period: weekly}
"""
ENV = {"HOOK_URL": "https://hooks.example.com/T01/tok3nTok3n", "HOOK_SECRET": "whsec-0123456789abcdef"}


def problems(text: str, **env: str) -> list[str]:
    with pytest.raises(ConfigError) as excinfo:
        parse_config(text, "gw.yaml", env={**ENV, **env})
    return [str(p) for p in excinfo.value.problems]


def test_alerts_load_with_their_defaults() -> None:
    alerts = parse_config(BASE, "gw.yaml", env=ENV).alerts
    assert alerts is not None
    assert (alerts.webhook.secret, alerts.webhook.timeout_s, alerts.webhook.max_attempts) == (
        "whsec-0123456789abcdef", 10.0, 10)
    assert alerts.thresholds == [50.0, 80.0, 100.0]
    assert (alerts.models["gpt-4o"].budget_usd, alerts.models["gpt-4o"].period) == (500.0, "weekly")


def test_no_alerts_section_means_no_alerts() -> None:
    assert parse_config("", "gw.yaml").alerts is None


def test_thresholds_are_taken_in_any_order_and_kept_ascending() -> None:
    config = parse_config(BASE + "  thresholds: [100, 25, 90]\n", "gw.yaml", env=ENV)
    assert config.alerts is not None and config.alerts.thresholds == [25.0, 90.0, 100.0]


def test_a_threshold_given_twice_is_an_error() -> None:
    assert problems(BASE + "  thresholds: [50, 50]\n") == ["gw.yaml:10: alerts.thresholds: holds a percentage twice"]


def test_a_threshold_out_of_range_names_its_place() -> None:
    assert problems(BASE + "  thresholds: [50, 0]\n") == ["gw.yaml:10: alerts.thresholds[1]: Expected float > 0.0"]


def test_a_short_secret_is_an_error_that_does_not_quote_it() -> None:
    [problem] = problems(BASE, HOOK_SECRET="short-secret")
    assert problem == "gw.yaml:7: alerts.webhook.secret: Expected str of length >= 16"


def test_a_url_that_is_not_http_is_an_error_that_does_not_quote_it() -> None:
    [problem] = problems(BASE, HOOK_URL="ftp://bot:pw-Zx81@hooks.example.com/x")
    assert problem == "gw.yaml:6: alerts.webhook.url: must be an http:// or https:// URL"


def test_the_webhook_is_required() -> None:
    assert problems(BASE.replace("  webhook:\n    url: ${HOOK_URL}\n    secret: ${HOOK_SECRET}\n", "")) == [
        "gw.yaml:4: alerts: Object missing required field webhook"]


def test_a_budget_on_an_unknown_model_is_an_error() -> None:
    assert problems(BASE.replace("    gpt-4o: {budget_usd", "    gpt-9: {budget_usd")) == [
        "gw.yaml:9: alerts.models.gpt-9: unknown model 'gpt-9'"]


def test_a_model_budget_period_must_be_a_known_one() -> None:
    assert problems(BASE.replace("period: weekly", "period: hourly")) == [
        "gw.yaml:9: alerts.models.gpt-4o.period: Invalid enum value 'hourly'"]


def test_alerts_need_keys_mode_and_its_database() -> None:
    assert problems(BASE.replace("auth: {master_key: sk-master-config}", "auth: {mode: open}")) == [
        "gw.yaml:4: alerts: needs auth mode keys: alerts read the spend in the usage table of the database"]


def test_a_webhook_header_that_cannot_be_sent_is_an_error() -> None:
    text = BASE.replace("    secret:", "    headers: {x-token: \"tok\\nen\"}\n    secret:")
    assert problems(text) == [
        "gw.yaml:7: alerts.webhook.headers.x-token: holds a character that cannot be sent in an HTTP header "
        "(U+000A at position 3)"]
