"""The ledger's rows and its hourly and daily roll-ups on real SQLite and PostgreSQL: every query sums
exactly the rows it covers, whichever spans come from roll-ups and which from rows; a batch is written
once; old rows survive the migration; retention prunes by whole days."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from alembic import command
from sqlalchemy import func, select, text

from llmswitch.core import usage_query
from llmswitch.core.histogram import BOUNDS_MS, bucket
from llmswitch.core.records import RequestRecord
from llmswitch.store import Store
from llmswitch.store.database import create_engine, migration_config
from llmswitch.store.tables import usage_batches, usage_hourly, usage_records

HOUR = 3600
NOW = 1_800_000_000.0 + 1234.5  # not on an hour: queries up to now end in a partial hour
MODELS = ("gpt-4o", "claude-sonnet", "gemini-flash")
KEYS = (None, "key_a", "key_b")


def made(i: int, at: float, rng: random.Random) -> RequestRecord:
    model = MODELS[i % 3]
    status = rng.choice((200, 200, 200, 200, 429, 502, 499))
    prompt = rng.randrange(1, 5000)
    return RequestRecord(
        request_id=f"req-{i}", at=at, key_id=KEYS[i % len(KEYS)], model=model, provider=f"p-{model.split('-')[0]}",
        upstream_model=model, deployment=f"p/{model}#0", operation="embeddings" if i % 5 == 0 else "chat",
        dialect="openai", stream=bool(i % 2), status=status, error="" if status < 400 else "x",
        input_tokens=prompt, output_tokens=rng.randrange(0, 900), cached_tokens=rng.randrange(0, prompt),
        cache_write_tokens=rng.randrange(0, 50), reasoning_tokens=rng.randrange(0, 20), cost_usd=rng.random() / 100,
        latency_ms=rng.lognormvariate(6, 1), ttft_ms=rng.lognormvariate(5, 1) if status == 200 else None)


async def seeded(store: Store, count: int = 600, hours: float = 80.0) -> list[RequestRecord]:
    """COUNT records over the HOURS before NOW, written in three batches."""
    rng = random.Random(7)
    records = [made(i, NOW - rng.random() * hours * HOUR, rng) for i in range(count)]
    for b in range(3):
        assert await store.usage.write(f"batch-{b}", records[b::3]) == []
    return records


def group_of(group: str, r: RequestRecord) -> Any:
    return {"hour": int(r.at // HOUR) * HOUR, "day": int(r.at // 86400) * 86400, "model": r.model,
            "key": r.key_id, "provider": r.provider}[group]


def exact(records: list[RequestRecord]) -> dict[str, Any]:
    return {"requests": len(records), "errors": sum(r.status >= 400 for r in records),
            **{name: sum(getattr(r, name) for r in records) for name in (
                "input_tokens", "output_tokens", "cached_tokens", "cache_write_tokens", "reasoning_tokens")}}


def same_bucket(estimate: float | None, values: list[float], q: float) -> bool:
    """Is ESTIMATE within the bucket (`core.histogram`) of VALUES' exact Q-quantile?"""
    truth = sorted(values)[math.ceil(q * len(values)) - 1]
    assert estimate is not None
    index = bucket(truth)
    low = BOUNDS_MS[index - 1] if index else 0.0
    return low * 0.999 <= estimate <= BOUNDS_MS[min(index, len(BOUNDS_MS) - 1)] * 1.001


@pytest.mark.parametrize("group", usage_query.GROUP_BY)
@pytest.mark.parametrize(("since_hours", "until"), [(24, NOW), (26.25, NOW - 5.5 * HOUR), (0.5, NOW), (70, NOW)],
                         ids=["last 24 h", "off the hours at both ends", "within one hour", "whole days"])
async def test_usage_sums_exactly_the_rows_in_range_for_every_grouping(
        store: Store, group: str, since_hours: float, until: float) -> None:
    records = await seeded(store)
    since = until - since_hours * HOUR
    covered = [r for r in records if since <= r.at < until]
    answer = await usage_query.usage(store.usage, {"from": str(since), "to": str(until), "group_by": group}, NOW)
    groups: dict[Any, list[RequestRecord]] = {}
    for r in covered:
        groups.setdefault(group_of(group, r), []).append(r)
    got = {row["key"]: row for row in answer["groups"]}
    assert len(got) == len(groups)
    for value, members in groups.items():
        key = usage_query._iso(value) if group in ("hour", "day") else value
        row = got[key]
        assert {name: row[name] for name in exact(members)} == exact(members)
        assert row["cost_usd"] == pytest.approx(sum(r.cost_usd for r in members))
    assert {name: answer["totals"][name] for name in exact(covered)} == exact(covered)
    assert same_bucket(answer["totals"]["latency_p50_ms"], [r.latency_ms for r in covered], 0.5)
    assert same_bucket(answer["totals"]["latency_p95_ms"], [r.latency_ms for r in covered], 0.95)
    assert same_bucket(answer["totals"]["ttft_p95_ms"], [r.ttft_ms for r in covered if r.ttft_ms is not None], 0.95)


async def test_time_groups_are_named_by_their_start_in_utc_oldest_first(store: Store) -> None:
    await seeded(store)
    hours = (await usage_query.usage(store.usage, {"to": str(NOW), "group_by": "hour"}, NOW))["groups"]
    assert [row["key"] for row in hours] == sorted(row["key"] for row in hours)
    assert hours[-1]["key"] == usage_query._iso(NOW // HOUR * HOUR) and hours[-1]["key"].endswith(":00:00Z")


@pytest.mark.parametrize(("params", "kept"), [
    ({"key": "key_a"}, lambda r: r.key_id == "key_a"),
    ({"model": "claude-sonnet", "operation": "chat"}, lambda r: r.model == "claude-sonnet" and r.operation == "chat"),
    ({"provider": "p-gemini"}, lambda r: r.provider == "p-gemini"),
], ids=["key", "model and operation", "provider"])
async def test_filters_apply_to_roll_ups_and_rows_alike(store: Store, params: dict[str, str], kept: Any) -> None:
    records = await seeded(store)
    since = NOW - 24.5 * HOUR
    covered = [r for r in records if since <= r.at < NOW and kept(r)]
    answer = await usage_query.usage(store.usage, {"from": str(since), "to": str(NOW), **params}, NOW)
    assert {name: answer["totals"][name] for name in exact(covered)} == exact(covered)


@pytest.mark.parametrize("group", ["hour", "key"])
async def test_fields_show_only_those_measures_with_the_values_of_the_whole_answer(store: Store, group: str) -> None:
    await seeded(store)
    params = {"from": str(NOW - 30 * HOUR), "to": str(NOW), "group_by": group}
    whole = await usage_query.usage(store.usage, params, NOW)
    some = await usage_query.usage(store.usage, {**params, "fields": "cost_usd,ttft_p95_ms"}, NOW)
    pick = ("cost_usd", "ttft_p95_ms")
    assert some["totals"] == {name: whole["totals"][name] for name in pick}
    assert some["groups"] == [{"key": row["key"], **{name: row[name] for name in pick}} for row in whole["groups"]]


async def test_a_batch_written_again_is_not_counted_twice(store: Store) -> None:
    records = await seeded(store, count=30)
    assert await store.usage.write("batch-0", records[0::3]) == []  # the same id: already there
    async with store.engine.connect() as connection:
        rows = (await connection.execute(select(func.count()).select_from(usage_records))).scalar_one()
        rolled = (await connection.execute(select(func.sum(usage_hourly.c.requests)))).scalar_one()
        batches = (await connection.execute(select(func.count()).select_from(usage_batches))).scalar_one()
    assert (rows, int(rolled), batches) == (30, 30, 3)


async def test_pages_walk_every_record_once_newest_first_across_equal_times(store: Store) -> None:
    rng = random.Random(3)
    records = [made(i, NOW - (i // 4), rng) for i in range(50)]  # four requests a second: equal start times
    await store.usage.write("b", records)
    seen: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = await usage_query.requests(store.usage, {"limit": "6", "cursor": cursor}, NOW + 1)
        seen += page["data"]
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert sorted(r["request_id"] for r in seen) == sorted(r.request_id for r in records)
    assert [r["at"] for r in seen] == sorted((r.at for r in records), reverse=True)


async def test_retention_prunes_whole_days_of_rows_and_roll_ups_in_small_batches(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from llmswitch.store import usage as ledger

    monkeypatch.setattr(ledger, "PRUNE_BATCH", 50)  # several statements' worth
    records = await seeded(store, hours=60)
    cutoff = (NOW - 24 * HOUR) // 86400 * 86400
    gone = await store.usage.prune(cutoff)
    assert gone == sum(r.at < cutoff for r in records) > 100
    kept = [r for r in records if r.at >= cutoff]
    answer = await usage_query.usage(store.usage, {"from": "0", "to": str(NOW)}, NOW)
    assert {name: answer["totals"][name] for name in exact(kept)} == exact(kept)


async def test_the_ledger_migration_keeps_the_rows_and_rolls_them_up(database_url: str) -> None:
    engine = create_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(lambda sync: command.upgrade(migration_config(sync), "0003"))
        await connection.execute(text(
            "INSERT INTO usage_records (request_id, key_id, model, target, status, prompt_tokens, completion_tokens,"
            " cached_tokens, audio_seconds, characters, cost_usd, duration_ms, at) VALUES"
            " ('old-1', 'key_a', 'gpt-4o', 'openai/gpt-4o#0', 200, 100, 20, 10, 0, 0, 0.5, 120.0, :at),"
            " ('old-2', NULL, 'gpt-4o', 'openai/gpt-4o#1', 429, 0, 0, 0, 0, 0, 0, 3.0, :at)"), {"at": NOW - HOUR})
    await engine.dispose()
    store = await Store.open(database_url)
    try:
        old = await usage_query.request(store.usage, "old-1")
        assert (old["input_tokens"], old["output_tokens"], old["deployment"], old["latency_ms"]) == (
            100, 20, "openai/gpt-4o#0", 120.0)
        assert (old["provider"], old["operation"], old["cache_write_tokens"], old["ttft_ms"]) == ("openai", "chat", 0,
                                                                                               None)
        totals = (await usage_query.usage(store.usage, {"to": str(NOW)}, NOW))["totals"]
        assert (totals["requests"], totals["errors"], totals["input_tokens"], totals["cost_usd"]) == (2, 1, 100, 0.5)
    finally:
        await store.close()


def test_a_range_is_read_from_whole_days_then_whole_hours_then_rows() -> None:
    day = 1_800_057_600  # a UTC midnight
    spans = usage_query.plan(day - 1.5 * HOUR, day + 2 * 86400 + 2.25 * HOUR, (86400, HOUR))
    assert spans == [(0, day - 1.5 * HOUR, day - HOUR), (HOUR, day - HOUR, day), (86400, day, day + 2 * 86400),
                     (HOUR, day + 2 * 86400, day + 2 * 86400 + 2 * HOUR),
                     (0, day + 2 * 86400 + 2 * HOUR, day + 2 * 86400 + 2.25 * HOUR)]
    assert usage_query.plan(day + 10, day + 20, (86400, HOUR)) == [(0, day + 10, day + 20)]
