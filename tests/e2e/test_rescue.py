"""Rescue until content: a stream that fails before anything a client would show may still move to
the next deployment, in every pairing of client SDK and upstream dialect.

Both official SDKs -> gateway process -> one fake upstream process. Each upstream dialect opens its
stream with frames that carry no content (Anthropic: message_start, an empty text block and a ping;
OpenAI: the role chunk and an empty delta; Gemini: a chunk with no parts and one with empty text),
then goes silent past the idle timeout or resets the connection. `fail_first` gives that fault to
the first attempt only, so the second deployment answers, and the client must see one clean
message: nothing of the abandoned stream, exactly one start, block indices from 0.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from tests.support.fake import fake_directive, received
from tests.support.processes import Process, start_gateway

IDLE_S = 0.5
KINDS = ("anthropic", "openai", "gemini")
FAULTS = ("stall", "reset")
ANSWER = "the whole answer"
# Frames each upstream dialect sends before its first content, and the directive that produces them.
OPENING = {"anthropic": (3, {}), "openai": (2, {"blank_frames": 1}), "gemini": (2, {"blank_frames": 2})}
BASE_URL = {"anthropic": "", "openai": "/v1", "gemini": "/v1beta"}


def deployments(kind: str) -> list[dict[str, Any]]:
    extra = {"max_tokens_default": 256} if kind == "anthropic" else {}
    return [{"provider": f"{kind}-1", "priority": 0, **extra}, {"provider": f"{kind}-2", "priority": 1, **extra}]


@pytest.fixture(scope="module")
def gateway(fake: Process) -> Iterator[Process]:
    config = {
        "server": {"idle_timeout_s": IDLE_S, "first_byte_timeout_s": 5, "keepalive_s": 0.3},
        "routing": {"circuit_failures": 100},
        "providers": {f"{kind}-{n}": {"type": kind, "base_url": fake.url + BASE_URL[kind], "api_keys": ["k"]}
                      for kind in KINDS for n in (1, 2)},
        "models": {f"rescue-{kind}": deployments(kind) for kind in KINDS},
    }
    with start_gateway(config) as process:
        yield process


def failing_first(kind: str, fault: str) -> tuple[str, str]:
    """(marker, prompt) whose first attempt fails right after the dialect's content-free opening."""
    marker = f"m-{uuid.uuid4().hex[:10]}"
    frames, opening = OPENING[kind]
    fault_keys = {"stall_after": frames, "stall_s": 10} if fault == "stall" else {"reset_after": frames}
    directive = fake_directive(text=ANSWER, chunks=3, fail_first=1, key=marker, **opening, **fault_keys)
    return marker, f"{marker} {directive}"


def assert_rescued(headers: Any, kind: str, fake: Process, marker: str) -> None:
    assert headers["x-llmswitch-attempts"] == "2"
    assert headers["x-llmswitch-deployment"].startswith(f"{kind}-2/")
    assert len(received(fake.url, marker)) == 2


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("kind", KINDS)
def test_an_anthropic_client_sees_one_clean_message_from_the_rescuing_deployment(
        gateway: Process, fake: Process, kind: str, fault: str) -> None:
    marker, prompt = failing_first(kind, fault)
    client = anthropic.Anthropic(base_url=gateway.url, api_key="x", max_retries=0, timeout=20)
    raw = client.messages.with_raw_response.create(model=f"rescue-{kind}", max_tokens=64, stream=True,
                                                   messages=[{"role": "user", "content": prompt}])
    events = list(raw.parse())
    types = [e.type for e in events]
    assert types.count("message_start") == 1 and types[0] == "message_start" and types[-1] == "message_stop"
    assert [e.index for e in events if e.type == "content_block_start"] == [0]
    assert "".join(e.delta.text for e in events if e.type == "content_block_delta"
                   and e.delta.type == "text_delta") == ANSWER
    assert_rescued(raw.headers, kind, fake, marker)


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("kind", KINDS)
def test_an_openai_client_sees_one_clean_completion_from_the_rescuing_deployment(
        gateway: Process, fake: Process, kind: str, fault: str) -> None:
    marker, prompt = failing_first(kind, fault)
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="x", max_retries=0, timeout=20)
    raw = client.chat.completions.with_raw_response.create(model=f"rescue-{kind}", stream=True,
                                                           messages=[{"role": "user", "content": prompt}])
    chunks = [c for c in raw.parse() if c.choices]
    assert len({c.id for c in chunks}) == 1
    assert sum(c.choices[0].delta.role is not None for c in chunks) == 1
    assert [c.choices[0].finish_reason for c in chunks if c.choices[0].finish_reason] == ["stop"]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == ANSWER
    assert_rescued(raw.headers, kind, fake, marker)
