"""Shared fixtures of the provider tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from llmswitch.providers.http import HTTPClient


@pytest.fixture
async def client() -> AsyncIterator[HTTPClient]:
    """The pooled upstream client a provider is built with, closed after the test."""
    http = HTTPClient()
    yield http
    await http.close()
