"""Shared fixtures of the provider tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from llmswitch.providers.http import HTTPClient
from tests.support.servers import serve_posts
from tests.support.streams import ScriptedStream


@pytest.fixture
async def client() -> AsyncIterator[HTTPClient]:
    """The pooled upstream client a provider is built with, closed after the test."""
    http = HTTPClient()
    yield http
    await http.close()


@pytest.fixture
async def scripted() -> AsyncIterator[tuple[ScriptedStream, str]]:
    """A scripted event-stream upstream and its base URL."""
    script = ScriptedStream()
    async with serve_posts(script.handle) as url:
        yield script, url

