"""Upstream answers larger than the transport's 1 MiB read buffer, through the real gateway: read whole
up to `server.max_upstream_body_mb`, a prompt 502 past it (never a wait for the idle timeout)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import anthropic
import openai
import pytest

from tests.support.fake import fake_directive
from tests.support.processes import Process, start_fake_upstream, start_gateway

MiB = 1 << 20
IDLE_S = 10  # a read that stalled at the buffer would end here, as a 504


@pytest.fixture(scope="module")
def gateway() -> Iterator[Process]:
    with start_fake_upstream(name="fake-large") as fake:
        config = {
            "server": {"idle_timeout_s": IDLE_S, "max_upstream_body_mb": 8},
            "providers": {
                "fake": {"type": "openai", "base_url": f"{fake.url}/v1", "api_keys": ["k"]},
                "claude": {"type": "anthropic", "base_url": fake.url, "api_keys": ["k"]},
            },
            "models": {
                "gpt-4o": [{"provider": "fake"}],
                "claude-sonnet": [{"provider": "claude", "max_tokens_default": 100}],
            },
        }
        with start_gateway(config) as process:
            yield process


def openai_client(gateway: Process) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="anything", max_retries=0, timeout=60)


@pytest.mark.parametrize("model", ["gpt-4o", "claude-sonnet"])
def test_a_3_mib_answer_arrives_whole_at_once(gateway: Process, model: str) -> None:
    text = "y" * (3 * MiB)
    started = time.monotonic()
    completion = openai_client(gateway).chat.completions.create(
        model=model, messages=[{"role": "user", "content": fake_directive(text=text)}])
    assert completion.choices[0].message.content == text
    assert time.monotonic() - started < IDLE_S


def test_a_3_mib_anthropic_answer_reaches_an_anthropic_client_whole(gateway: Process) -> None:
    text = "z" * (3 * MiB)
    claude = anthropic.Anthropic(base_url=gateway.url, api_key="anything", max_retries=0, timeout=60)
    message = claude.messages.create(model="claude-sonnet", max_tokens=100,
                                     messages=[{"role": "user", "content": fake_directive(text=text)}])
    assert message.content[0].text == text  # type: ignore[union-attr]


def test_a_3_mib_upstream_error_keeps_its_status_and_message(gateway: Process) -> None:
    message = "bad: " + "e" * (3 * MiB)
    with pytest.raises(openai.BadRequestError) as excinfo:
        openai_client(gateway).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": fake_directive(status=400, message=message)}])
    assert excinfo.value.status_code == 400
    assert "bad: eee" in excinfo.value.message


@pytest.mark.parametrize("stream", [False, True])
def test_an_answer_past_the_cap_is_a_502_at_once(gateway: Process, stream: bool) -> None:
    text = "w" * (9 * MiB)  # one 9 MiB answer, or one 9 MiB stream event (chunks: 1)
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as excinfo:
        openai_client(gateway).chat.completions.create(
            model="gpt-4o", stream=stream,
            messages=[{"role": "user", "content": fake_directive(text=text, chunks=1)}])
    assert excinfo.value.status_code == 502
    assert "larger than" in excinfo.value.message
    assert time.monotonic() - started < IDLE_S
