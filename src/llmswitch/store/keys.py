"""Virtual key rows: the admin API and CLI write them, the authenticator's cache reads them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from llmswitch.core.keys import KeyRecord
from llmswitch.store.tables import virtual_keys


def _record(row: Any) -> KeyRecord:
    return msgspec.convert({str(k): v for k, v in row._mapping.items()}, KeyRecord)


class KeyRepository:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine

    async def insert(self, record: KeyRecord) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(virtual_keys.insert().values(**msgspec.to_builtins(record)))

    async def save(self, record: KeyRecord) -> None:
        """Write every field of an existing key (an update, a rotation, a revocation)."""
        values = msgspec.to_builtins(record)
        del values["id"], values["last_used_at"]  # last use is written by `touch` only
        async with self.engine.begin() as connection:
            await connection.execute(update(virtual_keys).where(virtual_keys.c.id == record.id).values(**values))

    async def get(self, key_id: str) -> KeyRecord | None:
        async with self.engine.connect() as connection:
            row = (await connection.execute(select(virtual_keys).where(virtual_keys.c.id == key_id))).first()
        return _record(row) if row else None

    async def list(self, include_revoked: bool = False) -> list[KeyRecord]:
        query = select(virtual_keys).order_by(virtual_keys.c.created_at)
        if not include_revoked:
            query = query.where(virtual_keys.c.revoked_at.is_(None))
        async with self.engine.connect() as connection:
            return [_record(row) for row in await connection.execute(query)]

    async def changed_since(self, since: float) -> list[KeyRecord]:
        """Keys written at or after `since` (revoked ones included: the cache must drop them)."""
        query = select(virtual_keys).where(virtual_keys.c.updated_at >= since)
        async with self.engine.connect() as connection:
            return [_record(row) for row in await connection.execute(query)]

    async def touch(self, last_used: Iterable[tuple[str, float]]) -> None:
        """Record last-use times in one transaction (called in batches by the usage writer)."""
        async with self.engine.begin() as connection:
            for key_id, at in last_used:
                await connection.execute(update(virtual_keys).where(virtual_keys.c.id == key_id)
                                         .values(last_used_at=at))
