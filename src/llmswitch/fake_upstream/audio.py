"""OpenAI audio: `POST /v1/audio/transcriptions`, `/v1/audio/translations` (multipart) and `/v1/audio/speech`.

The upload is read part by part, never held whole: the record in `/_fake/requests` shows the
form fields and, for the file, its filename, content type, size and sha256. The transcript is
fixed so a test can predict it: "Transcript of NAME, SIZE bytes." ("Translation of ..." for
translations; a directive's `text` replaces it). Its duration is SIZE / 32000 s (16 kHz 16-bit
mono), or the data length over the byte rate when the file is a WAV. Words share the duration
evenly; the whole text is one segment. Directives come from the `x-fake` header and a
`!fake{...}` in the `prompt` field (speech: in `input`), with the faults of chat: a streamed
transcript or an SSE speech answer is cut, stalled, reset or ended with an error event by
frame, a binary speech answer by chunk (`error_after` on binary audio just ends it early).

Speech answers a tone lasting (0.2 + 0.01 x characters of `input`) / `speed` seconds, in the
asked format (see `sound.py` for what each format holds), sent in `chunks` pieces with chunked
transfer; `stream_format: "sse"` sends the same bytes base64-encoded in `speech.audio.delta`
events, then `speech.audio.done` with usage. whisper-1 ignores `stream`, as the real one does.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from llmswitch.dialects.sse import encode_data
from llmswitch.fake_upstream import answer as answers
from llmswitch.fake_upstream import openai, sound
from llmswitch.fake_upstream.dialect import Rejected
from llmswitch.fake_upstream.directives import Directive
from llmswitch.fake_upstream.faults import abort, pacing_of, send
from llmswitch.fake_upstream.handling import BODY, JSON, RECORD, SSE_HEADERS, STATE, default_message

_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
_TRANSCRIPTION_FORMATS = (*_FORMATS, "diarized_json")
_EXTENSIONS = ("flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm")
_BYTES_PER_SECOND = 32_000
_VOICES = {"alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse",
           "marin", "cedar"}
_SPEECH_FIELDS = {"model", "input", "voice", "instructions", "response_format", "speed", "stream_format"}
_MAX_SPEECH_CHARS = 4096
_TEXT_PLAIN = "text/plain; charset=utf-8"


@dataclass(slots=True)
class Upload:
    """What arrived of a multipart request: the form fields (repeated ones as lists) and the file's digest."""

    fields: dict[str, Any] = field(default_factory=dict)
    filename: str | None = None
    content_type: str | None = None
    size: int = 0
    sha256: str = ""
    byte_rate: int = 0  # from a WAV header, else 0

    def describe(self) -> dict[str, Any]:
        file = None if self.filename is None else {"filename": self.filename, "content_type": self.content_type,
                                                   "size": self.size, "sha256": self.sha256}
        return {**self.fields, "file": file}


async def read_upload(request: web.Request) -> Upload:
    """Stream the form; the file is hashed chunk by chunk, so memory stays flat whatever its size."""
    if not request.content_type.startswith("multipart/form-data"):
        raise Rejected(400, f"Invalid Content-Type header ({request.content_type}), expected multipart/form-data.")
    upload = Upload()
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        name = part.name or ""
        if name == "file" and part.filename is not None:
            digest = hashlib.sha256()
            upload.filename, upload.content_type = part.filename, part.headers.get("content-type")
            first = True
            while chunk := await part.read_chunk(256 * 1024):
                if first and chunk[:4] == b"RIFF" and chunk[8:12] == b"WAVE":
                    upload.byte_rate = int.from_bytes(chunk[28:32], "little")
                first = False
                digest.update(chunk)
                upload.size += len(chunk)
            upload.sha256 = digest.hexdigest()
        elif name.endswith("[]"):
            upload.fields.setdefault(name[:-2], []).append(await part.text())
        else:
            upload.fields[name] = await part.text()
    return upload


@dataclass(slots=True)
class _Transcription:
    task: str  # transcribe | translate
    model: str
    response_format: str
    granularities: list[str]
    logprobs: bool
    stream: bool
    language: str


def _check_transcription(upload: Upload, translate: bool) -> _Transcription:
    fields = upload.fields
    if upload.filename is None:
        raise Rejected(400, "Missing required parameter: 'file'.", "file")
    extension = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
    if extension not in _EXTENSIONS:
        raise Rejected(400, f"Invalid file format. Supported formats: {list(_EXTENSIONS)}", "file")
    model = fields.get("model")
    if not model:
        raise Rejected(400, "Missing required parameter: 'model'.", "model")
    formats = _FORMATS if translate else _TRANSCRIPTION_FORMATS
    response_format = fields.get("response_format", "json")
    if response_format not in formats:
        raise Rejected(400, f"Invalid value: '{response_format}'. Supported values are: "
                            + ", ".join(f"'{f}'" for f in formats) + ".", "response_format")
    if "temperature" in fields:
        try:
            temperature = float(fields["temperature"])
        except ValueError:
            temperature = -1.0
        if not 0 <= temperature <= 1:
            raise Rejected(400, f"Invalid 'temperature': {fields['temperature']}. Expected a number from 0 to 1.",
                           "temperature")
    granularities = fields.get("timestamp_granularities", [])
    for value in granularities:
        if value not in ("word", "segment"):
            raise Rejected(400, f"Invalid value: '{value}'. Supported values are: 'word' and 'segment'.",
                           "timestamp_granularities")
    if granularities and response_format != "verbose_json":
        raise Rejected(400, "timestamp_granularities is only supported with response_format verbose_json.",
                       "timestamp_granularities")
    include = fields.get("include", [])
    for value in include:
        if value != "logprobs":
            raise Rejected(400, f"Invalid value: '{value}'. Supported values are: 'logprobs'.", "include")
    if include and response_format != "json":
        raise Rejected(400, "logprobs are only supported with response_format json.", "include")
    stream = fields.get("stream", "false").lower()
    if stream not in ("true", "false"):
        raise Rejected(400, f"Invalid value for 'stream': {fields['stream']}.", "stream")
    if translate and stream == "true":
        raise Rejected(400, "Translations cannot be streamed.", "stream")
    _check_chunking(fields)
    return _Transcription("translate" if translate else "transcribe", model, response_format, granularities,
                          bool(include), stream == "true" and not model.startswith("whisper"),
                          "english" if translate else fields.get("language") or "english")


def _check_chunking(fields: dict[str, Any]) -> None:
    """`chunking_strategy` is "auto" or a server_vad object (the SDK sends its keys as `[name]` fields)."""
    if "chunking_strategy" in fields and fields["chunking_strategy"] != "auto":
        raise Rejected(400, f"Invalid value: '{fields['chunking_strategy']}'. Expected 'auto' or a server_vad "
                            "object.", "chunking_strategy")
    kind = fields.get("chunking_strategy[type]")
    if kind is not None and kind != "server_vad":
        raise Rejected(400, f"Invalid value: '{kind}'. Supported values are: 'server_vad'.",
                       "chunking_strategy.type")


def _duration(upload: Upload) -> float:
    if upload.byte_rate:
        return round(max(0, upload.size - 44) / upload.byte_rate, 3)
    return round(upload.size / _BYTES_PER_SECOND, 3)


def _words(text: str, duration: float) -> list[dict[str, Any]]:
    words = text.split()
    step = duration / max(1, len(words))
    return [{"word": w.strip(".,"), "start": round(i * step, 3), "end": round((i + 1) * step, 3)}
            for i, w in enumerate(words)]


def _segment(text: str, duration: float) -> dict[str, Any]:
    return {"id": 0, "seek": 0, "start": 0.0, "end": duration, "text": " " + text,
            "tokens": [50364 + i for i in range(len(text.split()))], "temperature": 0.0, "avg_logprob": -0.25,
            "compression_ratio": 1.0, "no_speech_prob": 0.01}


def _stamp(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _token_usage(text: str, prompt: str, directive: Directive) -> dict[str, Any]:
    audio = answers.tokens(len(text)) * 2
    text_tokens = answers.tokens(len(prompt)) if prompt else 0
    output = answers.tokens(len(text))
    if directive.usage:
        audio = directive.usage.get("prompt", audio + text_tokens) - text_tokens
        output = directive.usage.get("completion", output)
    return {"type": "tokens", "input_tokens": audio + text_tokens, "output_tokens": output,
            "total_tokens": audio + text_tokens + output,
            "input_token_details": {"text_tokens": text_tokens, "audio_tokens": audio}}


def _usage(job: _Transcription, text: str, prompt: str, duration: float, directive: Directive) -> dict[str, Any]:
    if job.model.startswith("whisper"):
        return {"type": "duration", "seconds": max(1, round(duration + 0.499))}
    return _token_usage(text, prompt, directive)


def _logprobs(text: str) -> list[dict[str, Any]]:
    return [{"token": w, "logprob": -0.01, "bytes": list(w.encode())} for w in text.split()]


def _render(job: _Transcription, text: str, prompt: str, duration: float,
            directive: Directive) -> tuple[bytes, str]:
    """The body and its content type for `response_format`."""
    fmt = job.response_format
    if fmt in ("json", "diarized_json"):
        body: dict[str, Any] = {"text": text}
        if fmt == "diarized_json":
            body = {"task": job.task, "duration": duration, "text": text, "segments": [
                {"type": "transcript.text.segment", "id": "seg_0", "start": 0.0, "end": duration,
                 "text": text, "speaker": "A"}]}
        if job.logprobs:
            body["logprobs"] = _logprobs(text)
        if job.task == "transcribe":
            body["usage"] = _usage(job, text, prompt, duration, directive)
        return orjson.dumps(body), JSON
    if fmt == "verbose_json":
        body = {"task": job.task, "language": job.language, "duration": duration, "text": text}
        if "word" in job.granularities:
            body["words"] = _words(text, duration)
        if "segment" in job.granularities or not job.granularities:
            body["segments"] = [_segment(text, duration)]
        if job.task == "transcribe":
            body["usage"] = {"type": "duration", "seconds": duration}
        return orjson.dumps(body), JSON
    if fmt == "srt":
        return f"1\n{_stamp(0, ',')} --> {_stamp(duration, ',')}\n{text}\n\n".encode(), _TEXT_PLAIN
    if fmt == "vtt":
        return f"WEBVTT\n\n{_stamp(0, '.')} --> {_stamp(duration, '.')}\n{text}\n\n".encode(), _TEXT_PLAIN
    return f"{text}\n".encode(), _TEXT_PLAIN


def _transcript_frames(job: _Transcription, text: str, prompt: str, directive: Directive,
                       chunks: int) -> list[bytes]:
    frames = []
    for piece in answers.split(text, chunks):
        event: dict[str, Any] = {"type": "transcript.text.delta", "delta": piece}
        if job.logprobs:
            event["logprobs"] = _logprobs(piece)
        frames.append(encode_data(event))
    done: dict[str, Any] = {"type": "transcript.text.done", "text": text,
                            "usage": _token_usage(text, prompt, directive)}
    if job.logprobs:
        done["logprobs"] = _logprobs(text)
    return [*frames, encode_data(done)]


def _stream_error(status: int, message: str) -> bytes:
    return encode_data(orjson.loads(openai.error_body(status, message)))


async def _send_frames(request: web.Request, headers: dict[str, str], frames: list[bytes],
                       directive: Directive, error_frame: bytes) -> web.StreamResponse:
    """Each frame is its own write (its own HTTP chunk), so a client sees audio arrive piece by piece."""
    response = web.StreamResponse(headers=headers)
    await response.prepare(request)
    pacing = pacing_of(directive)
    if pacing.plain:
        for frame in frames:
            await response.write(frame)
    elif not await send(response, request, frames, pacing, error_frame):
        return response
    await response.write_eof()
    return response


def _error_frame(directive: Directive) -> bytes:
    if directive.error_after is None:
        return b""
    status = directive.status or 500
    return _stream_error(status, directive.message or default_message(status))


def _transcription_handler(translate: bool) -> Any:
    async def check(request: web.Request) -> tuple[tuple[Upload, _Transcription], str]:
        upload = await read_upload(request)
        request[RECORD]["body"] = upload.describe()
        return (upload, _check_transcription(upload, translate)), upload.fields.get("prompt", "")

    async def answer(request: web.Request, headers: dict[str, str], checked: tuple[Upload, _Transcription],
                     stripped_prompt: str, directive: Directive) -> web.StreamResponse:
        upload, job = checked
        verb = "Translation" if translate else "Transcript"
        text = directive.text if directive.text is not None else f"{verb} of {upload.filename}, {upload.size} bytes."
        duration = _duration(upload)
        if job.stream:
            chunks = directive.chunks or request.app[STATE].options.chunks
            frames = _transcript_frames(job, text, stripped_prompt, directive, chunks)
            return await _send_frames(request, {**headers, **SSE_HEADERS}, frames, directive, _error_frame(directive))
        if directive.reset_after is not None:
            abort(request)
        body, content_type = _render(job, text, stripped_prompt, duration, directive)
        return web.Response(body=body, headers={**headers, "content-type": content_type})

    return openai.operation(check, answer)


def _check_speech(body: Any) -> tuple[str, str, float, bool]:
    """input, response_format, speed and whether SSE was asked, checked as the real API checks them."""
    model = openai.checked_model(body, _SPEECH_FIELDS)
    text = body.get("input")
    if not isinstance(text, str) or not text:
        raise Rejected(400, "Missing required parameter: 'input'.", "input")
    if len(text) > _MAX_SPEECH_CHARS:
        raise Rejected(400, f"'input' is too long: {len(text)} characters, at most {_MAX_SPEECH_CHARS}.", "input")
    voice = body.get("voice")
    custom = isinstance(voice, dict) and isinstance(voice.get("id"), str)
    if not (custom or isinstance(voice, str) and voice in _VOICES):
        raise Rejected(400, f"Invalid value: '{voice}'. Supported values are: "
                            + ", ".join(f"'{v}'" for v in sorted(_VOICES)) + ", or a custom voice {'id': ...}.",
                       "voice")
    legacy = model.startswith("tts-1")
    if "instructions" in body and (legacy or not isinstance(body["instructions"], str)):
        raise Rejected(400, f"instructions are not supported with {model}." if legacy
                       else "Invalid type for 'instructions': expected a string.", "instructions")
    fmt = body.get("response_format", "mp3")
    if fmt not in sound.CONTENT_TYPES:
        raise Rejected(400, f"Invalid value: '{fmt}'. Supported values are: "
                            + ", ".join(f"'{f}'" for f in sound.CONTENT_TYPES) + ".", "response_format")
    speed = body.get("speed", 1.0)
    if not isinstance(speed, (int, float)) or isinstance(speed, bool) or not 0.25 <= speed <= 4.0:
        raise Rejected(400, f"Invalid 'speed': {speed}. Expected a number from 0.25 to 4.0.", "speed")
    stream_format = body.get("stream_format", "audio")
    if stream_format not in ("audio", "sse"):
        raise Rejected(400, f"Invalid value: '{stream_format}'. Supported values are: 'sse' and 'audio'.",
                       "stream_format")
    if stream_format == "sse" and legacy:
        raise Rejected(400, f"stream_format 'sse' is not supported with {model}.", "stream_format")
    return text, fmt, float(speed), stream_format == "sse"


def speech_seconds(text: str, speed: float = 1.0) -> float:
    """How long the fake's speech for `text` lasts: tests use it to predict the audio's length."""
    return round((0.2 + 0.01 * len(text)) / speed, 3)


async def _speech_request(request: web.Request) -> tuple[tuple[str, str, float, bool], str]:
    checked = _check_speech(request[BODY])
    return checked, checked[0]


async def _speak(request: web.Request, headers: dict[str, str], checked: tuple[str, str, float, bool],
                 stripped: str, directive: Directive) -> web.StreamResponse:
    text, fmt, speed, sse = checked
    audio = await asyncio.to_thread(sound.encode, fmt, speech_seconds(stripped or text, speed))
    count = directive.chunks or request.app[STATE].options.chunks
    size = -(-len(audio) // max(1, count))
    pieces = [audio[i:i + size] for i in range(0, len(audio), size)]
    if not sse:
        return await _send_frames(request, {**headers, "content-type": sound.CONTENT_TYPES[fmt]}, pieces,
                                  directive, b"")
    usage = {"input_tokens": answers.tokens(len(text)), "output_tokens": answers.tokens(len(audio) // 16),
             "total_tokens": answers.tokens(len(text)) + answers.tokens(len(audio) // 16)}
    frames = [encode_data({"type": "speech.audio.delta", "audio": base64.b64encode(p).decode()}) for p in pieces]
    frames.append(encode_data({"type": "speech.audio.done", "usage": usage}))
    return await _send_frames(request, {**headers, **SSE_HEADERS}, frames, directive, _error_frame(directive))


speech = openai.operation(_speech_request, _speak)
transcriptions = _transcription_handler(translate=False)
translations = _transcription_handler(translate=True)
