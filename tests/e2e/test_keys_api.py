"""Auth modes, virtual keys, limits and the admin API, through the HTTP surface of one gateway
(in-process, on a real SQLite file)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from llmswitch.app import build_app
from llmswitch.config import parse_config
from llmswitch.web.context import GATEWAY
from llmswitch.core.keys import revoked
from llmswitch.core.upstream_keys import fernet
from llmswitch.fake_upstream import RunningFake, running_fake
from llmswitch.store import Store
from llmswitch.store.tables import upstream_keys, usage_records, virtual_keys
from tests.support.fake import fake_directive, received
from tests.support.processes import start_fake_upstream

MASTER = "sk-master-test"
ADMIN = {"authorization": f"Bearer {MASTER}"}
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def config(database_url: str, **extra: Any) -> dict[str, Any]:
    return {"auth": {"master_key": MASTER, "secret": "test-secret"}, "database_url": database_url,
            "providers": {"demo": {"type": "demo"}},
            "models": {name: [{"provider": "demo"}] for name in ("gpt-4o", "gpt-4o-mini", "claude-x")}, **extra}


@asynccontextmanager
async def serve(settings: dict[str, Any]) -> AsyncIterator[TestClient]:
    app = build_app(parse_config(yaml.safe_dump(settings)))
    async with TestClient(TestServer(app, handler_cancellation=True)) as client:  # as `llmswitch serve`
        yield client


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[TestClient]:
    async with serve(config(f"sqlite:///{tmp_path}/llmswitch.db")) as client:
        yield client


Make = Callable[..., Any]


@pytest.fixture
def make_key(gw: TestClient) -> Make:
    async def make(**fields: Any) -> dict[str, Any]:
        response = await gw.post("/admin/api/keys", json=fields, headers=ADMIN)
        assert response.status == 201, await response.text()
        return await response.json()
    return make


def bearer(key: dict[str, Any]) -> dict[str, str]:
    return {"authorization": f"Bearer {key['key']}"}


async def error_of(response: Any) -> dict[str, Any]:
    return (await response.json())["error"]


# --- auth modes ----------------------------------------------------------------------------------
async def test_open_mode_needs_no_key_and_records_the_request_without_one(tmp_path: Path) -> None:
    async with serve({**config(f"sqlite:///{tmp_path}/x.db"), "auth": {"mode": "open"}}) as client:
        assert (await client.post("/v1/chat/completions", json=CHAT)).status == 200
    with sqlite3.connect(tmp_path / "x.db") as database:  # the usage ledger is kept in every mode
        assert database.execute("SELECT key_id, status FROM usage_records").fetchall() == [(None, 200)]


async def test_open_mode_without_the_usage_ledger_stores_nothing(tmp_path: Path) -> None:
    settings = {**config(f"sqlite:///{tmp_path}/x.db"), "auth": {"mode": "open"}, "usage": {"enabled": False}}
    async with serve(settings) as client:
        assert (await client.post("/v1/chat/completions", json=CHAT)).status == 200
    assert not (tmp_path / "x.db").exists()


async def test_passthrough_forwards_the_callers_key_upstream(tmp_path: Path) -> None:
    with start_fake_upstream() as fake:
        settings = {"auth": {"mode": "passthrough"}, "database_url": f"sqlite:///{tmp_path}/x.db",
                    "providers": {"up": {"type": "openai", "base_url": f"{fake.url}/v1", "api_keys": ["configured"]}},
                    "models": {"gpt-4o": [{"provider": "up"}]}}
        async with serve(settings) as client:
            response = await client.post("/v1/chat/completions", json={**CHAT, "messages": [
                {"role": "user", "content": "passthrough-marker"}]}, headers={"authorization": "Bearer sk-own-key"})
            assert response.status == 200
            missing = await client.post("/v1/chat/completions", json=CHAT)
            assert missing.status == 401
        (seen,) = received(fake.url, "passthrough-marker")
        assert seen["headers"]["authorization"] == "Bearer sk-own-key"


# --- keys mode: 401 / 403 ------------------------------------------------------------------------
async def test_a_missing_key_is_401_missing_api_key(gw: TestClient) -> None:
    response = await gw.post("/v1/chat/completions", json=CHAT)
    assert response.status == 401
    error = await error_of(response)
    assert (error["type"], error["code"]) == ("invalid_request_error", "missing_api_key")  # as OpenAI's own


async def test_an_unknown_key_is_401_invalid_api_key(gw: TestClient) -> None:
    response = await gw.post("/v1/chat/completions", json=CHAT, headers={"authorization": "Bearer sk-llms-nope"})
    assert response.status == 401
    error = await error_of(response)
    assert (error["type"], error["code"]) == ("invalid_request_error", "invalid_api_key")
    assert "sk-llms-nope" not in error["message"]


@pytest.mark.parametrize("header", ["authorization", "x-api-key", "x-goog-api-key"])
async def test_a_key_is_accepted_in_each_clients_header(gw: TestClient, make_key: Make, header: str) -> None:
    key = (await make_key())["key"]
    value = f"Bearer {key}" if header == "authorization" else key
    assert (await gw.post("/v1/chat/completions", json=CHAT, headers={header: value})).status == 200


async def test_the_master_key_may_use_every_model(gw: TestClient) -> None:
    assert (await gw.post("/v1/chat/completions", json={**CHAT, "model": "claude-x"}, headers=ADMIN)).status == 200


async def test_a_model_outside_the_allow_list_is_403_model_not_allowed(gw: TestClient, make_key: Make) -> None:
    key = await make_key(models=["gpt-*"])
    assert (await gw.post("/v1/chat/completions", json=CHAT, headers=bearer(key))).status == 200
    response = await gw.post("/v1/chat/completions", json={**CHAT, "model": "claude-x"}, headers=bearer(key))
    assert response.status == 403
    error = await error_of(response)
    assert (error["type"], error["code"]) == ("invalid_request_error", "model_not_allowed")


async def test_models_lists_only_the_allowed_models(gw: TestClient, make_key: Make) -> None:
    key = await make_key(models=["gpt-4o", "claude-*"])
    listing = await (await gw.get("/v1/models", headers=bearer(key))).json()
    assert sorted(m["id"] for m in listing["data"]) == ["claude-x", "gpt-4o"]


@pytest.mark.parametrize(("fields", "code"), [({"disabled": True}, "disabled_api_key"),
                                              ({"expires_at": 1.0}, "expired_api_key")])
async def test_disabled_and_expired_keys_are_401(gw: TestClient, make_key: Make, fields: dict, code: str) -> None:
    key = await make_key(**fields)
    response = await gw.post("/v1/chat/completions", json=CHAT, headers=bearer(key))
    assert response.status == 401
    assert (await error_of(response))["code"] == code


async def test_errors_on_the_messages_route_take_anthropics_shape(gw: TestClient) -> None:
    response = await gw.post("/v1/messages", json={"model": "claude-x", "max_tokens": 5,
                                                   "messages": [{"role": "user", "content": "hi"}]})
    assert response.status == 401
    body = await response.json()
    assert body["type"] == "error" and body["error"]["type"] == "authentication_error"


# --- limits through HTTP -------------------------------------------------------------------------
async def test_rpm_429_carries_retry_after_and_every_response_the_ratelimit_headers(gw: TestClient,
                                                                                   make_key: Make) -> None:
    key = await make_key(rpm=2, tpm=100_000)
    statuses, headers = [], []
    for _ in range(3):
        response = await gw.post("/v1/chat/completions", json=CHAT, headers=bearer(key))
        statuses.append(response.status)
        headers.append(response.headers)
    assert statuses == [200, 200, 429]
    for h in headers:
        for name in ("limit", "remaining", "reset"):
            assert f"x-ratelimit-{name}-requests" in h and f"x-ratelimit-{name}-tokens" in h
    assert [h["x-ratelimit-remaining-requests"] for h in headers] == ["1", "0", "0"]
    assert int(headers[2]["retry-after"]) >= 1


async def test_a_spent_budget_is_429_insufficient_quota(gw: TestClient, make_key: Make) -> None:
    key = await make_key(budget_tokens=200)
    assert (await gw.post("/v1/chat/completions", json={**CHAT, "max_tokens": 50}, headers=bearer(key))).status == 200
    response = await gw.post("/v1/chat/completions", json={**CHAT, "max_tokens": 198}, headers=bearer(key))
    assert response.status == 429
    error = await error_of(response)
    assert (error["type"], error["code"]) == ("insufficient_quota", "insufficient_quota")


async def test_a_key_reads_its_own_limits_and_usage(gw: TestClient, make_key: Make) -> None:
    key = await make_key(name="mine", rpm=10, budget_tokens=1000, budget_period="daily")
    await gw.post("/v1/chat/completions", json={**CHAT, "max_tokens": 10}, headers=bearer(key))
    info = await (await gw.get("/v1/key", headers=bearer(key))).json()
    assert (info["id"], info["name"], info["limits"]["rpm"]) == (key["id"], "mine", 10)
    assert info["usage"]["requests_last_minute"] == 1
    assert 0 < info["usage"]["budget"]["spent_tokens"] < 1000
    assert info["usage"]["budget"]["period"] == "daily"
    assert "key_hash" not in info and key["key"] not in str(info)


# --- admin API -----------------------------------------------------------------------------------
async def test_the_admin_api_needs_the_master_key(gw: TestClient, make_key: Make) -> None:
    key = await make_key()
    assert (await gw.get("/admin/api/keys")).status == 401
    assert (await gw.get("/admin/api/keys", headers=bearer(key))).status == 401


async def test_the_key_value_is_shown_once_and_stored_only_as_a_hash(gw: TestClient, make_key: Make) -> None:
    key = await make_key(name="once")
    listing = await (await gw.get("/admin/api/keys", headers=ADMIN)).json()
    shown = await (await gw.get(f"/admin/api/keys/{key['id']}", headers=ADMIN)).json()
    assert key["key"] not in str(listing) + str(shown)
    assert shown["key_prefix"] == key["key"][:len(shown["key_prefix"])]
    store = gw.server.app[GATEWAY].auth.store
    async with store.engine.connect() as connection:
        rows = (await connection.execute(select(virtual_keys))).mappings().all()
    assert key["key"] not in str([dict(r) for r in rows])


async def test_an_invalid_field_is_400_naming_it(gw: TestClient) -> None:
    response = await gw.post("/admin/api/keys", json={"rpm": -1}, headers=ADMIN)
    assert response.status == 400
    assert (await error_of(response))["param"] == "rpm"


async def test_patch_changes_a_key_at_once(gw: TestClient, make_key: Make) -> None:
    key = await make_key(models=["gpt-4o"])
    response = await gw.patch(f"/admin/api/keys/{key['id']}", json={"models": ["claude-x"]}, headers=ADMIN)
    assert (await response.json())["models"] == ["claude-x"]
    assert (await gw.post("/v1/chat/completions", json=CHAT, headers=bearer(key))).status == 403


async def test_delete_revokes_a_key_at_once(gw: TestClient, make_key: Make) -> None:
    key = await make_key()
    assert (await gw.delete(f"/admin/api/keys/{key['id']}", headers=ADMIN)).status == 200
    assert (await gw.post("/v1/chat/completions", json=CHAT, headers=bearer(key))).status == 401


async def test_rotation_replaces_the_value(gw: TestClient, make_key: Make) -> None:
    key = await make_key()
    new = await (await gw.post(f"/admin/api/keys/{key['id']}/rotate", headers=ADMIN)).json()
    assert new["id"] == key["id"] and new["key"] != key["key"]
    assert (await gw.post("/v1/chat/completions", json=CHAT, headers=bearer(key))).status == 401
    assert (await gw.post("/v1/chat/completions", json=CHAT, headers=bearer(new))).status == 200


async def test_an_unknown_key_id_is_404(gw: TestClient) -> None:
    assert (await gw.get("/admin/api/keys/key_nope", headers=ADMIN)).status == 404


async def test_the_openapi_document_describes_every_admin_route(gw: TestClient) -> None:
    spec = await (await gw.get("/admin/api/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]["/admin/api/keys"]) == {"get", "post"}
    assert {"get", "patch", "delete"} <= set(spec["paths"]["/admin/api/keys/{key_id}"])
    assert "post" in spec["paths"]["/admin/api/keys/{key_id}/rotate"]
    assert "key_hash" not in spec["components"]["schemas"]["KeyRecord"]["properties"]


async def test_stored_upstream_keys_are_encrypted_and_never_shown(gw: TestClient) -> None:
    response = await gw.post("/admin/api/upstream-keys", json={"provider": "demo", "api_key": "sk-up-secret-9876"},
                             headers=ADMIN)
    assert response.status == 201
    listing = await (await gw.get("/admin/api/upstream-keys", headers=ADMIN)).json()
    assert listing["data"][0]["hint"] == "9876" and "sk-up-secret" not in str(listing)
    store = gw.server.app[GATEWAY].auth.store
    async with store.engine.connect() as connection:
        assert "sk-up-secret" not in str((await connection.execute(select(upstream_keys))).all())


async def test_usage_and_last_use_are_written_in_the_background(gw: TestClient, make_key: Make) -> None:
    key = await make_key()
    before = time.time()
    assert (await gw.post("/v1/chat/completions", json=CHAT, headers=bearer(key))).status == 200
    store = gw.server.app[GATEWAY].auth.store
    for _ in range(40):
        await asyncio.sleep(0.1)
        async with store.engine.connect() as connection:
            rows = (await connection.execute(select(usage_records).where(usage_records.c.key_id == key["id"]))).all()
        if rows:
            break
    assert len(rows) == 1 and rows[0].status == 200 and rows[0].input_tokens > 0
    record = await store.keys.get(key["id"])
    assert record.last_used_at is not None and record.last_used_at >= before


async def test_a_key_changed_by_another_process_is_seen_within_a_second(gw: TestClient, make_key: Make) -> None:
    key = await make_key()
    store = gw.server.app[GATEWAY].auth.store
    record = await store.keys.get(key["id"])
    await store.keys.save(revoked(record))  # as the CLI would: straight to the database
    await asyncio.sleep(1.3)
    assert (await gw.post("/v1/chat/completions", json=CHAT, headers=bearer(key))).status == 401


# --- stored upstream keys route requests -----------------------------------------------------------
def upstream_config(database_url: str, fake_url: str) -> dict[str, Any]:
    """A provider with no configured api_keys: whatever key reaches the fake was stored."""
    settings = config(database_url)
    settings["providers"]["up"] = {"type": "openai", "base_url": f"{fake_url}/v1"}
    settings["models"]["up-model"] = [{"provider": "up", "model": "gpt-4o"}]
    return settings


async def upstream_authorization(client: TestClient, fake: RunningFake, marker: str) -> str | None:
    """The authorization header the fake received for one request through the gateway (the fake
    answers 401 to a request without one, as the real services do)."""
    body = {"model": "up-model", "messages": [{"role": "user", "content": marker}]}
    await client.post("/v1/chat/completions", json=body, headers=ADMIN)
    seen = [r for r in fake.requests() if marker in str(r.get("body"))]
    return seen[0]["headers"].get("authorization")


async def test_a_stored_upstream_key_is_used_at_once_and_no_more_once_deleted(tmp_path: Path) -> None:
    async with running_fake() as fake, serve(upstream_config(f"sqlite:///{tmp_path}/x.db", fake.url)) as gw:
        assert await upstream_authorization(gw, fake, "before-any") is None
        added = await gw.post("/admin/api/upstream-keys", json={"provider": "up", "api_key": "sk-stored-one"},
                              headers=ADMIN)
        assert await upstream_authorization(gw, fake, "with-stored") == "Bearer sk-stored-one"
        key_id = (await added.json())["id"]
        assert (await gw.delete(f"/admin/api/upstream-keys/{key_id}", headers=ADMIN)).status == 200
        assert await upstream_authorization(gw, fake, "after-delete") is None


async def test_each_stored_key_is_its_own_target(tmp_path: Path) -> None:
    async with running_fake() as fake, serve(upstream_config(f"sqlite:///{tmp_path}/x.db", fake.url)) as gw:
        for value in ("sk-stored-a", "sk-stored-b"):
            await gw.post("/admin/api/upstream-keys", json={"provider": "up", "api_key": value}, headers=ADMIN)
        used = {await upstream_authorization(gw, fake, f"spread-{i}") for i in range(24)}
        assert used == {"Bearer sk-stored-a", "Bearer sk-stored-b"}
        status = await (await gw.get("/health/ready", headers=ADMIN)).json()
        assert "sk-stored" not in str(status)


async def test_stored_keys_are_loaded_at_start_up(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path}/x.db"
    store = await Store.open(database_url)
    await store.upstream_keys.add(fernet(b"test-secret"), "up", "sk-stored-earlier")
    await store.close()
    async with running_fake() as fake, serve(upstream_config(database_url, fake.url)) as gw:
        assert await upstream_authorization(gw, fake, "at-start") == "Bearer sk-stored-earlier"


async def test_a_key_stored_by_another_instance_is_picked_up_by_polling(tmp_path: Path) -> None:
    async with running_fake() as fake, serve(upstream_config(f"sqlite:///{tmp_path}/x.db", fake.url)) as gw:
        store = gw.server.app[GATEWAY].auth.store
        await store.upstream_keys.add(fernet(b"test-secret"), "up", "sk-stored-elsewhere")  # not announced
        await asyncio.sleep(1.3)
        assert await upstream_authorization(gw, fake, "polled") == "Bearer sk-stored-elsewhere"


# --- rate-limit headers on every admitted response --------------------------------------------------
LIMITED = {"rpm": 100, "tpm": 1_000_000}
RATE_HEADERS = [f"x-ratelimit-{name}-{unit}" for name in ("limit", "remaining", "reset")
                for unit in ("requests", "tokens")]


async def test_an_upstream_failure_still_carries_the_ratelimit_headers(tmp_path: Path) -> None:
    settings = config(f"sqlite:///{tmp_path}/x.db")
    settings["providers"]["nowhere"] = {"type": "openai", "base_url": "http://127.0.0.1:9/v1", "api_keys": ["x"]}
    settings["models"]["dead"] = [{"provider": "nowhere"}]
    async with serve(settings) as gw:
        key = await (await gw.post("/admin/api/keys", json=LIMITED, headers=ADMIN)).json()
        response = await gw.post("/v1/chat/completions", json={**CHAT, "model": "dead"}, headers=bearer(key))
        assert response.status >= 500
        assert all(h in response.headers for h in RATE_HEADERS)
        assert response.headers["x-ratelimit-remaining-requests"] == "99"


async def test_a_stream_carries_the_ratelimit_headers(gw: TestClient, make_key: Make) -> None:
    key = await make_key(**LIMITED)
    response = await gw.post("/v1/chat/completions", json={**CHAT, "stream": True}, headers=bearer(key))
    assert response.status == 200
    assert all(h in response.headers for h in RATE_HEADERS)
    await response.read()


# --- Redis down ------------------------------------------------------------------------------------
async def test_an_unreachable_redis_is_a_503_in_the_apis_error_shape(tmp_path: Path) -> None:
    async with serve(config(f"sqlite:///{tmp_path}/x.db", redis_url="redis://127.0.0.1:9/0")) as gw:
        key = await (await gw.post("/admin/api/keys", json={"rpm": 10}, headers=ADMIN)).json()
        response = await gw.post("/v1/chat/completions", json=CHAT, headers=bearer(key))
        assert response.status == 503
        assert response.headers["retry-after"] == "1"
        error = await error_of(response)
        assert (error["type"], error["code"]) == ("service_unavailable_error", "limits_unavailable")
        unlimited = await (await gw.post("/admin/api/keys", json={}, headers=ADMIN)).json()
        assert (await gw.post("/v1/chat/completions", json=CHAT, headers=bearer(unlimited))).status == 200


# --- allow-lists match aliases ---------------------------------------------------------------------
@pytest.fixture
async def aliased(tmp_path: Path) -> AsyncIterator[TestClient]:
    settings = config(f"sqlite:///{tmp_path}/x.db", aliases={"gpt-latest": "gpt-4o", "team-chat": "claude-x"})
    async with serve(settings) as client:
        yield client


async def allowed(client: TestClient, models: list[str], requested: str) -> int:
    key = await (await client.post("/admin/api/keys", json={"models": models}, headers=ADMIN)).json()
    response = await client.post("/v1/chat/completions", json={**CHAT, "model": requested}, headers=bearer(key))
    return response.status


async def test_a_key_allowed_a_model_may_use_its_aliases(aliased: TestClient) -> None:
    assert await allowed(aliased, ["gpt-4o"], "gpt-latest") == 200
    assert await allowed(aliased, ["gpt-4o"], "team-chat") == 403


async def test_globs_match_the_resolved_model_or_the_requested_name(aliased: TestClient) -> None:
    assert await allowed(aliased, ["gpt-4*"], "gpt-latest") == 200  # resolved gpt-4o
    assert await allowed(aliased, ["team-*"], "team-chat") == 200  # as requested
    assert await allowed(aliased, ["team-*"], "claude-x") == 403


# --- a client that leaves frees its concurrency slot -----------------------------------------------
@pytest.fixture
async def stalling(tmp_path: Path) -> AsyncIterator[TestClient]:
    """A gateway in front of a fake upstream that can be told to stall a stream."""
    async with running_fake() as fake:
        settings = upstream_config(f"sqlite:///{tmp_path}/x.db", fake.url)
        settings["providers"]["up"]["api_keys"] = ["sk-configured"]
        async with serve(settings) as client:
            yield client


async def test_a_client_disconnecting_mid_stream_frees_its_concurrency_slot(stalling: TestClient) -> None:
    key = await (await stalling.post("/admin/api/keys", json={"max_concurrent": 1}, headers=ADMIN)).json()
    stalled = fake_directive(chunks=4, stall_after=3, stall_s=30)
    body = {"model": "up-model", "stream": True, "messages": [{"role": "user", "content": stalled}]}
    response = await stalling.post("/v1/chat/completions", json=body, headers=bearer(key))
    assert response.status == 200
    await response.content.readline()  # the stream is under way, holding the key's one slot
    busy = await stalling.post("/v1/chat/completions", json={**body, "stream": False}, headers=bearer(key))
    assert (busy.status, (await error_of(busy))["code"]) == (429, "concurrency_limit_exceeded")
    response.close()  # the client goes away mid-stream
    statuses = []
    for _ in range(20):
        await asyncio.sleep(0.05)
        again = await stalling.post("/v1/chat/completions", json=CHAT, headers=bearer(key))
        statuses.append(again.status)
        if again.status == 200:
            break
    assert statuses[-1] == 200, statuses


async def test_models_lists_the_aliases_of_allowed_models(aliased: TestClient) -> None:
    key = await (await aliased.post("/admin/api/keys", json={"models": ["gpt-4o"]}, headers=ADMIN)).json()
    listing = await (await aliased.get("/v1/models", headers=bearer(key))).json()
    assert sorted(m["id"] for m in listing["data"]) == ["gpt-4o", "gpt-latest"]
