"""The translation registry joins OpenAI clients to Gemini providers through this dialect."""

from __future__ import annotations

from llmswitch.dialects.gemini import GeminiToOpenAIStream
from llmswitch.dialects.translate import stream_translator, translate_request, translate_response
from llmswitch.dialects.types import RequestOptions, ResponseContext, StreamContext


def test_openai_requests_to_gemini_are_translated():
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    translated = translate_request("openai", "gemini", body, RequestOptions("gemini-2.5-flash", False))
    assert translated.body["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]


def test_gemini_responses_to_openai_are_translated():
    body = {"candidates": [{"content": {"parts": [{"text": "yo"}]}, "finishReason": "STOP"}]}
    completion, _ = translate_response("gemini", "openai", body, ResponseContext(client_model="m"))
    assert completion["choices"][0]["message"]["content"] == "yo"


def test_gemini_streams_to_openai_use_the_gemini_state_machine():
    translator = stream_translator("gemini", "openai", StreamContext(client_model="m"))
    assert isinstance(translator, GeminiToOpenAIStream)


def test_anthropic_requests_reach_gemini_with_their_thinking_effort_listing_what_was_left_out():
    body = {"model": "m", "max_tokens": 2000, "output_config": {"effort": "low"}, "top_k": 3, "messages": [
        {"role": "user", "content": "hi"}, {"role": "system", "content": "be brief"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": "s"},
                                          {"type": "text", "text": "ok"}]},
        {"role": "user", "content": [{"type": "redacted_thinking", "data": "d"}, {"type": "text", "text": "go"}]}]}
    translated = translate_request("anthropic", "gemini", body, RequestOptions("gemini-2.5-flash", False))
    assert translated.body["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 1024, "includeThoughts": True}
    assert translated.body["contents"][0]["parts"] == [{"text": "hi"}, {"text": "System instruction:\nbe brief"}]
    assert translated.dropped == ["messages.content.thinking", "messages.content.redacted_thinking", "top_k"]
