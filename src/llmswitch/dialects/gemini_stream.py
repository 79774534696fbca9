"""Gemini `streamGenerateContent?alt=sse` chunks -> OpenAI `chat.completion.chunk`s.

Each Gemini chunk is a whole GenerateContentResponse holding only the new parts, and function
calls arrive whole. So each call becomes one tool-call fragment carrying id, name and the full
arguments, with its own index counted over the whole stream of its choice: giving every call
index 0 merges parallel calls into one (litellm PR 11558). `usageMetadata` repeats on chunks
with running totals, so the last one wins, and the finish chunk waits for the end of the stream.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from llmswitch.dialects.chat_chunks import error_frame
from llmswitch.dialects.gemini_response import completion_id, finish_reason, tool_call, usage_from_gemini
from llmswitch.dialects.types import StreamContext
from llmswitch.dialects.usage import Usage, to_openai
from llmswitch.errors import OPENAI_TYPES

OPENAI_ERROR_TYPES = frozenset(OPENAI_TYPES.values())


@dataclass(slots=True)
class _Choice:
    calls: int = 0  # tool calls emitted so far: the next call's index
    reason: str | None = None  # Gemini's finishReason, once seen


class GeminiToOpenAIStream:
    """StreamTranslator from Gemini chunks to OpenAI chunks (see dialects.streams)."""

    __slots__ = ("ctx", "usage", "saw_content", "_id", "_created", "_choices", "_blocked", "_failed")

    def __init__(self, ctx: StreamContext):
        self.ctx = ctx
        self.usage: Usage | None = None
        self.saw_content = False
        self._id: str | None = None
        self._created = int(time.time())
        self._choices: dict[int, _Choice] = {}
        self._blocked = False
        self._failed = False

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        if self._id is None:
            self._id = completion_id(event)
        usage = usage_from_gemini(event.get("usageMetadata"))
        if usage:
            self.usage = usage
        if (event.get("promptFeedback") or {}).get("blockReason"):
            self._blocked = True
        out: list[dict[str, Any]] = []
        for position, candidate in enumerate(event.get("candidates") or []):
            index = candidate.get("index", position)
            out.extend(self._candidate(index, candidate))
        return out

    def finish(self) -> list[dict[str, Any]]:
        if self._failed:
            return []  # no finish chunk and no usage after an error frame
        out: list[dict[str, Any]] = []
        if not self._choices:
            out.extend(self._open(0))
            if self._blocked:
                self._choices[0].reason = "SAFETY"
        for index, choice in sorted(self._choices.items()):
            out.append(self._chunk([{"index": index, "delta": {}, "logprobs": None,
                                     "finish_reason": finish_reason(choice.reason, choice.calls > 0)}]))
        if self.ctx.include_usage:
            out.append(self._chunk([], usage=to_openai(self.usage or Usage())))
        return out

    def fail(self, status: int, error_type: str, message: str) -> list[dict[str, Any]]:
        """The OpenAI error frame, typed in OpenAI's words: Google's (`RESOURCE_EXHAUSTED`) by status."""
        self._failed = True
        if error_type not in OPENAI_ERROR_TYPES:
            error_type = OPENAI_TYPES.get(status, "api_error")
        return [error_frame(status, error_type, message)]

    # --- internals ---------------------------------------------------------------------------
    def _candidate(self, index: int, candidate: dict[str, Any]) -> list[dict[str, Any]]:
        out = self._open(index)
        choice = self._choices[index]
        for part in (candidate.get("content") or {}).get("parts") or []:
            delta: dict[str, Any]
            if "functionCall" in part:
                call = tool_call(part)
                delta = {"tool_calls": [{"index": choice.calls, **call}]}
                choice.calls += 1
            elif part.get("text"):
                delta = {"reasoning_content" if part.get("thought") else "content": part["text"]}
            else:
                continue
            self.saw_content = True
            out.append(self._chunk([{"index": index, "delta": delta, "logprobs": None,
                                     "finish_reason": None}]))
        if candidate.get("finishReason"):
            choice.reason = candidate["finishReason"]
        return out

    def _open(self, index: int) -> list[dict[str, Any]]:
        """The role chunk, once per choice, before anything else of that choice."""
        if index in self._choices:
            return []
        self._choices[index] = _Choice()
        return [self._chunk([{"index": index, "delta": {"role": "assistant", "content": ""},
                              "logprobs": None, "finish_reason": None}])]

    def _chunk(self, choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> dict[str, Any]:
        if self._id is None:
            self._id = completion_id({})
        chunk: dict[str, Any] = {"id": self._id, "object": "chat.completion.chunk", "created": self._created,
                                 "model": self.ctx.client_model, "choices": choices}
        if self.ctx.include_usage:
            chunk["usage"] = usage
        return chunk


def gemini_response_to_events(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A whole Gemini response as the stream Gemini would have sent: one chunk per part.

    The finish reason and usage ride on the last chunk, as in a real stream. For tests and for
    deployments whose streams are simulated from a non-streaming call.
    """
    events: list[dict[str, Any]] = []
    for position, candidate in enumerate(body.get("candidates") or []):
        index = candidate.get("index", position)
        role = (candidate.get("content") or {}).get("role", "model")
        for part in (candidate.get("content") or {}).get("parts") or []:
            events.append({"candidates": [{"index": index, "content": {"role": role, "parts": [part]}}]})
        events.append({"candidates": [{"index": index, "content": {"role": role, "parts": []},
                                       "finishReason": candidate.get("finishReason") or "STOP"}]})
    last: dict[str, Any] = events[-1] if events else {}
    if not events:
        events.append(last)
    for key in ("usageMetadata", "promptFeedback", "responseId", "modelVersion"):
        if key in body:
            last[key] = body[key]
    if "responseId" in body:
        for event in events:
            event["responseId"] = body["responseId"]
    return events

