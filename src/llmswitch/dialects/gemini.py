"""Google Gemini (AI Studio `generateContent`) <-> OpenAI Chat Completions: the front door.

The work is split by direction: gemini_request (OpenAI request -> Gemini body, with
gemini_schema for tool and response schemas), gemini_response (Gemini response -> OpenAI
completion, finish reasons, usage) and gemini_stream (the stream state machine).
"""

from __future__ import annotations

from llmswitch.dialects.gemini_request import openai_to_gemini_request
from llmswitch.dialects.gemini_response import gemini_to_openai_response, usage_from_gemini
from llmswitch.dialects.gemini_stream import GeminiToOpenAIStream, gemini_response_to_events

__all__ = ["GeminiToOpenAIStream", "gemini_response_to_events", "gemini_to_openai_response",
           "openai_to_gemini_request", "usage_from_gemini"]
