"""Every route of the application, flooded with secrets, leaks none of them anywhere an operator or a
client can read: the process log (access lines, warnings, tracebacks), the ledger's database rows, the
error bodies and headers, and every other sink in SINKS (add /metrics and the like there).

The routes are the application's own router, enumerated, so a route added later is flooded too. Each
is called with every credential variant (the master key, a wrong key, a virtual key, in every header a
client may put one) and, for the methods with a body, every body variant: JSON with credentials in the
fields clients put them in and the gateway's own secrets in its content, for models that answer, that
fail upstream echoing the key they were sent, that time out, and that do not exist; JSON that does not
parse; a multipart form. Query strings carry credentials on every call, and path parameters secrets.
All of it with `logging.bodies` off and on, in keys mode with every store on.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from llmswitch.app import build_app
from llmswitch.config import parse_config
from tests.e2e.test_secrets import echo_app, leaks, threaded_app
from tests.support.fake import fake_directive
from tests.support.processes import Process, start_fake_upstream, start_gateway

MASTER = "master-Fl00d-7c1d9e"
SERVER_SECRET = "server-Fl00d-secret-42ab"
CONFIGURED = "cfg-Fl00d-up5tr3am"  # the echo upstream's key, of no known shape
FAKE_KEY = "cfg-Fl00d-f4k3-up"  # the fake upstream's
CLIENT_SECRET = "client-Fl00d-n0t-a-key"  # a credential the gateway never held, in credential positions
SHAPED = "sk-proj-" + "Fl00dAb3dEf6hIj9lMn2pQr5tUv8xYz1"  # a key of a known format, likewise
HELD = (MASTER, SERVER_SECRET, CONFIGURED, FAKE_KEY)  # the gateway's own: found nowhere, wherever sent
pytestmark = pytest.mark.timeout(600)  # the flood is a few thousand requests; a loaded machine is slow
MODELS = ("ok", "slow", "echo-message", "echo-url", "echo-stream-late", "echo-text", MASTER, SHAPED)


@dataclass
class Flooded:
    """A gateway after the flood: what it answered, and what it keeps."""

    process: Process
    workdir: Path
    errors: list[str] = field(default_factory=list)  # status, headers and body of every error answer
    minted: list[str] = field(default_factory=list)  # keys the admin routes created during the flood
    virtual: str = ""

    def secrets(self) -> list[str]:
        return [*HELD, CLIENT_SECRET, SHAPED, self.virtual, *self.minted]


def gateway_config(fake: str, echo: str, bodies: bool) -> dict[str, Any]:
    return {
        "auth": {"master_key": MASTER, "secret": SERVER_SECRET},
        "database_url": "sqlite:///gw.db",
        "logging": {"bodies": bodies},
        "compat": {"allow_client_upstream_keys": True},  # openai_api_key goes upstream, and may come back
        "responses": {"store": "database"},
        "routing": {"circuit_failures": 100_000},
        # responses_api: false: the gateway translates the Responses API and keeps the responses itself
        "providers": {"fake": {"type": "openai", "base_url": f"{fake}/v1", "api_keys": [FAKE_KEY],
                               "responses_api": False},
                      "echo": {"type": "openai", "base_url": f"{echo}/v1", "api_keys": [CONFIGURED]}},
        "models": {"ok": [{"provider": "fake", "model": "gpt-4o"}], "slow": [{"provider": "fake"}],
                   **{f"echo-{shape}": [{"provider": "echo", "model": shape}]
                      for shape in ("message", "url", "stream-late", "text")}},
    }


# --- the flood -----------------------------------------------------------------------------------
def routes(config: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(method, route, path) of every route the application serves, the path's parameters secrets."""
    app = build_app(parse_config(json.dumps(config)))
    found = set()
    for route in app.router.routes():
        canonical = route.resource.canonical if route.resource is not None else ""
        for secret in ((MASTER, SHAPED) if "{" in canonical else (MASTER,)):
            found.add((route.method, canonical, re.sub(r"\{[^}]+\}", lambda _: quote(secret), canonical)))
    return sorted(found)


def credentials(virtual: str) -> list[tuple[bool, dict[str, str]]]:
    """(accepted, headers): the master key, a wrong key, a virtual key, a wrong scheme; secrets in every
    other header a client may send."""
    stuffed = {"cookie": f"llmswitch_session={CLIENT_SECRET}; other={SHAPED}", "api-key": CLIENT_SECRET,
               "x-goog-api-key": SHAPED, "x-request-id": SHAPED, "user-agent": f"flood/{MASTER}",
               "openai-organization": CLIENT_SECRET, "x-llmswitch-timeout-ms": "3000"}
    return [(True, {"authorization": f"Bearer {MASTER}", **stuffed}),
            (False, {"authorization": f"Bearer {CLIENT_SECRET}", "x-api-key": SHAPED, **stuffed}),
            (True, {"x-api-key": virtual, "anthropic-version": "2023-06-01", **stuffed}),
            (False, {"authorization": f"Basic {CLIENT_SECRET}", "x-request-id": MASTER})]


def content(model: str) -> str:
    """What the client says: the gateway's own secrets in it (the slow model: a directive to hang)."""
    if model == "slow":
        return fake_directive(hang_s=5)  # the 3 s timeout header runs out first
    return f"tell me about {MASTER} and {SERVER_SECRET}"


def loaded(model: str) -> dict[str, Any]:
    """A body with every field any route reads, and the credential fields clients send."""
    text = content(model)
    return {"model": model, "messages": [{"role": "user", "content": text}], "input": text, "prompt": text,
            "max_tokens": 16, "voice": "alloy", "stream": model.startswith("echo-stream"), "store": True,
            "user": MASTER, "metadata": {"note": MASTER}, "security_key": CLIENT_SECRET,
            "openai_api_key": SHAPED, "api_key": CLIENT_SECRET, "name": "flood", "provider": "fake",
            "timeout": 3000}


def proper(path: str, model: str) -> dict[str, Any] | None:
    """A body the route accepts, so that the flood reaches its upstream, its records and its stores."""
    text, stream = content(model), model.startswith("echo-stream")
    messages = [{"role": "user", "content": text}]
    compat = {"security_key": MASTER, "openai_api_key": SHAPED, "timeout": 3000}
    bodies = {
        "/chat/completions": {"model": model, "messages": messages, "stream": stream, "user": MASTER},
        "/messages": {"model": model, "max_tokens": 16, "messages": messages, "stream": stream,
                      "metadata": {"user_id": MASTER}},
        "/messages/count_tokens": {"model": model, "messages": messages},
        "/embeddings": {"model": model, "input": text, "user": MASTER},
        "/responses": {"model": model, "input": text, "store": True, "stream": stream, "user": MASTER,
                       "metadata": {"note": MASTER}, "instructions": f"never say {SERVER_SECRET}"},
        "/responses/compact": {"model": model, "input": text},
        "/responses/input_tokens": {"model": model, "input": text},
        "/audio/speech": {"model": model, "input": text, "voice": "alloy"},
        "/openai": {"model": model, "messages": messages, **compat},
        "/chatgpt": {"model": model, "prompt": text, **compat},
        "/admin/api/keys": {"name": "flood", "metadata": {"note": "flood"}},
        "/admin/api/upstream-keys": {"provider": "echo", "api_key": CLIENT_SECRET},
        "/admin/api/session": {"key": MASTER},
    }
    for suffix, body in bodies.items():
        if path == suffix or path.endswith("/v1" + suffix) or (suffix == "/embeddings" and path == suffix):
            return body
    return None


def multipart(security_key: str) -> tuple[bytes, str]:
    boundary = "flood" + uuid.uuid4().hex
    fields = [("security_key", security_key), ("openai_api_key", SHAPED), ("model", "ok"),
              ("prompt", MASTER), ("api_key", CLIENT_SECRET)]
    out = b""
    for name, value in fields:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    out += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{MASTER}.wav"\r\n'
            f"Content-Type: audio/wav\r\n\r\n").encode() + b"RIFF" + b"\0" * 64 + f"\r\n--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


def bodies(path: str) -> list[tuple[bytes, str]]:
    """Every body variant: the route's own for every model, a loaded one, broken JSON, the forms."""
    found = [(json.dumps(loaded(model)).encode(), "application/json") for model in ("ok", MASTER)]
    for model in MODELS:
        body = proper(path, model)
        if body is not None:
            found.append((json.dumps(body).encode(), "application/json"))
    broken = b'{"security_key": "' + CLIENT_SECRET.encode() + b'", "model": "' + MASTER.encode() + b'", '
    return [*found, (broken, "application/json"), multipart(CLIENT_SECRET), multipart(MASTER)]


def send(url: str, method: str, headers: dict[str, str], body: bytes | None,
         content_type: str | None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method=method,
                                     headers={**headers, **({"content-type": content_type} if content_type else {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def flood(gateway: Flooded, config: dict[str, Any]) -> None:
    query = "?" + urlencode({"key": CLIENT_SECRET, "api_key": SHAPED, "security_key": CLIENT_SECRET,
                             "token": MASTER, "beta": "true"})
    for method, route, path in routes(config):
        variants = bodies(path) if method in ("POST", "PATCH", "PUT") else [(None, None)]
        for accepted, headers in credentials(gateway.virtual):
            for body, content_type in variants if accepted else variants[:1]:  # refused: one body is enough
                status, answered, text = send(gateway.process.url + path + query, method, headers, body, content_type)
                if status >= 400:
                    gateway.errors.append(f"{status} {method} {route}\n{json.dumps(answered)}\n"
                                          + text.decode(errors="replace"))
                elif path.startswith("/admin/api") and text.startswith(b"{"):
                    minted = json.loads(text).get("key")
                    if isinstance(minted, str):
                        gateway.minted.append(minted)


@pytest.fixture(scope="module", params=[False, True], ids=["bodies-off", "bodies-on"])
def flooded(request: pytest.FixtureRequest) -> Iterator[Flooded]:
    with start_fake_upstream(name="flood-fake") as fake, threaded_app(echo_app()) as echo:
        config = gateway_config(fake.url, echo, request.param)
        with start_gateway(config) as process:
            gateway = Flooded(process, process.log_path.parent)
            status, _, text = send(f"{process.url}/admin/api/keys", "POST", {"authorization": f"Bearer {MASTER}"},
                                   b'{"name": "flood"}', "application/json")
            assert status == 201, text
            gateway.virtual = json.loads(text)["key"]
            flood(gateway, config)
            yield gateway


# --- where secrets must not be found -------------------------------------------------------------
def log_text(gateway: Flooded) -> str:
    return gateway.process.log()


def ledger_rows(gateway: Flooded) -> str:
    """Every row of the ledger's tables: usage records, stored responses and their items."""
    with sqlite3.connect(gateway.workdir / "gw.db") as database:
        return "\n".join(repr(row) for table in ("usage_records", "responses", "response_items")
                         for row in database.execute(f"SELECT * FROM {table}"))  # noqa: S608 (fixed names)


def error_answers(gateway: Flooded) -> str:
    return "\n".join(gateway.errors)


def metrics_page(gateway: Flooded) -> str:
    """`GET /metrics` after the flood (its per-address throttle, spent by the flood, given time to refill)."""
    deadline = time.monotonic() + 30
    while True:
        status, _, page = send(f"{gateway.process.url}/metrics", "GET", {}, None, None)
        if status == 200 or time.monotonic() > deadline:
            assert status == 200, page
            return page.decode()
        time.sleep(0.5)


SINKS: dict[str, Callable[[Flooded], str]] = {"log": log_text, "ledger": ledger_rows, "errors": error_answers,
                                              "metrics": metrics_page}


def test_the_flood_reached_every_kind_of_outcome(flooded: Flooded) -> None:
    statuses = {int(error.split(" ", 1)[0]) for error in flooded.errors}
    assert {400, 401, 403, 404, 504} <= statuses  # refusals, a timeout, upstream failures echoing keys...
    assert '"logger":"llmswitch.access"' in log_text(flooded)
    assert ledger_rows(flooded).count("\n") > 50  # ...and answers, recorded


@pytest.mark.parametrize("sink", SINKS)
def test_no_secret_reaches_the_sink(flooded: Flooded, sink: str) -> None:
    text = SINKS[sink](flooded)
    assert text
    found = leaks(text, flooded.secrets())
    if found:  # say where, so that the leak can be fixed
        where = [line[:400] for line in text.splitlines() if any(s[:12] in line for s in found)][:5]
        pytest.fail(f"{sink} holds {found}:\n" + "\n".join(where))
