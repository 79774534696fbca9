"""What an audio answer is billed, read from the upstream's own words in each format, and the audio
streams passed through (openai-python's event types parse what comes out)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from openai.types.audio import TranscriptionStreamEvent
from pydantic import TypeAdapter

from llmswitch.dialects.audio import (ESTIMATE_BYTES_PER_SECOND, SpeechStream, TranscriptStream, estimated_seconds,
                                      speech_request, transcript_response)
from llmswitch.dialects.sse import encode_data
from llmswitch.dialects.types import RawAnswer, RequestOptions, ResponseContext, StreamContext
from llmswitch.dialects.usage import Usage


def wav_head(byte_rate: int) -> bytes:
    return (b"RIFF" + struct.pack("<I", 0) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, byte_rate // 2, byte_rate,
                                                                       2, 16) + b"data" + struct.pack("<I", 0))


@dataclass
class Form:
    """What the translations read of a client's form."""

    file_size: int = 160_000
    file_head: bytes = b"ID3"

    def for_model(self, model: str) -> Any:
        return model


def context(form: Form | None = None) -> Any:
    return ResponseContext("m", request=form or Form())  # type: ignore[arg-type]  # a form, as the surface gives


def billed(media_type: str, data: bytes | None, form: Form | None = None) -> Usage:
    return transcript_response(RawAnswer(media_type, data), context(form))[1]


def test_a_duration_usage_is_billed_in_seconds() -> None:
    usage = billed("application/json", b'{"text": "hi", "usage": {"type": "duration", "seconds": 7}}')
    assert (usage.audio_seconds, usage.prompt_tokens, usage.estimated) == (7.0, 0, False)


def test_a_token_usage_is_billed_in_tokens() -> None:
    usage = billed("application/json", orjson.dumps({"text": "hi", "usage": {
        "type": "tokens", "input_tokens": 30, "output_tokens": 5, "total_tokens": 35,
        "input_token_details": {"audio_tokens": 28, "text_tokens": 2}}}))
    assert (usage.prompt_tokens, usage.completion_tokens, usage.audio_seconds) == (30, 5, 0.0)


def test_verbose_json_without_usage_is_billed_its_duration() -> None:
    usage = billed("application/json; charset=utf-8", b'{"task": "translate", "duration": 12.5, "text": "hi"}')
    assert (usage.audio_seconds, usage.estimated) == (12.5, False)


@pytest.mark.parametrize("body", [
    b"1\n00:00:00,000 --> 00:00:04,200\nfirst\n\n2\n00:00:04,200 --> 00:01:02,345\nsecond\n\n",
    b"WEBVTT\n\n00:00.000 --> 00:04.200\nfirst\n\n00:04.200 --> 01:02.345\nsecond\n\n",
])
def test_subtitles_are_billed_to_where_their_last_cue_ends(body: bytes) -> None:
    assert billed("text/plain; charset=utf-8", body).audio_seconds == 62.345


def test_plain_text_is_billed_the_files_estimate_and_marked_so() -> None:
    usage = billed("text/plain", b"just the words\n", Form(file_size=ESTIMATE_BYTES_PER_SECOND * 3))
    assert (usage.audio_seconds, usage.estimated) == (3.0, True)


def test_a_wav_is_estimated_from_its_own_byte_rate() -> None:
    assert estimated_seconds(44 + 32_000 * 5, wav_head(32_000)) == 5.0
    assert estimated_seconds(32_000, b"OggS") == 32_000 / ESTIMATE_BYTES_PER_SECOND


@pytest.mark.parametrize("data", [None, b"not json", b'{"usage": {"type": "tokens", "input_tokens": -1}}', b"[1]",
                                  b'{"usage": {"type": "duration", "seconds": "long"}}'])
def test_an_answer_whose_usage_cannot_be_read_is_billed_the_estimate(data: bytes | None) -> None:
    assert billed("application/json", data).estimated


def test_a_stream_relayed_as_bytes_is_billed_from_its_done_event() -> None:
    body = (encode_data({"type": "transcript.text.delta", "delta": "hi"})
            + encode_data({"type": "transcript.text.done", "text": "hi", "usage": {"type": "tokens", "input_tokens": 9,
                                                                                   "output_tokens": 1}}))
    assert (billed("text/event-stream", body).prompt_tokens, billed("text/event-stream", body).estimated) == (9, False)


def test_speech_reaches_the_upstream_with_its_deployments_model_and_nothing_else_changed() -> None:
    body = {"model": "voice", "input": "hi", "voice": {"id": "voice_1"}, "stream_format": "sse"}
    assert speech_request(body, RequestOptions("gpt-4o-mini-tts", stream=True)).body == {**body,
                                                                                          "model": "gpt-4o-mini-tts"}


TRANSCRIPT_EVENTS = [{"type": "transcript.text.delta", "delta": ""}, {"type": "transcript.text.delta", "delta": "Hel"},
                     {"type": "transcript.text.done", "text": "Hel", "usage": {"type": "tokens", "input_tokens": 4,
                                                                               "output_tokens": 2, "total_tokens": 6}}]


def test_a_transcript_stream_passes_through_and_content_begins_with_the_first_words() -> None:
    stream = TranscriptStream(StreamContext("m", request=Form()))  # type: ignore[arg-type]  # a form
    shown = []
    for event in TRANSCRIPT_EVENTS:
        out = stream.feed(dict(event))
        assert out == [event]
        shown.append(stream.saw_content)
    assert shown == [False, True, True]
    assert stream.finish() == [] and (stream.usage.prompt_tokens, stream.usage.completion_tokens) == (4, 2)
    for event in TRANSCRIPT_EVENTS:
        TypeAdapter(TranscriptionStreamEvent).validate_python(event)


def test_a_transcript_stream_without_usage_is_billed_the_estimate() -> None:
    form = Form(file_size=ESTIMATE_BYTES_PER_SECOND * 2)
    stream = TranscriptStream(StreamContext("m", request=form))  # type: ignore[arg-type]
    stream.feed({"type": "transcript.text.done", "text": "x"})
    stream.finish()
    assert stream.usage is not None and (stream.usage.audio_seconds, stream.usage.estimated) == (2.0, True)


def test_a_speech_stream_is_billed_its_characters_and_the_tokens_it_counts() -> None:
    stream = SpeechStream(StreamContext("m", request={"input": "hello"}))
    assert stream.feed({"type": "speech.audio.delta", "audio": ""}) and not stream.saw_content
    stream.feed({"type": "speech.audio.delta", "audio": "AAAA"})
    assert stream.saw_content and stream.usage == Usage(characters=5)
    stream.feed({"type": "speech.audio.done", "usage": {"input_tokens": 2, "output_tokens": 30, "total_tokens": 32}})
    assert stream.usage == Usage(prompt_tokens=2, completion_tokens=30, characters=5)


def test_an_audio_streams_failure_is_the_openai_error_event_the_sdk_raises() -> None:
    stream = TranscriptStream(StreamContext("m", request=Form()))  # type: ignore[arg-type]
    [event] = stream.fail(502, "server_error", "broke")
    assert event == {"error": {"message": "broke", "type": "server_error", "param": None, "code": "502"}}
