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
