"""No secret leaves the gateway: upstream error text that echoes a credential reaches neither the
client (body, headers, `attempts`) nor the process log, and no client credential reaches an upstream.

The matrix: every place a credential comes from (a configured key sent as a bearer token, a key
stored through the admin API, an Anthropic `x-api-key`, a Gemini `x-goog-api-key`) times every
way an upstream can echo it (in the error message, in a nested error field with no message, in a
body that is not JSON, in a URL's `?key=`, in a stream's error event before or after content),
asked from both client dialects. The upstream is a scripted server that echoes whatever
credential it received, the gateway a real process in keys mode.
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web

from tests.support.fake import received
from tests.support.processes import Process, start_fake_upstream, start_gateway
from tests.support.servers import serve_app

MASTER = "master-Kx7-0f3e9d2c1b"
SERVER_SECRET = "server-secret-Qw3-88af"
CONFIGURED = "cfg-Zq81-p4s5w0rd"  # no known key shape: only the value net catches it
STORED = "stored-Hn62-v4lu3x"  # likewise
ANTHROPIC = "sk-ant-api03-" + "Ab3dEf6hIj9lMn2pQr5tUv8xYz1bCd4fGh7jKl0nOp3rSt6vWx9z"
GEMINI = "AIzaSy" + "Bq7Cx2Dw9Ev4Fu1Gt8Hs5Jr3Kq6Lp0Mo7N"
PASSTHROUGH = "client-own-Rt55-k3y"
UPSTREAM_SECRETS = {"configured": CONFIGURED, "stored": STORED, "anthropic": ANTHROPIC, "gemini": GEMINI}
SHAPES = ("message", "nested", "text", "url", "stream-first", "stream-late")
SOURCES = tuple(UPSTREAM_SECRETS)
CLIENTS = ("openai", "anthropic")


# --- an upstream that echoes the credential it was sent --------------------------------------
def _credential(request: web.Request) -> str:
    """What the caller authenticated with, as an upstream would quote it back."""
    headers = request.headers
    if "authorization" in headers:
        return headers["authorization"]  # "Bearer <key>", as OpenAI's own message quotes it
    return headers.get("x-api-key") or headers.get("x-goog-api-key") or request.query.get("key", "")


def _key(request: web.Request) -> str:
    return _credential(request).removeprefix("Bearer ")


def _sse(frames: list[tuple[str | None, dict[str, Any]]]) -> bytes:
    out = b""
    for event, data in frames:
        out += (f"event: {event}\n".encode() if event else b"") + b"data: " + json.dumps(data).encode() + b"\n\n"
    return out


def _error_json(dialect: str, shape: str, request: web.Request) -> dict[str, Any]:
    credential, key = _credential(request), _key(request)
    if shape == "nested":  # no message at all: only nested fields, which some readers print whole
        if dialect == "gemini":
            return {"error": {"code": 400, "status": "INVALID_ARGUMENT", "details": [
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "metadata": {"key": key}}]}}
        if dialect == "anthropic":
            return {"type": "error", "error": {"type": "invalid_request_error", "details": {"api_key": key}}}
        return {"error": {"type": "invalid_request_error", "param": None, "details": [{"credential": credential}]}}
    message = (f"Incorrect API key provided: {credential}" if shape == "message" else
               f"Could not fetch https://generativelanguage.googleapis.com/v1beta/models/m:generateContent"
               f"?alt=sse&key={key} (upstream said no)")
    if dialect == "gemini":
        return {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}
    if dialect == "anthropic":
        return {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
    return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}}


def _stream(dialect: str, shape: str, request: web.Request) -> tuple[bytes, bytes]:
    """The stream's frames up to the error, and the error frame (sent apart, so that the content
    before it reaches the client first in `stream-late`)."""
    message = f"Stream failed for key {_key(request)}; credential was {_credential(request)}"
    content = shape == "stream-late"
    if dialect == "anthropic":
        start = [("message_start", {"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}}})]
        if content:
            start += [("content_block_start", {"type": "content_block_start", "index": 0,
                                               "content_block": {"type": "text", "text": ""}}),
                      ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                               "delta": {"type": "text_delta", "text": "partial"}})]
        return _sse(start), _sse([("error", {"type": "error", "error": {"type": "overloaded_error",
                                                                         "message": message}})])
    if dialect == "gemini":
        chunk = {"candidates": [{"content": {"role": "model", "parts": [{"text": "partial"}]}, "index": 0}]}
        error = {"error": {"code": 500, "message": message, "status": "INTERNAL"}}
    else:
        chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [
            {"index": 0, "delta": {"role": "assistant", "content": "partial"}, "finish_reason": None}]}
        error = {"error": {"message": message, "type": "server_error", "param": None, "code": None}}
    return _sse([(None, chunk)] if content else []), _sse([(None, error)])


def echo_app() -> web.Application:
    """OpenAI, Anthropic and Gemini endpoints that fail in the way the model name says (a SHAPE),
    echoing the credential they were sent; `ok` answers a count_tokens."""

    def handler(dialect: str) -> Any:
        async def handle(request: web.Request) -> web.StreamResponse:
            body = await request.json()
            shape = request.match_info.get("model") or body.get("model", "")
            if shape == "text":
                return web.Response(status=502, text=f"502 Bad Gateway. Bad credential: {_credential(request)}")
            if shape.startswith("stream-"):
                before, error = _stream(dialect, shape, request)
                response = web.StreamResponse(headers={"content-type": "text/event-stream"})
                await response.prepare(request)
                if before:
                    await response.write(before)
                    await asyncio.sleep(0.05)
                await response.write(error)
                await response.write_eof()
                return response
            return web.json_response(_error_json(dialect, shape, request), status=400)
        return handle

    app = web.Application()
    app.router.add_post("/v1/chat/completions", handler("openai"))
    app.router.add_post("/v1/messages", handler("anthropic"))
    app.router.add_post("/v1beta/models/{model}:{method}", handler("gemini"))
    return app


@contextmanager
def threaded_app(app: web.Application) -> Iterator[str]:
    """Serve APP from its own thread and event loop, so synchronous tests can call through it."""
    loop = asyncio.new_event_loop()
    ready: list[str] = []
    started, stop = threading.Event(), asyncio.Event()

    async def main() -> None:
        async with serve_app(app) as url:
            ready.append(url)
            started.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield ready[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


# --- the gateway ---------------------------------------------------------------------------------
def http(method: str, url: str, body: Any = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, dict(response.headers), response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode(errors="replace")


def keys_config(**extra: Any) -> dict[str, Any]:
    return {"auth": {"master_key": MASTER, "secret": SERVER_SECRET}, "database_url": "sqlite:///gw.db",
            "routing": {"circuit_failures": 1000}, **extra}


@dataclass
class Gateway:
    process: Process
    client_key: str

    def secrets(self) -> list[str]:
        return [*UPSTREAM_SECRETS.values(), MASTER, SERVER_SECRET, self.client_key]


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    with threaded_app(echo_app()) as upstream:
        providers = {
            "configured": {"type": "openai", "base_url": f"{upstream}/v1", "api_keys": [CONFIGURED]},
            "stored": {"type": "openai", "base_url": f"{upstream}/v1"},
            "anthropic": {"type": "anthropic", "base_url": upstream, "api_keys": [ANTHROPIC]},
            "gemini": {"type": "gemini", "base_url": f"{upstream}/v1beta", "api_keys": [GEMINI]},
        }
        models = {f"{source}-{shape}": [{"provider": source, "model": shape}]
                  for source in SOURCES for shape in SHAPES}
        with start_gateway(keys_config(providers=providers, models=models)) as process:
            admin = {"authorization": f"Bearer {MASTER}"}
            status, _, text = http("POST", f"{process.url}/admin/api/upstream-keys",
                                   {"provider": "stored", "api_key": STORED}, admin)
            assert status == 201, text
            status, _, text = http("POST", f"{process.url}/admin/api/keys", {"name": "client"}, admin)
            assert status == 201, text
            yield Gateway(process, json.loads(text)["key"])


def leaks(text: str, secrets: list[str]) -> list[str]:
    """Secrets of which any 12 consecutive characters appear in TEXT (a cut-off key still leaks)."""
    return [s for s in secrets if any(s[i:i + 12] in text for i in range(len(s) - 11))]


def ask(url: str, client: str, model: str, stream: bool, key: str) -> tuple[int, dict[str, str], str]:
    auth = {"authorization": f"Bearer {key}"}
    messages = [{"role": "user", "content": "hello"}]
    if client == "anthropic":
        return http("POST", f"{url}/v1/messages", {"model": model, "max_tokens": 32, "messages": messages,
                                                   "stream": stream}, auth)
    return http("POST", f"{url}/v1/chat/completions", {"model": model, "messages": messages, "stream": stream}, auth)


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("source", SOURCES)
def test_an_upstream_echoing_its_credential_reveals_it_to_no_client_and_no_log(
        gateway: Gateway, source: str, shape: str, client: str) -> None:
    status, headers, body = ask(gateway.process.url, client, f"{source}-{shape}", shape.startswith("stream"),
                                gateway.client_key)
    assert status >= 400 or "error" in body  # the upstream's failure did reach the client...
    seen = body + "\n" + "\n".join(f"{name}: {value}" for name, value in headers.items())
    assert leaks(seen, gateway.secrets()) == []  # ...without any credential in it
    assert leaks(gateway.process.log(), gateway.secrets()) == []


def test_the_upstreams_own_words_survive_the_scrubbing(gateway: Gateway) -> None:
    status, _, body = ask(gateway.process.url, "openai", "configured-message", False, gateway.client_key)
    message = json.loads(body)["error"]["message"]
    assert status == 400 and message.startswith("Incorrect API key provided: Bearer ")
    assert "[redacted]" in message


def test_attempts_list_the_failure_with_its_reason_scrubbed(gateway: Gateway) -> None:
    status, _, body = ask(gateway.process.url, "openai", "gemini-url", False, gateway.client_key)
    attempts = json.loads(body)["error"]["attempts"]
    assert status == 400 and len(attempts) == 1
    assert "key=[redacted]" in attempts[0]["reason"]


def test_passthrough_keeps_the_clients_own_key_out_of_the_error_it_gets_back() -> None:
    with threaded_app(echo_app()) as upstream:
        config = {"auth": {"mode": "passthrough"},
                  "providers": {"up": {"type": "openai", "base_url": f"{upstream}/v1"}},
                  "models": {shape: [{"provider": "up"}] for shape in SHAPES}}
        with start_gateway(config) as process:
            for shape in SHAPES:
                status, headers, body = ask(process.url, "openai", shape, shape.startswith("stream"), PASSTHROUGH)
                assert leaks(body + json.dumps(headers), [PASSTHROUGH]) == [], shape
            assert leaks(process.log(), [PASSTHROUGH]) == []


# --- what reaches an upstream --------------------------------------------------------------------
def test_no_client_credential_reaches_any_kind_of_upstream() -> None:
    with start_fake_upstream(name="recorder") as fake:
        providers = {
            "oa": {"type": "openai", "base_url": f"{fake.url}/v1", "api_keys": [CONFIGURED]},
            "an": {"type": "anthropic", "base_url": fake.url, "api_keys": [ANTHROPIC]},
            "ge": {"type": "gemini", "base_url": f"{fake.url}/v1beta", "api_keys": [GEMINI]},
        }
        models = {kind: [{"provider": kind}] for kind in providers}
        with start_gateway(keys_config(providers=providers, models=models)) as process:
            admin = {"authorization": f"Bearer {MASTER}"}
            _, _, text = http("POST", f"{process.url}/admin/api/keys", {"name": "client"}, admin)
            client_key = json.loads(text)["key"]
            for kind in providers:
                for client in CLIENTS:
                    for key in (client_key, MASTER):
                        marker = f"marker-{kind}-{client}-{key == MASTER}"
                        path = "/v1/messages" if client == "anthropic" else "/v1/chat/completions"
                        query = f"?beta=true&key={key}&api_key={key}&x-goog-api-key={key}"
                        body: dict[str, Any] = {"model": kind, "messages": [{"role": "user", "content": marker}]}
                        if client == "anthropic":
                            body["max_tokens"] = 16
                        status, _, answer = http("POST", f"{process.url}{path}{query}", body,
                                                 {"authorization": f"Bearer {key}", "x-api-key": key,
                                                  "x-goog-api-key": key})
                        assert status == 200, answer
                        [sent] = received(fake.url, marker)
                        assert leaks(json.dumps(sent), [client_key, MASTER]) == [], (kind, client)
            [anthropic_call] = received(fake.url, "marker-an-anthropic-False")
            assert anthropic_call["query"] == {"beta": "true"}  # what is not a credential still goes


# --- what may be stored --------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["sk-a\x00b-0001", "sk-0001\r\nx-evil: 1", "sk-0001\n", "sk-\t0001", "sk-\x1b0001",
                                   ""])
def test_a_stored_upstream_key_that_cannot_be_sent_in_a_header_is_refused(gateway: Gateway, value: str) -> None:
    admin = {"authorization": f"Bearer {MASTER}"}
    status, _, text = http("POST", f"{gateway.process.url}/admin/api/upstream-keys",
                           {"provider": "stored", "api_key": value}, admin)
    error = json.loads(text)["error"]
    assert (status, error["param"]) == (400, "api_key")
    assert error["message"].startswith("api_key: ")
    _, _, listing = http("GET", f"{gateway.process.url}/admin/api/upstream-keys", None, admin)
    assert len(json.loads(listing)["data"]) == 1  # only the fixture's own key
