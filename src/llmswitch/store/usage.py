"""Usage rows, appended in batches by `core.usage.UsageRecorder` and summed for budgets."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from llmswitch.store.tables import usage_records

COLUMNS = ("request_id", "key_id", "model", "target", "status", "prompt_tokens", "completion_tokens",
           "cached_tokens", "cost_usd", "duration_ms", "at")
UsageRow = tuple[Any, ...]  # values in COLUMNS order


class UsageRepository:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        compiled = insert(usage_records).compile(dialect=engine.dialect, column_keys=list(COLUMNS))
        assert tuple(compiled.positiontup or ()) == COLUMNS
        self._insert = str(compiled)

    async def append(self, rows: list[UsageRow]) -> None:
        """One executemany of plain tuples in the driver's own parameter style: SQLAlchemy's per-row
        parameter processing would cost twice the insert itself, for every request served."""
        if rows:
            async with self.engine.begin() as connection:
                await connection.exec_driver_sql(self._insert, rows)

    async def totals(self, key_id: str, since: float) -> tuple[int, float, int]:
        """(requests, cost in USD, tokens) of a key since a time."""
        query = select(func.count(), func.coalesce(func.sum(usage_records.c.cost_usd), 0.0),
                       func.coalesce(func.sum(usage_records.c.prompt_tokens + usage_records.c.completion_tokens), 0)
                       ).where(usage_records.c.key_id == key_id, usage_records.c.at >= since)
        async with self.engine.connect() as connection:
            requests, cost, tokens = (await connection.execute(query)).one()
        return int(requests), float(cost), int(tokens)
