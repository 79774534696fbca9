"""Failover end to end: the official `openai` SDK (its own retries off) -> gateway process -> fake
upstreams and raw sockets that refuse, reset or hang.

Each test has its own public model, so the cool-downs and circuits one test causes never decide
another's routing. `fail_first` makes only the first of the attempts sharing a key fail, so with
two deployments on the same fake, the first attempt gets the fault and the failover answers.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import openai
import pytest

from llmswitch.fake_upstream.runner import start_process
from tests.support.fake import received, say, tag
from tests.support.processes import Process, free_port, start_fake_upstream, start_gateway

FIRST_BYTE_S = 0.6
PAIRS = ["rate-limited", "stall", "after-content", "default-500", "bad-request", "first-byte",
         "careful-stream"]


@contextmanager
def raw_server(behaviour: str) -> Iterator[int]:
    """A socket that accepts and then resets the connection ("reset") or never answers ("hang")."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            if behaviour == "reset":
                conn.settimeout(1)
                try:
                    conn.recv(65536)
                except OSError:
                    pass
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
            else:
                held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        listener.close()
        for conn in held:
            conn.close()


def provider(url: str, *keys: str) -> dict[str, Any]:
    return {"type": "openai", "base_url": f"{url}/v1", "api_keys": list(keys) or ["k"]}


def failover_config(fake: str, fast: str, slow: str, reset_port: int, hang_port: int,
                    closed_port: int) -> dict[str, Any]:
    models: dict[str, Any] = {
        name: [{"provider": "f1", "priority": 0}, {"provider": "f2", "priority": 1}] for name in PAIRS}
    models.update({
        "careful": {"retry_unsafe": False, "deployments": models["default-500"]},
        "careful-stream": {"retry_unsafe": False, "deployments": models["careful-stream"]},
        "keys": [{"provider": "pool"}],
        "key-auth": [{"provider": "authpool"}],
        "via-refused": [{"provider": "refused", "priority": 0}, {"provider": "f1", "priority": 1}],
        "via-reset": [{"provider": "reset", "priority": 0}, {"provider": "f1", "priority": 1}],
        "via-hang": [{"provider": "hang", "priority": 0}, {"provider": "f1", "priority": 1}],
        "small": [{"provider": "f1"}],
        "big": [{"provider": "f2"}],
        "primary": [{"provider": "refused"}],
        "backup": [{"provider": "f2"}],
        "all-fail": [{"provider": "refused", "priority": 0}, {"provider": "f1", "priority": 1}],
        "all-429": [{"provider": "f1", "priority": 0}, {"provider": "f2", "priority": 1}],
        "fastest": {"strategy": "latency", "deployments": [{"provider": "fast"}, {"provider": "slow"}]},
    })
    return {
        "server": {"first_byte_timeout_s": FIRST_BYTE_S, "idle_timeout_s": 0.6, "keepalive_s": 0.3},
        "routing": {"circuit_failures": 100, "latency_exploration": 0.05},
        "providers": {
            "f1": provider(fake), "f2": provider(fake), "pool": provider(fake, "p1", "p2"),
            "authpool": provider(fake, "a1", "a2"), "refused": provider(f"http://127.0.0.1:{closed_port}"),
            "reset": provider(f"http://127.0.0.1:{reset_port}"), "hang": provider(f"http://127.0.0.1:{hang_port}"),
            "fast": provider(fast), "slow": provider(slow),
        },
        "models": models,
        "fallbacks": {"primary": ["backup"]},
        "context_window_fallbacks": {"small": ["big"]},
    }


@pytest.fixture(scope="module")
def gateway(fake: Process) -> Iterator[Process]:
    with start_fake_upstream(name="fast") as fast, start_fake_upstream(name="slow", latency_ms=120) as slow, \
            raw_server("reset") as reset_port, raw_server("hang") as hang_port:
        config = failover_config(fake.url, fast.url, slow.url, reset_port, hang_port, free_port())
        with start_gateway(config) as process:
            yield process


@pytest.fixture
def client(gateway: Process) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="x", max_retries=0, timeout=20)


def ask(client: openai.OpenAI, model: str, messages: list[dict[str, str]]) -> tuple[dict[str, str], str]:
    """(response headers, answer text) of a non-streaming request."""
    raw = client.chat.completions.with_raw_response.create(model=model, messages=messages)  # type: ignore[arg-type]
    return dict(raw.headers), raw.parse().choices[0].message.content or ""


def ask_stream(client: openai.OpenAI, model: str, messages: list[dict[str, str]]) -> tuple[dict[str, str], str]:
    raw = client.chat.completions.with_raw_response.create(model=model, messages=messages,  # type: ignore[arg-type]
                                                           stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in raw.parse() if chunk.choices)
    return dict(raw.headers), text


def readiness(gateway: Process) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(gateway.url + "/health/ready", timeout=5) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as error:
        return dict(json.loads(error.read()))


def state(gateway: Process, model: str, target: str) -> dict[str, Any]:
    return next(row for row in readiness(gateway)["models"][model] if row["target"] == target)


# --- not processed: always moved on -------------------------------------------------------------
def test_429_with_retry_after_moves_to_the_other_key_and_cools_the_first(client: openai.OpenAI,
                                                                          gateway: Process) -> None:
    marker = tag()
    headers, _ = ask(client, "keys", say(marker, status=429, retry_after=30, fail_first=1, key=marker))
    assert headers["x-llmswitch-attempts"] == "2"
    answered = headers["x-llmswitch-deployment"]
    cooled = "pool/keys#0" if answered == "pool/keys#1" else "pool/keys#1"
    assert state(gateway, "keys", cooled)["state"] == "cooling_down"
    served = {ask(client, "keys", say(tag()))[0]["x-llmswitch-deployment"] for _ in range(6)}
    assert served == {answered}


def test_rejected_upstream_key_is_disabled_and_reported(client: openai.OpenAI, gateway: Process) -> None:
    marker = tag()
    headers, _ = ask(client, "key-auth", say(marker, status=401, fail_first=1, key=marker))
    rejected = "authpool/key-auth#0" if headers["x-llmswitch-deployment"].endswith("#1") else "authpool/key-auth#1"
    assert headers["x-llmswitch-attempts"] == "2"
    assert state(gateway, "key-auth", rejected)["state"] == "disabled"


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_refused_connection_moves_to_the_next_deployment(client: openai.OpenAI, stream: bool) -> None:
    headers, text = (ask_stream if stream else ask)(client, "via-refused", say("hello"))
    assert headers["x-llmswitch-deployment"] == "f1/via-refused#0" and "hello" in text


# --- maybe processed: moved on by default, returned with retry_unsafe false -----------------------
@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_connection_reset_after_the_body_was_sent_moves_on_by_default(client: openai.OpenAI, stream: bool) -> None:
    headers, text = (ask_stream if stream else ask)(client, "via-reset", say("hello"))
    assert headers["x-llmswitch-attempts"] == "2" and "hello" in text


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_hung_upstream_costs_at_most_the_first_byte_timeout(client: openai.OpenAI, stream: bool) -> None:
    started = time.monotonic()
    headers, text = (ask_stream if stream else ask)(client, "via-hang", say("patience"))
    elapsed = time.monotonic() - started
    assert headers["x-llmswitch-deployment"] == "f1/via-hang#0" and "patience" in text
    assert FIRST_BYTE_S <= elapsed < FIRST_BYTE_S + 0.5


def test_hung_fake_upstream_is_abandoned_after_the_first_byte_timeout(client: openai.OpenAI, fake: Process) -> None:
    marker = tag()
    started = time.monotonic()
    headers, _ = ask(client, "first-byte", say(marker, hang_s=5, fail_first=1, key=marker))
    assert time.monotonic() - started < FIRST_BYTE_S + 0.5
    assert headers["x-llmswitch-deployment"] == "f2/first-byte#0"
    assert len(received(fake.url, marker)) == 2


def test_500_moves_on_by_default(client: openai.OpenAI, fake: Process) -> None:
    marker = tag()
    headers, _ = ask(client, "default-500", say(marker, status=500, fail_first=1, key=marker))
    assert headers["x-llmswitch-deployment"] == "f2/default-500#0"
    assert len(received(fake.url, marker)) == 2


@pytest.mark.parametrize(("model", "stream"), [("careful", False), ("careful-stream", True)],
                         ids=["complete", "stream"])
def test_500_reaches_the_upstream_exactly_once_when_retry_unsafe_is_false(
        client: openai.OpenAI, fake: Process, model: str, stream: bool) -> None:
    marker = tag()
    with pytest.raises(openai.InternalServerError) as caught:
        (ask_stream if stream else ask)(client, model, say(marker, status=500, fail_first=1, key=marker))
    assert caught.value.status_code == 500
    assert len(received(fake.url, marker)) == 1


def test_request_error_goes_back_at_once(client: openai.OpenAI, fake: Process) -> None:
    marker = tag()
    with pytest.raises(openai.BadRequestError) as caught:
        ask(client, "bad-request", say(marker, status=400, message="Invalid 'foo'"))
    assert "Invalid 'foo'" in caught.value.message
    assert len(received(fake.url, marker)) == 1


def test_prompt_too_long_moves_to_the_context_window_fallback(client: openai.OpenAI) -> None:
    marker = tag()
    headers, _ = ask(client, "small", say(marker, status=400, message="prompt is too long: 300000 tokens > "
                                          "200000 maximum", fail_first=1, key=marker))
    assert headers["x-llmswitch-deployment"] == "f2/big#0"


def test_fallback_model_answers_when_every_deployment_of_the_model_fails(client: openai.OpenAI) -> None:
    headers, text = ask(client, "primary", say("rescued"))
    assert headers["x-llmswitch-deployment"] == "f2/backup#0" and "rescued" in text


# --- streams ------------------------------------------------------------------------------------
def test_stream_stalling_before_content_is_rescued_on_another_deployment(client: openai.OpenAI) -> None:
    marker = tag()
    headers, text = ask_stream(client, "stall", say(marker, text="whole answer", stall_after=1, stall_s=5,
                                                    fail_first=1, key=marker))
    assert headers["x-llmswitch-deployment"] == "f2/stall#0"
    assert text == "whole answer"


def test_stream_failing_after_content_ends_with_an_error_event_and_is_not_retried(
        client: openai.OpenAI, fake: Process) -> None:
    marker = tag()
    stream = client.chat.completions.create(model="after-content", stream=True, messages=say(  # type: ignore[arg-type]
        marker, text="one two three four five six", chunks=6, reset_after=3))
    got = []
    with pytest.raises(openai.APIError):
        for chunk in stream:
            got.append(chunk.choices[0].delta.content or "" if chunk.choices else "")
    assert "".join(got) and "".join(got) != "one two three four five six"
    assert len(received(fake.url, marker)) == 1


# --- when nothing answers -----------------------------------------------------------------------
def test_every_candidate_failing_differently_gives_502_listing_the_attempts(client: openai.OpenAI) -> None:
    marker = tag()
    with pytest.raises(openai.APIStatusError) as caught:
        ask(client, "all-fail", say(marker, status=500))
    error = caught.value
    assert error.status_code == 502
    assert error.response.headers["x-llmswitch-attempts"] == "2"
    attempts = error.body["attempts"]  # type: ignore[index]
    assert [(a["provider"], a["status"]) for a in attempts] == [("refused", None), ("f1", 500)]
    assert all(a["reason"] and a["duration_ms"] >= 0 for a in attempts)


def test_every_candidate_rate_limited_gives_429_with_the_shortest_retry_after(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        ask(client, "all-429", say(tag(), status=429, retry_after=2))
    assert caught.value.response.headers["retry-after"] == "2"
    assert len(caught.value.body["attempts"]) == 2  # type: ignore[index]


# --- strategies -----------------------------------------------------------------------------------
def test_latency_strategy_moves_traffic_to_the_faster_deployment(client: openai.OpenAI) -> None:
    served = Counter(ask(client, "fastest", say(tag()))[0]["x-llmswitch-deployment"] for _ in range(40))
    assert served["fast/fastest#0"] >= 32


# --- visibility -----------------------------------------------------------------------------------
def test_health_ready_lists_every_deployment_and_key(gateway: Process) -> None:
    report = readiness(gateway)
    assert [row["target"] for row in report["models"]["keys"]] == ["pool/keys#0", "pool/keys#1"]
    assert {"state", "until", "latency_ms", "error_rate", "in_flight"} <= set(report["models"]["keys"][0])


def test_status_command_prints_each_target_of_a_running_gateway(gateway: Process) -> None:
    result = subprocess.run([sys.executable, "-m", "llmswitch", "status", "--url", gateway.url],
                            capture_output=True, text=True, timeout=20)
    assert "pool/keys#0" in result.stdout and "via-refused" in result.stdout


# --- circuit breaker ------------------------------------------------------------------------------
async def test_dead_deployment_is_skipped_within_n_requests_and_probed_back_after_cooldown(
        fake: Process) -> None:
    port = free_port()
    config = {
        "routing": {"circuit_failures": 2, "circuit_window_s": 30, "circuit_cooldown_s": 1.0},
        "providers": {"dead": provider(f"http://127.0.0.1:{port}"), "live": provider(fake.url)},
        "models": {"m": [{"provider": "dead"}, {"provider": "live"}]},
    }
    with start_gateway(config) as gateway:
        client = openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key="x", max_retries=0, timeout=20)

        async def served_by() -> str:
            raw = await client.chat.completions.with_raw_response.create(model="m", messages=say(tag()))
            return raw.headers["x-llmswitch-attempts"] + " " + raw.headers["x-llmswitch-deployment"]

        answers = [await served_by() for _ in range(12)]
        assert sum(a.startswith("2 ") for a in answers) == 2  # two failures open the circuit
        assert state(gateway, "m", "dead/m#0")["state"] == "circuit_open"
        with start_process(port=port, name="revived"):
            await asyncio.sleep(1.1)
            answers = [await served_by() for _ in range(20)]
        assert "1 dead/m#0" in answers
        assert state(gateway, "m", "dead/m#0")["state"] == "healthy"
