"""Two gateway processes sharing PostgreSQL and Redis hold one set of limits between them; the
official SDKs see the gateway's 401/403/429 as their typed exceptions and honour Retry-After."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import aiohttp
import anthropic
import openai
import pytest

from tests.support.databases import fresh_postgres, require_redis
from tests.support.fake import fake_directive
from tests.support.processes import Process, start_fake_upstream, start_gateway

MASTER = "sk-master-scale"
ADMIN = {"authorization": f"Bearer {MASTER}"}


@dataclass
class Pair:
    a: Process
    b: Process

    @property
    def urls(self) -> list[str]:
        return [self.a.url, self.b.url]


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    redis_url = require_redis()
    with ExitStack() as stack:
        database_url = stack.enter_context(fresh_postgres())
        fake = stack.enter_context(start_fake_upstream())
        config: dict[str, Any] = {
            "auth": {"master_key": MASTER, "secret": "scale-secret"},
            "database_url": database_url, "redis_url": redis_url,
            "providers": {"demo": {"type": "demo"},
                          "fake": {"type": "openai", "base_url": f"{fake.url}/v1", "api_keys": ["x"]}},
            "models": {"demo-echo": [{"provider": "demo"}], "claude-x": [{"provider": "demo"}],
                       "slow": [{"provider": "fake", "model": "gpt-4o"}]},
            "prices": {"demo-echo": {"input": 1_000_000, "output": 1_000_000}},  # $1 a token
        }
        a = stack.enter_context(start_gateway(config))
        b = stack.enter_context(start_gateway(config))
        yield Pair(a, b)


def chat(model: str = "demo-echo", text: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


async def create_key(pair: Pair, **fields: Any) -> str:
    """A key made on A, once B has heard of it too."""
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{pair.a.url}/admin/api/keys", json=fields, headers=ADMIN) as response:
            assert response.status == 201, await response.text()
            key = (await response.json())["key"]
        for _ in range(50):
            async with session.get(f"{pair.b.url}/v1/key", headers={"authorization": f"Bearer {key}"}) as response:
                if response.status == 200:
                    return key
            await asyncio.sleep(0.02)
    raise AssertionError("instance B never saw the new key")


async def post_all(urls: list[str], key: str, bodies: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """Send every body at once, alternating between the instances."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        async def one(i: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            async with session.post(f"{urls[i % len(urls)]}/v1/chat/completions", json=body,
                                    headers={"authorization": f"Bearer {key}"}) as response:
                return response.status, await response.json()
        return await asyncio.gather(*(one(i, body) for i, body in enumerate(bodies)))


async def test_a_60_rpm_key_gets_exactly_60_successes_across_both_under_a_burst_of_200(pair: Pair) -> None:
    key = await create_key(pair, rpm=60)
    results = await post_all(pair.urls, key, [chat() for _ in range(200)])
    statuses = [status for status, _ in results]
    assert statuses.count(200) == 60
    assert statuses.count(429) == 140


async def test_a_budget_is_not_overspent_by_100_parallel_requests(pair: Pair) -> None:
    budget = 300.0
    key = await create_key(pair, budget_usd=budget)
    results = await post_all(pair.urls, key, [chat(max_tokens=20) for _ in range(100)])
    codes = {body.get("error", {}).get("code") for status, body in results if status == 429}
    assert codes == {"insufficient_quota"}
    spent = sum(body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
                for status, body in results if status == 200)  # $1 a token
    assert 0 < spent <= budget
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{pair.b.url}/v1/key", headers={"authorization": f"Bearer {key}"}) as response:
            assert (await response.json())["usage"]["budget"]["spent_usd"] == pytest.approx(spent)


async def test_a_revoked_key_stops_working_on_both_within_one_second(pair: Pair) -> None:
    key = await create_key(pair)
    headers = {"authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession() as session:
        key_id = (await (await session.get(f"{pair.a.url}/v1/key", headers=headers)).json())["id"]
        async with session.delete(f"{pair.a.url}/admin/api/keys/{key_id}", headers=ADMIN) as response:
            assert response.status == 200
        revoked_at = time.monotonic()
        refused: dict[str, float] = {}
        while len(refused) < 2 and time.monotonic() - revoked_at < 3:
            for url in pair.urls:
                if url not in refused:
                    async with session.post(f"{url}/v1/chat/completions", json=chat(), headers=headers) as response:
                        if response.status == 401:
                            refused[url] = time.monotonic() - revoked_at
            await asyncio.sleep(0.01)
    assert set(refused) == set(pair.urls)
    assert max(refused.values()) < 1.0


# --- the SDKs ------------------------------------------------------------------------------------
def openai_client(url: str, key: str, retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=retries, timeout=20)


def anthropic_client(url: str, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=url, api_key=key, max_retries=0, timeout=20)


async def test_openai_sdk_raises_its_typed_exceptions(pair: Pair) -> None:
    key = await create_key(pair, models=["demo-echo"], rpm=1)
    with pytest.raises(openai.AuthenticationError):
        openai_client(pair.a.url, "sk-llms-wrong").chat.completions.create(**chat())
    with pytest.raises(openai.PermissionDeniedError):
        openai_client(pair.a.url, key).chat.completions.create(**chat(model="claude-x"))
    openai_client(pair.a.url, key).chat.completions.create(**chat())
    with pytest.raises(openai.RateLimitError) as refused:
        openai_client(pair.b.url, key).chat.completions.create(**chat())
    assert refused.value.response.headers["x-ratelimit-remaining-requests"] == "0"


async def test_anthropic_sdk_raises_its_typed_exceptions(pair: Pair) -> None:
    key = await create_key(pair, models=["demo-echo"], rpm=1)
    message = {"max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(anthropic.AuthenticationError):
        anthropic_client(pair.a.url, "sk-llms-wrong").messages.create(model="demo-echo", **message)
    with pytest.raises(anthropic.PermissionDeniedError):
        anthropic_client(pair.a.url, key).messages.create(model="claude-x", **message)
    anthropic_client(pair.a.url, key).messages.create(model="demo-echo", **message)
    with pytest.raises(anthropic.RateLimitError):
        anthropic_client(pair.b.url, key).messages.create(model="demo-echo", **message)


async def test_sdk_retries_wait_for_retry_after(pair: Pair) -> None:
    key = await create_key(pair, max_concurrent=1)
    slow = asyncio.create_task(asyncio.to_thread(
        openai_client(pair.a.url, key).chat.completions.create, **chat("slow", fake_directive(hang_s=0.7))))
    await asyncio.sleep(0.2)  # the slow request holds the only slot
    started = time.monotonic()
    reply = await asyncio.to_thread(openai_client(pair.b.url, key, retries=2).chat.completions.create, **chat())
    waited = time.monotonic() - started
    await slow
    assert reply.choices[0].message.content
    assert 0.95 <= waited < 3  # one 429 with `retry-after-ms: 1000`, then success


async def test_sdks_do_not_retry_a_spent_budget(pair: Pair) -> None:
    key = await create_key(pair, budget_tokens=1)
    started = time.monotonic()
    with pytest.raises(openai.RateLimitError) as refused:
        openai_client(pair.a.url, key, retries=2).chat.completions.create(**chat())
    assert refused.value.code == "insufficient_quota"
    assert time.monotonic() - started < 0.4  # no backoff happened
