"""Which translation joins which pair of dialects, per operation, with OpenAI's form as the hub.

`src` is the dialect a body is written in, `dst` the one it must become. Requests go from the
client's dialect to the provider's; responses and streams come back the other way. Each dialect
module provides pure functions, registered below per leg (operation, client, upstream), a request's
and its answer's together: a dialect and the hub both ways, and the same-dialect pass-throughs
(which only rewrite `model`); streams per (operation, from, to). Every other
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
from llmswitch.dialects import responses, responses_request, responses_response, responses_stream
from llmswitch.dialects.chain import chain_requests, chain_responses, chain_streams
from llmswitch.dialects.responses_events import response_to_events
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


def _no_body(body: dict[str, Any], options: RequestOptions) -> Translated:
    """A sub-operation on a stored response: its id is in the path, nothing goes in a body."""
    return Translated({})


# What Anthropic's count_tokens takes of a Messages request (it refuses max_tokens, stream...).
ANTHROPIC_COUNT_FIELDS = ("model", "messages", "system", "tools", "tool_choice", "thinking")
_responses_to_anthropic = chain_requests(responses_request.responses_to_chat_request,
                                         anthropic_request.openai_to_anthropic_request)


def _responses_count_to_anthropic(body: dict[str, Any], options: RequestOptions) -> Translated:
    """`POST /v1/responses/input_tokens` as Anthropic's count_tokens: the Messages request the create
    would have made, cut to what count_tokens takes."""
    made = _responses_to_anthropic(body, options)
    return Translated({key: made.body[key] for key in ANTHROPIC_COUNT_FIELDS if key in made.body}, made.dropped)


def _anthropic_count_to_responses(body: dict[str, Any], ctx: ResponseContext) -> tuple[dict[str, Any], Usage | None]:
    return {"object": "response.input_tokens", "input_tokens": body["input_tokens"]}, None


# (operation, client, upstream): the request's translation there and the answer's back, one row for both
# directions of a leg, so a leg is never half registered.
_LEGS: dict[Pair, tuple[RequestFn, ResponseFn]] = {
    ("chat", "openai", "openai"): (openai_dialect.passthrough_request, openai_dialect.passthrough_response),
    ("chat", "anthropic", "anthropic"): (anthropic_request.passthrough_request,
                                         anthropic_response.passthrough_response),
    ("chat", "openai", "anthropic"): (anthropic_request.openai_to_anthropic_request,
                                      anthropic_response.anthropic_to_openai_response),
    ("chat", "anthropic", "openai"): (anthropic_request.anthropic_to_openai_request,
                                      anthropic_response.openai_to_anthropic_response),
    ("chat", "openai", "gemini"): (gemini_dialect.openai_to_gemini_request, gemini_dialect.gemini_to_openai_response),
    ("embeddings", "openai", "openai"): (embeddings.passthrough_request, embeddings.passthrough_response),
    ("embeddings", "openai", "gemini"): (gemini_embeddings.openai_to_gemini_request,
                                         gemini_embeddings.gemini_to_openai_response),
    ("count_tokens", "anthropic", "anthropic"): (_count_request, _as_is),
    ("transcription", "openai", "openai"): (audio.form_request, audio.transcript_response),
    ("translation", "openai", "openai"): (audio.form_request, audio.transcript_response),
    ("speech", "openai", "openai"): (audio.speech_request, audio.speech_response),
    ("chat", "responses", "responses"): (responses.passthrough_request, responses.passthrough_response),
    ("chat", "responses", "openai"): (responses_request.responses_to_chat_request,
                                      responses_response.chat_to_responses_response),
    ("chat", "openai", "responses"): (responses_request.chat_to_responses_request,
                                      responses_response.responses_to_chat_response),
    ("count_tokens", "responses", "responses"): (_count_request, _as_is),
    ("count_tokens", "responses", "anthropic"): (_responses_count_to_anthropic, _anthropic_count_to_responses),
    ("compact", "responses", "responses"): (_count_request, responses.passthrough_response),
    ("response_retrieve", "responses", "responses"): (_no_body, responses.passthrough_response),
    ("response_input_items", "responses", "responses"): (_no_body, _as_is),
    ("response_delete", "responses", "responses"): (_no_body, _as_is),
    ("response_cancel", "responses", "responses"): (_no_body, responses.passthrough_response),
}
# Requests go client -> upstream, responses upstream -> client: each leg's row read both ways.
_REQUESTS: dict[Pair, RequestFn] = {pair: request for pair, (request, _) in _LEGS.items()}
_RESPONSES: dict[Pair, ResponseFn] = {(operation, upstream, client): response
                                      for (operation, client, upstream), (_, response) in _LEGS.items()}
_STREAMS: dict[Pair, StreamFn] = {
    ("chat", "openai", "openai"): OpenAIPassthrough,
    ("chat", "anthropic", "anthropic"): anthropic_stream.AnthropicPassthrough,
    ("chat", "anthropic", "openai"): anthropic_stream.AnthropicToOpenAIStream,
    ("chat", "openai", "anthropic"): anthropic_stream.OpenAIToAnthropicStream,
    ("chat", "gemini", "openai"): gemini_dialect.GeminiToOpenAIStream,
    ("transcription", "openai", "openai"): audio.TranscriptStream,
    ("speech", "openai", "openai"): audio.SpeechStream,
    ("chat", "responses", "responses"): responses_stream.ResponsesPassthrough,
    ("chat", "openai", "responses"): responses_stream.ChatToResponsesStream,
    ("chat", "responses", "openai"): responses_stream.ResponsesToChatStream,
    # Anthropic's signed thinking travels on in the hub's chunks, for the reasoning items' encrypted_content.
    ("chat", "anthropic", "responses"): chain_streams(anthropic_stream.AnthropicToThinkingOpenAIStream,
                                                      responses_stream.ChatToResponsesStream),
    ("response_retrieve", "responses", "responses"): responses_stream.ResponsesPassthrough,
}
# A whole non-streaming answer replayed as its dialect's stream, for `stream: simulate` deployments.
_SIMULATORS: dict[tuple[str, str], SimulateFn] = {
    ("chat", "openai"): openai_dialect.completion_to_chunks,
    ("chat", "anthropic"): anthropic_stream.anthropic_message_to_events,
    ("chat", "gemini"): lambda body: [body],  # a Gemini stream chunk is a whole response
    ("chat", "responses"): response_to_events,
}
# (operation, dialect): its leg from the hub reads it. Models that answer only on the Responses API
# are reasoning models, which take `reasoning.effort`.
READS_REASONING_EFFORT = {("chat", "gemini"), ("chat", "responses")}

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
