"""What a key may reach is checked on the model that serves it, and billed at that model's price:
through a real gateway process (keys mode, SQLite) in front of the fake upstream and a dead one."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.processes import Process, start_fake_upstream, start_gateway

MASTER = "sk-master-scope"
ADMIN = {"authorization": f"Bearer {MASTER}"}
CHEAP, EXPENSIVE = 1_000.0, 100_000.0  # USD per million tokens


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


@dataclass
class Setup:
    gateway: Process
    database: Path

    async def call(self, method: str, path: str, headers: dict[str, str], body: Any = None) -> Reply:
        async with aiohttp.ClientSession() as session:
            async with session.request(method, self.gateway.url + path, headers=headers, json=body) as response:
                return Reply(response.status, dict(response.headers), await response.text())

    async def key(self, *models: str, **fields: Any) -> tuple[str, dict[str, str]]:
        response = await self.call("POST", "/admin/api/keys", ADMIN, {"models": list(models), **fields})
        assert response.status == 201, response.text
        return response.json()["id"], {"authorization": f"Bearer {response.json()['key']}"}

    async def chat(self, headers: dict[str, str], model: str) -> Reply:
        return await self.call("POST", "/v1/chat/completions", headers,
                               {"model": model, "messages": [{"role": "user", "content": "hello there"}]})

    async def rows(self, key_id: str, count: int) -> list[tuple[str, str, int, int, int, float]]:
        query = ("SELECT model, deployment, status, input_tokens, output_tokens, cost_usd FROM usage_records "
                 "WHERE key_id = ?")
        deadline = time.monotonic() + 10
        while True:
            with sqlite3.connect(self.database) as connection:
                rows = connection.execute(query, (key_id,)).fetchall()
            if len(rows) >= count or time.monotonic() > deadline:
                return rows
            await asyncio.sleep(0.2)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    database = tmp_path_factory.mktemp("scope") / "llmswitch.db"
    with ExitStack() as stack:
        fake = stack.enter_context(start_fake_upstream())
        config: dict[str, Any] = {
            "auth": {"master_key": MASTER, "secret": "scope-secret"},
            "database_url": f"sqlite:///{database}",
            "providers": {"fake": {"type": "openai", "base_url": f"{fake.url}/v1", "api_keys": ["x"]},
                          "nowhere": {"type": "openai", "base_url": "http://127.0.0.1:9/v1", "api_keys": ["x"]}},
            "models": {"gpt-4o-mini": [{"provider": "fake", "model": "gpt-4o-mini"}],
                       "expensive": [{"provider": "fake", "model": "big-model"}],
                       "cheap-down": [{"provider": "nowhere", "model": "small-model"}],
                       "cheap-down-2": [{"provider": "nowhere", "model": "small-model"}],
                       "cheap-down-3": [{"provider": "nowhere", "model": "small-model"}]},
            "aliases": {"team-chat": "expensive"},
            "default_model": "expensive",
            "fallbacks": {"cheap-down": ["expensive"], "cheap-down-2": ["team-chat"],
                          "cheap-down-3": ["expensive"]},
            "prices": {"small-model": {"input": CHEAP, "output": CHEAP},
                       "expensive": {"input": EXPENSIVE, "output": EXPENSIVE}},
        }
        yield Setup(stack.enter_context(start_gateway(config)), database)


async def test_an_unknown_name_matching_a_keys_glob_is_not_served_by_the_default_model(setup: Setup) -> None:
    _id, key = await setup.key("gpt-4o-mini*")
    response = await setup.chat(key, "gpt-4o-mini-does-not-exist")
    assert response.status == 403
    assert response.json()["error"]["code"] == "model_not_allowed"


async def test_the_models_a_glob_names_are_still_served(setup: Setup) -> None:
    _id, key = await setup.key("gpt-4o-mini*")
    assert (await setup.chat(key, "gpt-4o-mini")).status == 200


async def test_a_key_allowed_the_default_model_may_reach_it_through_any_name(setup: Setup) -> None:
    _id, key = await setup.key("expensive")
    assert (await setup.chat(key, "anything-at-all")).status == 200


async def test_a_fallback_the_key_may_not_use_is_skipped(setup: Setup) -> None:
    key_id, key = await setup.key("cheap-down")
    response = await setup.chat(key, "cheap-down")
    assert response.status in (502, 503), response.text
    assert "expensive" not in response.text and "big-model" not in response.text
    assert [(row[2], row[5]) for row in await setup.rows(key_id, 1)] == [(response.status, 0.0)]


async def test_a_fallback_allowed_through_its_alias_serves(setup: Setup) -> None:
    _id, key = await setup.key("cheap-down-2", "team-*")
    response = await setup.chat(key, "cheap-down-2")
    assert response.status == 200, response.text
    assert response.headers["x-llmswitch-upstream-model"] == "big-model"


async def test_a_fallback_is_billed_at_the_price_of_the_model_that_served(setup: Setup) -> None:
    key_id, key = await setup.key("cheap-down-3", "expensive", budget_usd=1000.0)
    response = await setup.chat(key, "cheap-down-3")
    assert response.status == 200, response.text
    usage = response.json()["usage"]
    [(model, target, status, prompt, completion, cost)] = await setup.rows(key_id, 1)
    assert (model, status, (prompt, completion)) == ("cheap-down-3", 200,
                                                     (usage["prompt_tokens"], usage["completion_tokens"]))
    assert target.startswith("fake/big-model")
    assert cost == pytest.approx((prompt + completion) * EXPENSIVE / 1_000_000)
    spent = (await setup.call("GET", "/v1/key", key)).json()["usage"]["budget"]["spent_usd"]
    assert spent == pytest.approx(cost, abs=1e-6)
