"""Who is calling: the client's credentials become a `Principal` the rest of the request consults.

Three modes (`auth.mode`): `open` accepts anyone; `passthrough` forwards the caller's own bearer to
the upstream; `keys` accepts the master key and gateway-issued virtual keys. Keys are checked
against an in-memory cache (one HMAC, one dict lookup: no database on the hot path). The cache is
kept current by Redis pub/sub when `redis_url` is set (a change reaches every instance at once) and
by polling the table for recent changes (the fallback, and how a CLI change reaches a lone
instance). The same paths keep the router's stored upstream keys current (`core.upstream_keys`).

The storage stack (SQLAlchemy, Alembic, the drivers), redis and cryptography are imported only when
keys mode starts: open and passthrough modes authenticate without them, and importing them would cost
about half a second of start-up and 40 MB of memory (the usage ledger, kept in every mode, imports the
storage stack in a thread after start-up: `core.usage`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus

from llmswitch.config import Config
from llmswitch.core.keys import KeyRecord, ModelMatcher, hash_key, server_secret
from llmswitch.core.routing import StoredKeys
from llmswitch.core.upstream_keys import UpstreamKeyRing
from llmswitch.errors import GatewayError

if TYPE_CHECKING:
    import redis.asyncio as redis

    from llmswitch.store import Store

log = logging.getLogger("llmswitch.auth")
KEY_CHANNEL = "llmswitch:keys"  # messages are key ids whose row changed, or UPSTREAM_KEYS
UPSTREAM_KEYS = "upstream-keys"  # the stored upstream provider keys changed
POLL_ALONE_S = 1.0  # without Redis, a change made elsewhere is seen within this
POLL_SHARED_S = 10.0  # with Redis, polling is only a safety net
CLOCK_OVERLAP_S = 5.0  # re-read recent changes: writers' clocks may lag ours
PASSTHROUGH_MAX = 512
# Query parameters that carry a key in some client's convention (Gemini's `?key=`, `api_key`, Azure's
# `api-key`, OAuth's `access_token`): the gateway authenticates from headers only, and none of these
# is ever forwarded to an upstream, whatever the mode.
CREDENTIAL_PARAMS = frozenset({"key", "api_key", "api-key", "apikey", "x-api-key", "x-goog-api-key",
                               "access_token", "token", "authorization"})


@dataclass(slots=True)
class Principal:
    """The caller, as far as the gateway's decisions go."""

    kind: str  # "open" | "master" | "key" | "passthrough"
    key_id: str | None = None
    upstream_key: str | None = None  # passthrough: the client's own key, sent upstream
    allowed_models: list[str] = field(default_factory=list)  # names and globs; empty: every model
    key: KeyRecord | None = None  # the virtual key's settings, for limits and `GET /v1/key`
    matcher: ModelMatcher = field(init=False)

    def __post_init__(self) -> None:
        self.matcher = ModelMatcher(self.allowed_models)

    def allows(self, *names: str) -> bool:
        """May the caller use a model asked for by these names (the requested name, then the model
        it resolves to)? A key allowed `gpt-4o` is thereby allowed every alias of it."""
        for name in names:
            if self.matcher(name):
                return True
        return False


OPEN = Principal(kind="open")
MASTER = Principal(kind="master")


def _unauthorized(message: str, code: str = "invalid_api_key") -> GatewayError:
    return GatewayError(401, message, type="authentication_error", code=code)


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key from `Authorization: Bearer`, `x-api-key` (Anthropic clients) or `x-goog-api-key`
    (Gemini clients), among a request's HEADERS (matched case-blind, as HTTP's are). A key whose
    bytes are not UTF-8 (aiohttp hands them over as surrogates, which no hash or comparison can
    encode) is refused here with a 401."""
    key = None
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            key = value.strip()
    key = key or headers.get("x-api-key") or headers.get("x-goog-api-key") or None
    if key is not None and not key.isascii():
        try:
            key.encode()
        except UnicodeEncodeError:
            raise _unauthorized("The API key is malformed: it is not valid UTF-8.") from None
    return key


def without_credentials(query: str) -> str:
    """A raw query string fit to forward upstream: every `CREDENTIAL_PARAMS` parameter removed (its
    name compared decoded and case-blind), the rest left byte for byte as the client sent it."""
    if not query:
        return query
    return "&".join(part for part in query.split("&")
                    if unquote_plus(part.partition("=")[0]).lower() not in CREDENTIAL_PARAMS)


class Authenticator:
    def __init__(self, config: Config):
        self.config = config
        self.mode = config.auth.effective_mode
        self.secret = server_secret(config)
        self.store: Store | None = None
        self.principals: dict[str, Principal] = {}  # key hash -> principal
        self._hash_of: dict[str, str] = {}  # key id -> key hash
        self._watermark = 0.0
        self._redis: redis.Redis | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.on_upstream_keys: Callable[[StoredKeys], None] | None = None  # the router's, set before start
        self.upstream: UpstreamKeyRing | None = None

    async def authenticate(self, headers: Mapping[str, str]) -> Principal:
        """The caller whose credentials are among a request's HEADERS (case-blind), or the 401."""
        if self.mode == "open":
            return OPEN
        token = presented_key(headers)
        if token is None:
            raise _unauthorized("Missing API key: send it as 'Authorization: Bearer <key>' or 'x-api-key'.",
                                code="missing_api_key")
        if self.mode == "passthrough":
            if len(token) > PASSTHROUGH_MAX or not token.isascii() or not token.isprintable() or " " in token:
                raise _unauthorized("The API key is malformed.")
            return Principal(kind="passthrough", upstream_key=token)
        master = self.config.auth.master_key
        if master and hmac.compare_digest(token.encode(), master.encode()):
            return MASTER
        assert self.secret is not None
        principal = self.principals.get(hash_key(self.secret, token))
        if principal is None:
            raise _unauthorized("Invalid API key.")
        assert principal.key is not None
        refusal = principal.key.refusal(time.time())
        if refusal is not None:
            raise _unauthorized(refusal, code="expired_api_key" if "expired" in refusal else "disabled_api_key")
        return principal

    # --- the cache -------------------------------------------------------------------------------
    def key_record(self, key_id: str) -> KeyRecord | None:
        """The settings of the key KEY_ID as cached (None: no such key, or revoked)."""
        principal = self.principals.get(self._hash_of.get(key_id, ""))
        return principal.key if principal is not None else None

    def key_records(self) -> list[KeyRecord]:
        """Every key cached (none revoked)."""
        return [principal.key for principal in self.principals.values() if principal.key is not None]

    def _put(self, record: KeyRecord) -> None:
        old = self._hash_of.pop(record.id, None)
        if old is not None:
            self.principals.pop(old, None)
        if record.revoked_at is None:
            self.principals[record.key_hash] = Principal(kind="key", key_id=record.id,
                                                         allowed_models=record.models, key=record)
            self._hash_of[record.id] = record.key_hash

    async def refresh(self) -> None:
        """Load every key changed since the last refresh (everything, the first time)."""
        assert self.store is not None
        since = self._watermark - CLOCK_OVERLAP_S if self._watermark else 0.0
        for record in await self.store.keys.changed_since(since):
            self._put(record)
            self._watermark = max(self._watermark, record.updated_at)
        if self.upstream is not None:
            await self.upstream.refresh(self.store)

    async def reload(self, key_id: str) -> None:
        assert self.store is not None
        record = await self.store.keys.get(key_id)
        if record is not None:
            self._put(record)
        elif key_id in self._hash_of:
            self.principals.pop(self._hash_of.pop(key_id), None)

    async def key_changed(self, key_id: str) -> None:
        """A key was written here: update this cache now and tell the other instances."""
        await self.reload(key_id)
        await self._announce(key_id)

    async def upstream_keys_changed(self) -> None:
        """A stored upstream key was added or deleted here: route with the new set now and tell the
        other instances."""
        if self.upstream is not None and self.store is not None:
            await self.upstream.refresh(self.store)
        await self._announce(UPSTREAM_KEYS)

    async def _announce(self, message: str) -> None:
        if self._redis is not None:
            try:
                await self._redis.publish(KEY_CHANNEL, message)
            except Exception:  # redis.RedisError or OSError; polling is the fallback
                log.warning("could not publish a key change; other instances will poll it")

    # --- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Load the key cache and keep it current; called once at app start-up."""
        if self.mode != "keys":
            return
        if self.secret is None:
            raise RuntimeError("auth.mode keys needs auth.secret, LLMSWITCH_SECRET or auth.master_key")
        import redis.asyncio as redis

        from llmswitch.store import acquire_store

        self.store = await acquire_store(self.config.database_url)
        if self.on_upstream_keys is not None:
            self.upstream = UpstreamKeyRing(self.secret, self.on_upstream_keys)
        await self.refresh()
        if self.config.redis_url:
            self._redis = redis.Redis.from_url(self.config.redis_url)
            self._tasks.append(asyncio.create_task(self._listen(self._redis)))
        interval = POLL_SHARED_S if self._redis is not None else POLL_ALONE_S
        self._tasks.append(asyncio.create_task(self._poll(interval)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._redis is not None:
            await self._redis.aclose()
        if self.store is not None:
            from llmswitch.store import release_store

            await release_store(self.store)
            self.store = None

    async def _poll(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.refresh()
            except Exception:
                log.warning("key cache refresh failed; retrying in %ss", interval, exc_info=True)

    async def _listen(self, client: redis.Redis) -> None:
        """Reload a key as soon as any instance announces a change to it."""
        while True:
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(KEY_CHANNEL)
                    await self.refresh()  # whatever changed while we were not subscribed
                    async for message in pubsub.listen():
                        if message["type"] != "message":
                            continue
                        changed = message["data"].decode()
                        if changed == UPSTREAM_KEYS:
                            if self.upstream is not None and self.store is not None:
                                await self.upstream.refresh(self.store)
                        else:
                            await self.reload(changed)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("key change subscription lost; resubscribing", exc_info=True)
                await asyncio.sleep(1.0)


async def publish_key_change(redis_url: str, key_id: str) -> None:
    """Announce a key change made outside a gateway (the CLI), so instances reload it at once."""
    import redis.asyncio as redis

    client = redis.Redis.from_url(redis_url)
    try:
        await client.publish(KEY_CHANNEL, key_id)
    finally:
        await client.aclose()
