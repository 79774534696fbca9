"""The gateways the compat routes' tests drive, in front of one fake upstream per test module: keys
mode (client upstream keys not allowed, the default throttle) and open mode (client upstream keys
allowed, short timeouts, logging at debug level). `gpt-4o` is an OpenAI deployment with the
Responses API (a pass-through for /openai2), `claude` an Anthropic one (translated).

A test module imports the fixtures it uses by name (`fake`, `keys`, `open_gateway`): each module
gets its own processes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.compat import call
from tests.support.processes import Process, start_fake_upstream, start_gateway

MASTER = "master-compat-0001"
OPENAI_KEY = "configured-openai-0002"
ANTHROPIC_KEY = "configured-anthropic-0003"


@pytest.fixture(scope="module")
def fake() -> Iterator[Process]:
    with start_fake_upstream(name="compat-fake") as process:
        yield process


def config(fake: Process, **overrides: Any) -> dict[str, Any]:
    return {
        "providers": {
            "up": {"type": "openai", "base_url": f"{fake.url}/v1", "api_keys": [OPENAI_KEY]},
            "claude": {"type": "anthropic", "base_url": fake.url, "api_keys": [ANTHROPIC_KEY]},
        },
        "models": {
            "gpt-4o": [{"provider": "up", "model": "up-gpt"}],
            "claude": [{"provider": "claude", "model": "up-claude", "max_tokens_default": 256}],
            "embed": [{"provider": "up", "model": "up-embed"}],
            "whisper-1": [{"provider": "up"}],
        },
        "aliases": {"text-embedding-3-large": "embed"},
        "default_model": "gpt-4o",
        **overrides,
    }


@pytest.fixture(scope="module")
def keys(fake: Process, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    """Keys mode, client upstream keys not allowed, the default throttle."""
    database = tmp_path_factory.mktemp("compat") / "gw.db"
    with start_gateway(config(fake, auth={"master_key": MASTER, "secret": "compat-secret-0004"},
                              database_url=f"sqlite:///{database}")) as process:
        yield process


@pytest.fixture(scope="module")
def open_gateway(fake: Process) -> Iterator[Process]:
    """Open mode with client upstream keys allowed, short timeouts, logging at debug level."""
    with start_gateway(config(fake, auth={"mode": "open"}, compat={"allow_client_upstream_keys": True},
                              server={"timeout_s": 2, "max_timeout_s": 5}),
                       env={"LLMSWITCH_LOG_LEVEL": "DEBUG"}) as process:
        yield process


def admin_key(gateway: Process, **fields: Any) -> dict[str, Any]:
    """A new virtual key: its `id` and its value, `key`."""
    status, _, body = call(f"{gateway.url}/admin/api/keys", {"name": "compat", **fields},
                           headers={"authorization": f"Bearer {MASTER}"})
    assert status in (200, 201), body
    return body  # type: ignore[no-any-return]
