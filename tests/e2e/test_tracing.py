"""OpenTelemetry traces from a real gateway process to a local OTLP/HTTP receiver, decoded from protobuf:
a span for the request, one per attempt and one per upstream call under it, with the GenAI attributes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.test_secrets import threaded_app
from tests.support.fake import fake_directive
from tests.support.otlp import Receiver, Span
from tests.support.processes import Process, start_fake_upstream, start_gateway

SERVER, INTERNAL, CLIENT = 2, 1, 3  # the protobuf's span kinds
ERROR = 2
COLLECTOR_KEY = "collector-Tr4c3-k3y-51"


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[Receiver, str]]:
    collected = Receiver()
    with threaded_app(collected.app()) as url:
        yield collected, url


@pytest.fixture(scope="module")
def gateway(receiver: tuple[Receiver, str]) -> Iterator[Process]:
    with start_fake_upstream(name="traced") as fake:
        config = {
            "otel": {"endpoint": receiver[1], "service_name": "gateway-under-test",
                     "headers": {"authorization": f"Bearer {COLLECTOR_KEY}"}},
            "providers": {"fake": {"type": "openai", "base_url": f"{fake.url}/v1", "api_keys": ["k-1"]},
                          "claude": {"type": "anthropic", "base_url": fake.url, "api_keys": ["k-2"]},
                          "down": {"type": "openai", "base_url": "http://127.0.0.1:9/v1", "api_keys": ["k-3"]}},
            "models": {"gpt-4o": [{"provider": "fake", "model": "gpt-4o-2024-08-06"}],
                       "claude": [{"provider": "claude", "model": "claude-sonnet-4-5"}],
                       "failover": [{"provider": "down", "priority": 0},
                                    {"provider": "fake", "model": "gpt-4o-mini", "priority": 1}]},
        }
        with start_gateway(config, env={"OTEL_BSP_SCHEDULE_DELAY": "50"}) as process:
            yield process


def post(gateway: Process, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[str, int]:
    request_id = f"trace-{uuid.uuid4().hex[:16]}"
    request = urllib.request.Request(gateway.url + path, data=json.dumps(body).encode(), method="POST", headers={
        "content-type": "application/json", "x-request-id": request_id, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            response.read()
            return request_id, response.status
    except urllib.error.HTTPError as error:
        return request_id, error.code


def chat(model: str, text: str = "hello", **fields: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **fields}


def one(spans: list[Span], kind: int) -> Span:
    found = [span for span in spans if span.kind == kind]
    assert len(found) == 1, [(s.name, s.kind) for s in spans]
    return found[0]


def test_a_request_is_a_server_span_over_an_attempt_over_the_upstream_call(
        gateway: Process, receiver: tuple[Receiver, str]) -> None:
    request_id, status = post(gateway, "/v1/chat/completions", chat("gpt-4o"))
    spans = receiver[0].trace_of(request_id, 3)
    root, attempt, call = one(spans, SERVER), one(spans, INTERNAL), one(spans, CLIENT)
    assert status == 200
    assert (root.name, attempt.name, call.name) == ("POST /v1/chat/completions", "attempt", "chat gpt-4o-2024-08-06")
    assert (root.parent_id, attempt.parent_id, call.parent_id) == ("", root.span_id, attempt.span_id)
    assert root.start <= attempt.start <= call.start <= call.end <= attempt.end <= root.end


def test_the_request_span_has_the_http_and_gateway_attributes(gateway: Process, receiver: tuple[Receiver, str]) -> None:
    request_id, _ = post(gateway, "/v1/chat/completions", chat("gpt-4o"))
    root = one(receiver[0].trace_of(request_id, 3), SERVER)
    assert {k: root.attributes[k] for k in ("http.request.method", "http.route", "url.path",
                                            "http.response.status_code", "gen_ai.operation.name",
                                            "gen_ai.request.model", "llmswitch.attempts")} == {
        "http.request.method": "POST", "http.route": "/v1/chat/completions", "url.path": "/v1/chat/completions",
        "http.response.status_code": 200, "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
        "llmswitch.attempts": 1}
    assert root.resource["service.name"] == "gateway-under-test"


def test_the_upstream_call_has_the_genai_attributes(gateway: Process, receiver: tuple[Receiver, str]) -> None:
    text = fake_directive(usage={"prompt": 11, "completion": 7})
    request_id, _ = post(gateway, "/v1/chat/completions", chat("gpt-4o", text))
    call = one(receiver[0].trace_of(request_id, 3), CLIENT)
    assert {k: call.attributes.get(k) for k in (
        "gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "gen_ai.response.model",
        "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "server.address",
        "http.response.status_code")} == {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-2024-08-06", "gen_ai.response.model": "gpt-4o-2024-08-06",
        "gen_ai.usage.input_tokens": 11, "gen_ai.usage.output_tokens": 7, "server.address": "127.0.0.1",
        "http.response.status_code": 200}
    assert isinstance(call.attributes["server.port"], int)


def test_a_streamed_translated_call_names_its_provider_and_the_model_that_answered(
        gateway: Process, receiver: tuple[Receiver, str]) -> None:
    request_id, status = post(gateway, "/v1/chat/completions", chat("claude", stream=True))
    spans = receiver[0].trace_of(request_id, 3)
    call = one(spans, CLIENT)
    assert status == 200
    assert (call.name, call.attributes["gen_ai.provider.name"], call.attributes["gen_ai.response.model"]) == (
        "chat claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5")
    assert one(spans, SERVER).attributes["llmswitch.stream"] is True


def test_a_failed_over_request_shows_two_attempts_the_first_failed(
        gateway: Process, receiver: tuple[Receiver, str]) -> None:
    request_id, status = post(gateway, "/v1/chat/completions", chat("failover"))
    spans = receiver[0].trace_of(request_id, 5)
    root = one(spans, SERVER)
    attempts = sorted((s for s in spans if s.kind == INTERNAL), key=lambda s: s.attributes["llmswitch.attempt"])
    calls = {s.parent_id: s for s in spans if s.kind == CLIENT}
    assert status == 200 and len(attempts) == 2
    assert [a.parent_id for a in attempts] == [root.span_id, root.span_id]
    assert [a.attributes["llmswitch.provider"] for a in attempts] == ["down", "fake"]
    assert (attempts[0].attributes["error.type"], attempts[0].status) == ("connect", ERROR)
    assert "error.type" not in attempts[1].attributes
    assert calls[attempts[0].span_id].attributes["error.type"] == "connect"
    assert calls[attempts[1].span_id].attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert root.attributes["llmswitch.attempts"] == 2


def test_an_upstream_error_marks_the_call_and_the_request(gateway: Process, receiver: tuple[Receiver, str]) -> None:
    request_id, status = post(gateway, "/v1/chat/completions", chat("gpt-4o", fake_directive(status=503)))
    spans = receiver[0].trace_of(request_id, 3)
    root, call = one(spans, SERVER), one(spans, CLIENT)
    assert status == 503
    assert (call.attributes["error.type"], call.attributes["http.response.status_code"], call.status) == (
        "503", 503, ERROR)
    assert (root.attributes["error.type"], root.status) == ("503", ERROR)


def test_a_client_traceparent_makes_the_request_its_child(gateway: Process, receiver: tuple[Receiver, str]) -> None:
    trace_id, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    request_id, _ = post(gateway, "/v1/chat/completions", chat("gpt-4o"),
                         headers={"traceparent": f"00-{trace_id}-{parent}-01"})
    root = one(receiver[0].trace_of(request_id, 3), SERVER)
    assert (root.trace_id, root.parent_id) == (trace_id, parent)


def test_a_route_outside_the_pipeline_is_a_span_alone(gateway: Process, receiver: tuple[Receiver, str]) -> None:
    request_id, status = post(gateway, "/v1/nowhere", {})
    spans = receiver[0].trace_of(request_id, 1)
    assert status == 404
    assert [(s.name, s.kind, s.attributes["http.response.status_code"]) for s in spans] == [("POST", SERVER, 404)]


def test_the_collector_gets_its_headers_and_no_span_holds_them(gateway: Process,
                                                                receiver: tuple[Receiver, str]) -> None:
    request_id, _ = post(gateway, "/v1/chat/completions", chat("gpt-4o"))
    collected = receiver[0]
    assert collected.trace_of(request_id, 3)
    assert collected.headers and all(h.get("authorization") == f"Bearer {COLLECTOR_KEY}" for h in collected.headers)
    assert COLLECTOR_KEY not in repr(collected.spans)


def test_without_an_endpoint_opentelemetry_is_never_imported() -> None:
    script = ("import sys; from llmswitch.app import build_app; from llmswitch.config import parse_config; "
              "build_app(parse_config('{}')); print(any(m.startswith('opentelemetry') for m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "False"
