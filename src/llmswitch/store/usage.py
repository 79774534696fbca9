"""Usage rows, appended in batches by `core.usage.UsageRecorder` and summed for budgets.

A usage row is a bill: no row may cost another. Text is fitted to what every backend stores
(PostgreSQL refuses NUL, invalid UTF-8 and text longer than its column), and a batch the database
still refuses is written again row by row, so only the rows it refuses alone are lost.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, func, insert, select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from llmswitch.store.tables import usage_records

COLUMNS = ("request_id", "key_id", "model", "target", "status", "prompt_tokens", "completion_tokens",
           "cached_tokens", "audio_seconds", "characters", "cost_usd", "duration_ms", "at")
UsageRow = tuple[Any, ...]  # values in COLUMNS order
# (position in a row, length) of each text column
TEXT_COLUMNS = tuple((i, column.type.length or 2**31)
                     for i, column in enumerate(usage_records.c[name] for name in COLUMNS)
                     if isinstance(column.type, String))


class UsageRepository:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        compiled = insert(usage_records).compile(dialect=engine.dialect, column_keys=list(COLUMNS))
        assert tuple(compiled.positiontup or ()) == COLUMNS
        self._insert = str(compiled)

    async def append(self, rows: list[UsageRow]) -> list[tuple[UsageRow, Exception]]:
        """Write ROWS; return those the database refused, each with its error. A failure of the
        database itself (unreachable, locked) is raised: writing row by row could not help."""
        rows = [_fitted(row) for row in rows]
        try:
            await self._insert_all(rows)
            return []
        except Exception as error:
            if _database_failed(error):
                raise
        refused = []
        for row in rows:
            try:
                await self._insert_all([row])
            except Exception as error:
                if _database_failed(error):
                    raise
                refused.append((row, error))
        return refused

    async def _insert_all(self, rows: list[UsageRow]) -> None:
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


def _fitted(row: UsageRow) -> UsageRow:
    """ROW with each text value as every backend stores it: valid UTF-8 (an unpaired surrogate, from
    bytes that were not UTF-8, becomes `?`), no NUL, no longer than its column."""
    values = None
    for i, length in TEXT_COLUMNS:
        value = row[i]
        if value is None or (len(value) <= length and value.isascii() and value.isprintable()):
            continue
        values = values or list(row)
        values[i] = value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")[:length]
    return row if values is None else tuple(values)


def _database_failed(error: Exception) -> bool:
    """Did the database fail (unreachable, locked, connection lost), rather than refuse the rows?"""
    if isinstance(error, (OSError, TimeoutError, OperationalError, InterfaceError)):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated
