"""Provider API keys kept in the database, encrypted at rest with Fernet (key from the server
secret), decrypted once and cached in memory."""

from __future__ import annotations

import secrets
import time
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from llmswitch.store.tables import upstream_keys


class UpstreamKeyRepository:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        self._decrypted: dict[str, list[str]] = {}  # provider -> keys, filled on first use

    async def add(self, fernet: Fernet, provider: str, api_key: str, name: str = "") -> dict[str, Any]:
        row = {"id": f"upk_{secrets.token_hex(12)}", "provider": provider, "name": name,
               "ciphertext": fernet.encrypt(api_key.encode()).decode(), "hint": api_key[-4:],
               "created_at": time.time()}
        async with self.engine.begin() as connection:
            await connection.execute(upstream_keys.insert().values(**row))
        self._decrypted.pop(provider, None)
        return _public(row)

    async def list(self) -> list[dict[str, Any]]:
        async with self.engine.connect() as connection:
            rows = await connection.execute(select(upstream_keys).order_by(upstream_keys.c.created_at))
            return [_public({str(k): v for k, v in row._mapping.items()}) for row in rows]

    async def delete(self, key_id: str) -> bool:
        async with self.engine.begin() as connection:
            result = await connection.execute(delete(upstream_keys).where(upstream_keys.c.id == key_id))
        self._decrypted.clear()
        return bool(result.rowcount)

    async def keys_for(self, fernet: Fernet, provider: str) -> list[str]:
        """The provider's stored keys in clear, decrypted on first use only."""
        cached = self._decrypted.get(provider)
        if cached is None:
            query = select(upstream_keys.c.ciphertext).where(upstream_keys.c.provider == provider)
            async with self.engine.connect() as connection:
                rows = (await connection.execute(query)).scalars().all()
            cached = self._decrypted[provider] = [fernet.decrypt(c.encode()).decode() for c in rows]
        return cached


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "ciphertext"}
