"""Audio: transcription, translation and speech through the official openai SDK, and what the fake records."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import time
import wave

import aiohttp
import openai
import pytest

from llmswitch.fake_upstream import sound
from llmswitch.fake_upstream.audio import speech_seconds
from tests.fake_upstream.conftest import say

pytestmark = pytest.mark.timeout(20)

CLIP = ("clip.mp3", b"\x01" * 64_000)  # 64000 bytes: 2 s at the fake's 32000 bytes per second
TRANSCRIPT = "Transcript of clip.mp3, 64000 bytes."


def speech_wav(text: str = "hello") -> bytes:
    return sound.wav(sound.pcm(speech_seconds(text)))


async def test_transcription_json_is_the_fixed_transcript_with_duration_usage(openai_client):
    reply = await openai_client.audio.transcriptions.create(model="whisper-1", file=CLIP)
    assert reply.text == TRANSCRIPT
    assert (reply.usage.type, reply.usage.seconds) == ("duration", 2)


async def test_transcription_by_a_token_model_reports_token_usage(openai_client):
    reply = await openai_client.audio.transcriptions.create(model="gpt-4o-transcribe", file=CLIP, prompt="x" * 8)
    usage = reply.usage
    assert usage.type == "tokens"
    assert usage.input_token_details.text_tokens == 2
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens


@pytest.mark.parametrize(("fmt", "body"), [
    ("text", TRANSCRIPT + "\n"),
    ("srt", f"1\n00:00:00,000 --> 00:00:02,000\n{TRANSCRIPT}\n\n"),
    ("vtt", f"WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n{TRANSCRIPT}\n\n"),
])
async def test_text_formats_are_plain_text(openai_client, fmt, body):
    raw = await openai_client.audio.transcriptions.with_raw_response.create(model="whisper-1", file=CLIP,
                                                                            response_format=fmt)
    assert raw.headers["content-type"].startswith("text/plain")
    assert raw.text == body


async def test_verbose_json_has_words_and_segments_when_asked(openai_client):
    reply = await openai_client.audio.transcriptions.create(
        model="whisper-1", file=CLIP, response_format="verbose_json", timestamp_granularities=["word", "segment"],
        language="en")
    assert (reply.text, reply.duration, reply.language) == (TRANSCRIPT, 2.0, "en")
    assert [w.word for w in reply.words] == ["Transcript", "of", "clip.mp3", "64000", "bytes"]
    assert reply.words[-1].end == 2.0
    assert reply.segments[0].text == " " + TRANSCRIPT and reply.segments[0].end == 2.0
    assert reply.model_extra["task"] == "transcribe"


async def test_verbose_json_without_word_granularity_has_no_words(openai_client):
    reply = await openai_client.audio.transcriptions.create(model="whisper-1", file=CLIP,
                                                            response_format="verbose_json")
    assert reply.words is None and len(reply.segments) == 1


async def test_timestamp_granularities_need_verbose_json(openai_client):
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.audio.transcriptions.create(model="whisper-1", file=CLIP,
                                                        timestamp_granularities=["word"])
    assert caught.value.body["param"] == "timestamp_granularities"


async def test_streamed_transcript_arrives_as_deltas_then_done(openai_client):
    stream = await openai_client.audio.transcriptions.create(model="gpt-4o-transcribe", file=CLIP, stream=True)
    events = [e async for e in stream]
    assert [e.type for e in events] == ["transcript.text.delta"] * 4 + ["transcript.text.done"]
    assert "".join(e.delta for e in events[:-1]) == events[-1].text == TRANSCRIPT
    assert events[-1].usage.total_tokens > 0


async def test_streamed_transcript_carries_logprobs_when_included(openai_client):
    stream = await openai_client.audio.transcriptions.create(model="gpt-4o-transcribe", file=CLIP, stream=True,
                                                             include=["logprobs"])
    done = [e async for e in stream][-1]
    assert [p.token for p in done.logprobs] == TRANSCRIPT.split()


async def test_whisper_ignores_stream_as_the_real_one_does(fake):
    form = aiohttp.FormData({"model": "whisper-1", "stream": "true"})
    form.add_field("file", CLIP[1], filename=CLIP[0])
    async with aiohttp.ClientSession() as session:
        async with session.post(fake.url + "/v1/audio/transcriptions", data=form,
                                headers={"authorization": "Bearer x"}) as r:
            assert r.content_type == "application/json"
            assert (await r.json())["text"] == TRANSCRIPT


async def test_error_after_ends_a_streamed_transcript_with_an_error_the_sdk_raises(openai_client):
    stream = await openai_client.audio.transcriptions.create(
        model="gpt-4o-transcribe", file=CLIP, stream=True, prompt=say(error_after=2, message="transcriber died"))
    with pytest.raises(openai.APIError, match="transcriber died"):
        async for _ in stream:
            pass


async def test_the_record_describes_the_file_instead_of_holding_it(openai_client, fake):
    await openai_client.audio.transcriptions.create(model="whisper-1", file=CLIP, language="fr",
                                                    chunking_strategy={"type": "server_vad", "threshold": 0.5})
    body = fake.requests()[-1]["body"]
    assert body["file"] == {"filename": "clip.mp3", "content_type": "audio/mpeg", "size": 64_000,
                            "sha256": hashlib.sha256(CLIP[1]).hexdigest()}
    assert (body["model"], body["language"], body["chunking_strategy[type]"]) == ("whisper-1", "fr", "server_vad")


async def test_a_large_upload_is_read_whole(openai_client, fake):
    data = bytes(range(256)) * (24 * 1024 * 4)  # 24 MiB
    reply = await openai_client.audio.transcriptions.create(model="whisper-1", file=("big.wav", data))
    assert reply.text == f"Transcript of big.wav, {len(data)} bytes."
    assert fake.requests()[-1]["body"]["file"]["sha256"] == hashlib.sha256(data).hexdigest()


async def test_a_wav_upload_lasts_what_its_header_says(openai_client):
    reply = await openai_client.audio.transcriptions.create(model="whisper-1", file=("s.wav", speech_wav("hello")),
                                                            response_format="verbose_json")
    assert reply.duration == speech_seconds("hello")


@pytest.mark.parametrize("name", ["notes.txt", "noextension"])
async def test_a_file_of_no_audio_format_is_refused(openai_client, name):
    with pytest.raises(openai.BadRequestError, match="Invalid file format") as caught:
        await openai_client.audio.transcriptions.create(model="whisper-1", file=(name, b"x"))
    assert caught.value.body["param"] == "file"


async def test_a_json_body_is_refused_as_not_multipart(fake):
    async with aiohttp.ClientSession() as session:
        async with session.post(fake.url + "/v1/audio/transcriptions", json={"model": "whisper-1"},
                                headers={"authorization": "Bearer x"}) as r:
            body = await r.json()
    assert r.status == 400 and "multipart/form-data" in body["error"]["message"]


async def test_directive_in_the_prompt_sets_the_text_and_faults(openai_client):
    reply = await openai_client.audio.transcriptions.create(model="whisper-1", file=CLIP, prompt=say(text="hola"))
    assert reply.text == "hola"
    with pytest.raises(openai.RateLimitError):
        await openai_client.audio.transcriptions.create(model="whisper-1", file=CLIP, prompt=say(status=429))


async def test_directive_in_the_header_resets_the_connection(openai_client):
    with pytest.raises(openai.APIConnectionError):
        await openai_client.audio.transcriptions.create(model="whisper-1", file=CLIP,
                                                        extra_headers={"x-fake": json.dumps({"reset_after": 0})})


async def test_translation_is_english_text(openai_client):
    reply = await openai_client.audio.translations.create(model="whisper-1", file=CLIP)
    verbose = await openai_client.audio.translations.create(model="whisper-1", file=CLIP,
                                                            response_format="verbose_json")
    assert reply.text == "Translation of clip.mp3, 64000 bytes."
    assert (verbose.language, verbose.duration, verbose.model_extra["task"]) == ("english", 2.0, "translate")


@pytest.mark.parametrize("field", [{"response_format": "diarized_json"}, {"stream": "true"}])
async def test_translation_refuses_what_only_transcription_has(fake, field):
    form = aiohttp.FormData({"model": "whisper-1", **field})
    form.add_field("file", CLIP[1], filename=CLIP[0])
    async with aiohttp.ClientSession() as session:
        async with session.post(fake.url + "/v1/audio/translations", data=form,
                                headers={"authorization": "Bearer x"}) as r:
            assert r.status == 400
            assert (await r.json())["error"]["param"] == next(iter(field))


async def test_speech_streamed_to_a_file_is_a_valid_wav(openai_client, tmp_path):
    target = tmp_path / "hello.wav"
    async with openai_client.audio.speech.with_streaming_response.create(
            model="gpt-4o-mini-tts", voice="alloy", input="hello", response_format="wav") as response:
        assert response.headers["content-type"] == "audio/wav"
        await response.stream_to_file(target)
    with wave.open(str(target)) as reader:
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (1, 2, 24_000)
        assert reader.getnframes() == round(speech_seconds("hello") * 24_000)
    assert target.read_bytes() == speech_wav("hello")


async def test_speech_lasts_longer_for_longer_input_and_shorter_when_faster(openai_client):
    lengths = []
    for text, speed in (("hi", 1.0), ("hi" * 50, 1.0), ("hi" * 50, 2.0)):
        reply = await openai_client.audio.speech.create(model="tts-1", voice="nova", input=text, speed=speed,
                                                        response_format="pcm")
        lengths.append(len(reply.content))
    assert lengths == [round(speech_seconds(t, s) * 24_000) * 2 for t, s in (("hi", 1), ("hi" * 50, 1),
                                                                             ("hi" * 50, 2))]
    assert lengths[0] < lengths[2] < lengths[1]


@pytest.mark.parametrize(("fmt", "magic"), [("mp3", b"\xff\xf3"), ("opus", b"OggS"), ("aac", b"\xff\xf1"),
                                            ("flac", b"fLaC"), ("wav", b"RIFF")])
async def test_every_format_has_its_content_type_and_signature(openai_client, fmt, magic):
    reply = await openai_client.audio.speech.create(model="gpt-4o-mini-tts", voice="alloy", input="hi",
                                                    response_format=fmt)
    assert reply.response.headers["content-type"] == sound.CONTENT_TYPES[fmt]
    assert reply.content.startswith(magic)


async def test_mp3_is_the_default_format(openai_client):
    reply = await openai_client.audio.speech.create(model="gpt-4o-mini-tts", voice="alloy", input="hi")
    assert reply.response.headers["content-type"] == "audio/mpeg"


async def test_flac_holds_the_same_samples_as_the_wav(openai_client):
    reply = await openai_client.audio.speech.create(model="gpt-4o-mini-tts", voice="alloy", input="x" * 500,
                                                    response_format="flac")
    with wave.open(io.BytesIO(speech_wav("x" * 500))) as reader:
        samples = reader.readframes(reader.getnframes())
    streaminfo = reply.content[8:42]
    assert int.from_bytes(streaminfo[13:18], "big") & (2**36 - 1) == len(samples) // 2
    assert streaminfo[18:34] == hashlib.md5(samples).digest()  # FLAC's MD5 of the decoded samples


async def test_speech_arrives_in_chunks_over_time(openai_client):
    arrivals = []
    async with openai_client.audio.speech.with_streaming_response.create(
            model="gpt-4o-mini-tts", voice="alloy", input=say("hello", delay_ms=100, chunks=3),
            response_format="pcm") as response:
        async for _ in response.iter_bytes():
            arrivals.append(time.monotonic())
    assert len(arrivals) >= 2
    assert arrivals[-1] - arrivals[0] >= 0.15


async def test_speech_sse_carries_the_audio_in_deltas_then_usage(fake):
    async with aiohttp.ClientSession() as session:
        async with session.post(fake.url + "/v1/audio/speech", headers={"authorization": "Bearer x"},
                                json={"model": "gpt-4o-mini-tts", "voice": "alloy", "input": "hello",
                                      "response_format": "wav", "stream_format": "sse"}) as r:
            raw = await r.text()
    events = [json.loads(line[6:]) for line in raw.splitlines() if line.startswith("data: ")]
    assert r.content_type == "text/event-stream"
    assert [e["type"] for e in events] == ["speech.audio.delta"] * 4 + ["speech.audio.done"]
    assert b"".join(base64.b64decode(e["audio"]) for e in events[:-1]) == speech_wav("hello")
    assert set(events[-1]["usage"]) == {"input_tokens", "output_tokens", "total_tokens"}


async def test_speech_reset_mid_stream_leaves_the_audio_incomplete(fake):
    async with aiohttp.ClientSession() as session:
        async with session.post(fake.url + "/v1/audio/speech", headers={"authorization": "Bearer x"},
                                json={"model": "gpt-4o-mini-tts", "voice": "alloy", "response_format": "wav",
                                      "input": say("hello", reset_after=2)}) as r:
            with pytest.raises(aiohttp.ClientPayloadError):
                await r.read()


@pytest.mark.parametrize(("fields", "param"), [
    ({"voice": "robot"}, "voice"), ({"speed": 5}, "speed"), ({"response_format": "ogg"}, "response_format"),
    ({"model": "tts-1", "stream_format": "sse"}, "stream_format"), ({"model": "tts-1", "instructions": "calm"},
                                                                    "instructions"),
    ({"input": "x" * 4097}, "input"), ({"pitch": 2}, "pitch")])
async def test_speech_refuses_what_the_real_api_refuses(openai_client, fields, param):
    body = {"model": "gpt-4o-mini-tts", "voice": "alloy", "input": "hi", **fields}
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.post("/audio/speech", body=body, cast_to=bytes)
    assert caught.value.body["param"] == param


async def test_speech_takes_a_custom_voice_and_instructions(openai_client):
    reply = await openai_client.audio.speech.create(model="gpt-4o-mini-tts", voice={"id": "voice_123"},
                                                    input="hi", instructions="calm", response_format="wav")
    assert reply.content == speech_wav("hi")
