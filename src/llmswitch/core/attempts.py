"""Trying targets in order until one answers, and deciding which failures may move on.

The rule that keeps billed work from being duplicated lives here: a failure after which the
upstream certainly did nothing moves on; one where the body may have reached the model moves on
only when `retry_unsafe` allows it; a request the client must fix goes back at once.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from llmswitch.core.routing import Target
from llmswitch.errors import GatewayError
from llmswitch.providers.base import UpstreamError

T = TypeVar("T")


@dataclass(slots=True)
class Attempt:
    target: str
    status: int | None
    reason: str
    duration_ms: float

    def as_dict(self) -> dict[str, object]:
        return {"target": self.target, "status": self.status, "reason": self.reason,
                "duration_ms": round(self.duration_ms, 1)}


@dataclass(slots=True)
class Outcome(Generic[T]):
    value: T
    target: Target
    attempts: list[Attempt]


def _movable(error: UpstreamError, retry_unsafe: bool) -> bool:
    if error.not_processed:
        return True
    if error.kind == "http" and error.status is not None and error.status < 500:
        return False  # the request itself is at fault: another upstream would say the same
    return retry_unsafe


def _final_error(error: UpstreamError, attempts: list[Attempt]) -> GatewayError:
    headers = {"x-llmswitch-attempts": str(len(attempts))}
    if error.retry_after is not None:
        headers["retry-after"] = str(max(1, round(error.retry_after)))
    extra = {"attempts": [a.as_dict() for a in attempts]} if len(attempts) > 1 else {}
    return GatewayError(error.client_status, error.message, type=error.error_type, code=error.kind,
                        headers=headers, extra=extra)


async def run_attempts(targets: list[Target], attempt: Callable[[Target], Awaitable[T]],
                       retry_unsafe: bool) -> Outcome[T]:
    """Call `attempt` on each target in turn; return the first success or raise the final GatewayError."""
    attempts: list[Attempt] = []
    last: UpstreamError | None = None
    for target in targets:
        started = time.perf_counter()
        try:
            value = await attempt(target)
        except UpstreamError as error:
            attempts.append(Attempt(target.label, error.status, error.message,
                                    (time.perf_counter() - started) * 1000))
            last = error
            if not _movable(error, retry_unsafe):
                break
            continue
        return Outcome(value, target, attempts)
    assert last is not None, "run_attempts needs at least one target"
    raise _final_error(last, attempts)
