"""`POST /v1/audio/transcriptions`, `/v1/audio/translations` and `/v1/audio/speech`: OpenAI's audio
surface, served by OpenAI and any OpenAI-compatible server (Groq, a local whisper server).

Transcriptions and translations are multipart forms read as they arrive (`surfaces.form`): the fields
before the file route the request, the file passes on to the upstream, and the answer comes back as
the upstream's own bytes and media type (json, verbose_json, text, srt, vtt), or, for a transcription
asked with `stream: true` before its file, as its `transcript.text.*` events (whisper-1 ignores
`stream`: its JSON is passed on as it is). Speech takes JSON and
answers the audio as it arrives, with the upstream's media type, or its `speech.audio.*` events when
`stream_format` is `sse`. A model none of whose deployments serves the operation (Anthropic, Gemini)
is a 400 naming `model`. Validation is OpenAI's own, before any upstream call: what the openai SDK
types allow, each refusal naming its field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from llmswitch.core.operations import SPEECH, TRANSCRIPTION, TRANSLATION, Operation
from llmswitch.core.pipeline import Request
from llmswitch.dialects.audio import speech_usage
from llmswitch.errors import invalid
from llmswitch.surfaces.body import read_json_object
from llmswitch.surfaces.form import ClientForm, read_form
from llmswitch.surfaces.wire import AUDIO
from llmswitch.web.context import GATEWAY
from llmswitch.web.respond import serve

RESPONSE_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
TRANSCRIPTION_FORMATS = (*RESPONSE_FORMATS, "diarized_json")
GRANULARITIES = ("word", "segment")
INCLUDES = ("logprobs",)
SPEECH_FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")
STREAM_FORMATS = ("sse", "audio")
MAX_SPEECH_INPUT = 4096  # characters


def _one_of(param: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise invalid(f"Invalid value: '{value}'. Supported values are: " + ", ".join(f"'{v}'" for v in allowed)
                      + ".", param=param, code="invalid_value")


def check_fields(fields: list[tuple[str, str]], operation: Operation) -> None:
    """Reject what OpenAI itself rejects among the form's fields (its values are text, as forms send them)."""
    for name, value in fields:
        if name == "model" and not value:
            raise invalid("you must provide a model parameter", param="model", code="missing_required_parameter")
        elif name == "response_format":
            _one_of(name, value, TRANSCRIPTION_FORMATS if operation is TRANSCRIPTION else RESPONSE_FORMATS)
        elif name == "temperature":
            try:
                temperature = float(value)
            except ValueError:
                temperature = -1.0
            if not 0 <= temperature <= 1:
                raise invalid(f"Invalid 'temperature': {value!r}. Expected a number from 0 to 1.", param=name,
                              code="invalid_value")
        elif name in ("timestamp_granularities[]", "timestamp_granularities"):
            _one_of("timestamp_granularities", value, GRANULARITIES)
        elif name in ("include[]", "include"):
            _one_of("include", value, INCLUDES)
        elif name == "stream":
            if value.lower() not in ("true", "false"):
                raise invalid(f"Invalid 'stream': {value!r}. Expected a boolean.", param=name, code="invalid_type")
            if operation is TRANSLATION and value.lower() == "true":
                raise invalid("Translations cannot be streamed.", param=name, code="invalid_value")


async def _audio_form(request: web.Request, operation: Operation) -> web.StreamResponse:
    server = request.app[GATEWAY].config.server
    form = await read_form(request, int(server.max_body_mb * (1 << 20)), server.body_timeout_s)
    try:
        return await serve_form(request, operation, form)
    finally:
        form.close()


async def serve_form(request: web.Request, operation: Operation, form: ClientForm,
                     adjust: Callable[[Request], None] | None = None) -> web.StreamResponse:
    """Serve a form read by `read_form` (ADJUST: as for `web.respond.serve`)."""
    check_fields(form.fields, operation)
    form.check_late = lambda fields: check_fields(fields, operation)
    model = form.value("model")
    if not model:
        raise invalid("you must provide a model parameter", param="model", code="missing_required_parameter")
    if form.upload is None:
        raise invalid("Missing required parameter: 'file'.", param="file", code="missing_required_parameter")
    stream = (form.value("stream") or "").lower() == "true"
    return await serve(request, AUDIO, operation, form, model=model, stream=stream, raw=not stream,
                       known_usage=form.estimate, adjust=adjust)


async def transcriptions(request: web.Request) -> web.StreamResponse:
    return await _audio_form(request, TRANSCRIPTION)


async def translations(request: web.Request) -> web.StreamResponse:
    return await _audio_form(request, TRANSLATION)


def validate_speech_request(body: dict[str, Any]) -> None:
    """Reject what OpenAI itself would reject, naming the parameter (raises a 400 GatewayError)."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid("you must provide a model parameter", param="model", code="missing_required_parameter")
    text = body.get("input")
    if not isinstance(text, str) or not text:
        raise invalid("Missing required parameter: 'input'.", param="input", code="missing_required_parameter")
    if len(text) > MAX_SPEECH_INPUT:
        raise invalid(f"Invalid 'input': {len(text)} characters, at most {MAX_SPEECH_INPUT} are allowed.",
                      param="input", code="string_above_max_length")
    voice = body.get("voice")
    if not (isinstance(voice, str) and voice or isinstance(voice, dict) and isinstance(voice.get("id"), str)):
        raise invalid("Invalid 'voice': expected a voice name or an object with an 'id'.", param="voice",
                      code="invalid_type" if "voice" in body else "missing_required_parameter")
    if "instructions" in body and not isinstance(body["instructions"], str):
        raise invalid("Invalid 'instructions': expected a string.", param="instructions", code="invalid_type")
    for name, allowed in (("response_format", SPEECH_FORMATS), ("stream_format", STREAM_FORMATS)):
        if name in body:
            if not isinstance(body[name], str):
                raise invalid(f"Invalid '{name}': expected a string.", param=name, code="invalid_type")
            _one_of(name, body[name], allowed)
    speed = body.get("speed")
    if speed is not None and (isinstance(speed, bool) or not isinstance(speed, (int, float))
                              or not 0.25 <= speed <= 4.0):
        raise invalid(f"Invalid 'speed': {speed!r}. Expected a number from 0.25 to 4.0.", param="speed",
                      code="invalid_value")


async def speech(request: web.Request) -> web.StreamResponse:
    body = await read_json_object(request)
    validate_speech_request(body)
    sse = body.get("stream_format") == "sse"
    return await serve(request, AUDIO, SPEECH, body, stream=sse, raw=not sse, known_usage=speech_usage(body))


ROUTES = (
    ("POST", "/audio/transcriptions", transcriptions, AUDIO),
    ("POST", "/audio/translations", translations, AUDIO),
    ("POST", "/audio/speech", speech, AUDIO),
)
