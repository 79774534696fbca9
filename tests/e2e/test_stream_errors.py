"""Error frames inside a 200 stream, from every upstream dialect, as the official clients expect them.

Both SDKs and raw HTTP -> gateway process -> one fake upstream process that answers 200 and then
sends its dialect's own in-stream error (`error_after`): OpenAI `data: {"error": {...}}`, Anthropic
`event: error`, Gemini `data: {"error": {"code", "message", "status"}}`.

Before any content the error fails the attempt like an HTTP error of its status, so the next
deployment answers (`fail_first` gives the error to the first attempt only) and the client sees
one clean stream. After content the client's stream ends with its own dialect's error event and
nothing after it: no finish chunk, no `[DONE]`, no `message_delta`/`message_stop`. The upstream's
text reaches the client scrubbed of the upstream key it quotes.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from tests.support.fake import fake_directive
from tests.support.processes import Process, start_gateway

KINDS = ("openai", "anthropic", "gemini")
CLIENTS = ("openai", "anthropic")
BASE_URL = {"anthropic": "", "openai": "/v1", "gemini": "/v1beta"}
UPSTREAM_KEY = "sk-upstream-stream-errors-0123456789"
QUOTED = f"Incorrect API key provided: {UPSTREAM_KEY}"  # what a careless upstream says
ANSWER = "one two three"
# Frames each dialect sends before its first content (with the directive that makes them), and the
# frame count after which the first piece of text has gone out.
OPENING = {"anthropic": (3, {}), "openai": (2, {"blank_frames": 1}), "gemini": (2, {"blank_frames": 2})}
AFTER_FIRST_TEXT = {"anthropic": 4, "openai": 2, "gemini": 1}
CASES = [(kind, client) for kind in KINDS for client in CLIENTS]


def deployments(kind: str) -> list[dict[str, Any]]:
    extra = {"max_tokens_default": 256} if kind == "anthropic" else {}
    return [{"provider": f"{kind}-1", "priority": 0, **extra}, {"provider": f"{kind}-2", "priority": 1, **extra}]


# A failure cools its target down, so each case gets models of its own.
MODELS = {f"{case}-{kind}-{client}": deployments(kind) for case in ("first", "opening", "after", "only")
          for kind, client in CASES}
MODELS |= {f"single-{kind}-{client}": deployments(kind)[:1] for kind, client in CASES}


@pytest.fixture(scope="module")
def gateway(fake: Process) -> Iterator[Process]:
    config = {
        "server": {"keepalive_s": 0.3},
        "routing": {"circuit_failures": 100},
        "providers": {f"{kind}-{n}": {"type": kind, "base_url": fake.url + BASE_URL[kind],
                                      "api_keys": [UPSTREAM_KEY]} for kind in KINDS for n in (1, 2)},
        "models": MODELS,
    }
    with start_gateway(config) as process:
        yield process


def prompt(**directive: Any) -> str:
    return f"m-{uuid.uuid4().hex[:10]} {fake_directive(text=ANSWER, chunks=3, **directive)}"


def failing_first(kind: str, at: str, status: int = 500) -> str:
    """A prompt whose first attempt gets an error frame before content: first thing, or after the
    dialect's content-free opening frames."""
    frames, opening = (0, {}) if at == "first" else OPENING[kind]
    return prompt(error_after=frames, status=status, message=QUOTED, fail_first=1, key=uuid.uuid4().hex,
                  **opening)


def failing_after_content(kind: str) -> str:
    return prompt(error_after=AFTER_FIRST_TEXT[kind], status=500, message=QUOTED)


def openai_client(gateway: Process) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="x", max_retries=0, timeout=20)


def anthropic_client(gateway: Process) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.url, api_key="x", max_retries=0, timeout=20)


def raw_stream(gateway: Process, client: str, model: str, text: str) -> tuple[dict[str, str], bytes]:
    """The gateway's answer headers and body bytes, read as they are on the wire."""
    path = "/v1/chat/completions" if client == "openai" else "/v1/messages"
    body = {"model": model, "stream": True, "messages": [{"role": "user", "content": text}]}
    if client == "anthropic":
        body["max_tokens"] = 64
    request = urllib.request.Request(gateway.url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"content-type": "application/json", "x-api-key": "x",
                                              "anthropic-version": "2023-06-01"})
    with urllib.request.urlopen(request, timeout=20) as response:
        return dict(response.headers), response.read()


def frames(body: bytes) -> list[bytes]:
    return [frame for frame in body.split(b"\n\n") if frame and not frame.startswith(b":")]


def assert_scrubbed(message: str) -> None:
    assert "Incorrect API key provided: [redacted]" in message
    assert UPSTREAM_KEY not in message


# --- before content: the next deployment answers --------------------------------------------

@pytest.mark.parametrize("at", ["first", "opening"])
@pytest.mark.parametrize("kind", KINDS)
def test_an_openai_client_sees_one_clean_stream_from_the_next_deployment(gateway: Process, kind: str,
                                                                        at: str) -> None:
    raw = openai_client(gateway).chat.completions.with_raw_response.create(
        model=f"{at}-{kind}-openai", stream=True, messages=[{"role": "user", "content": failing_first(kind, at)}])
    chunks = [c for c in raw.parse() if c.choices]
    assert raw.headers["x-llmswitch-attempts"] == "2"
    assert raw.headers["x-llmswitch-deployment"].startswith(f"{kind}-2/")
    assert sum(c.choices[0].delta.role is not None for c in chunks) == 1
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == ANSWER
    assert [c.choices[0].finish_reason for c in chunks if c.choices[0].finish_reason] == ["stop"]


@pytest.mark.parametrize("at", ["first", "opening"])
@pytest.mark.parametrize("kind", KINDS)
def test_an_anthropic_client_sees_one_clean_message_from_the_next_deployment(gateway: Process, kind: str,
                                                                            at: str) -> None:
    raw = anthropic_client(gateway).messages.with_raw_response.create(
        model=f"{at}-{kind}-anthropic", max_tokens=64, stream=True,
        messages=[{"role": "user", "content": failing_first(kind, at)}])
    events = list(raw.parse())
    types = [e.type for e in events]
    assert raw.headers["x-llmswitch-attempts"] == "2"
    assert types.count("message_start") == 1 and types[0] == "message_start" and types[-1] == "message_stop"
    assert "error" not in types
    assert "".join(e.delta.text for e in events if e.type == "content_block_delta") == ANSWER


@pytest.mark.parametrize(("kind", "client"), CASES)
def test_the_raw_stream_carries_nothing_of_the_abandoned_attempt(gateway: Process, kind: str, client: str) -> None:
    headers, body = raw_stream(gateway, client, f"only-{kind}-{client}", failing_first(kind, "opening"))
    assert headers["x-llmswitch-attempts"] == "2"
    assert b"Incorrect API key" not in body and b'"error"' not in body


@pytest.mark.parametrize(("kind", "client"), CASES)
def test_with_no_next_target_the_error_is_the_http_answer_of_its_status(gateway: Process, kind: str,
                                                                        client: str) -> None:
    text = prompt(error_after=0, status=429, message=QUOTED)
    with pytest.raises(openai.RateLimitError if client == "openai" else anthropic.RateLimitError) as raised:
        if client == "openai":
            openai_client(gateway).chat.completions.create(model=f"single-{kind}-{client}", stream=True,
                                                           messages=[{"role": "user", "content": text}])
        else:
            anthropic_client(gateway).messages.create(model=f"single-{kind}-{client}", max_tokens=64, stream=True,
                                                      messages=[{"role": "user", "content": text}])
    assert raised.value.status_code == 429
    assert_scrubbed(raised.value.message if client == "openai" else raised.value.body["error"]["message"])


# --- after content: the client's own error event, and nothing after it ----------------------

@pytest.mark.parametrize("kind", KINDS)
def test_the_openai_sdk_raises_the_upstreams_scrubbed_error_from_the_stream(gateway: Process, kind: str) -> None:
    stream = openai_client(gateway).chat.completions.create(
        model=f"after-{kind}-openai", stream=True, messages=[{"role": "user", "content": failing_after_content(kind)}])
    text = []
    with pytest.raises(openai.APIError) as raised:
        for chunk in stream:
            text += [c.delta.content or "" for c in chunk.choices]
    shown = "".join(text)
    assert shown and ANSWER.startswith(shown) and shown != ANSWER  # the first piece, then the error
    assert_scrubbed(raised.value.message)
    assert raised.value.body["message"] == raised.value.message


@pytest.mark.parametrize("kind", KINDS)
def test_the_openai_stream_ends_with_the_error_frame_and_no_done_after_it(gateway: Process, kind: str) -> None:
    _, body = raw_stream(gateway, "openai", f"after-{kind}-openai", failing_after_content(kind))
    last = frames(body)[-1]
    assert last.startswith(b"data: ")
    error = json.loads(last[len(b"data: "):])["error"]
    assert_scrubbed(error["message"])
    assert set(error) == {"message", "type", "param", "code"}
    assert b"[DONE]" not in body and b'"finish_reason":"stop"' not in body


@pytest.mark.parametrize("kind", KINDS)
def test_the_anthropic_sdk_raises_on_the_error_event(gateway: Process, kind: str) -> None:
    stream = anthropic_client(gateway).messages.create(
        model=f"after-{kind}-anthropic", max_tokens=64, stream=True,
        messages=[{"role": "user", "content": failing_after_content(kind)}])
    seen = []
    with pytest.raises(anthropic.APIStatusError) as raised:
        for event in stream:
            seen.append(event.type)
    assert "content_block_delta" in seen
    assert raised.value.body["type"] == "error" and raised.value.body["error"]["type"] == "api_error"
    assert_scrubbed(raised.value.body["error"]["message"])


@pytest.mark.parametrize("kind", KINDS)
def test_the_anthropic_stream_ends_with_the_error_event_and_no_stop_after_it(gateway: Process, kind: str) -> None:
    _, body = raw_stream(gateway, "anthropic", f"after-{kind}-anthropic", failing_after_content(kind))
    last = frames(body)[-1]
    assert last.startswith(b"event: error\ndata: ")
    assert_scrubbed(json.loads(last.split(b"data: ", 1)[1])["error"]["message"])
    assert b"message_delta" not in body and b"message_stop" not in body
