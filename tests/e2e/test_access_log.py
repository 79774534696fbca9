"""The access log: one line per request, on every route, as a real gateway process writes it to stderr
(a file here, so JSON lines), with what the core knew of the request when it went through the pipeline.

Each test names its request by its own `x-request-id` and reads that request's line back.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.fake import fake_directive
from tests.support.logs import access_line, access_lines, json_lines
from tests.support.processes import Process, start_fake_upstream, start_gateway

SLOW_S = 1.5  # a stream this slow is still running when the client leaves, or holds the gate


def config(fake: str, **extra: Any) -> dict[str, Any]:
    return {
        "server": {"timeout_s": 30, "max_timeout_s": 60},
        "providers": {"fake": {"type": "openai", "base_url": f"{fake}/v1", "api_keys": ["k-upstream-1"]},
                      "down": {"type": "openai", "base_url": "http://127.0.0.1:9/v1", "api_keys": ["x"]}},
        "models": {"gpt-4o": [{"provider": "fake", "model": "gpt-4o-2024-08-06"}],
                   "failover": [{"provider": "down", "priority": 0}, {"provider": "fake", "priority": 1}]},
        **extra,
    }


@pytest.fixture(scope="module")
def fake() -> Iterator[Process]:
    with start_fake_upstream(name="access-fake") as process:
        yield process


@pytest.fixture(scope="module")
def gateway(fake: Process) -> Iterator[Process]:
    with start_gateway(config(fake.url)) as process:
        yield process


def call(gateway: Process, path: str, body: Any = None, *, method: str = "POST",
         headers: dict[str, str] | None = None) -> tuple[str, int, bytes]:
    """(the request id it was sent with, status, body)."""
    request_id = f"t-{uuid.uuid4().hex[:20]}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(gateway.url + path, data=data, method=method, headers={
        "content-type": "application/json", "x-request-id": request_id, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return request_id, response.status, response.read()
    except urllib.error.HTTPError as error:
        return request_id, error.code, error.read()


def chat(model: str = "gpt-4o", text: str = "hello", **fields: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **fields}


def test_a_chat_request_logs_its_operation_model_and_outcome(gateway: Process) -> None:
    request_id, status, _ = call(gateway, "/v1/chat/completions", chat())
    line = access_line(gateway, request_id)
    assert status == 200
    assert {k: line[k] for k in ("method", "path", "status", "operation", "model", "stream", "result",
                                 "attempts", "overloaded", "cancelled")} == {
        "method": "POST", "path": "/v1/chat/completions", "status": 200, "operation": "chat", "model": "gpt-4o",
        "stream": False, "result": "ok", "attempts": 1, "overloaded": False, "cancelled": False}
    assert line["duration_ms"] > 0 and "client_ip" not in line  # the ledger's row has it
    assert 0 < time.time() - line["time"] < 60 and line["level"] == "info"


def test_a_route_outside_the_pipeline_logs_a_line_too(gateway: Process) -> None:
    request_id, status, _ = call(gateway, "/v1/models", method="GET")
    line = access_line(gateway, request_id)
    assert (status, line["status"], line["method"], line["path"], line["result"], line["client_ip"]) == (
        200, 200, "GET", "/v1/models", "ok", "127.0.0.1")
    assert "operation" not in line


def test_an_unknown_route_logs_its_refusal(gateway: Process) -> None:
    request_id, status, _ = call(gateway, "/v2/nothing-here", {})
    line = access_line(gateway, request_id)
    assert (status, line["status"], line["result"]) == (404, 404, "not_found")


def test_the_path_is_logged_without_its_query_string(gateway: Process) -> None:
    request_id, _, _ = call(gateway, "/v1/models?key=query-secret-Zx81&x=1", method="GET")
    line = access_line(gateway, request_id)
    assert line["path"] == "/v1/models"
    assert "query-secret" not in json.dumps(line)


def test_without_a_timeout_the_configured_one_is_logged_as_the_default(gateway: Process) -> None:
    request_id, _, _ = call(gateway, "/v1/chat/completions", chat())
    line = access_line(gateway, request_id)
    assert (line["timeout_s"], line["timeout_source"], line["timeout_clamped"]) == (30, "default", False)


def test_a_timeout_in_the_header_is_logged_with_its_source(gateway: Process) -> None:
    request_id, _, _ = call(gateway, "/v1/chat/completions", chat(), headers={"x-llmswitch-timeout-ms": "2500"})
    line = access_line(gateway, request_id)
    assert (line["timeout_s"], line["timeout_source"], line["timeout_clamped"]) == (2.5, "header", False)


def test_a_body_timeout_above_the_cap_is_logged_clamped(gateway: Process) -> None:
    request_id, status, _ = call(gateway, "/v1/chat/completions", chat(timeout=3_600_000))
    line = access_line(gateway, request_id)
    assert status == 200
    assert (line["timeout_s"], line["timeout_source"], line["timeout_clamped"]) == (60, "body", True)


def test_a_compat_route_logs_the_timeout_its_own_rules_gave(gateway: Process) -> None:
    request_id, status, _ = call(gateway, "/openai", chat(security_key="any", timeout="1e9"))
    line = access_line(gateway, request_id)
    assert status == 200
    assert (line["path"], line["timeout_s"], line["timeout_source"], line["timeout_clamped"]) == (
        "/openai", 60, "body", True)


def test_a_compat_timeout_its_rules_ignore_is_logged_as_the_default(gateway: Process) -> None:
    request_id, _, _ = call(gateway, "/openai", chat(security_key="any", timeout="soon"))
    line = access_line(gateway, request_id)
    assert (line["timeout_s"], line["timeout_source"], line["timeout_clamped"]) == (30, "default", False)


def test_a_failed_over_request_logs_both_attempts(gateway: Process) -> None:
    request_id, status, _ = call(gateway, "/v1/chat/completions", chat("failover"))
    line = access_line(gateway, request_id)
    assert (status, line["attempts"], line["result"]) == (200, 2, "ok")


def test_an_upstream_failure_logs_its_category(gateway: Process) -> None:
    request_id, status, _ = call(gateway, "/v1/chat/completions", chat(text=fake_directive(status=500)))
    line = access_line(gateway, request_id)
    assert (status, line["status"], line["result"]) == (500, 500, "internal")


def test_a_stream_logs_one_line_once_it_has_ended(gateway: Process) -> None:
    request_id, status, body = call(gateway, "/v1/chat/completions", chat(stream=True))
    line = access_line(gateway, request_id)
    assert status == 200 and body.endswith(b"data: [DONE]\n\n")
    assert (line["stream"], line["status"], line["result"], line["cancelled"]) == (True, 200, "ok", False)


def test_a_client_that_leaves_mid_stream_is_logged_as_cancelled(gateway: Process) -> None:
    request_id = f"t-{uuid.uuid4().hex[:20]}"
    body = json.dumps(chat(text=fake_directive(chunks=10, delay_ms=SLOW_S * 100), stream=True)).encode()
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"x-request-id: " + request_id.encode() + b"\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")  # the stream has begun; now leave
    line = access_line(gateway, request_id)
    assert (line["cancelled"], line["status"], line["stream"]) == (True, 499, True)


def test_a_request_refused_by_the_concurrency_gate_is_flagged_overloaded(fake: Process) -> None:
    with start_gateway(config(fake.url, server={"max_concurrency": 1})) as gateway:
        for _ in range(5):  # until a request arrives while the slow one holds the only place
            slow = threading.Thread(target=call, args=(gateway, "/v1/chat/completions",
                                                       chat(text=fake_directive(hang_s=SLOW_S))))
            slow.start()
            time.sleep(SLOW_S / 5)
            request_id, status, _ = call(gateway, "/v1/chat/completions", chat())
            slow.join()
            if status == 503:
                break
        line = access_line(gateway, request_id)
    assert (status, line["status"], line["overloaded"], line["result"]) == (503, 503, True, "unavailable")


def test_bodies_are_not_logged_unless_configured(gateway: Process) -> None:
    request_id, _, _ = call(gateway, "/v1/chat/completions", chat(text="a body nobody logs"))
    line = access_line(gateway, request_id)
    assert "request_body" not in line and "response_body" not in line
    assert "nobody logs" not in gateway.log()


@pytest.fixture(scope="module")
def logging_bodies(fake: Process) -> Iterator[Process]:
    with start_gateway(config(fake.url, logging={"bodies": True})) as process:
        yield process


def test_logged_bodies_have_their_credentials_redacted(logging_bodies: Process) -> None:
    request_id, status, _ = call(logging_bodies, "/openai",
                                 chat(text="the words stay", security_key="short-Key1", openai_api_key="sk-abc"))
    line = access_line(logging_bodies, request_id)
    assert status == 200
    assert "the words stay" in line["request_body"] and "You said: the words stay" in line["response_body"]
    assert '"security_key": "[redacted]"' in line["request_body"]
    assert "short-Key1" not in logging_bodies.log() and '"sk-abc"' not in logging_bodies.log()


def test_logged_bodies_are_cut_short(logging_bodies: Process) -> None:
    request_id, _, _ = call(logging_bodies, "/v1/chat/completions", chat(text="x" * 20_000))
    line = access_line(logging_bodies, request_id)
    assert 4000 <= len(line["request_body"]) <= 4096


def test_a_streamed_answer_is_logged_by_its_kind_not_its_content(logging_bodies: Process) -> None:
    request_id, _, _ = call(logging_bodies, "/v1/chat/completions", chat(stream=True))
    assert access_line(logging_bodies, request_id)["response_body"] == "<streamed text/event-stream>"


def test_access_lines_can_be_turned_off(fake: Process) -> None:
    with start_gateway(config(fake.url, logging={"access": False})) as gateway:
        request_id, status, _ = call(gateway, "/v1/chat/completions", chat())
        assert status == 200
        assert access_lines(gateway, request_id) == []  # waited for as long as a line takes
        assert [line for line in json_lines(gateway) if line.get("logger") == "llmswitch.access"] == []


def test_the_text_format_writes_one_plain_line(fake: Process) -> None:
    with start_gateway(config(fake.url, logging={"format": "text"})) as gateway:
        request_id, _, _ = call(gateway, "/v1/chat/completions", chat(), headers={"x-llmswitch-timeout-ms": "900"})
        for _ in range(100):
            lines = [text for text in gateway.log().splitlines() if request_id in text]
            if lines:
                break
            time.sleep(0.05)
    assert len(lines) == 1
    assert " INFO access: 200 POST /v1/chat/completions " in lines[0]
    assert "chat 'gpt-4o'" in lines[0] and "timeout=0.9s(header)" in lines[0]


def test_quotes_and_line_breaks_a_client_sent_stay_inside_one_json_line(gateway: Process) -> None:
    request_id = f'q"\\-{uuid.uuid4().hex[:12]}'
    request = urllib.request.Request(gateway.url + "/v1/a%22b%0Ac%5C", method="GET",
                                     headers={"x-request-id": request_id})
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=20)
    line = access_line(gateway, request_id)
    assert (line["request_id"], line["path"], line["status"]) == (request_id, '/v1/a"b\nc\\', 404)
