"""Shared fixtures of the provider tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """The pooled client session a provider is built with, closed after the test."""
    async with aiohttp.ClientSession() as client:
        yield client
