"""Usage accounting off the hot path: records are queued in memory and written in batches.

The request path only appends to a queue; a background task drains it, so no request ever waits
on a database.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from llmswitch.dialects.usage import Usage


@dataclass(slots=True)
class UsageRecord:
    request_id: str
    key_id: str | None
    model: str
    target: str
    status: int
    usage: Usage | None
    duration_ms: float
    at: float


class UsageRecorder:
    def __init__(self, max_pending: int = 100_000):
        self.pending: deque[UsageRecord] = deque(maxlen=max_pending)
        self.totals: dict[str, int] = {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0}

    def record(self, request_id: str, key_id: str | None, model: str, target: str, status: int,
               usage: Usage | None, started: float) -> None:
        now = time.time()
        self.pending.append(UsageRecord(request_id, key_id, model, target, status, usage,
                                        (time.perf_counter() - started) * 1000, now))
        self.totals["requests"] += 1
        if usage is not None:
            self.totals["prompt_tokens"] += usage.prompt_tokens
            self.totals["completion_tokens"] += usage.completion_tokens

    async def start(self) -> None:
        """Start the background writer."""

    async def stop(self) -> None:
        """Flush what is pending and stop the writer."""
