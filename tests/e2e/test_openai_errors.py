"""Validation and error classes of the OpenAI surface, as the official SDK sees them."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from typing import Any

import openai
import pytest

from tests.e2e.conftest import gateway_config
from tests.support.fake import fake_directive, fake_get
from tests.support.processes import Process, start_gateway


def post(gateway: Process, body: bytes, headers: dict[str, str] | None = None,
         path: str = "/v1/chat/completions") -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(gateway.url + path, data=body, method="POST",
                                     headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def bad_request(client: openai.OpenAI, **params: Any) -> openai.BadRequestError:
    params.setdefault("model", "gpt-4o")
    params.setdefault("messages", [{"role": "user", "content": "hi"}])
    with pytest.raises(openai.BadRequestError) as excinfo:
        client.chat.completions.create(**params)
    return excinfo.value


@pytest.mark.parametrize(("params", "param"), [
    ({"temperature": 2.5}, "temperature"),
    ({"temperature": -0.1}, "temperature"),
    ({"top_p": 1.5}, "top_p"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"max_completion_tokens": -3}, "max_completion_tokens"),
    ({"n": 0}, "n"),
    ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "robot", "content": "hi"}]}, "messages[0].role"),
    ({"messages": [{"role": "user", "content": [{"type": "hologram"}]}]}, "messages[0].content[0]"),
])
def test_invalid_parameter_is_a_400_naming_it(client: openai.OpenAI, params: dict[str, Any], param: str) -> None:
    error = bad_request(client, **params)
    assert error.param == param
    assert error.body["type"] == "invalid_request_error"  # type: ignore[index]


def test_missing_model_is_a_400_naming_model(gateway: Process) -> None:
    status, _, body = post(gateway, json.dumps({"messages": [{"role": "user", "content": "x"}]}).encode())
    assert status == 400 and body["error"]["param"] == "model"


def test_missing_messages_is_a_400_naming_messages(gateway: Process) -> None:
    status, _, body = post(gateway, json.dumps({"model": "gpt-4o"}).encode())
    assert status == 400 and body["error"]["param"] == "messages"


def test_messages_not_an_array_is_a_400(gateway: Process) -> None:
    status, _, body = post(gateway, json.dumps({"model": "gpt-4o", "messages": "hi"}).encode())
    assert status == 400 and body["error"]["param"] == "messages"


def test_invalid_json_is_a_400_in_openai_shape(gateway: Process) -> None:
    status, _, body = post(gateway, b"{not json")
    assert status == 400
    assert set(body["error"]) >= {"message", "type", "param", "code"}
    assert body["error"]["code"] == "invalid_json"


def test_wrong_content_type_is_a_400(gateway: Process) -> None:
    status, _, body = post(gateway, b"model=gpt-4o", headers={"content-type": "application/x-www-form-urlencoded"})
    assert status == 400 and body["error"]["code"] == "invalid_content_type"


def test_body_over_the_limit_is_a_413(fake: Process) -> None:
    with start_gateway(gateway_config(fake.url, server={"max_body_mb": 0.01})) as gateway:
        big = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "x" * 20_000}]}).encode()
        status, _, body = post(gateway, big)
    assert status == 413 and body["error"]["code"] == "request_too_large"


def test_request_id_is_honoured_in_header_and_body(gateway: Process) -> None:
    status, headers, body = post(gateway, b"{", headers={"x-request-id": "trace-123"})
    assert headers["x-request-id"] == "trace-123"
    assert body["error"]["request_id"] == "trace-123"


def test_request_id_is_generated_when_absent(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=[{"role": "user", "content": "a"}])
    assert raw.headers["x-request-id"].startswith("req_")


@pytest.mark.parametrize(("status", "exception"), [
    (400, openai.BadRequestError), (401, openai.AuthenticationError), (403, openai.PermissionDeniedError),
    (404, openai.NotFoundError), (429, openai.RateLimitError), (500, openai.InternalServerError),
])
def test_upstream_error_keeps_its_status_and_message(client: openai.OpenAI, status: int,
                                                     exception: type[openai.APIStatusError]) -> None:
    text = fake_directive(status=status, message=f"upstream says {status}")
    with pytest.raises(exception) as excinfo:
        client.chat.completions.create(model=f"fault-{status}", messages=[{"role": "user", "content": text}])
    assert excinfo.value.status_code == status
    assert f"upstream says {status}" in excinfo.value.message


def test_upstream_error_message_never_carries_the_upstream_key(client: openai.OpenAI) -> None:
    text = fake_directive(status=401, message="bad key")
    with pytest.raises(openai.AuthenticationError) as excinfo:
        client.chat.completions.create(model="fault-key", messages=[{"role": "user", "content": text}])
    assert "upstream-secret-1" not in json.dumps(excinfo.value.body)


def test_unreachable_upstream_is_a_502(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as excinfo:
        client.chat.completions.create(model="dead-model", messages=[{"role": "user", "content": "hi"}])
    assert excinfo.value.status_code == 502


def test_upstream_slower_than_the_request_timeout_is_a_504(client: openai.OpenAI) -> None:
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as excinfo:
        client.chat.completions.create(model="fault-hang",
                                       messages=[{"role": "user", "content": fake_directive(hang_s=5)}],
                                       extra_headers={"x-llmswitch-timeout-ms": "400"})
    assert excinfo.value.status_code == 504
    assert time.monotonic() - started < 3


def test_timeout_in_the_body_is_honoured_and_not_forwarded(client: openai.OpenAI, fake: Process) -> None:
    with pytest.raises(openai.APIStatusError) as excinfo:
        client.chat.completions.create(model="fault-body-timeout",
                                       messages=[{"role": "user", "content": fake_directive(hang_s=5)}],
                                       extra_body={"timeout": 300})
    assert excinfo.value.status_code == 504
    forwarded = [r for r in fake_get(fake.url, "/_fake/requests") if "hang_s" in json.dumps(r.get("body"))]
    assert forwarded and all("timeout" not in r["body"] for r in forwarded)


def test_reset_mid_stream_ends_the_stream_with_an_error_frame(client: openai.OpenAI) -> None:
    text = fake_directive(reset_after=2, chunks=6, text="one two three four five six")
    with pytest.raises(openai.APIError):
        list(client.chat.completions.create(model="fault-reset", messages=[{"role": "user", "content": text}],
                                            stream=True))


def test_idle_stream_gets_keepalive_comments(gateway: Process) -> None:
    body = json.dumps({"model": "fault-idle", "stream": True, "messages": [
        {"role": "user", "content": fake_directive(delay_ms=800, chunks=3, text="a b c")}]}).encode()
    request = urllib.request.Request(gateway.url + "/v1/chat/completions", data=body, method="POST",
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=20) as response:
        raw = response.read().decode()
    assert ": ping" in raw
    assert raw.rstrip().endswith("data: [DONE]")


async def test_more_requests_than_max_concurrency_get_503_with_retry_after(fake: Process) -> None:
    with start_gateway(gateway_config(fake.url, server={"max_concurrency": 2})) as gateway:
        client = openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key="x", max_retries=0, timeout=20)
        slow = [{"role": "user", "content": fake_directive(hang_s=1.5)}]
        busy = [asyncio.create_task(client.chat.completions.create(model="gpt-4o", messages=slow)) for _ in range(2)]
        await asyncio.sleep(0.5)
        with pytest.raises(openai.APIStatusError) as excinfo:
            await client.chat.completions.with_raw_response.create(model="gpt-4o", messages=slow)
        await asyncio.gather(*busy)
    assert excinfo.value.status_code == 503
    assert excinfo.value.response.headers["retry-after"] == "1"


async def test_client_disconnect_cancels_the_upstream_request(gateway: Process, fake: Process) -> None:
    before = fake_get(fake.url, "/_fake/stats")["disconnects"]
    client = openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key="x", max_retries=0, timeout=20)
    text = fake_directive(delay_ms=300, chunks=20, text=" ".join(["word"] * 20))
    stream = await client.chat.completions.create(model="fault-disconnect", stream=True,
                                                  messages=[{"role": "user", "content": text}])
    async for _chunk in stream:
        break
    await stream.close()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and fake_get(fake.url, "/_fake/stats")["disconnects"] == before:
        await asyncio.sleep(0.05)
    assert fake_get(fake.url, "/_fake/stats")["disconnects"] == before + 1


async def test_client_leaving_before_a_non_streaming_answer_cancels_the_upstream_request(
        gateway: Process, fake: Process) -> None:
    before = fake_get(fake.url, "/_fake/stats")["disconnects"]
    client = openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key="x", max_retries=0, timeout=0.5)
    with pytest.raises(openai.APITimeoutError):
        await client.chat.completions.create(model="fault-disconnect",
                                             messages=[{"role": "user", "content": fake_directive(hang_s=10)}])
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and fake_get(fake.url, "/_fake/stats")["disconnects"] == before:
        await asyncio.sleep(0.05)
    assert fake_get(fake.url, "/_fake/stats")["disconnects"] == before + 1


def test_cors_preflight_is_answered(gateway: Process) -> None:
    request = urllib.request.Request(gateway.url + "/v1/chat/completions", method="OPTIONS", headers={
        "origin": "http://app.example", "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 204
        assert response.headers["access-control-allow-origin"] == "*"
        assert "POST" in response.headers["access-control-allow-methods"]


def test_cors_header_is_on_ordinary_responses(gateway: Process) -> None:
    request = urllib.request.Request(gateway.url + "/v1/models", headers={"origin": "http://app.example"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.headers["access-control-allow-origin"] == "*"
