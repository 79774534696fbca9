"""The store on real SQLite and real PostgreSQL: migrations, key rows, encrypted upstream keys, usage."""

from __future__ import annotations

import asyncio
import time

from cryptography.fernet import Fernet
from sqlalchemy import select, text

from llmswitch.core.keys import KeyFields, fernet_key, new_record, revoked, updated
from llmswitch.core.records import RequestRecord
from llmswitch.store import Store
from llmswitch.store.database import async_url
from llmswitch.store.tables import upstream_keys

SECRET = b"store-test-secret"


def test_urls_map_to_async_drivers() -> None:
    assert async_url("sqlite:///x.db") == "sqlite+aiosqlite:///x.db"
    assert async_url("postgresql://u@h:5432/d") == "postgresql+asyncpg://u@h:5432/d"
    assert async_url("postgresql+asyncpg://u@h/d") == "postgresql+asyncpg://u@h/d"


async def test_migrations_create_the_schema_and_record_their_revision(store: Store) -> None:
    async with store.engine.connect() as connection:
        version = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
    assert version == "0005"


async def test_opening_an_up_to_date_database_again_is_harmless(database_url: str) -> None:
    first = await Store.open(database_url)
    await first.close()
    second = await Store.open(database_url)
    await second.close()


async def test_processes_starting_together_migrate_once(postgres_url: str) -> None:  # noqa: F811
    stores = await asyncio.gather(*(Store.open(postgres_url) for _ in range(4)))
    for store in stores:
        await store.close()


async def test_a_key_round_trips_without_its_value(store: Store) -> None:
    record, key = new_record(KeyFields(name="team-a", models=["gpt-*"], rpm=60, budget_usd=1.5,
                                       metadata={"team": "a"}), SECRET, "sk-llms-")
    await store.keys.insert(record)
    loaded = await store.keys.get(record.id)
    assert loaded == record
    assert key not in str(loaded.public())


async def test_saving_an_update_changes_the_row(store: Store) -> None:
    record, _ = new_record(KeyFields(rpm=5), SECRET, "sk-llms-")
    await store.keys.insert(record)
    await store.keys.save(updated(record, {"rpm": 10, "disabled": True}))
    loaded = await store.keys.get(record.id)
    assert (loaded.rpm, loaded.disabled) == (10, True)


async def test_revoked_keys_are_listed_only_on_request(store: Store) -> None:
    kept, _ = new_record(KeyFields(name="kept"), SECRET, "sk-llms-")
    gone, _ = new_record(KeyFields(name="gone"), SECRET, "sk-llms-")
    for record in (kept, gone):
        await store.keys.insert(record)
    await store.keys.save(revoked(gone))
    assert [r.name for r in await store.keys.list()] == ["kept"]
    assert {r.name for r in await store.keys.list(include_revoked=True)} == {"kept", "gone"}


async def test_changed_since_returns_only_recent_writes(store: Store) -> None:
    old, _ = new_record(KeyFields(name="old"), SECRET, "sk-llms-")
    await store.keys.insert(old)
    mark = time.time()
    await asyncio.sleep(0.01)
    new, _ = new_record(KeyFields(name="new"), SECRET, "sk-llms-")
    await store.keys.insert(new)
    assert [r.name for r in await store.keys.changed_since(mark)] == ["new"]


async def test_touch_records_last_use(store: Store) -> None:
    record, _ = new_record(KeyFields(), SECRET, "sk-llms-")
    await store.keys.insert(record)
    await store.keys.touch([(record.id, 1234.5)])
    assert (await store.keys.get(record.id)).last_used_at == 1234.5


async def test_upstream_keys_are_encrypted_at_rest_and_decrypted_for_use(store: Store) -> None:
    fernet = Fernet(fernet_key(SECRET))
    shown = await store.upstream_keys.add(fernet, "openai", "sk-upstream-plaintext-1234", name="main")
    assert shown["hint"] == "1234" and "ciphertext" not in shown
    async with store.engine.connect() as connection:
        stored = (await connection.execute(select(upstream_keys.c.ciphertext))).scalar_one()
    assert "plaintext" not in stored
    ((key_id, provider, ciphertext),) = await store.upstream_keys.encrypted()
    assert (key_id, provider) == (shown["id"], "openai")
    assert fernet.decrypt(ciphertext.encode()) == b"sk-upstream-plaintext-1234"


async def test_deleting_an_upstream_key_changes_the_stored_ids(store: Store) -> None:
    fernet = Fernet(fernet_key(SECRET))
    kept = await store.upstream_keys.add(fernet, "openai", "sk-kept")
    gone = await store.upstream_keys.add(fernet, "openai", "sk-gone")
    assert await store.upstream_keys.ids() == {kept["id"], gone["id"]}
    assert await store.upstream_keys.delete(gone["id"])
    assert await store.upstream_keys.ids() == {kept["id"]}


async def test_usage_totals_sum_a_keys_rows_since_a_time(store: Store) -> None:
    def row(key_id: str, at: float) -> RequestRecord:
        return RequestRecord(request_id="r", at=at, key_id=key_id, model="m", provider="p", upstream_model="m",
                             deployment="p/m#0", operation="chat", dialect="openai", stream=False, status=200,
                             error="", input_tokens=10, output_tokens=5, cost_usd=0.25, latency_ms=1.0)

    await store.usage.write("batch", [row("key_a", 100.0), row("key_a", 200.0), row("key_b", 200.0)])
    assert await store.usage.totals("key_a", 150.0) == (1, 0.25, 15)
