"""Provider keys stored through the admin API, decrypted once and held in memory for the router.

`UpstreamKeyRing.refresh` compares the stored ids with the ones it holds (deleted rows leave
nothing else to notice) and, when they differ, decrypts the set and hands it to the router. The
authenticator calls it on the same paths that keep its key cache current: at start-up, on a Redis
pub/sub announcement and on every poll. Clear keys stay in process memory; they are never logged,
and they are registered with `redact.SECRETS` so that no upstream's echo of one reaches a client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from llmswitch.core.keys import fernet_key
from llmswitch.core.routing import StoredKeys
from llmswitch.redact import SECRETS

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

    from llmswitch.store import Store

log = logging.getLogger("llmswitch.upstream_keys")


def fernet(secret: bytes) -> Fernet:
    """The cipher of stored keys (cryptography is imported only where stored keys are used)."""
    from cryptography.fernet import Fernet

    return Fernet(fernet_key(secret))


class UpstreamKeyRing:
    def __init__(self, secret: bytes, apply: Callable[[StoredKeys], None]):
        self._fernet = fernet(secret)
        self._apply = apply
        self._ids: frozenset[str] | None = None

    async def refresh(self, store: Store) -> None:
        """Reload the stored keys if the set changed since the last look."""
        if await store.upstream_keys.ids() == self._ids:
            return
        from cryptography.fernet import InvalidToken

        keys: StoredKeys = {}
        ids = set()
        for key_id, provider, ciphertext in await store.upstream_keys.encrypted():
            ids.add(key_id)
            try:
                clear = self._fernet.decrypt(ciphertext.encode()).decode()
            except InvalidToken:  # stored under another secret: unusable, and saying so is enough
                log.warning("stored upstream key %s cannot be decrypted with this server secret", key_id)
                continue
            keys.setdefault(provider, []).append((key_id, clear))
        self._ids = frozenset(ids)
        SECRETS.hold(self, (clear for pairs in keys.values() for _key_id, clear in pairs))
        self._apply(keys)
