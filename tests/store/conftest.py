"""The store's tests run on real SQLite and on real PostgreSQL (a fresh database each)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from llmswitch.store import Store
from tests.support.databases import database_url, postgres_url  # noqa: F401  (fixtures)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(database_url)
    yield opened
    await opened.close()
