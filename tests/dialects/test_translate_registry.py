"""Translations are registered per (operation, from, to) with OpenAI's form as the hub: every other
pair is derived through it, and what no registration reaches is not servable."""

from __future__ import annotations

from typing import Any

import pytest

from llmswitch.dialects import translate
from llmswitch.dialects.types import RequestOptions, ResponseContext, Translated
from llmswitch.errors import GatewayError


def test_anthropic_and_gemini_are_joined_only_through_the_hub() -> None:
    direct = set(translate._REQUESTS) | set(translate._RESPONSES) | set(translate._STREAMS)
    assert not {pair for pair in direct if {pair[1], pair[2]} == {"anthropic", "gemini"}}
    assert translate.can_translate("chat", "anthropic", "gemini")


@pytest.mark.parametrize(("operation", "client", "upstream", "servable"), [
    ("chat", "openai", "gemini", True),
    ("embeddings", "openai", "gemini", True),
    ("embeddings", "openai", "openai", True),
    ("embeddings", "anthropic", "openai", False),  # no Anthropic embeddings dialect
    ("count_tokens", "anthropic", "anthropic", True),
    ("count_tokens", "anthropic", "openai", False),  # a count is only ever the upstream's own
])
def test_what_the_registry_can_serve(operation: str, client: str, upstream: str, servable: bool) -> None:
    assert translate.can_translate(operation, client, upstream) is servable


def test_a_pair_nothing_reaches_is_a_400_naming_it() -> None:
    with pytest.raises(GatewayError) as refused:
        translate.request_translation("count_tokens", "anthropic", "gemini")
    assert refused.value.status == 400 and "count_tokens" in refused.value.message


def test_a_new_dialect_registered_with_the_hub_is_reached_from_every_other(monkeypatch: pytest.MonkeyPatch) -> None:
    def to_x(body: dict[str, Any], options: RequestOptions) -> Translated:
        return Translated({"x": body["messages"][-1]["content"], "model": options.upstream_model})

    def from_x(body: dict[str, Any], ctx: ResponseContext) -> tuple[dict[str, Any], None]:
        return {"choices": [{"index": 0, "message": {"role": "assistant", "content": body["y"]},
                             "finish_reason": "stop"}], "model": ctx.client_model}, None

    monkeypatch.setitem(translate._REQUESTS, ("chat", "openai", "x"), to_x)
    monkeypatch.setitem(translate._RESPONSES, ("chat", "x", "openai"), from_x)
    monkeypatch.setattr(translate, "_derived", {})
    anthropic_body = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    sent = translate.translate_request("anthropic", "x", anthropic_body, RequestOptions("up", False))
    assert sent.body == {"x": "hi", "model": "up"}
    answer, _ = translate.translate_response("x", "anthropic", {"y": "hello"}, ResponseContext("m"))
    assert answer["content"] == [{"type": "text", "text": "hello"}] and answer["model"] == "m"


def test_the_leg_into_the_hub_writes_reasoning_effort_only_where_the_next_leg_reads_it() -> None:
    body = {"model": "m", "max_tokens": 2000, "output_config": {"effort": "low"},
            "messages": [{"role": "user", "content": "hi"}]}
    to_openai = translate.translate_request("anthropic", "openai", body, RequestOptions("up", False))
    assert "reasoning_effort" not in to_openai.body and "output_config.effort" in to_openai.dropped
    to_gemini = translate.translate_request("anthropic", "gemini", body, RequestOptions("up", False))
    assert to_gemini.body["generationConfig"]["thinkingConfig"]["thinkingBudget"] == 1024
