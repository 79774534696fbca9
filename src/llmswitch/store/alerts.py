"""Budget alert rows: the spend counters they are judged on, the crossing each process claims, and the
outbox of webhook calls any process may take over (`core.budget_alerts`, `core.alert_webhook`).

Whatever more than one process could do at once is one statement, so that the database orders them:
an addition to a counter (which returns the sum after it), the opening of a counter and the insert of
a crossing (the first insert wins, the others do nothing), the claim of an attempt (an update of a row
still unclaimed).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from llmswitch.store.tables import budget_alerts, budget_spend, usage_records

CHUNK = 500  # names per IN list: far below every backend's bound parameter limit


@dataclass(frozen=True, slots=True)
class Crossing:
    """A subject's spend reached a threshold of its budget in one period: the row to claim."""

    id: str
    subject_kind: str
    subject: str
    period_start: float
    threshold: float
    body: str


@dataclass(frozen=True, slots=True)
class Attempt:
    """A pending alert this process claimed the next webhook call of (its `attempts` counts this one)."""

    id: str
    body: str
    attempts: int


class AlertRepository:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        self._insert = (postgresql if engine.dialect.name == "postgresql" else sqlite).insert

    async def spent(self, column: Literal["key_id", "model"], names: Collection[str], start: float,
                    end: float) -> dict[str, float]:
        """USD spent by each of NAMES (keys or models, by COLUMN of the usage rows) from START until END:
        where a counter begins."""
        by = usage_records.c[column]
        window = [usage_records.c.at >= start] + ([usage_records.c.at < end] if end != math.inf else [])
        spent: dict[str, float] = {}
        names = list(names)
        async with self.engine.connect() as connection:
            for i in range(0, len(names), CHUNK):
                query = (select(by, func.sum(usage_records.c.cost_usd))
                         .where(by.in_(names[i:i + CHUNK]), *window).group_by(by))
                spent.update((name, float(total or 0.0)) for name, total in await connection.execute(query))
        return spent

    async def since(self, kind: str, subjects: Collection[str], period_start: float) -> dict[str, float]:
        """Since when the counter of each of SUBJECTS for the period counts what is served (those that
        have one)."""
        spend = budget_spend.c
        found: dict[str, float] = {}
        subjects = list(subjects)
        async with self.engine.connect() as connection:
            for i in range(0, len(subjects), CHUNK):
                query = select(spend.subject, spend.since).where(
                    spend.subject_kind == kind, spend.subject.in_(subjects[i:i + CHUNK]),
                    spend.period_start == period_start)
                found.update((subject, since) for subject, since in await connection.execute(query))
        return found

    async def open_counters(self, kind: str, period_start: float, spent: dict[str, float], since: float,
                            now: float) -> None:
        """Begin each subject's counter for the period at what it SPENT (the usage rows before SINCE),
        unless a process already did."""
        rows = [{"subject_kind": kind, "subject": subject, "period_start": period_start, "spent_usd": usd,
                 "since": since, "updated_at": now} for subject, usd in spent.items()]
        async with self.engine.begin() as connection:
            await connection.execute(self._insert(budget_spend).on_conflict_do_nothing(), rows)

    async def add(self, amounts: list[tuple[str, str, float, float]], now: float) -> list[float]:
        """Add each (kind, subject, period start, USD) to its counter (which must be open), together;
        the sum of each after it. In one order whoever adds, so that two transactions adding to the
        same counters wait for each other rather than deadlock."""
        spend = budget_spend.c
        statement = (update(budget_spend)
                     .where(spend.subject_kind == bindparam("k"), spend.subject == bindparam("s"),
                            spend.period_start == bindparam("p"))
                     .values(spent_usd=spend.spent_usd + bindparam("usd"), updated_at=now)
                     .returning(spend.spent_usd))
        sums: dict[tuple[str, str, float], float] = {}
        async with self.engine.begin() as connection:
            for kind, subject, start, usd in sorted(amounts):
                result = await connection.execute(statement, {"k": kind, "s": subject, "p": start, "usd": usd})
                sums[kind, subject, start] = float(result.scalar_one())
        return [sums[kind, subject, start] for kind, subject, start, _usd in amounts]

    async def claim(self, crossing: Crossing, now: float) -> bool:
        """Record CROSSING, due to be sent at once; False when a process (this one or another) already did."""
        row = {"id": crossing.id, "subject_kind": crossing.subject_kind, "subject": crossing.subject,
               "period_start": crossing.period_start, "threshold": crossing.threshold, "body": crossing.body,
               "status": "pending", "attempts": 0, "next_attempt_at": now, "claimed_until": 0.0,
               "last_error": "", "created_at": now}
        statement = (self._insert(budget_alerts).values(row).on_conflict_do_nothing()
                     .returning(budget_alerts.c.id))
        async with self.engine.begin() as connection:
            return (await connection.execute(statement)).first() is not None

    async def take_due(self, now: float, lease_s: float, limit: int) -> list[Attempt]:
        """Claim up to LIMIT pending alerts whose next call is due and which no process is calling now,
        oldest first: each is this process's to call for LEASE_S seconds."""
        alerts = budget_alerts.c
        due = (select(alerts.id).where(alerts.status == "pending", alerts.next_attempt_at <= now,
                                       alerts.claimed_until <= now)
               .order_by(alerts.created_at, alerts.threshold).limit(limit))
        async with self.engine.connect() as connection:
            candidates = (await connection.execute(due)).all()
        taken = []
        # apart from the read: SQLite refuses the write lock at once to a transaction that read first
        async with self.engine.begin() as connection:
            for (alert_id,) in candidates:
                claim = (update(budget_alerts)
                         .where(alerts.id == alert_id, alerts.status == "pending", alerts.claimed_until <= now)
                         .values(claimed_until=now + lease_s, attempts=alerts.attempts + 1)
                         .returning(alerts.body, alerts.attempts))
                row = (await connection.execute(claim)).first()
                if row is not None:
                    taken.append(Attempt(alert_id, row.body, row.attempts))
        return taken

    async def sent(self, alert_id: str, now: float) -> None:
        await self._end_attempt(alert_id, status="sent", last_error="", done_at=now)

    async def failed(self, alert_id: str, error: str, retry_at: float | None, now: float) -> None:
        """An attempt failed with ERROR: the next is due at RETRY_AT, or (None) the alert has failed."""
        if retry_at is None:
            await self._end_attempt(alert_id, status="failed", last_error=error, done_at=now)
        else:
            await self._end_attempt(alert_id, last_error=error, next_attempt_at=retry_at)

    async def release(self, alert_ids: Collection[str]) -> None:
        """Give up this process's claims (it stops): any process makes those attempts at once."""
        if alert_ids:
            async with self.engine.begin() as connection:
                await connection.execute(update(budget_alerts).where(budget_alerts.c.id.in_(list(alert_ids)))
                                         .values(claimed_until=0.0))

    async def _end_attempt(self, alert_id: str, **values: object) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(update(budget_alerts).where(budget_alerts.c.id == alert_id)
                                     .values(claimed_until=0.0, **values))
