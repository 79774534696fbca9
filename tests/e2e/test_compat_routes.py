"""The body-keyed routes of the proxies we replace (`POST /openai`, `/chatgpt`, `/embeddings`,
`/openai/audio/transcriptions`), the
`/` status page and the status routes' throttle, through real processes: the gateway in keys,
open and passthrough mode in front of the fake upstream, driven with raw HTTP and the bodies
those proxies' clients send (and the openai SDK's low-level `post`, to show its parsing works).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletion

from llmswitch import __version__
from tests.e2e.compat_fixtures import ANTHROPIC_KEY, MASTER, OPENAI_KEY, admin_key, config
from tests.e2e.compat_fixtures import fake, keys, open_gateway  # noqa: F401 (this module's fixtures)
from tests.support.compat import call, timeout_line
from tests.support.fake import fake_directive, received
from tests.support.processes import Process, start_gateway

COMPAT_ONLY = ("security_key", "openai_api_key", "project", "organization", "timeout", "image")


@pytest.fixture(scope="module")
def throttled(fake: Process) -> Iterator[Process]:
    """A tight throttle, and a timeout cap below the default."""
    with start_gateway(config(fake, auth={"mode": "open"},
                              server={"status_rps": 1, "status_burst": 3, "timeout_s": 2, "max_timeout_s": 1}),
                       env={"LLMSWITCH_LOG_LEVEL": "DEBUG"}) as process:
        yield process


def chat(marker: str, **fields: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": [{"role": "system", "content": "You are a helpful assistant."},
                                            {"role": "user", "content": f"What is TypeScript? {marker}"}],
            "temperature": 0.7, "max_tokens": 500, **fields}


def one(fake: Process, marker: str) -> dict[str, Any]:
    [sent] = received(fake.url, marker)
    return sent


# --- POST /openai ---------------------------------------------------------------------------------
def test_openai_answers_a_chat_completion_to_the_master_key(keys: Process, fake: Process) -> None:
    marker = uuid.uuid4().hex
    status, _, answer = call(f"{keys.url}/openai", chat(marker, security_key=MASTER))
    assert status == 200
    assert answer["object"] == "chat.completion" and answer["model"] == "gpt-4o"
    assert answer["choices"][0]["message"]["content"].startswith("You said: What is TypeScript?")
    sent = one(fake, marker)
    assert sent["path"] == "/v1/chat/completions" and sent["body"]["model"] == "up-gpt"
    assert sent["headers"]["authorization"] == f"Bearer {OPENAI_KEY}"


def test_openai_takes_a_virtual_key_as_security_key(keys: Process) -> None:
    status, _, answer = call(f"{keys.url}/openai", chat(uuid.uuid4().hex, security_key=admin_key(keys)["key"]))
    assert status == 200 and answer["object"] == "chat.completion"


@pytest.mark.parametrize(("fields", "code"), [
    ({"security_key": "wrong-key-0005"}, "invalid_security_key"),
    ({}, "missing_security_key"),
    ({"security_key": ""}, "missing_security_key"),
    ({"security_key": 12345}, "invalid_security_key"),
])
@pytest.mark.parametrize("route", ["/openai", "/chatgpt", "/embeddings"])
def test_a_wrong_or_missing_security_key_is_a_403_in_openai_shape(keys: Process, fake: Process, route: str,
                                                                  fields: dict[str, Any], code: str) -> None:
    marker = uuid.uuid4().hex
    body = {**chat(marker), "prompt": marker, "input": marker, **fields}
    status, _, answer = call(f"{keys.url}{route}", body)
    assert status == 403
    assert set(answer["error"]) >= {"message", "type", "param", "code"}
    assert answer["error"]["param"] == "security_key" and answer["error"]["code"] == code
    assert received(fake.url, marker) == []


def test_an_expired_virtual_key_is_a_403_saying_so(keys: Process) -> None:
    key = admin_key(keys, expires_at=1.0)
    status, _, answer = call(f"{keys.url}/openai", chat(uuid.uuid4().hex, security_key=key["key"]))
    assert status == 403 and answer["error"]["code"] == "expired_api_key" and "expired" in answer["error"]["message"]


def test_an_authorization_header_does_not_stand_in_for_the_security_key(keys: Process) -> None:
    status, _, answer = call(f"{keys.url}/openai", chat(uuid.uuid4().hex), headers={"authorization": f"Bearer {MASTER}"})
    assert status == 403 and answer["error"]["code"] == "missing_security_key"


def test_the_403_comes_before_any_judgement_of_the_body(keys: Process) -> None:
    status, _, _ = call(f"{keys.url}/openai", {"model": "gpt-4o", "messages": "not a list", "stream": True})
    assert status == 403


def test_open_mode_takes_any_security_key_or_none(open_gateway: Process) -> None:
    for fields in ({}, {"security_key": "anything"}, {"security_key": 7}):
        status, _, answer = call(f"{open_gateway.url}/openai", chat(uuid.uuid4().hex, **fields))
        assert status == 200, answer


def test_a_body_posted_as_text_plain_is_read_as_json(keys: Process) -> None:
    status, _, answer = call(f"{keys.url}/openai", headers={"content-type": "text/plain;charset=UTF-8"},
                             raw=json.dumps(chat(uuid.uuid4().hex, security_key=MASTER)).encode())
    assert status == 200 and answer["object"] == "chat.completion"


def test_stream_true_is_a_400_naming_stream(keys: Process, fake: Process) -> None:
    marker = uuid.uuid4().hex
    status, _, answer = call(f"{keys.url}/openai", chat(marker, security_key=MASTER, stream=True))
    assert status == 400 and answer["error"]["param"] == "stream"
    assert received(fake.url, marker) == []


def test_an_invalid_chat_body_is_a_400_as_on_v1(keys: Process) -> None:
    status, _, answer = call(f"{keys.url}/openai", chat(uuid.uuid4().hex, security_key=MASTER, temperature=5))
    assert status == 400 and answer["error"]["param"] == "temperature"


def test_no_compat_field_reaches_the_upstream(keys: Process, fake: Process) -> None:
    marker = uuid.uuid4().hex
    call(f"{keys.url}/openai", chat(marker, security_key=MASTER, openai_api_key="sk-client-0006", project="proj_a",
                                    organization="org_a", timeout=30_000, image={"url": "https://example.com/a.png"}))
    body = one(fake, marker)["body"]
    assert not set(COMPAT_ONLY) & set(body)
    assert MASTER not in json.dumps(one(fake, marker))


def test_an_image_url_joins_the_last_user_message(keys: Process, fake: Process) -> None:
    marker = uuid.uuid4().hex
    status, _, _ = call(f"{keys.url}/openai", {**chat(marker, security_key=MASTER),
                                               "image": {"url": "https://example.com/ant.jpg"}})
    assert status == 200
    last = one(fake, marker)["body"]["messages"][-1]
    assert last == {"role": "user", "content": [{"type": "text", "text": f"What is TypeScript? {marker}"},
                                                {"type": "image_url", "image_url": {"url": "https://example.com/ant.jpg"}}]}


def test_a_base64_image_reaches_anthropic_with_its_own_media_type(keys: Process, fake: Process) -> None:
    marker = uuid.uuid4().hex
    jpeg = "/9j/4AAAAAAAAAAA"
    status, _, answer = call(f"{keys.url}/openai", {**chat(marker, security_key=MASTER, model="claude"),
                                                    "image": {"base64": jpeg}})
    assert status == 200, answer
    sent = one(fake, marker)
    assert sent["path"] == "/v1/messages"
    image = sent["body"]["messages"][-1]["content"][-1]
    assert image["type"] == "image" and image["source"] == {"type": "base64", "media_type": "image/jpeg", "data": jpeg}


def test_a_bad_image_is_a_400_naming_image(keys: Process) -> None:
    status, _, answer = call(f"{keys.url}/openai", chat(uuid.uuid4().hex, security_key=MASTER, image={"path": "a.png"}))
    assert status == 400 and answer["error"]["param"] == "image"


def test_project_and_organization_reach_an_openai_upstream_as_its_headers(keys: Process, fake: Process) -> None:
    marker = uuid.uuid4().hex
    call(f"{keys.url}/openai", chat(marker, security_key=MASTER, project="proj_compat", organization="org-compat"))
    headers = one(fake, marker)["headers"]
    assert headers["openai-project"] == "proj_compat" and headers["openai-organization"] == "org-compat"


def test_project_and_organization_never_reach_an_anthropic_upstream(keys: Process, fake: Process) -> None:
    marker = uuid.uuid4().hex
    call(f"{keys.url}/openai", chat(marker, security_key=MASTER, model="claude", project="p", organization="o"))
    headers = one(fake, marker)["headers"]
    assert "openai-project" not in headers and "openai-organization" not in headers


def test_a_project_that_cannot_be_a_header_is_a_400_naming_it(keys: Process) -> None:
    status, _, answer = call(f"{keys.url}/openai", chat(uuid.uuid4().hex, security_key=MASTER, project="a\r\nb: c"))
    assert status == 400 and answer["error"]["param"] == "project"


def test_openai_api_key_is_ignored_unless_the_config_allows_it(keys: Process, fake: Process) -> None:
    marker = uuid.uuid4().hex
    status, _, _ = call(f"{keys.url}/openai", chat(marker, security_key=MASTER, openai_api_key="sk-client-0007"))
    assert status == 200
    assert one(fake, marker)["headers"]["authorization"] == f"Bearer {OPENAI_KEY}"


def test_openai_api_key_is_the_upstream_key_when_allowed(open_gateway: Process, fake: Process) -> None:
    marker = uuid.uuid4().hex
    status, _, _ = call(f"{open_gateway.url}/openai", chat(marker, openai_api_key="sk-client-0008"))
    assert status == 200
    assert one(fake, marker)["headers"]["authorization"] == "Bearer sk-client-0008"


def test_an_allowed_openai_api_key_never_goes_to_an_anthropic_upstream(open_gateway: Process, fake: Process) -> None:
    marker = uuid.uuid4().hex
    status, _, _ = call(f"{open_gateway.url}/openai", chat(marker, model="claude", openai_api_key="sk-client-0009"))
    assert status == 200
    headers = one(fake, marker)["headers"]
    assert headers["x-api-key"] == ANTHROPIC_KEY and "sk-client-0009" not in json.dumps(headers)


def test_a_client_key_the_upstream_refuses_is_its_401_and_leaves_the_target_healthy(open_gateway: Process) -> None:
    refused = chat(fake_directive(status=401, message="Incorrect API key provided"), openai_api_key="sk-bad-0010")
    status, _, answer = call(f"{open_gateway.url}/openai", refused)
    assert status == 401 and "sk-bad-0010" not in json.dumps(answer)
    status, _, _ = call(f"{open_gateway.url}/openai", chat(uuid.uuid4().hex))
    assert status == 200


def test_passthrough_mode_sends_the_security_key_upstream_as_a_bearer_would_be(fake: Process) -> None:
    marker = uuid.uuid4().hex
    with start_gateway(config(fake, auth={"mode": "passthrough"})) as gateway:
        status, _, _ = call(f"{gateway.url}/openai", chat(marker, security_key="sk-passthrough-0011"))
        assert status == 200
        missing = call(f"{gateway.url}/openai", chat(uuid.uuid4().hex))[0]
    assert one(fake, marker)["headers"]["authorization"] == "Bearer sk-passthrough-0011"
    assert missing == 403


def test_the_openai_sdk_parses_the_answer_and_the_403(keys: Process) -> None:
    client = openai.OpenAI(base_url=f"{keys.url}/", api_key="unused", max_retries=0, timeout=20)
    completion = client.post("/openai", cast_to=ChatCompletion, body=chat(uuid.uuid4().hex, security_key=MASTER))
    assert completion.choices[0].message.content.startswith("You said:")  # type: ignore[union-attr]
    with pytest.raises(openai.PermissionDeniedError) as refused:
        client.post("/openai", cast_to=ChatCompletion, body=chat(uuid.uuid4().hex, security_key="nope"))
    assert refused.value.code == "invalid_security_key"


# --- POST /chatgpt --------------------------------------------------------------------------------
def test_chatgpt_answers_the_reply_text_model_and_usage(keys: Process, fake: Process) -> None:
    marker = uuid.uuid4().hex
    status, _, answer = call(f"{keys.url}/chatgpt", {"security_key": MASTER, "prompt": f"Explain {marker}",
                                                      "model": "gpt-4o", "temperature": 0.8})
    assert status == 200
    assert answer["text"] == f"You said: Explain {marker}" and answer["role"] == "assistant"
    assert answer["model"] == "gpt-4o" and answer["usage"]["total_tokens"] > 0
    assert answer["detail"]["object"] == "chat.completion" and answer["id"] == answer["detail"]["id"]
    sent = one(fake, marker)["body"]
    assert sent["messages"] == [{"role": "user", "content": f"Explain {marker}"}] and sent["temperature"] == 0.8


def test_chatgpt_without_a_model_asks_the_default_model(keys: Process, fake: Process) -> None:
    marker = uuid.uuid4().hex
    status, _, answer = call(f"{keys.url}/chatgpt", {"security_key": MASTER, "prompt": marker, "top_p": 0.5,
                                                      "max_tokens": 64, "conversationId": "ignored"})
    assert status == 200 and answer["model"] == "gpt-4o"
    sent = one(fake, marker)["body"]
    assert sent["model"] == "up-gpt" and sent["top_p"] == 0.5 and sent["max_tokens"] == 64
    assert "conversationId" not in sent and "prompt" not in sent


@pytest.mark.parametrize(("body", "param"), [({}, "prompt"), ({"prompt": 3}, "prompt"),
                                             ({"prompt": "x", "temperature": 3}, "temperature"),
                                             ({"prompt": "x", "model": 5}, "model")])
def test_a_bad_chatgpt_body_is_a_400_naming_the_field(keys: Process, body: dict[str, Any], param: str) -> None:
    status, _, answer = call(f"{keys.url}/chatgpt", {"security_key": MASTER, **body})
    assert status == 400 and answer["error"]["param"] == param


def test_chatgpt_without_a_model_or_a_default_model_is_a_400(fake: Process) -> None:
    with start_gateway(config(fake, auth={"mode": "open"}, default_model=None)) as gateway:
        status, _, answer = call(f"{gateway.url}/chatgpt", {"prompt": "hello"})
    assert status == 400 and answer["error"]["param"] == "model"


# --- POST /embeddings -----------------------------------------------------------------------------
def test_embeddings_answers_for_the_default_model_name_of_those_proxies(keys: Process, fake: Process) -> None:
    marker = uuid.uuid4().hex
    status, _, answer = call(f"{keys.url}/embeddings", {"security_key": MASTER, "input": marker, "dimensions": 8,
                                                         "unknown_field": True})
    assert status == 200
    assert answer["object"] == "list" and len(answer["data"][0]["embedding"]) == 8
    assert answer["model"] == "text-embedding-3-large"
    sent = one(fake, marker)["body"]
    assert sent["model"] == "up-embed" and "unknown_field" not in sent and "security_key" not in sent


def test_embeddings_with_a_bad_input_is_a_400_naming_input(keys: Process) -> None:
    status, _, answer = call(f"{keys.url}/embeddings", {"security_key": MASTER, "model": "embed", "input": []})
    assert status == 400 and answer["error"]["param"] == "input"


# --- POST /openai/audio/transcriptions ----------------------------------------------------------
WAV = b"RIFF" + (36 + 3200).to_bytes(4, "little") + b"WAVEfmt " + bytes.fromhex("1000000001000100803e0000007d0000"
                                                                              "02001000") + b"data" + \
    (3200).to_bytes(4, "little") + bytes(3200)


def multipart(parts: list[tuple[str, str | tuple[str, bytes]]]) -> tuple[bytes, str]:
    """A multipart form of PARTS in order: (name, text) or (name, (filename, bytes))."""
    boundary = uuid.uuid4().hex
    out = b""
    for name, value in parts:
        if isinstance(value, tuple):
            head = f'Content-Disposition: form-data; name="{name}"; filename="{value[0]}"\r\n' \
                   "Content-Type: audio/wav\r\n"
            data = value[1]
        else:
            head, data = f'Content-Disposition: form-data; name="{name}"\r\n', value.encode()
        out += f"--{boundary}\r\n{head}\r\n".encode() + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def transcribe(gateway: Process, parts: list[tuple[str, str | tuple[str, bytes]]],
               headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    body, content_type = multipart(parts)
    return call(f"{gateway.url}/openai/audio/transcriptions", raw=body,
                headers={"content-type": content_type, **(headers or {})})


@pytest.mark.parametrize("model", [[], [("model", "whisper-1")]], ids=["no model", "model before the file"])
def test_a_transcription_with_the_key_after_the_file_is_served(keys: Process, fake: Process,
                                                               model: list[tuple[str, str]]) -> None:
    marker = uuid.uuid4().hex
    status, _, answer = transcribe(keys, [*model, ("file", (f"{marker}.wav", WAV)), ("security_key", MASTER),
                                          ("language", "en"), ("response_format", "json"), ("project", "proj_audio"),
                                          ("timeout", "30000")])
    assert status == 200, answer
    assert answer["text"] == f"Transcript of {marker}.wav, {len(WAV)} bytes."
    sent = one(fake, marker)
    assert sent["path"] == "/v1/audio/transcriptions" and sent["body"]["model"] == "whisper-1"
    assert sent["body"]["language"] == "en" and sent["body"]["file"]["size"] == len(WAV)
    assert not set(COMPAT_ONLY) & set(sent["body"])
    assert sent["headers"]["openai-project"] == "proj_audio"
    assert sent["headers"]["authorization"] == f"Bearer {OPENAI_KEY}"


@pytest.mark.parametrize(("key", "code"), [("wrong-key-0012", "invalid_security_key"), (None, "missing_security_key")])
def test_a_transcription_with_a_wrong_or_missing_key_is_a_403_and_sends_nothing(keys: Process, fake: Process,
                                                                               key: str | None, code: str) -> None:
    marker = uuid.uuid4().hex
    parts: list[tuple[str, str | tuple[str, bytes]]] = [("model", "whisper-1"), ("file", (f"{marker}.wav", WAV))]
    if key is not None:
        parts.append(("security_key", key))
    status, _, answer = transcribe(keys, parts)
    assert status == 403 and answer["error"]["code"] == code and answer["error"]["param"] == "security_key"
    assert received(fake.url, marker) == []


def test_the_openai_sdk_transcribes_through_the_compat_route(keys: Process) -> None:
    client = openai.OpenAI(base_url=f"{keys.url}/openai", api_key="unused", max_retries=0, timeout=20)
    result = client.audio.transcriptions.create(file=("note.wav", WAV), model="whisper-1",
                                                extra_body={"security_key": MASTER})
    assert result.text == f"Transcript of note.wav, {len(WAV)} bytes."


def test_a_form_timeout_follows_the_compat_rules(open_gateway: Process) -> None:
    request_id = f"compat-{uuid.uuid4().hex}"
    status, _, _ = transcribe(open_gateway, [("file", ("a.wav", WAV)), ("timeout", "1e9")],
                              headers={"x-request-id": request_id})
    assert status == 200
    assert "timeout_s=5 timeout_source=form timeout_rule=clamped" in timeout_line(open_gateway, request_id)


# --- timeouts -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("timeout", "header", "logged"), [
    (None, None, "timeout_s=2 timeout_source=config timeout_rule=missing"),
    (500, None, "timeout_s=0.5 timeout_source=body timeout_rule=asked"),
    ("1500", None, "timeout_s=1.5 timeout_source=body timeout_rule=asked"),
    ("soon", None, "timeout_s=2 timeout_source=body timeout_rule=invalid"),
    (-1, None, "timeout_s=2 timeout_source=body timeout_rule=invalid"),
    (0, None, "timeout_s=2 timeout_source=body timeout_rule=invalid"),
    ("NaN", None, "timeout_s=2 timeout_source=body timeout_rule=invalid"),
    (True, None, "timeout_s=2 timeout_source=body timeout_rule=invalid"),
    (60_000, None, "timeout_s=5 timeout_source=body timeout_rule=clamped"),
    (500, "800", "timeout_s=0.8 timeout_source=header timeout_rule=asked"),
    (None, "abc", "timeout_s=2 timeout_source=header timeout_rule=invalid"),
])
def test_the_timeout_rules_are_applied_and_logged(open_gateway: Process, timeout: Any, header: str | None,
                                                  logged: str) -> None:
    request_id = f"compat-{uuid.uuid4().hex}"
    fields = {} if timeout is None else {"timeout": timeout}
    headers = {"x-request-id": request_id, **({} if header is None else {"x-llmswitch-timeout-ms": header})}
    status, _, _ = call(f"{open_gateway.url}/openai", chat(uuid.uuid4().hex, **fields), headers=headers)
    assert status == 200
    assert logged in timeout_line(open_gateway, request_id)


def test_a_cap_below_the_default_leaves_the_default(throttled: Process) -> None:
    request_id = f"compat-{uuid.uuid4().hex}"
    status, _, _ = call(f"{throttled.url}/openai", chat(uuid.uuid4().hex, timeout=60_000),
                        headers={"x-request-id": request_id})
    assert status == 200
    assert "timeout_s=2 timeout_source=body timeout_rule=clamped" in timeout_line(throttled, request_id)


def test_the_clients_timeout_bounds_the_upstream_call(open_gateway: Process) -> None:
    started = time.monotonic()
    status, _, _ = call(f"{open_gateway.url}/openai", chat(fake_directive(hang_s=5), timeout=300))
    assert status == 504 and time.monotonic() - started < 1.5


def test_an_invalid_timeout_leaves_the_default_where_v1_refuses_it(open_gateway: Process) -> None:
    started = time.monotonic()
    status, _, _ = call(f"{open_gateway.url}/openai", chat(fake_directive(hang_s=5), timeout="soon"))
    assert status == 504 and 1.8 < time.monotonic() - started < 4.5
    status, _, answer = call(f"{open_gateway.url}/v1/chat/completions", chat("strict", timeout="soon"))
    assert status == 400 and answer["error"]["param"] == "timeout"


# --- GET / and the throttle -----------------------------------------------------------------------
def test_the_status_page_shows_version_uptime_and_models_in_open_mode(open_gateway: Process, fake: Process) -> None:
    status, head, page = call(f"{open_gateway.url}/", method="GET")
    assert status == 200 and head["content-type"].startswith("text/html")
    assert f"version {__version__}" in page and " up " in page
    for name in ("gpt-4o", "claude", "embed", "whisper-1", "text-embedding-3-large"):
        assert f"<li>{name}</li>" in page
    assert "up-gpt" not in page and str(fake.port) not in page and OPENAI_KEY not in page


def test_the_status_page_shows_no_model_or_deployment_to_a_stranger_in_keys_mode(keys: Process) -> None:
    status, _, page = call(f"{keys.url}/", method="GET")
    assert status == 200 and "ready" in page
    assert "gpt-4o" not in page and "up-gpt" not in page and "claude" not in page
    assert "5 models" in page


def test_the_status_page_shows_each_target_to_the_master_key(keys: Process) -> None:
    status, _, page = call(f"{keys.url}/", method="GET", headers={"authorization": f"Bearer {MASTER}"})
    assert status == 200
    assert "<td>gpt-4o</td>" in page and "<td>up-gpt</td>" in page and "<td>healthy</td>" in page
    assert OPENAI_KEY not in page and ANTHROPIC_KEY not in page and MASTER not in page


def test_an_address_gets_its_burst_on_the_status_routes_then_a_429_with_retry_after(throttled: Process) -> None:
    time.sleep(3)  # a full bucket: 3 at 1 a second
    assert [call(f"{throttled.url}{path}", method="GET")[0] for path in ("/", "/health", "/health/ready")] == [200] * 3
    status, head, answer = call(f"{throttled.url}/health", method="GET")
    assert status == 429 and answer["error"]["type"] == "rate_limit_error"
    assert int(head["retry-after"]) == 1
    time.sleep(1)
    assert call(f"{throttled.url}/", method="GET")[0] == 200


@pytest.mark.parametrize("path", ["/", "/health", "/health/ready"])
def test_each_status_route_is_throttled(throttled: Process, path: str) -> None:
    for _ in range(6):
        status, head, _ = call(f"{throttled.url}{path}", method="GET")
        if status == 429:
            assert int(head["retry-after"]) >= 1
            return
    raise AssertionError(f"{path} was never throttled")


def test_the_default_throttle_leaves_a_busy_poller_alone(keys: Process) -> None:
    assert {call(f"{keys.url}/health", method="GET")[0] for _ in range(45)} == {200}


def test_the_throttle_leaves_the_api_routes_alone(throttled: Process) -> None:
    assert {call(f"{throttled.url}/v1/models", method="GET")[0] for _ in range(8)} == {200}
