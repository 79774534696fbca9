"""Budgets hold and no bill is lost, through a real gateway process in front of the fake upstream,
on SQLite with the in-memory counters and with the Redis ones.

Prices make the sums easy: $1 per 1000 tokens, in and out. A prompt of 40,000 characters is 10,000
tokens for the fake (characters / 4), so each request costs $10 and a $100 budget pays for ten.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import redis.asyncio as redis
import yaml
from typer.testing import CliRunner

from llmswitch.cli import app
from tests.support.databases import require_redis
from tests.support.fake import fake_directive
from tests.support.processes import Process, start_fake_upstream, start_gateway

MASTER = "sk-master-budgets"
ADMIN = {"authorization": f"Bearer {MASTER}"}
PROMPT = "x" * 40_000  # 10,000 tokens: $10 at the prices below
BUDGET_USD = 100.0


@dataclass
class Setup:
    gateway: Process
    database: Path
    redis_url: str | None

    def rows(self, key_id: str) -> list[sqlite3.Row]:
        with sqlite3.connect(self.database) as connection:
            connection.row_factory = sqlite3.Row
            return connection.execute("SELECT * FROM usage_records WHERE key_id = ? ORDER BY id",
                                      (key_id,)).fetchall()

    async def wait_rows(self, key_id: str, count: int, timeout_s: float = 10.0) -> list[sqlite3.Row]:
        """The key's usage rows once `count` are written (the writer flushes every second)."""
        deadline = time.monotonic() + timeout_s
        rows = self.rows(key_id)
        while len(rows) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            rows = self.rows(key_id)
        return rows


@pytest.fixture(scope="module", params=["memory", "redis"])
def setup(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    database = tmp_path_factory.mktemp("budgets") / "llmswitch.db"
    with ExitStack() as stack:
        fake = stack.enter_context(start_fake_upstream())
        config: dict[str, Any] = {
            "auth": {"master_key": MASTER, "secret": "budgets-secret"},
            "database_url": f"sqlite:///{database}",
            "providers": {"fake": {"type": "openai", "base_url": f"{fake.url}/v1", "api_keys": ["x"]}},
            "models": {"priced": [{"provider": "fake", "model": "gpt-4o"}]},
            "prices": {"priced": {"input": 1000, "output": 1000}},
        }
        redis_url = require_redis() if request.param == "redis" else None
        if redis_url:
            config |= {"redis_url": redis_url, "limits": {"backend": "redis"}}
        yield Setup(stack.enter_context(start_gateway(config)), database, redis_url)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as client:
        yield client


async def create_key(session: aiohttp.ClientSession, setup: Setup, **fields: Any) -> tuple[str, str]:
    """(key id, key) of a new key."""
    async with session.post(f"{setup.gateway.url}/admin/api/keys", json=fields, headers=ADMIN) as response:
        assert response.status == 201, await response.text()
        created = await response.json()
    return created["id"], created["key"]


async def spent_usd(session: aiohttp.ClientSession, setup: Setup, key: str) -> float:
    async with session.get(f"{setup.gateway.url}/v1/key", headers={"authorization": f"Bearer {key}"}) as response:
        return float((await response.json())["usage"]["budget"]["spent_usd"])


def chat(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "priced", "messages": [{"role": "user", "content": text}], **extra}


async def chunked(body: dict[str, Any]) -> AsyncIterator[bytes]:
    """The body in two pieces, so it travels with `Transfer-Encoding: chunked` and no Content-Length."""
    raw = orjson.dumps(body)
    yield raw[: len(raw) // 2]
    yield raw[len(raw) // 2:]


async def stream_chunked(session: aiohttp.ClientSession, setup: Setup, key: str, body: dict[str, Any]) -> int:
    async with session.post(f"{setup.gateway.url}/v1/chat/completions", data=chunked(body),
                            headers={"authorization": f"Bearer {key}", "content-type": "application/json"}) as response:
        await response.read()
        return response.status


async def test_fifty_concurrent_chunked_streams_never_overspend_the_budget(
        session: aiohttp.ClientSession, setup: Setup) -> None:
    key_id, key = await create_key(session, setup, budget_usd=BUDGET_USD)
    slow = chat(PROMPT + fake_directive(text="ok", chunks=2, delay_ms=300), stream=True, max_tokens=16)
    statuses = await asyncio.gather(*(stream_chunked(session, setup, key, slow) for _ in range(50)))
    admitted = statuses.count(200)
    assert statuses.count(429) == 50 - admitted
    rows = await setup.wait_rows(key_id, 50)  # the refused ones too, at no cost
    assert sorted(row["status"] for row in rows) == sorted(statuses)
    billed = sum(row["cost_usd"] for row in rows)
    spent = await spent_usd(session, setup, key)
    print(f"\n[{setup.gateway.url}] admitted {admitted}/50, spent ${spent:.2f} of ${BUDGET_USD:.0f}: "
          f"{spent / BUDGET_USD:.2f}x")
    assert 0 < admitted <= 10
    assert spent == pytest.approx(billed, abs=1e-4)
    assert spent <= BUDGET_USD


async def test_a_client_leaving_a_stream_before_its_usage_is_billed_for_the_work_done(
        session: aiohttp.ClientSession, setup: Setup) -> None:
    key_id, key = await create_key(session, setup, budget_usd=BUDGET_USD)
    stalled = chat(PROMPT + fake_directive(chunks=4, stall_after=3, stall_s=30), stream=True)
    async with session.post(f"{setup.gateway.url}/v1/chat/completions", json=stalled,
                            headers={"authorization": f"Bearer {key}"}) as response:
        assert response.status == 200
        await response.content.readline()  # content is flowing; the usage chunk never came
    rows = await setup.wait_rows(key_id, 1)
    assert [row["status"] for row in rows] == [499]
    assert rows[0]["input_tokens"] >= 10_000 and rows[0]["cost_usd"] >= 10.0
    assert await spent_usd(session, setup, key) == pytest.approx(rows[0]["cost_usd"], abs=1e-4)


async def test_a_client_leaving_before_a_whole_answer_is_billed_and_recorded(
        session: aiohttp.ClientSession, setup: Setup) -> None:
    key_id, key = await create_key(session, setup, budget_usd=BUDGET_USD)
    hanging = chat(PROMPT + fake_directive(hang_s=30), max_tokens=100)
    with pytest.raises(asyncio.TimeoutError):
        async with session.post(f"{setup.gateway.url}/v1/chat/completions", json=hanging,
                                headers={"authorization": f"Bearer {key}"},
                                timeout=aiohttp.ClientTimeout(total=0.5)) as response:
            await response.read()
    rows = await setup.wait_rows(key_id, 1)
    assert [row["status"] for row in rows] == [499]
    assert rows[0]["input_tokens"] >= 10_000 and rows[0]["output_tokens"] == 100  # the reservation
    assert await spent_usd(session, setup, key) == pytest.approx(rows[0]["cost_usd"], abs=1e-4)


async def test_a_client_leaving_an_anthropic_stream_is_billed_for_the_work_done(
        session: aiohttp.ClientSession, setup: Setup) -> None:
    key_id, key = await create_key(session, setup, budget_usd=BUDGET_USD)
    stalled = {**chat(PROMPT + fake_directive(chunks=4, stall_after=3, stall_s=30)), "max_tokens": 100, "stream": True}
    async with session.post(f"{setup.gateway.url}/v1/messages", json=stalled,
                            headers={"x-api-key": key, "anthropic-version": "2023-06-01"}) as response:
        assert response.status == 200
        while b"content_block_delta" not in await response.content.readline():
            pass
    rows = await setup.wait_rows(key_id, 1)
    assert [row["status"] for row in rows] == [499]
    assert rows[0]["input_tokens"] >= 10_000 and rows[0]["output_tokens"] >= 1


# --- limits in range ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("fields", "param"), [
    ({"rpm": 2**64}, "rpm"), ({"rpm": 2**40}, "rpm"), ({"tpm": 2**62}, "tpm"),
    ({"max_concurrent": 2**31}, "max_concurrent"), ({"budget_usd": 1e303}, "budget_usd"),
    ({"budget_usd": -5}, "budget_usd"), ({"budget_tokens": 10**18}, "budget_tokens"),
])
async def test_the_admin_api_refuses_limits_out_of_range_naming_the_field(
        session: aiohttp.ClientSession, setup: Setup, fields: dict[str, Any], param: str) -> None:
    async with session.post(f"{setup.gateway.url}/admin/api/keys", json=fields, headers=ADMIN) as response:
        assert response.status == 400
        assert (await response.json())["error"]["param"] == param
    key_id, _key = await create_key(session, setup)
    async with session.patch(f"{setup.gateway.url}/admin/api/keys/{key_id}", json=fields, headers=ADMIN) as response:
        assert response.status == 400
        assert (await response.json())["error"]["param"] == param


async def test_a_key_stored_with_limits_beyond_range_is_still_served(
        session: aiohttp.ClientSession, setup: Setup) -> None:
    key_id, key = await create_key(session, setup, budget_usd=BUDGET_USD)
    with sqlite3.connect(setup.database) as connection:  # as a row written before the bounds
        connection.execute("UPDATE virtual_keys SET budget_usd = 1e303, rpm = ?, budget_tokens = ?, updated_at = ? "
                           "WHERE id = ?", (2**62, 2**62, time.time() + 1, key_id))
    if setup.redis_url:  # announce it, as the admin API would
        client = redis.Redis.from_url(setup.redis_url)
        await client.publish("llmswitch:keys", key_id)
        await client.aclose()
    headers = {"authorization": f"Bearer {key}"}
    for _ in range(50):
        async with session.post(f"{setup.gateway.url}/v1/chat/completions", json=chat("hi"), headers=headers) as reply:
            assert reply.status == 200, await reply.text()
            if reply.headers.get("x-ratelimit-limit-requests"):
                break
        await asyncio.sleep(0.1)
    assert reply.headers["x-ratelimit-limit-requests"] == str(2**31 - 1)


def test_the_cli_refuses_limits_out_of_range_naming_the_field(tmp_path: Path) -> None:
    config = tmp_path / "llmswitch.yaml"
    config.write_text(yaml.safe_dump({"auth": {"master_key": MASTER, "secret": "cli-secret"},
                                      "database_url": f"sqlite:///{tmp_path}/keys.db",
                                      "providers": {"demo": {"type": "demo"}},
                                      "models": {"demo-echo": [{"provider": "demo"}]}}))
    for option, value in (("--budget-usd", "inf"), ("--budget-usd", "nan"), ("--rpm", str(2**64))):
        result = CliRunner().invoke(app, ["keys", "create", option, value, "--config", str(config)])
        assert result.exit_code == 2, result.output
        assert f"$.{option[2:].replace('-', '_')}" in result.output
