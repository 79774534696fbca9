"""Usage accounting off the hot path: records are queued in memory and written in batches.

The request path only appends to a queue; a background task drains it every second into the
usage table and the keys' last-used times, so no request ever waits on a database. With no
database in use (open and passthrough modes store nothing) only the in-memory totals are kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from typing import TYPE_CHECKING

from llmswitch.config import Config
from llmswitch.core.records import RequestRecord

if TYPE_CHECKING:
    from llmswitch.store import Store

log = logging.getLogger("llmswitch.usage")
FLUSH_INTERVAL_S = 1.0
BATCH = 5000


# What the request path queues: request_id, key_id, model, target, status, prompt, completion and
# cached tokens, audio seconds, characters, cost_usd, duration_ms, at (`store.usage.COLUMNS`). A tuple
# of plain values: cheap to build, and one the garbage collector stops tracking, however many wait
# for the next flush.
Pending = tuple[str, str | None, str, str, int, int, int, int, float, int, float, float, float]


class UsageRecorder:
    def __init__(self, config: Config | None = None, max_pending: int = 100_000):
        self.config = config
        self.persist = config is not None and config.auth.effective_mode == "keys"
        self.pending: deque[Pending] = deque(maxlen=max_pending)
        self.totals: dict[str, int] = {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0}
        self.store: Store | None = None
        self._task: asyncio.Task[None] | None = None

    def record(self, r: RequestRecord) -> None:
        """Queue one request's row (a `Pipeline` sink); its `cost_usd` is what its key was charged (the
        gateway prices the call once, for this row and the key's budget alike)."""
        totals = self.totals
        totals["requests"] += 1
        totals["prompt_tokens"] += r.input_tokens
        totals["completion_tokens"] += r.output_tokens
        if self.persist:
            self.pending.append((r.request_id, r.key_id, r.model, r.deployment, r.status, r.input_tokens,
                                 r.output_tokens, r.cached_tokens, r.audio_seconds, r.characters, r.cost_usd,
                                 r.latency_ms, time.time()))

    async def flush(self) -> None:
        """Write what is queued: usage rows, then each key's latest use. A row the database refuses
        is logged and dropped alone (`UsageRepository.append`)."""
        assert self.store is not None
        while self.pending:
            batch = [self.pending.popleft() for _ in range(min(BATCH, len(self.pending)))]
            last_used: dict[str, float] = {}
            for row in batch:
                key_id, at = row[1], row[-1]
                if key_id is not None and at > last_used.get(key_id, 0.0):
                    last_used[key_id] = at
            for row, error in await self.store.usage.append(batch):
                log.warning("usage row of request %.100r (key %s, model %.100r) refused by the database: %s",
                            row[0], row[1], row[2], type(error).__name__)
            await self.store.keys.touch(last_used.items())

    async def start(self) -> None:
        """Start the background writer."""
        if self.persist and self.config is not None:
            from llmswitch.store import acquire_store  # keys mode only: see core.auth

            self.store = await acquire_store(self.config.database_url)
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Flush what is pending and stop the writer."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.store is not None:
            try:
                await self.flush()
            finally:
                from llmswitch.store import release_store

                await release_store(self.store)
                self.store = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            try:
                await self.flush()
            except Exception:  # the database failed: this batch is lost; the gateway keeps serving
                log.warning("usage write failed", exc_info=True)
