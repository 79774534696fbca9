"""Fault directives and pacing, observed the way a client sees them: through the SDKs and the wire."""

from __future__ import annotations

import json
import time

import aiohttp
import anthropic
import openai
import pytest

from llmswitch.fake_upstream import running_fake
from tests.fake_upstream.conftest import say

pytestmark = pytest.mark.timeout(10)

AUTH = {"authorization": "Bearer x"}


def chat(text: str, **extra) -> dict:
    return {"model": "m", "messages": [{"role": "user", "content": text}], **extra}


async def test_status_and_retry_after_reach_the_openai_sdk_exception(openai_client):
    with pytest.raises(openai.RateLimitError) as caught:
        await openai_client.chat.completions.create(**chat(say(status=429, message="slow down", retry_after=7)))
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.body["message"] == "slow down"


async def test_status_529_is_an_anthropic_overloaded_error(anthropic_client):
    with pytest.raises(anthropic.OverloadedError) as caught:
        await anthropic_client.messages.create(model="m", max_tokens=5,
                                               messages=[{"role": "user", "content": say(status=529)}])
    assert caught.value.body["error"]["type"] == "overloaded_error"


async def test_status_in_gemini_uses_the_google_error_shape(fake):
    async with aiohttp.ClientSession() as session:
        async with session.post(fake.url + "/v1beta/models/g:generateContent", headers={"x-goog-api-key": "x"},
                                json={"contents": [{"role": "user", "parts": [{"text": say(status=429)}]}]}) as r:
            body = await r.json()
    assert r.status == 429
    assert body == {"error": {"code": 429, "message": "Too Many Requests", "status": "RESOURCE_EXHAUSTED"}}


async def test_hang_delays_the_headers(openai_client):
    started = time.monotonic()
    await openai_client.chat.completions.create(**chat(say(hang_s=0.4)))
    assert time.monotonic() - started >= 0.4


async def test_hang_longer_than_the_client_timeout_times_out(fake):
    async with openai.AsyncOpenAI(base_url=fake.url + "/v1", api_key="x", max_retries=0, timeout=0.3) as client:
        with pytest.raises(openai.APITimeoutError):
            await client.chat.completions.create(**chat(say(hang_s=3)))


async def test_reset_mid_stream_raises_in_the_openai_sdk_after_the_first_chunks(openai_client):
    received = []
    with pytest.raises(openai.APIConnectionError):
        stream = await openai_client.chat.completions.create(**chat(say(reset_after=3, chunks=5)), stream=True)
        async for chunk in stream:
            received.append(chunk)
    assert len(received) == 3


async def test_reset_mid_stream_leaves_an_anthropic_stream_incomplete(fake):
    async with aiohttp.ClientSession() as session:
        async with session.post(fake.url + "/v1/messages",
                                headers={"x-api-key": "x", "anthropic-version": "2023-06-01"},
                                json={"model": "m", "max_tokens": 5, "stream": True,
                                      "messages": [{"role": "user", "content": say(reset_after=2)}]}) as r:
            with pytest.raises(aiohttp.ClientPayloadError):
                await r.read()


async def test_reset_on_a_non_stream_request_drops_the_connection(openai_client):
    with pytest.raises(openai.APIConnectionError):
        await openai_client.chat.completions.create(**chat(say(reset_after=0)))


async def test_error_after_sends_an_in_stream_error_the_sdk_raises(openai_client):
    with pytest.raises(openai.APIError, match="boom"):
        stream = await openai_client.chat.completions.create(
            **chat(say(error_after=2, status=500, message="boom")), stream=True)
        async for _ in stream:
            pass


# Each dialect's request for a stream, and the exact error frame the real API sends inside one.
STREAMS = {
    "openai": ("/v1/chat/completions", AUTH,
               lambda text: {"model": "m", "stream": True, "messages": [{"role": "user", "content": text}]}),
    "anthropic": ("/v1/messages", {"x-api-key": "x", "anthropic-version": "2023-06-01"},
                  lambda text: {"model": "m", "max_tokens": 5, "stream": True,
                                "messages": [{"role": "user", "content": text}]}),
    "gemini": ("/v1beta/models/g:streamGenerateContent?alt=sse", {"x-goog-api-key": "x"},
               lambda text: {"contents": [{"role": "user", "parts": [{"text": text}]}]}),
}
ERROR_FRAMES = {
    "openai": b'data: {"error":{"message":"slow down","type":"requests","param":null,"code":"rate_limit_exceeded"}}'
              b"\n\n",
    "anthropic": b'event: error\ndata: {"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}\n\n',
    "gemini": b'data: {"error":{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED"}}\n\n',
}


async def raw_stream(fake, dialect: str, text: str) -> tuple[int, bytes]:
    path, headers, body = STREAMS[dialect]
    async with aiohttp.ClientSession() as session:
        async with session.post(fake.url + path, headers=headers, json=body(text)) as r:
            return r.status, await r.read()


@pytest.mark.parametrize("dialect", STREAMS)
async def test_error_after_zero_answers_200_with_only_the_dialects_own_error_frame(fake, dialect):
    status, body = await raw_stream(fake, dialect, say(error_after=0, status=429, message="slow down"))
    assert (status, body) == (200, ERROR_FRAMES[dialect])


@pytest.mark.parametrize("dialect", STREAMS)
async def test_error_after_content_ends_the_stream_with_the_error_frame_and_nothing_else(fake, dialect):
    status, body = await raw_stream(fake, dialect, say(error_after=2, status=429, message="slow down", chunks=4))
    assert status == 200 and body.endswith(ERROR_FRAMES[dialect]) and body.count(b"slow down") == 1
    assert b"[DONE]" not in body and b"message_stop" not in body


async def test_error_after_past_the_last_frame_sends_the_error_after_it(fake):
    status, body = await raw_stream(fake, "gemini", say(error_after=50, status=429, message="slow down"))
    assert status == 200 and body.count(b"candidates") >= 1 and body.endswith(ERROR_FRAMES["gemini"])


async def test_fail_first_faults_only_the_first_requests_with_the_key(openai_client):
    text = say(status=503, fail_first=2, key="retry-1")
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            await openai_client.chat.completions.create(**chat(text))
    reply = await openai_client.chat.completions.create(**chat(text))
    assert reply.choices[0].message.content == "You said: hello"


async def test_fail_first_counts_each_key_apart(openai_client):
    with pytest.raises(openai.InternalServerError):
        await openai_client.chat.completions.create(**chat(say(status=500, fail_first=1, key="a")))
    with pytest.raises(openai.InternalServerError):
        await openai_client.chat.completions.create(**chat(say(status=500, fail_first=1, key="b")))


async def test_fail_first_lets_the_sdk_retry_succeed(fake):
    async with openai.AsyncOpenAI(base_url=fake.url + "/v1", api_key="x", max_retries=2) as client:
        reply = await client.chat.completions.create(**chat(say(status=503, retry_after=0, fail_first=1)))
    assert reply.choices[0].message.content == "You said: hello"
    assert fake.stats()["paths"]["/v1/chat/completions"] == 2


async def test_stall_goes_silent_between_frames(openai_client):
    stream = await openai_client.chat.completions.create(**chat(say(stall_after=2, stall_s=0.5)), stream=True)
    arrivals = [time.monotonic() async for _ in stream]
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    assert max(gaps) >= 0.45
    assert gaps.index(max(gaps)) == 1


async def sse_frames(fake, path: str, body: dict, headers: dict) -> list[dict]:
    """The decoded data of every frame of one stream, read off the wire."""
    async with aiohttp.ClientSession() as session:
        async with session.post(fake.url + path, json=body, headers=headers) as r:
            raw = (await r.read()).decode()
    return [json.loads(line[6:]) for line in raw.splitlines() if line.startswith("data: {")]


async def test_an_anthropic_text_stream_opens_with_three_frames_that_show_nothing(fake):
    frames = await sse_frames(fake, "/v1/messages", {"model": "m", "max_tokens": 5, "stream": True, "messages": [
        {"role": "user", "content": "hi"}]}, {"x-api-key": "x", "anthropic-version": "2023-06-01"})
    assert [f["type"] for f in frames[:4]] == ["message_start", "content_block_start", "ping", "content_block_delta"]
    assert frames[1]["content_block"] == {"type": "text", "text": ""}


async def test_blank_frames_open_each_dialects_stream_with_frames_that_carry_no_content(fake):
    openai_frames = await sse_frames(fake, "/v1/chat/completions", chat(say(blank_frames=2), stream=True), AUTH)
    assert [f["choices"][0]["delta"] for f in openai_frames[:3]] == [{"role": "assistant", "content": ""}, {}, {}]
    anthropic_frames = await sse_frames(fake, "/v1/messages", {"model": "m", "max_tokens": 5, "stream": True,
                                                               "messages": [{"role": "user", "content": say(
                                                                   blank_frames=2)}]},
                                        {"x-api-key": "x", "anthropic-version": "2023-06-01"})
    assert [f["type"] for f in anthropic_frames[:4]] == ["message_start", "ping", "ping", "content_block_start"]
    gemini_frames = await sse_frames(fake, "/v1beta/models/g:streamGenerateContent?alt=sse",
                                     {"contents": [{"role": "user", "parts": [{"text": say(blank_frames=2)}]}]},
                                     {"x-goog-api-key": "x"})
    assert [f["candidates"][0]["content"]["parts"] for f in gemini_frames[:3]] == [
        [], [{"text": ""}], [{"text": "You "}]]


async def test_delay_ms_spaces_the_frames(openai_client):
    started = time.monotonic()
    stream = await openai_client.chat.completions.create(**chat(say(delay_ms=100, chunks=3)), stream=True)
    count = len([c async for c in stream])
    assert time.monotonic() - started >= (count - 1) * 0.1


async def test_latency_ms_delays_every_answer():
    async with running_fake(latency_ms=300) as fake, aiohttp.ClientSession() as session:
        started = time.monotonic()
        async with session.post(fake.url + "/v1/chat/completions", json=chat("x"), headers=AUTH) as r:
            await r.read()
    assert time.monotonic() - started >= 0.3


async def test_tokens_per_second_paces_the_stream():
    async with running_fake(tokens_per_second=20) as fake, aiohttp.ClientSession() as session:
        started = time.monotonic()
        async with session.post(fake.url + "/v1/chat/completions", json=chat("x" * 40, stream=True),
                                headers=AUTH) as r:
            await r.read()
    assert time.monotonic() - started >= 12 / 20 * 0.9  # "You said: xxx..." is 12 tokens


async def test_directive_in_the_x_fake_header(fake):
    headers = {**AUTH, "x-fake": json.dumps({"text": "from header"})}
    async with aiohttp.ClientSession() as session:
        async with session.post(fake.url + "/v1/chat/completions", json=chat("x"), headers=headers) as r:
            body = await r.json()
    assert body["choices"][0]["message"]["content"] == "from header"


async def test_unknown_directive_key_is_a_400_naming_it(openai_client):
    with pytest.raises(openai.BadRequestError, match="'colour'"):
        await openai_client.chat.completions.create(**chat(say(colour="red")))


async def test_directive_that_is_not_json_is_a_400(openai_client):
    with pytest.raises(openai.BadRequestError, match="not valid JSON"):
        await openai_client.chat.completions.create(**chat("hi !fake{oops"))
