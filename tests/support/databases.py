"""Real PostgreSQL and Redis for tests (see scripts/ensure-services.sh): a fresh database per test,
dropped afterwards, so parallel and earlier runs never collide. Skips loudly when a service is down."""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest

PG_HOST, PG_PORT, PG_ADMIN_DB = "127.0.0.1", 5432, "test"
REDIS_URL = "redis://127.0.0.1:6379/0"
T = TypeVar("T")


def _reachable(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion even when the caller is inside an event loop."""
    result: list[T] = []
    thread = threading.Thread(target=lambda: result.append(asyncio.run(coroutine)))
    thread.start()
    thread.join()
    return result[0]


async def _admin(sql: str) -> str:
    for user in ("postgres", "root"):
        try:
            connection = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=user, database=PG_ADMIN_DB)
        except asyncpg.InvalidAuthorizationSpecificationError:
            continue
        try:
            await connection.execute(sql)
        finally:
            await connection.close()
        return user
    raise RuntimeError("no PostgreSQL role among postgres, root")


@contextmanager
def fresh_postgres() -> Iterator[str]:
    """`postgresql://` URL of a new, empty database, dropped on exit."""
    if not _reachable(PG_PORT):
        pytest.skip("PostgreSQL is NOT reachable on 127.0.0.1:5432: run `make services`")
    name = f"llms_test_{uuid.uuid4().hex[:12]}"
    user = run_async(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://{user}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        run_async(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with fresh_postgres() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test twice: on a new SQLite file, and on a new PostgreSQL database (import `postgres_url` too)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/llmswitch.db"
    return str(request.getfixturevalue("postgres_url"))


def require_redis() -> str:
    if not _reachable(6379):
        pytest.skip("Redis is NOT reachable on 127.0.0.1:6379: run `make services`")
    return REDIS_URL


@pytest.fixture
def redis_url() -> str:
    return require_redis()
