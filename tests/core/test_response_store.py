"""The gateway's response store: in memory at once, in the database off the request path, per key,
for as long as the retention says; on real SQLite and PostgreSQL where a database is used."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from llmswitch.config import parse_config
from llmswitch.core.auth import Principal
from llmswitch.core.response_store import ResponseStore, StoredResponse, owner_of
from tests.support.databases import database_url, postgres_url  # noqa: F401  (fixtures)

ALICE = Principal(kind="key", key_id="key_alice")
BOB = Principal(kind="key", key_id="key_bob")


def store_for(database_url: str, store: str = "database", memory_limit: int = 1000) -> ResponseStore:
    text = (f"database_url: {database_url}\nauth: {{master_key: mk-0123456789}}\n"
            f"responses: {{store: {store}, memory_limit: {memory_limit}}}\n")
    return ResponseStore(parse_config(text, env={}))


def kept(store: ResponseStore, response_id: str, principal: Principal = ALICE) -> StoredResponse:
    record = store.new_record(response_id, principal, "m", "claude", "claude/m#0", "gateway", "completed")
    record.response = {"id": response_id, "object": "response", "status": "completed",
                       "output": [{"id": f"msg_out_{response_id}", "type": "message", "role": "assistant",
                                   "content": [{"type": "output_text", "text": "hi", "annotations": []}]}]}
    record.input_items = [{"id": f"msg_in_{response_id}", "type": "message", "role": "user",
                           "content": [{"type": "input_text", "text": "hello"}]}]
    store.keep(record)
    return record


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[ResponseStore]:
    opened = store_for(database_url)
    await opened.start()
    yield opened
    await opened.stop()


async def written(store: ResponseStore) -> None:
    for _ in range(200):
        if not store._unwritten and not store._writes:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the writer did not write")


async def test_a_kept_response_is_read_back_at_once_before_the_database_has_it(store: ResponseStore) -> None:
    record = kept(store, "resp_1")
    assert await store.get("resp_1", owner_of(ALICE)) is record  # no await between keep and get reached a DB


async def test_another_key_never_sees_a_response(store: ResponseStore, database_url: str) -> None:
    kept(store, "resp_2")
    await written(store)
    assert await store.get("resp_2", owner_of(BOB)) is None
    fresh = store_for(database_url)
    await fresh.start()
    try:
        assert await fresh.get("resp_2", owner_of(BOB)) is None
        assert await fresh.find_item("msg_in_resp_2", owner_of(BOB)) is None
    finally:
        await fresh.stop()


async def test_a_written_response_is_read_from_the_database_by_another_process(store: ResponseStore,
                                                                                database_url: str) -> None:
    kept(store, "resp_3")
    await written(store)
    fresh = store_for(database_url)
    await fresh.start()
    try:
        record = await fresh.get("resp_3", owner_of(ALICE))
        assert record is not None and record.response is not None
        assert record.conversation == [*record.input_items, *record.response["output"]]
        assert await fresh.find_item("msg_out_resp_3", owner_of(ALICE)) == record.response["output"][0]
    finally:
        await fresh.stop()


async def test_a_deleted_response_is_gone_from_memory_and_the_database(store: ResponseStore,
                                                                       database_url: str) -> None:
    record = kept(store, "resp_4")
    await store.delete(record)  # before the writer ran: the pending write must not bring it back
    await written(store)
    assert await store.get("resp_4", owner_of(ALICE)) is None
    fresh = store_for(database_url)
    await fresh.start()
    try:
        assert await fresh.get("resp_4", owner_of(ALICE)) is None
    finally:
        await fresh.stop()


async def test_a_write_cut_short_by_shutdown_is_made_before_the_store_closes(database_url: str,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    store = store_for(database_url)
    await store.start()
    assert store.repository is not None
    put = store.repository.put
    started = asyncio.Event()

    async def slow_first_put(record: StoredResponse) -> None:
        if not started.is_set():
            started.set()
            await asyncio.sleep(10)  # cancelled by the stop below
        await put(record)

    monkeypatch.setattr(store.repository, "put", slow_first_put)
    kept(store, "resp_cut")
    await started.wait()
    await store.stop()
    fresh = store_for(database_url)
    await fresh.start()
    try:
        assert await fresh.get("resp_cut", owner_of(ALICE)) is not None
    finally:
        await fresh.stop()


async def test_a_response_the_database_refuses_is_dropped_alone(store: ResponseStore, database_url: str) -> None:
    bad = kept(store, "resp_bad\x00")  # PostgreSQL refuses a NUL in text; SQLite takes it
    kept(store, "resp_good")
    await written(store)
    fresh = store_for(database_url)
    await fresh.start()
    try:
        assert await fresh.get("resp_good", owner_of(ALICE)) is not None
        assert await store.get(bad.id, owner_of(ALICE)) is bad  # still answered from memory
    finally:
        await fresh.stop()


async def test_an_expired_response_is_gone_and_purged(store: ResponseStore) -> None:
    record = kept(store, "resp_5")
    record.expires_at = time.time() - 1
    store.keep(record)
    await written(store)
    assert await store.get("resp_5", owner_of(ALICE)) is None
    assert store.repository is not None and await store.repository.purge(time.time()) == 1


async def test_memory_mode_keeps_the_newest_responses_up_to_its_limit() -> None:
    store = store_for("sqlite:///unused.db", store="memory", memory_limit=2)
    await store.start()
    try:
        for number in range(3):
            kept(store, f"resp_m{number}")
        assert await store.get("resp_m0", owner_of(ALICE)) is None
        assert await store.get("resp_m2", owner_of(ALICE)) is not None
        assert store.repository is None
    finally:
        await store.stop()


async def test_a_running_background_response_is_never_dropped_from_memory_the_oldest_that_may_go_goes() -> None:
    store = store_for("sqlite:///unused.db", store="memory", memory_limit=2)
    await store.start()
    try:
        running = kept(store, "resp_run")
        running.task = asyncio.get_running_loop().create_task(asyncio.sleep(10))
        for response_id in ("resp_a", "resp_b", "resp_c"):
            kept(store, response_id)
        assert list(store.recent) == ["resp_run", "resp_c"]
        assert await store.get("resp_run", owner_of(ALICE)) is running
    finally:
        await store.stop()
    assert running.task.cancelled()  # stopping the store ends the runs still going


def test_owners_are_the_key_the_master_key_or_a_digest_of_a_passthrough_key() -> None:
    assert owner_of(ALICE) == "key_alice"
    assert owner_of(Principal(kind="master")) == "master"
    passthrough = owner_of(Principal(kind="passthrough", upstream_key="sk-client-1"))
    assert passthrough.startswith("passthrough:") and "sk-client-1" not in passthrough
    assert passthrough != owner_of(Principal(kind="passthrough", upstream_key="sk-client-2"))
