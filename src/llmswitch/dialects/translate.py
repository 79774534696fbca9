"""Which translation joins which pair of dialects, per operation, with OpenAI's form as the hub.

`src` is the dialect a body is written in, `dst` the one it must become. Requests go from the
client's dialect to the provider's; responses and streams come back the other way. Each dialect
module provides pure functions, registered below for one (operation, from, to) each: a dialect
and the hub both ways, and the same-dialect pass-throughs (which only rewrite `model`). Every other
pair is derived, A -> B being A -> hub -> B, so a new dialect is joined to every other by the two
translations between it and the hub.

On the way into the hub, a request may say more when the dialect it goes on to reads it: towards
Gemini, Anthropic's thinking settings become `reasoning_effort` (`READS_REASONING_EFFORT`).
"""

from __future__ import annotations

from typing import Any, Callable

from llmswitch.dialects import anthropic_request, anthropic_response, anthropic_stream, audio, embeddings
from llmswitch.dialects import gemini as gemini_dialect
from llmswitch.dialects import gemini_embeddings
from llmswitch.dialects import openai as openai_dialect
from llmswitch.dialects.chain import chain_requests, chain_responses, chain_streams
from llmswitch.dialects.streams import OpenAIPassthrough, StreamTranslator
from llmswitch.dialects.types import RequestOptions, ResponseContext, StreamContext, Translated
from llmswitch.dialects.usage import Usage
from llmswitch.errors import invalid

HUB = "openai"
RequestFn = Callable[[dict[str, Any], RequestOptions], Translated]
ResponseFn = Callable[[dict[str, Any], ResponseContext], tuple[dict[str, Any], Usage | None]]
StreamFn = Callable[[StreamContext], StreamTranslator]
SimulateFn = Callable[[dict[str, Any]], list[dict[str, Any]]]
Pair = tuple[str, str, str]  # (operation, from, to)


def _count_request(body: dict[str, Any], options: RequestOptions) -> Translated:
    """A prompt to count, as the client wrote it: only `model` is the deployment's."""
    return Translated({**body, "model": options.upstream_model})


def _as_is(body: dict[str, Any], ctx: ResponseContext) -> tuple[dict[str, Any], Usage | None]:
    return body, None


_REQUESTS: dict[Pair, RequestFn] = {
    ("chat", "openai", "openai"): openai_dialect.passthrough_request,
    ("chat", "anthropic", "anthropic"): anthropic_request.passthrough_request,
    ("chat", "openai", "anthropic"): anthropic_request.openai_to_anthropic_request,
    ("chat", "anthropic", "openai"): anthropic_request.anthropic_to_openai_request,
    ("chat", "openai", "gemini"): gemini_dialect.openai_to_gemini_request,
    ("embeddings", "openai", "openai"): embeddings.passthrough_request,
    ("embeddings", "openai", "gemini"): gemini_embeddings.openai_to_gemini_request,
    ("count_tokens", "anthropic", "anthropic"): _count_request,
    ("transcription", "openai", "openai"): audio.form_request,
    ("translation", "openai", "openai"): audio.form_request,
    ("speech", "openai", "openai"): audio.speech_request,
}
_RESPONSES: dict[Pair, ResponseFn] = {
    ("chat", "openai", "openai"): openai_dialect.passthrough_response,
    ("chat", "anthropic", "anthropic"): anthropic_response.passthrough_response,
    ("chat", "anthropic", "openai"): anthropic_response.anthropic_to_openai_response,
    ("chat", "openai", "anthropic"): anthropic_response.openai_to_anthropic_response,
    ("chat", "gemini", "openai"): gemini_dialect.gemini_to_openai_response,
    ("embeddings", "openai", "openai"): embeddings.passthrough_response,
    ("embeddings", "gemini", "openai"): gemini_embeddings.gemini_to_openai_response,
    ("count_tokens", "anthropic", "anthropic"): _as_is,
    ("transcription", "openai", "openai"): audio.transcript_response,
    ("translation", "openai", "openai"): audio.transcript_response,
    ("speech", "openai", "openai"): audio.speech_response,
}
_STREAMS: dict[Pair, StreamFn] = {
    ("chat", "openai", "openai"): OpenAIPassthrough,
    ("chat", "anthropic", "anthropic"): anthropic_stream.AnthropicPassthrough,
    ("chat", "anthropic", "openai"): anthropic_stream.AnthropicToOpenAIStream,
    ("chat", "openai", "anthropic"): anthropic_stream.OpenAIToAnthropicStream,
    ("chat", "gemini", "openai"): gemini_dialect.GeminiToOpenAIStream,
    ("transcription", "openai", "openai"): audio.TranscriptStream,
    ("speech", "openai", "openai"): audio.SpeechStream,
}
# A whole non-streaming answer replayed as its dialect's stream, for `stream: simulate` deployments.
_SIMULATORS: dict[tuple[str, str], SimulateFn] = {
    ("chat", "openai"): openai_dialect.completion_to_chunks,
    ("chat", "anthropic"): anthropic_stream.anthropic_message_to_events,
    ("chat", "gemini"): lambda body: [body],  # a Gemini stream chunk is a whole response
}
READS_REASONING_EFFORT = {("chat", "gemini")}  # (operation, dialect): its leg from the hub reads it

_derived: dict[tuple[str, Pair], Any] = {}  # ("request" | "response" | "stream", pair) -> function


def _find(kind: str, table: dict[Pair, Any], pair: Pair) -> Any:
    """The direct translation of PAIR, else the one through the hub, else None (cached)."""
    key = (kind, pair)
    try:
        return _derived[key]
    except KeyError:
        pass
    found = table.get(pair)
    operation, src, dst = pair
    if found is None and HUB not in (src, dst):
        into, out_of = table.get((operation, src, HUB)), table.get((operation, HUB, dst))
        if into is not None and out_of is not None:
            if kind == "request":
                found = chain_requests(into, out_of, reasoning=(operation, dst) in READS_REASONING_EFFORT)
            else:
                found = (chain_responses if kind == "response" else chain_streams)(into, out_of)
    _derived[key] = found
    return found


def can_translate(operation: str, client: str, upstream: str) -> bool:
    """Can a request of OPERATION written in CLIENT's dialect be served by an UPSTREAM endpoint?"""
    return (_find("request", _REQUESTS, (operation, client, upstream)) is not None
            and _find("response", _RESPONSES, (operation, upstream, client)) is not None)


def _required(kind: str, table: dict[Pair, Any], pair: Pair) -> Any:
    found = _find(kind, table, pair)
    if found is None:
        operation, src, dst = pair
        raise invalid(f"this gateway cannot translate {operation} {kind}s from {src} to {dst}", param="model",
                      code="unsupported_dialect")
    return found


def request_translation(operation: str, src: str, dst: str) -> RequestFn:
    return _required("request", _REQUESTS, (operation, src, dst))  # type: ignore[no-any-return]


def response_translation(operation: str, src: str, dst: str) -> ResponseFn:
    return _required("response", _RESPONSES, (operation, src, dst))  # type: ignore[no-any-return]


def stream_translation(operation: str, src: str, dst: str) -> StreamFn:
    return _required("stream", _STREAMS, (operation, src, dst))  # type: ignore[no-any-return]


def simulator(operation: str, dialect: str) -> SimulateFn:
    return _SIMULATORS[(operation, dialect)]


def translate_request(src: str, dst: str, body: dict[str, Any], options: RequestOptions,
                      operation: str = "chat") -> Translated:
    return request_translation(operation, src, dst)(body, options)


def translate_response(src: str, dst: str, body: dict[str, Any], ctx: ResponseContext,
                       operation: str = "chat") -> tuple[dict[str, Any], Usage | None]:
    return response_translation(operation, src, dst)(body, ctx)


def stream_translator(src: str, dst: str, ctx: StreamContext, operation: str = "chat") -> StreamTranslator:
    return stream_translation(operation, src, dst)(ctx)
