"""Target health that answers for the upstream only, the last target always tried, and one deadline
per request: the official SDKs (their retries off) and raw HTTP -> gateway process -> fake upstream.

Each test has its own public model, so the health one test gives a target never routes another.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from tests.support.fake import received, say, tag
from tests.support.processes import Process, start_gateway

COOLDOWN_S = 1.0
HANGING = ["hang-1", "hang-2", "hang-3"]


def on_fake(*settings: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"provider": "fake", **s} for s in settings]


@pytest.fixture(scope="module")
def gateway(fake: Process) -> Iterator[Process]:
    config = {
        "server": {"keepalive_s": 0.3},
        "routing": {"circuit_failures": 2, "circuit_cooldown_s": COOLDOWN_S},
        "providers": {
            "fake": {"type": "openai", "base_url": f"{fake.url}/v1", "api_keys": ["k"]},
            **{name: {"type": "openai", "base_url": f"{fake.url}/v1", "api_keys": ["k"]} for name in HANGING},
            "claude": {"type": "anthropic", "base_url": fake.url, "api_keys": ["k"]},
        },
        "models": {
            "lonely": on_fake({"timeout_s": 0.5}),
            "lonely-stream": on_fake({"timeout_s": 0.5}),
            "recovers": on_fake({"timeout_s": 0.5}),
            "asks-to-wait": on_fake({}),
            "busy": on_fake({}),
            "shared": on_fake({}),
            "shared-anthropic": [{"provider": "claude", "max_tokens_default": 64}],
            "left-early": on_fake({}),
            "key-renewed": on_fake({}),
            "three-hanging": [{"provider": name, "priority": i} for i, name in enumerate(HANGING)],
            "parse": on_fake({}),
        },
    }
    with start_gateway(config) as process:
        yield process


@pytest.fixture
def client(gateway: Process) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="x", max_retries=0, timeout=20)


def status_of(call: Any) -> tuple[int, dict[str, str]]:
    """(HTTP status, headers) of an SDK call that may fail."""
    try:
        raw = call()
        return raw.status_code, dict(raw.headers)
    except openai.APIStatusError as error:
        return error.status_code, dict(error.response.headers)


def ask(client: openai.OpenAI, model: str, messages: list[dict[str, str]],
        **options: Any) -> tuple[int, dict[str, str]]:
    return status_of(lambda: client.chat.completions.with_raw_response.create(model=model, messages=messages,
                                                                              **options))


def state(gateway: Process, model: str) -> str:
    """The model's first target's state in /health/ready (a 503 there while any target is down)."""
    try:
        with urllib.request.urlopen(gateway.url + "/health/ready", timeout=5) as response:
            report = json.loads(response.read())
    except urllib.error.HTTPError as error:
        report = json.loads(error.read())
    return str(report["models"][model][0]["state"])


# --- never refuse the last target without trying it --------------------------------------------------
@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_a_lone_deployment_with_an_open_circuit_still_answers_with_its_real_outcome(
        client: openai.OpenAI, gateway: Process, stream: bool) -> None:
    model = "lonely-stream" if stream else "lonely"
    for _ in range(2):
        assert ask(client, model, say(tag(), hang_s=3), stream=stream)[0] == 504
    assert state(gateway, model) == "circuit_open"
    started = time.monotonic()
    status, _ = ask(client, model, say(tag(), hang_s=3), stream=stream)
    assert status == 504 and time.monotonic() - started >= 0.45  # tried and timed out, not refused at once


def test_a_lone_deployment_that_recovered_answers_while_its_circuit_is_open(
        client: openai.OpenAI, gateway: Process, fake: Process) -> None:
    for _ in range(2):
        assert ask(client, "recovers", say(tag(), hang_s=3))[0] == 504
    assert state(gateway, "recovers") == "circuit_open"
    marker = tag()
    status, headers = ask(client, "recovers", say(marker))
    assert status == 200 and headers["x-llmswitch-attempts"] == "1" and len(received(fake.url, marker)) == 1
    assert state(gateway, "recovers") == "healthy"


@pytest.mark.parametrize(("model", "status"), [("asks-to-wait", 429), ("busy", 503)])
def test_a_cool_down_the_upstream_asked_for_is_honoured_and_its_retry_after_passed_on(
        client: openai.OpenAI, fake: Process, model: str, status: int) -> None:
    assert ask(client, model, say(tag(), status=status, retry_after=30))[0] == status
    marker = tag()
    started = time.monotonic()
    got, headers = ask(client, model, say(marker))
    assert got == status and 28 <= int(headers["retry-after"]) <= 30
    assert time.monotonic() - started < 0.5 and received(fake.url, marker) == []


# --- health that tenants cannot poison ----------------------------------------------------------------
def test_timeouts_a_client_chose_shorter_than_configured_never_open_the_circuit(
        client: openai.OpenAI, gateway: Process) -> None:
    for _ in range(5):
        assert ask(client, "shared", say(tag(), hang_s=1), extra_headers={"x-llmswitch-timeout-ms": "50"})[0] == 504
    assert state(gateway, "shared") == "healthy"
    status, headers = ask(client, "shared", say(tag()))
    assert status == 200 and headers["x-llmswitch-attempts"] == "1"


def test_an_anthropic_clients_short_timeouts_never_open_the_circuit_either(gateway: Process) -> None:
    claude = anthropic.Anthropic(base_url=gateway.url, api_key="x", max_retries=0, timeout=20)
    for _ in range(3):
        with pytest.raises(anthropic.APIStatusError) as caught:
            claude.messages.create(model="shared-anthropic", max_tokens=16,
                                   messages=say(tag(), hang_s=1),  # type: ignore[arg-type]
                                   extra_headers={"x-llmswitch-timeout-ms": "50"})
        assert caught.value.status_code == 504
    assert state(gateway, "shared-anthropic") == "healthy"


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_clients_that_leave_before_the_answer_never_open_the_circuit(gateway: Process, stream: bool) -> None:
    impatient = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="x", max_retries=0, timeout=0.2)
    for _ in range(4):
        with pytest.raises(openai.APITimeoutError):
            impatient.chat.completions.create(model="left-early", stream=stream,
                                              messages=say(tag(), hang_s=1))  # type: ignore[arg-type]
    time.sleep(0.2)  # the gateway sees each disconnect a moment after the client gives up
    assert state(gateway, "left-early") == "healthy"


def test_a_rejected_upstream_key_is_probed_after_the_cooldown_and_comes_back_once_it_works(
        client: openai.OpenAI, gateway: Process, fake: Process) -> None:
    marker = tag()
    messages = say(marker, status=401, message="invalid key", fail_first=1, key=marker)
    assert ask(client, "key-renewed", messages)[0] == 401
    assert state(gateway, "key-renewed") == "disabled"
    assert ask(client, "key-renewed", messages)[0] == 503  # not hammered: refused until the cool-down
    time.sleep(COOLDOWN_S + 0.1)
    status, _ = ask(client, "key-renewed", messages)  # the fake takes the key again
    assert status == 200 and len(received(fake.url, marker)) == 2
    assert state(gateway, "key-renewed") == "healthy"


# --- one deadline per request -------------------------------------------------------------------------
@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_the_clients_timeout_bounds_the_whole_request_not_each_attempt(
        client: openai.OpenAI, fake: Process, stream: bool) -> None:
    marker = tag()
    started = time.monotonic()
    status, _ = ask(client, "three-hanging", say(marker, hang_s=10), stream=stream,
                    extra_headers={"x-llmswitch-timeout-ms": "1000"})
    elapsed = time.monotonic() - started
    assert status == 504 and 0.95 <= elapsed < 2.5  # three attempts of 1 s each took 3 s
    assert len(received(fake.url, marker)) == 1  # the first attempt used all of it; none was started late


def post(gateway: Process, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(gateway.url + "/v1/chat/completions", data=json.dumps(body).encode(),
                                     method="POST", headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


CHAT = {"model": "parse", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("value", ["nan", "NaN", "-1", "0", "abc", "-inf", ""])
def test_a_timeout_header_that_is_not_a_positive_number_is_a_400_naming_timeout(gateway: Process, value: str) -> None:
    status, body = post(gateway, CHAT, {"x-llmswitch-timeout-ms": value})
    assert status == 400 and body["error"]["param"] == "timeout"


@pytest.mark.parametrize("value", ["abc", True, [1], {"ms": 1}, -5, 0], ids=repr)
def test_a_body_timeout_that_is_not_a_positive_number_is_a_400_naming_timeout(gateway: Process, value: Any) -> None:
    status, body = post(gateway, {**CHAT, "timeout": value})
    assert status == 400 and body["error"]["param"] == "timeout"


@pytest.mark.parametrize("value", ["inf", "1e400", "9" * 500])
def test_a_timeout_too_large_for_a_float_is_clamped_to_the_maximum(gateway: Process, value: str) -> None:
    status, body = post(gateway, CHAT, {"x-llmswitch-timeout-ms": value})
    assert status == 200 and body["choices"][0]["message"]["content"] == "You said: hi"


def test_a_body_timeout_given_as_a_huge_integer_is_clamped_too(gateway: Process) -> None:
    status, _ = post(gateway, {**CHAT, "timeout": 10 ** 18})
    assert status == 200
