"""Which crossings the budget watch claims, on real SQLite and PostgreSQL, with time given to `check`
(so periods roll over without sleeping): each threshold once per period, again in the next, once
for any number of watches (workers, machines) sharing the database."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Boolean, Float, Integer, String, insert, select

from llmswitch.config import Config, parse_config
from llmswitch.core.budget_alerts import FOLD_AT, HOUR, BudgetWatch
from llmswitch.core.keys import KeyRecord
from llmswitch.core.limits import period_bounds
from llmswitch.core.records import RequestRecord
from llmswitch.store import Store
from llmswitch.store.tables import budget_alerts, usage_records
from tests.support.databases import database_url, postgres_url  # noqa: F401  (fixtures)

DAY_1 = datetime(2026, 12, 1, 9, tzinfo=UTC).timestamp()  # a Tuesday
DAY_2 = datetime(2026, 12, 2, 9, tzinfo=UTC).timestamp()
CONFIG = """\
auth: {master_key: sk-master-watch}
providers: {up: {type: openai, base_url: "http://127.0.0.1:9/v1"}}
models: {gpt-4o: [{provider: up}]}
aliases: {gpt-5: gpt-4o, "gpt-4*": gpt-4o}
alerts:
  webhook: {url: "http://127.0.0.1:9/hook", secret: "0123456789abcdef"}
  models: {gpt-4o: {budget_usd: 10, period: daily}}
"""


class Keys:
    """The keys' budgets, as the authenticator's cache hands them over."""

    def __init__(self, *records: KeyRecord):
        self.records = {record.id: record for record in records}

    def key_record(self, key_id: str) -> KeyRecord | None:
        return self.records.get(key_id)

    def key_records(self) -> Iterable[KeyRecord]:
        return self.records.values()


def key(key_id: str = "key_team", budget_usd: float | None = 1.0, period: str = "daily") -> KeyRecord:
    return KeyRecord(id=key_id, key_hash=key_id, key_prefix="sk-", created_at=0.0, updated_at=0.0,
                     name="team-a", budget_usd=budget_usd, budget_period=period)  # type: ignore[arg-type]


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(database_url)
    yield opened
    await opened.close()


def watch(store: Store, *keys: KeyRecord, config: Config | None = None) -> BudgetWatch:
    watching = BudgetWatch(config or parse_config(CONFIG), Keys(*keys))
    watching.store = store
    return watching


def served(watching: BudgetWatch, usd: float, at: float, key_id: str | None = "key_team",
           model: str = "gpt-4o") -> None:
    """A request priced USD, as the pipeline hands it to the watch."""
    watching.observe(RequestRecord(request_id="r", at=at, key_id=key_id, model=model, provider="up",
                                   upstream_model=model, deployment="up", operation="chat", dialect="openai",
                                   stream=False, status=200, error="", cost_usd=usd))


async def write_usage(store: Store, **values: Any) -> None:
    """One usage row with VALUES, every other column at its type's zero (whatever columns it has)."""
    zero = {String: "", Integer: 0, Float: 0.0, Boolean: False}
    row = {column.name: next((v for t, v in zero.items() if isinstance(column.type, t)), None)
           for column in usage_records.columns if not column.primary_key}
    async with store.engine.begin() as connection:
        await connection.execute(insert(usage_records).values({**row, **values}))


async def claimed(store: Store) -> list[tuple[str, str, float, float]]:
    """(kind, subject, period start, threshold) of each alert row, in threshold order."""
    query = select(budget_alerts.c.subject_kind, budget_alerts.c.subject, budget_alerts.c.period_start,
                   budget_alerts.c.threshold).order_by(budget_alerts.c.period_start, budget_alerts.c.threshold)
    async with store.engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(query)]


async def bodies(store: Store) -> list[dict[str, Any]]:
    async with store.engine.connect() as connection:
        rows = await connection.execute(select(budget_alerts.c.body).order_by(budget_alerts.c.threshold))
        return [json.loads(body) for (body,) in rows]


async def test_each_threshold_is_claimed_when_the_spend_reaches_it(store: Store) -> None:
    watching = watch(store, key())
    day = period_bounds("daily", DAY_1).start
    served(watching, 0.49, DAY_1)
    assert await watching.check(DAY_1) == 0
    served(watching, 0.01, DAY_1)
    assert await watching.check(DAY_1) == 1
    served(watching, 0.5, DAY_1)
    assert await watching.check(DAY_1) == 2
    assert await claimed(store) == [("key", "key_team", day, 50.0), ("key", "key_team", day, 80.0),
                                    ("key", "key_team", day, 100.0)]


async def test_a_threshold_is_not_claimed_twice_in_its_period(store: Store) -> None:
    watching = watch(store, key())
    served(watching, 0.6, DAY_1)
    await watching.check(DAY_1)
    served(watching, 0.1, DAY_1 + 60)
    assert await watching.check(DAY_1 + 60) == 0
    assert [threshold for *_, threshold in await claimed(store)] == [50.0]


async def test_the_next_period_claims_the_thresholds_again_from_its_own_spend(store: Store) -> None:
    watching = watch(store, key())
    served(watching, 1.0, DAY_1)
    assert await watching.check(DAY_1) == 3
    served(watching, 0.3, DAY_2)
    assert await watching.check(DAY_2) == 0  # yesterday's dollar is not today's
    served(watching, 0.3, DAY_2)
    assert await watching.check(DAY_2) == 1
    assert [(start, threshold) for _k, _s, start, threshold in await claimed(store)][-1] == (
        period_bounds("daily", DAY_2).start, 50.0)


async def test_a_request_that_started_before_midnight_counts_in_the_day_it_started(store: Store) -> None:
    watching = watch(store, key())
    midnight = period_bounds("daily", DAY_1).end
    served(watching, 0.6, midnight - 30)
    assert await watching.check(midnight + 60) == 1
    assert [start for _k, _s, start, _t in await claimed(store)] == [period_bounds("daily", DAY_1).start]


async def test_watches_sharing_a_database_add_up_each_ones_share(store: Store) -> None:
    workers = [watch(store, key()) for _ in range(3)]
    for worker in workers:  # each served a third of the traffic, none half of the budget
        served(worker, 0.34, DAY_1)
    won = [await worker.check(DAY_1) for worker in workers]
    assert won == [0, 1, 2] and len(await claimed(store)) == 3


async def test_a_crossing_seen_by_several_watches_is_claimed_once(store: Store) -> None:
    workers = [watch(store, key()) for _ in range(3)]
    served(workers[0], 1.0, DAY_1)
    assert await workers[0].check(DAY_1) == 3
    for worker in workers[1:]:
        worker.due.add(("key", "key_team"))  # as at their start-up: they read the counter, already over
        assert await worker.check(DAY_1) == 0
    assert len(await claimed(store)) == 3


async def test_a_counter_begins_from_the_usage_rows_of_its_period_before_the_requests_in_flight(
        store: Store) -> None:
    now = DAY_1 + 5 * HOUR
    await write_usage(store, key_id="key_team", cost_usd=0.3, at=now - 3 * HOUR)  # written before alerts ran
    await write_usage(store, key_id="key_team", cost_usd=0.3, at=now - 60)  # written and ...
    watching = watch(store, key())
    served(watching, 0.3, now - 60)  # ... served by this process: counted once
    assert await watching.check(now) == 1
    assert [body["spent_usd"] for body in await bodies(store)] == [0.6]


async def test_a_budget_set_on_a_key_counts_what_it_spent_just_before(store: Store) -> None:
    keys = Keys(key(budget_usd=None))
    watching = BudgetWatch(parse_config(CONFIG), keys)
    watching.store = store
    served(watching, 0.6, DAY_1)
    assert await watching.check(DAY_1) == 0
    keys.records["key_team"] = key(budget_usd=1.0)
    served(watching, 0.1, DAY_1 + 60)
    assert await watching.check(DAY_1 + 60) == 1
    assert [body["spent_usd"] for body in await bodies(store)] == [0.7]


async def test_a_restarted_watch_claims_what_the_counter_crossed_before_it(store: Store) -> None:
    crashed = watch(store, key())
    served(crashed, 0.6, DAY_1)
    await crashed.check(DAY_1)
    async with store.engine.begin() as connection:  # as if it died between adding and claiming
        await connection.execute(budget_alerts.delete())
    restarted = watch(store, key())
    restarted.due.add(("key", "key_team"))  # what `start` looks at: every budgeted subject
    assert await restarted.check(DAY_1) == 1


async def test_spend_the_database_did_not_take_is_added_at_the_next_look(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    watching = watch(store, key())
    served(watching, 0.6, DAY_1)

    async def down(*_args: object) -> None:
        raise OSError("the database is down")

    monkeypatch.setattr(store.alerts, "add", down)
    with pytest.raises(OSError):
        await watching.check(DAY_1)
    monkeypatch.undo()
    assert await watching.check(DAY_1) == 1


async def test_requests_summed_between_two_looks_are_counted_once(store: Store) -> None:
    watching = watch(store, key(budget_usd=FOLD_AT / 100))
    for _ in range(FOLD_AT + 10):  # a look waiting on the database: the kept requests are summed meanwhile
        served(watching, 0.01, DAY_1, model="unbudgeted")
    assert len(watching.served) < FOLD_AT
    assert await watching.check(DAY_1) == 3
    assert max(body["spent_usd"] for body in await bodies(store)) == pytest.approx((FOLD_AT + 10) / 100)


async def test_a_model_budget_counts_the_requests_that_asked_for_it_by_a_plain_alias(store: Store) -> None:
    watching = watch(store)
    served(watching, 4.0, DAY_1, key_id=None, model="gpt-4o")
    served(watching, 4.0, DAY_1, key_id=None, model="gpt-5")
    assert await watching.check(DAY_1) == 2
    assert [body["threshold_percent"] for body in await bodies(store)] == [50, 80]


async def test_the_alert_says_who_crossed_what_in_which_period(store: Store) -> None:
    watching = watch(store, key(period="weekly"))
    served(watching, 0.55, DAY_1)
    await watching.check(DAY_1)
    [body] = await bodies(store)
    assert body["id"].startswith("alert_") and body["type"] == "budget.threshold_crossed"
    assert body["subject"] == {"kind": "key", "id": "key_team", "name": "team-a"}
    assert (body["threshold_percent"], body["budget_usd"], body["spent_usd"]) == (50, 1.0, 0.55)
    assert body["period"] == {"kind": "weekly", "name": "2026-W49", "start": "2026-11-30T00:00:00Z",
                              "end": "2026-12-07T00:00:00Z"}
    assert body["at"] == "2026-12-01T09:00:00Z"


async def test_a_key_without_a_dollar_budget_is_never_alerted(store: Store) -> None:
    watching = watch(store, key(budget_usd=None))
    served(watching, 50.0, DAY_1, model="unbudgeted")
    assert await watching.check(DAY_1) == 0
    assert await claimed(store) == []


def test_budget_periods_are_utc_days_iso_weeks_months_and_one_total() -> None:
    december = datetime(2026, 12, 31, 23, 59, tzinfo=UTC).timestamp()
    assert period_bounds("daily", december)[0] == "2026-12-31"
    week = period_bounds("weekly", december)
    assert (week.name, datetime.fromtimestamp(week.start, UTC).strftime("%a %d")) == ("2026-W53", "Mon 28")
    month = period_bounds("monthly", december)
    assert datetime.fromtimestamp(month.end, UTC) == datetime(2027, 1, 1, tzinfo=UTC)
    assert period_bounds("total", december) == ("total", 0.0, float("inf"))
