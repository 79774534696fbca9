"""A fake upstream in the test's own loop, and SDK clients pointed at it with retries off."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import openai
import pytest

from llmswitch.fake_upstream import RunningFake, running_fake


@pytest.fixture
async def fake() -> AsyncIterator[RunningFake]:
    async with running_fake(name="fake-a") as server:
        yield server


@pytest.fixture
async def openai_client(fake: RunningFake) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=fake.url + "/v1", api_key="x", max_retries=0) as client:
        yield client


@pytest.fixture
async def anthropic_client(fake: RunningFake) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(base_url=fake.url, api_key="x", max_retries=0) as client:
        yield client


def say(message: str = "hello", /, **directive: Any) -> str:
    """A user message text carrying a directive for the fake."""
    return f"{message} !fake{json.dumps(directive)}" if directive else message
