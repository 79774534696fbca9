"""`GET /admin/api/models`: every public model, its aliases, fallbacks and deployments with their health,
latency, error rate and price, and the providers; for the master key only (surfaces.admin_models)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from llmswitch.app import build_app
from llmswitch.config import parse_config

MASTER = "sk-master-models"
ADMIN = {"authorization": f"Bearer {MASTER}"}


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[TestClient]:
    config = {
        "auth": {"master_key": MASTER, "secret": "s"}, "database_url": f"sqlite:///{tmp_path}/m.db",
        "providers": {"demo": {"type": "demo"},
                      "nowhere": {"type": "openai", "base_url": "http://127.0.0.1:9/v1?key=sk-hidden-123456789",
                                  "api_keys": ["upstream-a", "upstream-b"]}},
        "models": {"gpt-4o": [{"provider": "demo", "model": "gpt-4o-2024-08-06"}],
                   "broken": [{"provider": "nowhere"}]},
        "aliases": {"gpt-5": "gpt-4o", "gpt-4*": "gpt-4o"},
        "fallbacks": {"broken": ["gpt-4o"]},
        "prices": {"gpt-4o-2024-08-06": {"input": 2.5, "output": 10, "cached_input": 1.25}},
        "routing": {"circuit_failures": 1},
    }
    async with TestClient(TestServer(build_app(parse_config(yaml.safe_dump(config, sort_keys=False))))) as client:
        yield client


async def models(client: TestClient) -> dict[str, Any]:
    response = await client.get("/admin/api/models", headers=ADMIN)
    assert response.status == 200
    return await response.json()


async def test_each_model_lists_its_aliases_fallbacks_and_priced_deployments(gw: TestClient) -> None:
    listing = await models(gw)
    by_id = {m["id"]: m for m in listing["data"]}
    assert list(by_id) == ["gpt-4o", "broken"]
    assert by_id["gpt-4o"]["aliases"] == ["gpt-4*", "gpt-5"]
    assert by_id["broken"]["fallbacks"] == ["gpt-4o"]
    [deployment] = by_id["gpt-4o"]["deployments"]
    assert deployment["state"] == "healthy" and deployment["upstream_model"] == "gpt-4o-2024-08-06"
    assert {k: deployment["price"][k] for k in ("input", "output", "cached_input")} == {
        "input": 2.5, "output": 10.0, "cached_input": 1.25}
    assert [d["key"] for d in by_id["broken"]["deployments"]] == [0, 1]


async def test_a_failing_deployment_shows_its_open_circuit_and_error_rate(gw: TestClient) -> None:
    chat = {"model": "broken", "messages": [{"role": "user", "content": "hi"}]}
    assert (await gw.post("/v1/chat/completions", json=chat, headers=ADMIN)).status == 200  # served by the fallback
    broken = next(m for m in (await models(gw))["data"] if m["id"] == "broken")
    assert {d["state"] for d in broken["deployments"]} == {"circuit_open"}
    assert all(d["error_rate"] == 1.0 for d in broken["deployments"])


async def test_providers_are_listed_without_any_key(gw: TestClient) -> None:
    response = await gw.get("/admin/api/models", headers=ADMIN)
    text = await response.text()
    assert "upstream-a" not in text and "upstream-b" not in text and "sk-hidden-123456789" not in text
    nowhere = next(p for p in (await response.json())["providers"] if p["name"] == "nowhere")
    assert nowhere["configured_keys"] == 2 and nowhere["type"] == "openai"


async def test_the_models_listing_needs_the_master_key(gw: TestClient) -> None:
    assert (await gw.get("/admin/api/models")).status == 401
    assert (await gw.get("/admin/api/models", headers={"authorization": "Bearer wrong"})).status == 401
