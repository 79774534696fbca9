"""Budget alerts: a key (its `budget_usd`) or a model (`alerts.models`) whose spend in its period
crosses a threshold percentage of its budget gets one webhook call per threshold and period.

The spend is read from the usage table, the one place where the spend of every worker of every
machine sharing the database meets (a worker's own counters see its share of the traffic only, and a
model has none). It is read off the request path: the request path only notes, in a set, the key and
the model of each priced request (`observe`, a pipeline sink); once the usage writer has written what
was queued (`written`, its hook), those subjects are due a look, and a background task sums their
spend in the current period every `alerts.interval_s`. So a crossing is seen exactly: the process
that wrote the row that crossed a threshold reads the sum after its row, and every process looks at
every budgeted subject once at start-up (a crash between a write and its look loses nothing).

Exactly once: each crossing is an insert that the database's unique constraint (subject, period,
threshold) lets only one process make; that process's row is the alert, sent by `core.alert_webhook`.
A subject whose thresholds have all been claimed in its period is not summed again until the next.

The cost of a look is one indexed aggregate per period window, over the rows of the subjects due, in
their period (measured in the README): alerts on monthly budgets of the busiest keys sum the most.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
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
COLUMN: dict[Kind, Literal["key_id", "model"]] = {"key": "key_id", "model": "model"}


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


class BudgetWatch:
    """Sees the budgets' thresholds crossed and claims each crossing once (`check`)."""

    def __init__(self, config: Config, keys: Keys):
        assert config.alerts is not None
        self.alerts: AlertsConfig = config.alerts
        self.config = config
        self.keys = keys
        # each name a request may ask for (the model's own, its plain aliases) -> the budgeted model
        self.model_of = {name: model.name for name in config.public_names()
                         if (model := config.resolve_model(name, default=False)) and model.name in self.alerts.models}
        self.noted: set[Subject] = set()  # priced since the usage writer last wrote everything queued
        self.due: set[Subject] = set()  # their rows are written: due a look
        self.claimed: dict[Subject, tuple[float, set[float]]] = {}  # period start, thresholds claimed in it
        self.store: Store | None = None
        self.webhook: Webhook | None = None
        self._task: asyncio.Task[None] | None = None

    # --- on the request path ---------------------------------------------------------------------
    def observe(self, record: RequestRecord) -> None:
        """A pipeline sink: note the key and the budgeted model a priced request spent on."""
        if record.cost_usd <= 0.0:
            return
        if record.key_id is not None:
            self.noted.add(("key", record.key_id))
        model = self.model_of.get(record.model)
        if model is not None:
            self.noted.add(("model", model))

    def written(self) -> None:
        """The usage writer's hook: every record queued so far is in the database."""
        if self.noted:
            self.due |= self.noted
            self.noted = set()

    # --- off it ----------------------------------------------------------------------------------
    async def check(self, now: float) -> int:
        """Sum the spend of the subjects due in their periods at NOW and claim the crossings found;
        the number this process claimed. (Raises when the database fails: they stay due.)"""
        assert self.store is not None
        subjects, self.due = self.due, set()
        try:
            budgets = [b for subject in subjects if (b := self._budget(subject, now)) is not None
                       and len(self._claimed_in(b)) < len(self.alerts.thresholds)]
            windows: dict[tuple[Kind, float, float], list[Budget]] = {}
            for budget in budgets:
                windows.setdefault((budget.subject[0], budget.period.start, budget.period.end), []).append(budget)
            claimed = 0
            for (kind, start, end), group in windows.items():
                spent = await self.store.alerts.spent(COLUMN[kind], self._names(kind, group), start, end)
                for budget in group:
                    total = sum(spent.get(name, 0.0) for name in self._names(kind, [budget]))
                    claimed += await self._claim(budget, total, now)
            return claimed
        except BaseException:
            self.due |= subjects
            raise

    def _budget(self, subject: Subject, now: float) -> Budget | None:
        kind, name = subject
        if kind == "key":
            key = self.keys.key_record(name)
            if key is None or key.budget_usd is None:
                return None
            return Budget(subject, key.name, key.budget_usd, key.budget_period, period_bounds(key.budget_period, now))
        model = self.alerts.models[name]
        return Budget(subject, name, model.budget_usd, model.period, period_bounds(model.period, now))

    def _names(self, kind: Kind, budgets: list[Budget]) -> list[str]:
        """What the usage rows of BUDGETS' subjects are filed under: a key's id, a model's names."""
        if kind == "key":
            return [budget.subject[1] for budget in budgets]
        models = {budget.subject[1] for budget in budgets}
        return [name for name, model in self.model_of.items() if model in models]

    def _claimed_in(self, budget: Budget) -> set[float]:
        start, thresholds = self.claimed.get(budget.subject, (None, set()))
        if start != budget.period.start:  # a new period: nothing claimed in it yet
            thresholds = set()
            self.claimed[budget.subject] = (budget.period.start, thresholds)
        return thresholds

    async def _claim(self, budget: Budget, spent: float, now: float) -> int:
        """Claim each threshold BUDGET's SPENT has reached; how many this process won."""
        assert self.store is not None
        won = 0
        claimed = self._claimed_in(budget)
        for threshold in self.alerts.thresholds:
            if threshold in claimed or spent <= 0.0 or round(spent * MICRO) < round(budget.usd * threshold * 10**4):
                continue
            crossing = self._crossing(budget, threshold, spent, now)
            if await self.store.alerts.claim(crossing, now):
                won += 1
                log.info("budget alert %s: %s %s reached %g%% of its %s budget", crossing.id, budget.subject[0],
                         budget.subject[1], threshold, budget.kind)
            claimed.add(threshold)
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
                       "end": None if period.end == float("inf") else _iso(period.end)},
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
        """Claim what the last usage written crossed; end the calls in progress (`Webhook.stop`)."""
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
            log.warning("budget alerts: the last look at the spend failed (%s)", type(failure).__name__)
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
            except Exception as failure:  # the database failed: the subjects stay due, the alerts pending
                log.warning("budget alerts: a look at the spend failed (%s); retrying", type(failure).__name__)
            await asyncio.sleep(self.alerts.interval_s)


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")
