"""Provider API keys kept in the database, encrypted at rest with Fernet (key from the server secret).

The repository encrypts on the way in; decrypting, holding the clear keys in memory and deciding
when to reload them is `core.upstream_keys`'s business.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from llmswitch.store.tables import upstream_keys

if TYPE_CHECKING:
    from cryptography.fernet import Fernet


class UpstreamKeyRepository:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine

    async def add(self, fernet: Fernet, provider: str, api_key: str, name: str = "") -> dict[str, Any]:
        row = {"id": f"upk_{secrets.token_hex(12)}", "provider": provider, "name": name,
               "ciphertext": fernet.encrypt(api_key.encode()).decode(), "hint": api_key[-4:],
               "created_at": time.time()}
        async with self.engine.begin() as connection:
            await connection.execute(upstream_keys.insert().values(**row))
        return _public(row)

    async def list(self) -> list[dict[str, Any]]:
        async with self.engine.connect() as connection:
            rows = await connection.execute(select(upstream_keys).order_by(upstream_keys.c.created_at))
            return [_public({str(k): v for k, v in row._mapping.items()}) for row in rows]

    async def delete(self, key_id: str) -> bool:
        async with self.engine.begin() as connection:
            result = await connection.execute(delete(upstream_keys).where(upstream_keys.c.id == key_id))
        return bool(result.rowcount)

    async def ids(self) -> frozenset[str]:
        """The stored keys' ids: a cheap fingerprint to poll, since deleted rows leave no trace."""
        async with self.engine.connect() as connection:
            return frozenset((await connection.execute(select(upstream_keys.c.id))).scalars())

    async def encrypted(self) -> list[tuple[str, str, str]]:
        """(id, provider, ciphertext) of every stored key, oldest first."""
        query = select(upstream_keys.c.id, upstream_keys.c.provider, upstream_keys.c.ciphertext
                       ).order_by(upstream_keys.c.created_at, upstream_keys.c.id)
        async with self.engine.connect() as connection:
            return [(key_id, provider, ciphertext) for key_id, provider, ciphertext in await connection.execute(query)]


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "ciphertext"}
