"""The counters behind admission: requests and tokens in a sliding minute, concurrent requests,
and budget spend. One process keeps them in memory; `counters_redis` shares them across processes.

The minute is sixty one-second buckets, so a burst is cut at exactly the limit (no fixed-window
double burst at a minute boundary) and the time until capacity frees is known to the second.
Every admitted request holds a lease with a deadline, here as in Redis: its concurrency slot, and
its right to settle. Settling removes the lease and applies the corrections only if it was there, so
a request settles exactly once; should it never settle, its lease (and slot) is reclaimed once the
lease runs out.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

WINDOW_S = 60


@dataclass(slots=True)
class Ask:
    """What one request asks of a key's counters. Limits of 0 / None are not enforced."""

    scope: str  # the key id
    rpm: int
    tpm: int
    max_concurrent: int
    tokens: int  # reserved against tpm
    budget: str | None  # the budget period counted (e.g. `2025-06` for monthly), None: no budget
    budget_usd: int  # limit in micro-dollars, -1: none
    budget_tokens: int  # -1: none
    cost: int  # micro-dollars reserved against the budget
    cost_tokens: int  # tokens reserved against the budget
    budget_ttl: int  # seconds the budget counter must outlive its period (0: forever)
    lease_ttl: float  # a lease is reclaimed after this, should its request never settle
    lease: str  # unique to the request


@dataclass(slots=True)
class Verdict:
    refused: str | None  # None, "requests", "tokens", "concurrency" or "budget"
    retry_after: float
    requests: int  # used in the window, this request included when admitted
    requests_reset: float  # seconds until the request window is empty
    tokens: int
    tokens_reset: float
    second: int  # the bucket holding this request's tokens, for settling


@dataclass(slots=True)
class Snapshot:
    requests: int
    tokens: int
    concurrent: int
    spent_usd: int  # micro-dollars
    spent_tokens: int


class CountersUnavailable(Exception):
    """The shared counter store cannot be reached: limits can be neither checked nor enforced."""


class Counters(Protocol):
    async def acquire(self, ask: Ask) -> Verdict: ...

    async def release(self, ask: Ask, verdict: Verdict, tokens_delta: int, cost_delta: int,
                      cost_tokens_delta: int) -> None:
        """Return the concurrency slot and correct the reservations by the deltas (real - reserved)."""

    async def snapshot(self, scope: str, budget: str | None) -> Snapshot: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(slots=True)
class Window:
    """Amounts per second over the last minute, with a running total."""

    buckets: deque[list[int]] = field(default_factory=deque)  # [second, amount], oldest first
    total: int = 0

    def prune(self, second: int) -> None:
        while self.buckets and self.buckets[0][0] <= second - WINDOW_S:
            self.total -= self.buckets.popleft()[1]

    def add(self, second: int, amount: int) -> None:
        if self.buckets and self.buckets[-1][0] == second:
            self.buckets[-1][1] += amount
        else:
            self.buckets.append([second, amount])
        self.total += amount

    def adjust(self, second: int, delta: int) -> None:
        for bucket in reversed(self.buckets):
            if bucket[0] == second:
                delta = max(delta, -bucket[1])
                bucket[1] += delta
                self.total += delta
                return

    def wait(self, now: float, excess: int) -> float:
        """Seconds until `excess` has left the window."""
        for second, amount in self.buckets:
            excess -= amount
            if excess <= 0:
                return second + WINDOW_S - now
        return float(WINDOW_S)

    def reset(self, now: float) -> float:
        return self.buckets[-1][0] + WINDOW_S - now if self.buckets else 0.0


@dataclass(slots=True)
class Scope:
    requests: Window = field(default_factory=Window)
    tokens: Window = field(default_factory=Window)
    leases: dict[str, float] = field(default_factory=dict)  # requests in flight -> lease deadline

    def concurrent(self, now: float) -> int:
        """Slots held now; expired leases are dropped first."""
        expired = [lease for lease, deadline in self.leases.items() if deadline <= now]
        for lease in expired:
            del self.leases[lease]
        return len(self.leases)


class MemoryCounters:
    """Counters for a single process: plain Python, atomic because the event loop is."""

    def __init__(self) -> None:
        self.scopes: dict[str, Scope] = {}
        self.budgets: dict[tuple[str, str], list[int]] = {}  # (key, period) -> [micro-dollars, tokens]

    async def acquire(self, ask: Ask) -> Verdict:
        now = time.time()
        second = int(now)
        scope = self.scopes.get(ask.scope)
        if scope is None:
            scope = self.scopes[ask.scope] = Scope()
        requests, tokens = scope.requests, scope.tokens
        refused, retry = None, 0.0
        if ask.rpm:
            requests.prune(second)
            if requests.total + 1 > ask.rpm:
                refused, retry = "requests", requests.wait(now, requests.total + 1 - ask.rpm)
        if ask.tpm:
            tokens.prune(second)
            need = min(ask.tokens, ask.tpm)
            if refused is None and tokens.total + need > ask.tpm:
                refused, retry = "tokens", tokens.wait(now, tokens.total + need - ask.tpm)
        if (refused is None and ask.max_concurrent and len(scope.leases) >= ask.max_concurrent
                and scope.concurrent(now) >= ask.max_concurrent):
            refused, retry = "concurrency", 1.0
        if refused is None and ask.budget and _over_budget(ask, *self.budgets.get((ask.scope, ask.budget), (0, 0))):
            refused = "budget"
        if refused is None:
            if ask.rpm:
                requests.add(second, 1)
            if ask.tpm:
                tokens.add(second, ask.tokens)
            scope.leases[ask.lease] = now + ask.lease_ttl
            if ask.budget:
                spent = self.budgets.setdefault((ask.scope, ask.budget), [0, 0])
                spent[0] += ask.cost
                spent[1] += ask.cost_tokens
        return Verdict(refused, retry, requests.total, requests.reset(now), tokens.total, tokens.reset(now), second)

    async def release(self, ask: Ask, verdict: Verdict, tokens_delta: int, cost_delta: int,
                      cost_tokens_delta: int) -> None:
        scope = self.scopes[ask.scope]
        if scope.leases.pop(ask.lease, None) is None:
            return  # settled already, or its lease ran out
        if ask.tpm and tokens_delta:
            scope.tokens.adjust(verdict.second, tokens_delta)
        if ask.budget:
            spent = self.budgets[(ask.scope, ask.budget)]
            spent[0] = max(0, spent[0] + cost_delta)
            spent[1] = max(0, spent[1] + cost_tokens_delta)

    async def snapshot(self, scope: str, budget: str | None) -> Snapshot:
        now = time.time()
        second = int(now)
        state = self.scopes.get(scope) or Scope()
        state.requests.prune(second)
        state.tokens.prune(second)
        spent = self.budgets.get((scope, budget), [0, 0]) if budget else [0, 0]
        return Snapshot(state.requests.total, state.tokens.total, state.concurrent(now), spent[0], spent[1])

    def seed(self, scope: str, budget: str, micro_usd: int, tokens: int) -> None:
        """Start a budget from spend recorded before this process started."""
        self.budgets[(scope, budget)] = [micro_usd, tokens]

    async def start(self) -> None:
        """Nothing to connect to."""

    async def stop(self) -> None:
        """Nothing to release."""


def _over_budget(ask: Ask, spent_usd: int, spent_tokens: int) -> bool:
    return ((ask.budget_usd >= 0 and spent_usd + ask.cost > ask.budget_usd)
            or (ask.budget_tokens >= 0 and spent_tokens + ask.cost_tokens > ask.budget_tokens))
