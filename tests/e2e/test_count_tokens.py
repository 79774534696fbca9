"""`POST /v1/messages/count_tokens` goes through the same admission and target choice as generation:
the key's rpm counts it, the router picks the target (stored keys and failover included), and the
client's own `timeout` and `?key=` never reach the upstream. Real processes: the official
`anthropic` SDK -> gateway (keys mode, SQLite) -> fake upstream, whose recorder shows what arrived.
"""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import pytest

from tests.support.fake import received
from tests.support.processes import Process, free_port, start_fake_upstream, start_gateway

MASTER = "master-count-0001"
STORED = "stored-count-key-0002"


def admin(gateway: Process, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(f"{gateway.url}/admin/api/{path}", data=json.dumps(body).encode(),
                                     method="POST", headers={"authorization": f"Bearer {MASTER}",
                                                             "content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def fake() -> Iterator[Process]:
    with start_fake_upstream(name="counter") as process:
        yield process


@pytest.fixture(scope="module")
def gateway(fake: Process) -> Iterator[Process]:
    config = {
        "auth": {"master_key": MASTER, "secret": "count-secret-0003"}, "database_url": "sqlite:///gw.db",
        "providers": {
            "configured": {"type": "anthropic", "base_url": fake.url, "api_keys": ["configured-count-0004"]},
            "stored": {"type": "anthropic", "base_url": fake.url},  # its only key comes from the admin API
            "refused": {"type": "anthropic", "base_url": f"http://127.0.0.1:{free_port()}", "api_keys": ["k-0005"]},
            "openai": {"type": "openai", "base_url": f"{fake.url}/v1", "api_keys": ["openai-count-0006"]},
        },
        "models": {
            "claude": [{"provider": "configured", "model": "up-claude"}],
            "claude-stored": [{"provider": "stored", "model": "up-claude"}],
            "claude-failover": [{"provider": "refused", "priority": 0, "model": "up-claude"},
                                {"provider": "configured", "priority": 1, "model": "up-claude"}],
            "gpt": [{"provider": "openai"}],
        },
    }
    with start_gateway(config) as process:
        admin(process, "upstream-keys", {"provider": "stored", "api_key": STORED})
        yield process


Client = Callable[..., anthropic.Anthropic]


@pytest.fixture
def client(gateway: Process) -> Client:
    """A client with a fresh key of its own (limits in KEY_FIELDS), so no test spends another's rpm."""
    def make(**key_fields: Any) -> anthropic.Anthropic:
        key = admin(gateway, "keys", {"name": "count", **key_fields})["key"]
        return anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0, timeout=20)
    return make


def prompt(marker: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": f"count these words {marker}"}]


def test_the_third_count_within_a_minute_on_rpm_2_is_refused(client: Client, fake: Process) -> None:
    counter = client(rpm=2)
    marker = uuid.uuid4().hex
    for _ in range(2):
        assert counter.messages.count_tokens(model="claude", messages=prompt(marker)).input_tokens > 0
    with pytest.raises(anthropic.RateLimitError) as refused:
        counter.messages.count_tokens(model="claude", messages=prompt(marker))
    assert refused.value.response.headers["retry-after"]
    assert len(received(fake.url, marker)) == 2  # the refused one never reached the upstream


def test_counts_and_messages_share_the_keys_rpm(client: Client) -> None:
    counter = client(rpm=2)
    counter.messages.count_tokens(model="claude", messages=prompt("shared"))
    counter.messages.count_tokens(model="gpt", messages=prompt("shared"))  # an estimate is a request too
    with pytest.raises(anthropic.RateLimitError):
        counter.messages.create(model="claude", max_tokens=16, messages=prompt("shared"))


def test_a_count_spends_no_budget(client: Client) -> None:
    counter = client(budget_tokens=0)
    with pytest.raises(anthropic.RateLimitError):  # nothing left to generate with...
        counter.messages.create(model="claude", max_tokens=16, messages=prompt("budget"))
    assert counter.messages.count_tokens(model="claude", messages=prompt("budget")).input_tokens > 0  # ...or pay


def test_a_count_uses_the_stored_upstream_key(client: Client, fake: Process) -> None:
    marker = uuid.uuid4().hex
    client().messages.count_tokens(model="claude-stored", messages=prompt(marker))
    [sent] = received(fake.url, marker)
    assert sent["path"] == "/v1/messages/count_tokens"
    assert sent["headers"]["x-api-key"] == STORED


def test_the_clients_timeout_and_query_key_stay_at_the_gateway(client: Client, fake: Process) -> None:
    counter = client()
    marker = uuid.uuid4().hex
    counter.messages.count_tokens(model="claude", messages=prompt(marker), extra_body={"timeout": 5000},
                                  extra_query={"beta": "true", "key": counter.api_key})
    [sent] = received(fake.url, marker)
    assert "timeout" not in sent["body"]
    assert sent["query"] == {"beta": "true"}
    assert sent["body"]["model"] == "up-claude"


def test_a_target_that_cannot_be_reached_passes_the_count_to_the_next(client: Client, fake: Process) -> None:
    marker = uuid.uuid4().hex
    response = client().messages.with_raw_response.count_tokens(model="claude-failover", messages=prompt(marker))
    assert response.headers["x-llmswitch-attempts"] == "2"
    assert response.headers["x-llmswitch-provider"] == "configured"
    assert len(received(fake.url, marker)) == 1


def test_a_model_no_target_can_count_gets_the_local_estimate(client: Client, fake: Process) -> None:
    marker = uuid.uuid4().hex
    assert client().messages.count_tokens(model="gpt", messages=prompt(marker)).input_tokens > 0
    assert received(fake.url, marker) == []


def test_a_count_is_recorded_for_its_key_at_no_cost(gateway: Process) -> None:
    created = admin(gateway, "keys", {"name": "counted"})
    counter = anthropic.Anthropic(base_url=gateway.url, api_key=created["key"], max_retries=0, timeout=20)
    counter.messages.count_tokens(model="claude", messages=prompt("recorded"))
    counter.messages.count_tokens(model="gpt", messages=prompt("recorded"))  # the local estimate
    database = gateway.log_path.parent / "gw.db"  # the gateway's working directory
    rows: list[tuple[Any, ...]] = []
    deadline = time.monotonic() + 10
    while len(rows) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
        with sqlite3.connect(database) as connection:
            rows = connection.execute("SELECT model, deployment, status, input_tokens, cost_usd FROM usage_records "
                                      "WHERE key_id = ? ORDER BY id", (created["id"],)).fetchall()
    assert rows == [("claude", "configured/up-claude#0", 200, 0, 0.0), ("gpt", "", 200, 0, 0.0)]
