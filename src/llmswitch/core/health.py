"""What the gateway knows about each target's recent behaviour, and whether it may be tried now.

One `TargetHealth` per target (deployment x upstream key). The attempt loop reports what happened
(`begin`, `responded`, `failed`, `finished`); the router asks `unavailable()` and reads the
measurements its strategies sort by (`in_flight`, `ttfb_ms`, `headroom()`). Everything is in
process memory: it describes what this worker saw, which is what its routing decisions need.

The circuit breaker: `failures` failures inside `window_s` open it for `cooldown_s`; after that
one live request is let through (half-open); its success closes the circuit, its failure opens it
again. An upstream key rejected with 401/403 opens it too: the target is probed again after the
cool-down and comes back once the key works (it may have been renewed or re-enabled upstream).
A `Retry-After` from the upstream cools the target for exactly that long instead.

Only failures that say something about the target count: the client's own choices (a bad
request, its short timeout, leaving early) never do, so one tenant cannot eject a target for all.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from llmswitch.config import RoutingConfig
from llmswitch.providers.base import UpstreamError

Circuit = Literal["closed", "open", "half_open"]
State = Literal["healthy", "cooling_down", "capped", "circuit_open", "circuit_half_open", "disabled"]
STATES: tuple[State, ...] = get_args(State)

EWMA_ALPHA = 0.3  # weight of the newest time-to-first-byte sample
ERROR_RATE_WINDOW_S = 60.0
MINUTE_S = 60.0


@dataclass(frozen=True, slots=True)
class Unavailable:
    """Why a target is skipped right now, and for how long (None: until something else happens)."""

    reason: str
    retry_in: float | None
    rate_limited: bool  # cooling after a 429 or capped by rpm/tpm, as opposed to broken
    ejected: bool = False  # by the gateway's own verdict (circuit open), not the upstream's word or a cap


def counts_against_health(error: UpstreamError) -> bool:
    """Failures that say something about the target rather than about the request: an answer past
    the gateway's size cap is this request's, and a call ended by our own shutdown is nobody's."""
    if error.kind in ("body_too_large", "shutdown"):
        return False
    if error.kind != "http" or error.status is None:
        return True
    return error.status in (408, 429, 529) or error.status >= 500


class OutcomeWindow:
    """Attempts and failures of the last `window_s` seconds, counted per second: its memory stays at
    one small bucket per second however many requests a second brings (one entry per attempt held
    300,000 of them, 26 MB, per target at 5,000 requests/s)."""

    def __init__(self, window_s: float):
        self.window_s = window_s
        self._buckets: deque[list[int]] = deque()  # [second, attempts, failures], oldest first
        self._attempts = 0
        self._failures = 0

    def add(self, now: float, ok: bool) -> None:
        second = int(now)
        if self._buckets and self._buckets[-1][0] == second:
            bucket = self._buckets[-1]
        else:
            bucket = [second, 0, 0]
            self._buckets.append(bucket)
            self._expire(now)
        bucket[1] += 1
        self._attempts += 1
        if not ok:
            bucket[2] += 1
            self._failures += 1

    def failure_share(self, now: float) -> float:
        self._expire(now)
        return self._failures / self._attempts if self._attempts else 0.0

    def _expire(self, now: float) -> None:
        while self._buckets and self._buckets[0][0] < now - self.window_s:
            _second, attempts, failures = self._buckets.popleft()
            self._attempts -= attempts
            self._failures -= failures


class TargetHealth:
    """Health, load and quota of one target; every method is O(1) amortized and never awaits."""

    def __init__(self, routing: RoutingConfig, rpm: int | None = None, tpm: int | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.routing = routing
        self.rpm = rpm
        self.tpm = tpm
        self.clock = clock
        self.in_flight = 0
        self.ttfb_ms: float | None = None
        self.circuit: Circuit = "closed"
        self.circuit_until = 0.0
        self.probing = False
        self.cooldown_until = 0.0
        self.cooldown_reason = ""
        self.disabled_reason: str | None = None
        self._failures: deque[float] = deque()
        self._outcomes = OutcomeWindow(ERROR_RATE_WINDOW_S)
        self._minute = -1
        self._minute_requests = 0
        self._minute_tokens = 0

    # --- questions the router asks -----------------------------------------------------------
    def unavailable(self) -> Unavailable | None:
        """None when the target may be tried now; otherwise why not."""
        now = self.clock()
        if now < self.cooldown_until:
            return Unavailable(self.cooldown_reason, self.cooldown_until - now,
                               rate_limited=self.cooldown_reason.startswith("429"))
        state = self.circuit_state()
        # A rejected key is the upstream's own word, not a verdict the gateway may override.
        ejected = self.disabled_reason is None
        if state == "open":
            return Unavailable(self.disabled_reason or "circuit open", self.circuit_until - now,
                               rate_limited=False, ejected=ejected)
        if state == "half_open" and self.probing:
            return Unavailable(f"{self.disabled_reason or 'circuit half-open'}, probe in flight", None,
                               rate_limited=False, ejected=ejected)
        self._roll_minute()
        if self.rpm is not None and self._minute_requests >= self.rpm:
            return Unavailable(f"rpm cap {self.rpm} reached", self._minute_left(), rate_limited=True)
        if self.tpm is not None and self._minute_tokens >= self.tpm:
            return Unavailable(f"tpm cap {self.tpm} reached", self._minute_left(), rate_limited=True)
        return None

    def circuit_state(self) -> Circuit:
        if self.circuit == "open" and self.clock() >= self.circuit_until:
            self.circuit = "half_open"
        return self.circuit

    def headroom(self) -> float:
        """Fraction of this minute's rpm/tpm caps still unused (1.0 when uncapped)."""
        self._roll_minute()
        room = 1.0
        if self.rpm:
            room = min(room, 1.0 - self._minute_requests / self.rpm)
        if self.tpm:
            room = min(room, 1.0 - self._minute_tokens / self.tpm)
        return max(room, 0.0)

    def error_rate(self) -> float:
        """Share of failed attempts in the last minute (0.0 with no traffic)."""
        return self._outcomes.failure_share(self.clock())

    # --- what the attempt loop reports -------------------------------------------------------
    def begin(self, estimated_tokens: int = 0) -> None:
        """An attempt starts: it counts in flight and against this minute's caps."""
        self.in_flight += 1
        self._roll_minute()
        self._minute_requests += 1
        self._minute_tokens += estimated_tokens
        if self.circuit_state() == "half_open":
            self.probing = True

    def responded(self, ttfb_s: float) -> None:
        """The attempt produced its first content: the target works, whatever happens later."""
        sample = ttfb_s * 1000.0
        self.ttfb_ms = sample if self.ttfb_ms is None else (1 - EWMA_ALPHA) * self.ttfb_ms + EWMA_ALPHA * sample
        self._record(True)
        self.circuit = "closed"
        self.probing = False
        self.disabled_reason = None
        self._failures.clear()

    def finished(self, tokens: int = 0, estimated_tokens: int = 0, error: UpstreamError | None = None) -> None:
        """A successful attempt's answer is complete (or broke after content): leave in-flight,
        correct the token estimate, and count a late failure against the target (the caller
        passes no `error` when the client's own choice caused it)."""
        self.in_flight = max(0, self.in_flight - 1)
        self._roll_minute()
        self._minute_tokens += tokens - estimated_tokens
        if error is not None and counts_against_health(error):
            self._failure(self.clock())

    def failed(self, error: UpstreamError, own_key: bool = True, by_client: bool = False) -> None:
        """The attempt failed before any content: cool down, disable the key or count a failure.
        `by_client`: the client's own choice (its shorter timeout) caused it, so it proves nothing."""
        self.in_flight = max(0, self.in_flight - 1)
        now = self.clock()
        if error.retry_after:
            self.cooldown_until = max(self.cooldown_until, now + error.retry_after)
            self.cooldown_reason = f"{error.status or error.kind} with retry-after"
        if own_key and error.kind == "http" and error.status in (401, 403):
            self.disabled_reason = f"upstream key rejected ({error.status})"
            self._open(now)  # probed again after the cool-down, like any open circuit
        elif counts_against_health(error) and not by_client:
            self._failure(now)
        elif self.probing:
            self.probing = False  # the probe proved nothing either way: let the next one try

    def abandoned(self) -> None:
        """The attempt was cancelled (the client left): no verdict on the target."""
        self.in_flight = max(0, self.in_flight - 1)
        self.probing = False

    # --- internals ---------------------------------------------------------------------------
    def _failure(self, now: float) -> None:
        self._record(False)
        if self.circuit_state() != "closed":  # a failed probe, or a failed try while every target was open
            self._open(now)
            return
        self._failures.append(now)
        while self._failures and self._failures[0] < now - self.routing.circuit_window_s:
            self._failures.popleft()
        if len(self._failures) >= self.routing.circuit_failures:
            self._open(now)

    def _open(self, now: float) -> None:
        self.circuit = "open"
        self.circuit_until = now + self.routing.circuit_cooldown_s
        self.probing = False
        self._failures.clear()

    def _record(self, ok: bool) -> None:
        self._outcomes.add(self.clock(), ok)

    def _roll_minute(self) -> None:
        minute = int(self.clock() // MINUTE_S)
        if minute != self._minute:
            self._minute = minute
            self._minute_requests = 0
            self._minute_tokens = 0

    def _minute_left(self) -> float:
        return MINUTE_S - self.clock() % MINUTE_S

    # --- visibility --------------------------------------------------------------------------
    def state(self) -> State:
        """What the target is now, in one word (`snapshot`'s, and the metrics')."""
        if self.disabled_reason is not None:
            return "disabled"
        if self.circuit_state() != "closed":
            return "circuit_half_open" if self.circuit == "half_open" else "circuit_open"
        if self.unavailable() is not None:
            return "cooling_down" if self.clock() < self.cooldown_until else "capped"
        return "healthy"

    def snapshot(self) -> dict[str, Any]:
        """The state `GET /health/ready` and `llmswitch status` show (wall-clock times)."""
        state = self.state()
        blocked = self.unavailable()
        until = None
        if blocked is not None and blocked.retry_in is not None:
            until = round(time.time() + blocked.retry_in, 3)
        self._roll_minute()
        return {
            "state": state,
            "reason": blocked.reason if blocked else None,
            "until": until,
            "latency_ms": None if self.ttfb_ms is None else round(self.ttfb_ms, 1),
            "error_rate": round(self.error_rate(), 3),
            "in_flight": self.in_flight,
            "requests_this_minute": self._minute_requests,
            "tokens_this_minute": self._minute_tokens,
            "rpm": self.rpm,
            "tpm": self.tpm,
        }
