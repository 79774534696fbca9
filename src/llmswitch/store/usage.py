"""The usage ledger's rows: written in batches by `core.usage.UsageRecorder`, read by the usage queries
(`core.usage_query`) and summed for budgets.

A batch is written in one transaction: its rows, their sums added to the hourly and daily
roll-ups (`usage_hourly`, `usage_daily`: what the usage queries read), and its id (`usage_batches`).
A batch whose id is already there was written before (its commit's answer lost with the connection,
or a spill file replayed after a crash), so it is not written again: every record is in the ledger
exactly once.

A usage row is a bill: no row may cost another. Text is fitted to what every backend stores
(PostgreSQL refuses NUL, invalid UTF-8 and text longer than its column), and a batch the database
still refuses is written again row by row, so only the rows it refuses alone are lost.
"""

from __future__ import annotations

import operator
import time
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from sqlalchemy import String, cast, delete, func, insert, literal, literal_column, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import ColumnElement

from llmswitch.core.records import RequestRecord
from llmswitch.core.rollup import COUNTED, DAY, HOUR, MEASURES, Tally, add, count, tally
from llmswitch.store.tables import usage_batches, usage_daily, usage_hourly, usage_records

COLUMNS = tuple(field.name for field in msgspec.structs.fields(RequestRecord))
UsageRow = tuple[Any, ...]  # a record's values in COLUMNS order
# (position in a row, length) of each text column
TEXT_COLUMNS = tuple((i, column.type.length or 2**31)
                     for i, column in enumerate(usage_records.c[name] for name in COLUMNS)
                     if isinstance(column.type, String))
DIMENSIONS = ("start", "key_id", "model", "provider", "operation")  # of a roll-up row, before its MEASURES
ROLL_UPS = {HOUR: usage_hourly, DAY: usage_daily}  # by the length of their periods
_AT, _KEY, _MODEL, _PROVIDER, _OPERATION = (COLUMNS.index(name) for name in ("at", *DIMENSIONS[1:]))
_COUNTED = operator.itemgetter(*(COLUMNS.index(name) for name in COUNTED))
_TEXTS = operator.itemgetter(*(i for i, _ in TEXT_COLUMNS if i != _KEY))  # the text columns never NULL
_TEXT_LENGTHS = tuple(length for i, length in TEXT_COLUMNS if i != _KEY)
_KEY_LENGTH = dict(TEXT_COLUMNS)[_KEY]
PRUNE_BATCH = 5000  # rows deleted per statement: a prune never holds the table for long
ROWS_A_STATEMENT = 100  # SQLite: 2,600 parameters, below its limit (32,766)


class UsageRepository:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        self._insert = _driver_sql(engine, insert(usage_records), COLUMNS)
        # SQLite: ROWS_A_STATEMENT rows an INSERT (its `?` placeholders repeat as they are); PostgreSQL's
        # executemany is already pipelined, on the event loop's own thread.
        head, values, placeholders = self._insert.partition(" VALUES ")
        self._inserts = None if engine.dialect.name == "postgresql" else \
            head + values + ", ".join([placeholders] * ROWS_A_STATEMENT)
        self._upserts = {period: _driver_sql(engine, _upsert(engine, table), DIMENSIONS + MEASURES)
                         for period, table in ROLL_UPS.items()}

    # --- writing -------------------------------------------------------------------------------
    async def write(self, batch_id: str, records: Sequence[RequestRecord]) -> list[tuple[RequestRecord, Exception]]:
        """Write the batch BATCH_ID (once: see the module's docstring); return the records the database
        refused, each with its error. A failure of the database itself (unreachable, locked) is raised:
        writing row by row could not help."""
        rows = [_fitted(msgspec.structs.astuple(record)) for record in records]
        try:
            await self._write(batch_id, rows)
            return []
        except Exception as error:
            if database_failed(error):
                raise
            if len(rows) == 1:
                return [(records[0], error)]
        refused = []
        for i, (record, row) in enumerate(zip(records, rows)):
            try:
                await self._write(f"{batch_id}.{i}", [row])
            except Exception as error:
                if database_failed(error):
                    raise
                refused.append((record, error))
        return refused

    async def _write(self, batch_id: str, rows: list[UsageRow]) -> None:
        """One executemany of plain tuples in the driver's own parameter style per table: SQLAlchemy's
        per-row parameter processing would cost twice the insert itself, for every request served."""
        hours: dict[tuple[Any, ...], Tally] = {}
        for row in rows:
            group = (int(row[_AT] // HOUR) * HOUR, row[_KEY] or "", row[_MODEL], row[_PROVIDER], row[_OPERATION])
            counts = hours.get(group)
            if counts is None:
                counts = hours[group] = tally()
            count(counts, *_COUNTED(row))
        days: dict[tuple[Any, ...], Tally] = {}
        for (start, *dimensions), counts in hours.items():
            add(days.setdefault((start // DAY * DAY, *dimensions), tally()), counts)
        async with self.engine.begin() as connection:
            seen = await connection.execute(select(literal(1)).where(usage_batches.c.id == batch_id))
            if seen.first() is not None:
                return
            await self._insert_rows(connection, rows)
            for period, groups in ((HOUR, hours), (DAY, days)):  # sorted: one lock order for every writer
                await connection.exec_driver_sql(self._upserts[period], [(*group, *counts) for group, counts
                                                                         in sorted(groups.items())])
            await connection.execute(insert(usage_batches).values(id=batch_id, at=time.time()))

    async def _insert_rows(self, connection: Any, rows: list[UsageRow]) -> None:
        """ROWS in one executemany; on SQLite, of statements of ROWS_A_STATEMENT rows each: the driver's
        thread takes the interpreter's lock, which the event loop's thread needs to serve requests,
        once a statement instead of once a row, and the insert costs 3.5 us a row instead of 4.8."""
        whole = len(rows) - len(rows) % ROWS_A_STATEMENT if self._inserts is not None else 0
        if whole:
            width = ROWS_A_STATEMENT * len(COLUMNS)
            values = [value for row in rows[:whole] for value in row]
            await connection.exec_driver_sql(self._inserts, [tuple(values[i:i + width])
                                                             for i in range(0, len(values), width)])
        if whole < len(rows):
            await connection.exec_driver_sql(self._insert, rows[whole:])

    async def prune(self, before: float) -> int:
        """Delete the rows and roll-ups of requests started before BEFORE (a day's start, in UTC: all
        go by whole days, so the roll-ups keep matching the rows), PRUNE_BATCH rows a transaction so
        that writers never wait long; how many rows went."""
        gone = 0
        while True:
            oldest = select(usage_records.c.id).where(usage_records.c.at < before).limit(PRUNE_BATCH)
            async with self.engine.begin() as connection:
                deleted = int((await connection.execute(
                    delete(usage_records).where(usage_records.c.id.in_(oldest)))).rowcount or 0)
            gone += deleted
            if deleted < PRUNE_BATCH:
                break
        async with self.engine.begin() as connection:
            for table in ROLL_UPS.values():
                await connection.execute(delete(table).where(table.c.start < before))
        return gone

    async def forget_batches(self, before: float) -> None:
        """Drop the ids of batches written before BEFORE: only a batch still being retried needs its id."""
        async with self.engine.begin() as connection:
            await connection.execute(delete(usage_batches).where(usage_batches.c.at < before))

    # --- reading -------------------------------------------------------------------------------
    async def rolled_up(self, period: int, group: str, since: int, until: int, filters: Mapping[str, str],
                        needed: frozenset[str] | None = None) -> list[tuple[Any, list[Any]]]:
        """(group value, summed MEASURES) of the roll-ups of PERIOD (HOUR, DAY) starting in [SINCE, UNTIL);
        NEEDED: the measures to sum (the others are 0), None for all."""
        table = ROLL_UPS[period]
        c = table.c
        by = _rollup_group(table, group)

        def summed(name: str) -> ColumnElement[Any]:
            if needed is not None and name not in needed:
                return literal_column("0")
            return cast(func.sum(c[name]), c[name].type)  # PostgreSQL sums integers as numeric

        query = (select(by, *map(summed, MEASURES))
                 .where(c.start >= since, c.start < until, *_filtered(table, filters, rolled=True))
                 .group_by(by))
        async with self.engine.connect() as connection:
            return [(_group_value(group, row[0]), list(row[1:])) for row in await connection.execute(query)]

    async def counted(self, group: str, since: float, until: float, filters: Mapping[str, str]
                      ) -> list[tuple[Any, tuple[Any, ...]]]:
        """(group value, COUNTED values) of each row of a request started in [SINCE, UNTIL)."""
        c = usage_records.c
        by = c.at if group in ("hour", "day") else c[_RAW_GROUP[group]]
        query = (select(by, *(c[name] for name in COUNTED))
                 .where(c.at >= since, c.at < until, *_filtered(usage_records, filters)))
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        if group in ("hour", "day"):
            step = HOUR if group == "hour" else DAY
            return [(int(row[0] // step) * step, tuple(row[1:])) for row in rows]
        return [(row[0], tuple(row[1:])) for row in rows]

    async def page(self, since: float, until: float, filters: Mapping[str, str], status: tuple[int, int] | None,
                   after: tuple[float, int] | None, limit: int) -> list[tuple[dict[str, Any], tuple[float, int]]]:
        """Up to LIMIT records of requests started in [SINCE, UNTIL), newest first, each with its place
        (at, id) for the next page; STATUS: a range [low, high) of statuses; AFTER: the place the page
        starts after."""
        c = usage_records.c
        conditions = [c.at >= since, c.at < until, *_filtered(usage_records, filters)]
        if status is not None:
            conditions += [c.status >= status[0], c.status < status[1]]
        if after is not None:
            conditions.append(tuple_(c.at, c.id) < tuple_(*after))
        query = (select(c.id, *(c[name] for name in COLUMNS)).where(*conditions)
                 .order_by(c.at.desc(), c.id.desc()).limit(limit))
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [(dict(zip(COLUMNS, row[1:])), (row.at, row.id)) for row in rows]

    async def record(self, request_id: str) -> dict[str, Any] | None:
        """The record of the request REQUEST_ID (the newest, should a client have reused its id)."""
        c = usage_records.c
        query = (select(*(c[name] for name in COLUMNS)).where(c.request_id == request_id)
                 .order_by(c.at.desc(), c.id.desc()).limit(1))
        async with self.engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else dict(zip(COLUMNS, row))

    async def totals(self, key_id: str, since: float) -> tuple[int, float, int]:
        """(requests, cost in USD, tokens) of a key since a time."""
        c = usage_records.c
        query = select(func.count(), func.coalesce(func.sum(c.cost_usd), 0.0),
                       func.coalesce(func.sum(c.input_tokens + c.output_tokens), 0)
                       ).where(c.key_id == key_id, c.at >= since)
        async with self.engine.connect() as connection:
            requests, cost, tokens = (await connection.execute(query)).one()
        return int(requests), float(cost), int(tokens)


_RAW_GROUP = {"model": "model", "key": "key_id", "provider": "provider"}


def _rollup_group(table: Any, group: str) -> ColumnElement[Any]:
    c = table.c
    if group == "hour":
        return c.start
    if group == "day":
        return (c.start // DAY) * DAY  # the start itself, in the daily roll-ups
    return c[_RAW_GROUP[group]]


def _upsert(engine: AsyncEngine, table: Any) -> Any:
    """INSERT into a roll-up table, adding to the row of the same period and dimensions if there is one
    (the same statement on both backends: ON CONFLICT ... DO UPDATE)."""
    statement = (postgresql.insert(table) if engine.dialect.name == "postgresql" else sqlite.insert(table))
    return statement.on_conflict_do_update(index_elements=list(DIMENSIONS), set_={
        name: table.c[name] + statement.excluded[name] for name in MEASURES})


def _group_value(group: str, value: Any) -> Any:
    if group == "key":
        return value or None  # the roll-ups' "" is a row's NULL: no key
    return int(value) if group in ("hour", "day") else value


def _filtered(table: Any, filters: Mapping[str, str], rolled: bool = False) -> list[ColumnElement[bool]]:
    out = []
    for name, value in filters.items():
        if name == "key_id" and not value:  # requests without a key
            out.append(table.c.key_id == "" if rolled else table.c.key_id.is_(None))
        else:
            out.append(table.c[name] == value)
    return out


def _driver_sql(engine: AsyncEngine, statement: Any, columns: tuple[str, ...]) -> str:
    """STATEMENT as the driver's SQL, taking its parameters as plain tuples in COLUMNS order."""
    compiled = statement.compile(dialect=engine.dialect, column_keys=list(columns))
    assert tuple(compiled.positiontup or ()) == columns
    return str(compiled)


def _fitted(row: UsageRow) -> UsageRow:
    """ROW with each text value as every backend stores it: valid UTF-8 (an unpaired surrogate, from
    bytes that were not UTF-8, becomes `?`), no NUL, no longer than its column. Checked for the whole
    row at once first (every row is, on the writer's path: 0.5 us instead of 1.7 us column by column);
    the nullable key is the one text that may be missing."""
    texts = _TEXTS(row)
    joined = "".join(texts)
    key = row[_KEY]
    if (joined.isascii() and joined.isprintable() and all(map(operator.le, map(len, texts), _TEXT_LENGTHS))
            and (key is None or (len(key) <= _KEY_LENGTH and key.isascii() and key.isprintable()))):
        return row
    values = list(row)
    for i, length in TEXT_COLUMNS:
        value = row[i]
        if value is not None and not (len(value) <= length and value.isascii() and value.isprintable()):
            values[i] = value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")[:length]
    return tuple(values)


def database_failed(error: Exception) -> bool:
    """Did the database fail (unreachable, locked, connection lost), rather than refuse the rows?"""
    if isinstance(error, (OSError, TimeoutError, OperationalError, InterfaceError)):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated
