"""Failover for Anthropic clients: the official `anthropic` SDK (its own retries off) -> gateway
process -> the fake upstream, both as an Anthropic upstream and, translated, as an OpenAI one.

Same scheme as test_failover.py: a model per test, two targets on one fake, `fail_first` so only
the first attempt meets the fault.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

from tests.support.fake import received, say, tag
from tests.support.processes import Process, free_port, start_gateway

FIRST_BYTE_S = 0.6
PAIRS = ["rate-limited-complete", "rate-limited-stream", "overloaded", "stall", "after-content", "hang", "openai-500"]


def upstream(kind: str, url: str, *keys: str) -> dict[str, Any]:
    return {"type": kind, "base_url": url + ("/v1" if kind == "openai" else ""), "api_keys": list(keys) or ["k"]}


@pytest.fixture(scope="module")
def gateway(fake: Process) -> Iterator[Process]:
    models: dict[str, Any] = {
        name: [{"provider": "a1", "priority": 0}, {"provider": "a2", "priority": 1}] for name in PAIRS}
    models["openai-500"] = [{"provider": "o1", "priority": 0}, {"provider": "o2", "priority": 1}]
    models["careful"] = {"retry_unsafe": False,
                         "deployments": [{"provider": "a1", "priority": 0}, {"provider": "a2", "priority": 1}]}
    models["all-fail"] = [{"provider": "refused", "priority": 0}, {"provider": "a1", "priority": 1}]
    config = {
        "server": {"first_byte_timeout_s": FIRST_BYTE_S, "idle_timeout_s": 0.6, "keepalive_s": 0.3},
        "routing": {"circuit_failures": 100},
        "providers": {
            "a1": upstream("anthropic", fake.url), "a2": upstream("anthropic", fake.url),
            "o1": upstream("openai", fake.url), "o2": upstream("openai", fake.url),
            "refused": upstream("anthropic", f"http://127.0.0.1:{free_port()}"),
        },
        "models": models,
    }
    with start_gateway(config) as process:
        yield process


@pytest.fixture
def client(gateway: Process) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.url, api_key="x", max_retries=0, timeout=20)


def ask(client: anthropic.Anthropic, model: str, messages: list[dict[str, str]],
        stream: bool = False) -> tuple[dict[str, str], str]:
    """(response headers, answer text), streamed or not."""
    raw = client.messages.with_raw_response.create(model=model, max_tokens=64, messages=messages,  # type: ignore[arg-type]
                                                   stream=stream)
    parsed = raw.parse()
    if not stream:
        return dict(raw.headers), "".join(b.text for b in parsed.content if b.type == "text")
    text = "".join(e.delta.text for e in parsed if e.type == "content_block_delta" and e.delta.type == "text_delta")
    return dict(raw.headers), text


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_429_moves_to_the_next_deployment(client: anthropic.Anthropic, stream: bool) -> None:
    marker = tag()
    model = "rate-limited-stream" if stream else "rate-limited-complete"  # the first deployment cools down
    headers, text = ask(client, model, say(marker, text="ok", status=429, retry_after=1, fail_first=1, key=marker),
                        stream)
    assert headers["x-llmswitch-deployment"] == f"a2/{model}#0" and text == "ok"


def test_529_overloaded_moves_to_the_next_deployment(client: anthropic.Anthropic, fake: Process) -> None:
    marker = tag()
    headers, _ = ask(client, "overloaded", say(marker, status=529, fail_first=1, key=marker))
    assert headers["x-llmswitch-attempts"] == "2"
    assert len(received(fake.url, marker)) == 2


def test_stream_stalling_before_content_is_rescued_on_another_deployment(client: anthropic.Anthropic) -> None:
    marker = tag()
    headers, text = ask(client, "stall", say(marker, text="whole answer", stall_after=1, stall_s=5, fail_first=1,
                                             key=marker), stream=True)
    assert headers["x-llmswitch-deployment"] == "a2/stall#0" and text == "whole answer"


def test_stream_failing_after_content_ends_with_an_error_event_and_is_not_retried(
        client: anthropic.Anthropic, fake: Process) -> None:
    marker = tag()
    stream = client.messages.create(model="after-content", max_tokens=64, stream=True, messages=say(  # type: ignore[arg-type]
        marker, text="one two three four five six", chunks=6, reset_after=5))
    seen: list[str] = []
    with pytest.raises(anthropic.APIError):
        for event in stream:
            seen.append(event.type)
    assert "content_block_delta" in seen and "message_stop" not in seen
    assert len(received(fake.url, marker)) == 1


def test_hung_upstream_costs_at_most_the_first_byte_timeout(client: anthropic.Anthropic) -> None:
    marker = tag()
    started = time.monotonic()
    headers, _ = ask(client, "hang", say(marker, hang_s=5, fail_first=1, key=marker), stream=True)
    assert time.monotonic() - started < FIRST_BYTE_S + 0.5
    assert headers["x-llmswitch-deployment"] == "a2/hang#0"


def test_500_reaches_the_upstream_exactly_once_when_retry_unsafe_is_false(
        client: anthropic.Anthropic, fake: Process) -> None:
    marker = tag()
    with pytest.raises(anthropic.InternalServerError):
        ask(client, "careful", say(marker, status=500, fail_first=1, key=marker))
    assert len(received(fake.url, marker)) == 1


def test_translated_openai_upstream_fails_over_too(client: anthropic.Anthropic) -> None:
    marker = tag()
    headers, text = ask(client, "openai-500", say(marker, text="translated", status=500, fail_first=1, key=marker),
                        stream=True)
    assert headers["x-llmswitch-deployment"] == "o2/openai-500#0" and text == "translated"


def test_every_candidate_failing_gives_an_anthropic_error_listing_the_attempts(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.APIStatusError) as caught:
        ask(client, "all-fail", say(tag(), status=500))
    error = caught.value
    assert error.status_code == 502 and error.response.headers["x-llmswitch-attempts"] == "2"
    body = error.body
    assert isinstance(body, dict) and body["type"] == "error"
    assert [a["provider"] for a in body["attempts"]] == ["refused", "a1"]
