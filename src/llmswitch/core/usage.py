"""The usage ledger's writer: every request's record, written in batches off the hot path.

The request path only appends its record to a queue (`record`, a `Pipeline` sink). A background
task writes what is queued in batches (`store.usage`: the rows and their hourly and daily roll-ups,
once per batch), at least every second. The ledger is kept in every auth mode (open and passthrough record
requests without a key) unless `usage.enabled` is false; the storage stack is imported in a thread
and the database opened by that task, so start-up and the request path never wait on either.

When the database fails, records wait: batches stay in memory (`usage.memory_records`), the oldest
beyond that go to spill files (`core.spill`), and the queue itself is capped at four times that
(the oldest dropped, logged), should the writer be stuck. Once the database answers again the
batches are written, spill files included, each exactly once. Stopping (SIGTERM) writes everything
left, and what the database will not take within STOP_TIMEOUT_S is spilled. A second task prunes
rows older than `usage.retention_days` (by whole days, in small batches) and old batch ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import os
import time
import uuid
from collections import deque
from typing import TYPE_CHECKING

from llmswitch.config import Config
from llmswitch.core import spill
from llmswitch.core.records import RequestRecord
from llmswitch.core.rollup import DAY

if TYPE_CHECKING:
    from llmswitch.store import Store

log = logging.getLogger("llmswitch.usage")
FLUSH_INTERVAL_S = 1.0
BATCH = 5000  # records a batch
WRITE_TIMEOUT_S = 20.0  # a write that takes longer counts as the database failing (a connection that hangs)
RETRY_S = (0.5, 1.0, 2.0, 3.0)  # waits between attempts while the database fails, then the last, again
STOP_TIMEOUT_S = 10.0
PRUNE_EVERY_S = 3600.0
PRUNE_FIRST_S = 30.0
BATCH_IDS_KEPT_S = 7 * 86400.0  # a batch id outlives any retry of its batch, spill files replayed at start included


class UsageRecorder:
    def __init__(self, config: Config):
        self.config = config
        settings = config.usage
        self.enabled = settings.enabled
        self.memory_records = settings.memory_records
        self.pending: deque[RequestRecord] = deque()
        self.unsent: deque[spill.Batch] = deque()  # batched, not yet written
        self.dropped = 0  # records the capped queue let go
        self._dropped_told = 0
        self.store: Store | None = None
        self._cap = 4 * settings.memory_records
        self._wake = asyncio.Event()
        self._closing = False
        self._cycle: asyncio.Future[bool] | None = None  # resolved when the next write cycle ends
        self._tasks: list[asyncio.Task[None]] = []
        self._spilled = True  # spill files may exist (a previous run's): look once the database answers

    def record(self, r: RequestRecord) -> None:
        """Queue one request's record (a `Pipeline` sink); its `cost_usd` is what its key was charged (the
        gateway prices the call once, for this record and the key's budget alike)."""
        if not self.enabled:
            return
        pending = self.pending
        pending.append(r)
        if len(pending) >= BATCH:
            if len(pending) > self._cap:
                pending.popleft()
                self.dropped += 1
            self._wake.set()

    async def start(self) -> None:
        """Start the background writer and the pruner."""
        if not self.enabled:
            return
        self._tasks += [asyncio.create_task(self._run()), asyncio.create_task(self._prune_periodically())]

    async def flush(self, timeout: float = 5.0) -> bool:
        """Have what is queued now written (the admin queries ask first, so a request just served shows);
        False when it could not be within TIMEOUT (the database failing)."""
        if not self._tasks or self._tasks[0].done():
            return False
        if self._cycle is None:
            self._cycle = asyncio.get_running_loop().create_future()
        cycle = self._cycle
        self._wake.set()
        try:
            return await asyncio.wait_for(asyncio.shield(cycle), timeout)
        except TimeoutError:
            return False

    async def stop(self) -> None:
        """Write what is left (spilling what the database will not take in time) and stop."""
        if not self._tasks:
            return
        writer, *others = self._tasks
        self._tasks = []
        for task in others:
            task.cancel()
        self._closing = True
        self._wake.set()
        _done, running = await asyncio.wait({writer}, timeout=STOP_TIMEOUT_S)
        if running:
            writer.cancel()
        await asyncio.gather(writer, *others, return_exceptions=True)
        await self._spill(everything=True)
        if self.unsent:
            log.error("%d usage records are lost: neither the database nor the spill file took them",
                      self.waiting())
        if self.store is not None:
            from llmswitch.store import release_store

            await release_store(self.store)
            self.store = None

    # --- the writer --------------------------------------------------------------------------
    async def _run(self) -> None:
        failures = 0
        while True:
            if not self._closing:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), FLUSH_INTERVAL_S if not failures else
                                           RETRY_S[min(failures, len(RETRY_S)) - 1])
            self._wake.clear()
            cycle, self._cycle = self._cycle, None
            try:
                written = await self._cycle_once()
            except Exception:  # a bug, or the spill directory refusing: the writer carries on all the same
                log.exception("usage writer")
                written = False
            if cycle is not None and not cycle.done():
                cycle.set_result(written)
            failures = 0 if written else failures + 1
            if self._closing and (written or failures > 1):
                return

    async def _cycle_once(self) -> bool:
        """Write what waits (spill files too, once the database answers); spill the excess if it does not."""
        if self.dropped > self._dropped_told:
            log.error("%d usage records dropped: the writer could not keep up (%d in all)",
                      self.dropped - self._dropped_told, self.dropped)
            self._dropped_told = self.dropped
        self._batch()
        written = await self._connect() and await self._send()
        if written and self._spilled:
            written = await self._replay()
        if not written:
            await self._spill()
        return written

    def _batch(self) -> None:
        pending = self.pending
        while pending:
            records = [pending.popleft() for _ in range(min(BATCH, len(pending)))]
            self.unsent.append(spill.Batch(f"{os.getpid()}-{uuid.uuid4().hex}", records))

    async def _connect(self) -> bool:
        """Open the store, importing the storage stack in a thread the first time (half a second of
        imports that would otherwise stall every request in flight). What that import made (70,000
        objects) joins the start-up objects `app` froze out of the cycle collector's sight, or each full
        collection would walk it (66 ms) over and over."""
        if self.store is not None:
            return True
        try:
            store = await asyncio.to_thread(importlib.import_module, "llmswitch.store")
            self.store = await store.acquire_store(self.config.database_url)
        except Exception as error:
            log.warning("usage database cannot be opened (%s); records are kept meanwhile", type(error).__name__)
            return False
        gc.freeze()
        return True

    async def _send(self) -> bool:
        """Write the unsent batches, oldest first; False at the first the database fails on."""
        while self.unsent:
            if not await self._write(self.unsent[0]):
                return False
            self.unsent.popleft()
        return True

    async def _write(self, batch: spill.Batch) -> bool:
        assert self.store is not None
        try:
            refused = await asyncio.wait_for(self.store.usage.write(batch.id, batch.records), WRITE_TIMEOUT_S)
        except Exception as error:  # the database failed: the batch waits for the next attempt
            log.warning("usage write failed (%s); %d records wait", type(error).__name__, self.waiting())
            return False
        for record, error in refused:
            log.warning("usage record of request %.100r (key %s, model %.100r) refused by the database: %s",
                        record.request_id, record.key_id, record.model, type(error).__name__)
        last_used: dict[str, float] = {}
        for record in batch.records:
            if record.key_id is not None and record.at > last_used.get(record.key_id, 0.0):
                last_used[record.key_id] = record.at
        if last_used:
            try:
                await self.store.keys.touch(last_used.items())
            except Exception as error:  # a convenience, not the ledger: the next batch tells it again
                log.warning("keys' last use not recorded (%s)", type(error).__name__)
        return True

    def waiting(self) -> int:
        return len(self.pending) + sum(len(batch.records) for batch in self.unsent)

    async def _spill(self, everything: bool = False) -> None:
        """Move the oldest unsent batches to a spill file: all of them (EVERYTHING), else those beyond
        half of `usage.memory_records` once more than that wait in memory."""
        if not everything and self.waiting() <= self.memory_records:
            return
        self._batch()
        keep = 0 if everything else self.memory_records // 2
        batches = []
        while self.unsent and self.waiting() > keep:
            batches.append(self.unsent.popleft())
        if not batches:
            return
        records = sum(len(batch.records) for batch in batches)
        try:
            name = await asyncio.to_thread(spill.spill, self.config.usage.spill_path, batches)
        except OSError as error:
            self.unsent.extendleft(reversed(batches))
            log.error("%d usage records cannot be spilled to %s (%s)", records, self.config.usage.spill_path,
                      error.strerror)
            return
        self._spilled = True
        log.warning("%d usage records spilled to %s until the database answers", records, name)

    async def _replay(self) -> bool:
        """Write the batches of every spill file no other process holds, deleting each file once written."""
        for name in await asyncio.to_thread(spill.spilled, self.config.usage.spill_path):
            claim = await asyncio.to_thread(spill.claim, name)
            if claim is None:
                continue
            written = False
            try:
                for batch in claim.batches:
                    if not await self._write(batch):
                        return False
                written = True
            finally:
                await asyncio.to_thread(claim.release, written)
            log.warning("usage records of %s written", name)
        self._spilled = False
        return True

    # --- retention -----------------------------------------------------------------------------
    async def _prune_periodically(self) -> None:
        await asyncio.sleep(PRUNE_FIRST_S)
        while True:
            try:
                await self.prune(time.time())
            except Exception as error:
                log.warning("usage retention: pruning failed (%s)", type(error).__name__)
            await asyncio.sleep(PRUNE_EVERY_S)

    async def prune(self, now: float) -> int:
        """Delete the records older than `usage.retention_days` (by whole UTC days, as the daily roll-ups
        go) and the batch ids no retry needs; how many records went."""
        if self.store is None:
            return 0
        gone = 0
        days = self.config.usage.retention_days
        if days is not None:
            gone = await self.store.usage.prune((now - days * DAY) // DAY * DAY)
        await self.store.usage.forget_batches(now - BATCH_IDS_KEPT_S)
        return gone
