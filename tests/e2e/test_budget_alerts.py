"""Budget alerts through a real gateway process in front of the fake upstream, on real SQLite and
PostgreSQL, calling a real webhook receiver on loopback (`tests.support.webhook`), whose every call's
signature is checked as README's "Budget alerts" tells a receiver to.

Prices make the sums easy: $1,000 per million input tokens, output free, and the fake bills each
request the prompt tokens its directive says: 250 tokens cost $0.25.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from llmswitch.core.keys import KeyFields, new_record
from llmswitch.store import Store
from llmswitch.store.tables import budget_alerts
from tests.support.databases import database_url, postgres_url  # noqa: F401  (fixtures)
from tests.support.fake import fake_directive
from tests.support.processes import Process, start_fake_upstream, start_gateway
from tests.support.webhook import Receiver, receiving

MASTER = "sk-master-alerts"
ADMIN = {"authorization": f"Bearer {MASTER}"}
SECRET = "whsec-e2e-Kx7-0123456789"
SERVER_SECRET = "alerts-server-secret"


@pytest.fixture(scope="module")
def fake() -> Iterator[Process]:
    with start_fake_upstream() as process:
        yield process


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/llmswitch.db"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    # a connection per request: with several workers, each accepts its share of them
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True, limit=0)) as client:
        yield client


def config(fake: Process, database_url: str, hook_url: str, webhook: dict[str, Any] | None = None,
           **alerts: Any) -> dict[str, Any]:
    return {
        "auth": {"master_key": MASTER, "secret": SERVER_SECRET},
        "database_url": database_url,
        "providers": {"fake": {"type": "openai", "base_url": f"{fake.url}/v1", "api_keys": ["x"]}},
        "models": {"priced": [{"provider": "fake", "model": "gpt-4o"}]},
        "prices": {"priced": {"input": 1000, "output": 0}},
        "alerts": {"webhook": {"url": hook_url, "secret": SECRET, "retry_s": 0.2, **(webhook or {})},
                   "interval_s": 0.2, **alerts},
    }


@asynccontextmanager
async def gateway(settings: dict[str, Any], **options: Any) -> AsyncIterator[Process]:
    """`start_gateway` off the event loop, which keeps serving the receiver meanwhile."""
    manager = start_gateway(settings, **options)
    process = await asyncio.to_thread(manager.__enter__)
    try:
        yield process
    finally:
        await asyncio.to_thread(manager.__exit__, None, None, None)


async def create_key(session: aiohttp.ClientSession, gw: Process, **fields: Any) -> tuple[str, str]:
    """(key id, key) of a new key."""
    async with session.post(f"{gw.url}/admin/api/keys", json=fields, headers=ADMIN) as response:
        assert response.status == 201, await response.text()
        created = await response.json()
    return created["id"], created["key"]


async def stored_key(database_url: str, **fields: Any) -> str:
    """A new key written straight to the database, before any gateway starts; the key."""
    record, token = new_record(KeyFields(**fields), SERVER_SECRET.encode(), "sk-llms-")
    store = await Store.open(database_url)
    try:
        await store.keys.insert(record)
    finally:
        await store.close()
    return token


async def spend(session: aiohttp.ClientSession, gw: Process, token: str, cents: int) -> int:
    """One chat request billed CENTS; its status."""
    body = {"model": "priced", "max_tokens": 1, "messages": [
        {"role": "user", "content": "hi " + fake_directive(text="ok", usage={"prompt": cents * 10, "completion": 1})}]}
    async with session.post(f"{gw.url}/v1/chat/completions", json=body,
                            headers={"authorization": f"Bearer {token}"}) as response:
        await response.read()
        return response.status


async def alert_rows(database_url: str) -> list[dict[str, Any]]:
    store = await Store.open(database_url)
    try:
        async with store.engine.connect() as connection:
            rows = await connection.execute(select(budget_alerts).order_by(budget_alerts.c.threshold))
            return [dict(row._mapping) for row in rows]
    finally:
        await store.close()


def thresholds(alerts: list[dict[str, Any]], kind: str) -> list[int]:
    return sorted(alert["threshold_percent"] for alert in alerts if alert["subject"]["kind"] == kind)


async def test_a_key_crossing_its_budget_gets_one_signed_call_per_threshold(
        fake: Process, database_url: str, session: aiohttp.ClientSession) -> None:
    async with receiving() as receiver, gateway(config(fake, database_url, receiver.url)) as gw:
        key_id, token = await create_key(session, gw, name="team-a", budget_usd=1.0, budget_period="daily")
        assert [await spend(session, gw, token, 25) for _ in range(4)] == [200] * 4  # $1.00 of $1
        await receiver.wait_calls(3)
        alerts = receiver.alerts(SECRET)
    assert thresholds(alerts, "key") == [50, 80, 100] and len(alerts) == 3
    for alert in alerts:
        assert alert["subject"] == {"kind": "key", "id": key_id, "name": "team-a"}
        assert alert["budget_usd"] == 1.0 and alert["spent_usd"] >= alert["threshold_percent"] / 100
        assert alert["period"]["kind"] == "daily" and alert["period"]["end"] > alert["period"]["start"]
    assert [row["status"] for row in await alert_rows(database_url)] == ["sent"] * 3


async def test_a_model_budget_gets_one_call_per_threshold_and_none_for_spend_beyond_it(
        fake: Process, database_url: str, session: aiohttp.ClientSession) -> None:
    budget = {"priced": {"budget_usd": 1.0, "period": "monthly"}}
    async with receiving() as receiver, gateway(config(fake, database_url, receiver.url, models=budget)) as gw:
        assert [await spend(session, gw, MASTER, 30) for _ in range(6)] == [200] * 6  # $1.80 of $1
        await receiver.wait_calls(3)
        # a key alert claimed by a later look, which also sums the model again after all its spend
        _key_id, token = await create_key(session, gw, budget_usd=0.1)
        await spend(session, gw, token, 10)
        await receiver.wait_calls(6)
        alerts = receiver.alerts(SECRET)
    assert thresholds(alerts, "model") == [50, 80, 100] and thresholds(alerts, "key") == [50, 80, 100]
    assert {alert["subject"]["id"] for alert in alerts if alert["subject"]["kind"] == "model"} == {"priced"}
    assert len([row for row in await alert_rows(database_url) if row["subject_kind"] == "model"]) == 3


async def test_a_receiver_failing_twice_gets_the_alert_on_the_third_attempt(
        fake: Process, sqlite_url: str, session: aiohttp.ClientSession) -> None:
    async with receiving(statuses=[500, 503]) as receiver:
        settings = config(fake, sqlite_url, receiver.url, thresholds=[100],
                          models={"priced": {"budget_usd": 0.1, "period": "daily"}})
        async with gateway(settings) as gw:
            assert await spend(session, gw, MASTER, 20) == 200
            calls = await receiver.wait_calls(3)
    assert len({call.body for call in calls}) == 1  # the same alert, signed afresh each time
    assert [call.verified(SECRET)["threshold_percent"] for call in calls] == [100] * 3
    [row] = await alert_rows(sqlite_url)
    assert (row["status"], row["attempts"]) == ("sent", 3)


async def test_two_workers_sharing_the_traffic_send_each_alert_once(
        fake: Process, database_url: str, session: aiohttp.ClientSession) -> None:
    token = await stored_key(database_url, budget_usd=1.0)  # both workers know it from the start
    async with receiving() as receiver:
        async with gateway(config(fake, database_url, receiver.url), workers=2) as gw:
            statuses = await asyncio.gather(*(spend(session, gw, token, 5) for _ in range(20)))  # $1.00
            assert statuses == [200] * 20
            await receiver.wait_calls(3)
        # stopped: each worker's last look has claimed whatever it still saw crossed
        alerts = receiver.alerts(SECRET)
    assert thresholds(alerts, "key") == [50, 80, 100] and len(alerts) == 3
    assert len(await alert_rows(database_url)) == 3


async def test_requests_are_served_while_the_webhook_hangs(
        fake: Process, sqlite_url: str, session: aiohttp.ClientSession) -> None:
    async with receiving(hold=True) as receiver:
        settings = config(fake, sqlite_url, receiver.url, webhook={"timeout_s": 120},
                          models={"priced": {"budget_usd": 0.01, "period": "daily"}})
        async with gateway(settings) as gw:
            assert await spend(session, gw, MASTER, 5) == 200
            await receiver.wait_calls(3)
            assert receiver.open_calls == 3
            assert await asyncio.gather(*(spend(session, gw, MASTER, 1) for _ in range(20))) == [200] * 20
            assert receiver.open_calls == 3  # the calls still hang


async def test_an_alert_whose_call_was_in_progress_at_shutdown_is_sent_after_the_restart(
        fake: Process, sqlite_url: str, session: aiohttp.ClientSession) -> None:
    async with receiving(hold=True) as receiver:
        settings = config(fake, sqlite_url, receiver.url, thresholds=[100], webhook={"timeout_s": 120},
                          models={"priced": {"budget_usd": 0.01, "period": "daily"}})
        async with gateway(settings) as gw:
            assert await spend(session, gw, MASTER, 5) == 200
            await receiver.wait_calls(1)
        assert [row["status"] for row in await alert_rows(sqlite_url)] == ["pending"]
        receiver.hold = False
        async with gateway(settings):
            calls = await receiver.wait_calls(2)
    assert calls[0].body == calls[1].body
    assert [row["status"] for row in await alert_rows(sqlite_url)] == ["sent"]


async def test_the_webhook_url_and_secret_never_reach_the_log(
        fake: Process, sqlite_url: str, session: aiohttp.ClientSession) -> None:
    async with receiving(path="/hooks/T01/tok3nPath9Zq", statuses=[500]) as receiver:
        url = receiver.url.replace("http://", "http://bot:pw-Zx81-hook@")
        settings = config(fake, sqlite_url, url, thresholds=[100],
                          models={"priced": {"budget_usd": 0.01, "period": "daily"}})
        async with gateway(settings, env={"LLMSWITCH_LOG_LEVEL": "INFO"}) as gw:
            assert await spend(session, gw, MASTER, 5) == 200
            await receiver.wait_calls(2)
            log = gw.log()
    assert "webhook attempt 1 of 10 failed (status 500)" in log
    for secret in (SECRET, "tok3nPath9Zq", "pw-Zx81-hook"):
        assert secret not in log
