"""Usage rows through the real store (SQLite and PostgreSQL): one bad record never costs another."""

from __future__ import annotations


import pytest
from sqlalchemy import select

from llmswitch.core.records import RequestRecord
from llmswitch.store import Store
from llmswitch.store.tables import usage_records


async def stored(store: Store) -> list[tuple[str, str, int]]:
    query = select(usage_records.c.request_id, usage_records.c.model, usage_records.c.input_tokens)
    async with store.engine.connect() as connection:
        return [tuple(row) for row in (await connection.execute(query.order_by(usage_records.c.id))).all()]


def served(request_id: str, model: str = "gpt-4o", deployment: str = "demo/gpt-4o#0", key_id: str | None = None,
           **counts: float) -> RequestRecord:
    """The record of a chat request that was served."""
    return RequestRecord(request_id=request_id, at=0.0, key_id=key_id, model=model, provider="demo",
                         upstream_model=model, deployment=deployment, operation="chat", dialect="openai",
                         stream=False, status=200, error="", **counts)  # type: ignore[arg-type]


def record(request_id: str, model: str = "gpt-4o", prompt: int = 3) -> RequestRecord:
    return served(request_id, model, input_tokens=prompt, output_tokens=2)


async def test_a_batch_with_one_row_the_database_refuses_keeps_the_other_99(store: Store) -> None:
    records = [record(f"req-{i}", prompt=2**70 if i == 37 else 3) for i in range(100)]  # no INTEGER holds 2^70
    refused = await store.usage.write("batch-1", records)
    rows = await stored(store)
    assert [request_id for request_id, _, _ in rows] == [f"req-{i}" for i in range(100) if i != 37]
    assert [r.request_id for r, _ in refused] == ["req-37"]


@pytest.mark.parametrize(("request_id", "model", "kept_id", "kept_model"), [
    ("\udcff\udcfe-from-bytes", "gpt-4o", "??-from-bytes", "gpt-4o"),
    ("with\x00nul", "gpt-4o\x00", "with\ufffdnul", "gpt-4o\ufffd"),
    ("r" * 150, "m" * 250, "r" * 100, "m" * 200),
], ids=["not UTF-8", "NUL", "longer than the column"])
async def test_text_the_database_would_refuse_is_stored_fitted_and_costs_no_row(
        store: Store, request_id: str, model: str, kept_id: str, kept_model: str) -> None:
    await store.usage.write("batch-1", [record("before"), record(request_id, model), record("after")])
    assert await stored(store) == [("before", "gpt-4o", 3), (kept_id, kept_model, 3), ("after", "gpt-4o", 3)]


async def test_audio_seconds_and_characters_are_stored_beside_the_tokens(store: Store) -> None:
    await store.usage.write("batch-1", [
        served("audio", "whisper", "openai/whisper-1#0", "key-1", audio_seconds=12.5, cost_usd=0.00125),
        served("speech", "tts", "openai/tts-1#0", "key-1", characters=400, cost_usd=0.006)])
    query = select(usage_records.c.request_id, usage_records.c.audio_seconds, usage_records.c.characters,
                   usage_records.c.cost_usd).order_by(usage_records.c.id)
    async with store.engine.connect() as connection:
        rows = [tuple(row) for row in (await connection.execute(query)).all()]
    assert rows == [("audio", 12.5, 0, 0.00125), ("speech", 0.0, 400, 0.006)]
