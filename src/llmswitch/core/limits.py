"""Admission control per key: requests and tokens per minute, concurrent requests, budgets.

`Limiter.admit` runs before any upstream call. It reserves what the request may use (its prompt
estimate plus `max_tokens` against tpm; that many tokens at the highest price among the targets that
may serve it against the budget), so that parallel requests cannot overspend; `Admission.settle`
then corrects the reservation with what the request was billed. Refusals are 429s carrying
`Retry-After`; every admitted response carries the `x-ratelimit-*` headers of the limits its key has.

Whatever a key's record holds, admission works with it: each limit is read within `CAPS`, the range
the counters hold exactly (and the admin API accepts), so no stored value can turn a request into a 500.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from llmswitch.config import Config, Price
from llmswitch.core.auth import Principal
from llmswitch.core.counters import Ask, Counters, CountersUnavailable, MemoryCounters, Snapshot, Verdict
from llmswitch.core.keys import KeyRecord
from llmswitch.core.pricing import PriceTable, cost
from llmswitch.dialects.usage import Usage
from llmswitch.errors import GatewayError

log = logging.getLogger("llmswitch.limits")
MICRO = 1_000_000
LEASE_MARGIN_S = 60.0
# The largest value of each limit: rates fit the 32-bit storage columns; budgets stay where Lua's
# doubles and Redis's 64-bit counters count every micro-dollar and token exactly.
MAX_RATE = 2**31 - 1
CAPS: dict[str, int | float] = {"rpm": MAX_RATE, "tpm": MAX_RATE, "max_concurrent": MAX_RATE,
                                "budget_usd": 1e9, "budget_tokens": 10**15}
MAX_TOKENS = 10**12  # the most one request reserves or settles, whatever its body or its upstream says
MAX_COST_USD = 2 * CAPS["budget_usd"]


@dataclass(slots=True)
class Admission:
    headers: dict[str, str]  # x-ratelimit-* for the response
    limiter: Limiter | None = None
    ask: Ask | None = None
    verdict: Verdict | None = None

    async def settle(self, usage: Usage | None, cost_usd: float) -> None:
        """Correct the reservation with what the request was billed (None: nothing, release it all).
        Never raises: it runs in the request's `finally`."""
        if self.limiter is None or self.ask is None or self.verdict is None:
            return
        ask = self.ask
        try:
            tokens = _tokens(usage.total_tokens) if usage else 0
            spent = _micro(cost_usd) if usage and ask.budget else 0
            await self.limiter.counters.release(ask, self.verdict, tokens - ask.tokens, spent - ask.cost,
                                                tokens - ask.cost_tokens)
        except Exception:  # a lost settlement must not turn a served answer into an error
            log.exception("could not settle the limits of key %s", ask.scope)


UNLIMITED = Admission(headers={})


class BudgetPeriod(NamedTuple):
    """The period of a budget that holds a moment, in UTC: its id, its bounds in unix seconds (a total
    budget's one period: from 0 to infinity)."""

    name: str
    start: float
    end: float


def period_bounds(period: str, now: float) -> BudgetPeriod:
    """The budget PERIOD (daily, weekly, monthly, else total) that holds NOW."""
    day = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "daily":
        start, end, name = day, day + timedelta(days=1), day.strftime("%Y-%m-%d")
    elif period == "weekly":
        start = day - timedelta(days=day.weekday())
        end, name = start + timedelta(days=7), start.strftime("%G-W%V")
    elif period == "monthly":
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
        name = start.strftime("%Y-%m")
    else:
        return BudgetPeriod("total", 0.0, math.inf)
    return BudgetPeriod(name, start.timestamp(), end.timestamp())


def budget_window(period: str, now: float) -> tuple[str, float, int]:
    """(period id, period start, seconds its counter must live) for a budget period, in UTC."""
    name, start, end = period_bounds(period, now)
    return name, start, 0 if end == math.inf else int(end - now) + 86400


def duration(seconds: float) -> str:
    """OpenAI's reset format: `20ms`, `1.5s`, `6m0s`."""
    if seconds < 1:
        return f"{max(0, math.ceil(seconds * 1000))}ms"
    if seconds < 60:
        return f"{round(seconds, 3):g}s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{round(rest):d}s"


def rate_headers(ask: Ask, verdict: Verdict) -> dict[str, str]:
    headers: dict[str, str] = {}
    if ask.rpm:
        headers["x-ratelimit-limit-requests"] = str(ask.rpm)
        headers["x-ratelimit-remaining-requests"] = str(max(0, ask.rpm - verdict.requests))
        headers["x-ratelimit-reset-requests"] = duration(verdict.requests_reset)
    if ask.tpm:
        headers["x-ratelimit-limit-tokens"] = str(ask.tpm)
        headers["x-ratelimit-remaining-tokens"] = str(max(0, ask.tpm - verdict.tokens))
        headers["x-ratelimit-reset-tokens"] = duration(verdict.tokens_reset)
    return headers


def _micro(usd: float) -> int:
    """Micro-dollars, rounded up; NaN, infinities and negatives land inside [0, MAX_COST_USD]."""
    return math.ceil(max(0.0, min(MAX_COST_USD, usd)) * MICRO)


def _tokens(count: float) -> int:
    return int(max(0, min(MAX_TOKENS, count)))


def has_limits(key: KeyRecord) -> bool:
    return bool(key.rpm or key.tpm or key.max_concurrent or key.budget_usd is not None
                or key.budget_tokens is not None)


class Limiter:
    def __init__(self, config: Config):
        self.config = config
        self.prices = PriceTable(config)
        self.counters: Counters = MemoryCounters()
        self.lease_ttl = config.server.max_timeout_s + LEASE_MARGIN_S
        # Leases are unique without a random draw per request: this process's own prefix, then a count.
        self._leases = map(f"{secrets.token_hex(8)}-{{}}".format, itertools.count())
        self.on_refusal: Callable[[str], None] | None = None  # told why (`Verdict.refused`) of each 429 (the metrics)

    @property
    def backend(self) -> str:
        return self.config.limits.backend or ("redis" if self.config.redis_url else "memory")

    async def start(self) -> None:
        """Connect to the shared counter store, if any."""
        if self.backend == "redis":
            from llmswitch.core.counters_redis import RedisCounters

            if not self.config.redis_url:
                raise RuntimeError("limits.backend is redis but redis_url is not set")
            self.counters = RedisCounters(self.config.redis_url)
        await self.counters.start()
        if isinstance(self.counters, MemoryCounters) and self.config.auth.effective_mode == "keys":
            await self._seed_budgets(self.counters)

    async def _seed_budgets(self, counters: MemoryCounters) -> None:
        """In-memory budgets start from the spend recorded in the database, so a restart does not
        hand out a fresh budget. (Redis counters outlive gateway restarts by themselves.)"""
        from llmswitch.store import acquire_store, release_store  # keys mode only: see core.auth

        store = await acquire_store(self.config.database_url)
        try:
            now = time.time()
            for key in await store.keys.list():
                if key.budget_usd is None and key.budget_tokens is None:
                    continue
                period, start, _ttl = budget_window(key.budget_period, now)
                _requests, spent, tokens = await store.usage.totals(key.id, start)
                counters.seed(key.id, period, _micro(spent), tokens)
        finally:
            await release_store(store)

    async def stop(self) -> None:
        await self.counters.stop()

    def ask(self, key: KeyRecord, price: Callable[[], Price], prompt_tokens: int, max_tokens: int | None,
            now: float, generates: bool = True, units: Usage | None = None) -> Ask:
        lease = next(self._leases)
        tokens = min(MAX_TOKENS, prompt_tokens + (max_tokens or 0))  # both positive integers
        rpm = min(MAX_RATE, key.rpm) if key.rpm else 0
        tpm = min(MAX_RATE, key.tpm) if key.tpm else 0
        concurrent = min(MAX_RATE, key.max_concurrent) if key.max_concurrent else 0
        if key.budget_usd is None and key.budget_tokens is None:  # the common case: nothing to price
            return Ask(key.id, rpm, tpm, concurrent, tokens, None, -1, -1, 0, 0, 0, self.lease_ttl, lease)
        reserve = _tokens(max_tokens or self.config.limits.budget_reserve_tokens) if generates else 0
        reserved = Usage(prompt_tokens, reserve)
        if units is not None:
            reserved.audio_seconds, reserved.characters = units.audio_seconds, units.characters
        period, _start, ttl = budget_window(key.budget_period, now)
        return Ask(
            scope=key.id, rpm=rpm, tpm=tpm, max_concurrent=concurrent, tokens=tokens, budget=period,
            budget_usd=_micro(min(CAPS["budget_usd"], key.budget_usd)) if key.budget_usd is not None else -1,
            budget_tokens=_tokens(min(CAPS["budget_tokens"], key.budget_tokens))
            if key.budget_tokens is not None else -1,
            cost=_micro(cost(price(), reserved)), cost_tokens=_tokens(prompt_tokens + reserve),
            budget_ttl=ttl, lease_ttl=self.lease_ttl, lease=lease,
        )

    async def admit(self, principal: Principal, estimated_tokens: int, max_tokens: int | None = None, *,
                    price: Callable[[], Price], metered: bool = True, generates: bool = True,
                    units: Usage | None = None) -> Admission:
        """Reserve this request's share of its key's limits, or raise the 429 that explains why not.
        `price` is asked only for a key with a budget: the highest price the request may be billed at.
        A call that `generates` nothing (embeddings) reserves no output against the budget; `units` are
        the audio seconds or characters the request says it uses (speech), reserved at their price.
        An unmetered call (count_tokens: nothing is generated or billed) counts against rpm and
        concurrency only; it reserves no tokens and no budget, so a spent budget does not stop it."""
        key = principal.key
        if key is None or not has_limits(key):
            return UNLIMITED
        ask = self.ask(key, price, estimated_tokens, max_tokens, time.time(), generates, units)
        if not metered:
            ask = dataclasses.replace(ask, tokens=0, budget=None)
        try:
            verdict = await self.counters.acquire(ask)
        except CountersUnavailable:
            raise _limits_unavailable() from None
        headers = rate_headers(ask, verdict)
        if verdict.refused is not None:
            if self.on_refusal is not None:
                self.on_refusal(verdict.refused)
            raise _refusal(key, ask, verdict, headers)
        return Admission(headers, self, ask, verdict)

    async def usage_of(self, key: KeyRecord) -> Snapshot:
        """The key's current counters, for `GET /v1/key`."""
        period, _start, _ttl = budget_window(key.budget_period, time.time())
        try:
            return await self.counters.snapshot(key.id, period)
        except CountersUnavailable:
            raise _limits_unavailable() from None


def _limits_unavailable() -> GatewayError:
    """Redis is down: a clear, retryable 503 rather than admitting unchecked or failing with a 500."""
    return GatewayError(503, "This key's rate limits cannot be checked right now (the limit store is "
                             "unreachable); retry shortly.", type="service_unavailable",
                        code="limits_unavailable", headers={"retry-after": "1"})


def _refusal(key: KeyRecord, ask: Ask, verdict: Verdict, headers: dict[str, str]) -> GatewayError:
    if verdict.refused == "budget":
        spent = "budget" if key.budget_usd is None else f"budget of ${key.budget_usd:g}"
        return GatewayError(
            429, f"You exceeded this key's {key.budget_period} {spent}; ask an administrator to raise it.",
            type="insufficient_quota", code="insufficient_quota",
            headers={**headers, "x-should-retry": "false"})  # retrying cannot help: stop the SDKs'
    retry = max(verdict.retry_after, 0.001)
    if verdict.refused == "concurrency":
        message = f"Too many concurrent requests for this key (limit {ask.max_concurrent}); retry shortly."
        code = "concurrency_limit_exceeded"
    else:
        unit, limit, used = (("requests", ask.rpm, verdict.requests) if verdict.refused == "requests"
                             else ("tokens", ask.tpm, verdict.tokens))
        label = "RPM" if unit == "requests" else "TPM"
        message = (f"Rate limit reached for {unit} per minute ({label}) on this key: limit {limit}, used {used}. "
                   f"Please try again in {duration(retry)}.")
        code = "rate_limit_exceeded"
    return GatewayError(429, message, type="rate_limit_error", code=code, headers={
        **headers, "retry-after": str(math.ceil(retry)), "retry-after-ms": str(math.ceil(retry * 1000))})
