"""The budget alerts' webhook calls against a real receiver on loopback, from a real SQLite outbox:
signed as the README says, retried with backoff until the attempts run out, given back by a process
that stops, with every credential of the webhook counted as a secret."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from llmswitch.config import WebhookConfig
from llmswitch.core.alert_webhook import Webhook, retry_delay
from llmswitch.store import Store
from llmswitch.store.alerts import Crossing
from llmswitch.store.tables import budget_alerts
from tests.support.webhook import receiving

SECRET = "whsec-test-0123456789"
BODY = '{"id":"alert_1","threshold_percent":50}'


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite:///{tmp_path}/llmswitch.db")
    yield opened
    await opened.close()


def webhook(store: Store, url: str, clock: Clock | None = None, **settings: object) -> Webhook:
    config = WebhookConfig(url=url, secret=SECRET, **settings)  # type: ignore[arg-type]
    return Webhook(config, store.alerts, clock or time.time)


async def pending(store: Store, now: float, alert_id: str = "alert_1") -> None:
    await store.alerts.claim(Crossing(alert_id, "key", "key_team", 0.0, 50.0, BODY), now)


async def row(store: Store, alert_id: str = "alert_1") -> dict[str, object]:
    async with store.engine.connect() as connection:
        found = (await connection.execute(select(budget_alerts).where(budget_alerts.c.id == alert_id))).one()
    return dict(found._mapping)


async def settled(store: Store, status: str, attempts: int, timeout_s: float = 10.0) -> dict[str, object]:
    """The alert's row once its attempt has been recorded (its claim given up)."""
    deadline = time.monotonic() + timeout_s
    found = await row(store)
    while not (found["status"] == status and found["attempts"] == attempts and found["claimed_until"] == 0.0):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.02)
        found = await row(store)
    return found


def test_the_delay_doubles_from_retry_s_up_to_an_hour() -> None:
    assert [retry_delay(2.0, failed) for failed in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert retry_delay(2.0, 90) == 3600.0


async def test_a_call_is_signed_over_its_timestamp_and_body(store: Store) -> None:
    async with receiving() as receiver:
        assert await webhook(store, receiver.url).send(BODY.encode()) is None
        [call] = receiver.calls
        assert call.verified(SECRET) == {"id": "alert_1", "threshold_percent": 50}
        assert call.headers["Content-Type"] == "application/json"


async def test_a_body_changed_on_the_way_fails_the_signature(store: Store) -> None:
    async with receiving() as receiver:
        await webhook(store, receiver.url).send(BODY.encode())
        receiver.calls[0].body = BODY.replace("50", "5").encode()
        with pytest.raises(AssertionError):
            receiver.calls[0].verified(SECRET)


async def test_credentials_in_the_url_are_sent_as_basic_auth_and_never_in_the_request_line(store: Store) -> None:
    async with receiving() as receiver:
        url = receiver.url.replace("http://", "http://alerts:pa%40ss@")
        assert await webhook(store, url).send(BODY.encode()) is None
        call = receiver.calls[0]
        assert call.headers["Authorization"] == "Basic " + base64.b64encode(b"alerts:pa@ss").decode()
        assert "pa" not in call.path


async def test_a_receiver_that_does_not_answer_in_time_fails_the_attempt(store: Store) -> None:
    async with receiving(hold=True) as receiver:
        assert await webhook(store, receiver.url, timeout_s=0.2).send(BODY.encode()) == "first_byte_timeout"


async def test_a_failed_attempt_is_due_again_after_the_backoff_and_the_next_is_sent(store: Store) -> None:
    clock = Clock()
    async with receiving(statuses=[503]) as receiver:
        hook = webhook(store, receiver.url, clock, retry_s=30.0)
        await pending(store, clock.now)
        await hook.pump()
        failed = await settled(store, "pending", 1)
        assert (failed["last_error"], failed["next_attempt_at"]) == ("status 503", clock.now + 30.0)
        clock.now += 29.0
        await hook.pump()  # not due yet
        clock.now += 1.0
        await hook.pump()
        assert (await settled(store, "sent", 2))["done_at"] == clock.now
        assert len(receiver.calls) == 2
        await hook.stop()


async def test_an_alert_whose_attempts_ran_out_is_failed_and_never_sent_again(store: Store) -> None:
    clock = Clock()
    async with receiving(statuses=[500, 500, 500]) as receiver:
        hook = webhook(store, receiver.url, clock, retry_s=1.0, max_attempts=2)
        await pending(store, clock.now)
        await hook.pump()
        await settled(store, "pending", 1)
        clock.now += 1.0
        await hook.pump()
        assert (await settled(store, "failed", 2))["last_error"] == "status 500"
        clock.now += 3600.0
        await hook.pump()
        assert len(receiver.calls) == 2
        await hook.stop()


async def test_one_attempt_is_made_by_one_process_at_a_time(store: Store) -> None:
    async with receiving(hold=True) as receiver:
        first, second = webhook(store, receiver.url), webhook(store, receiver.url)
        await pending(store, time.time())
        await asyncio.gather(first.pump(), second.pump())
        await receiver.wait_calls(1)
        await second.pump()
        assert len(receiver.calls) == 1
        receiver.release.set()
        await settled(store, "sent", 1)
        await first.stop()
        await second.stop()


async def test_a_stopping_process_gives_its_call_back_for_another_to_make_at_once(store: Store) -> None:
    async with receiving(hold=True) as receiver:
        stopping = webhook(store, receiver.url)
        await pending(store, time.time())
        await stopping.pump()
        await receiver.wait_calls(1)
        await stopping.stop()
        receiver.hold = False
        taking_over = webhook(store, receiver.url)
        await taking_over.pump()
        assert (await settled(store, "sent", 2))["status"] == "sent"
        await taking_over.stop()


def test_every_credential_of_the_webhook_is_a_secret_to_scrub(tmp_path: Path) -> None:
    config = WebhookConfig(url="https://bot:pw-Zx81-secret@hooks.example.com/T01/B02/tok3nTok3n", secret=SECRET,
                           headers={"x-token": "hdr-Qq77-secret"})
    held = Webhook(config, None, time.time).credentials()  # type: ignore[arg-type]
    for secret in (SECRET, "pw-Zx81-secret", "https://hooks.example.com/T01/B02/tok3nTok3n", "hdr-Qq77-secret"):
        assert secret in held
