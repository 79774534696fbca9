"""Managing virtual keys: the operations behind both the admin API and `llmswitch keys`.

Every change is written to the database and then announced (`notify`), so that every gateway's
key cache picks it up: the admin API reloads its own cache and publishes on Redis; the CLI only
publishes.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import msgspec

from llmswitch.core.keys import KeyFields, KeyRecord, new_record, revoked, rotated, updated
from llmswitch.core.limits import CAPS

if TYPE_CHECKING:
    from llmswitch.store import Store


class KeyNotFound(LookupError):
    pass


class KeyAdmin:
    def __init__(self, store: Store, secret: bytes, prefix: str, notify: Callable[[str], Awaitable[None]]):
        self.store = store
        self.secret = secret
        self.prefix = prefix
        self.notify = notify

    async def create(self, body: dict[str, Any]) -> tuple[KeyRecord, str]:
        """A new key and its value, to show once. Raises msgspec.ValidationError on a bad field."""
        record, key = new_record(in_range(msgspec.convert(body, KeyFields), body), self.secret, self.prefix)
        await self.store.keys.insert(record)
        await self.notify(record.id)
        return record, key

    async def list(self, include_revoked: bool = False) -> list[KeyRecord]:
        return await self.store.keys.list(include_revoked)

    async def get(self, key_id: str) -> KeyRecord:
        record = await self.store.keys.get(key_id)
        if record is None:
            raise KeyNotFound(key_id)
        return record

    async def update(self, key_id: str, patch: dict[str, Any]) -> KeyRecord:
        record = updated(await self.get(key_id), patch)
        in_range(record, patch)
        return await self._save(record)

    async def revoke(self, key_id: str) -> KeyRecord:
        return await self._save(revoked(await self.get(key_id)))

    async def rotate(self, key_id: str) -> tuple[KeyRecord, str]:
        record, key = rotated(await self.get(key_id), self.secret, self.prefix)
        return await self._save(record), key

    async def _save(self, record: KeyRecord) -> KeyRecord:
        await self.store.keys.save(record)
        await self.notify(record.id)
        return record


def in_range(fields: KeyFields, given: Iterable[str]) -> KeyFields:
    """`fields`, once the numbers among `given` are known to be ones the counters and the storage
    hold (NaN, infinities and values past `CAPS` are refused, naming the field, as msgspec does).
    Only the fields given are checked: a key stored before these bounds can still be changed."""
    for name in given:
        value = getattr(fields, name, None)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        cap = CAPS.get(name)
        if cap is not None and not value <= cap:
            raise msgspec.ValidationError(f"Expected a number <= {cap:.16g} - at `$.{name}`")
        if not math.isfinite(value):
            raise msgspec.ValidationError(f"Expected a finite number - at `$.{name}`")
    return fields
