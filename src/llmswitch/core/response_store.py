"""The gateway's store of Responses API responses: kept in memory for the request that made them,
written to the database off the request path.

A response the gateway translated (`store: true`, the default) is kept whole: the response, its
stream events, its input items (the conversation before it included), so that retrieve,
input_items, delete and `previous_response_id` work whatever the upstream. One that an OpenAI
deployment with the Responses API made is kept there: the gateway records only who made it, and
forwards the sub-operations to that provider. Either belongs to the key that made it (`owner`): for
any other key it does not exist.

No request waits on the database to be answered. A response is put in memory at once (a follow-up
`previous_response_id` that arrives a millisecond later finds it there) and written by a background
writer; a response not yet written, or still running, is never dropped from memory. Memory holds up
to `responses.memory_limit` responses: all of them in memory mode (open and passthrough modes by
default, which open no database), the most recent ones in front of the database otherwise. Reads
that miss memory go to the database. Deleting waits for the database, so that a response read after
its deletion is gone everywhere. Past `responses.retention_days` a response is gone too; a purge
removes it from both within the hour.

With several worker processes each has its own memory: a follow-up that reaches another worker
within the few milliseconds before the write finds nothing, and a background run lives in the
worker that started it (a cancel reaching another worker is refused as not running there).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from llmswitch.config import Config
from llmswitch.errors import GatewayError

if TYPE_CHECKING:
    from llmswitch.core.auth import Principal
    from llmswitch.store import Store
    from llmswitch.store.responses import ResponseRepository

log = logging.getLogger("llmswitch.responses")
DAY_S = 86_400.0
PURGE_EVERY_S = 3_600.0
DELETE_WAIT_S = 10.0  # a delete the database has not confirmed by then is the client's 503
RUNNING = ("queued", "in_progress")
Kept = Literal["gateway", "upstream"]


class RowRefused(Exception):
    """The database refused one response's rows (not the database failing): that write is dropped."""


@dataclass(slots=True, eq=False)
class StoredResponse:
    """One response as the gateway keeps it (`kept`: "gateway"), or the record of one an upstream
    keeps (`kept`: "upstream": who made it, nothing of its content)."""

    id: str
    owner: str
    model: str  # the public model name it was asked of
    provider: str  # the provider that answered (where an upstream-kept response lives)
    target: str  # the target's label (provider/model#key): the key that made it is tried first
    kept: Kept
    status: str
    created_at: float
    expires_at: float
    response: dict[str, Any] | None = None
    events: list[dict[str, Any]] | None = None  # as the client's stream got them; None: made whole
    input_items: list[dict[str, Any]] = field(default_factory=list)
    task: asyncio.Task[None] | None = field(default=None, repr=False)  # a background run, in this process
    changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)  # set when events or status move

    @property
    def running(self) -> bool:
        return self.status in RUNNING

    @property
    def conversation(self) -> list[dict[str, Any]]:
        """What a response continuing this one is preceded by: its input, then its output."""
        return self.input_items + list((self.response or {}).get("output") or ())

    def moved(self) -> None:
        """Wake whoever follows this response (a streamed retrieve of a background run)."""
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()


def owner_of(principal: Principal) -> str:
    """Whose stored rows a caller sees: its virtual key's, the master key's, or (passthrough mode) those
    made with the same upstream key, known by a digest of it; in open mode everyone's."""
    if principal.key_id is not None:
        return principal.key_id
    if principal.upstream_key is not None:
        return "passthrough:" + hashlib.sha256(principal.upstream_key.encode()).hexdigest()[:40]
    return principal.kind


class ResponseStore:
    def __init__(self, config: Config):
        settings = config.responses
        self.config = config
        self.retention_s = settings.retention_days * DAY_S
        self.limit = settings.memory_limit
        backend = settings.store
        if backend == "auto":
            backend = "database" if config.auth.effective_mode == "keys" else "memory"
        self.uses_database = backend == "database"
        self.recent: OrderedDict[str, StoredResponse] = OrderedDict()
        self.repository: ResponseRepository | None = None
        self._store: Store | None = None
        self._unwritten: dict[str, StoredResponse] = {}
        self._writes: deque[tuple[str, str, asyncio.Future[None] | None]] = deque()  # (what, id, done)
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # --- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        if self.uses_database:
            from llmswitch.store import acquire_store  # the storage stack only where it is used

            self._store = await acquire_store(self.config.database_url)
            self.repository = self._store.responses
            self._tasks.append(asyncio.create_task(self._write_forever()))
        self._tasks.append(asyncio.create_task(self._purge_forever()))

    async def stop(self) -> None:
        """End the background runs still going (each is kept as it ended), write what is pending."""
        runs = [record.task for record in self.recent.values() if record.task is not None and not record.task.done()]
        for task in runs:
            task.cancel()
        await asyncio.gather(*runs, return_exceptions=True)
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._store is not None:
            try:
                await self._write_pending()
            except Exception:
                log.warning("stored responses not yet written were lost at shutdown", exc_info=True)
            finally:
                from llmswitch.store import release_store

                await release_store(self._store)
                self._store = None

    # --- reads -----------------------------------------------------------------------------------
    async def get(self, response_id: str, owner: str) -> StoredResponse | None:
        """The response of that id the caller may see, or None (another key's is None too)."""
        record = self.recent.get(response_id)
        if record is None and self.repository is not None and response_id not in self._unwritten:
            record = await self.repository.get(response_id)
            if record is not None:
                self._remember(record)
        if record is None or record.owner != owner or record.expires_at < time.time():
            return None
        self.recent.move_to_end(response_id)
        return record

    async def find_item(self, item_id: str, owner: str) -> dict[str, Any] | None:
        """An item of the caller's kept responses (input or output) by its id, the newest first."""
        for record in reversed(self.recent.values()):
            if record.owner == owner and record.kept == "gateway":
                for item in reversed(record.conversation):
                    if item.get("id") == item_id:
                        return item
        if self.repository is None:
            return None
        return await self.repository.find_item(item_id, owner, time.time())

    # --- writes ----------------------------------------------------------------------------------
    def keep(self, record: StoredResponse) -> None:
        """Keep RECORD (new, or changed since it was kept): in memory now, in the database soon."""
        self._remember(record)
        if self.repository is not None:
            if record.id not in self._unwritten:
                self._writes.append(("put", record.id, None))
            self._unwritten[record.id] = record
            self._wake.set()

    async def delete(self, record: StoredResponse) -> None:
        """Forget RECORD everywhere; returns once the database has forgotten it too."""
        self.recent.pop(record.id, None)
        if self.repository is None:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._writes.append(("delete", record.id, done))
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(done), DELETE_WAIT_S)
        except TimeoutError:
            raise GatewayError(503, "The response store is unavailable; the deletion will be retried.",
                               code="store_unavailable", headers={"retry-after": "5"}) from None

    def new_record(self, response_id: str, principal: Principal, model: str, provider: str, target: str,
                   kept: Kept, status: str) -> StoredResponse:
        now = time.time()
        return StoredResponse(response_id, owner_of(principal), model, provider, target, kept, status, now,
                              now + self.retention_s)

    # --- memory ----------------------------------------------------------------------------------
    def _remember(self, record: StoredResponse) -> None:
        self.recent[record.id] = record
        self.recent.move_to_end(record.id)
        excess = len(self.recent) - self.limit
        if excess > 0:
            # the oldest that may go, looked for only as far as needed: once memory is full every
            # response kept forgets one, and checking all of them each time cost ~1.3M instructions
            forget: list[str] = []
            for response_id, kept in self.recent.items():
                if self._may_forget(kept):
                    forget.append(response_id)
                    if len(forget) == excess:
                        break
            for response_id in forget:
                del self.recent[response_id]

    def _may_forget(self, record: StoredResponse) -> bool:
        return record.id not in self._unwritten and (record.task is None or record.task.done())

    # --- the database writer ---------------------------------------------------------------------
    async def _write_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._write_pending()
            except Exception:  # the database failed: the responses stay in memory, retried on the next wake
                log.warning("writing stored responses failed; retrying", exc_info=True)
                await asyncio.sleep(1.0)
                self._wake.set()

    async def _write_pending(self) -> None:
        assert self.repository is not None
        while self._writes:
            what, response_id, done = self._writes[0]
            if what == "put":
                record = self._unwritten.pop(response_id, None)
                if record is not None:
                    try:
                        await self.repository.put(record)
                    except RowRefused as refused:  # one bad response must not hold back the others
                        log.warning("stored response %.100r refused by the database: %s", response_id, refused)
                    except BaseException:  # failed, or cancelled mid-way (at stop): still to write
                        self._unwritten.setdefault(response_id, record)
                        raise
            else:
                self._unwritten.pop(response_id, None)
                await self.repository.delete(response_id)
            self._writes.popleft()
            if done is not None and not done.done():
                done.set_result(None)

    async def _purge_forever(self) -> None:
        while True:
            await asyncio.sleep(min(PURGE_EVERY_S, self.retention_s))
            now = time.time()
            for response_id in [rid for rid, r in self.recent.items() if r.expires_at < now and self._may_forget(r)]:
                del self.recent[response_id]
            if self.repository is not None:
                try:
                    await self.repository.purge(now)
                except Exception:
                    log.warning("purging expired responses failed", exc_info=True)
