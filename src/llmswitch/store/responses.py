"""Stored Responses API responses (`core.response_store` keeps them in memory in front of these rows).

A response is written whole each time it changes (a background run: queued, then finished): its
row and its items replaced in one transaction, so a reader never sees half of one. Text is cut to
its column; rows the database still refuses are `RowRefused` (that write alone is dropped), while a
database that fails is raised as it is (the write is retried).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, and_, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from llmswitch.core.response_store import RowRefused, StoredResponse
from llmswitch.redact import SECRETS
from llmswitch.store.tables import response_items, responses
from llmswitch.store.usage import database_failed

COLUMNS = ("id", "owner", "model", "provider", "target", "kept", "status", "response", "events", "created_at",
           "expires_at")
# Text cut to its column, but the id, which must stay the one the client was given (too long: refused).
TEXT_COLUMNS = {name: column.type.length for name in COLUMNS
                if name != "id" and isinstance((column := responses.c[name]).type, String) and column.type.length}
ITEM_ID = response_items.c.item_id.type.length


class ResponseRepository:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine

    async def put(self, record: StoredResponse) -> None:
        output = (record.response or {}).get("output") or [] if record.kept == "gateway" else []
        # The gateway's own credentials are kept in no row, even where a client wrote them in its input.
        items = [{"response_id": record.id, "position": position, "output": position >= len(record.input_items),
                  "owner": record.owner, "item_id": str(item.get("id") or "")[:ITEM_ID],
                  "item": SECRETS.without_held(item)}
                 for position, item in enumerate([*record.input_items, *output]) if isinstance(item, dict)]
        row = {name: getattr(record, name) for name in COLUMNS}
        row["response"], row["events"] = SECRETS.without_held(row["response"]), SECRETS.without_held(row["events"])
        for name, length in TEXT_COLUMNS.items():
            row[name] = row[name][:length]
        try:
            async with self.engine.begin() as connection:
                await connection.execute(delete(response_items).where(response_items.c.response_id == record.id))
                await connection.execute(delete(responses).where(responses.c.id == record.id))
                await connection.execute(insert(responses).values(row))
                if items:
                    await connection.execute(insert(response_items), items)
        except Exception as error:
            if database_failed(error):
                raise
            raise RowRefused(type(error).__name__) from error

    async def get(self, response_id: str) -> StoredResponse | None:
        async with self.engine.connect() as connection:
            row = (await connection.execute(select(responses).where(responses.c.id == response_id))).first()
            if row is None:
                return None
            items = await connection.execute(
                select(response_items.c.item).where(response_items.c.response_id == response_id,
                                                    response_items.c.output.is_(False))
                .order_by(response_items.c.position))
            input_items = [item for (item,) in items]
        values: dict[str, Any] = {name: row._mapping[name] for name in COLUMNS}
        return StoredResponse(**values, input_items=input_items)

    async def find_item(self, item_id: str, owner: str, now: float) -> dict[str, Any] | None:
        """An item by its id among OWNER's responses not yet expired, the newest response first."""
        query = (select(response_items.c.item)
                 .join(responses, responses.c.id == response_items.c.response_id)
                 .where(and_(response_items.c.owner == owner, response_items.c.item_id == item_id,
                             responses.c.expires_at >= now))
                 .order_by(responses.c.created_at.desc()).limit(1))
        async with self.engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return row[0] if row else None

    async def delete(self, response_id: str) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(delete(response_items).where(response_items.c.response_id == response_id))
            await connection.execute(delete(responses).where(responses.c.id == response_id))

    async def purge(self, now: float) -> int:
        """Remove the responses expired by NOW, with their items; how many went."""
        expired = select(responses.c.id).where(responses.c.expires_at < now)
        async with self.engine.begin() as connection:
            await connection.execute(delete(response_items).where(response_items.c.response_id.in_(expired)))
            result = await connection.execute(delete(responses).where(responses.c.expires_at < now))
        return int(result.rowcount or 0)
