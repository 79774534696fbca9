"""The app layer against careless and hostile clients, through real processes and raw sockets:
what the HTTP parser refuses, bodies that break or never finish, unusable request ids, half-sent
bodies filling the gateway, model ids decoded once, and who may read `/health/ready`'s detail."""

from __future__ import annotations

import http.client
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml

from llmswitch.config import ConfigError, parse_config
from tests.support.fake import fake_directive
from tests.support.processes import Process, start_fake_upstream, start_gateway

MASTER = "sk-master-hardening"
SECRET = b"sk-secret-in-the-request"
DEMO = {"providers": {"demo": {"type": "demo"}},
        "models": {"gpt-4o": [{"provider": "demo"}], "org/model-x": [{"provider": "demo"}],
                   "pct%2Fmodel": [{"provider": "demo"}]}}
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
MESSAGE = {"model": "gpt-4o", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}


def keys_config(database: Path, **server: Any) -> dict[str, Any]:
    return {**DEMO, "server": server, "auth": {"master_key": MASTER, "secret": "hardening-secret"},
            "database_url": f"sqlite:///{database}"}


@pytest.fixture(scope="module")
def gateway() -> Iterator[Process]:
    with start_gateway({**DEMO, "server": {"body_timeout_s": 1}}) as process:
        yield process


@pytest.fixture(scope="module")
def keys_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    with start_gateway(keys_config(tmp_path_factory.mktemp("keys") / "llmswitch.db")) as process:
        yield process


def exchange(port: int, *parts: bytes, pause_s: float = 0.0, timeout_s: float = 10.0
             ) -> tuple[int, dict[str, str], bytes]:
    """Send PARTS on one raw connection (PAUSE_S apart), then read the one answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
        for part in parts:
            sock.sendall(part)
            time.sleep(pause_s)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def post_head(path: str, *headers: bytes) -> bytes:
    return b"".join([f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n".encode(),
                     *(h + b"\r\n" for h in headers), b"\r\n"])


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


# --- what aiohttp's parser refuses ------------------------------------------------------------------
PARSER_REFUSALS = {
    "a request line that is not HTTP": b"GARBAGE " + SECRET + b"\r\n\r\n",
    "a malformed method": b"G@T /v1/models?key=" + SECRET + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "a header name with a space": b"GET /v1/models HTTP/1.1\r\nHost: x\r\nBad Header: " + SECRET + b"\r\n\r\n",
    "a control character in a header": b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Key: " + SECRET + b"\x01\r\n\r\n",
    "an oversized header": b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Key: " + SECRET + b"a" * 10_000 + b"\r\n\r\n",
    "too many headers": b"GET /v1/models HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(200))
                        + b"\r\n",
    "an oversized URL": b"GET /v1/" + SECRET + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "a bad chunk size": post_head("/v1/messages", b"Transfer-Encoding: chunked") + b"ZZ" + SECRET + b"\r\n",
    "a Content-Length that is no number": post_head("/v1/chat/completions", b"Content-Length: " + SECRET) + b"{}",
    "two Content-Lengths": post_head("/v1/chat/completions", b"Content-Length: 2", b"Content-Length: 3") + b"{}",
    "Content-Length with chunked": post_head("/v1/chat/completions", b"Content-Length: 2",
                                             b"Transfer-Encoding: chunked") + b"{}",
}


@pytest.mark.parametrize("raw", PARSER_REFUSALS.values(), ids=PARSER_REFUSALS.keys())
def test_what_the_http_parser_refuses_is_a_json_4xx_in_openai_shape_quoting_nothing(gateway: Process,
                                                                                    raw: bytes) -> None:
    status, headers, body = exchange(gateway.port, raw)
    assert 400 <= status < 500
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert set(error) >= {"message", "type", "param", "code"} and error["type"] == "invalid_request_error"
    assert SECRET not in body


def test_a_chunked_body_whose_framing_breaks_half_way_is_answered_in_the_routes_dialect(gateway: Process) -> None:
    status, _, body = exchange(gateway.port, post_head("/v1/messages", b"Transfer-Encoding: chunked"),
                               b'5\r\n{"a":\r\n', b"ZZ\r\n", pause_s=0.2)
    assert status == 408  # by the body deadline (server.body_timeout_s: 1): the parser leaves the body open
    assert json.loads(body)["type"] == "error"  # Anthropic's shape, for an Anthropic route


@pytest.mark.parametrize(("path", "anthropic_shape"), [("/v1/messages", True), ("/v1/chat/completions", False)])
def test_a_body_that_is_not_the_gzip_it_claims_is_a_400_in_the_routes_dialect(gateway: Process, path: str,
                                                                              anthropic_shape: bool) -> None:
    status, _, body = exchange(gateway.port, post_head(path, b"Content-Encoding: gzip", b"Content-Length: 9")
                               + b"not gzip!")
    answer = json.loads(body)
    assert status == 400 and (answer.get("type") == "error") == anthropic_shape
    assert "The request body is malformed" in answer["error"]["message"]


@pytest.mark.parametrize(("path", "anthropic_shape"), [("/v1/messages", True), ("/v1/chat/completions", False)])
def test_a_body_that_stops_arriving_is_a_408_in_the_routes_dialect(gateway: Process, path: str,
                                                                   anthropic_shape: bool) -> None:
    started = time.monotonic()
    status, _, body = exchange(gateway.port, post_head(path, b"Content-Length: 100") + b'{"model":')
    assert status == 408 and 0.9 < time.monotonic() - started < 5  # server.body_timeout_s: 1
    answer = json.loads(body)
    assert (answer.get("type") == "error") == anthropic_shape
    assert "did not arrive within 1 s" in json.dumps(answer)


def test_a_whole_body_is_read_however_slowly_it_comes_within_the_deadline(gateway: Process) -> None:
    body = json.dumps(CHAT).encode()
    status, _, answer = exchange(gateway.port, post_head("/v1/chat/completions", b"Content-Length: %d" % len(body)),
                                 body[:10], body[10:], pause_s=0.3)
    assert status == 200 and json.loads(answer)["choices"][0]["message"]["content"] == "You said: hi"


@pytest.mark.parametrize("value", [0, -1, "soon"])
def test_body_timeout_s_must_be_a_positive_number(value: Any) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(yaml.safe_dump({"server": {"body_timeout_s": value}}))
    assert "server.body_timeout_s" in str(raised.value.problems[0])


# --- request ids ------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [b"\xff\xfe-not-utf8", b"tab\there", b"r" * 101],
                         ids=["not UTF-8", "a control character", "longer than 100"])
def test_an_unusable_x_request_id_is_replaced_by_one_of_ours(gateway: Process, value: bytes) -> None:
    status, headers, _ = exchange(gateway.port, b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Request-Id: " + value
                                  + b"\r\n\r\n")
    assert status == 200 and headers["x-request-id"].startswith("req_")


def test_a_usable_x_request_id_is_kept(gateway: Process) -> None:
    _, headers, _ = exchange(gateway.port, b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Request-Id: client-7\r\n\r\n")
    assert headers["x-request-id"] == "client-7"


def test_an_error_for_a_request_with_a_non_utf8_id_is_json_naming_our_id(gateway: Process) -> None:
    status, headers, body = exchange(gateway.port, post_head("/v1/chat/completions", b"Content-Length: 2",
                                                             b"X-Request-Id: \xff\xfe") + b"{}")
    assert status == 400 and headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["request_id"] == headers["x-request-id"]


def test_one_request_with_a_non_utf8_id_costs_no_usage_row(tmp_path: Path) -> None:
    database = tmp_path / "usage.db"
    body = json.dumps(CHAT).encode()
    with start_gateway(keys_config(database)) as gateway:
        for i in range(101):
            request_id = b"\xff\xfe\xfd" if i == 50 else b"ok-%d" % i
            status, _, _ = exchange(gateway.port, post_head(
                "/v1/chat/completions", b"Content-Length: %d" % len(body), b"Authorization: Bearer " + MASTER.encode(),
                b"X-Request-Id: " + request_id) + body)
            assert status == 200
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and rows(database) < 101:
            time.sleep(0.2)
    assert rows(database) == 101


def rows(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        return int(connection.execute("SELECT count(*) FROM usage_records").fetchone()[0])


# --- admission: who counts against server.max_concurrency ----------------------------------------
HALF_SENT = 600


def test_half_sent_bodies_shut_out_neither_health_nor_authenticated_requests(tmp_path: Path) -> None:
    with start_gateway(keys_config(tmp_path / "llmswitch.db", max_concurrency=4, body_timeout_s=60)) as gateway, \
            ExitStack() as sockets:
        for _ in range(HALF_SENT):  # unauthenticated, chunked, and never finished
            sock = sockets.enter_context(socket.create_connection(("127.0.0.1", gateway.port), timeout=10))
            sock.sendall(post_head("/v1/chat/completions", b"Transfer-Encoding: chunked") + b'10\r\n{"model": "gpt')
        time.sleep(0.5)
        assert get(gateway.url + "/health") == (200, {"status": "ok"})
        client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=MASTER, max_retries=0, timeout=20)
        answer = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        assert answer.choices[0].message.content == "You said: hi"


def test_authenticated_requests_past_max_concurrency_get_a_retryable_503_in_the_routes_dialect(
        tmp_path: Path) -> None:
    with start_fake_upstream() as fake:
        config = keys_config(tmp_path / "llmswitch.db", max_concurrency=2)
        config["providers"] = {"fake": {"type": "openai", "base_url": f"{fake.url}/v1", "api_keys": ["k"]}}
        config["models"] = {"slow": [{"provider": "fake"}]}
        with start_gateway(config) as gateway:
            slow = {"model": "slow", "max_tokens": 5,
                    "messages": [{"role": "user", "content": fake_directive(hang_s=1.5)}]}
            answers: list[tuple[int, dict[str, str], bytes]] = []

            def one() -> None:
                body = json.dumps(slow).encode()
                answers.append(exchange(gateway.port, post_head(
                    "/v1/messages", b"Content-Length: %d" % len(body), b"x-api-key: " + MASTER.encode()) + body))

            threads = [threading.Thread(target=one) for _ in range(6)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    statuses = sorted(status for status, _, _ in answers)
    assert statuses == [200, 200, 503, 503, 503, 503]
    refused = next((headers, json.loads(body)) for status, headers, body in answers if status == 503)
    assert refused[0]["retry-after"] == "1"
    assert refused[1]["type"] == "error" and refused[1]["error"]["type"] == "overloaded_error"


# --- model ids ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("path", "model_id"), [("org/model-x", "org/model-x"), ("org%2Fmodel-x", "org/model-x"),
                                                ("pct%252Fmodel", "pct%2Fmodel")])
def test_a_model_id_in_the_path_is_url_decoded_once(gateway: Process, path: str, model_id: str) -> None:
    status, model = get(f"{gateway.url}/v1/models/{path}")
    assert (status, model["id"]) == (200, model_id)


def test_a_twice_encoded_slash_does_not_reach_the_model_with_a_slash(gateway: Process) -> None:
    status, body = get(f"{gateway.url}/v1/models/org%252Fmodel-x")
    assert status == 404 and "org%2Fmodel-x" in body["error"]["message"]


# --- who may read /health/ready's detail -------------------------------------------------------------
@pytest.mark.parametrize("key", [None, "sk-llms-not-a-key"])
def test_health_ready_tells_others_only_the_overall_status(keys_gateway: Process, key: str | None) -> None:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    assert get(keys_gateway.url + "/health/ready", headers) == (200, {"status": "ready"})


def test_health_ready_shows_the_master_key_every_target(keys_gateway: Process) -> None:
    status, report = get(keys_gateway.url + "/health/ready", {"authorization": f"Bearer {MASTER}"})
    assert status == 200 and report["status"] == "ready"
    assert [row["target"] for row in report["models"]["gpt-4o"]] == ["demo/gpt-4o#0"]


def test_health_ready_shows_anyone_the_detail_in_open_mode_without_a_master_key(gateway: Process) -> None:
    status, report = get(gateway.url + "/health/ready")
    assert status == 200 and "gpt-4o" in report["models"]


def test_the_status_command_sends_the_master_key_for_the_detail(keys_gateway: Process) -> None:
    command = [sys.executable, "-m", "llmswitch", "status", "--url", keys_gateway.url]
    environment = {name: value for name, value in os.environ.items() if name != "LLMSWITCH_MASTER_KEY"}
    with_key = subprocess.run(command, capture_output=True, text=True, timeout=20,
                              env={**environment, "LLMSWITCH_MASTER_KEY": MASTER})
    without = subprocess.run(command, capture_output=True, text=True, timeout=20, env=environment)
    assert with_key.returncode == 0 and "demo/gpt-4o#0" in with_key.stdout
    assert without.returncode == 0 and "demo/gpt-4o#0" not in without.stdout and "master key" in without.stdout
