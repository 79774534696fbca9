"""`/v1/audio/transcriptions`, `/translations` and `/speech` through the gateway with the official openai
SDK (and raw HTTP where a client sends what the SDK does not), to the fake upstream (real processes;
keys mode on SQLite). The fake's transcript names the file and its size ("Transcript of NAME, SIZE
bytes."), its record holds each upload's size and sha256, and its speech is a fixed tone, so every
answer can be predicted or compared with the fake's own, called directly.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import sqlite3
import struct
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest

from llmswitch.fake_upstream.audio import speech_seconds
from tests.support.fake import fake_directive, fake_get
from tests.support.keys import OpenAIClients as Client
from tests.support.keys import admin_key, openai_clients
from tests.support.processes import Process, start_fake_upstream, start_gateway

MASTER = "master-audio-0001"
MB = 1 << 20


def wav(seconds: float, rate: int = 16_000) -> bytes:
    """A mono 16-bit WAV of SECONDS (random samples, so every upload differs)."""
    data = os.urandom(int(seconds * rate) * 2)
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) + b"data" + struct.pack("<I", len(data)) + data)


@pytest.fixture(scope="module")
def fake() -> Iterator[Process]:
    with start_fake_upstream(name="audio") as process:
        yield process


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audio") / "gw.db"


@pytest.fixture(scope="module")
def gateway(fake: Process, database: Path) -> Iterator[Process]:
    def openai_style(key: str, fault: dict[str, Any] | None = None) -> dict[str, Any]:
        provider: dict[str, Any] = {"type": "openai", "base_url": f"{fake.url}/v1", "api_keys": [key]}
        if fault is not None:
            provider["headers"] = {"x-fake": json.dumps(fault)}
        return provider

    config = {
        "server": {"max_body_mb": 32},
        "auth": {"master_key": MASTER, "secret": "audio-secret-0002"}, "database_url": f"sqlite:///{database}",
        "providers": {
            "openai": openai_style("openai-audio-0003"),
            "busy": openai_style("busy-audio-0004", {"status": 503}),
            "broken": openai_style("broken-audio-0005", {"status": 500}),
            "anthropic": {"type": "anthropic", "base_url": fake.url, "api_keys": ["anthropic-audio-0006"]},
            "gemini": {"type": "gemini", "base_url": f"{fake.url}/v1beta", "api_keys": ["gemini-audio-0007"]},
        },
        "models": {
            "whisper-1": [{"provider": "openai"}],
            "gpt-4o-transcribe": [{"provider": "openai"}],
            "tts-1": [{"provider": "openai"}],
            "gpt-4o-mini-tts": [{"provider": "openai"}],
            "listen-failover": [{"provider": "busy", "priority": 0, "model": "whisper-1"},
                                {"provider": "openai", "priority": 1, "model": "whisper-1"}],
            "listen-unsafe": {"deployments": [{"provider": "broken", "priority": 0, "model": "whisper-1"},
                                              {"provider": "openai", "priority": 1, "model": "whisper-1"}],
                              "retry_unsafe": False},
            "claude": [{"provider": "anthropic", "model": "claude-sonnet-4-5"}],
            "gemini": [{"provider": "gemini", "model": "gemini-2.5-flash"}],
        },
        "aliases": {"team-whisper": "whisper-1"},
    }
    with start_gateway(config) as process:
        yield process


@pytest.fixture
def client(gateway: Process) -> Client:
    return openai_clients(gateway.url, MASTER, timeout=60)


def uploads(fake: Process, name: str) -> list[dict[str, Any]]:
    """What the fake received of each upload named NAME: its form fields, and its file's size and sha256."""
    return [r["body"] for r in fake_get(fake.url, "/_fake/requests")
            if isinstance(r.get("body"), dict) and (r["body"].get("file") or {}).get("filename") == name]


def usage_rows(database: Path, key_id: str, columns: str, count: int = 1) -> list[tuple[Any, ...]]:
    """COLUMNS of the key's usage rows, in order, once COUNT are written (the writer flushes every
    second), or those there are after 10 s."""
    deadline = time.monotonic() + 10
    rows: list[tuple[Any, ...]] = []
    while len(rows) < count and time.monotonic() < deadline:
        time.sleep(0.2)
        with sqlite3.connect(database) as connection:
            rows = connection.execute(f"SELECT {columns} FROM usage_records WHERE key_id = ? ORDER BY id",
                                      (key_id,)).fetchall()
    return rows


def rss_mb(process: Process) -> float:
    with open(f"/proc/{process.process.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


# --- transcriptions and translations ------------------------------------------------------------
def test_a_transcription_in_json_names_the_file_and_bills_its_seconds(client: Client, fake: Process) -> None:
    name = f"{uuid.uuid4().hex}.wav"
    audio = wav(2)
    result = client().audio.transcriptions.create(model="whisper-1", file=(name, audio, "audio/wav"), language="en",
                                                  temperature=0.2)
    assert result.text == f"Transcript of {name}, {len(audio)} bytes."
    assert result.usage is not None and result.usage.type == "duration"
    [sent] = uploads(fake, name)
    assert (sent["model"], sent["language"], sent["temperature"]) == ("whisper-1", "en", "0.2")
    assert (sent["file"]["size"], sent["file"]["sha256"]) == (len(audio), hashlib.sha256(audio).hexdigest())


@pytest.mark.parametrize("response_format, expected", [
    ("text", "Transcript of take.wav, 64044 bytes.\n"),
    ("srt", "1\n00:00:00,000 --> 00:00:02,000\nTranscript of take.wav, 64044 bytes.\n\n"),
    ("vtt", "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nTranscript of take.wav, 64044 bytes.\n\n"),
])
def test_a_transcription_in_a_text_format_is_the_upstreams_text(client: Client, response_format: str,
                                                                 expected: str) -> None:
    raw = client().audio.transcriptions.with_raw_response.create(model="whisper-1", file=("take.wav", wav(2)),
                                                                 response_format=response_format)
    assert raw.parse() == expected
    assert raw.headers["content-type"].startswith("text/plain")


def test_a_verbose_transcription_carries_its_duration_words_and_segments(client: Client) -> None:
    result = client().audio.transcriptions.create(model="whisper-1", file=("take.wav", wav(3)),
                                                  response_format="verbose_json",
                                                  timestamp_granularities=["word", "segment"])
    assert result.duration == 3.0 and result.language == "english"
    assert [w.word for w in result.words or []] == ["Transcript", "of", "take.wav", "96044", "bytes"]
    assert result.segments and result.segments[0].end == 3.0


def test_a_transcription_streams_its_events_as_the_upstream_sends_them(client: Client, fake: Process) -> None:
    name = f"{uuid.uuid4().hex}.wav"
    audio = wav(1)
    events = list(client().audio.transcriptions.create(model="gpt-4o-transcribe", file=(name, audio), stream=True,
                                                       include=["logprobs"], chunking_strategy="auto"))
    deltas = [e.delta for e in events if e.type == "transcript.text.delta"]
    assert len(deltas) > 1 and "".join(deltas) == f"Transcript of {name}, {len(audio)} bytes."
    done = events[-1]
    assert done.type == "transcript.text.done" and done.usage is not None and done.usage.type == "tokens"
    assert done.logprobs
    [sent] = uploads(fake, name)
    assert (sent["stream"], sent["include"], sent["chunking_strategy"]) == ("true", ["logprobs"], "auto")


def test_whisper_1_asked_to_stream_answers_the_json_the_upstream_answers_and_bills_its_seconds(
        gateway: Process, database: Path, fake: Process) -> None:
    """whisper-1 ignores `stream` (the OpenAI spec: "Streaming is not supported for the `whisper-1` model
    and will be ignored"): the gateway passes on the JSON it answers, not an empty event stream."""
    name = f"{uuid.uuid4().hex}.mp3"
    created = admin_key(gateway.url, MASTER)
    caller = openai.OpenAI(base_url=gateway.url + "/v1", api_key=created["key"], max_retries=0, timeout=60)
    with caller.audio.transcriptions.with_streaming_response.create(model="whisper-1", file=(name, b"x" * 48_000),
                                                                     stream=True) as response:
        assert response.headers["content-type"] == "application/json"
        answer = response.json()
    # the fake's whisper-1 lasts 48,000 / 32,000 s and bills whole seconds; an estimate would say 3.0
    assert answer == {"text": f"Transcript of {name}, 48000 bytes.", "usage": {"type": "duration", "seconds": 2}}
    [sent] = uploads(fake, name)
    assert sent["stream"] == "true"
    assert usage_rows(database, created["id"], "status, audio_seconds") == [(200, 2.0)]


@pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")  # the SDK marks translations deprecated
def test_a_translation_is_served_and_its_stream_refused_before_the_upstream(client: Client, fake: Process) -> None:
    name = f"{uuid.uuid4().hex}.mp3"
    assert client().audio.translations.create(model="whisper-1", file=(name, b"x" * 5000)).text == \
        f"Translation of {name}, 5000 bytes."
    with pytest.raises(openai.BadRequestError) as refused:
        client().audio.translations.create(model="whisper-1", file=(name, b"x"), extra_body={"stream": True})
    assert refused.value.param == "stream"
    assert len(uploads(fake, name)) == 1


def raw_form(url: str, key: str, parts: list[tuple[str, str | bytes]]) -> tuple[int, str]:
    """POST a form whose parts come in exactly this order (a bytes value is the file)."""
    body = b""
    for name, value in parts:
        if isinstance(value, bytes):
            body += (f'--B\r\nContent-Disposition: form-data; name="{name}"; filename="order.wav"\r\n'
                     "Content-Type: audio/wav\r\n\r\n").encode() + value + b"\r\n"
        else:
            body += f'--B\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    request = urllib.request.Request(url, data=body + b"--B--\r\n", method="POST", headers={
        "content-type": "multipart/form-data; boundary=B", "authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.parametrize("order", [["file", "model", "response_format"], ["model", "file", "response_format"]])
def test_fields_may_come_before_or_after_the_file(gateway: Process, order: list[str]) -> None:
    values: dict[str, str | bytes] = {"file": wav(2), "model": "whisper-1", "response_format": "srt"}
    status, text = raw_form(gateway.url + "/v1/audio/transcriptions", admin_key(gateway.url, MASTER)["key"],
                            [(name, values[name]) for name in order])
    assert (status, text) == (200, "1\n00:00:00,000 --> 00:00:02,000\nTranscript of order.wav, 64044 bytes.\n\n")


def test_a_bad_field_after_the_file_is_a_400_naming_it(gateway: Process) -> None:
    status, text = raw_form(gateway.url + "/v1/audio/transcriptions", admin_key(gateway.url, MASTER)["key"],
                            [("model", "whisper-1"), ("file", wav(1)), ("temperature", "3")])
    assert status == 400 and json.loads(text)["error"]["param"] == "temperature"


def test_a_form_without_a_file_is_a_400_naming_file(client: Client) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client().post("/audio/transcriptions", cast_to=object, body={"model": "whisper-1"},
                      options={"headers": {"Content-Type": "multipart/form-data"}}, files=[])
    assert refused.value.param == "file"


def test_the_api_v1_prefix_serves_audio_too(client: Client) -> None:
    assert client("/api/v1").audio.transcriptions.create(model="whisper-1", file=("a.wav", wav(0.1))).text
    assert client("/api/v1").audio.speech.create(model="tts-1", voice="alloy", input="hi").content


@pytest.mark.parametrize("model", ["claude", "gemini"])
def test_a_model_that_serves_no_audio_is_a_400_naming_the_model(client: Client, model: str) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client().audio.transcriptions.create(model=model, file=("a.wav", wav(0.1)))
    assert (refused.value.param, refused.value.code) == ("model", "unsupported_operation")
    assert "does not serve transcription" in refused.value.message
    with pytest.raises(openai.BadRequestError) as refused:
        client().audio.speech.create(model=model, voice="alloy", input="hi")
    assert refused.value.param == "model"


# --- speech ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("response_format, media_type", [("wav", "audio/wav"), ("flac", "audio/flac"),
                                                          ("pcm", "audio/pcm"), ("mp3", "audio/mpeg")])
def test_speech_streamed_to_a_file_holds_the_bytes_the_upstream_sends(client: Client, fake: Process, tmp_path: Path,
                                                                       response_format: str, media_type: str) -> None:
    text = "The quick brown fox jumps over the lazy dog."
    target = tmp_path / f"speech.{response_format}"
    with client().audio.speech.with_streaming_response.create(model="tts-1", voice="alloy", input=text,
                                                              response_format=response_format) as response:
        assert response.headers["content-type"] == media_type
        response.stream_to_file(target)
    direct = openai.OpenAI(base_url=f"{fake.url}/v1", api_key="direct-0008").audio.speech.create(
        model="tts-1", voice="alloy", input=text, response_format=response_format)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == hashlib.sha256(direct.content).hexdigest()
    if response_format == "pcm":
        assert len(direct.content) == round(speech_seconds(text) * 24_000) * 2


async def first_byte_and_whole(url: str, key: str, body: dict[str, Any]) -> tuple[float, float, bytes]:
    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        async with session.post(url, json=body, headers={"authorization": f"Bearer {key}"}) as response:
            assert response.status == 200
            first = await response.content.readany()
            first_at = time.perf_counter() - started
            rest = await response.read()
            return first_at, time.perf_counter() - started, first + rest


def test_speech_reaches_the_client_as_it_arrives(gateway: Process) -> None:
    """The fake sends its 4 pieces 300 ms apart: the first byte must not wait for the last."""
    body = {"model": "tts-1", "voice": "alloy", "response_format": "pcm",
            "input": "hello " + fake_directive(delay_ms=300)}
    first, whole, data = asyncio.run(first_byte_and_whole(gateway.url + "/v1/audio/speech",
                                                          admin_key(gateway.url, MASTER)["key"], body))
    print(f"speech through the gateway: first byte after {first * 1000:.0f} ms, all {len(data)} bytes after "
          f"{whole * 1000:.0f} ms")
    assert first < 0.25 and whole > 0.8


def test_speech_as_sse_passes_the_upstreams_events_through(gateway: Process, fake: Process) -> None:
    body = {"model": "gpt-4o-mini-tts", "voice": "coral", "input": "Stream me.", "stream_format": "sse"}
    request = urllib.request.Request(gateway.url + "/v1/audio/speech", data=json.dumps(body).encode(), headers={
        "content-type": "application/json", "authorization": f"Bearer {admin_key(gateway.url, MASTER)['key']}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["content-type"] == "text/event-stream"
        frames = [line[6:] for line in response.read().decode().splitlines() if line.startswith("data: ")]
    events = [json.loads(frame) for frame in frames]
    assert [e["type"] for e in events] == ["speech.audio.delta"] * (len(events) - 1) + ["speech.audio.done"]
    assert events[-1]["usage"]["input_tokens"] > 0  # and no `[DONE]` after it
    direct = urllib.request.Request(f"{fake.url}/v1/audio/speech", data=json.dumps(body).encode(), headers={
        "content-type": "application/json", "authorization": "Bearer direct-0009"})
    with urllib.request.urlopen(direct, timeout=30) as response:
        assert response.read().decode().split("data: ")[1:] == [f + "\n\n" for f in frames]


def test_a_bad_speech_request_is_refused_naming_the_field(client: Client) -> None:
    for fields, param in (({"voice": "alloy", "input": ""}, "input"), ({"voice": 3, "input": "hi"}, "voice"),
                          ({"voice": "alloy", "input": "hi", "speed": 9}, "speed"),
                          ({"voice": "alloy", "input": "hi", "stream_format": "ogg"}, "stream_format")):
        with pytest.raises(openai.BadRequestError) as refused:
            client().post("/audio/speech", cast_to=object, body={"model": "tts-1", **fields})
        assert refused.value.param == param


# --- keys, limits, failover ------------------------------------------------------------------------
def test_a_transcription_needs_a_key_that_may_use_the_model(gateway: Process, client: Client) -> None:
    anonymous = openai.OpenAI(base_url=gateway.url + "/v1", api_key="sk-llms-not-a-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        anonymous.audio.transcriptions.create(model="whisper-1", file=("a.wav", wav(0.1)))
    scoped = client(models=["whisper-1"])
    assert scoped.audio.transcriptions.create(model="team-whisper", file=("a.wav", wav(0.1))).text
    with pytest.raises(openai.PermissionDeniedError):
        scoped.audio.speech.create(model="tts-1", voice="alloy", input="hi")


def test_the_second_transcription_within_a_minute_on_rpm_1_is_refused_without_reaching_the_upstream(
        client: Client, fake: Process) -> None:
    limited = client(rpm=1)
    name = f"{uuid.uuid4().hex}.wav"
    limited.audio.transcriptions.create(model="whisper-1", file=(name, wav(0.2)))
    with pytest.raises(openai.RateLimitError):
        limited.audio.transcriptions.create(model="whisper-1", file=(name, wav(0.2)))
    assert len(uploads(fake, name)) == 1


def test_a_spent_budget_stops_audio_before_the_upload_is_read(gateway: Process, fake: Process) -> None:
    key = admin_key(gateway.url, MASTER, budget_usd=0.001)["key"]
    caller = openai.OpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0)
    name = f"{uuid.uuid4().hex}.wav"
    caller.audio.transcriptions.create(model="whisper-1", file=(name, wav(30)))  # $0.003 at $0.006 a minute
    with pytest.raises(openai.RateLimitError) as refused:
        caller.audio.transcriptions.create(model="whisper-1", file=(name, wav(1)))
    assert refused.value.code == "insufficient_quota" and len(uploads(fake, name)) == 1


def test_speech_reserves_its_characters_against_the_budget(client: Client) -> None:
    with pytest.raises(openai.RateLimitError) as refused:
        client(budget_usd=0).audio.speech.create(model="tts-1", voice="alloy", input="hello")
    assert refused.value.code == "insufficient_quota"


def test_a_busy_target_passes_the_whole_upload_to_the_next(client: Client, fake: Process) -> None:
    name = f"{uuid.uuid4().hex}.wav"
    audio = wav(5)
    raw = client().audio.transcriptions.with_raw_response.create(model="listen-failover", file=(name, audio))
    assert (raw.headers["x-llmswitch-attempts"], raw.headers["x-llmswitch-provider"]) == ("2", "openai")
    assert raw.parse().text == f"Transcript of {name}, {len(audio)} bytes."
    digest = hashlib.sha256(audio).hexdigest()
    assert [(u["file"]["size"], u["file"]["sha256"]) for u in uploads(fake, name)] == [(len(audio), digest)] * 2


def test_an_upload_the_upstream_may_have_processed_is_not_repeated_under_retry_unsafe_false(
        client: Client, fake: Process) -> None:
    name = f"{uuid.uuid4().hex}.wav"
    with pytest.raises(openai.InternalServerError):
        client().audio.transcriptions.create(model="listen-unsafe", file=(name, wav(0.5)))
    assert len(uploads(fake, name)) == 1


# --- size, memory, usage ---------------------------------------------------------------------------
def test_an_upload_past_the_cap_is_a_413_at_once_and_the_gateway_holds_none_of_it(gateway: Process,
                                                                                    client: Client) -> None:
    caller = client()
    caller.audio.transcriptions.create(model="whisper-1", file=("warm.wav", wav(1)))
    before = rss_mb(gateway)
    started = time.perf_counter()
    with pytest.raises(openai.APIStatusError) as refused:
        caller.audio.transcriptions.create(model="whisper-1", file=("big.mp3", os.urandom(50 * MB)))
    took = time.perf_counter() - started
    after = rss_mb(gateway)
    print(f"50 MB under a 32 MB cap: 413 after {took * 1000:.0f} ms, gateway RSS {before:.1f} -> {after:.1f} MB")
    assert refused.value.status_code == 413 and refused.value.code == "request_too_large"
    assert took < 5 and after - before < 20


async def chunked_upload(url: str, key: str, size: int) -> tuple[int, str]:
    async def body() -> AsyncIterator[bytes]:
        yield b'--B\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n'
        yield b'--B\r\nContent-Disposition: form-data; name="file"; filename="chunked.mp3"\r\n\r\n'
        block = os.urandom(MB)
        for _ in range(size // MB):
            yield block
        yield b"\r\n--B--\r\n"

    async with aiohttp.ClientSession() as session, session.post(url, data=body(), headers={
            "content-type": "multipart/form-data; boundary=B", "authorization": f"Bearer {key}"}) as response:
        return response.status, await response.text()


def test_an_upload_of_unknown_length_past_the_cap_is_a_413_once_it_passes_it(gateway: Process) -> None:
    before = rss_mb(gateway)
    key = admin_key(gateway.url, MASTER)["key"]
    status, text = asyncio.run(chunked_upload(gateway.url + "/v1/audio/transcriptions", key, 50 * MB))
    assert (status, json.loads(text)["error"]["code"]) == (413, "request_too_large")
    assert rss_mb(gateway) - before < 20


def test_a_large_upload_reaches_the_upstream_whole_without_the_gateway_holding_it(gateway: Process, client: Client,
                                                                                  fake: Process) -> None:
    caller = client()
    caller.audio.transcriptions.create(model="whisper-1", file=("warm.wav", wav(1)))
    name = f"{uuid.uuid4().hex}.mp3"
    audio = os.urandom(20 * MB)
    before = rss_mb(gateway)
    started = time.perf_counter()
    result = caller.audio.transcriptions.create(model="whisper-1", file=(name, audio))
    took = time.perf_counter() - started
    after = rss_mb(gateway)
    print(f"20 MB upload: answered after {took * 1000:.0f} ms, gateway RSS {before:.1f} -> {after:.1f} MB")
    assert result.text == f"Transcript of {name}, {len(audio)} bytes."
    [sent] = uploads(fake, name)
    assert (sent["file"]["size"], sent["file"]["sha256"]) == (len(audio), hashlib.sha256(audio).hexdigest())
    assert after - before < 8


def test_a_client_gone_mid_upload_is_its_499_and_no_failure_of_the_target(gateway: Process, fake: Process,
                                                                          database: Path) -> None:
    created = admin_key(gateway.url, MASTER)
    disconnects = fake_get(fake.url, "/_fake/stats")["disconnects"]
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(b"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                     + created["key"].encode() + b"\r\nContent-Type: multipart/form-data; boundary=B\r\n"
                     b"Content-Length: 10000000\r\n\r\n"
                     b'--B\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n'
                     b'--B\r\nContent-Disposition: form-data; name="file"; filename="gone.wav"\r\n\r\n')
        for _ in range(16):
            sock.sendall(os.urandom(64 << 10))
            time.sleep(0.02)  # the gateway passes each piece on as it comes
    assert usage_rows(database, created["id"], "deployment, status") == [("openai/whisper-1#0", 499)]
    assert fake_get(fake.url, "/_fake/stats")["disconnects"] == disconnects + 1  # its upload was under way
    request = urllib.request.Request(gateway.url + "/health/ready", headers={"authorization": f"Bearer {MASTER}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        [health] = [t for t in json.loads(response.read())["models"]["whisper-1"] if t["provider"] == "openai"]
    assert (health["state"], health["error_rate"], health["in_flight"]) == ("healthy", 0.0, 0)


def test_each_call_is_recorded_with_its_seconds_or_characters_and_priced(gateway: Process, database: Path) -> None:
    created = admin_key(gateway.url, MASTER, budget_usd=5)
    caller = openai.OpenAI(base_url=gateway.url + "/v1", api_key=created["key"], max_retries=0)
    caller.audio.transcriptions.create(model="whisper-1", file=("a.wav", wav(30)), response_format="verbose_json")
    caller.audio.transcriptions.create(model="whisper-1", file=("b.mp3", b"x" * 48_000), response_format="text")
    text = "Price these forty characters, please ok."
    caller.audio.speech.create(model="tts-1", voice="alloy", input=text).read()
    rows = usage_rows(database, created["id"], "model, status, audio_seconds, characters, cost_usd", count=3)
    assert [row[:4] for row in rows] == [("whisper-1", 200, 30.0, 0), ("whisper-1", 200, 3.0, 0),
                                         ("tts-1", 200, 0.0, len(text))]
    # whisper-1 at $0.006 a minute (the plain-text answer says nothing: 48,000 bytes at 16,000 a second);
    # tts-1 at $15 a million characters
    assert [row[4] for row in rows] == pytest.approx([0.003, 0.0003, len(text) * 15 / 1e6])
