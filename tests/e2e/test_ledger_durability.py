"""No ledger record is lost, through real gateway processes on real PostgreSQL (and SQLite): not when
SIGTERM comes with 200 requests in flight, not when the database is away for 10 s while requests keep
coming (the shared PostgreSQL stays up: a TCP proxy this test controls is cut)."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.e2e.ledger_fixtures import MASTER
from tests.support.databases import PG_HOST, PG_PORT, fresh_postgres
from tests.support.fake import fake_directive, fake_get
from tests.support.processes import Process, start_fake_upstream, start_gateway
from tests.support.tcp_proxy import tcp_proxy

GRACE_S = 4.0
IN_FLIGHT = 200
OUTAGE_S = 10.0


@pytest.fixture(scope="module")
def fake() -> Iterator[Process]:
    with start_fake_upstream(name="fake-durability") as process:
        yield process


def config(fake_url: str, database_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "server": {"shutdown_grace_s": GRACE_S, "keepalive_s": 0.5},
        "auth": {"master_key": MASTER, "secret": "durability-secret"},
        "database_url": database_url,
        "providers": {"fake": {"type": "openai", "base_url": f"{fake_url}/v1", "api_keys": ["k"]}},
        "models": {"gpt-4o": [{"provider": "fake"}]},
        **extra,
    }


async def stored(database_url: str) -> dict[str, list[int]]:
    """Every request id in the ledger with the statuses recorded for it (read straight from PostgreSQL)."""
    connection = await asyncpg.connect(database_url)
    try:
        async with connection.transaction(isolation="repeatable_read"):  # one snapshot: the gateway still writes
            rows = await connection.fetch("SELECT request_id, status FROM usage_records")
            rolled = [await connection.fetchval(f"SELECT coalesce(sum(requests), 0) FROM {table}")
                      for table in ("usage_hourly", "usage_daily")]
    finally:
        await connection.close()
    out: dict[str, list[int]] = {}
    for row in rows:
        out.setdefault(row["request_id"], []).append(row["status"])
    assert rolled == [len(rows)] * 2  # the roll-ups count each row once
    return out


async def chat(session: aiohttp.ClientSession, url: str, request_id: str, text: str, stream: bool = False) -> int:
    body = {"model": "gpt-4o", "stream": stream, "messages": [{"role": "user", "content": text}]}
    headers = {"authorization": f"Bearer {MASTER}", "x-request-id": request_id}
    try:
        async with session.post(f"{url}/v1/chat/completions", json=body, headers=headers) as response:
            await response.read()
            return response.status
    except aiohttp.ClientError:
        return 0


async def test_sigterm_with_200_requests_in_flight_loses_no_record(fake: Process, tmp_path: Path) -> None:
    with fresh_postgres() as database:
        with start_gateway(config(fake.url, database)) as gateway:
            baseline = fake_get(fake.url, "/_fake/stats")["in_flight"]
            ids = [f"term-{uuid.uuid4().hex[:10]}" for _ in range(IN_FLIGHT)]
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                             timeout=aiohttp.ClientTimeout(total=90)) as session:
                # half finish within the grace, half outlive it (ended by the gateway: a 503, an error event)
                sending = [asyncio.create_task(chat(session, gateway.url, request_id,
                                                    fake_directive(hang_s=1.5 if i % 2 else 60), stream=i % 4 < 2))
                           for i, request_id in enumerate(ids)]
                deadline = time.monotonic() + 30
                while fake_get(fake.url, "/_fake/stats")["in_flight"] < baseline + IN_FLIGHT:
                    assert time.monotonic() < deadline, "the requests never all reached the upstream"
                    await asyncio.sleep(0.05)
                gateway.process.send_signal(signal.SIGTERM)
                statuses = await asyncio.gather(*sending)
                assert await asyncio.to_thread(gateway.process.wait, 60) == 0
        rows = await stored(database)
    assert sorted(rows) == sorted(ids)  # every request, once
    assert all(len(recorded) == 1 for recorded in rows.values())
    assert {rows[request_id][0] for i, request_id in enumerate(ids) if i % 2} == {200}
    assert {rows[request_id][0] for i, request_id in enumerate(ids) if not i % 2} == {503}
    assert statuses.count(0) == 0


async def test_a_10_s_database_outage_loses_no_record(fake: Process, tmp_path: Path) -> None:
    with ExitStack() as stack:
        database = stack.enter_context(fresh_postgres())
        proxy = stack.enter_context(tcp_proxy(PG_HOST, PG_PORT))
        through_proxy = database.replace(f":{PG_PORT}/", f":{proxy.port}/")
        # a small memory bound, so that the outage also goes to spill files
        gateway = stack.enter_context(start_gateway(config(fake.url, through_proxy, usage={"memory_records": 100})))
        sent: list[str] = []
        async with aiohttp.ClientSession() as session:
            async def burst(seconds: float) -> None:
                end = time.monotonic() + seconds
                while time.monotonic() < end:
                    batch = [f"out-{uuid.uuid4().hex[:10]}" for _ in range(10)]
                    sent.extend(batch)
                    statuses = await asyncio.gather(*(chat(session, gateway.url, request_id, "hi", stream=j % 2 == 0)
                                                      for j, request_id in enumerate(batch)))
                    assert set(statuses) == {200}  # the hot path never waits on the database
                    await asyncio.sleep(0.02)

            await burst(1.0)
            proxy.cut()
            await burst(OUTAGE_S)
            during = len(sent)
            proxy.restore()
            await burst(1.0)
        deadline = time.monotonic() + 30
        while len(rows := await stored(database)) < len(sent):
            assert time.monotonic() < deadline, f"{len(sent) - len(rows)} records never reached the database"
            await asyncio.sleep(0.5)
        spilled = "spilled to" in gateway.log()
    assert sorted(rows) == sorted(sent) and all(len(recorded) == 1 for recorded in rows.values())
    assert during > 300 and spilled  # the outage saw hundreds of requests, more than memory held
