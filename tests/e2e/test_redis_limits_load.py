"""300 concurrent limited requests through a real gateway on the Redis counters: none is refused for
want of a Redis connection, and once they are over the counters are exact (requests counted once
each, every concurrency slot back, budget spend equal to the usage rows)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.databases import require_redis
from tests.support.fake import fake_directive
from tests.support.processes import Process, start_fake_upstream, start_gateway

MASTER = "sk-master-load"
ADMIN = {"authorization": f"Bearer {MASTER}"}
CONCURRENT = 300


@dataclass
class Setup:
    gateway: Process
    database: Path


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    database = tmp_path_factory.mktemp("load") / "llmswitch.db"
    with ExitStack() as stack:
        fake = stack.enter_context(start_fake_upstream())
        config: dict[str, Any] = {
            "auth": {"master_key": MASTER, "secret": "load-secret"},
            "database_url": f"sqlite:///{database}", "redis_url": require_redis(),
            "limits": {"backend": "redis"},
            "providers": {"fake": {"type": "openai", "base_url": f"{fake.url}/v1", "api_keys": ["x"]}},
            "models": {"priced": [{"provider": "fake", "model": "gpt-4o"}]},
            "prices": {"priced": {"input": 1000, "output": 1000}},
        }
        yield Setup(stack.enter_context(start_gateway(config)), database)


def usage_rows(database: Path, key_id: str) -> list[tuple[int, int, int, float]]:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT status, input_tokens, output_tokens, cost_usd FROM usage_records "
                                  "WHERE key_id = ?", (key_id,)).fetchall()


async def test_300_concurrent_limited_requests_are_all_served_and_counted_exactly(setup: Setup) -> None:
    url = setup.gateway.url
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        async with session.post(f"{url}/admin/api/keys", headers=ADMIN, json={
                "rpm": 100_000, "tpm": 100_000_000, "max_concurrent": 1000, "budget_usd": 1_000_000}) as response:
            created = await response.json()
        headers = {"authorization": f"Bearer {created['key']}"}

        async def one(i: int) -> tuple[int, str | None]:
            body = {"model": "priced", "stream": i % 2 == 0, "max_tokens": 50,
                    "messages": [{"role": "user", "content": f"request {i} " + fake_directive(hang_s=(i % 10) * 0.05)}]}
            async with session.post(f"{url}/v1/chat/completions", json=body, headers=headers) as response:
                text = await response.text()
                code = None if response.status == 200 else text
                return response.status, code

        started = time.monotonic()
        results = await asyncio.gather(*(one(i) for i in range(CONCURRENT)))
        elapsed = time.monotonic() - started
        statuses = Counter(status for status, _ in results)
        unavailable = sum(1 for _, text in results if text and "limits_unavailable" in text)
        print(f"\n{CONCURRENT} concurrent in {elapsed:.1f}s: statuses {dict(statuses)}, "
              f"limits_unavailable {unavailable}")
        rows: list[tuple[int, int, int, float]] = []
        for _ in range(50):
            rows = usage_rows(setup.database, created["id"])
            if len(rows) >= statuses[200]:
                break
            await asyncio.sleep(0.2)
        async with session.get(f"{url}/v1/key", headers=headers) as response:
            usage = (await response.json())["usage"]
    print(f"counters: {usage['requests_last_minute']} requests, {usage['concurrent']} concurrent, "
          f"${usage['budget']['spent_usd']:.6f} spent; rows: {len(rows)}, ${sum(r[3] for r in rows):.6f}")
    assert unavailable == 0
    assert statuses == {200: CONCURRENT}
    assert len(rows) == CONCURRENT
    assert usage["requests_last_minute"] == CONCURRENT
    assert usage["concurrent"] == 0
    assert usage["tokens_last_minute"] == sum(r[1] + r[2] for r in rows)
    assert usage["budget"]["spent_tokens"] == sum(r[1] + r[2] for r in rows)
    assert usage["budget"]["spent_usd"] == pytest.approx(sum(r[3] for r in rows), abs=CONCURRENT * 1e-6)
