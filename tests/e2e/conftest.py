"""Fixtures for end-to-end tests: a fake upstream process and a gateway process in front of it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.support.processes import Process, start_fake_upstream, start_gateway


FAULT_MODELS = ("400", "401", "403", "404", "429", "500", "key", "hang", "body-timeout", "reset", "idle",
                "disconnect")


def gateway_config(fake_url: str, **overrides: Any) -> dict[str, Any]:
    """A gateway config whose models all reach the fake upstream at FAKE_URL."""
    config: dict[str, Any] = {
        "server": {"keepalive_s": 0.3},
        "providers": {
            "fake": {"type": "openai", "base_url": f"{fake_url}/v1", "api_keys": ["upstream-secret-1"]},
            "nowhere": {"type": "openai", "base_url": "http://127.0.0.1:9/v1", "api_keys": ["x"]},
        },
        "models": {
            "gpt-4o": [{"provider": "fake", "model": "gpt-4o-2024-08-06"}],
            "sim-model": [{"provider": "fake", "model": "no-stream-model", "stream": "simulate"}],
            "org/model-x": [{"provider": "fake"}],
            "dead-model": [{"provider": "nowhere"}],
            # Faults cool down or disable the target that saw them: each fault test gets its own model.
            **{f"fault-{name}": [{"provider": "fake", "model": f"fault-{name}"}] for name in FAULT_MODELS},
        },
        "aliases": {"gpt-5": "gpt-4o", "gpt-4*": "gpt-4o"},
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="module")
def fake() -> Iterator[Process]:
    with start_fake_upstream(name="fake-a") as process:
        yield process


@pytest.fixture(scope="module")
def gateway(fake: Process) -> Iterator[Process]:
    with start_gateway(gateway_config(fake.url)) as process:
        yield process


@pytest.fixture
def client(gateway: Process) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="anything", max_retries=0, timeout=20)
