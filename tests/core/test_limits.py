"""Admission: rpm, tpm, concurrency and budgets, on the in-memory and the Redis counters alike."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from llmswitch.config import Price, parse_config
from llmswitch.core.auth import Principal
from llmswitch.core.keys import KeyFields, new_record
from llmswitch.core.limits import Limiter, budget_window, duration
from llmswitch.dialects.usage import Usage
from llmswitch.errors import GatewayError
from tests.support.databases import redis_url  # noqa: F401  (fixture)

DOLLAR = Price(input=1_000_000, output=1_000_000)  # one dollar per token: easy sums
FREE = Price()


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[Limiter]:
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        config = parse_config(f"redis_url: {url}\nlimits: {{backend: redis}}\n")
    else:
        config = parse_config("")
    limiter = Limiter(config)
    await limiter.start()
    yield limiter
    await limiter.stop()


def principal(**fields: object) -> Principal:
    record, _ = new_record(KeyFields(**fields), b"s", "sk-")  # type: ignore[arg-type]
    return Principal(kind="key", key_id=record.id, key=record)


async def admitted(limiter: Limiter, who: Principal, count: int, tokens: int = 1,
                   max_tokens: int | None = None) -> int:
    ok = 0
    for _ in range(count):
        try:
            await limiter.admit(who, tokens, max_tokens, price=lambda: FREE)
            ok += 1
        except GatewayError:
            pass
    return ok


async def test_a_key_without_limits_is_admitted_with_no_headers(limiter: Limiter) -> None:
    admission = await limiter.admit(principal(), 10, price=lambda: FREE)
    assert admission.headers == {}


async def test_rpm_admits_exactly_the_limit_in_a_burst(limiter: Limiter) -> None:
    assert await admitted(limiter, principal(rpm=5), 12) == 5


async def test_rpm_refusal_is_429_with_retry_after_and_headers(limiter: Limiter) -> None:
    who = principal(rpm=1)
    await limiter.admit(who, 1, price=lambda: FREE)
    with pytest.raises(GatewayError) as refused:
        await limiter.admit(who, 1, price=lambda: FREE)
    error = refused.value
    assert (error.status, error.type, error.code) == (429, "rate_limit_error", "rate_limit_exceeded")
    assert 1 <= int(error.headers["retry-after"]) <= 60
    assert error.headers["x-ratelimit-limit-requests"] == "1"
    assert error.headers["x-ratelimit-remaining-requests"] == "0"


async def test_admitted_requests_carry_the_remaining_counts(limiter: Limiter) -> None:
    who = principal(rpm=10, tpm=1000)
    admission = await limiter.admit(who, 100, price=lambda: FREE)
    assert admission.headers["x-ratelimit-remaining-requests"] == "9"
    assert admission.headers["x-ratelimit-limit-tokens"] == "1000"
    assert admission.headers["x-ratelimit-remaining-tokens"] == "900"
    assert admission.headers["x-ratelimit-reset-requests"].endswith("s")


async def test_tpm_counts_the_prompt_estimate_and_max_tokens(limiter: Limiter) -> None:
    who = principal(tpm=100)
    await limiter.admit(who, 30, max_tokens=50, price=lambda: FREE)
    with pytest.raises(GatewayError, match="TPM"):
        await limiter.admit(who, 10, max_tokens=20, price=lambda: FREE)


async def test_settling_returns_unused_tokens_to_the_minute(limiter: Limiter) -> None:
    who = principal(tpm=100)
    admission = await limiter.admit(who, 30, max_tokens=60, price=lambda: FREE)
    await admission.settle(Usage(prompt_tokens=5, completion_tokens=5), 0.0)
    assert (await limiter.usage_of(who.key)).tokens == 10


async def test_concurrency_is_capped_and_freed_by_settling(limiter: Limiter) -> None:
    who = principal(max_concurrent=2)
    first = await limiter.admit(who, 1, price=lambda: FREE)
    await limiter.admit(who, 1, price=lambda: FREE)
    with pytest.raises(GatewayError) as refused:
        await limiter.admit(who, 1, price=lambda: FREE)
    assert refused.value.code == "concurrency_limit_exceeded"
    await first.settle(None, 0.0)
    await limiter.admit(who, 1, price=lambda: FREE)


async def test_a_spent_budget_is_429_insufficient_quota_that_sdks_do_not_retry(limiter: Limiter) -> None:
    who = principal(budget_usd=10.0)
    admission = await limiter.admit(who, 4, max_tokens=4, price=lambda: DOLLAR)  # reserves $8
    await admission.settle(Usage(prompt_tokens=4, completion_tokens=4), 8.0)
    with pytest.raises(GatewayError) as refused:
        await limiter.admit(who, 1, max_tokens=4, price=lambda: DOLLAR)
    error = refused.value
    assert (error.status, error.type, error.code) == (429, "insufficient_quota", "insufficient_quota")
    assert error.headers["x-should-retry"] == "false"


async def test_parallel_reservations_cannot_overspend_a_budget(limiter: Limiter) -> None:
    who = principal(budget_usd=20.0)
    results = await asyncio.gather(*(limiter.admit(who, 1, max_tokens=1, price=lambda: DOLLAR) for _ in range(50)),
                                   return_exceptions=True)
    assert sum(not isinstance(r, BaseException) for r in results) == 10  # $2 each


async def test_settling_a_failed_call_releases_its_reservation(limiter: Limiter) -> None:
    who = principal(budget_usd=2.0)
    admission = await limiter.admit(who, 1, max_tokens=1, price=lambda: DOLLAR)
    await admission.settle(None, 0.0)
    assert (await limiter.usage_of(who.key)).spent_usd == 0
    await limiter.admit(who, 1, max_tokens=1, price=lambda: DOLLAR)


async def test_a_token_budget_counts_real_tokens_after_settling(limiter: Limiter) -> None:
    who = principal(budget_tokens=100)
    admission = await limiter.admit(who, 10, max_tokens=50, price=lambda: FREE)
    await admission.settle(Usage(prompt_tokens=10, completion_tokens=20), 0.0)
    assert (await limiter.usage_of(who.key)).spent_tokens == 30


async def test_keys_do_not_share_counters(limiter: Limiter) -> None:
    await admitted(limiter, principal(rpm=1), 1)
    assert await admitted(limiter, principal(rpm=1), 1) == 1


def test_reset_durations_use_openais_format() -> None:
    assert [duration(0.02), duration(1.5), duration(360)] == ["20ms", "1.5s", "6m0s"]


def test_budget_periods_start_at_utc_boundaries() -> None:
    wednesday = 1718150400.0 + 3600  # 2024-06-12 01:00 UTC
    assert budget_window("daily", wednesday)[:2] == ("2024-06-12", 1718150400.0)
    assert budget_window("weekly", wednesday)[:2] == ("2024-W24", 1717977600.0)
    assert budget_window("monthly", wednesday)[:2] == ("2024-06", 1717200000.0)
    assert budget_window("total", wednesday) == ("total", 0.0, 0)


async def test_a_concurrency_slot_never_settled_is_reclaimed_when_its_lease_runs_out(limiter: Limiter) -> None:
    limiter.lease_ttl = 0.2
    who = principal(max_concurrent=1)
    await limiter.admit(who, 1, price=lambda: FREE)  # its request never settles (a bug, a lost process)
    with pytest.raises(GatewayError):
        await limiter.admit(who, 1, price=lambda: FREE)
    await asyncio.sleep(1.1)  # Redis leases are scored in seconds
    await limiter.admit(who, 1, price=lambda: FREE)


async def test_an_unreachable_redis_is_503_limits_unavailable_with_retry_after() -> None:
    limiter = Limiter(parse_config("redis_url: redis://127.0.0.1:9/0\n"))
    await limiter.start()  # a Redis that is down does not stop the gateway from starting
    try:
        with pytest.raises(GatewayError) as refused:
            await limiter.admit(principal(rpm=10), 1, price=lambda: FREE)
    finally:
        await limiter.stop()
    error = refused.value
    assert (error.status, error.type, error.code) == (503, "service_unavailable_error", "limits_unavailable")
    assert error.headers["retry-after"] == "1"
