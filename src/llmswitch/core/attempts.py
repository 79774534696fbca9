"""Trying a plan's targets in order until one answers, and deciding which failures may move on.

The rule that keeps billed work from being duplicated lives here. A failure after which the
upstream certainly did nothing (refused, 429, 503, 529, a rejected upstream key) always moves on.
One where the body may have reached the model (first-byte timeout, reset, 500, 502, 504, a stream
that broke before content) moves on only when `retry_unsafe` allows it, the most specific setting
winning: deployment, then model, then the caller's default. A request the client must fix goes
back at once, except a prompt too long for the model, which switches to the model's
`context_window_fallbacks` chain when it has one.

Every attempt is reported to its target's health; the caller reports the end of a successful
one through `Outcome.finish`, because a stream keeps its target busy after the first content.
A timeout that ran out at the client's own, shorter deadline is reported as the client's doing.

The request's timeout is one `Deadline` for all its attempts and fallbacks: each attempt gets
what is left, and once nothing is, the last failure is the answer. When every target is out of
the plan and none was tried, the best one the gateway ejected itself is tried anyway
(`routing.best_ejected`): refusing at once would answer for a target nobody asked.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from llmswitch.core.routing import Plan, Skipped, Target, best_ejected
from llmswitch.dialects.usage import Usage
from llmswitch.errors import ANTHROPIC_TYPES, OPENAI_TYPES, GatewayError
from llmswitch.providers.base import UpstreamError
from llmswitch.providers.http import Timeouts
from llmswitch.telemetry import tracing

T = TypeVar("T")
Verdict = Literal["move_on", "stop", "overflow"]

OVERFLOW_CODES = {"context_length_exceeded", "model_context_window_exceeded", "context_window_exceeded"}
# OpenAI: "This model's maximum context length is N tokens", Responses: "exceeds the context window";
# Anthropic: "prompt is too long: N tokens > M maximum", "input length and `max_tokens` exceed context
# limit"; Gemini: "The input token count (N) exceeds the maximum number of tokens allowed (M)".
OVERFLOW_TEXT = re.compile(
    r"maximum context length|context window|prompt is too long|exceed context limit"
    r"|input token count.*exceeds|exceeds the maximum number of tokens|too many tokens",
    re.IGNORECASE,
)
KNOWN_TYPES = set(OPENAI_TYPES.values()) | set(ANTHROPIC_TYPES.values())
TIMEOUT_KINDS = frozenset({"connect_timeout", "first_byte_timeout", "idle_timeout"})
# Timers are rounded to the millisecond, so a limit set to the deadline can fire a little before it.
DEADLINE_SLACK_S = 0.01


class Deadline:
    """When one request's time runs out, shared by every attempt and fallback, so that
    `max_attempts` tries cannot stretch a client's 60 s into five minutes. On the hot path, so a
    plain class with comparisons in place of min(): with a frozen dataclass and min() the deadline
    cost 18,700 instructions per request (bench/instructions.py), this way 8,700."""

    __slots__ = ("at", "shortened")

    def __init__(self, at: float, shortened: bool = False):
        self.at = at  # on time.perf_counter
        self.shortened = shortened  # the client asked for less time than the configured timeout

    def left(self) -> float:
        return self.at - time.perf_counter()

    def bound(self, timeouts: Timeouts, cap: float | None = None) -> Timeouts:
        """The limits of an attempt starting now: each one clipped to what is left of the request's
        time and to `cap` (the deployment's own timeout)."""
        total = self.at - time.perf_counter()
        if cap is not None and cap < total:
            total = cap
        if timeouts.total < total:
            total = timeouts.total
        if total < 0.0:
            total = 0.0
        return Timeouts(timeouts.connect if timeouts.connect < total else total,
                        timeouts.first_byte if timeouts.first_byte < total else total,
                        timeouts.idle if timeouts.idle < total else total, total)

    def ran_out_for_client(self, error: UpstreamError) -> bool:
        """Is this a timeout that fired at the client's own deadline, shorter than the configured
        one? Then it says nothing about the target, only about what the client asked for."""
        return self.shortened and error.kind in TIMEOUT_KINDS and self.left() <= DEADLINE_SLACK_S


@dataclass(slots=True)
class Attempt:
    provider: str
    target: str
    status: int | None  # the upstream's HTTP status, None for a transport failure
    kind: str
    reason: str
    duration_ms: float
    client_status: int
    retry_after: float | None

    @classmethod
    def of(cls, target: Target, error: UpstreamError, duration_s: float) -> Attempt:
        return cls(target.provider.name, target.label, error.status, error.kind, error.message,
                   duration_s * 1000.0, error.client_status, error.retry_after)

    def as_dict(self) -> dict[str, Any]:
        return {"provider": self.provider, "target": self.target, "status": self.status, "kind": self.kind,
                "reason": self.reason, "duration_ms": round(self.duration_ms, 1)}


@dataclass(slots=True)
class Outcome(Generic[T]):
    """A successful attempt; `attempts` are the failed ones before it."""

    value: T
    target: Target
    attempts: list[Attempt]
    estimated_tokens: int = 0
    deadline: Deadline | None = None
    _finished: bool = field(default=False, repr=False)

    @property
    def count(self) -> int:
        """Attempts made in all, this one included (the `x-llmswitch-attempts` header)."""
        return len(self.attempts) + 1

    def finish(self, usage: Usage | None, error: UpstreamError | None = None) -> None:
        """The answer is complete, or broke after content reached the client (`error`)."""
        if self._finished:
            return
        self._finished = True
        tokens = usage.total_tokens if usage is not None else self.estimated_tokens
        if error is not None and self.deadline is not None and self.deadline.ran_out_for_client(error):
            error = None  # the stream was cut at the client's own deadline: no verdict on the target
        self.target.health.finished(tokens, self.estimated_tokens, error)


def is_context_overflow(error: UpstreamError) -> bool:
    """Did the upstream reject the prompt as longer than the model's context window?"""
    if error.kind != "http" or error.status not in (400, 413, 422):
        return False
    if _upstream_field(error, "code") in OVERFLOW_CODES:
        return True
    return bool(OVERFLOW_TEXT.search(error.message))


def retry_unsafe_for(target: Target, default: bool) -> bool:
    """May a failure that possibly reached this target's model be retried elsewhere?"""
    if target.deployment.retry_unsafe is not None:
        return target.deployment.retry_unsafe
    if target.model.retry_unsafe is not None:
        return target.model.retry_unsafe
    return default


def judge(error: UpstreamError, target: Target, retry_unsafe: bool, own_keys: bool = True) -> Verdict:
    """What a failed attempt means for the rest of the plan."""
    status = error.status if error.kind == "http" else None
    if status in (401, 403) and not own_keys:
        return "stop"  # the client's own upstream key was refused: no other target fixes that
    if error.not_processed:
        return "move_on"
    if is_context_overflow(error):
        return "overflow"
    if status == 404:
        return "move_on"  # this deployment's upstream model or URL is wrong, not the request
    if status is not None and status < 500 and status != 408:
        return "stop"  # the request itself is at fault: another upstream would say the same
    return "move_on" if retry_unsafe_for(target, retry_unsafe) else "stop"


async def run_attempts(plan: Plan, attempt: Callable[[Target], Awaitable[T]], *,
                       retry_unsafe: bool | None = None, own_keys: bool = True,
                       estimated_tokens: int = 0, deadline: Deadline | None = None) -> Outcome[T]:
    """Call `attempt` on the plan's targets in turn; return the first success or raise the final
    GatewayError. `retry_unsafe` overrides the plan's default (body-keyed routes pass False);
    `own_keys` is False when the client's key, not ours, is sent upstream; no attempt starts after
    `deadline` but the first (the caller bounds each attempt's limits with `Deadline.bound`)."""
    default = plan.retry_unsafe if retry_unsafe is None else retry_unsafe
    if tracing.ON:
        attempt = tracing.traced(attempt)
    queue = list(plan.targets)
    skipped = list(plan.skipped)
    attempts: list[Attempt] = []
    overflow = plan.overflow
    panic: Target | None = None  # an ejected target tried because nothing else could be
    while len(attempts) < plan.max_attempts:
        if not queue:
            rescue = None if attempts or panic is not None else best_ejected(skipped)
            if rescue is None:
                break
            skipped.remove(rescue)
            panic = rescue.target
            queue.append(panic)
        if attempts and deadline is not None and deadline.left() <= 0:
            break
        target = queue.pop(0)
        why = None if target is panic else target.health.unavailable()  # it may have changed since planning
        if why is not None:
            skipped.append(Skipped(target, why))
            continue
        if attempts and plan.watch is not None:
            plan.watch.retrying(attempts[-1])
        health = target.health
        health.begin(estimated_tokens)
        started = time.perf_counter()
        try:
            value = await attempt(target)
        except UpstreamError as error:
            health.failed(error, own_key=own_keys,
                          by_client=deadline is not None and deadline.ran_out_for_client(error))
            attempts.append(Attempt.of(target, error, time.perf_counter() - started))
            if plan.watch is not None:
                plan.watch.failed(attempts[-1])
            verdict = judge(error, target, default, own_keys)
            if verdict == "overflow" and overflow is not None:
                switched = overflow()
                overflow = None
                queue, skipped = switched.targets, skipped + switched.skipped
            elif verdict != "move_on":
                raise _returned(error, attempts) from None
            continue
        except BaseException:
            health.abandoned()
            raise
        health.responded(time.perf_counter() - started)
        return Outcome(value, target, attempts, estimated_tokens, deadline)
    raise _exhausted(attempts, skipped, out_of_time=deadline is not None and deadline.left() <= 0)


def _returned(error: UpstreamError, attempts: list[Attempt]) -> GatewayError:
    """The upstream's own error, passed back because moving on would not help or is not allowed."""
    headers = _attempt_headers(attempts)
    if error.retry_after is not None:
        headers["retry-after"] = str(max(1, math.ceil(error.retry_after)))
    error_type = error.error_type if error.error_type in KNOWN_TYPES else None
    code = _upstream_field(error, "code") or (None if error.kind == "http" else error.kind)
    return GatewayError(error.client_status, error.message, type=error_type, code=code, headers=headers,
                        param=_upstream_field(error, "param"), extra={"attempts": [a.as_dict() for a in attempts]})


def _exhausted(attempts: list[Attempt], skipped: list[Skipped], out_of_time: bool = False) -> GatewayError:
    """Every candidate failed or was unavailable: 502, or the status they all agreed on; the last
    failure's status when the request's time ran out (it is the one that used up the rest)."""
    extra: dict[str, Any] = {"attempts": [a.as_dict() for a in attempts]}
    if skipped:
        extra["skipped"] = [{"provider": s.target.provider.name, "target": s.target.label,
                             "reason": s.why.reason} for s in skipped]
    headers = _attempt_headers(attempts)
    if not attempts:
        rate_limited = bool(skipped) and all(s.why.rate_limited for s in skipped)
        waits = [s.why.retry_in for s in skipped if s.why.retry_in is not None]
        if waits:
            headers["retry-after"] = str(max(1, math.ceil(min(waits))))
        reasons = "; ".join(sorted({f"{s.target.label}: {s.why.reason}" for s in skipped})) or "none configured"
        return GatewayError(429 if rate_limited else 503,
                            f"No upstream for this model is available right now ({reasons}).",
                            code="upstreams_unavailable", headers=headers, extra=extra)
    last = attempts[-1]
    statuses = {a.client_status for a in attempts}
    status = last.client_status if out_of_time else statuses.pop() if len(statuses) == 1 else 502
    waits = [a.retry_after for a in attempts if a.retry_after is not None]
    if waits and status in (429, 503, 529):
        headers["retry-after"] = str(max(1, math.ceil(min(waits))))
    summary = (f"The request's timeout ran out after {len(attempts)} upstream attempts" if out_of_time
               else f"All {len(attempts)} upstream attempts failed")
    return GatewayError(status, f"{summary}; last: {last.target}: {last.reason}", code="upstreams_failed",
                        headers=headers, extra=extra)


def _attempt_headers(attempts: list[Attempt]) -> dict[str, str]:
    return {"x-llmswitch-attempts": str(len(attempts))}


def _upstream_field(error: UpstreamError, name: str) -> str | None:
    """A string field of the upstream's error object (OpenAI's `code`, or `param`: the field at fault)."""
    body = error.body or {}
    inner = body.get("error") if isinstance(body.get("error"), dict) else body
    value = inner.get(name) if isinstance(inner, dict) else None
    return value if isinstance(value, str) else None
