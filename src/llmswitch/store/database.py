"""The engine from `database_url`, migrations at start-up, and one shared `Store` per process.

`sqlite:///file.db` runs on aiosqlite, `postgresql://` on asyncpg. Several gateway processes may
start at once against one PostgreSQL: migrations take an advisory lock so exactly one applies them.
"""

from __future__ import annotations

import asyncio
from importlib import resources

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from llmswitch.store.alerts import AlertRepository
from llmswitch.store.keys import KeyRepository
from llmswitch.store.responses import ResponseRepository
from llmswitch.store.upstream_keys import UpstreamKeyRepository
from llmswitch.store.usage import UsageRepository

DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}
MIGRATION_LOCK = 0x6C6C6D73  # "llms": the advisory lock id serialising migrations on PostgreSQL


def async_url(database_url: str) -> str:
    """The SQLAlchemy async URL for a config `database_url` (explicit drivers are kept)."""
    scheme, sep, rest = database_url.partition("://")
    if not sep:
        raise ValueError(f"database_url must look like sqlite:///file.db or postgresql://host/db, got {scheme!r}")
    return f"{DRIVERS.get(scheme, scheme)}://{rest}"


def create_engine(database_url: str) -> AsyncEngine:
    url = async_url(database_url)
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=5, max_overflow=10, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    """WAL lets the CLI write while a gateway reads; a busy timeout instead of instant 'locked' errors."""
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def migration_config(connection: Connection) -> AlembicConfig:
    """Alembic's configuration for migrating the database of CONNECTION."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(resources.files("llmswitch.store") / "migrations"))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK})
    command.upgrade(migration_config(connection), "head")


class Store:
    """The repositories over one engine."""

    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        self.keys = KeyRepository(engine)
        self.upstream_keys = UpstreamKeyRepository(engine)
        self.usage = UsageRepository(engine)
        self.responses = ResponseRepository(engine)
        self.alerts = AlertRepository(engine)

    @classmethod
    async def open(cls, database_url: str) -> Store:
        """Connect and bring the schema to the latest migration."""
        engine = create_engine(database_url)
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade)
        return cls(engine)

    async def close(self) -> None:
        await self.engine.dispose()


_shared: dict[str, tuple[Store, int]] = {}
_lock = asyncio.Lock()


async def acquire_store(database_url: str) -> Store:
    """The process's store for `database_url`, opened on first use: the authenticator, the usage
    writer and the admin API share one connection pool."""
    async with _lock:
        store, users = _shared.get(database_url, (None, 0))
        if store is None:
            store = await Store.open(database_url)
        _shared[database_url] = (store, users + 1)
        return store


async def release_store(store: Store) -> None:
    async with _lock:
        for url, (shared, users) in list(_shared.items()):
            if shared is store:
                if users > 1:
                    _shared[url] = (shared, users - 1)
                else:
                    del _shared[url]
                    await store.close()
