"""The Redis counters under load and failure: requests wait for a connection instead of failing, a
settlement counts exactly once however often it is sent, and one Redis did not take is retried
until it lands (real Redis)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as redis

from llmswitch.config import Price, parse_config
from llmswitch.core.auth import Principal
from llmswitch.core.counters_redis import RedisCounters
from llmswitch.core.keys import KeyFields, new_record
from llmswitch.core.limits import MICRO, Limiter
from llmswitch.dialects.usage import Usage
from tests.support.databases import redis_url  # noqa: F401  (fixture)

DOLLAR = Price(input=1_000_000, output=1_000_000)


@pytest.fixture
async def limiter(redis_url: str) -> AsyncIterator[Limiter]:  # noqa: F811
    limiter = Limiter(parse_config(f"redis_url: {redis_url}\nlimits: {{backend: redis}}\n"))
    await limiter.start()
    yield limiter
    await limiter.stop()


def principal(**fields: Any) -> Principal:
    record, _ = new_record(KeyFields(**fields), b"s", "sk-")
    return Principal(kind="key", key_id=record.id, key=record)


def counters(limiter: Limiter) -> RedisCounters:
    assert isinstance(limiter.counters, RedisCounters)
    return limiter.counters


class Flaky:
    """The release script, failing as a Redis that went away would, the first `failures` times."""

    def __init__(self, script: Any, failures: int):
        self.script, self.failures, self.calls = script, failures, 0

    async def __call__(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls <= self.failures:
            raise redis.ConnectionError("Connection refused")
        return await self.script(**kwargs)


async def eventually(check: Any, timeout_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "never happened"
        await asyncio.sleep(0.02)


async def test_300_concurrent_admissions_share_the_pool_and_are_counted_exactly(limiter: Limiter) -> None:
    who = principal(rpm=1000, max_concurrent=1000, budget_usd=10_000.0)
    admissions = await asyncio.gather(*(limiter.admit(who, 1, 1, price=lambda: DOLLAR) for _ in range(300)))
    snapshot = await limiter.usage_of(who.key)  # type: ignore[arg-type]
    assert (snapshot.requests, snapshot.concurrent, snapshot.spent_usd) == (300, 300, 600 * MICRO)
    await asyncio.gather(*(a.settle(Usage(prompt_tokens=1, completion_tokens=0), 1.0) for a in admissions))
    snapshot = await limiter.usage_of(who.key)  # type: ignore[arg-type]
    assert (snapshot.concurrent, snapshot.spent_usd, snapshot.spent_tokens) == (0, 300 * MICRO, 300)


async def test_a_settlement_sent_twice_counts_once(limiter: Limiter) -> None:
    who = principal(tpm=1000, max_concurrent=5, budget_tokens=1000)
    admission = await limiter.admit(who, 10, 90, price=lambda: DOLLAR)
    await admission.settle(Usage(prompt_tokens=10, completion_tokens=10), 0.0)
    await admission.settle(Usage(prompt_tokens=10, completion_tokens=10), 0.0)
    snapshot = await limiter.usage_of(who.key)  # type: ignore[arg-type]
    assert (snapshot.tokens, snapshot.spent_tokens, snapshot.concurrent) == (20, 20, 0)


async def test_an_admission_sent_twice_counts_once(limiter: Limiter) -> None:
    who = principal(rpm=10, max_concurrent=5)
    ask = limiter.ask(who.key, lambda: DOLLAR, 1, None, 0.0)  # type: ignore[arg-type]
    await limiter.counters.acquire(ask)
    await limiter.counters.acquire(ask)  # redis-py resends a script whose answer was lost
    snapshot = await limiter.usage_of(who.key)  # type: ignore[arg-type]
    assert (snapshot.requests, snapshot.concurrent) == (1, 1)


async def test_a_settlement_redis_did_not_take_is_retried_until_it_lands(limiter: Limiter) -> None:
    who = principal(max_concurrent=1, budget_usd=100.0)
    flaky = Flaky(counters(limiter)._release, failures=3)
    counters(limiter)._release = flaky  # type: ignore[assignment]
    admission = await limiter.admit(who, 5, 5, price=lambda: DOLLAR)
    await admission.settle(Usage(prompt_tokens=5, completion_tokens=1), 6.0)  # returns at once: not taken yet

    async def settled() -> bool:
        snapshot = await limiter.usage_of(who.key)  # type: ignore[arg-type]
        return snapshot.concurrent == 0 and snapshot.spent_usd == 6 * MICRO

    await eventually(settled)
    assert flaky.calls == 4


async def test_a_request_cancelled_while_it_settles_still_settles(limiter: Limiter) -> None:
    who = principal(max_concurrent=1, budget_usd=100.0)
    admission = await limiter.admit(who, 5, 5, price=lambda: DOLLAR)
    settling = asyncio.create_task(admission.settle(Usage(prompt_tokens=5, completion_tokens=1), 6.0))
    await asyncio.sleep(0)
    settling.cancel()
    with pytest.raises(asyncio.CancelledError):
        await settling

    async def settled() -> bool:
        return (await limiter.usage_of(who.key)).concurrent == 0  # type: ignore[arg-type]

    await eventually(settled)
    assert (await limiter.usage_of(who.key)).spent_usd == 6 * MICRO  # type: ignore[arg-type]


async def test_stopping_sends_the_settlements_still_waiting(redis_url: str) -> None:  # noqa: F811
    config = parse_config(f"redis_url: {redis_url}\nlimits: {{backend: redis}}\n")
    first = Limiter(config)
    await first.start()
    who = principal(max_concurrent=1)
    counters(first)._release = Flaky(counters(first)._release, failures=1)  # type: ignore[assignment]
    admission = await first.admit(who, 1, price=lambda: DOLLAR)
    await admission.settle(None, 0.0)
    await first.stop()  # before the retry's first wait is over
    second = Limiter(config)
    await second.start()
    try:
        assert (await second.usage_of(who.key)).concurrent == 0  # type: ignore[arg-type]
    finally:
        await second.stop()
