"""Every request's ledger record, through real gateway processes and the official SDKs, on SQLite and
PostgreSQL: complete and correct for answers whole and streamed, passed through and translated, for
each upstream kind; for failed, abandoned and failed-over requests too."""

from __future__ import annotations

import http.client
import json
import uuid
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from tests.e2e.ledger_fixtures import MASTER, PRICE, ledger_gateway, record
from tests.support.fake import fake_directive
from tests.support.processes import Process

# What every upstream reports for the call (Gemini counts no cache writes, Anthropic no reasoning)
USAGE = {"prompt": 1200, "completion": 300, "cached": 800, "cache_write": 200, "reasoning": 50}
REPORTS = {"openai": USAGE, "responses": USAGE, "anthropic": {**USAGE, "reasoning": 0},
           "gemini": {**USAGE, "cache_write": 0}}
# (client surface, model, the upstream's kind, passed through?)
CASES = [
    ("openai", "via-openai", "openai", True), ("openai", "via-anthropic", "anthropic", False),
    ("openai", "via-gemini", "gemini", False), ("openai", "via-responses", "responses", False),
    ("anthropic", "via-anthropic", "anthropic", True), ("anthropic", "via-openai", "openai", False),
    ("anthropic", "via-gemini", "gemini", False),
    ("responses", "via-openai", "responses", True), ("responses", "via-chat-only", "openai", False),
]
PROVIDERS = {"via-openai": "p-openai", "via-chat-only": "p-chat", "via-anthropic": "p-anthropic",
             "via-gemini": "p-gemini", "via-responses": "p-openai"}
UPSTREAM_MODELS = {"via-openai": "up-openai", "via-chat-only": "up-chat", "via-anthropic": "up-anthropic",
                   "via-gemini": "up-gemini", "via-responses": "up-responses"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def gateway(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    with ledger_gateway(request.param, tmp_path_factory.mktemp("ledger")) as process:
        yield process


def hand_priced(report: dict[str, int]) -> float:
    """The call's cost worked out by hand at PRICE: each kind of input token at its rate."""
    fresh = report["prompt"] - report["cached"] - report["cache_write"]
    return (fresh * PRICE["input"] + report["cached"] * PRICE["cached_input"]
            + report["cache_write"] * PRICE["cache_write"] + report["completion"] * PRICE["output"]) / 1_000_000


def send(gateway: Process, client: str, model: str, stream: bool, request_id: str, text: str) -> list[Any]:
    """One request through CLIENT's SDK; the stream's events (or the answer) as the client saw them."""
    headers = {"x-request-id": request_id}
    if client == "openai":
        chat = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=MASTER, max_retries=0, timeout=30)
        answer = chat.chat.completions.create(model=model, stream=stream, extra_headers=headers,
                                              messages=[{"role": "user", "content": text}])
        return list(answer) if stream else [answer]
    if client == "anthropic":
        claude = anthropic.Anthropic(base_url=gateway.url, api_key=MASTER, max_retries=0, timeout=30)
        message = claude.messages.create(model=model, max_tokens=500, stream=stream, extra_headers=headers,
                                         messages=[{"role": "user", "content": text}])
        return list(message) if stream else [message]
    responses = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=MASTER, max_retries=0, timeout=30)
    response = responses.responses.create(model=model, input=text, stream=stream, extra_headers=headers)
    return list(response) if stream else [response]


@pytest.mark.parametrize(("client", "model", "upstream", "passed_through"), CASES,
                         ids=[f"{c}-{m}" for c, m, _, _ in CASES])
def test_a_call_streamed_and_not_records_the_upstreams_tokens_and_their_cost_alike(
        gateway: Process, client: str, model: str, upstream: str, passed_through: bool) -> None:
    report = REPORTS[upstream]
    text = f"Count my tokens. {fake_directive(usage=USAGE)}"
    ids = {stream: f"req-{uuid.uuid4().hex[:12]}" for stream in (False, True)}
    events = {stream: send(gateway, client, model, stream, ids[stream], text) for stream in (False, True)}
    whole, streamed = record(gateway, ids[False]), record(gateway, ids[True])

    counts = ("input_tokens", "output_tokens", "cached_tokens", "cache_write_tokens", "reasoning_tokens",
              "cost_usd", "estimated", "status", "error", "provider", "upstream_model", "deployment", "attempts")
    assert {name: streamed[name] for name in counts} == {name: whole[name] for name in counts}
    assert (whole["input_tokens"], whole["output_tokens"], whole["cached_tokens"], whole["cache_write_tokens"],
            whole["reasoning_tokens"]) == (report["prompt"], report["completion"], report["cached"],
                                           report["cache_write"], report["reasoning"])
    assert whole["cost_usd"] == pytest.approx(hand_priced(report), rel=1e-9)
    assert (whole["status"], whole["error"], whole["estimated"], whole["attempts"]) == (200, "", False, 1)
    assert (whole["model"], whole["provider"], whole["upstream_model"]) == (model, PROVIDERS[model],
                                                                            UPSTREAM_MODELS[model])
    assert whole["deployment"] == f"{PROVIDERS[model]}/{UPSTREAM_MODELS[model]}#0"
    assert (whole["stream"], streamed["stream"]) == (False, True)
    assert whole["dialect"] == streamed["dialect"] == {"openai": "openai", "anthropic": "anthropic",
                                                        "responses": "responses"}[client]
    assert whole["operation"] == "chat" and whole["key_id"] is None  # the master key
    assert whole["client_ip"] == "127.0.0.1" and whole["user_agent"].startswith(("OpenAI/", "Anthropic/"))
    for one in (whole, streamed):
        assert one["ttft_ms"] is not None and 0 < one["ttft_ms"] <= one["latency_ms"]
    if client == "openai":  # the gateway asked the upstream for usage; a client that did not sees none
        assert all(chunk.usage is None for chunk in events[True])


def test_a_request_the_upstream_refuses_is_recorded_with_its_status_and_category(gateway: Process) -> None:
    request_id = f"req-{uuid.uuid4().hex[:12]}"
    chat = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=MASTER, max_retries=0, timeout=30)
    with pytest.raises(openai.BadRequestError):
        chat.chat.completions.create(model="via-openai", extra_headers={"x-request-id": request_id},
                                     messages=[{"role": "user", "content": fake_directive(status=400)}])
    refused = record(gateway, request_id)
    assert (refused["status"], refused["error"], refused["attempts"]) == (400, "invalid_request", 1)
    assert (refused["input_tokens"], refused["output_tokens"], refused["cost_usd"]) == (0, 0, 0.0)
    assert refused["ttft_ms"] is None and refused["latency_ms"] > 0


def test_a_request_for_an_unknown_model_is_recorded_though_no_target_was_tried(gateway: Process) -> None:
    request_id = f"req-{uuid.uuid4().hex[:12]}"
    chat = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=MASTER, max_retries=0, timeout=30)
    with pytest.raises(openai.NotFoundError):
        chat.chat.completions.create(model="no-such-model", extra_headers={"x-request-id": request_id},
                                     messages=[{"role": "user", "content": "hi"}])
    unknown = record(gateway, request_id)
    assert (unknown["status"], unknown["error"], unknown["provider"], unknown["attempts"]) == (404, "not_found", "", 0)


def test_a_failed_over_request_records_both_attempts_and_the_target_that_served(gateway: Process) -> None:
    request_id = f"req-{uuid.uuid4().hex[:12]}"
    chat = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=MASTER, max_retries=0, timeout=30)
    chat.chat.completions.create(model="failing-over", extra_headers={"x-request-id": request_id},
                                 messages=[{"role": "user", "content": f"hi {fake_directive(usage=USAGE)}"}])
    served = record(gateway, request_id)
    assert (served["status"], served["attempts"], served["deployment"]) == (200, 2, "p-openai/up-openai#0")
    assert served["input_tokens"] == 1200 and served["cost_usd"] == pytest.approx(hand_priced(USAGE))


def test_a_stream_its_client_leaves_is_recorded_as_499_at_the_work_done(gateway: Process) -> None:
    request_id = f"req-{uuid.uuid4().hex[:12]}"
    body = {"model": "via-openai", "stream": True, "messages": [{"role": "user", "content": "slow " + fake_directive(
        text=" ".join(["word"] * 40), chunks=40, delay_ms=200)}]}
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=30)
    connection.request("POST", "/v1/chat/completions", json.dumps(body), {
        "authorization": f"Bearer {MASTER}", "x-request-id": request_id, "content-type": "application/json"})
    answer = connection.getresponse()
    while b"word" not in answer.readline():
        pass  # the first words arrived; the client goes
    connection.close()
    left = record(gateway, request_id)
    assert (left["status"], left["error"], left["estimated"], left["stream"]) == (499, "client_closed", True, True)
    assert left["output_tokens"] >= 1 and left["input_tokens"] >= 1 and left["cost_usd"] > 0
    assert left["ttft_ms"] is not None
