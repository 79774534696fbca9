"""The one place that knows which translation joins which pair of dialects.

`src` is the dialect a body is written in, `dst` the one it must become. Requests go from the
client's dialect to the provider's; responses and streams come back the other way. Same dialect
on both sides is a pass-through that only rewrites `model`. Each dialect module provides pure
functions; the tables below join them, so adding a provider dialect means adding its rows here.
"""

from __future__ import annotations

from typing import Any, Callable

from llmswitch.dialects import anthropic_request, anthropic_response, anthropic_stream
from llmswitch.dialects import gemini as gemini_dialect
from llmswitch.dialects import openai as openai_dialect
from llmswitch.dialects.chain import chain_requests, chain_responses, chain_streams
from llmswitch.dialects.streams import OpenAIPassthrough, StreamTranslator
from llmswitch.dialects.types import RequestOptions, ResponseContext, StreamContext, Translated
from llmswitch.dialects.usage import Usage
from llmswitch.errors import invalid

RequestFn = Callable[[dict[str, Any], RequestOptions], Translated]
ResponseFn = Callable[[dict[str, Any], ResponseContext], tuple[dict[str, Any], Usage | None]]
StreamFn = Callable[[StreamContext], StreamTranslator]

_REQUESTS: dict[tuple[str, str], RequestFn] = {
    ("openai", "openai"): openai_dialect.passthrough_request,
    ("openai", "anthropic"): anthropic_request.openai_to_anthropic_request,
    ("anthropic", "openai"): anthropic_request.anthropic_to_openai_request,
    ("anthropic", "anthropic"): anthropic_request.passthrough_request,
    ("openai", "gemini"): gemini_dialect.openai_to_gemini_request,
    ("anthropic", "gemini"): chain_requests(anthropic_request.anthropic_to_reasoning_openai_request,
                                            gemini_dialect.openai_to_gemini_request),
}
_RESPONSES: dict[tuple[str, str], ResponseFn] = {
    ("openai", "openai"): openai_dialect.passthrough_response,
    ("anthropic", "openai"): anthropic_response.anthropic_to_openai_response,
    ("openai", "anthropic"): anthropic_response.openai_to_anthropic_response,
    ("anthropic", "anthropic"): anthropic_response.passthrough_response,
    ("gemini", "openai"): gemini_dialect.gemini_to_openai_response,
    ("gemini", "anthropic"): chain_responses(gemini_dialect.gemini_to_openai_response,
                                             anthropic_response.openai_to_anthropic_response),
}
_STREAMS: dict[tuple[str, str], StreamFn] = {
    ("openai", "openai"): OpenAIPassthrough,
    ("anthropic", "openai"): anthropic_stream.AnthropicToOpenAIStream,
    ("openai", "anthropic"): anthropic_stream.OpenAIToAnthropicStream,
    ("anthropic", "anthropic"): anthropic_stream.AnthropicPassthrough,
    ("gemini", "openai"): gemini_dialect.GeminiToOpenAIStream,
    ("gemini", "anthropic"): chain_streams(gemini_dialect.GeminiToOpenAIStream,
                                           anthropic_stream.OpenAIToAnthropicStream),
}


def _lookup(table: dict[tuple[str, str], Any], src: str, dst: str) -> Any:
    fn = table.get((src, dst))
    if fn is None:
        raise invalid(f"this gateway cannot translate {src} requests to {dst}", param="model",
                      code="unsupported_dialect")
    return fn


def translate_request(src: str, dst: str, body: dict[str, Any], options: RequestOptions) -> Translated:
    return _lookup(_REQUESTS, src, dst)(body, options)  # type: ignore[no-any-return]


def translate_response(src: str, dst: str, body: dict[str, Any],
                       ctx: ResponseContext) -> tuple[dict[str, Any], Usage | None]:
    return _lookup(_RESPONSES, src, dst)(body, ctx)  # type: ignore[no-any-return]


def stream_translator(src: str, dst: str, ctx: StreamContext) -> StreamTranslator:
    return _lookup(_STREAMS, src, dst)(ctx)  # type: ignore[no-any-return]
