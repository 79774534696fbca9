"""Every error the gateway makes itself carries the `error.type` the client's own API sends for its
status: Anthropic's documented type per status on Anthropic routes, OpenAI's on OpenAI routes."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import openai
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from llmswitch.surfaces.wire import ANTHROPIC, OPENAI
from llmswitch.web.middleware import RouteWires
from tests.support.processes import Process, start_gateway

MASTER = "sk-master-dialects"
# Anthropic's errors page: one type per status, invalid_request_error for any other 4xx.
ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                   404: "not_found_error", 405: "invalid_request_error", 413: "request_too_large",
                   429: "rate_limit_error"}
# What api.openai.com sends: invalid_request_error for every 4xx but 429 (a 401 bad key, a 403 model
# outside the project, a 404 unknown model or URL alike), rate_limit_error on 429.
OPENAI_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "invalid_request_error",
                404: "invalid_request_error", 405: "invalid_request_error", 413: "invalid_request_error",
                429: "rate_limit_error"}
Reply = tuple[int, dict[str, str], Any]


@pytest.fixture(scope="module")
def gateway() -> Iterator[Process]:
    config = {"server": {"max_body_mb": 0.01}, "auth": {"master_key": MASTER, "secret": "dialect-secret"},
              "database_url": "sqlite:///llmswitch.db", "providers": {"demo": {"type": "demo"}},
              "models": {"claude-x": [{"provider": "demo"}], "gpt-4o": [{"provider": "demo"}]}}
    with start_gateway(config) as process:
        yield process


def call(gateway: Process, method: str, path: str, body: Any = None, key: str | None = MASTER) -> Reply:
    headers = {"content-type": "application/json"}
    if key:
        headers["authorization"] = f"Bearer {key}"
    data = body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(gateway.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def new_key(gateway: Process, **fields: Any) -> str:
    status, _, key = call(gateway, "POST", "/admin/api/keys", fields)
    assert status == 201
    return str(key["key"])


def body_for(path: str, model: str) -> dict[str, Any]:
    if path.endswith("/messages"):
        return {"model": model, "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    return {"model": model, "messages": [{"role": "user", "content": "hi"}]}


# Each case provokes one status from the gateway itself on the route PATH.
def bad_body(gateway: Process, path: str) -> Reply:
    return call(gateway, "POST", path, {"model": "claude-x"})


def no_key(gateway: Process, path: str) -> Reply:
    return call(gateway, "POST", path, body_for(path, "claude-x"), key=None)


def model_not_allowed(gateway: Process, path: str) -> Reply:
    return call(gateway, "POST", path, body_for(path, "claude-x"), key=new_key(gateway, models=["gpt-4o"]))


def unknown_model(gateway: Process, path: str) -> Reply:
    return call(gateway, "POST", path, body_for(path, "no-such-model"))


def unknown_route(gateway: Process, path: str) -> Reply:
    return call(gateway, "POST", path + "/no-such-thing", {})


def wrong_method(gateway: Process, path: str) -> Reply:
    return call(gateway, "GET", path)


def body_too_large(gateway: Process, path: str) -> Reply:
    return call(gateway, "POST", path, {**body_for(path, "claude-x"), "padding": "x" * 20_000})


def rate_limited(gateway: Process, path: str) -> Reply:
    key = new_key(gateway, rpm=1)
    call(gateway, "POST", path, body_for(path, "claude-x"), key=key)
    return call(gateway, "POST", path, body_for(path, "claude-x"), key=key)


CASES: list[tuple[Callable[[Process, str], Reply], int]] = [
    (bad_body, 400), (no_key, 401), (model_not_allowed, 403), (unknown_model, 404), (unknown_route, 404),
    (wrong_method, 405), (body_too_large, 413), (rate_limited, 429)]


@pytest.mark.parametrize(("provoke", "status"), CASES, ids=[case.__name__ for case, _ in CASES])
def test_an_anthropic_route_names_each_status_with_anthropics_documented_type(
        gateway: Process, provoke: Callable[[Process, str], Reply], status: int) -> None:
    got, _, body = provoke(gateway, "/v1/messages")
    assert got == status
    assert body["type"] == "error" and body["error"]["type"] == ANTHROPIC_TYPES[status]


@pytest.mark.parametrize(("provoke", "status"), CASES, ids=[case.__name__ for case, _ in CASES])
def test_an_openai_route_names_each_status_with_the_type_openai_sends(
        gateway: Process, provoke: Callable[[Process, str], Reply], status: int) -> None:
    got, _, body = provoke(gateway, "/v1/chat/completions")
    assert got == status
    assert set(body["error"]) >= {"message", "type", "param", "code"}
    assert body["error"]["type"] == OPENAI_TYPES[status]


def test_the_anthropic_sdk_sees_an_unknown_model_as_not_found_error(gateway: Process) -> None:
    client = anthropic.Anthropic(base_url=gateway.url, api_key=MASTER, max_retries=0)
    with pytest.raises(anthropic.NotFoundError) as raised:
        client.messages.create(model="no-such-model", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    assert raised.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]


def test_the_openai_sdk_sees_an_unknown_model_as_openai_reports_it(gateway: Process) -> None:
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=MASTER, max_retries=0)
    with pytest.raises(openai.NotFoundError) as raised:
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}])
    assert (raised.value.type, raised.value.code, raised.value.param) == (
        "invalid_request_error", "model_not_found", "model")


@pytest.mark.parametrize(("method", "path"), [("POST", "/v1/foo"), ("GET", "/api/v1/nothing/here"),
                                              ("POST", "/v1/messages/batches/x"), ("DELETE", "/nowhere")])
def test_an_unknown_route_is_a_404_naming_method_and_path(gateway: Process, method: str, path: str) -> None:
    status, _, body = call(gateway, method, path, {} if method == "POST" else None)
    assert status == 404
    message = body["error"]["message"]
    assert message == f"Unknown route: {method} {path}"


@pytest.mark.parametrize(("path", "dialect"), [("/v1/messages/batches/x", "anthropic"),
                                               ("/api/v1/messages/x", "anthropic"), ("/v1/messagesx", "openai"),
                                               ("/v1/chat/completions/x", "openai"), ("/v2/messages", "openai")])
def test_an_unknown_route_answers_in_the_dialect_of_the_route_it_extends(gateway: Process, path: str,
                                                                         dialect: str) -> None:
    _, _, body = call(gateway, "POST", path, {})
    assert ("type" in body and body["type"] == "error") == (dialect == "anthropic")


@pytest.mark.parametrize(("path", "allowed", "anthropic_shape"), [
    ("/v1/messages", "POST", True), ("/v1/chat/completions", "POST", False), ("/v1/models", "GET, HEAD", False)])
def test_a_wrong_method_is_a_405_with_allow_in_the_routes_dialect(gateway: Process, path: str, allowed: str,
                                                                  anthropic_shape: bool) -> None:
    status, headers, body = call(gateway, "PUT", path, {})
    assert status == 405
    assert headers["allow"] == allowed
    message = body["error"]["message"]
    assert "PUT" in message and path in message
    assert (body.get("type") == "error") == anthropic_shape


@pytest.mark.parametrize(("path", "anthropic_shape"), [("/v1/responses", False), ("/v1/messages", True)])
def test_a_websocket_handshake_on_a_post_route_is_a_426_that_says_to_post_it(gateway: Process, path: str,
                                                                             anthropic_shape: bool) -> None:
    headers = {"connection": "Upgrade", "upgrade": "websocket", "sec-websocket-version": "13",
               "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "authorization": f"Bearer {MASTER}"}
    request = urllib.request.Request(gateway.url + path, method="GET", headers=headers)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=20)
    assert refused.value.code == 426
    assert refused.value.headers["upgrade"] == "HTTP/1.1"
    body = json.loads(refused.value.read())
    assert f"POST {path}" in body["error"]["message"]
    assert (body.get("type") == "error") == anthropic_shape


def test_a_plain_get_on_a_post_route_is_still_a_405(gateway: Process) -> None:
    assert call(gateway, "GET", "/v1/responses")[0] == 405


async def test_a_routes_dialect_is_the_one_registered_with_it_whatever_its_path() -> None:
    dialects = RouteWires()

    @web.middleware
    async def dialect_of_every_answer(request: web.Request, handler: Any) -> web.StreamResponse:
        return web.Response(text=dialects.of(request).dialect)

    async def never_reached(request: web.Request) -> web.Response:
        raise AssertionError("the middleware answers first")

    app = web.Application(middlewares=[dialect_of_every_answer])
    dialects.add(app.router, "POST", "/v1/threads/{thread_id}/messages", never_reached, OPENAI)
    dialects.add(app.router, "POST", "/v1/messages", never_reached, ANTHROPIC)
    async with TestClient(TestServer(app)) as client:
        assert await (await client.post("/v1/threads/t1/messages")).text() == "openai"
        assert await (await client.post("/v1/messages")).text() == "anthropic"
        assert await (await client.get("/v1/messages")).text() == "anthropic"  # 405: by the path it is on
