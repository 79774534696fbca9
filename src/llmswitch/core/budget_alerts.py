"""Budget alerts: a key (its `budget_usd`) or a model (`alerts.models`) whose spend in its period
crosses a threshold percentage of its budget gets one webhook call per threshold and period.

The spend is counted where every worker of every machine sharing the database meets: a counter per
subject and period in the database (`budget_spend`). The request path only keeps each priced request
(`observe`, a pipeline sink); every `alerts.interval_s` a background task sums them per subject and
hour and adds the sums to the counters, each addition one statement that returns the sum after it,
so the process whose addition crossed a threshold sees it, whatever the others served. (A
worker's own limit counters see its share of the traffic only, and a model has none; summing the
usage table instead would cost a scan of the subject's whole period at every look: 0.2 s on
PostgreSQL, 1.4 s on SQLite, for a key with 500,000 rows in its period.)

A counter begins, the first time any process needs it, from the usage table: the rows of its period
before `since`, an hour boundary at least `server.max_timeout_s` and a minute ago (every request
that started before it has ended and been written), while what started from `since` on is added by
the processes that served it. So a counter neither misses nor counts twice a request in flight when
it begins; a process keeps the sums of keys without a budget that long too, so a budget set on a key
counts what the key spent just before. A counter stops short of the usage table only by what a
process that died had not added yet (at most `interval_s` of its traffic).

Exactly once: each crossing is an insert that the database's unique constraint (subject, period,
threshold) lets only one process make; that process's row is the alert, sent by `core.alert_webhook`.
At start-up every budgeted subject is looked at, so a crossing whose claim a crash lost is claimed then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, Protocol

import orjson

from llmswitch.config import AlertsConfig, Config
from llmswitch.core.keys import KeyRecord
from llmswitch.core.limits import MICRO, BudgetPeriod, period_bounds
from llmswitch.core.records import RequestRecord
from llmswitch.redact import SECRETS

if TYPE_CHECKING:
    from llmswitch.core.alert_webhook import Webhook
    from llmswitch.store import Store
    from llmswitch.store.alerts import Crossing

log = logging.getLogger("llmswitch.alerts")
Kind = Literal["key", "model"]
Subject = tuple[Kind, str]  # ("key", key id) | ("model", the model's name in `models`)
Bucket = tuple[Kind, str, int]  # a subject and an hour (unix seconds // 3600): every period starts on one
HOUR = 3600
WRITE_MARGIN_S = 60.0  # beyond the longest request, until its usage row is surely written
FOLD_AT = 10_000  # priced requests kept before they are summed on the spot (a look that waits on the database)


class Keys(Protocol):
    """Where the keys' budgets are read: the authenticator's cache (`core.auth.Authenticator`)."""

    def key_record(self, key_id: str) -> KeyRecord | None: ...

    def key_records(self) -> Iterable[KeyRecord]: ...


@dataclass(frozen=True, slots=True)
class Budget:
    subject: Subject
    name: str
    usd: float
    kind: str  # daily | weekly | monthly | total
    period: BudgetPeriod


@dataclass(slots=True)
class Counter:
    """A subject's counter for one period, as this process knows it."""

    since: float  # what was served from here on is added; what before, the usage table gave
    end: float  # of its period
    claimed: set[float] = field(default_factory=set)  # thresholds crossed (by this process or another)


class BudgetWatch:
    """Counts the budgeted spend and claims each crossing once (`check`)."""

    def __init__(self, config: Config, keys: Keys):
        assert config.alerts is not None
        self.alerts: AlertsConfig = config.alerts
        self.config = config
        self.keys = keys
        # each name a request may ask for (the model's own, its plain aliases) -> the budgeted model
        self.model_of = {name: model.name for name in config.public_names()
                         if (model := config.resolve_model(name, default=False)) and model.name in self.alerts.models}
        self.lag_s = config.server.max_timeout_s + WRITE_MARGIN_S
        self.served: list[RequestRecord] = []  # priced, since the last look
        self.carried: dict[Bucket, float] = {}  # USD to add: summed from `served`, of keys without a
        # budget (kept `lag_s`: one may be set), or that the database did not take
        self.due: set[Subject] = set()  # to be read with nothing to add: every budgeted one at start-up
        self.counters: dict[tuple[Subject, float], Counter] = {}  # by subject and period start
        self.store: Store | None = None
        self.webhook: Webhook | None = None
        self._task: asyncio.Task[None] | None = None

    # --- on the request path ---------------------------------------------------------------------
    def observe(self, record: RequestRecord) -> None:
        """A pipeline sink: keep a priced request for the next look. (A list append: summing each one
        here would cost 15 times the instructions, counted by callgrind.)"""
        if record.cost_usd > 0.0:
            self.served.append(record)
            if len(self.served) >= FOLD_AT:
                self._fold()

    # --- off it ----------------------------------------------------------------------------------
    async def check(self, now: float) -> int:
        """Add what this process served to the counters, read the subjects due, and claim the crossings
        found at NOW; the number this process claimed. (When the database fails, what was not added
        stays to be added, and the subjects due stay due.)"""
        assert self.store is not None
        spends = self._spends(now)
        try:
            await self._open(spends, now)
            counting = [(budget, hours) for budget, hours in spends.items()
                        if len(self._counter(budget).claimed) < len(self.alerts.thresholds)]
            sums = await self.store.alerts.add(
                [(*budget.subject, budget.period.start, self._owed(budget, hours)) for budget, hours in counting], now)
        except BaseException:
            self._carry(spends)
            raise
        claimed = 0
        try:
            for (budget, _hours), spent in zip(counting, sums):
                claimed += await self._claim(budget, self._counter(budget), spent, now)
        except BaseException:
            self.due |= {budget.subject for budget, _hours in counting}
            raise
        self.counters = {at: counter for at, counter in self.counters.items() if counter.end > now - self.lag_s}
        return claimed

    def _spends(self, now: float) -> dict[Budget, dict[int, float]]:
        """What is to be added to each counter, by hour (the subjects due with nothing); the spend of
        keys without a budget is carried on, as long as a budget set now could still count it."""
        self._fold()
        buckets, self.carried = self.carried, {}
        horizon = _hour_floor(now - self.lag_s)
        spends: dict[Budget, dict[int, float]] = {}
        for (kind, name, hour), usd in buckets.items():
            budget = self._budget((kind, name), hour * HOUR)
            if budget is not None:
                spends.setdefault(budget, {})[hour] = usd
            elif hour * HOUR >= horizon:
                self.carried[(kind, name, hour)] = usd
        for subject in self.due:
            if (budget := self._budget(subject, now)) is not None:
                spends.setdefault(budget, {})
        self.due = set()
        return spends

    def _fold(self) -> None:
        """Sum the requests kept into `carried`, by subject and hour: what a look adds."""
        records, self.served = self.served, []
        carried = self.carried
        for record in records:
            hour = int(record.at // HOUR)
            if record.key_id is not None:
                bucket: Bucket = ("key", record.key_id, hour)
                carried[bucket] = carried.get(bucket, 0.0) + record.cost_usd
            model = self.model_of.get(record.model)
            if model is not None:
                bucket = ("model", model, hour)
                carried[bucket] = carried.get(bucket, 0.0) + record.cost_usd

    def _carry(self, spends: dict[Budget, dict[int, float]]) -> None:
        """SPENDS were not added: add them at the next look."""
        for budget, hours in spends.items():
            self.due.add(budget.subject)
            for hour, usd in hours.items():
                bucket = (*budget.subject, hour)
                self.carried[bucket] = self.carried.get(bucket, 0.0) + usd

    def _budget(self, subject: Subject, at: float) -> Budget | None:
        """SUBJECT's budget and the period of it that holds AT; None when it has none."""
        kind, name = subject
        if kind == "key":
            key = self.keys.key_record(name)
            if key is None or key.budget_usd is None:
                return None
            return Budget(subject, key.name, key.budget_usd, key.budget_period, period_bounds(key.budget_period, at))
        model = self.alerts.models[name]
        return Budget(subject, name, model.budget_usd, model.period, period_bounds(model.period, at))

    def _counter(self, budget: Budget) -> Counter:
        return self.counters[(budget.subject, budget.period.start)]

    def _owed(self, budget: Budget, hours: dict[int, float]) -> float:
        """What of HOURS the counter of BUDGET's period counts: what was served from its `since` on."""
        since = self._counter(budget).since
        return sum(usd for hour, usd in hours.items() if hour * HOUR >= since)

    async def _open(self, spends: dict[Budget, dict[int, float]], now: float) -> None:
        """Know the counter of each budget in SPENDS, begun from the usage table where no process
        began it yet."""
        assert self.store is not None
        alerts = self.store.alerts
        unknown: dict[tuple[Kind, float], list[Budget]] = {}
        for budget in spends:
            if (budget.subject, budget.period.start) not in self.counters:
                unknown.setdefault((budget.subject[0], budget.period.start), []).append(budget)
        for (kind, start), budgets in unknown.items():
            subjects = [budget.subject[1] for budget in budgets]
            known = await alerts.since(kind, subjects, start)
            new = [budget for budget in budgets if budget.subject[1] not in known]
            if new:
                since = max(start, _hour_floor(now - self.lag_s))
                seeds = await self._spent_before(kind, new, start, since) if since > start else {}
                await alerts.open_counters(kind, start, {budget.subject[1]: seeds.get(budget.subject[1], 0.0)
                                                         for budget in new}, since, now)
                known |= await alerts.since(kind, [budget.subject[1] for budget in new], start)  # the first's
            for budget in budgets:
                self.counters[(budget.subject, start)] = Counter(known[budget.subject[1]], budget.period.end)

    async def _spent_before(self, kind: Kind, budgets: list[Budget], start: float, since: float) -> dict[str, float]:
        """What the usage table says each subject of BUDGETS spent from START until SINCE."""
        assert self.store is not None
        subjects = {budget.subject[1] for budget in budgets}
        if kind == "key":
            return await self.store.alerts.spent("key_id", subjects, start, since)
        by_name = await self.store.alerts.spent(
            "model", [name for name, model in self.model_of.items() if model in subjects], start, since)
        spent: dict[str, float] = {}
        for name, usd in by_name.items():
            spent[self.model_of[name]] = spent.get(self.model_of[name], 0.0) + usd
        return spent

    async def _claim(self, budget: Budget, counter: Counter, spent: float, now: float) -> int:
        """Claim each threshold of BUDGET that SPENT has reached; how many this process won."""
        assert self.store is not None
        won = 0
        for threshold in self.alerts.thresholds:
            if (threshold in counter.claimed or spent <= 0.0
                    or round(spent * MICRO) < round(budget.usd * threshold * MICRO / 100)):
                continue
            crossing = self._crossing(budget, threshold, spent, now)
            if await self.store.alerts.claim(crossing, now):
                won += 1
                log.info("budget alert %s: %s %s reached %g%% of its %s budget", crossing.id, budget.subject[0],
                         budget.subject[1], threshold, budget.kind)
            counter.claimed.add(threshold)
        return won

    @staticmethod
    def _crossing(budget: Budget, threshold: float, spent: float, now: float) -> Crossing:
        from llmswitch.store.alerts import Crossing  # keys mode only: see core.auth

        kind, subject = budget.subject
        alert_id = f"alert_{secrets.token_hex(12)}"
        period = budget.period
        body = {
            "id": alert_id, "type": "budget.threshold_crossed",
            "subject": {"kind": kind, "id": subject, "name": budget.name},
            "threshold_percent": int(threshold) if threshold.is_integer() else threshold,
            "budget_usd": budget.usd, "spent_usd": round(spent, 6),
            "period": {"kind": budget.kind, "name": period.name, "start": _iso(period.start),
                       "end": None if period.end == math.inf else _iso(period.end)},
            "at": _iso(now),
        }
        return Crossing(alert_id, kind, subject, period.start, threshold, orjson.dumps(body).decode())

    # --- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Look at every budgeted subject once, then keep looking and sending."""
        from llmswitch.core.alert_webhook import Webhook  # keys mode only: see core.auth
        from llmswitch.store import acquire_store

        self.store = await acquire_store(self.config.database_url)
        self.webhook = Webhook(self.alerts.webhook, self.store.alerts)
        SECRETS.hold(self, self.webhook.credentials())
        self.due |= {("key", key.id) for key in self.keys.key_records() if key.budget_usd is not None}
        self.due |= {("model", name) for name in self.alerts.models}
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Add what was served last and claim what it crossed; end the calls in progress (`Webhook.stop`)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.store is None:
            return
        try:
            await self.check(time.time())
        except Exception as failure:
            log.warning("budget alerts: the last spend could not be counted (%s)", type(failure).__name__)
        assert self.webhook is not None
        await self.webhook.stop()
        from llmswitch.store import release_store

        await release_store(self.store)
        self.store = None
        SECRETS.release(self)

    async def _run(self) -> None:
        assert self.webhook is not None
        while True:
            try:
                await self.check(time.time())
                await self.webhook.pump()
            except Exception as failure:  # the database failed: the spend stays to be added, the alerts pending
                log.warning("budget alerts: the spend could not be counted (%s); retrying", type(failure).__name__)
            await asyncio.sleep(self.alerts.interval_s)


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def _hour_floor(seconds: float) -> float:
    return math.floor(seconds / HOUR) * HOUR
