"""The admin API's panel sessions: sign-in with the master key, the HttpOnly SameSite=Strict cookie, CSRF
and Origin checks on changes, expiry, sign-out, and the session's playground key (surfaces.admin_auth)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from llmswitch.app import build_app
from llmswitch.config import parse_config
from llmswitch.surfaces.admin_auth import COOKIE

MASTER = "sk-master-panel"
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def settings(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {"auth": {"master_key": MASTER, "secret": "test-secret"}, "database_url": f"sqlite:///{tmp_path}/s.db",
            "providers": {"demo": {"type": "demo"}}, "models": {"gpt-4o": [{"provider": "demo"}]}, **extra}


@asynccontextmanager
async def serve(config: dict[str, Any]) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(build_app(parse_config(yaml.safe_dump(config))))) as client:
        client.session.cookie_jar.clear()
        yield client


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[TestClient]:
    async with serve(settings(tmp_path)) as client:
        yield client


class Signed:
    """A signed-in browser, reduced to what it sends: the cookie, and the CSRF token it was given."""

    def __init__(self, cookie: str, csrf: str, set_cookie: str):
        self.cookie = cookie
        self.csrf = csrf
        self.set_cookie = set_cookie

    def headers(self, csrf: str | None = "own", **extra: str) -> dict[str, str]:
        headers = {"cookie": f"{COOKIE}={self.cookie}", **extra}
        if csrf is not None:
            headers["x-csrf-token"] = self.csrf if csrf == "own" else csrf
        return headers


async def sign_in(client: TestClient, key: str = MASTER) -> Signed:
    response = await client.post("/admin/api/session", json={"key": key})
    assert response.status == 201, await response.text()
    set_cookie = response.headers["set-cookie"]
    client.session.cookie_jar.clear()  # each test sends the cookie itself
    return Signed(SimpleCookie(set_cookie)[COOKIE].value, (await response.json())["csrf_token"], set_cookie)


async def test_signing_in_sets_an_httponly_samesite_strict_cookie_for_the_admin_api(gw: TestClient) -> None:
    cookie = SimpleCookie((await sign_in(gw)).set_cookie)[COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/admin/api"
    assert cookie["max-age"] == str(12 * 3600)  # ui.session_hours by default


async def test_a_wrong_master_key_is_refused_and_sets_no_cookie(gw: TestClient) -> None:
    response = await gw.post("/admin/api/session", json={"key": MASTER + "x"})
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "invalid_api_key"
    assert "set-cookie" not in response.headers


async def test_the_session_cookie_authorises_reading_the_admin_api(gw: TestClient) -> None:
    signed = await sign_in(gw)
    assert (await gw.get("/admin/api/keys", headers=signed.headers(csrf=None))).status == 200
    assert (await gw.get("/admin/api/keys")).status == 401


async def test_the_session_and_its_csrf_token_authorise_changes(gw: TestClient) -> None:
    signed = await sign_in(gw)
    response = await gw.post("/admin/api/keys", json={"name": "by-session"}, headers=signed.headers())
    assert response.status == 201


@pytest.mark.parametrize("csrf", [None, "forged", "0" * 64])
async def test_a_change_without_the_sessions_csrf_token_is_refused(gw: TestClient, csrf: str | None) -> None:
    signed = await sign_in(gw)
    response = await gw.post("/admin/api/keys", json={"name": "forged"}, headers=signed.headers(csrf=csrf))
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "csrf_failed"
    listed = await gw.get("/admin/api/keys", headers=signed.headers(csrf=None))
    assert (await listed.json())["data"] == []


async def test_the_csrf_token_of_another_session_is_refused(gw: TestClient) -> None:
    mine, theirs = await sign_in(gw), await sign_in(gw)
    response = await gw.post("/admin/api/keys", json={}, headers=mine.headers(csrf=theirs.csrf))
    assert response.status == 403


async def test_a_cross_origin_change_is_refused_even_with_the_token(gw: TestClient) -> None:
    signed = await sign_in(gw)
    response = await gw.post("/admin/api/keys", json={}, headers=signed.headers(origin="http://evil.example"))
    assert response.status == 403
    same = await gw.post("/admin/api/keys", json={}, headers=signed.headers(origin=f"http://{gw.host}:{gw.port}"))
    assert same.status == 201


async def test_signing_in_from_another_origin_is_refused(gw: TestClient) -> None:
    response = await gw.post("/admin/api/session", json={"key": MASTER}, headers={"origin": "http://evil.example"})
    assert response.status == 403
    assert "set-cookie" not in response.headers


async def test_a_tampered_session_cookie_is_refused(gw: TestClient) -> None:
    signed = await sign_in(gw)
    expires, nonce, mac = signed.cookie.split(".")
    signed.cookie = f"{int(expires) + 3600}.{nonce}.{mac}"
    assert (await gw.get("/admin/api/keys", headers=signed.headers(csrf=None))).status == 401


async def test_the_session_route_returns_the_csrf_token_to_a_reloaded_page(gw: TestClient) -> None:
    signed = await sign_in(gw)
    response = await gw.get("/admin/api/session", headers=signed.headers(csrf=None))
    assert response.status == 200
    assert (await response.json())["csrf_token"] == signed.csrf
    assert (await gw.get("/admin/api/session")).status == 401


async def test_a_session_expires_after_ui_session_hours(tmp_path: Path) -> None:
    async with serve(settings(tmp_path, ui={"session_hours": 1 / 3600})) as client:  # one second
        signed = await sign_in(client)
        assert (await client.get("/admin/api/keys", headers=signed.headers(csrf=None))).status == 200
        await asyncio.sleep(2.1)
        assert (await client.get("/admin/api/keys", headers=signed.headers(csrf=None))).status == 401


async def test_signing_out_ends_the_session_and_clears_the_cookie(gw: TestClient) -> None:
    signed = await sign_in(gw)
    response = await gw.delete("/admin/api/session", headers=signed.headers())
    assert response.status == 200
    cleared = SimpleCookie(response.headers["set-cookie"])[COOKIE]
    assert cleared.value == "" and cleared["path"] == "/admin/api"
    assert (await gw.get("/admin/api/keys", headers=signed.headers(csrf=None))).status == 401


async def test_signing_out_needs_the_csrf_token(gw: TestClient) -> None:
    signed = await sign_in(gw)
    assert (await gw.delete("/admin/api/session", headers=signed.headers(csrf=None))).status == 403
    assert (await gw.get("/admin/api/keys", headers=signed.headers(csrf=None))).status == 200


async def test_the_master_key_still_works_as_a_bearer_token_without_csrf(gw: TestClient) -> None:
    response = await gw.post("/admin/api/keys", json={}, headers={"authorization": f"Bearer {MASTER}"})
    assert response.status == 201


async def test_a_wrong_bearer_token_is_refused_even_beside_a_valid_session(gw: TestClient) -> None:
    signed = await sign_in(gw)
    response = await gw.get("/admin/api/keys", headers=signed.headers(csrf=None, authorization="Bearer nope"))
    assert response.status == 401


async def test_sessions_need_keys_mode_with_a_master_key(tmp_path: Path) -> None:
    async with serve({**settings(tmp_path), "auth": {"mode": "open"}}) as client:
        response = await client.post("/admin/api/session", json={"key": MASTER})
        assert response.status == 403
        assert (await response.json())["error"]["code"] == "admin_disabled"


async def test_with_the_panel_disabled_no_session_can_be_had(tmp_path: Path) -> None:
    async with serve(settings(tmp_path, ui={"enabled": False})) as client:
        assert (await client.post("/admin/api/session", json={"key": MASTER})).status == 403
        assert (await client.get("/ui/")).status == 404


# --- the playground key -------------------------------------------------------------------------
async def playground_key(client: TestClient, signed: Signed) -> tuple[int, dict[str, Any]]:
    response = await client.post("/admin/api/session/playground-key", headers=signed.headers())
    return response.status, await response.json()


async def test_a_session_gets_a_limited_playground_key_expiring_with_it(gw: TestClient) -> None:
    signed = await sign_in(gw)
    status, key = await playground_key(gw, signed)
    assert status == 201
    assert key["rpm"] == 60 and key["max_concurrent"] == 4
    assert key["expires_at"] == int(signed.cookie.split(".")[0])
    chat = await gw.post("/v1/chat/completions", json=CHAT, headers={"authorization": f"Bearer {key['key']}"})
    assert chat.status == 200


async def test_asking_again_rotates_the_same_playground_key(gw: TestClient) -> None:
    signed = await sign_in(gw)
    _, first = await playground_key(gw, signed)
    status, second = await playground_key(gw, signed)
    assert status == 200 and second["id"] == first["id"] and second["key"] != first["key"]
    old = await gw.post("/v1/chat/completions", json=CHAT, headers={"authorization": f"Bearer {first['key']}"})
    assert old.status == 401


async def test_signing_out_revokes_the_playground_key(gw: TestClient) -> None:
    signed = await sign_in(gw)
    _, key = await playground_key(gw, signed)
    await gw.delete("/admin/api/session", headers=signed.headers())
    chat = await gw.post("/v1/chat/completions", json=CHAT, headers={"authorization": f"Bearer {key['key']}"})
    assert chat.status == 401


async def test_the_playground_key_needs_a_session_and_its_csrf_token(gw: TestClient) -> None:
    signed = await sign_in(gw)
    assert (await gw.post("/admin/api/session/playground-key",
                          headers={"authorization": f"Bearer {MASTER}"})).status == 401
    assert (await gw.post("/admin/api/session/playground-key", headers=signed.headers(csrf=None))).status == 403


async def test_the_openapi_document_describes_sessions_and_models(gw: TestClient) -> None:
    spec = await (await gw.get("/admin/api/openapi.json")).json()
    assert {"post", "get", "delete"} <= set(spec["paths"]["/admin/api/session"])
    assert "/admin/api/session/playground-key" in spec["paths"]
    assert "/admin/api/models" in spec["paths"]
    assert spec["components"]["securitySchemes"]["sessionCookie"] == {
        "type": "apiKey", "in": "cookie", "name": COOKIE,
        "description": spec["components"]["securitySchemes"]["sessionCookie"]["description"]}
