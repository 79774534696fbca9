"""OpenAI audio: transcriptions, translations and speech, the hub (and only) form of the audio operations.

Only OpenAI-style upstreams serve them (OpenAI, Groq, a local whisper server), so each translation
here is a pass-through that gives the upstream the deployment's model and reads what the request
is billed. Transcripts and audio go back to the client as the upstream's own bytes and media type;
streams (`transcript.text.delta`/`done`, `speech.audio.delta`/`done`) as its own events.

What a transcription or translation is billed, in order of trust:
- the upstream's `usage`: `type: "duration"` counts audio seconds, `type: "tokens"` tokens;
- verbose_json's `duration`, or where the last srt/vtt cue ends;
- else an estimate from the file's size, marked `estimated`: a WAV's own byte rate (from its header),
  any other format at ESTIMATE_BYTES_PER_SECOND.
Speech is billed the characters of its input (the request says them), plus the tokens an SSE
answer's `speech.audio.done` counts. A usage that cannot be read falls back to the estimate: the
answer is already on its way to the client by then, so it cannot become an error.
"""

from __future__ import annotations

import math
import re
from typing import Any, Protocol

import orjson

from llmswitch.dialects.chat_chunks import error_frame
from llmswitch.dialects.sse import SSEDecoder, SSEError
from llmswitch.dialects.types import RawAnswer, RequestOptions, ResponseContext, StreamContext, Translated
from llmswitch.dialects.usage import Usage, token_count

ESTIMATE_BYTES_PER_SECOND = 16_000  # 128 kbit/s, a common rate of the compressed formats (mp3, m4a, webm)
WAV_HEADER = 44  # bytes before a canonical WAV file's samples
_CUE_END = re.compile(rb"-->\s*(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{3})")  # an srt or vtt cue's end time


class Form(Protocol):
    """A client's multipart form as its surface read it (`surfaces.form.ClientForm`)."""

    def for_model(self, model: str) -> Any:
        """The form for the upstream: the same fields and file, naming MODEL."""

    @property
    def file_size(self) -> int:
        """Bytes of the file received so far (all of them once the upload is whole)."""

    @property
    def file_head(self) -> bytes:
        """The file's first bytes (a WAV header says its byte rate)."""


# --- requests ---------------------------------------------------------------------------------
def form_request(form: Form, options: RequestOptions) -> Translated:
    """A transcription or translation form as the client sent it, naming the deployment's model."""
    return Translated(form.for_model(options.upstream_model))


def speech_request(body: dict[str, Any], options: RequestOptions) -> Translated:
    return Translated({**body, "model": options.upstream_model})


# --- what is billed ---------------------------------------------------------------------------
def speech_usage(request: dict[str, Any]) -> Usage:
    """Speech is billed the characters of its input."""
    text = request.get("input")
    return Usage(characters=len(text) if isinstance(text, str) else 0)


def estimated_seconds(size: int, head: bytes) -> float:
    """Seconds of audio in a file of SIZE bytes beginning with HEAD, judged by its size alone."""
    rate = ESTIMATE_BYTES_PER_SECOND
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE" and len(head) >= 32:
        rate = int.from_bytes(head[28:32], "little") or rate
        size = max(0, size - WAV_HEADER)
    return round(size / rate, 3)


def estimate(form: Form) -> Usage:
    return Usage(audio_seconds=estimated_seconds(form.file_size, form.file_head), estimated=True)


def transcript_usage(usage: Any) -> Usage | None:
    """The upstream's own `usage` of a transcription: seconds, or tokens; None when it gives neither."""
    if not isinstance(usage, dict):
        return None
    if usage.get("type") == "duration":
        seconds = _seconds(usage.get("seconds"))
        return None if seconds is None else Usage(audio_seconds=seconds)
    if usage.get("type") == "tokens" or "input_tokens" in usage:
        return Usage(prompt_tokens=token_count(usage, "input_tokens"),
                     completion_tokens=token_count(usage, "output_tokens"))
    return None


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return None
    return float(value)


def _answer_usage(answer: RawAnswer) -> Usage | None:
    """What a whole transcript answer says it used, by its media type."""
    data = answer.data
    if not data:
        return None
    media_type = answer.media_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        try:
            body = orjson.loads(data)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(body, dict):
            return None
        usage = transcript_usage(body.get("usage"))
        if usage is None and (seconds := _seconds(body.get("duration"))) is not None:
            usage = Usage(audio_seconds=seconds)
        return usage
    if media_type == "text/event-stream":  # a stream relayed as bytes (its `stream` came after the file)
        usage = None
        decoder = SSEDecoder()
        try:
            for _name, frame in decoder.feed(data) + decoder.close():
                if frame.startswith("{") and '"usage"' in frame:
                    event = orjson.loads(frame)
                    usage = transcript_usage(event.get("usage") if isinstance(event, dict) else None) or usage
        except (SSEError, orjson.JSONDecodeError):
            return None
        return usage
    ends = [int(h or 0) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000 for h, m, s, ms in _CUE_END.findall(data)]
    return Usage(audio_seconds=round(max(ends), 3)) if ends else None  # srt, vtt; plain text says nothing


def transcript_response(answer: RawAnswer, ctx: ResponseContext) -> tuple[RawAnswer, Usage]:
    """A transcript passed on as it is, and what it is billed (see the module's docstring)."""
    try:
        usage = _answer_usage(answer)
    except (ValueError, TypeError):  # a count the usage table cannot hold: not the upstream's to bill
        usage = None
    return answer, usage or estimate(ctx.request)  # type: ignore[arg-type]  # the request is the form


def speech_response(answer: RawAnswer, ctx: ResponseContext) -> tuple[RawAnswer, Usage]:
    return answer, speech_usage(ctx.request)


# --- streams ------------------------------------------------------------------------------------
class _AudioStream:
    """Audio events passed through as they are; content begins with the first non-empty delta (until
    then the request may still fail over), usage is read from the `done` event."""

    __slots__ = ("ctx", "usage", "saw_content")
    delta_type = ""
    delta_field = ""
    done_type = ""

    def __init__(self, ctx: StreamContext):
        self.ctx = ctx
        self.usage: Usage | None = None
        self.saw_content = False

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        kind = event.get("type")
        if kind == self.delta_type:
            self.saw_content = self.saw_content or bool(event.get(self.delta_field))
        elif kind == self.done_type:
            self.saw_content = True
            self.usage = self._usage(event.get("usage"))
        return [event]

    def _usage(self, usage: Any) -> Usage | None:
        try:
            return transcript_usage(usage)
        except (ValueError, TypeError):
            return None

    def finish(self) -> list[dict[str, Any]]:
        return []

    def fail(self, status: int, error_type: str, message: str) -> list[dict[str, Any]]:
        return [error_frame(status, error_type, message)]


class TranscriptStream(_AudioStream):
    """`transcript.text.delta`/`done`; without the upstream's usage the file's estimate is billed."""

    __slots__ = ()
    delta_type, delta_field, done_type = "transcript.text.delta", "delta", "transcript.text.done"

    def finish(self) -> list[dict[str, Any]]:
        if self.usage is None:
            self.usage = estimate(self.ctx.request)  # type: ignore[arg-type]  # the request is the form
        return []


class SpeechStream(_AudioStream):
    """`speech.audio.delta`/`done`: the input's characters, plus the tokens `done` counts."""

    __slots__ = ()
    delta_type, delta_field, done_type = "speech.audio.delta", "audio", "speech.audio.done"

    def __init__(self, ctx: StreamContext):
        super().__init__(ctx)
        self.usage = speech_usage(ctx.request)

    def _usage(self, usage: Any) -> Usage | None:
        counted = super()._usage(usage if isinstance(usage, dict) else None)
        characters = speech_usage(self.ctx.request).characters
        if counted is None:
            return Usage(characters=characters)
        counted.characters = characters
        return counted
