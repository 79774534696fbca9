"""The ledger's writer on real SQLite and PostgreSQL: what is queued is written in batches and at stop; a
database outage keeps every record (in memory, then in spill files) and writes each once when the
database is back; spill files a stopped gateway left are written by the next one, once."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import yaml
from sqlalchemy import func, select

from llmswitch.config import Config, parse_config
from llmswitch.core import spill
from llmswitch.core.records import RequestRecord
from llmswitch.core.usage import UsageRecorder
from llmswitch.store import Store
from llmswitch.store.tables import usage_hourly, usage_records
from tests.support.databases import PG_HOST, PG_PORT, database_url, fresh_postgres, postgres_url  # noqa: F401
from tests.support.tcp_proxy import tcp_proxy


def config(database_url: str, spill_path: Path, **usage: object) -> Config:
    return parse_config(yaml.safe_dump({"database_url": database_url,
                                        "usage": {"spill_path": str(spill_path), **usage}}))


def made(i: int, at: float | None = None) -> RequestRecord:
    return RequestRecord(request_id=f"req-{i}", at=time.time() if at is None else at, key_id=None, model="gpt-4o",
                         provider="p", upstream_model="gpt-4o", deployment="p/gpt-4o#0", operation="chat",
                         dialect="openai", stream=False, status=200, error="", input_tokens=10, output_tokens=2,
                         cost_usd=0.001, latency_ms=12.0, ttft_ms=11.0)


async def counted(database_url: str) -> tuple[int, int, int]:
    """(rows, distinct request ids, requests summed in the roll-ups)."""
    store = await Store.open(database_url)
    try:
        async with store.engine.connect() as connection:
            rows = (await connection.execute(select(func.count()).select_from(usage_records))).scalar_one()
            distinct = (await connection.execute(select(func.count(usage_records.c.request_id.distinct())))
                        ).scalar_one()
            rolled = (await connection.execute(select(func.coalesce(func.sum(usage_hourly.c.requests), 0))))
            return int(rows), int(distinct), int(rolled.scalar_one())
    finally:
        await store.close()


async def eventually(condition: object, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.05)


async def test_records_queued_at_stop_are_all_written_in_batches(database_url: str, tmp_path: Path) -> None:
    recorder = UsageRecorder(config(database_url, tmp_path / "spill"))
    await recorder.start()
    for i in range(12_345):  # more than two batches
        recorder.record(made(i))
    await recorder.stop()
    assert await counted(database_url) == (12_345, 12_345, 12_345)
    assert spill.spilled(str(tmp_path / "spill")) == []


async def test_a_flush_writes_what_is_queued_at_once(database_url: str, tmp_path: Path) -> None:
    recorder = UsageRecorder(config(database_url, tmp_path / "spill"))
    await recorder.start()
    try:
        recorder.record(made(1))
        assert await recorder.flush()
        assert await counted(database_url) == (1, 1, 1)
    finally:
        await recorder.stop()


async def test_retention_deletes_the_records_of_the_days_before_it(database_url: str, tmp_path: Path) -> None:
    recorder = UsageRecorder(config(database_url, tmp_path / "spill", retention_days=2))
    await recorder.start()
    try:
        now = time.time()
        for i, days_ago in enumerate((5, 4, 3.5, 1, 0)):
            recorder.record(made(i, now - days_ago * 86400))
        assert await recorder.flush()
        assert await recorder.prune(now) == 3
    finally:
        await recorder.stop()
    assert await counted(database_url) == (2, 2, 2)


async def test_a_database_outage_keeps_every_record_and_writes_each_once_when_it_is_back(tmp_path: Path) -> None:
    with fresh_postgres() as url, tcp_proxy(PG_HOST, PG_PORT) as proxy:
        through_proxy = url.replace(f":{PG_PORT}/", f":{proxy.port}/")
        recorder = UsageRecorder(config(through_proxy, tmp_path / "spill", memory_records=500))
        await recorder.start()
        try:
            for i in range(100):
                recorder.record(made(i))
            assert await recorder.flush()
            proxy.cut()
            for i in range(100, 3000):  # beyond what memory holds: the oldest are spilled
                recorder.record(made(i))
                if i % 100 == 0:
                    await asyncio.sleep(0.05)
            await eventually(lambda: spill.spilled(str(tmp_path / "spill")) and recorder.waiting() <= 500)
            proxy.restore()
            await eventually(lambda: not recorder.waiting() and not spill.spilled(str(tmp_path / "spill")), 30)
        finally:
            await recorder.stop()
        assert await counted(url) == (3000, 3000, 3000)


async def test_spill_files_a_stopped_gateway_left_are_written_by_the_next_once(database_url: str,
                                                                              tmp_path: Path) -> None:
    unreachable = f"sqlite:///{tmp_path}/no-such-directory/ledger.db"
    stopped = UsageRecorder(config(unreachable, tmp_path / "spill"))
    await stopped.start()
    for i in range(700):
        stopped.record(made(i))
    await stopped.stop()  # the database never answered: everything is spilled
    (left,) = spill.spilled(str(tmp_path / "spill"))
    shutil.copy(left, tmp_path / "copy")

    for _ in range(2):  # the second time, as after a crash between the database's commit and the file's deletion
        successor = UsageRecorder(config(database_url, tmp_path / "spill"))
        await successor.start()
        assert await successor.flush()
        await successor.stop()
        assert spill.spilled(str(tmp_path / "spill")) == []
        shutil.copy(tmp_path / "copy", left)
    assert await counted(database_url) == (700, 700, 700)


async def test_a_spill_file_cut_short_keeps_its_whole_lines(database_url: str, tmp_path: Path) -> None:
    name = spill.spill(str(tmp_path / "spill"), [spill.Batch("a", [made(1), made(2)]), spill.Batch("b", [made(3)])])
    data = Path(name).read_bytes()
    Path(name).write_bytes(data[:-20])  # the last line torn, as by a crash while it was written
    recorder = UsageRecorder(config(database_url, tmp_path / "spill"))
    await recorder.start()
    assert await recorder.flush()
    await recorder.stop()
    assert await counted(database_url) == (2, 2, 2)


async def test_a_spill_file_another_process_holds_is_left_to_it(tmp_path: Path) -> None:
    name = spill.spill(str(tmp_path / "spill"), [spill.Batch("a", [made(1)])])
    held = spill.claim(name)
    assert held is not None and [b.id for b in held.batches] == ["a"]
    assert spill.claim(name) is None  # flock is per open file: a second claim, even here, is refused
    held.release(written=False)
    again = spill.claim(name)
    assert again is not None
    again.release(written=True)
    assert not Path(name).exists()


async def test_the_queue_is_capped_the_oldest_records_dropped(tmp_path: Path) -> None:
    recorder = UsageRecorder(config(f"sqlite:///{tmp_path}/x.db", tmp_path / "spill", memory_records=5000))
    for i in range(25_000):  # no writer running: nothing drains the queue
        recorder.record(made(i))
    assert len(recorder.pending) == 20_000 and recorder.dropped == 5_000
    assert recorder.pending[0].request_id == "req-5000"


def test_usage_disabled_queues_nothing(tmp_path: Path) -> None:
    recorder = UsageRecorder(config(f"sqlite:///{tmp_path}/x.db", tmp_path / "spill", enabled=False))
    recorder.record(made(1))
    assert not recorder.pending
